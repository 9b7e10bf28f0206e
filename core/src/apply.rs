//! Running one revision, up or down, with its history row.
//!
//! In a transaction (the engine rolls DDL back and the revision did not ask
//! for `transaction = false`): the revision and its history row commit
//! together or not at all. Otherwise the row is written as `started` first
//! and finished after, so a failure leaves a visible state that blocks the
//! next run.

use crate::backfill::StateTable;
use crate::history::{Change, NewRow, SQUASHED_DURATION_MS, State, Table};
use crate::migration::Migration;
use crate::migrator::Observer;
use crate::operator::now_rfc3339;
use crate::report::Direction;
use crate::revision::Timeouts;
use crate::revision::{MigrationFn, Revision};
use crate::session::{Guard, Session};
use crate::session::{Listener, Retry};
use crate::{Error, Result};
use futures::FutureExt;
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

/// What the runner needs besides the revision.
pub(crate) struct Context<'a> {
    pub table: &'a Table,
    pub applied_by: &'a str,
    /// Inside an outer transaction that will be rolled back (dry run).
    pub dry_run: bool,
    /// The limits for revisions that declare none ([`crate::Migrator`]'s).
    pub timeouts: Timeouts,
    /// The connection's own busy timeout, restored after a revision that
    /// set another (SQLite).
    pub busy: Duration,
    /// Told about retries.
    pub observer: Option<Observer>,
    /// Squashes whose row is written (up) or removed (down) without running
    /// their code: the revisions they replace ran, or are reverted, one by one.
    pub recorded: HashSet<&'static str>,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("table", &self.table)
            .field("dry_run", &self.dry_run)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

/// Writes (up) or removes (down) the row of a squash recorded over the
/// revisions it replaces, running none of its code: one statement, which
/// commits on its own.
pub(crate) async fn record(
    session: &mut Session,
    ctx: &Context<'_>,
    squash: &'static Revision,
    direction: Direction,
    seq: i64,
) -> Result<Duration> {
    let started = Instant::now();
    let backend = session.backend;
    session.queue_internal(match direction {
        Direction::Up => ctx.table.insert_sql(
            backend,
            &new_row(
                squash,
                seq,
                State::Applied,
                now_rfc3339(),
                ctx.applied_by,
                Some(SQUASHED_DURATION_MS),
            ),
        ),
        Direction::Down => ctx.table.delete_sql(backend, squash.id),
    });
    session.flush().await?;
    Ok(started.elapsed())
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
    if ctx.dry_run {
        let started = Instant::now();
        call(session, revision, function, guard).await?;
        session.flush().await?;
        return Ok(started.elapsed());
    }
    let step = Step {
        revision,
        function,
        guard,
        direction,
        seq,
    };
    let timeouts = revision.timeouts.or(ctx.timeouts);
    session.observer = Listener(ctx.observer.clone());
    session.backfill_state = StateTable::beside(&ctx.table.name);
    session.backfilled = false;
    let mut retry = Retry::new(timeouts, ctx.observer.clone());
    if !session.backend.runs_in_transaction(revision) {
        // Each statement commits on its own: the one that gave up waiting
        // is sent again, not the revision.
        session.retry = Some(retry);
        let outcome = outside_transaction(session, ctx, step, &timeouts).await;
        session.retry = None;
        return outcome;
    }
    // In a transaction the failed statement aborted it: the whole
    // revision is rolled back and run again.
    let mut attempt = 0;
    loop {
        let note = retry.summary();
        match in_transaction(session, ctx, step, &timeouts, note.as_deref()).await {
            Err(error)
                if attempt < timeouts.retries.unwrap_or(0) && lock_timeout(session, &error) =>
            {
                attempt += 1;
                let pause = retry.note(revision.id, attempt, &error);
                tokio::time::sleep(pause).await;
            }
            outcome => return outcome,
        }
    }
}

