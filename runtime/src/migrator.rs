//! [`Migrator`]: the entry point that checks, plans and applies a migration set.

use crate::apply::{self, Context, Direction};
use crate::conn::Conn;
use crate::graph::Graph;
use crate::history::{State, Table, current_operator};
use crate::lock::Lock;
use crate::migration::Session;
use crate::plan::{self, Down};
use crate::report::{Event, Report, RevisionRun, Status, Up, pending_revision};
use crate::revision::{Revision, registered};
use crate::url::Backend;
use crate::{Error, Result};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The default name of the history table.
pub const DEFAULT_HISTORY_TABLE: &str = "cofferdam_history";

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
    pub(crate) connect_timeout: Duration,
    pub(crate) allow_destructive: bool,
    pub(crate) stop: Option<CancellationToken>,
    pub(crate) applied_by: Option<String>,
    pub(crate) observer: Option<Observer>,
}

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("set", &self.set)
            .field("table", &self.table)
            .field("lock_timeout", &self.lock_timeout)
            .field("allow_destructive", &self.allow_destructive)
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
            connect_timeout: Duration::from_secs(10),
            allow_destructive: false,
            stop: None,
            applied_by: None,
            observer: None,
        }
    }

    /// Uses another history table, e.g. to keep two migration sets in one database.
    pub fn history_table(mut self, name: &str) -> Migrator {
        self.table = name.to_owned();
        self
    }

    /// How long to wait for another runner's lock (default 30 s).
    pub fn lock_timeout(mut self, timeout: Duration) -> Migrator {
        self.lock_timeout = timeout;
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

    pub(crate) async fn session(&self, url: &str) -> Result<Session> {
        Ok(Session::new(
            Conn::connect(url, self.connect_timeout).await?,
        ))
    }

    fn notify(&self, event: Event) {
        if let Some(observer) = &self.observer {
            observer(&event);
        }
    }

    /// Reads where the database stands. Creates nothing and takes no lock.
    pub async fn status(&self, url: &str) -> Result<Status> {
        let graph = self.graph()?;
        let table = self.table()?;
        let mut session = self.session(url).await?;
        let history = table.read(session.conn()).await;
        let mut notes = Vec::new();
        notes.extend(crate::backstop::note(session.conn()).await);
        session.close().await;
        let history = history?;
        let (failed, applied): (Vec<_>, Vec<_>) = history
            .iter()
            .cloned()
            .partition(|row| row.state != State::Applied);
        let unknown = history
            .iter()
            .filter(|row| graph.get(&row.id).is_none())
            .map(|row| row.id.clone())
            .collect();
        let drifted = history
            .iter()
            .filter(|row| {
                graph
                    .get(&row.id)
                    .is_some_and(|revision| revision.checksum != row.checksum)
            })
            .map(|row| row.id.clone())
            .collect();
        let pending = plan::pending(&graph, &history, None)
            .into_iter()
            .map(pending_revision)
            .collect();
        Ok(Status {
            backend: session.backend.to_string(),
            history_table: table.name,
            heads: graph.heads().into_iter().map(str::to_owned).collect(),
            applied,
            failed,
            pending,
            unknown,
            drifted,
            notes,
        })
    }

    /// `(revision, operation)` for every pending destructive revision, without
    /// running anything: for a CI step that only reports.
    pub async fn pending_destructive(&self, url: &str) -> Result<Vec<(String, String)>> {
        let graph = self.graph()?;
        let (_, history) = self.read_history(url).await?;
        Ok(plan::destructive(&plan::pending(&graph, &history, None)))
    }

    /// Connects, reads the history without the lock, and disconnects.
    pub(crate) async fn read_history(
        &self,
        url: &str,
    ) -> Result<(Backend, Vec<crate::history::AppliedRevision>)> {
        let table = self.table()?;
        let mut session = self.session(url).await?;
        let history = table.read(session.conn()).await;
        session.close().await;
        Ok((session.backend, history?))
    }

    /// Applies every pending revision up to the single head.
    pub async fn up(&self, url: &str) -> Result<Report> {
        self.up_with(url, &Up::default()).await
    }

    /// Applies pending revisions up to `target` and its ancestors.
    pub async fn up_to(&self, url: &str, target: &str) -> Result<Report> {
        self.up_with(
            url,
            &Up {
                target: Some(target.to_owned()),
                dry_run: false,
            },
        )
        .await
    }

    /// Applies pending revisions with options.
    ///
    /// Reads history first without the lock; when nothing is pending that is
    /// the whole cost (one round trip after connecting). Otherwise takes the
    /// lock, reads history again, and applies each revision in its own
    /// transaction.
    pub async fn up_with(&self, url: &str, options: &Up) -> Result<Report> {
        let graph = self.graph()?;
        let target = match &options.target {
            Some(target) => graph.require(target)?.id,
            None => graph.head()?,
        };
        let table = self.table()?;
        let mut session = self.session(url).await?;
        if options.dry_run && session.backend == Backend::MySql {
            session.close().await;
            return Err(Error::Custom(
                "--dry-run is not possible on MySQL/MariaDB: DDL commits implicitly, so nothing could be rolled back; \
                 use `migrate sql` to review the statements instead"
                    .into(),
            ));
        }
        let result = self
            .up_locked(url, &graph, target, &table, &mut session, options)
            .await;
        session.close().await;
        result
    }

    async fn up_locked(
        &self,
        url: &str,
        graph: &Graph,
        target: &str,
        table: &Table,
        session: &mut Session,
        options: &Up,
    ) -> Result<Report> {
        // The common case, nothing pending: one value to compare.
        if let Some(summary) = table.summary(session.conn()).await?
            && summary == expected_summary(graph, target)
        {
            return Ok(Report::default());
        }
        let history = table.read(session.conn()).await?;
        plan::validate(graph, &history, &table.name, false)?;
        let pending = plan::pending(graph, &history, Some(target));
        let settled = history.iter().all(|row| row.state == State::Applied);
        if pending.is_empty() && settled {
            return Ok(Report::default());
        }
        let offences = plan::destructive(&pending);
        if !offences.is_empty() && !self.allow_destructive && !options.dry_run {
            return Err(Error::DestructiveNotAllowed { offences });
        }
        let first = pending.first().map_or(target, |revision| revision.id);
        let lock = Lock::acquire(
            session.conn(),
            url,
            table,
            self.lock_timeout,
            self.stop.as_ref(),
        )
        .await
        .map_err(|error| before(error, first))?;
        let result = self
            .apply_pending(graph, target, table, session, options)
            .await;
        if result.is_err() {
            session.rollback().await;
        }
        lock.release(session.conn()).await;
        result
    }

    async fn apply_pending(
        &self,
        graph: &Graph,
        target: &str,
        table: &Table,
        session: &mut Session,
        options: &Up,
    ) -> Result<Report> {
        if options.dry_run {
            session.pipeline = false;
            session.log = Some(Vec::new());
            session.queue_internal(
                if session.backend == Backend::Sqlite {
                    "BEGIN IMMEDIATE"
                } else {
                    "BEGIN"
                }
                .into(),
            );
            session.flush().await?;
        }
        // Another runner may have finished while we waited for the lock.
        let history = table.create_and_read(session.conn()).await?;
        if !options.dry_run && session.backend == Backend::Postgres {
            crate::backstop::install(session.conn()).await;
        }
        plan::validate(graph, &history, &table.name, true)?;
        let pending = plan::pending(graph, &history, Some(target));
        let applied_by = self.applied_by.clone().unwrap_or_else(current_operator);
        let ctx = Context {
            table,
            applied_by: &applied_by,
            dry_run: options.dry_run,
        };
        let mut seq = history.iter().map(|row| row.seq).max().unwrap_or(0);
        let mut report = Report::default();
        for revision in pending {
            if options.dry_run && !revision.transaction {
                report.skipped.push(revision.id.to_owned());
                continue;
            }
            if self
                .stop
                .as_ref()
                .is_some_and(CancellationToken::is_cancelled)
            {
                return Err(Error::Interrupted {
                    applied: report.revisions.iter().map(|r| r.id.clone()).collect(),
                    next: revision.id.to_owned(),
                });
            }
            seq += 1;
            self.notify(Event::Starting {
                revision: revision.id.to_owned(),
                direction: "up",
            });
            tracing::info!(revision = revision.id, "applying");
            let duration = apply::run(session, &ctx, revision, Direction::Up, seq)
                .await
                .map_err(|error| failed(revision, &report, session.backend, error))?;
            tracing::info!(revision = revision.id, ?duration, "applied");
            self.notify(Event::Finished {
                revision: revision.id.to_owned(),
                direction: "up",
                duration,
            });
            report.revisions.push(RevisionRun {
                id: revision.id.to_owned(),
                duration,
            });
        }
        if options.dry_run {
            report.statements = session.log.take().unwrap_or_default();
            session.rollback().await;
        }
        Ok(report)
    }

    /// Reverts revisions by running their `down` functions, most recent first.
    /// Refuses before running anything if one of them is irreversible.
    pub async fn down(&self, url: &str, down: Down) -> Result<Report> {
        let graph = self.graph()?;
        let table = self.table()?;
        let mut session = self.session(url).await?;
        let result = self
            .down_locked(url, &graph, &table, &mut session, &down)
            .await;
        session.close().await;
        result
    }

    async fn down_locked(
        &self,
        url: &str,
        graph: &Graph,
        table: &Table,
        session: &mut Session,
        down: &Down,
    ) -> Result<Report> {
        let history = table.read(session.conn()).await?;
        plan::validate(graph, &history, &table.name, false)?;
        if plan::to_revert(graph, &history, down)?.is_empty() {
            return Ok(Report::default());
        }
        let lock = Lock::acquire(
            session.conn(),
            url,
            table,
            self.lock_timeout,
            self.stop.as_ref(),
        )
        .await
        .map_err(|error| before(error, "the first revision to revert"))?;
        let result = async {
            let history = table.read(session.conn()).await?;
            plan::validate(graph, &history, &table.name, true)?;
            let revert = plan::to_revert(graph, &history, down)?;
            let applied_by = self.applied_by.clone().unwrap_or_else(current_operator);
            let ctx = Context {
                table,
                applied_by: &applied_by,
                dry_run: false,
            };
            let mut report = Report::default();
            for revision in revert {
                if self
                    .stop
                    .as_ref()
                    .is_some_and(CancellationToken::is_cancelled)
                {
                    return Err(Error::Interrupted {
                        applied: report.revisions.iter().map(|r| r.id.clone()).collect(),
                        next: revision.id.to_owned(),
                    });
                }
                self.notify(Event::Starting {
                    revision: revision.id.to_owned(),
                    direction: "down",
                });
                let duration = apply::run(session, &ctx, revision, Direction::Down, 0)
                    .await
                    .map_err(|error| failed(revision, &report, session.backend, error))?;
                self.notify(Event::Finished {
                    revision: revision.id.to_owned(),
                    direction: "down",
                    duration,
                });
                report.revisions.push(RevisionRun {
                    id: revision.id.to_owned(),
                    duration,
                });
            }
            Ok(report)
        }
        .await;
        lock.release(session.conn()).await;
        result
    }
}

fn failed(revision: &Revision, report: &Report, backend: Backend, error: Error) -> Error {
    Error::RevisionFailed {
        revision: revision.id.to_owned(),
        rolled_back: revision.transaction && backend != Backend::MySql,
        applied_before: report.revisions.iter().map(|r| r.id.clone()).collect(),
        source: Box::new(error),
    }
}

/// Names the revision that would have run next in an interruption that came
/// while waiting for the lock.
fn before(error: Error, next: &str) -> Error {
    match error {
        Error::Interrupted { applied, .. } => Error::Interrupted {
            applied,
            next: next.to_owned(),
        },
        other => other,
    }
}

/// What [`Table::summary`] reads when exactly `target` and its ancestors
/// are applied, unchanged.
fn expected_summary(graph: &Graph, target: &str) -> String {
    let mut applied: Vec<&'static Revision> = graph
        .ancestors(target)
        .into_iter()
        .filter_map(|id| graph.get(id))
        .collect();
    applied.sort_unstable_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));
    let mut out = String::with_capacity(applied.len() * 90);
    for (i, revision) in applied.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(revision.id);
        out.push(':');
        out.push_str(revision.checksum);
        out.push_str(":applied");
    }
    out
}
