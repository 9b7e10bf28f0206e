//! Comparing the graph with the history table: what is wrong, what is pending,
//! what to revert.

use crate::graph::Graph;
use crate::history::{AppliedRevision, State};
use crate::revision::Revision;
use crate::{Error, Result};
use std::collections::{HashMap, HashSet};

/// Refuses a history that the code cannot safely build on: revisions the
/// code does not know, edited revisions, and failed or unfinished ones.
///
/// `locked`: whether the lock is held. Without it, a `started` row may be
/// another runner at work, so unfinished rows are left for the check made
/// under the lock; with it, such a row is a run that died.
///
/// `allow_ahead`: a database ahead of this binary (see [`unknown`]) is
/// accepted, and the revisions it is ahead by are returned; otherwise any
/// unknown revision is refused.
pub(crate) fn validate(
    graph: &Graph,
    history: &[AppliedRevision],
    table: &str,
    locked: bool,
    allow_ahead: bool,
) -> Result<Vec<String>> {
    let Unknown { ahead, diverged } = unknown(graph, history);
    if !diverged.is_empty() || (!ahead.is_empty() && !allow_ahead) {
        return Err(Error::UnknownApplied {
            revisions: diverged.into_iter().chain(ahead).collect(),
            table: table.to_owned(),
        });
    }
    if let Some(error) = unfinished_squash(graph, history.iter().map(|row| row.id.as_str())) {
        return Err(error);
    }
    if let Some(row) = history.iter().find(|row| row.state != State::Applied)
        && (locked || row.state == State::Failed)
    {
        return Err(blocked(row));
    }
    for row in history {
        // Revisions the database is ahead by cannot be compared.
        let Some(revision) = graph.get(&row.id) else {
            continue;
        };
        if row.checksum != revision.checksum {
            return Err(Error::ChecksumMismatch {
                revision: row.id.clone(),
                recorded: row.checksum.clone(),
                current: revision.checksum.to_owned(),
            });
        }
    }
    Ok(ahead)
}

/// The applied revisions this binary does not know, split in two.
#[derive(Debug, Default)]
pub(crate) struct Unknown {
    /// The database is ahead of this binary by these: every revision the
    /// binary knows is applied, and each of these descends, through the
    /// parents recorded in history, from revisions it knows. What an image
    /// rollback leaves: the newer binary applied them on top of this one's.
    pub ahead: Vec<String>,
    /// Anything else: the database went another way than this binary
    /// (another branch, another migration set, a lost revision).
    pub diverged: Vec<String>,
}

/// Splits the applied revisions unknown to `graph` into ahead and diverged.
pub(crate) fn unknown(graph: &Graph, history: &[AppliedRevision]) -> Unknown {
    // A replaced revision whose code was deleted is still known: its squash
    // names it.
    let strangers: HashMap<&str, &AppliedRevision> = history
        .iter()
        .filter(|row| graph.get(&row.id).is_none() && graph.replaced_by(&row.id).is_none())
        .map(|row| (row.id.as_str(), row))
        .collect();
    if strangers.is_empty() {
        return Unknown::default();
    }
    let ids: Vec<String> = history
        .iter()
        .filter(|row| strangers.contains_key(row.id.as_str()))
        .map(|row| row.id.clone())
        .collect();
    let applied: HashSet<&str> = history.iter().map(|row| row.id.as_str()).collect();
    let all_known_applied = graph
        .ordered()
        .all(|revision| applied.contains(revision.id) || covered(graph, &applied, revision.id));
    let mut verdicts = HashMap::new();
    let ahead = all_known_applied
        && ids
            .iter()
            .all(|id| descends(id, &strangers, graph, &mut verdicts));
    if ahead {
        Unknown {
            ahead: ids,
            diverged: Vec::new(),
        }
    } else {
        Unknown {
            ahead: Vec::new(),
            diverged: ids,
        }
    }
}

