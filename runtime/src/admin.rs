//! Operations for operators rather than deploys: recording a state by hand
//! (`stamp`, `resolve`) and rendering SQL without running it.

use crate::apply;
use crate::history::{AppliedRevision, State, Table, current_operator};
use crate::lock::Lock;
use crate::migration::Session;
use crate::plan;
use crate::report::{Rendered, Resolution};
use crate::revision::Revision;
use crate::url::Backend;
use crate::{Error, Migrator, Result};

impl Migrator {
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
        session.close().await;
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
        let (backend, history) = self.read_history(url).await?;
        plan::validate(&graph, &history, &self.table, false)?;
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
