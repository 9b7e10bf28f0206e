//! Operations for operators rather than deploys: recording a state by hand
//! (`stamp`, `resolve`) and rendering SQL without running it.

use crate::apply;
use crate::backend::Backend;
use crate::history::{AppliedRevision, Change, State, Table};
use crate::migration::Migration;
use crate::operator::now_rfc3339;
use crate::plan;
use crate::report::{Rendered, Resolution, StampChange};
use crate::revision::Revision;
use crate::session::{Guard, Session};
use crate::{Error, Migrator, Result};

impl Migrator {
    /// Records the database as being exactly at `target` without running
    /// anything: `target` and its ancestors become applied (failed rows among
    /// them included), every other row goes. Returns the changes made, in
    /// order. For adopting an existing database or after a manual fix.
    pub async fn stamp(&self, url: &str, target: &str) -> Result<Vec<StampChange>> {
        let graph = self.graph()?;
        let revision = graph.require(target)?;
        let keep = graph.ancestors(revision.id);
        self.edit_history(url, target, |table, session, history| {
            let backend = session.backend;
            let applied_by = self.operator();
            let mut seq = history.iter().map(|row| row.seq).max().unwrap_or(0);
            let mut changed = Vec::new();
            for row in history.iter().filter(|row| !keep.contains(row.id.as_str())) {
                session.queue_internal(table.delete_sql(backend, &row.id));
                changed.push(StampChange::Removed(row.id.clone()));
            }
            for revision in graph.ordered().filter(|r| keep.contains(r.id)) {
                match history.iter().find(|row| row.id == revision.id) {
                    // A failed or unfinished row of a kept revision: the
                    // person stamping says it is in place now.
                    Some(row) if row.state != State::Applied => {
                        session.queue_internal(finish(table, backend, row));
                        changed.push(StampChange::Settled(row.id.clone()));
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
                    now_rfc3339(),
                    &applied_by,
                    Some(0),
                );
                session.queue_internal(table.insert_sql(backend, &row));
                changed.push(StampChange::Recorded(revision.id.to_owned()));
            }
            Ok(changed)
        })
        .await
    }

    /// Settles a revision recorded as failed or unfinished, after a person
    /// fixed the database by hand.
    pub async fn resolve(&self, url: &str, revision: &str, resolution: Resolution) -> Result<()> {
        let graph = self.graph()?;
        graph.require(revision)?;
        self.edit_history(url, revision, |table, session, history| {
            let backend = session.backend;
            let row = history
                .iter()
                .find(|row| row.id == revision && row.state != State::Applied)
                .ok_or_else(|| Error::NothingToResolve {
                    revision: revision.to_owned(),
                })?;
            session.queue_internal(match resolution {
                Resolution::Applied => finish(table, backend, row),
                Resolution::RolledBack => table.delete_sql(backend, &row.id),
            });
            Ok(())
        })
        .await
    }

    /// Runs `edit` on the history under the lock, then sends what it queued.
    async fn edit_history<T>(
        &self,
        url: &str,
        next: &str,
        edit: impl FnOnce(&Table, &mut Session, &[AppliedRevision]) -> Result<T>,
    ) -> Result<T> {
        let table = self.table()?;
        self.connected(url, async |session| {
            self.locked(url, session, &table, next, async |session| {
                let history = table.create_and_read(session.conn()).await?;
                let out = edit(&table, session, &history)?;
                session.flush().await?;
                Ok(out)
            })
            .await
        })
        .await
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

/// Records a failed or unfinished row as applied, keeping its duration.
fn finish(table: &Table, backend: Backend, row: &AppliedRevision) -> String {
    table.update_sql(
        backend,
        &row.id,
        Change::Finished {
            duration_ms: row.duration_ms,
        },
    )
}

/// Runs each revision against an offline session that only records statements.
async fn render(backend: Backend, revisions: Vec<&'static Revision>) -> Result<Rendered> {
    let mut rendered = Rendered {
        backend,
        statements: Vec::new(),
        unrenderable: Vec::new(),
    };
    for revision in revisions {
        let mut session = Session::offline(backend);
        let mut migration = Migration::new(&mut session, revision, Guard::Allow);
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
