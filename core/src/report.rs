//! What a run reports: the types returned by [`crate::Migrator`]'s methods.

use crate::backend::Backend;
use crate::history::AppliedRevision;
use crate::revision::{Phase, Revision};
use crate::session::StatementLog;
use std::collections::HashSet;
use std::time::Duration;

/// Which way a revision runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Direction {
    /// Applying: the revision's migration function.
    Up,
    /// Reverting: its `down` function.
    Down,
}

impl Direction {
    /// `up` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened during a run, for progress output.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A revision is about to run.
    Starting {
        /// The revision.
        revision: String,
        /// Its direction.
        direction: Direction,
    },
    /// Another run holds the migration lock and this one has been waiting
    /// for about a second.
    Waiting {
        /// The history table whose lock is wanted.
        table: String,
        /// Who holds it, where the engine tells (`pid 42 (app) from
        /// 10.0.0.7` on PostgreSQL, `connection 7 (app@host)` on MySQL).
        holder: Option<String>,
    },
    /// A statement of a revision gave up waiting for a lock (the lock
    /// timeout ran out); after `pause` it is tried again: the statement
    /// alone outside a transaction, the whole revision inside one.
    Retrying {
        /// The revision.
        revision: String,
        /// This retry's number, from 1.
        attempt: u32,
        /// How many retries are allowed.
        retries: u32,
        /// The pause before the retry.
        pause: Duration,
        /// The database's error.
        error: String,
    },
    /// A backfill committed a batch, or finished.
    Backfill(crate::BackfillProgress),
    /// A backfill waits before its next batch: a replica is more than
    /// `max` behind.
    ReplicaLag {
        /// The revision.
        revision: String,
        /// The table being backfilled.
        table: String,
        /// The worst lag; None when a replica's replication is stopped.
        lag: Option<Duration>,
        /// The most the backfill tolerates.
        max: Duration,
    },
    /// A revision finished.
    Finished {
        /// The revision.
        revision: String,
        /// Its direction.
        direction: Direction,
        /// How long it took.
        duration: Duration,
    },
}

/// What a run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The revisions run, in order, with their durations.
    pub revisions: Vec<RevisionRun>,
    /// Every statement with its duration (dry runs only).
    pub statements: Vec<StatementLog>,
    /// Revisions a dry run skipped because they run outside a transaction.
    pub skipped: Vec<String>,
    /// Pending contract revisions an expand run left for the contract run.
    pub deferred: Vec<String>,
    /// Applied revisions this binary does not know that descend from its
    /// own: the database is ahead of this binary (an image rollback), so
    /// nothing was applied. Empty with [`crate::Migrator::strict`], which
    /// refuses such a database instead.
    pub ahead: Vec<String>,
    /// Squashes recorded as applied (up) or forgotten (down) without
    /// running their code, because the revisions they replace ran, or
    /// were reverted, one by one. Not in [`revisions`](Report::revisions).
    pub recorded: Vec<String>,
}

/// One revision run.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct RevisionRun {
    /// The revision id.
    pub id: String,
    /// How long it took.
    pub duration: Duration,
}

/// Options of [`Migrator::up_with`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Up {
    /// Stop at this revision instead of the head.
    pub target: Option<String>,
    /// Run everything in a transaction that is rolled back (PostgreSQL, SQLite).
    pub dry_run: bool,
    /// Apply only what this phase of a rolling deploy may: see
    /// [`Up::phase`]. None: everything.
    pub phase: Option<Phase>,
}

/// A revision that is not applied yet.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct PendingRevision {
    /// The id.
    pub id: String,
    /// Whether it is marked `#[destructive(reviewed)]`.
    pub destructive: bool,
    /// The destructive operations found at compile time.
    pub operations: Vec<String>,
    /// When it may run in a rolling deploy.
    pub phase: Phase,
    /// A squash whose replaced revisions this database applied (or is
    /// part-way through): `up` records it without running it, after
    /// running any replaced revision still missing, so none of its
    /// statements run.
    pub recorded_only: bool,
}

/// Where a database stands, read without changing anything.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Status {
    /// The backend.
    pub backend: String,
    /// The history table read.
    pub history_table: String,
    /// The heads of the graph in the code.
    pub heads: Vec<String>,
    /// Applied revisions, in application order.
    pub applied: Vec<AppliedRevision>,
    /// Revisions recorded as failed, or started by a run that is gone
    /// (nobody holds the migration lock).
    pub failed: Vec<AppliedRevision>,
    /// Revisions recorded as started while another run holds the
    /// migration lock: being applied right now, not failed.
    pub running: Vec<RunningRevision>,
    /// Revisions not applied yet, parents first.
    pub pending: Vec<PendingRevision>,
    /// Applied revisions the code does not know and that do not descend
    /// from its revisions (the database diverged); with
    /// [`crate::Migrator::strict`], every applied revision it does not know.
    pub unknown: Vec<String>,
    /// Applied revisions the code does not know that descend, through the
    /// parents recorded in history, from its revisions, every one of which
    /// is applied: the database is ahead of this binary by these (a newer
    /// binary applied them). Not an error, except under `check` and
    /// [`crate::Migrator::strict`].
    pub ahead: Vec<String>,
    /// Applied revisions whose code changed since.
    pub drifted: Vec<String>,
    /// Things an operator should know, e.g. a safety net that is not in place.
    pub notes: Vec<String>,
}

