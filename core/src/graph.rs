//! The revision graph: checked once before anything runs, then asked for plans.

use crate::revision::Revision;
use crate::{Error, Result};
use std::collections::{BTreeSet, HashMap, HashSet};

/// A checked graph: unique ids, known parents, no cycles.
///
/// # Squashes
///
/// A squash (`replaces = [...]`) stands in for a chain of revisions. The
/// graph links it after the replaced revisions still in the code, so that
/// a database part-way through them finishes them first, and links their
/// children to it instead, so that the squash satisfies them. Which of
/// the two a database runs is decided against its history by
/// [`crate::plan`].
#[derive(Debug)]
pub(crate) struct Graph {
    revisions: Vec<&'static Revision>,
    index: HashMap<&'static str, usize>,
    /// The parents each revision is ordered after (see "Squashes").
    parents: Vec<Vec<&'static str>>,
    /// Replaced id (its code present or deleted) -> the squash replacing it.
    replaced_by: HashMap<&'static str, &'static Revision>,
    /// Every revision in an order where parents come before children,
    /// ties broken by id so that plans are the same on every machine.
    order: Vec<usize>,
}

impl Graph {
    /// Checks `revisions` (one set) and builds the graph.
    pub(crate) fn new(set: &str, revisions: Vec<&'static Revision>) -> Result<Graph> {
        if revisions.is_empty() {
            return Err(Error::NoRevisions {
                set: set.to_owned(),
            });
        }
        let mut index = HashMap::new();
        for (i, revision) in revisions.iter().enumerate() {
            if let Some(&first) = index.get(revision.id) {
                let first: &Revision = revisions[first];
                return Err(Error::DuplicateRevision {
                    id: revision.id.to_owned(),
                    first: format!("{} at {}", first.function, first.location()),
                    second: format!("{} at {}", revision.function, revision.location()),
                });
            }
            index.insert(revision.id, i);
        }
        for revision in &revisions {
            for parent in revision.parents {
                if !index.contains_key(parent) {
                    return Err(Error::UnknownParent {
                        revision: revision.id.to_owned(),
                        parent: (*parent).to_owned(),
                        set: set.to_owned(),
                    });
                }
            }
        }
        let replaced_by = check_squashes(&revisions, &index)?;
        let parents = effective_parents(&revisions, &index, &replaced_by);
        let order = topological_order(&revisions, &index, &parents)?;
        Ok(Graph {
            revisions,
            index,
            parents,
            replaced_by,
            order,
        })
    }

    /// The squash that replaces `id`, if one does.
    pub(crate) fn replaced_by(&self, id: &str) -> Option<&'static Revision> {
        self.replaced_by.get(id).copied()
    }

    /// Every squash of the graph, in graph order.
    pub(crate) fn squashes(&self) -> impl Iterator<Item = &'static Revision> + '_ {
        self.ordered().filter(|revision| revision.is_squash())
    }

    /// The revision with this id.
    pub(crate) fn get(&self, id: &str) -> Option<&'static Revision> {
        self.index.get(id).map(|&i| self.revisions[i])
    }

    /// Resolves a user-given id, or says it is unknown.
    pub(crate) fn require(&self, id: &str) -> Result<&'static Revision> {
        self.get(id).ok_or_else(|| Error::UnknownRevision {
            revision: id.to_owned(),
        })
    }

    /// All revisions, parents before children.
    pub(crate) fn ordered(&self) -> impl Iterator<Item = &'static Revision> + '_ {
        self.order.iter().map(|&i| self.revisions[i])
    }

    /// Revisions no other revision builds on, sorted by id.
    pub(crate) fn heads(&self) -> Vec<&'static str> {
        let with_children: HashSet<&str> = self.parents.iter().flatten().copied().collect();
        let mut heads: Vec<&'static str> = self
            .revisions
            .iter()
            .map(|r| r.id)
            .filter(|id| !with_children.contains(id))
            .collect();
        heads.sort_unstable();
        heads
    }

    /// The single head, or an error naming all of them.
    pub(crate) fn head(&self) -> Result<&'static str> {
        match self.heads().as_slice() {
            [head] => Ok(head),
            heads => Err(Error::MultipleHeads {
                heads: heads.iter().map(|h| (*h).to_owned()).collect(),
            }),
        }
    }

    /// `target` and everything it builds on.
    pub(crate) fn ancestors(&self, target: &str) -> HashSet<&'static str> {
        let mut seen = HashSet::new();
        let mut stack: Vec<&str> = vec![target];
        while let Some(id) = stack.pop() {
            if let Some(&i) = self.index.get(id)
                && seen.insert(self.revisions[i].id)
            {
                stack.extend(self.parents[i].iter().copied());
            }
        }
        seen
    }
}

