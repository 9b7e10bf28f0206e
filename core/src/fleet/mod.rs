//! Fleets: one migration set over many databases or schemas (one per
//! tenant), with bounded concurrency, a connection budget per server,
//! fail-fast or carry on, and one outcome per target.
//!
//! Each target is migrated by the ordinary [`Migrator::up_with`] (or read
//! by [`Migrator::status`]), so it gets the same lock, history table and
//! digest as a run on its own. A target already at head costs one
//! connection and one small read (the history digest), which is what makes
//! re-running a whole fleet after fixing one tenant cheap.
//!
//! # Example
//!
//! ```rust,no_run
//! # async fn run() -> cofferdam_core::Result<()> {
//! use cofferdam_core::fleet::{self, Fleet};
//! use cofferdam_core::{Migrator, Up};
//!
//! // Every schema called tenant_... on this server, search_path set per tenant.
//! let targets = fleet::schemas("postgres://app@db/app", "tenant_%").await?;
//! let report = Fleet::new(Migrator::new("my_migrations"))
//!     .concurrency(16)
//!     .max_connections_per_server(32)
//!     .up(targets, &Up::new())
//!     .await?;
//! let counts = report.counts();
//! println!("{} applied, {} at head, {} failed", counts.applied, counts.at_head, counts.failed);
//! for failure in report.failures() {
//!     println!("{}: {:?}", failure.name, failure.outcome);
//! }
//! # Ok(()) }
//! ```
//!
//! # Limits
//!
//! - The budget counts what one run may hold at once (two connections for
//!   `up`, one for `status`) and reserves it before the run starts; it does
//!   not see connections a migration opens itself, such as a backfill's to
//!   its replicas.
//! - Tenants are migrated in the order given, up to the concurrency at
//!   once; a tenant that waits for another runner's lock holds its slot.

mod budget;
mod report;
mod run;
mod target;

pub use report::{Counts, FleetReport, Outcome, Progress, TargetOutcome};
pub use target::{Target, from_query, parse_fleet_file, schemas};

use crate::{Migrator, Result, Up};
use std::sync::Arc;

pub(crate) type ProgressObserver = Arc<dyn Fn(&Progress) + Send + Sync>;

/// The default number of targets migrated at once.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Runs one migrator over many targets. Cheap to clone; configure it with
/// the builder methods, then call [`up`](Fleet::up) or [`status`](Fleet::status).
#[derive(Clone)]
pub struct Fleet {
    migrator: Migrator,
    concurrency: usize,
    per_server: Option<usize>,
    fail_fast: bool,
    observer: Option<ProgressObserver>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("migrator", &self.migrator)
            .field("concurrency", &self.concurrency)
            .field("per_server", &self.per_server)
            .field("fail_fast", &self.fail_fast)
            .finish_non_exhaustive()
    }
}

impl Fleet {
    /// A fleet run of `migrator` (its lock, timeouts, history table and
    /// stop token apply to every target), [`DEFAULT_CONCURRENCY`] at once,
    /// carrying on after failures, with no connection budget.
    pub fn new(migrator: Migrator) -> Fleet {
        Fleet {
            migrator,
            concurrency: DEFAULT_CONCURRENCY,
            per_server: None,
            fail_fast: false,
            observer: None,
        }
    }

    /// How many targets are migrated at once (at least 1).
    pub fn concurrency(mut self, targets: usize) -> Fleet {
        self.concurrency = targets.max(1);
        self
    }

    /// Never more than `connections` connections to one server (`host:port`)
    /// at once, over all the targets on it, counting every connection a run
    /// opens (its own, the lock check's, the lease heartbeat's). Must be at
    /// least what one run holds: 2 for `up`, 1 for `status`.
    pub fn max_connections_per_server(mut self, connections: usize) -> Fleet {
        self.per_server = Some(connections);
        self
    }

    /// Stops starting targets after the first failure; those not started
    /// are reported as [`Outcome::Skipped`]. Runs already going finish.
    pub fn fail_fast(mut self, stop: bool) -> Fleet {
        self.fail_fast = stop;
        self
    }

    /// Calls `observer` each time a target finishes, one call at a time and
    /// in the order the counts rise (keep it quick: finishing targets wait).
    pub fn on_progress(mut self, observer: impl Fn(&Progress) + Send + Sync + 'static) -> Fleet {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// Applies pending revisions on every target. Fails only when the
    /// budget is smaller than one run needs; each target's own failure is
    /// in its [`Outcome`].
    pub async fn up(&self, targets: Vec<Target>, options: &Up) -> Result<FleetReport> {
        run::run(self, targets, run::Job::Up(options.clone())).await
    }

    /// Reads where every target stands: at head, behind, ahead, or
    /// unsettled. Changes nothing.
    pub async fn status(&self, targets: Vec<Target>) -> Result<FleetReport> {
        run::run(self, targets, run::Job::Status).await
    }
}
