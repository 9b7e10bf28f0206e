//! Runs one job over every target: bounded concurrency, the connection
//! budget, fail-fast, and progress as targets finish. Each target goes
//! through the ordinary [`Migrator`] calls, so a tenant is migrated
//! exactly as `migrate up` would migrate it alone.

use super::budget::{Budget, STATUS_PEAK, UP_PEAK};
use super::report::{FleetReport, Outcome, Progress, TargetOutcome};
use super::{Fleet, Target};
use crate::{Error, Migrator, Result, Status, Up};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// What to do on each target.
#[derive(Debug, Clone)]
pub(crate) enum Job {
    /// [`Migrator::up_with`].
    Up(Up),
    /// [`Migrator::status`].
    Status,
}

impl Job {
    fn peak(&self) -> usize {
        match self {
            Job::Up(_) => UP_PEAK,
            Job::Status => STATUS_PEAK,
        }
    }
}

/// What the tasks of one fleet run share.
struct Shared {
    migrator: Migrator,
    job: Job,
    fail_fast: bool,
    budget: Budget,
    slots: Arc<Semaphore>,
    /// Cancelled on the first failure (fail-fast) or when the migrator's
    /// stop token is: no target starts after it.
    stop: CancellationToken,
    started: Instant,
    total: usize,
    tally: Mutex<Tally>,
    observer: Option<super::ProgressObserver>,
}

#[derive(Default)]
struct Tally {
    done: usize,
    failures: usize,
    running: usize,
    /// Connections reserved per server now, and the most ever.
    reserved: HashMap<String, usize>,
    peak_reserved: usize,
}

pub(crate) async fn run(fleet: &Fleet, targets: Vec<Target>, job: Job) -> Result<FleetReport> {
    let peak = job.peak();
    if let Some(budget) = fleet.per_server
        && budget < peak
    {
        return Err(Error::FleetBudget {
            budget,
            needed: peak,
        });
    }
    let stop = match &fleet.migrator.stop {
        Some(token) => token.child_token(),
        None => CancellationToken::new(),
    };
    let shared = Arc::new(Shared {
        migrator: fleet.migrator.clone(),
        job,
        fail_fast: fleet.fail_fast,
        budget: Budget::new(fleet.per_server),
        slots: Arc::new(Semaphore::new(fleet.concurrency.max(1))),
        stop,
        started: Instant::now(),
        total: targets.len(),
        tally: Mutex::new(Tally::default()),
        observer: fleet.observer.clone(),
    });
    let mut tasks = tokio::task::JoinSet::new();
    let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
    let mut outcomes: Vec<Option<TargetOutcome>> = names.iter().map(|_| None).collect();
    // Targets start in the order given: connections first, then a slot, so
    // a run never waits for connections while holding a slot. Waiting here
    // (not in the tasks) keeps the order, and is where fail-fast stops.
    for (index, target) in targets.into_iter().enumerate() {
        let reservation = shared.budget.reserve(&target.server(), peak).await;
        let slot = tokio::select! {
            slot = shared.slots.clone().acquire_owned() => slot.ok(),
            () = shared.stop.cancelled() => None,
        };
        if shared.stop.is_cancelled() || slot.is_none() {
            outcomes[index] = Some(skipped(target));
            continue;
        }
        let shared = shared.clone();
        tasks.spawn(async move {
            let outcome = one(&shared, target, reservation.is_some()).await;
            drop((slot, reservation));
            (index, outcome)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, outcome)) => outcomes[index] = Some(outcome),
            // A panic inside a migration is caught by the runner and
            // reported as its revision's error; this is one in the fleet.
            Err(error) => tracing::error!(%error, "a fleet task ended abnormally"),
        }
    }
    let targets = outcomes
        .into_iter()
        .zip(names)
        .map(|(outcome, name)| {
            outcome.unwrap_or_else(|| TargetOutcome {
                name,
                outcome: Outcome::Failed {
                    error: Error::custom("the fleet task running this target ended abnormally"),
                },
                duration: Duration::ZERO,
            })
        })
        .collect();
    let peak_reserved = lock(&shared.tally).peak_reserved;
    Ok(FleetReport {
        targets,
        elapsed: shared.started.elapsed(),
        peak_reserved,
    })
}

fn skipped(target: Target) -> TargetOutcome {
    TargetOutcome {
        name: target.name,
        outcome: Outcome::Skipped,
        duration: Duration::ZERO,
    }
}

/// Runs the job on one target; its connections (`budgeted`: counted
/// against a budget) and its slot are held by the caller.
async fn one(shared: &Shared, target: Target, budgeted: bool) -> TargetOutcome {
    let server = target.server();
    let peak = shared.job.peak();
    {
        let mut tally = lock(&shared.tally);
        tally.running += 1;
        if budgeted {
            let now = tally.reserved.entry(server.clone()).or_default();
            *now += peak;
            let now = *now;
            tally.peak_reserved = tally.peak_reserved.max(now);
        }
    }
    let started = Instant::now();
    let outcome = match &shared.job {
        Job::Up(options) => match shared.migrator.up_with(&target.url, options).await {
            Ok(report) if report.revisions.is_empty() => Outcome::AtHead,
            Ok(report) => Outcome::Applied {
                revisions: report.revisions.into_iter().map(|r| r.id).collect(),
            },
            Err(error) => Outcome::Failed { error },
        },
        Job::Status => match shared.migrator.status(&target.url).await {
            Ok(status) => classify(&status),
            Err(error) => Outcome::Failed { error },
        },
    };
    let duration = started.elapsed();
    let failed = outcome.is_failure();
    if failed && shared.fail_fast {
        shared.stop.cancel();
    }
    {
        // Told while the tally is held, so observers see the counts in order.
        let mut tally = lock(&shared.tally);
        tally.running -= 1;
        tally.done += 1;
        tally.failures += usize::from(failed);
        if budgeted && let Some(now) = tally.reserved.get_mut(&server) {
            *now -= peak;
        }
        let progress = Progress {
            target: target.name.clone(),
            failed,
            done: tally.done,
            failures: tally.failures,
            running: tally.running,
            total: shared.total,
            elapsed: shared.started.elapsed(),
        };
        if let Some(observer) = &shared.observer {
            observer(&progress);
        }
    }
    TargetOutcome {
        name: target.name,
        outcome,
        duration,
    }
}

/// Where `status` says a target stands, the most urgent first.
fn classify(status: &Status) -> Outcome {
    let mut problems = Vec::new();
    if !status.failed.is_empty() {
        let ids: Vec<_> = status.failed.iter().map(|r| r.id.as_str()).collect();
        problems.push(format!("recorded as failed: {}", ids.join(", ")));
    }
    if !status.unknown.is_empty() {
        problems.push(format!(
            "applied revisions this binary does not know: {}",
            status.unknown.join(", ")
        ));
    }
    if !status.drifted.is_empty() {
        problems.push(format!(
            "edited after they ran: {}",
            status.drifted.join(", ")
        ));
    }
    if !problems.is_empty() {
        Outcome::Unsettled { problems }
    } else if !status.pending.is_empty() {
        Outcome::Behind {
            pending: status.pending.iter().map(|p| p.id.clone()).collect(),
        }
    } else if !status.ahead.is_empty() {
        Outcome::Ahead {
            revisions: status.ahead.clone(),
        }
    } else {
        Outcome::AtHead
    }
}

fn lock(tally: &Mutex<Tally>) -> std::sync::MutexGuard<'_, Tally> {
    tally.lock().unwrap_or_else(|e| e.into_inner())
}
