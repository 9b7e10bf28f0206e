//! Batched backfills: [`Migration::backfill`] updates (or copies) the rows
//! of a large table in batches, each committed on its own, so that no lock
//! is held for long and replicas are never flooded.
//!
//! - **Keyset pagination** on one key column (the primary key, or any
//!   unique, indexed column): each batch is the next `batch_size` keys
//!   after the last one done, found with `ORDER BY key LIMIT n`, never with
//!   `OFFSET`.
//! - **One transaction per batch**, holding the batch's update and the
//!   progress record, so the revision must be `transaction = false`.
//! - **Replica lag**: with [`Backfill::max_replica_lag`], before each batch
//!   the helper reads how far replicas are behind and waits while it is
//!   over the limit: on PostgreSQL from `pg_stat_replication` on the primary
//!   (the age of the oldest log position, as timed by the helper, that the
//!   slowest standby's `replay_lsn` has not reached; `replay_lag` itself
//!   keeps its last value long after a standby caught up; the role needs
//!   `pg_monitor` to see the positions), on MySQL and
//!   MariaDB from `Seconds_Behind_Source` / `Seconds_Behind_Master` of each
//!   URL given to [`Backfill::replicas`] (a replica whose replication is
//!   stopped reports NULL, which counts as lagging).
//! - **Progress** as [`Event::Backfill`](crate::Event::Backfill) and
//!   [`Event::ReplicaLag`](crate::Event::ReplicaLag), which `migrate up` shows.
//!
//! # What "resumable" guarantees
//!
//! Progress is kept in a table beside the history table,
//! `<history table>_backfill` (one row per revision and table: the last key
//! done, the rows done, whether it finished), updated **in the same
//! transaction as each batch**. So:
//!
//! - a batch is applied exactly once, or not at all: a run killed during a
//!   batch loses that batch's transaction, and its progress record with it;
//! - a later run of the same revision starts after the last committed batch,
//!   even with a non-idempotent `SET` (`n = n + 1`);
//! - rows inserted behind the last key done after a batch committed are not
//!   visited (as with any keyset scan); give [`Backfill::filter`] and the
//!   application's own writes the job of covering them;
//! - statements of the revision before the backfill run again on the next
//!   attempt: make them idempotent ([`Migration::has_column`],
//!   `if_not_exists`);
//! - the record is deleted when the revision is recorded as applied, so a
//!   later `down` and `up` start over.
//!
//! After a kill, the history shows the revision `started`: run
//! `migrate resolve REV --rolled-back` (which forgets the attempt, not the
//! batches), then `migrate up`; the backfill continues after the last batch.

mod lag;
mod run;
mod spec;
mod state;

use crate::migration::Migration;
use spec::Spec;
pub(crate) use state::StateTable;
use std::time::Duration;

/// A batched backfill being configured: see the [module docs](self).
///
/// ```rust,ignore
/// #[migration(after = add_slug, transaction = false)]
/// async fn fill_slug(m: &mut Migration<'_>) -> Result<()> {
///     m.backfill("articles")
///         .key("id")
///         .set("slug = lower(title)")
///         .filter("slug IS NULL")
///         .batch_size(5_000)
///         .pause(Duration::from_millis(50))
///         .max_replica_lag(Duration::from_secs(5))
///         .run()
///         .await?;
///     Ok(())
/// }
/// ```
#[must_use = "a backfill does nothing until `.run().await`"]
pub struct Backfill<'m, 'c> {
    pub(crate) migration: &'m mut Migration<'c>,
    /// What the batches do: filled in by the builder methods below.
    pub(crate) spec: Spec,
    pub(crate) replicas: Vec<String>,
}

/// What each batch does.
pub(crate) enum Work {
    /// Nothing was said yet.
    Unset,
    /// `UPDATE table SET <expression> WHERE <batch>`.
    Set(String),
    /// The statement the closure writes for the batch.
    Statement(Box<dyn Fn(&Batch) -> String + Send + Sync>),
}

impl std::fmt::Debug for Backfill<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backfill")
            .field("table", &self.spec.table)
            .field("key", &self.spec.key)
            .field("filter", &self.spec.filter)
            .field("batch_size", &self.spec.batch_size)
            .field("pause", &self.spec.pause)
            .field("max_time", &self.spec.max_time)
            .field("max_lag", &self.spec.max_lag)
            .finish_non_exhaustive()
    }
}

