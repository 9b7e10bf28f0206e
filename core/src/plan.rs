//! Comparing the graph with the history table: what is wrong, what is pending,
//! what to revert.

use crate::graph::Graph;
use crate::history::{AppliedRevision, State};
use crate::revision::Revision;
use crate::{Error, Result};
use std::collections::HashSet;

/// Refuses a history that the code cannot safely build on: revisions the
/// code does not know, edited revisions, and failed or unfinished ones.
///
/// `locked`: whether the lock is held. Without it, a `started` row may be
/// another runner at work, so unfinished rows are left for the check made
/// under the lock; with it, such a row is a run that died.
pub(crate) fn validate(
    graph: &Graph,
    history: &[AppliedRevision],
    table: &str,
    locked: bool,
) -> Result<()> {
    let unknown: Vec<String> = history
        .iter()
        .filter(|row| graph.get(&row.id).is_none())
        .map(|row| row.id.clone())
        .collect();
    if !unknown.is_empty() {
        return Err(Error::UnknownApplied {
            revisions: unknown,
            table: table.to_owned(),
        });
    }
    if let Some(row) = history.iter().find(|row| row.state != State::Applied)
        && (locked || row.state == State::Failed)
    {
        return Err(blocked(row));
    }
    for row in history {
        let revision = graph.get(&row.id).expect("checked above");
        if row.checksum != revision.checksum {
            return Err(Error::ChecksumMismatch {
                revision: row.id.clone(),
                recorded: row.checksum.clone(),
                current: revision.checksum.to_owned(),
            });
        }
    }
    Ok(())
}

pub(crate) fn blocked(row: &AppliedRevision) -> Error {
    Error::Blocked {
        revision: row.id.clone(),
        state: match row.state {
            State::Started => "started (unfinished)".to_owned(),
            _ => "failed".to_owned(),
        },
        at: row.applied_at.clone(),
        error: row.error.clone(),
    }
}

/// Revisions to apply to reach `target` (None: every unapplied revision), parents first.
pub(crate) fn pending(
    graph: &Graph,
    history: &[AppliedRevision],
    target: Option<&str>,
) -> Vec<&'static Revision> {
    let applied: HashSet<&str> = history.iter().map(|row| row.id.as_str()).collect();
    let wanted = target.map(|target| graph.ancestors(target));
    graph
        .ordered()
        .filter(|revision| !applied.contains(revision.id))
        .filter(|revision| {
            wanted
                .as_ref()
                .is_none_or(|wanted| wanted.contains(revision.id))
        })
        .collect()
}

/// How far `down` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Down {
    /// Revert the last N applied revisions.
    Steps(usize),
    /// Revert every applied revision that `REV` does not build on, keeping `REV`.
    To(String),
    /// Revert everything.
    All,
}

/// Revisions to revert, most recently applied first. Refuses an irreversible one before anything runs.
pub(crate) fn to_revert(
    graph: &Graph,
    history: &[AppliedRevision],
    down: &Down,
) -> Result<Vec<&'static Revision>> {
    let mut applied: Vec<&AppliedRevision> = history.iter().collect();
    applied.sort_by_key(|row| std::cmp::Reverse(row.seq));
    let chosen: Vec<&AppliedRevision> = match down {
        Down::Steps(n) => applied.into_iter().take(*n).collect(),
        Down::All => applied,
        Down::To(target) => {
            let target = graph.require(target)?;
            if !history.iter().any(|row| row.id == target.id) {
                return Err(Error::NotApplied {
                    revision: target.id.to_owned(),
                });
            }
            let keep = graph.ancestors(target.id);
            applied
                .into_iter()
                .filter(|row| !keep.contains(row.id.as_str()))
                .collect()
        }
    };
    let revisions: Vec<&'static Revision> = chosen
        .iter()
        .map(|row| graph.get(&row.id).expect("validated"))
        .collect();
    if let Some(irreversible) = revisions.iter().find(|revision| revision.down.is_none()) {
        return Err(Error::Irreversible {
            revision: irreversible.id.to_owned(),
        });
    }
    Ok(revisions)
}
