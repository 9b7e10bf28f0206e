//! The one execution path of every verb that writes: connect, take the
//! lock, re-read the history under it, do the work, roll back what an error
//! left open, release the lock, disconnect. `up`, `down`, `stamp` and
//! `resolve` all go through [`Migrator::connected`] and [`Migrator::locked`];
//! `up` and `down` share the revision loop, [`Migrator::run_revisions`].

use crate::apply::{self, Context};
use crate::backend::{Conn, Lock, LockOptions};
use crate::history::Table;
use crate::operator::current_operator;
use crate::report::{Direction, Event, Report, RevisionRun};
use crate::revision::Revision;
use crate::session::Session;
use crate::{Error, Migrator, Result};
use tokio_util::sync::CancellationToken;

impl Migrator {
    /// Connects to `url`, runs `work` on the session, and disconnects
    /// whatever `work` returned.
    pub(crate) async fn connected<T>(
        &self,
        url: &str,
        work: impl AsyncFnOnce(&mut Session) -> Result<T>,
    ) -> Result<T> {
        let conn = Conn::connect(url, self.connect_timeout, self.lock_timeout).await?;
        let mut session = Session::new(conn);
        let result = work(&mut session)
            .await
            .map_err(|error| busy(&session, error, self.lock_timeout));
        session.close().await;
        result
    }

    /// Runs `work` holding the migration lock on `table`. On error, what
    /// `work` left queued or open is rolled back before the lock goes back.
    /// `next` names what would have run first, for an interruption that
    /// comes while waiting for the lock.
    pub(crate) async fn locked<T>(
        &self,
        url: &str,
        session: &mut Session,
        table: &Table,
        next: &str,
        work: impl AsyncFnOnce(&mut Session) -> Result<T>,
    ) -> Result<T> {
        let waiting = |holder: Option<String>| {
            tracing::info!(table = %table.name, ?holder, "waiting for the migration lock");
            self.notify(Event::Waiting {
                table: table.name.clone(),
                holder,
            });
        };
        // Before the lock: a standby refuses every write, including the
        // lease row and the history table.
        refuse_read_only(session.conn()).await?;
        let options = LockOptions {
            kind: self.lock_kind,
            lease: self.lease,
            timeout: self.lock_timeout,
        };
        let lock = Lock::acquire(
            session.conn(),
            url,
            table,
            options,
            self.stop.as_ref(),
            &waiting,
        )
        .await
        .map_err(|error| match error {
            Error::Interrupted { applied, .. } => Error::Interrupted {
                applied,
                next: next.to_owned(),
            },
            other => other,
        })?;
        session.lease = lock.check();
        let result = work(session).await;
        session.lease = None;
        if result.is_err() {
            session.rollback().await;
        }
        lock.release(session.conn()).await;
        result
    }

    /// The `applied_by` to record.
    pub(crate) fn operator(&self) -> String {
        self.applied_by.clone().unwrap_or_else(current_operator)
    }

    /// Runs `revisions` in order, each with its history row, stopping
    /// between two when the stop token is cancelled. `seq` is the highest
    /// sequence number in the history (used when applying).
    pub(crate) async fn run_revisions(
        &self,
        session: &mut Session,
        ctx: &Context<'_>,
        revisions: Vec<&'static Revision>,
        direction: Direction,
        mut seq: i64,
    ) -> Result<Report> {
        let mut report = Report::default();
        for revision in revisions {
            if ctx.dry_run && !revision.transaction {
                report.skipped.push(revision.id.to_owned());
                continue;
            }
            if self
                .stop
                .as_ref()
                .is_some_and(CancellationToken::is_cancelled)
            {
                return Err(Error::Interrupted {
                    applied: ran(&report),
                    next: revision.id.to_owned(),
                });
            }
            if direction == Direction::Up {
                seq += 1;
            }
            self.notify(Event::Starting {
                revision: revision.id.to_owned(),
                direction,
            });
            tracing::info!(revision = revision.id, %direction, "running");
            let recorded = ctx.recorded.contains(revision.id);
            let outcome = if recorded {
                apply::record(session, ctx, revision, direction, seq).await
            } else {
                apply::run(session, ctx, revision, direction, seq).await
            };
            let duration = match outcome {
                Ok(duration) => duration,
                // Already says what happened and what history shows.
                Err(error @ Error::FailureNotRecorded { .. }) => return Err(error),
                // Nothing of this revision was sent after the loss.
                Err(error @ Error::LeaseLost { .. }) => return Err(error),
                Err(error) => {
                    let rolled_back = session.backend.runs_in_transaction(revision);
                    // What a failed build outside a transaction left behind
                    // (in a dry run nothing is committed, so nothing is left).
                    let invalid_indexes = if rolled_back || ctx.dry_run {
                        Vec::new()
                    } else {
                        session.conn().invalid_indexes().await
                    };
                    return Err(Error::RevisionFailed {
                        revision: revision.id.to_owned(),
                        rolled_back,
                        applied_before: ran(&report),
                        invalid_indexes,
                        source: Box::new(error),
                    });
                }
            };
            tracing::info!(revision = revision.id, %direction, ?duration, "finished");
            self.notify(Event::Finished {
                revision: revision.id.to_owned(),
                direction,
                duration,
            });
            if recorded {
                report.recorded.push(revision.id.to_owned());
            } else {
                report.revisions.push(RevisionRun {
                    id: revision.id.to_owned(),
                    duration,
                });
            }
        }
        Ok(report)
    }

    fn notify(&self, event: Event) {
        if let Some(observer) = &self.observer {
            observer(&event);
        }
    }
}

/// Fails with [`Error::ReadOnly`] when the server takes no writes (a hot
/// standby, a read-only replica), before anything is changed.
async fn refuse_read_only(conn: &mut Conn) -> Result<()> {
    let Some(probe) = conn.engine().read_only_probe() else {
        return Ok(());
    };
    let rows = conn
        .fetch_text(probe)
        .await
        .map_err(|source| Error::Database {
            action: "asking whether the server takes writes".into(),
            source,
        })?;
    match rows.into_iter().next() {
        Some(row) => Err(Error::ReadOnly {
            reason: row.into_iter().flatten().collect::<Vec<_>>().join(" = "),
        }),
        None => Ok(()),
    }
}

fn ran(report: &Report) -> Vec<String> {
    report.revisions.iter().map(|r| r.id.clone()).collect()
}

/// `error` as [`Error::DatabaseBusy`] when what failed was a wait for a
/// database another program holds busy (SQLite's busy timeout, which
/// follows the lock timeout), so that it ends like a lock timeout. A
/// revision recorded as failed stays that error: its state matters more.
fn busy(session: &Session, error: Error, waited: std::time::Duration) -> Error {
    let Some(conn) = session.conn.as_ref() else {
        return error;
    };
    if matches!(
        error,
        Error::RevisionFailed {
            rolled_back: false,
            ..
        } | Error::DatabaseBusy { .. }
    ) {
        return error;
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = cause {
        if let Some(sqlx) = current.downcast_ref::<sqlx::Error>()
            && conn.is_busy(sqlx)
        {
            return Error::DatabaseBusy {
                seconds: waited.as_secs(),
                source: Box::new(error),
            };
        }
        cause = current.source();
    }
    error
}
