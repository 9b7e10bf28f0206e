//! What a fleet run answers: one outcome per target, counts and timings.

use crate::Error;
use std::time::Duration;

/// Where one target ended up.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// Nothing to do: every revision was applied already.
    AtHead,
    /// `up` applied these revisions, in order.
    Applied {
        /// Their ids.
        revisions: Vec<String>,
    },
    /// `status`: these revisions are pending.
    Behind {
        /// Their ids.
        pending: Vec<String>,
    },
    /// `status`: applied revisions this binary does not know, built on its
    /// own (a newer binary ran here).
    Ahead {
        /// Their ids.
        revisions: Vec<String>,
    },
    /// `status`: a revision is recorded as failed or unfinished, applied
    /// revisions diverge from this binary's, or one was edited.
    Unsettled {
        /// What `status` found, one phrase per problem.
        problems: Vec<String>,
    },
    /// The run failed; with `up`, what the error says was applied before it.
    Failed {
        /// The error, as [`crate::Migrator::up_with`] returned it.
        error: Error,
    },
    /// Not started: an earlier target failed and the fleet stops on the
    /// first failure.
    Skipped,
}

impl Outcome {
    /// Whether this target needs someone to look at it.
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. } | Outcome::Unsettled { .. })
    }
}

/// One target's result.
#[derive(Debug)]
#[non_exhaustive]
pub struct TargetOutcome {
    /// The target's name (never a password).
    pub name: String,
    /// Where it ended up.
    pub outcome: Outcome,
    /// How long its run took (zero when skipped).
    pub duration: Duration,
}

/// How many targets ended up where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Counts {
    /// Every target.
    pub total: usize,
    /// Already at head.
    pub at_head: usize,
    /// `up` applied something.
    pub applied: usize,
    /// `status`: revisions pending.
    pub behind: usize,
    /// `status`: ahead of this binary.
    pub ahead: usize,
    /// Failed, or (`status`) unsettled.
    pub failed: usize,
    /// Not started after a failure (fail-fast).
    pub skipped: usize,
}

/// The result of a fleet run, in the order the targets were given.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct FleetReport {
    /// One outcome per target.
    pub targets: Vec<TargetOutcome>,
    /// From the first start to the last finish.
    pub elapsed: Duration,
    /// The most connections the fleet held at once on one server, by its
    /// reservations (see [`crate::fleet::Fleet::max_connections_per_server`]).
    pub peak_reserved: usize,
}

impl FleetReport {
    /// How many targets ended up where.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts {
            total: self.targets.len(),
            ..Counts::default()
        };
        for target in &self.targets {
            match target.outcome {
                Outcome::AtHead => counts.at_head += 1,
                Outcome::Applied { .. } => counts.applied += 1,
                Outcome::Behind { .. } => counts.behind += 1,
                Outcome::Ahead { .. } => counts.ahead += 1,
                Outcome::Unsettled { .. } | Outcome::Failed { .. } => counts.failed += 1,
                Outcome::Skipped => counts.skipped += 1,
            }
        }
        counts
    }

    /// Whether every target succeeded (nothing failed, nothing skipped).
    pub fn succeeded(&self) -> bool {
        let counts = self.counts();
        counts.failed == 0 && counts.skipped == 0
    }

    /// The targets that failed, in order.
    pub fn failures(&self) -> impl Iterator<Item = &TargetOutcome> {
        self.targets.iter().filter(|t| t.outcome.is_failure())
    }
}

/// What a fleet run tells its observer as it goes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Progress {
    /// The target that just finished.
    pub target: String,
    /// Whether it failed.
    pub failed: bool,
    /// Targets finished so far (failed ones included, skipped ones not).
    pub done: usize,
    /// Of which failed.
    pub failures: usize,
    /// Running right now.
    pub running: usize,
    /// Every target of the fleet.
    pub total: usize,
    /// Since the fleet started.
    pub elapsed: Duration,
}

impl Progress {
    /// Targets finished per second so far.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.done as f64 / secs
        } else {
            0.0
        }
    }

    /// The time left at the rate so far; None before the first finish.
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.rate();
        (rate > 0.0)
            .then(|| Duration::from_secs_f64(self.total.saturating_sub(self.done) as f64 / rate))
    }
}