/// Refuses squashes that make no sense, and maps each replaced id to its
/// squash: a squash replacing itself, its own parent or another squash, a
/// revision replaced twice, and replaced revisions (those still in the
/// code) that are not one chain built on the squash's parents.
fn check_squashes(
    revisions: &[&'static Revision],
    index: &HashMap<&'static str, usize>,
) -> Result<HashMap<&'static str, &'static Revision>> {
    let mut replaced_by: HashMap<&'static str, &'static Revision> = HashMap::new();
    let invalid = |squash: &Revision, reason: String| Error::InvalidSquash {
        squash: squash.id.to_owned(),
        reason,
    };
    for &squash in revisions.iter().filter(|r| r.is_squash()) {
        for &id in squash.replaces {
            if id == squash.id {
                return Err(invalid(squash, "lists itself in `replaces`".into()));
            }
            if squash.parents.contains(&id) {
                return Err(invalid(
                    squash,
                    format!(
                        "builds on `{id}`, which it replaces; `after` names what the first replaced revision builds on"
                    ),
                ));
            }
            if let Some(&i) = index.get(id)
                && revisions[i].is_squash()
            {
                return Err(invalid(
                    squash,
                    format!(
                        "replaces `{id}`, itself a squash; list the revisions `{id}` replaces instead"
                    ),
                ));
            }
            if let Some(other) = replaced_by.insert(id, squash) {
                return Err(invalid(
                    squash,
                    format!(
                        "replaces `{id}`, which squash `{}` replaces too; a revision can be replaced by one squash only",
                        other.id
                    ),
                ));
            }
        }
    }
    for &squash in revisions.iter().filter(|r| r.is_squash()) {
        for &id in squash.replaces {
            let Some(&i) = index.get(id) else { continue };
            let outside = revisions[i].parents.iter().find(|parent| {
                !squash.replaces.contains(parent) && !squash.parents.contains(parent)
            });
            if let Some(parent) = outside {
                return Err(invalid(
                    squash,
                    format!(
                        "replaces `{id}`, which builds on `{parent}`, neither replaced nor the squash's parent; a squash replaces one chain of revisions from its `after` (or the base) up to a revision"
                    ),
                ));
            }
        }
    }
    Ok(replaced_by)
}

/// The parents each revision is ordered after: its own, except that a
/// squash also comes after the replaced revisions still in the code, and a
/// link from outside the replaced chain to a revision in it goes to the
/// squash.
fn effective_parents(
    revisions: &[&'static Revision],
    index: &HashMap<&'static str, usize>,
    replaced_by: &HashMap<&'static str, &'static Revision>,
) -> Vec<Vec<&'static str>> {
    revisions
        .iter()
        .map(|revision| {
            let mut parents: Vec<&'static str> = Vec::new();
            let own_squash = replaced_by.get(revision.id).map(|s| s.id);
            for &parent in revision.parents {
                let parent = match replaced_by.get(parent) {
                    Some(squash) if Some(squash.id) != own_squash => squash.id,
                    _ => parent,
                };
                if !parents.contains(&parent) {
                    parents.push(parent);
                }
            }
            for &id in revision.replaces {
                if index.contains_key(id) && !parents.contains(&id) {
                    parents.push(id);
                }
            }
            parents
        })
        .collect()
}

/// Kahn's algorithm over the parent links; a leftover node means a cycle.
fn topological_order(
    revisions: &[&'static Revision],
    index: &HashMap<&'static str, usize>,
    parents: &[Vec<&'static str>],
) -> Result<Vec<usize>> {
    let mut waiting_on: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); revisions.len()];
    for (i, own) in parents.iter().enumerate() {
        for parent in own {
            children[index[parent]].push(i);
        }
    }
    // A BTreeSet of (id, index) keeps the choice among ready revisions stable.
    let mut ready: BTreeSet<(&str, usize)> = (0..revisions.len())
        .filter(|&i| waiting_on[i] == 0)
        .map(|i| (revisions[i].id, i))
        .collect();
    let mut order = Vec::with_capacity(revisions.len());
    while let Some((_, i)) = ready.pop_first() {
        order.push(i);
        for &child in &children[i] {
            waiting_on[child] -= 1;
            if waiting_on[child] == 0 {
                ready.insert((revisions[child].id, child));
            }
        }
    }
    if order.len() < revisions.len() {
        return Err(Error::Cycle {
            cycle: find_cycle(revisions, index, parents, &waiting_on),
        });
    }
    Ok(order)
}

/// Walks parent links from a revision left over by Kahn's algorithm until one repeats.
fn find_cycle(
    revisions: &[&'static Revision],
    index: &HashMap<&'static str, usize>,
    parents: &[Vec<&'static str>],
    waiting_on: &[usize],
) -> Vec<String> {
    let Some(start) = (0..revisions.len())
        .filter(|&i| waiting_on[i] > 0)
        .min_by_key(|&i| revisions[i].id)
    else {
        return Vec::new();
    };
    let mut path: Vec<usize> = Vec::new();
    let mut current = start;
    loop {
        if let Some(pos) = path.iter().position(|&p| p == current) {
            let mut cycle: Vec<String> = path[pos..]
                .iter()
                .map(|&i| revisions[i].id.to_owned())
                .collect();
            // Read parent -> child, starting at the smallest id, so the
            // message is the same whichever node the walk started from.
            cycle.reverse();
            let first = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, id)| id.as_str())
                .map_or(0, |(i, _)| i);
            cycle.rotate_left(first);
            cycle.push(cycle[0].clone());
            return cycle;
        }
        path.push(current);
        // Follow a parent that is itself stuck: one must exist on a cycle.
        let next = parents[current]
            .iter()
            .map(|p| index[p])
            .find(|&p| waiting_on[p] > 0);
        match next {
            Some(next) => current = next,
            None => return vec![revisions[start].id.to_owned()],
        }
    }
}
