//! The revision graph: checked once before anything runs, then asked for plans.

use crate::revision::Revision;
use crate::{Error, Result};
use std::collections::{BTreeSet, HashMap, HashSet};

/// A checked graph: unique ids, known parents, no cycles.
#[derive(Debug)]
pub(crate) struct Graph {
    revisions: Vec<&'static Revision>,
    index: HashMap<&'static str, usize>,
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
        let order = topological_order(&revisions, &index)?;
        Ok(Graph {
            revisions,
            index,
            order,
        })
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
        let with_children: HashSet<&str> = self
            .revisions
            .iter()
            .flat_map(|r| r.parents.iter().copied())
            .collect();
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
            if let Some(revision) = self.get(id)
                && seen.insert(revision.id)
            {
                stack.extend(revision.parents.iter().copied());
            }
        }
        seen
    }
}

/// Kahn's algorithm over the parent links; a leftover node means a cycle.
fn topological_order(
    revisions: &[&'static Revision],
    index: &HashMap<&'static str, usize>,
) -> Result<Vec<usize>> {
    let mut waiting_on: Vec<usize> = revisions.iter().map(|r| r.parents.len()).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); revisions.len()];
    for (i, revision) in revisions.iter().enumerate() {
        for parent in revision.parents {
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
            cycle: find_cycle(revisions, index, &waiting_on),
        });
    }
    Ok(order)
}

/// Walks parent links from a revision left over by Kahn's algorithm until one repeats.
fn find_cycle(
    revisions: &[&'static Revision],
    index: &HashMap<&'static str, usize>,
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
        let next = revisions[current]
            .parents
            .iter()
            .map(|p| index[p])
            .find(|&p| waiting_on[p] > 0);
        match next {
            Some(next) => current = next,
            None => return vec![revisions[start].id.to_owned()],
        }
    }
}
