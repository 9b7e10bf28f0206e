//! [`Migrator`]: the entry point that checks, plans and applies a migration set.

use crate::apply::{self, Context, Direction};
use crate::conn::Conn;
use crate::graph::Graph;
use crate::history::{AppliedRevision, State, Table, current_operator};
use crate::lock::Lock;
use crate::migration::{Session, StatementLog};
use crate::plan::{self, Down};
use crate::revision::{Revision, registered};
use crate::url::Backend;
use crate::{Error, Result};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The default name of the history table.
pub const DEFAULT_HISTORY_TABLE: &str = "cofferdam_history";

/// Something that happened during a run, for progress output.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A revision is about to run.
    Starting {
        /// The revision.
        revision: String,
        /// Its direction: `up` or `down`.
        direction: &'static str,
    },
    /// A revision finished.
    Finished {
        /// The revision.
        revision: String,
        /// Its direction: `up` or `down`.
        direction: &'static str,
        /// How long it took.
        duration: Duration,
    },
}

type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

/// Checks, plans and applies the revisions of one migration set.
///
/// Cheap to clone; configure it with the builder methods, then call
/// [`up`](Migrator::up), [`down`](Migrator::down) or [`status`](Migrator::status).
#[derive(Clone)]
pub struct Migrator {
    set: String,
    table: String,
    lock_timeout: Duration,
    connect_timeout: Duration,
    allow_destructive: bool,
    stop: Option<CancellationToken>,
    applied_by: Option<String>,
    observer: Option<Observer>,
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

/// What a run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// The revisions run, in order, with their durations.
    pub revisions: Vec<RevisionRun>,
    /// Every statement with its duration (dry runs only).
    pub statements: Vec<StatementLog>,
    /// Revisions a dry run skipped because they run outside a transaction.
    pub skipped: Vec<String>,
}

/// One revision run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RevisionRun {
    /// The revision id.
    pub id: String,
    /// How long it took.
    pub duration: Duration,
}

/// Options of [`Migrator::up_with`].
#[derive(Debug, Clone, Default)]
pub struct Up {
    /// Stop at this revision instead of the head.
    pub target: Option<String>,
    /// Run everything in a transaction that is rolled back (PostgreSQL, SQLite).
    pub dry_run: bool,
}

/// A revision that is not applied yet.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PendingRevision {
    /// The id.
    pub id: String,
    /// Whether it is marked `#[destructive(reviewed)]`.
    pub destructive: bool,
    /// The destructive operations found at compile time.
    pub operations: Vec<String>,
}

/// Where a database stands, read without changing anything.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// The backend.
    pub backend: String,
    /// The history table read.
    pub history_table: String,
    /// The heads of the graph in the code.
    pub heads: Vec<String>,
    /// Applied revisions, in application order.
    pub applied: Vec<AppliedRevision>,
    /// Revisions recorded as failed or unfinished.
    pub failed: Vec<AppliedRevision>,
    /// Revisions not applied yet, parents first.
    pub pending: Vec<PendingRevision>,
    /// Applied revisions the code does not know.
    pub unknown: Vec<String>,
    /// Applied revisions whose code changed since.
    pub drifted: Vec<String>,
    /// Things an operator should know, e.g. a safety net that is not in place.
    pub notes: Vec<String>,
}

impl Status {
    /// Nothing pending, failed, unknown or drifted.
    pub fn is_up_to_date(&self) -> bool {
        self.pending.is_empty()
            && self.failed.is_empty()
            && self.unknown.is_empty()
            && self.drifted.is_empty()
    }
}

/// How to settle a revision recorded as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The changes were completed by hand: record it as applied.
    Applied,
    /// The changes were undone by hand: forget the attempt.
    RolledBack,
}

