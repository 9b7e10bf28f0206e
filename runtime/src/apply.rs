//! Running one revision, up or down, with its history row.
//!
//! PostgreSQL and SQLite: the revision and its history row commit together
//! or not at all. MySQL (DDL commits implicitly) and `transaction = false`
//! revisions: the row is written as `started` first and finished after, so a
//! failure leaves a visible state that blocks the next run.

use crate::backstop;
use crate::history::{NewRow, State, Table, now_rfc3339};
use crate::migration::{Guard, Migration, Session};
use crate::revision::{MigrationFn, Revision};
use crate::url::Backend;
use crate::{Error, Result};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

/// Which way a revision runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Up,
    Down,
}

/// What the runner needs besides the revision.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub table: &'a Table,
    pub applied_by: &'a str,
    /// Inside an outer transaction that will be rolled back (dry run).
    pub dry_run: bool,
}

/// Runs `revision` in `direction`; returns how long it took.
pub(crate) async fn run(
    session: &mut Session,
    ctx: &Context<'_>,
    revision: &'static Revision,
    direction: Direction,
    seq: i64,
) -> Result<Duration> {
    let function = match direction {
        Direction::Up => revision.up,
        Direction::Down => revision.down.ok_or_else(|| Error::Irreversible {
            revision: revision.id.to_owned(),
        })?,
    };
    // Drops in a down step are its purpose; up steps must be reviewed.
    let guard = if direction == Direction::Down || revision.review.is_some() {
        Guard::Allow
    } else {
        Guard::Enforce
    };
    let backend = session.backend;
    let transactional = revision.transaction && backend != Backend::MySql;
    let started = Instant::now();
    let applied_at = now_rfc3339();

    if ctx.dry_run {
        call(session, revision, function, guard).await?;
        session.flush().await?;
        return Ok(started.elapsed());
    }

    if transactional {
        session.queue_internal(
            if backend == Backend::Sqlite {
                "BEGIN IMMEDIATE"
            } else {
                "BEGIN"
            }
            .to_owned(),
        );
        if backend == Backend::Postgres && guard == Guard::Enforce {
            session.queue_internal_many(backstop::arm(revision.id, true), 2);
        }
        let outcome = call(session, revision, function, guard).await;
        let outcome = match outcome {
            Ok(()) => {
                let record = match direction {
                    Direction::Up => ctx.table.insert_sql(
                        backend,
                        &new_row(
                            revision,
                            seq,
                            State::Applied,
                            applied_at,
                            ctx.applied_by,
                            // Queued statements have not run yet: the
                            // database measures the duration itself.
                            None,
                        ),
                    ),
                    Direction::Down => ctx.table.delete_sql(backend, revision.id),
                };
                session.queue_internal(record);
                session.queue_internal("COMMIT".to_owned());
                session.flush().await
            }
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            session.rollback().await;
            return Err(error);
        }
        return Ok(started.elapsed());
    }

    // Outside a transaction: record the start, run, record the end.
    let pipeline = std::mem::replace(&mut session.pipeline, false);
    let start_sql = match direction {
        Direction::Up => ctx.table.insert_sql(
            backend,
            &new_row(
                revision,
                seq,
                State::Started,
                applied_at,
                ctx.applied_by,
                Some(0),
            ),
        ),
        Direction::Down => format!(
            "UPDATE {} SET state = 'started' WHERE id = {}",
            ctx.table.quoted(backend),
            crate::history::literal(backend, revision.id)
        ),
    };
    session.queue_internal(start_sql);
    let armed = backend == Backend::Postgres && guard == Guard::Enforce;
    if armed {
        session.queue_internal_many(backstop::arm(revision.id, false), 2);
    }
    let result = async {
        session.flush().await?;
        call(session, revision, function, guard).await?;
        session.flush().await
    }
    .await;
    let outcome = match result {
        Ok(()) => {
            let finish = match direction {
                Direction::Up => {
                    ctx.table
                        .finish_sql(backend, revision.id, millis(started.elapsed()))
                }
                Direction::Down => ctx.table.delete_sql(backend, revision.id),
            };
            session.queue_internal(finish);
            session.flush().await.map(|()| started.elapsed())
        }
        Err(error) => {
            session.queue_internal(ctx.table.fail_sql(
                backend,
                revision.id,
                &crate::error::report(&error),
            ));
            if let Err(record_error) = session.flush().await {
                tracing::error!(revision = revision.id, error = %record_error, "could not record the failure in the history table");
            }
            Err(error)
        }
    };
    if armed {
        session.queue_internal_many(backstop::DISARM.to_owned(), 2);
        if let Err(error) = session.flush().await {
            tracing::warn!(%error, "could not disarm the drop backstop; it ends with the connection");
        }
    }
    session.pipeline = pipeline;
    outcome
}

/// Calls the migration function, turning a panic into an error.
async fn call(
    session: &mut Session,
    revision: &'static Revision,
    function: MigrationFn,
    guard: Guard,
) -> Result<()> {
    let mut migration = Migration::new(session, revision, guard);
    match AssertUnwindSafe(function(&mut migration))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string panic payload".to_owned());
            Err(Error::Panicked {
                revision: revision.id.to_owned(),
                message,
            })
        }
    }
}

pub(crate) fn new_row<'a>(
    revision: &'a Revision,
    seq: i64,
    state: State,
    applied_at: String,
    applied_by: &'a str,
    duration_ms: Option<i64>,
) -> NewRow<'a> {
    NewRow {
        id: revision.id,
        seq,
        parents: revision.parents,
        checksum: revision.checksum,
        state,
        applied_at,
        duration_ms,
        applied_by,
        destructive: revision.review.is_some(),
        review_reason: revision.review.and_then(|review| review.reason),
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
