//! Running one revision, up or down, with its history row.
//!
//! In a transaction (the engine rolls DDL back and the revision did not ask
//! for `transaction = false`): the revision and its history row commit
//! together or not at all. Otherwise the row is written as `started` first
//! and finished after, so a failure leaves a visible state that blocks the
//! next run.

use crate::history::{Change, NewRow, State, Table};
use crate::migration::Migration;
use crate::operator::now_rfc3339;
use crate::report::Direction;
use crate::revision::{MigrationFn, Revision};
use crate::session::{Guard, Session};
use crate::{Error, Result};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

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
    if session.backend.runs_in_transaction(revision) {
        in_transaction(session, ctx, step).await
    } else {
        outside_transaction(session, ctx, step).await
    }
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

async fn in_transaction(session: &mut Session, ctx: &Context<'_>, step: Step) -> Result<Duration> {
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
    session.begin();
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
                    &new_row(
                        revision,
                        seq,
                        State::Applied,
                        applied_at,
                        ctx.applied_by,
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
    Ok(started.elapsed())
}

/// Records the start, runs, records the end.
async fn outside_transaction(
    session: &mut Session,
    ctx: &Context<'_>,
    step: Step,
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
            session.queue_internal(match direction {
                Direction::Up => own(Change::Finished {
                    duration_ms: millis(started.elapsed()),
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
