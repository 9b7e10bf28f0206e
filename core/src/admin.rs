//! Operations for operators rather than deploys: recording a state by hand
//! (`stamp`, `resolve`) and rendering SQL without running it.

use crate::apply;
use crate::backend::Backend;
use crate::history::{AppliedRevision, Change, STAMPED_DURATION_MS, State, Table};
use crate::migration::Migration;
use crate::operator::now_rfc3339;
use crate::plan;
use crate::report::{Direction, Rendered, Resolution, StampChange};
use crate::revision::Revision;
use crate::session::{Guard, Session};
use crate::{Error, Migrator, Result};
use std::collections::HashSet;

impl Migrator {
    /// Records the database as being at `target` without running anything:
    /// the same as [`stamp_many`](Migrator::stamp_many) with one target.
    pub async fn stamp(&self, url: &str, target: &str) -> Result<Vec<StampChange>> {
        self.stamp_many(url, &[target]).await
    }

    /// Records the database as being at `targets` without running
    /// anything, for adopting an existing database or after a manual fix.
    /// Returns the changes made, in order.
    ///
    /// - Each target and its ancestors become applied (failed rows among
    ///   them are settled).
    /// - Rows that descend from a target (later revisions on its line) go,
    ///   so that the next `up` runs them again. Rows on other branches stay:
    ///   stamping one branch never forgets another.
    /// - `head` names the single head, `heads` every head, and `base` no
    ///   revision: `stamp base` empties the history. A revision whose id is
    ///   one of these words is still found by its id.
    ///
    /// Every row stamp writes or settles is marked as stamped (see
    /// [`AppliedRevision::stamped`]).
    pub async fn stamp_many(&self, url: &str, targets: &[&str]) -> Result<Vec<StampChange>> {
        let graph = self.graph()?;
        let mut resolved: Vec<&'static str> = Vec::new();
        for target in targets {
            match (graph.get(target), *target) {
                (Some(revision), _) => resolved.push(revision.id),
                (None, "head") => resolved.push(graph.head()?),
                (None, "heads") => resolved.extend(graph.heads()),
                (None, "base") => {}
                (None, other) => {
                    graph.require(other)?;
                }
            }
        }
        let keep: HashSet<&str> = resolved.iter().flat_map(|id| graph.ancestors(id)).collect();
        let next = targets.join(", ");
        self.edit_history(url, &next, |table, session, history| {
            let backend = session.backend;
            let applied_by = self.operator();
            let mut seq = history.iter().map(|row| row.seq).max().unwrap_or(0);
            let mut changed = Vec::new();
            // `base` alone removes everything; otherwise what builds on a
            // target, and nothing on another branch.
            let removed = history.iter().filter(|row| {
                !keep.contains(row.id.as_str())
                    && (resolved.is_empty()
                        || graph
                            .ancestors(&row.id)
                            .iter()
                            .any(|id| resolved.contains(id)))
            });
            for row in removed {
                session.queue_internal(table.delete_sql(backend, &row.id));
                changed.push(StampChange::Removed(row.id.clone()));
            }
            // A squash kept stands in for the revisions it replaces.
            let kept = graph.ordered().filter(|r| keep.contains(r.id)).filter(|r| {
                graph
                    .replaced_by(r.id)
                    .is_none_or(|squash| !keep.contains(squash.id))
            });
            for revision in kept {
                match history.iter().find(|row| row.id == revision.id) {
                    // A failed or unfinished row of a kept revision: the
                    // person stamping says it is in place now.
                    Some(row) if row.state != State::Applied => {
                        session.queue_internal(table.update_sql(
                            backend,
                            &row.id,
                            Change::Finished {
                                duration_ms: STAMPED_DURATION_MS,
                                note: None,
                            },
                        ));
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
                    Some(STAMPED_DURATION_MS),
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
        let known = graph.require(revision)?;
        if resolution == Resolution::RunDown {
            return self.resolve_by_down(url, known).await;
        }
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
                Resolution::RolledBack | Resolution::RunDown => table.delete_sql(backend, &row.id),
            });
            Ok(())
        })
        .await
    }

    /// [`Resolution::RunDown`]: runs the failed revision's `down` through
    /// the one run path, which removes its row when the `down` succeeds.
    async fn resolve_by_down(&self, url: &str, revision: &'static Revision) -> Result<()> {
        if revision.down.is_none() {
            return Err(Error::NoDownToRun {
                revision: revision.id.to_owned(),
            });
        }
        let table = self.table()?;
        self.connected(url, async |session| {
            self.locked(url, session, &table, revision.id, async |session| {
                let history = table.create_and_read(session.conn()).await?;
                if !history
                    .iter()
                    .any(|row| row.id == revision.id && row.state != State::Applied)
                {
                    return Err(Error::NothingToResolve {
                        revision: revision.id.to_owned(),
                    });
                }
                let applied_by = self.operator();
                let ctx = self.context(&table, &applied_by, false);
                self.run_revisions(session, &ctx, vec![revision], Direction::Down, 0)
                    .await
                    .map(drop)
            })
            .await
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
                if table.probe(session.conn()).await.is_none() {
                    // A database that reached head by `stamp` gets the
                    // cheap start-up too; the edit below clears it.
                    table.create_digest(session.conn()).await;
                }
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
        plan::validate(&graph, &history, &self.table, false, !self.strict)?;
        let pending = plan::pending(&graph, &history, Some(target));
        render(backend, plan::running(&graph, &history, pending)).await
    }
}

/// Records a failed or unfinished row as applied, keeping its duration.
fn finish(table: &Table, backend: Backend, row: &AppliedRevision) -> String {
    table.update_sql(
        backend,
        &row.id,
        Change::Finished {
            duration_ms: row.duration_ms,
            note: None,
        },
    )
}

/// Runs each revision against an offline session that only records statements.
pub(crate) async fn render(
    backend: Backend,
    revisions: Vec<&'static Revision>,
) -> Result<Rendered> {
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
