//! Expand/contract phases: which pending revisions a phased `up` applies.
//!
//! # The rules
//!
//! - `--phase expand` (before the rollout, while the old release serves)
//!   applies pending revisions in graph order, skipping contract revisions.
//!   An expand revision that builds on a skipped contract revision cannot
//!   run without it: the run applies what comes before it and stops there
//!   with [`Error::ContractFirst`](crate::Error::ContractFirst), naming
//!   both. Nothing after it in graph order runs either, so the order of a
//!   phased deploy is the order of the graph.
//! - `--phase contract` (after the rollout) applies every pending
//!   revision: once the new release is the only one serving, expand
//!   revisions are safe too, and a contract revision's pending ancestors
//!   must run before it anyway.
//! - No phase: everything, as before phases existed.

use crate::graph::Graph;
use crate::revision::{Phase, Revision};
use std::collections::HashSet;

/// What a phased run applies, and what it leaves.
#[derive(Debug)]
pub(crate) struct PhasePlan {
    /// To apply, in order.
    pub run: Vec<&'static Revision>,
    /// Pending contract revisions an expand run leaves, in graph order.
    pub deferred: Vec<String>,
    /// The expand revision the run stops before, and the skipped contract
    /// revision it builds on.
    pub blocked: Option<(&'static str, &'static str)>,
}

/// Chooses from `pending` (parents first) what a run in `phase` applies.
pub(crate) fn plan(
    graph: &Graph,
    pending: Vec<&'static Revision>,
    phase: Option<Phase>,
) -> PhasePlan {
    if phase != Some(Phase::Expand) {
        return PhasePlan {
            run: pending,
            deferred: Vec::new(),
            blocked: None,
        };
    }
    let deferred: Vec<&'static Revision> = pending
        .iter()
        .copied()
        .filter(|revision| revision.phase == Phase::Contract)
        .collect();
    let skipped: HashSet<&str> = deferred.iter().map(|revision| revision.id).collect();
    let mut run = Vec::new();
    let mut blocked = None;
    for revision in pending {
        if revision.phase == Phase::Contract {
            continue;
        }
        let ancestors = graph.ancestors(revision.id);
        // In graph order, so the first skipped ancestor found is stable.
        if let Some(contract) = deferred
            .iter()
            .find(|contract| ancestors.contains(contract.id))
        {
            blocked = Some((revision.id, contract.id));
            break;
        }
        debug_assert!(!skipped.contains(revision.id));
        run.push(revision);
    }
    PhasePlan {
        run,
        deferred: deferred
            .iter()
            .map(|revision| revision.id.to_owned())
            .collect(),
        blocked,
    }
}
