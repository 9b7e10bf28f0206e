//! [`Migrator::check`]: every problem a CI gate should fail on, found at
//! once, as typed values for the caller to present.

use crate::plan;
use crate::report::{DestructiveOp, Status, destructive_ops};
use crate::revision::{Phase, Revision};
use crate::{Error, Migrator, Result};

/// What [`Migrator::check`] found. Each problem is the [`Error`] that `up`
/// would fail with, so a caller presents it (and its [`Error::hint`]) the
/// same way.
#[derive(Debug)]
#[non_exhaustive]
pub struct CheckReport {
    /// The heads of the graph in the code, sorted.
    pub heads: Vec<String>,
    /// Where the database stands; None when no database was checked.
    pub status: Option<Status>,
    /// Problems, in the order a gate should rank them: several heads
    /// ([`Error::MultipleHeads`]), failed revisions ([`Error::Blocked`]),
    /// unknown applied revisions ([`Error::UnknownApplied`]), then edited
    /// ones ([`Error::ChecksumMismatch`]). Pending destructive operations
    /// are listed apart, in [`destructive`](CheckReport::destructive),
    /// because a deploy may allow them.
    pub problems: Vec<Error>,
    /// The destructive operations of the pending revisions.
    pub destructive: Vec<DestructiveOp>,
    /// Destructive revisions (marked `#[destructive(reviewed)]`) not marked
    /// `phase = contract`: a warning, not a problem. An expand run before a
    /// rollout would apply them while the old release may still use what
    /// they remove. The pending ones when a database is checked, all of
    /// them otherwise.
    pub not_contract: Vec<String>,
}

impl CheckReport {
    /// No problem and nothing destructive pending.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && self.destructive.is_empty()
    }
}

impl Migrator {
    /// Looks for every problem at once: a graph with several heads, and,
    /// when `url` is given, failed, unknown or edited revisions in the
    /// database and pending destructive operations. Reads only; takes no
    /// lock. Fails only when the graph is broken beyond checking (duplicate
    /// ids, unknown parents, cycles) or the database cannot be read.
    pub async fn check(&self, url: Option<&str>) -> Result<CheckReport> {
        let graph = self.graph()?;
        let mut problems = Vec::new();
        if let Err(error) = graph.head() {
            problems.push(error);
        }
        let heads = graph.heads().into_iter().map(str::to_owned).collect();
        let Some(url) = url else {
            return Ok(CheckReport {
                heads,
                status: None,
                problems,
                destructive: Vec::new(),
                not_contract: not_contract(graph.ordered()),
            });
        };
        let status = self.status(url).await?;
        problems.extend(status.failed.iter().map(plan::blocked));
        problems.extend(plan::unfinished_squash(
            &graph,
            status.applied.iter().map(|row| row.id.as_str()),
        ));
        // The CI gate runs the newest binary: a revision it does not know,
        // even one a rollback would tolerate, means the build lost it.
        if !status.unknown.is_empty() || !status.ahead.is_empty() {
            problems.push(Error::UnknownApplied {
                revisions: status
                    .unknown
                    .iter()
                    .chain(&status.ahead)
                    .cloned()
                    .collect(),
                table: status.history_table.clone(),
            });
        }
        for id in &status.drifted {
            let recorded = status
                .applied
                .iter()
                .chain(&status.failed)
                .find(|row| &row.id == id)
                .map(|row| row.checksum.clone())
                .unwrap_or_default();
            let current = graph
                .get(id)
                .map(|r| r.checksum.to_owned())
                .unwrap_or_default();
            problems.push(Error::ChecksumMismatch {
                revision: id.clone(),
                recorded,
                current,
            });
        }
        let pending: Vec<_> = status
            .pending
            .iter()
            .filter_map(|p| graph.get(&p.id))
            .collect();
        // A squash `up` only records runs none of its operations: `status`
        // already worked out which.
        let running: Vec<_> = status
            .pending
            .iter()
            .filter(|p| !p.recorded_only)
            .filter_map(|p| graph.get(&p.id))
            .collect();
        Ok(CheckReport {
            heads,
            status: Some(status),
            problems,
            destructive: destructive_ops(&running),
            not_contract: not_contract(pending.iter().copied()),
        })
    }
}

/// The ids of the destructive revisions among `revisions` that are not
/// marked `phase = contract`.
fn not_contract(revisions: impl Iterator<Item = &'static Revision>) -> Vec<String> {
    revisions
        .filter(|revision| revision.is_destructive() && revision.phase != Phase::Contract)
        .map(|revision| revision.id.to_owned())
        .collect()
}