/// Offline rendering of what `up` would run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Rendered {
    /// Statements, per revision, in order.
    pub statements: Vec<StatementLog>,
    /// Revisions whose SQL depends on data, so cannot be rendered.
    pub unrenderable: Vec<String>,
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

    fn table(&self) -> Result<Table> {
        Table::new(&self.table)
    }

    async fn session(&self, url: &str) -> Result<Session> {
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
        if let Some(conn) = session.conn.take() {
            conn.close().await;
        }
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
        let table = self.table()?;
        let mut session = self.session(url).await?;
        let history = table.read(session.conn()).await;
        if let Some(conn) = session.conn.take() {
            conn.close().await;
        }
        Ok(plan::destructive(&plan::pending(&graph, &history?, None)))
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
            if let Some(conn) = session.conn.take() {
                conn.close().await;
            }
            return Err(Error::Custom(
                "--dry-run is not possible on MySQL/MariaDB: DDL commits implicitly, so nothing could be rolled back; \
                 use `migrate sql` to review the statements instead"
                    .into(),
            ));
        }
        let result = self
            .up_locked(url, &graph, target, &table, &mut session, options)
            .await;
        if let Some(conn) = session.conn.take() {
            conn.close().await;
        }
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
        if let Some(conn) = session.conn.take() {
            conn.close().await;
        }
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

    /// Records the database as being exactly at `target` without running
    /// anything: `target` and its ancestors become applied (failed rows among
    /// them included), every other row goes. Returns the changes as `+id`
    /// (recorded), `~id` (failed row settled as applied) and `-id` (removed).
    /// For adopting an existing database or after a manual fix.
    pub async fn stamp(&self, url: &str, target: &str) -> Result<Vec<String>> {
        let graph = self.graph()?;
        let revision = graph.require(target)?;
        let keep = graph.ancestors(revision.id);
        self.with_lock(url, |table, session, history| {
            let backend = session.backend;
            let applied_by = self.applied_by.clone().unwrap_or_else(current_operator);
            let mut seq = history.iter().map(|row| row.seq).max().unwrap_or(0);
            let mut changed = Vec::new();
            for row in history.iter().filter(|row| !keep.contains(row.id.as_str())) {
                session.queue_internal(table.delete_sql(backend, &row.id));
                changed.push(format!("-{}", row.id));
            }
            for revision in graph.ordered().filter(|r| keep.contains(r.id)) {
                match history.iter().find(|row| row.id == revision.id) {
                    // A failed or unfinished row of a kept revision: the
                    // person stamping says it is in place now.
                    Some(row) if row.state != State::Applied => {
                        session.queue_internal(table.finish_sql(backend, &row.id, row.duration_ms));
                        changed.push(format!("~{}", row.id));
                        continue;
                    }
                    Some(_) => continue,
                    None => {}
                }
                seq += 1;
                let row = apply::new_row(
                    revision,
                    seq,
                    State::Applied,
                    crate::history::now_rfc3339(),
                    &applied_by,
                    Some(0),
                );
                session.queue_internal(table.insert_sql(backend, &row));
                changed.push(format!("+{}", revision.id));
            }
            changed
        })
        .await
    }

    /// Settles a revision recorded as failed or unfinished, after a person
    /// fixed the database by hand.
    pub async fn resolve(&self, url: &str, revision: &str, resolution: Resolution) -> Result<()> {
        let graph = self.graph()?;
        graph.require(revision)?;
        let id = revision.to_owned();
        let found = self
            .with_lock(url, |table, session, history| {
                let backend = session.backend;
                let row = history
                    .iter()
                    .find(|row| row.id == id && row.state != State::Applied)?;
                let sql = match resolution {
                    Resolution::Applied => table.finish_sql(backend, &row.id, row.duration_ms),
                    Resolution::RolledBack => table.delete_sql(backend, &row.id),
                };
                session.queue_internal(sql);
                Some(())
            })
            .await?;
        found.ok_or_else(|| {
            Error::Custom(format!("revision `{revision}` is not recorded as failed, so there is nothing to resolve; see `migrate status`"))
        })
    }

    /// Runs `edit` on the history under the lock, then sends what it queued in one transaction.
    async fn with_lock<T>(
        &self,
        url: &str,
        edit: impl FnOnce(&Table, &mut Session, &[AppliedRevision]) -> T,
    ) -> Result<T> {
        let table = self.table()?;
        let mut session = self.session(url).await?;
        let result = async {
            let lock = Lock::acquire(session.conn(), url, &table, self.lock_timeout, None).await?;
            let result = async {
                let history = table.create_and_read(session.conn()).await?;
                let out = edit(&table, &mut session, &history);
                session.flush().await?;
                Ok(out)
            }
            .await;
            lock.release(session.conn()).await;
            result
        }
        .await;
        if let Some(conn) = session.conn.take() {
            conn.close().await;
        }
        result
    }

    /// Renders the SQL that `up` would run, reading only the history table.
    /// Revisions that read data cannot be rendered and are listed.
    pub async fn render_sql(&self, url: &str, target: Option<&str>) -> Result<Rendered> {
        let graph = self.graph()?;
        let target = match target {
            Some(target) => graph.require(target)?.id,
            None => graph.head()?,
        };
        let table = self.table()?;
        let mut session = self.session(url).await?;
        let history = table.read(session.conn()).await;
        let backend = session.backend;
        if let Some(conn) = session.conn.take() {
            conn.close().await;
        }
        let history = history?;
        plan::validate(&graph, &history, &table.name, false)?;
        render(backend, plan::pending(&graph, &history, Some(target))).await
    }
}

/// Runs each revision against an offline session that only records statements.
async fn render(backend: Backend, revisions: Vec<&'static Revision>) -> Result<Rendered> {
    let mut rendered = Rendered::default();
    for revision in revisions {
        let mut session = Session::offline(backend);
        let mut migration = crate::migration::Migration::new(
            &mut session,
            revision,
            crate::migration::Guard::Allow,
        );
        match (revision.up)(&mut migration).await {
            Ok(()) => {}
            Err(Error::Offline { .. }) => {
                rendered.unrenderable.push(revision.id.to_owned());
                continue;
            }
            Err(error) => return Err(error),
        }
        session.flush().await?;
        rendered
            .statements
            .extend(session.log.take().unwrap_or_default());
    }
    Ok(rendered)
}

fn pending_revision(revision: &'static Revision) -> PendingRevision {
    PendingRevision {
        id: revision.id.to_owned(),
        destructive: revision.review.is_some(),
        operations: revision
            .review
            .map(|r| r.operations.iter().map(|op| (*op).to_owned()).collect())
            .unwrap_or_default(),
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
