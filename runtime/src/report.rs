//! What a run reports: the types returned by [`crate::Migrator`]'s methods.

use crate::history::AppliedRevision;
use crate::migration::StatementLog;
use crate::revision::Revision;
use std::time::Duration;

/// Something that happened during a run, for progress output.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A revision is about to run.
    Starting {
        /// The revision.
        revision: String,
        /// Its direction: `up` or `down`.
        direction: &'static str,
    },
    /// A revision finished.
    Finished {
        /// The revision.
        revision: String,
        /// Its direction: `up` or `down`.
        direction: &'static str,
        /// How long it took.
        duration: Duration,
    },
}

/// What a run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// The revisions run, in order, with their durations.
    pub revisions: Vec<RevisionRun>,
    /// Every statement with its duration (dry runs only).
    pub statements: Vec<StatementLog>,
    /// Revisions a dry run skipped because they run outside a transaction.
    pub skipped: Vec<String>,
}

/// One revision run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RevisionRun {
    /// The revision id.
    pub id: String,
    /// How long it took.
    pub duration: Duration,
}

/// Options of [`Migrator::up_with`].
#[derive(Debug, Clone, Default)]
pub struct Up {
    /// Stop at this revision instead of the head.
    pub target: Option<String>,
    /// Run everything in a transaction that is rolled back (PostgreSQL, SQLite).
    pub dry_run: bool,
}

/// A revision that is not applied yet.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PendingRevision {
    /// The id.
    pub id: String,
    /// Whether it is marked `#[destructive(reviewed)]`.
    pub destructive: bool,
    /// The destructive operations found at compile time.
    pub operations: Vec<String>,
}

/// Where a database stands, read without changing anything.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// The backend.
    pub backend: String,
    /// The history table read.
    pub history_table: String,
    /// The heads of the graph in the code.
    pub heads: Vec<String>,
    /// Applied revisions, in application order.
    pub applied: Vec<AppliedRevision>,
    /// Revisions recorded as failed or unfinished.
    pub failed: Vec<AppliedRevision>,
    /// Revisions not applied yet, parents first.
    pub pending: Vec<PendingRevision>,
    /// Applied revisions the code does not know.
    pub unknown: Vec<String>,
    /// Applied revisions whose code changed since.
    pub drifted: Vec<String>,
    /// Things an operator should know, e.g. a safety net that is not in place.
    pub notes: Vec<String>,
}

impl Status {
    /// Nothing pending, failed, unknown or drifted.
    pub fn is_up_to_date(&self) -> bool {
        self.pending.is_empty()
            && self.failed.is_empty()
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
}

/// Offline rendering of what `up` would run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Rendered {
    /// Statements, per revision, in order.
    pub statements: Vec<StatementLog>,
    /// Revisions whose SQL depends on data, so cannot be rendered.
    pub unrenderable: Vec<String>,
}

pub(crate) fn pending_revision(revision: &'static Revision) -> PendingRevision {
    PendingRevision {
        id: revision.id.to_owned(),
        destructive: revision.review.is_some(),
        operations: revision
            .review
            .map(|r| r.operations.iter().map(|op| (*op).to_owned()).collect())
            .unwrap_or_default(),
    }
}
