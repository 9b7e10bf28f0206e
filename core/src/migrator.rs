//! [`Migrator`]: the entry point that checks, plans and applies a migration set.

use crate::apply::Context;
use crate::backend::{Backend, Lock, LockKind};
use crate::digest;
use crate::graph::Graph;
use crate::history::{AppliedRevision, State, Table};
use crate::operator::seconds_since;
use crate::phase;
use crate::plan::{self, Down};
use crate::report::{
    DestructiveOp, Direction, Event, Report, RunningRevision, Status, Up, destructive_ops,
    pending_revision,
};
use crate::revision::{Revision, Timeouts, registered};
use crate::{Error, Result};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The default name of the history table.
pub const DEFAULT_HISTORY_TABLE: &str = "cofferdam_history";

/// The default length of a lease; see [`Migrator::lease`].
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

pub(crate) type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

/// Checks, plans and applies the revisions of one migration set.
///
/// Cheap to clone; configure it with the builder methods, then call
/// [`up`](Migrator::up), [`down`](Migrator::down) or [`status`](Migrator::status).
#[derive(Clone)]
pub struct Migrator {
    pub(crate) set: String,
    pub(crate) table: String,
    pub(crate) lock_timeout: Duration,
    pub(crate) lock_kind: LockKind,
    pub(crate) lease: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) allow_destructive: bool,
    pub(crate) strict: bool,
    pub(crate) stop: Option<CancellationToken>,
    pub(crate) applied_by: Option<String>,
    pub(crate) observer: Option<Observer>,
    /// The set of models autogenerate compares with; None: `set`.
    pub(crate) models: Option<String>,
    /// Lock and statement timeouts for revisions that declare none.
    pub(crate) timeouts: Timeouts,
}

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("set", &self.set)
            .field("table", &self.table)
            .field("lock_timeout", &self.lock_timeout)
            .field("allow_destructive", &self.allow_destructive)
            .field("strict", &self.strict)
            .finish_non_exhaustive()
    }
}

impl Migrator {
    /// A migrator for the revisions of `set` (the crate name of the crate
    /// that defines them, unless they say `set = "..."`). Most code calls the
    /// `migrator()` function that [`crate::migration_set!`] defines instead.
    pub fn new(set: &str) -> Migrator {
        Migrator {
            set: set.to_owned(),
            table: DEFAULT_HISTORY_TABLE.to_owned(),
            lock_timeout: Duration::from_secs(30),
            lock_kind: LockKind::Auto,
            lease: DEFAULT_LEASE,
            connect_timeout: Duration::from_secs(10),
            allow_destructive: false,
            strict: false,
            stop: None,
            applied_by: None,
            observer: None,
            models: None,
            timeouts: Timeouts::NONE,
        }
    }

    /// Uses another history table, e.g. to keep two migration sets in one database.
    pub fn history_table(mut self, name: &str) -> Migrator {
        self.table = name.to_owned();
        self
    }

    /// Checks the history table name without connecting, so that a front
    /// end can refuse a bad `--history-table` before touching the database.
    pub fn check_history_table(&self) -> Result<()> {
        Table::new(&self.table).map(drop)
    }

    /// How long to wait for another runner's lock (default 30 s).
    pub fn lock_timeout(mut self, timeout: Duration) -> Migrator {
        self.lock_timeout = timeout;
        self
    }

    /// How runs on one database are serialised (default [`LockKind::Auto`]:
    /// the engine's session lock, the lease on a Galera cluster).
    /// [`LockKind::Lease`] works behind transaction poolers too.
    pub fn lock(mut self, kind: LockKind) -> Migrator {
        self.lock_kind = kind;
        self
    }

    /// How long a lease lasts without a heartbeat (default 30 s): a
    /// crashed runner's lease is taken over this long after its last
    /// renewal, and a runner paused this long loses it.
    pub fn lease(mut self, length: Duration) -> Migrator {
        self.lease = length.max(Duration::from_millis(300));
        self
    }

    /// How long one statement of a revision waits for a table lock before
    /// giving up, for revisions that do not declare `lock_timeout`:
    /// PostgreSQL's `lock_timeout`, MySQL's `lock_wait_timeout`, SQLite's
    /// busy timeout. Unset by default (the database's own setting). Not to
    /// be confused with [`Migrator::lock_timeout`], the wait for another
    /// run's migration lock. See [`Timeouts`].
    pub fn statement_lock_timeout(mut self, timeout: Duration) -> Migrator {
        self.timeouts.lock_timeout = Some(timeout);
        self
    }