/// A revision another run is applying right now: see [`Status::running`].
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct RunningRevision {
    /// Its history row, in state `started`.
    #[serde(flatten)]
    pub row: AppliedRevision,
    /// Seconds since it started, by this machine's clock.
    pub running_for_secs: Option<u64>,
    /// Who holds the migration lock, where the engine tells.
    pub lock_holder: String,
}

impl Up {
    /// Options for applying up to the single head, for real.
    pub fn new() -> Up {
        Up::default()
    }

    /// Stops at `target` (and its ancestors) instead of the head.
    pub fn to(mut self, target: impl Into<String>) -> Up {
        self.target = Some(target.into());
        self
    }

    /// Runs everything in a transaction that is rolled back (PostgreSQL, SQLite).
    pub fn dry_run(mut self, dry_run: bool) -> Up {
        self.dry_run = dry_run;
        self
    }

    /// Applies only what `phase` of a rolling deploy may.
    ///
    /// - [`Phase::Expand`], before the rollout: every pending revision not
    ///   marked `phase = contract`, in graph order. An expand revision that
    ///   builds on a pending contract revision cannot run without it: the
    ///   run applies what comes before it, then fails with
    ///   [`crate::Error::ContractFirst`]. The contract revisions left are in
    ///   [`Report::deferred`].
    /// - [`Phase::Contract`], after the rollout: every pending revision.
    pub fn phase(mut self, phase: Phase) -> Up {
        self.phase = Some(phase);
        self
    }
}

impl Status {
    /// Applied revisions that no other applied revision builds on: where
    /// the database stands, as recorded, sorted by id.
    pub fn current_heads(&self) -> Vec<String> {
        let parents: HashSet<&str> = self
            .applied
            .iter()
            .flat_map(|row| row.parents.iter().map(String::as_str))
            .collect();
        let mut heads: Vec<String> = self
            .applied
            .iter()
            .filter(|row| !parents.contains(row.id.as_str()))
            .map(|row| row.id.clone())
            .collect();
        heads.sort();
        heads
    }

    /// Nothing pending, failed, running, unknown or drifted.
    pub fn is_up_to_date(&self) -> bool {
        self.pending.is_empty()
            && self.failed.is_empty()
            && self.running.is_empty()
            && self.unknown.is_empty()
            && self.drifted.is_empty()
    }
}

/// How to settle a revision recorded as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The changes were completed by hand: record it as applied.
    Applied,
    /// The changes were undone by hand: forget the attempt.
    RolledBack,
    /// Undo the changes with the revision's own `down` (for a revision
    /// outside a transaction, run again outside one: a `DROP INDEX
    /// CONCURRENTLY IF EXISTS` cleans up a failed `CREATE INDEX
    /// CONCURRENTLY`), then forget the attempt. If the `down` fails, the
    /// row stays failed.
    RunDown,
}

/// Offline rendering of what `up` would run.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Rendered {
    /// The engine the statements were rendered for.
    pub backend: Backend,
    /// Statements, per revision, in order.
    pub statements: Vec<StatementLog>,
    /// Revisions whose SQL depends on data, so cannot be rendered.
    pub unrenderable: Vec<String>,
}

/// One destructive operation of a pending revision: what `up` refuses
/// without [`crate::Migrator::allow_destructive`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DestructiveOp {
    /// The revision.
    pub revision: String,
    /// The operation the compiler found, e.g. `DROP TABLE archive`, or
    /// `destructive SQL built at run time` when it found none.
    pub operation: String,
    /// The review reason given in `#[destructive(reviewed, reason = "...")]`.
    pub reason: Option<String>,
}

impl std::fmt::Display for DestructiveOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` ({})", self.revision, self.operation)
    }
}

/// One change [`crate::Migrator::stamp`] made to the history table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", content = "revision", rename_all = "lowercase")]
#[non_exhaustive]
pub enum StampChange {
    /// The revision was recorded as applied, without running it.
    Recorded(String),
    /// A failed or unfinished row of the revision was settled as applied.
    Settled(String),
    /// The revision's row was removed: the next `up` runs it again.
    Removed(String),
}

/// The destructive operations of each reviewed revision in `plan`.
pub(crate) fn destructive_ops(plan: &[&'static Revision]) -> Vec<DestructiveOp> {
    plan.iter()
        .filter_map(|revision| revision.review.map(|review| (revision, review)))
        .flat_map(|(revision, review)| {
            let operations: Vec<String> = if review.operations.is_empty() {
                vec!["destructive SQL built at run time".to_owned()]
            } else {
                review
                    .operations
                    .iter()
                    .map(|op| (*op).to_owned())
                    .collect()
            };
            operations.into_iter().map(move |operation| DestructiveOp {
                revision: revision.id.to_owned(),
                operation,
                reason: review.reason.map(str::to_owned),
            })
        })
        .collect()
}

pub(crate) fn pending_revision(
    revision: &'static Revision,
    recorded_only: bool,
) -> PendingRevision {
    PendingRevision {
        recorded_only,
        id: revision.id.to_owned(),
        destructive: revision.review.is_some(),
        operations: revision
            .review
            .map(|r| r.operations.iter().map(|op| (*op).to_owned()).collect())
            .unwrap_or_default(),
        phase: revision.phase,
    }
}