/// Whether `error` (or one of its causes) is a statement that gave up
/// waiting for a lock.
fn lock_timeout(session: &Session, error: &Error) -> bool {
    let Some(conn) = session.conn.as_ref() else {
        return false;
    };
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(sqlx) = current.downcast_ref::<sqlx::Error>()
            && conn.is_lock_timeout(sqlx)
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// One revision about to run, in one direction.
#[derive(Debug, Clone, Copy)]
struct Step {
    revision: &'static Revision,
    function: MigrationFn,
    guard: Guard,
    direction: Direction,
    /// Its sequence number in the history (when applying).
    seq: i64,
}

async fn in_transaction(
    session: &mut Session,
    ctx: &Context<'_>,
    step: Step,
    timeouts: &Timeouts,
    note: Option<&str>,
) -> Result<Duration> {
    let Step {
        revision,
        function,
        guard,
        direction,
        seq,
    } = step;
    let started = Instant::now();
    let applied_at = now_rfc3339();
    let backend = session.backend;
    let local = session.engine.set_timeouts(timeouts, true);
    let session_wide = match local {
        Some(_) => None,
        None => session.engine.set_timeouts(timeouts, false),
    };
    if let Some((sql, statements)) = session_wide.clone() {
        session.queue_internal_many(sql, statements);
    }
    session.begin();
    if let Some((sql, statements)) = local {
        session.queue_internal_many(sql, statements);
    }
    if guard == Guard::Enforce
        && let Some((sql, statements)) = session.engine.arm_backstop(revision.id, true)
    {
        session.queue_internal_many(sql, statements);
    }
    let outcome = match call(session, revision, function, guard).await {
        Ok(()) => {
            let record = match direction {
                // Queued statements have not run yet: the database
                // measures the duration itself where it can.
                Direction::Up => ctx.table.insert_sql(
                    backend,
                    &NewRow {
                        note,
                        ..new_row(
                            revision,
                            seq,
                            State::Applied,
                            applied_at,
                            ctx.applied_by,
                            None,
                        )
                    },
                ),
                Direction::Down => ctx.table.delete_sql(backend, revision.id),
            };
            session.queue_internal(record);
            session.queue_internal("COMMIT".to_owned());
            session.flush().await
        }
        Err(error) => Err(error),
    };
    if let Err(error) = &outcome {
        tracing::debug!(%error, "rolling back");
        session.rollback().await;
    }
    if session_wide.is_some() {
        reset_timeouts(session, ctx, timeouts).await;
    }
    outcome.map(|()| started.elapsed())
}

/// Records the start, runs, records the end.
async fn outside_transaction(
    session: &mut Session,
    ctx: &Context<'_>,
    step: Step,
    timeouts: &Timeouts,
) -> Result<Duration> {
    let Step {
        revision,
        function,
        guard,
        direction,
        seq,
    } = step;
    let started = Instant::now();
    let applied_at = now_rfc3339();
    let backend = session.backend;
    let pipeline = std::mem::replace(&mut session.pipeline, false);
    // What the row looks like once this run has written it: later updates
    // are conditional on it, so that this run never changes a row it did
    // not write (see `Table::update_own_sql`).
    let own_applied_at = match direction {
        Direction::Up => Some(applied_at.clone()),
        Direction::Down => None,
    };
    let own = |change| {
        ctx.table.update_own_sql(
            backend,
            revision.id,
            change,
            State::Started,
            own_applied_at.as_deref(),
        )
    };
    session.queue_internal(match direction {
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
        Direction::Down => {
            ctx.table
                .update_own_sql(backend, revision.id, Change::Started, State::Applied, None)
        }
    });
    let timed = session.engine.set_timeouts(timeouts, false);
    if let Some((sql, statements)) = timed.clone() {
        session.queue_internal_many(sql, statements);
    }
    let armed = match session.engine.arm_backstop(revision.id, false) {
        Some((sql, statements)) if guard == Guard::Enforce => {
            session.queue_internal_many(sql, statements);
            true
        }
        _ => false,
    };
    // Whether the start was recorded and the revision's code began, for
    // saying what the history shows if the failure cannot be recorded.
    let mut began = false;
    let result = async {
        session.flush().await?;
        began = true;
        call(session, revision, function, guard).await?;
        session.flush().await
    }
    .await;
    let outcome = match result {
        Ok(()) => {
            let note = session.retry.as_ref().and_then(Retry::summary);
            if session.backfilled && direction == Direction::Up {
                // Its job is done; a later `down` and `up` start over.
                session.queue_internal(session.backfill_state.forget_sql(backend, revision.id));
            }
            session.queue_internal(match direction {
                Direction::Up => own(Change::Finished {
                    duration_ms: millis(started.elapsed()),
                    note: note.as_deref(),
                }),
                Direction::Down => ctx.table.delete_sql(backend, revision.id),
            });
            session.flush().await.map(|()| started.elapsed())
        }
        // Recording the failure would be a write after the loss; the row
        // is the next lease holder's to settle.
        Err(error @ Error::LeaseLost { .. }) => Err(error),
        Err(error) => {
            let text = crate::error::report(&error);
            session.queue_internal(own(Change::Failed { error: &text }));
            match session.flush().await {
                Ok(()) => Err(error),
                Err(record_error) => {
                    tracing::error!(revision = revision.id, error = %record_error, "could not record the failure in the history table");
                    let history = match (began, direction) {
                        (true, _) => format!(
                            "shows `{}` as `started`, the state it was given before it ran",
                            revision.id
                        ),
                        (false, Direction::Up) => {
                            format!("has no row for `{}`: it did not start", revision.id)
                        }
                        (false, Direction::Down) => format!(
                            "still shows `{}` as applied: its `down` did not start",
                            revision.id
                        ),
                    };
                    Err(Error::FailureNotRecorded {
                        revision: revision.id.to_owned(),
                        history,
                        record_error: crate::error::report(&record_error),
                        ran: began,
                        source: Box::new(error),
                    })
                }
            }
        }
    };
    if armed && let Some((sql, statements)) = session.engine.disarm_backstop() {
        session.queue_internal_many(sql.to_owned(), statements);
        if let Err(error) = session.flush().await {
            tracing::warn!(%error, "could not disarm the drop backstop; it ends with the connection");
        }
    }
    if timed.is_some() {
        reset_timeouts(session, ctx, timeouts).await;
    }
    session.pipeline = pipeline;
    outcome
}

/// Restores the session's own timeouts after a revision that set others.
async fn reset_timeouts(session: &mut Session, ctx: &Context<'_>, timeouts: &Timeouts) {
    if let Some((sql, statements)) = session.engine.reset_timeouts(timeouts, ctx.busy) {
        session.queue_internal_many(sql, statements);
        if let Err(error) = session.flush().await {
            tracing::warn!(%error, "could not reset the lock and statement timeouts; they end with the connection");
        }
    }
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
        note: None,
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