/// Whether every line of recorded parents from `id` ends in revisions the
/// graph knows. `verdicts` memoises, and marks a revision being visited as
/// false so that a cycle in the recorded parents is not a descent.
fn descends<'a>(
    id: &'a str,
    strangers: &HashMap<&'a str, &'a AppliedRevision>,
    graph: &Graph,
    verdicts: &mut HashMap<&'a str, bool>,
) -> bool {
    if graph.get(id).is_some() || graph.replaced_by(id).is_some() {
        return true;
    }
    if let Some(&verdict) = verdicts.get(id) {
        return verdict;
    }
    let Some(row) = strangers.get(id) else {
        // Neither known nor applied: the line is broken.
        return false;
    };
    verdicts.insert(id, false);
    let verdict = !row.parents.is_empty()
        && row
            .parents
            .iter()
            .all(|parent| descends(parent, strangers, graph, verdicts));
    verdicts.insert(id, verdict);
    verdict
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

/// Whether replaced revision `id` needs no run because its squash was
/// applied (run, or recorded after them).
fn covered(graph: &Graph, applied: &HashSet<&str>, id: &str) -> bool {
    graph
        .replaced_by(id)
        .is_some_and(|squash| applied.contains(squash.id))
}

/// Whether `squash` has started one by one: some revision it replaces is
/// applied. Such a database never runs the squash over its partly built
/// schema; it runs the rest of the replaced revisions, then records the
/// squash.
fn started_one_by_one(squash: &Revision, applied: &HashSet<&str>) -> bool {
    squash.replaces.iter().any(|id| applied.contains(id))
}

/// The error for a database that applied part of a squash's replaced
/// revisions when the code of the others is deleted: it can neither run
/// them nor the squash.
pub(crate) fn unfinished_squash<'a>(
    graph: &Graph,
    applied: impl Iterator<Item = &'a str>,
) -> Option<Error> {
    let applied: HashSet<&str> = applied.collect();
    graph.squashes().find_map(|squash| {
        if applied.contains(squash.id) || !started_one_by_one(squash, &applied) {
            return None;
        }
        let missing: Vec<String> = squash
            .replaces
            .iter()
            .filter(|id| !applied.contains(*id) && graph.get(id).is_none())
            .map(|id| (*id).to_owned())
            .collect();
        (!missing.is_empty()).then(|| Error::UnfinishedSquash {
            squash: squash.id.to_owned(),
            missing,
        })
    })
}

/// Revisions to apply to reach `target` (None: every unapplied revision), parents first.
///
/// Of a squash and the revisions it replaces, a database runs one side:
/// the squash when none of them is applied (and the squash is wanted),
/// otherwise the missing replaced revisions, after which the squash is only
/// recorded (see [`recorded`]).
pub(crate) fn pending(
    graph: &Graph,
    history: &[AppliedRevision],
    target: Option<&str>,
) -> Vec<&'static Revision> {
    let applied: HashSet<&str> = history.iter().map(|row| row.id.as_str()).collect();
    let wanted = target.map(|target| graph.ancestors(target));
    let is_wanted = |id: &str| wanted.as_ref().is_none_or(|wanted| wanted.contains(id));
    graph
        .ordered()
        .filter(|revision| !applied.contains(revision.id))
        .filter(|revision| !covered(graph, &applied, revision.id))
        .filter(|revision| match graph.replaced_by(revision.id) {
            Some(squash) => !is_wanted(squash.id) || started_one_by_one(squash, &applied),
            None => true,
        })
        .filter(|revision| is_wanted(revision.id))
        .collect()
}

/// The pending squashes that are recorded as applied without running,
/// because the database built their schema one replaced revision at a time.
pub(crate) fn recorded<'a>(
    graph: &Graph,
    rows: impl IntoIterator<Item = &'a AppliedRevision>,
) -> HashSet<&'static str> {
    let applied: HashSet<&str> = rows.into_iter().map(|row| row.id.as_str()).collect();
    graph
        .squashes()
        .filter(|squash| !applied.contains(squash.id) && started_one_by_one(squash, &applied))
        .map(|squash| squash.id)
        .collect()
}