    /// How long one statement of a revision may run, for revisions that do
    /// not declare `statement_timeout` (PostgreSQL, MariaDB).
    pub fn statement_timeout(mut self, timeout: Duration) -> Migrator {
        self.timeouts.statement_timeout = Some(timeout);
        self
    }

    /// How many times a statement that gave up waiting for a lock is tried
    /// again, for revisions that do not declare `retries` (default 0).
    pub fn lock_retries(mut self, retries: u32) -> Migrator {
        self.timeouts.retries = Some(retries);
        self
    }

    /// How long to wait for the database to accept the connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Migrator {
        self.connect_timeout = timeout;
        self
    }

    /// Lets `up` apply revisions marked `#[destructive(reviewed)]`. Off by default:
    /// the deploy must allow destruction explicitly.
    pub fn allow_destructive(mut self, allow: bool) -> Migrator {
        self.allow_destructive = allow;
        self
    }

    /// Refuses a database that is ahead of this binary, as it refuses one
    /// that diverged. Off by default: after an image rollback the older
    /// binary finds every revision it knows applied and newer ones on top
    /// (descending from its own); `up` then applies nothing, warns, and
    /// succeeds, so the rollback can start. `strict(true)` makes any
    /// applied revision this binary does not know an error
    /// ([`Error::UnknownApplied`]), as `check` always does.
    pub fn strict(mut self, strict: bool) -> Migrator {
        self.strict = strict;
        self
    }

    /// Stops between revisions once `token` is cancelled: the current
    /// revision finishes or rolls back, no new one starts. Give it the drain
    /// handle's token so a SIGTERM during start-up migrations is honoured.
    pub fn stop_on(mut self, token: CancellationToken) -> Migrator {
        self.stop = Some(token);
        self
    }

    /// The `applied_by` recorded in history (default `$USER@hostname`).
    pub fn applied_by(mut self, who: &str) -> Migrator {
        self.applied_by = Some(who.to_owned());
        self
    }

    /// Calls `observer` as each revision starts and finishes.
    pub fn on_event(mut self, observer: impl Fn(&Event) + Send + Sync + 'static) -> Migrator {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The migration set's name.
    pub fn set(&self) -> &str {
        &self.set
    }

    /// Every revision of the set, parents first. Fails if the graph is broken.
    pub fn revisions(&self) -> Result<Vec<&'static Revision>> {
        Ok(self.graph()?.ordered().collect())
    }

    /// The heads of the graph (revisions nothing builds on).
    pub fn heads(&self) -> Result<Vec<&'static str>> {
        Ok(self.graph()?.heads())
    }

    /// Checks the graph without a database: unique ids, known parents, no
    /// cycle, a single head. Call it from a `#[test]`:
    ///
    /// ```rust,ignore
    /// #[test]
    /// fn migration_graph_is_sound() {
    ///     my_migrations::migrator().check_graph().unwrap();
    /// }
    /// ```
    pub fn check_graph(&self) -> Result<()> {
        self.graph()?.head().map(|_| ())
    }

    pub(crate) fn graph(&self) -> Result<Graph> {
        Graph::new(&self.set, registered(&self.set))
    }

    pub(crate) fn table(&self) -> Result<Table> {
        Table::new(&self.table)
    }

    /// Reads where the database stands. Creates nothing and takes no lock.
    pub async fn status(&self, url: &str) -> Result<Status> {
        let graph = self.graph()?;
        let table = self.table()?;
        let (backend, history, holder, notes) = self
            .connected(url, async |session| {
                let history = table.read(session.conn()).await;
                // A `started` row is a run at work while someone holds the
                // lock, and a run that died otherwise.
                let started = history
                    .as_ref()
                    .is_ok_and(|rows| rows.iter().any(|row| row.state == State::Started));
                let holder = if started {
                    Lock::holder(session.conn(), url, &table).await?
                } else {
                    None
                };
                let notes = session.conn().backstop_note().await;
                Ok((session.backend, history, holder, notes))
            })
            .await?;
        let history = history?;
        let (unsettled, applied): (Vec<_>, Vec<_>) = history
            .iter()
            .cloned()
            .partition(|row| row.state != State::Applied);
        let (running, failed): (Vec<_>, Vec<_>) = unsettled
            .into_iter()
            .partition(|row| row.state == State::Started && holder.is_some());
        let running = running
            .into_iter()
            .map(|row| RunningRevision {
                running_for_secs: seconds_since(&row.applied_at),
                lock_holder: holder.clone().unwrap_or_default(),
                row,
            })
            .collect();
        let plan::Unknown {
            mut ahead,
            mut diverged,
        } = plan::unknown(&graph, &history);
        if self.strict {
            diverged.append(&mut ahead);
        }
        let drifted = history
            .iter()
            .filter(|row| {
                graph
                    .get(&row.id)
                    .is_some_and(|revision| revision.checksum != row.checksum)
            })
            .map(|row| row.id.clone())
            .collect();
        let recorded = plan::recorded(&graph, &history);
        let pending = plan::pending(&graph, &history, None)
            .into_iter()
            .map(|revision| pending_revision(revision, recorded.contains(revision.id)))
            .collect();
        Ok(Status {
            backend: backend.to_string(),
            history_table: table.name,
            heads: graph.heads().into_iter().map(str::to_owned).collect(),
            applied,
            failed,
            running,
            pending,
            unknown: diverged,
            ahead,
            drifted,
            notes: notes.into_iter().collect(),
        })
    }

    /// Every destructive operation of the pending revisions, without running
    /// anything: for a CI step that only reports.
    pub async fn pending_destructive(&self, url: &str) -> Result<Vec<DestructiveOp>> {
        let graph = self.graph()?;
        let (_, history) = self.read_history(url).await?;
        let pending = plan::pending(&graph, &history, None);
        Ok(destructive_ops(&plan::running(&graph, &history, pending)))
    }

    /// Connects, reads the history without the lock, and disconnects.
    pub(crate) async fn read_history(&self, url: &str) -> Result<(Backend, Vec<AppliedRevision>)> {
        let table = self.table()?;
        self.connected(url, async |session| {
            Ok((session.backend, table.read(session.conn()).await?))
        })
        .await
    }

    /// Applies every pending revision up to the single head.
    pub async fn up(&self, url: &str) -> Result<Report> {
        self.up_with(url, &Up::default()).await
    }

    /// Applies pending revisions up to `target` and its ancestors.
    pub async fn up_to(&self, url: &str, target: &str) -> Result<Report> {
        self.up_with(url, &Up::new().to(target)).await
    }

    /// Applies pending revisions with options.
    ///
    /// Reads history first without the lock; when nothing is pending that is
    /// the whole cost (one round trip after connecting). Otherwise takes the
    /// lock, reads history again, and applies each revision in its own
    /// transaction.
    pub async fn up_with(&self, url: &str, options: &Up) -> Result<Report> {
        let table = self.table()?;
        // The common case, `up` to the head with nothing pending, builds no
        // graph: one small row to compare with a sum of constants, whatever
        // the length of the history (see `digest`).
        let all_applied = options
            .target
            .is_none()
            .then(|| digest::expected_all(&self.set));
        // With a target the graph is needed anyway, and a wrong target is
        // reported before connecting.
        let early_graph = match &options.target {
            Some(target) => {
                let graph = self.graph()?;
                graph.require(target)?;
                Some(graph)
            }
            None => None,
        };
        self.connected(url, async |session| {
            if options.dry_run && !session.backend.transactional_ddl() {
                return Err(Error::DryRunUnsupported {
                    backend: session.backend,
                });
            }
            let probe = table.probe(session.conn()).await;
            if let (Some(probe), Some(expected)) = (&probe, &all_applied)
                && probe.matches(expected)
            {
                return Ok(Report::default());
            }
            let graph = match early_graph {
                Some(graph) => graph,
                None => self.graph()?,
            };
            let target = match &options.target {
                Some(target) => graph.require(target)?.id,
                None => graph.head()?,
            };
            if options.target.is_some()
                && probe
                    .as_ref()
                    .is_some_and(|probe| probe.matches(&digest::expected(&graph, target)))
            {
                return Ok(Report::default());
            }
            let history = table.read(session.conn()).await?;
            let ahead = plan::validate(&graph, &history, &table.name, false, !self.strict)?;
            let phased = phase::plan(
                &graph,
                plan::pending(&graph, &history, Some(target)),
                options.phase,
            );
            let settled = history.iter().all(|row| row.state == State::Applied);
            if phased.run.is_empty() && settled {
                if let Some((revision, contract)) = phased.blocked {
                    return Err(Error::ContractFirst {
                        revision: revision.to_owned(),
                        contract: contract.to_owned(),
                        applied: Vec::new(),
                    });
                }
                if let Some(probe) = &probe {
                    table
                        .refill_digest(session.conn(), probe, &graph, &history)
                        .await;
                }
                return Ok(Report {
                    ahead,
                    deferred: phased.deferred,
                    ..Report::default()
                });
            }
            let pending = phased.run;
            let offences = destructive_ops(&plan::running(&graph, &history, pending.clone()));
            if !offences.is_empty() && !self.allow_destructive && !options.dry_run {
                return Err(Error::DestructiveNotAllowed { offences });
            }
            let first = pending.first().map_or(target, |revision| revision.id);
            self.locked(url, session, &table, first, async |session| {
                if options.dry_run {
                    session.rehearse().await?;
                }
                // Another runner may have finished while we waited for the lock.
                let history = table.create_and_read(session.conn()).await?;
                if !options.dry_run {
                    session.conn().install_backstop().await;
                    if probe.is_none() {
                        table.create_digest(session.conn()).await;
                    }
                }
                let ahead = plan::validate(&graph, &history, &table.name, true, !self.strict)?;
                let phased = phase::plan(
                    &graph,
                    plan::pending(&graph, &history, Some(target)),
                    options.phase,
                );
                let applied_by = self.operator();
                let mut ctx = self.context(&table, &applied_by, options.dry_run);
                ctx.recorded = plan::recorded(&graph, &history);
                let seq = history.iter().map(|row| row.seq).max().unwrap_or(0);
                let mut report = self
                    .run_revisions(session, &ctx, phased.run, Direction::Up, seq)
                    .await?;
                report.ahead = ahead;
                report.deferred = phased.deferred;
                if let Some((revision, contract)) = phased.blocked {
                    return Err(Error::ContractFirst {
                        revision: revision.to_owned(),
                        contract: contract.to_owned(),
                        applied: report.revisions.iter().map(|r| r.id.clone()).collect(),
                    });
                }
                if options.dry_run {
                    report.statements = session.log.take().unwrap_or_default();
                    session.rollback().await;
                } else {
                    // Cache the new state now, so that the next start-up of
                    // every replica is the one-row read.
                    let conn = session.conn();
                    if let Some(probe) = table.probe(conn).await {
                        let history = table.read(conn).await?;
                        table.refill_digest(conn, &probe, &graph, &history).await;
                    }
                }
                Ok(report)
            })
            .await
        })
        .await
    }

    /// Reverts revisions by running their `down` functions, most recent first.
    /// Refuses before running anything if one of them is irreversible.
    pub async fn down(&self, url: &str, down: Down) -> Result<Report> {
        let graph = self.graph()?;
        let table = self.table()?;
        self.connected(url, async |session| {
            let history = table.read(session.conn()).await?;
            // Reverting needs the `down` of every revision it reaches, so a
            // database ahead of this binary is refused here.
            plan::validate(&graph, &history, &table.name, false, false)?;
            if plan::to_revert(&graph, &history, &down)?
                .revisions
                .is_empty()
            {
                return Ok(Report::default());
            }
            let next = "the first revision to revert";
            self.locked(url, session, &table, next, async |session| {
                let history = table.read(session.conn()).await?;
                plan::validate(&graph, &history, &table.name, true, false)?;
                let revert = plan::to_revert(&graph, &history, &down)?;
                let applied_by = self.operator();
                let mut ctx = self.context(&table, &applied_by, false);
                ctx.recorded = revert.recorded;
                self.run_revisions(session, &ctx, revert.revisions, Direction::Down, 0)
                    .await
            })
            .await
        })
        .await
    }
}
impl Migrator {
    /// What the revision runner needs from this migrator.
    pub(crate) fn context<'a>(
        &self,
        table: &'a Table,
        applied_by: &'a str,
        dry_run: bool,
    ) -> Context<'a> {
        Context {
            table,
            applied_by,
            dry_run,
            timeouts: self.timeouts,
            busy: self.lock_timeout,
            observer: self.observer.clone(),
            recorded: Default::default(),
        }
    }
}