/// One batch, handed to an [`Backfill::each_batch`] closure.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Batch {
    /// The SQL condition selecting the batch's rows, on the key column
    /// qualified by the table (`"articles"."id" > 1000 AND "articles"."id"
    /// <= 2000`), with the filter, if any.
    pub condition: String,
    /// The last key of the previous batch, as text; None for the first.
    pub after: Option<String>,
    /// The last key of this batch, as text.
    pub up_to: String,
}

/// What a finished backfill did.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[non_exhaustive]
pub struct BackfillReport {
    /// The table.
    pub table: String,
    /// Rows changed by this run (as the database counts them).
    pub rows: u64,
    /// Rows changed by every run of the revision, this one included.
    pub total_rows: u64,
    /// Batches committed by this run.
    pub batches: u64,
    /// Whether an earlier run had done part of it.
    pub resumed: bool,
    /// How long this run waited for replicas.
    pub waited: Duration,
}

/// Where a backfill stands, after each batch: see
/// [`Event::Backfill`](crate::Event::Backfill).
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct BackfillProgress {
    /// The revision.
    pub revision: String,
    /// The table.
    pub table: String,
    /// Rows changed so far, earlier runs included.
    pub rows: u64,
    /// Batches committed by this run.
    pub batches: u64,
    /// Rows a second in this run, waits excluded.
    pub rows_per_second: f64,
    /// Time left at this rate, from the table's estimated size (the
    /// planner's statistics on PostgreSQL and MySQL); None when unknown.
    pub estimated_left: Option<Duration>,
    /// The last batch is done.
    pub finished: bool,
}

impl<'c> Migration<'c> {
    /// Starts a batched backfill of `table`: see [`Backfill`] and the
    /// [module docs](crate::backfill) for what it guarantees. The revision
    /// must be `transaction = false`.
    pub fn backfill(&mut self, table: &str) -> Backfill<'_, 'c> {
        Backfill {
            migration: self,
            spec: Spec {
                table: table.to_owned(),
                key: "id".to_owned(),
                work: Work::Unset,
                filter: None,
                batch_size: 1000,
                pause: Duration::ZERO,
                max_time: None,
                max_lag: None,
            },
            replicas: Vec::new(),
        }
    }
}

impl Backfill<'_, '_> {
    /// The key column batches are cut on (default `id`): unique, indexed,
    /// integer or text.
    pub fn key(mut self, column: &str) -> Self {
        self.spec.key = column.to_owned();
        self
    }

    /// Each batch runs `UPDATE table SET <assignments> WHERE <batch>`, e.g.
    /// `.set("slug = lower(title)")`.
    pub fn set(mut self, assignments: &str) -> Self {
        self.spec.work = Work::Set(assignments.to_owned());
        self
    }

    /// Each batch runs the statement `statement` writes for it, e.g. to copy
    /// rows: `INSERT INTO new SELECT ... FROM old WHERE {batch.condition}`.
    /// One statement (MySQL runs one per query).
    pub fn each_batch(
        mut self,
        statement: impl Fn(&Batch) -> String + Send + Sync + 'static,
    ) -> Self {
        self.spec.work = Work::Statement(Box::new(statement));
        self
    }

    /// Only rows matching `condition` (SQL) are visited, e.g.
    /// `slug IS NULL`: the rows still to do.
    pub fn filter(mut self, condition: &str) -> Self {
        self.spec.filter = Some(condition.to_owned());
        self
    }

    /// Rows per batch (default 1000; at least 1).
    pub fn batch_size(mut self, rows: u64) -> Self {
        self.spec.batch_size = rows.max(1);
        self
    }

    /// A pause after each batch (default none), leaving room to the
    /// application's writes and to replication.
    pub fn pause(mut self, pause: Duration) -> Self {
        self.spec.pause = pause;
        self
    }

    /// Stops (with [`crate::Error::BackfillIncomplete`]) before a batch that
    /// would start after `limit`; what was done stays done.
    pub fn max_time(mut self, limit: Duration) -> Self {
        self.spec.max_time = Some(limit);
        self
    }

    /// Waits before a batch while a replica is more than `lag` behind.
    pub fn max_replica_lag(mut self, lag: Duration) -> Self {
        self.spec.max_lag = Some(lag);
        self
    }

    /// The replicas to watch on MySQL and MariaDB (their URLs; a
    /// PostgreSQL primary knows its standbys itself).
    pub fn replicas<S: AsRef<str>>(mut self, urls: impl IntoIterator<Item = S>) -> Self {
        self.replicas = urls.into_iter().map(|u| u.as_ref().to_owned()).collect();
        self
    }
}