/// What of `pending` runs: a squash that is only recorded runs none of
/// its statements (so none of its destructive operations either).
pub(crate) fn running<'a>(
    graph: &Graph,
    rows: impl IntoIterator<Item = &'a AppliedRevision>,
    pending: Vec<&'static Revision>,
) -> Vec<&'static Revision> {
    let recorded = recorded(graph, rows);
    pending
        .into_iter()
        .filter(|revision| !recorded.contains(revision.id))
        .collect()
}

/// How far `down` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Down {
    /// Revert the last N applied revisions. A squash recorded over the
    /// revisions it replaces counts as one step with them.
    Steps(usize),
    /// Revert every applied revision that `REV` does not build on, keeping `REV`.
    To(String),
    /// Revert everything.
    All,
}

/// What `down` reverts, most recently applied first.
#[derive(Debug, Default)]
pub(crate) struct Revert {
    /// The revisions to revert, in order.
    pub revisions: Vec<&'static Revision>,
    /// Squashes among them that were recorded over their replaced
    /// revisions: only their row goes; the replaced revisions' `down`s,
    /// which follow in `revisions`, undo the schema.
    pub recorded: HashSet<&'static str>,
}

/// Revisions to revert, most recently applied first. Refuses an irreversible one before anything runs.
///
/// A squash that ran is reverted with its own `down`. One recorded over
/// its replaced revisions (which ran one by one) is reverted with theirs:
/// `-n` counts it and them as one step.
pub(crate) fn to_revert(graph: &Graph, history: &[AppliedRevision], down: &Down) -> Result<Revert> {
    let applied_ids: HashSet<&str> = history.iter().map(|row| row.id.as_str()).collect();
    let is_recorded = |row: &AppliedRevision| {
        graph
            .get(&row.id)
            .is_some_and(|squash| started_one_by_one(squash, &applied_ids))
    };
    let mut applied: Vec<&AppliedRevision> = history.iter().collect();
    applied.sort_by_key(|row| std::cmp::Reverse(row.seq));
    let chosen: Vec<&AppliedRevision> = match down {
        Down::Steps(n) => {
            let mut chosen: Vec<&AppliedRevision> = Vec::new();
            let mut steps = 0;
            for &row in &applied {
                if chosen.iter().any(|c| c.id == row.id) {
                    continue;
                }
                if steps == *n {
                    break;
                }
                steps += 1;
                chosen.push(row);
                if is_recorded(row) {
                    let squash = graph.get(&row.id).expect("checked by is_recorded");
                    chosen.extend(
                        applied
                            .iter()
                            .copied()
                            .filter(|r| squash.replaces.contains(&r.id.as_str())),
                    );
                }
            }
            chosen
        }
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
                .filter(|row| {
                    graph
                        .replaced_by(&row.id)
                        .is_none_or(|squash| !keep.contains(squash.id))
                })
                .collect()
        }
    };
    let mut revert = Revert::default();
    for row in &chosen {
        match graph.get(&row.id) {
            Some(revision) => {
                if is_recorded(row) {
                    revert.recorded.insert(revision.id);
                }
                revert.revisions.push(revision);
            }
            // Validated: only a replaced revision whose code is deleted.
            None => {
                let squash = graph.replaced_by(&row.id).map_or("", |s| s.id);
                return Err(Error::SquashNotReversible {
                    squash: squash.to_owned(),
                    missing: chosen
                        .iter()
                        .filter(|r| graph.get(&r.id).is_none())
                        .map(|r| r.id.clone())
                        .collect(),
                });
            }
        }
    }
    if let Some(irreversible) = revert
        .revisions
        .iter()
        .find(|revision| revision.down.is_none() && !revert.recorded.contains(revision.id))
    {
        return Err(Error::Irreversible {
            revision: irreversible.id.to_owned(),
        });
    }
    Ok(revert)
}
