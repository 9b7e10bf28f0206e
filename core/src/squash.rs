//! Squash: the schema a chain of revisions reaches, read from a shadow
//! database, as the changes that build it from nothing, for `migrate squash`
//! to write as one revision with `replaces = [...]`.
//!
//! What the schema model does not hold is reported, never dropped in
//! silence: rows the replaced revisions wrote, views, functions and
//! triggers, and revisions whose statements depend on data.

use crate::admin::render;
use crate::backend::Backend;
use crate::revision::Revision;
use crate::schema::{self, Change, Diff, Schema};
use crate::{Error, Migrator, Result};

/// What [`Migrator::squash`] found.
#[derive(Debug)]
#[non_exhaustive]
pub struct Squash {
    /// The engine the changes were computed for.
    pub backend: Backend,
    /// The revisions the squash replaces, parents first: the target and
    /// everything it builds on (from the start revision, when one is given).
    pub replaces: Vec<&'static Revision>,
    /// What the squash builds on: none from the base, else the start
    /// revision's parents.
    pub after: Vec<&'static Revision>,
    /// The changes that build the target's schema from nothing.
    pub diff: Diff,
    /// Changes the engine cannot apply with sea-query's builders, each with
    /// why: they are left out of the generated code.
    pub unexpressible: Vec<String>,
    /// What the replaced revisions did that the squash does not reproduce.
    pub not_reproduced: Vec<String>,
    /// What differed when the changes were checked on the shadow: its
    /// `down` run first (dropping everything), then its `up` (building the
    /// schema again). Empty when both reach their schema exactly.
    pub leftover: Vec<String>,
}

impl Migrator {
    /// The schema the migrations reach at `to`, as changes from nothing:
    /// what a squash of `to` and its ancestors creates. With `from`, only
    /// `from` and what lies between it and `to` are replaced, and the
    /// changes start from the schema at `from`'s parents, which the squash
    /// builds on. The migrations run on a shadow database for `url`'s
    /// engine (or `shadow_url`), where the changes are checked: reversed
    /// (the squash's `down`), then applied.
    pub async fn squash(
        &self,
        url: &str,
        shadow_url: Option<&str>,
        from: Option<&str>,
        to: &str,
    ) -> Result<Squash> {
        let graph = self.graph()?;
        let target = graph.require(to)?;
        let ancestors = graph.ancestors(target.id);
        let after: Vec<&'static Revision> = match from {
            Some(from) => {
                let start = graph.require(from)?;
                if !ancestors.contains(start.id) {
                    return Err(Error::InvalidSquash {
                        squash: to.to_owned(),
                        reason: format!(
                            "cannot start at `{from}`, which `{to}` does not build on; give --from a revision on the way to --to"
                        ),
                    });
                }
                start
                    .parents
                    .iter()
                    .filter_map(|id| graph.get(id))
                    .collect()
            }
            None => Vec::new(),
        };
        let before: std::collections::HashSet<&str> = after
            .iter()
            .flat_map(|parent| graph.ancestors(parent.id))
            .collect();
        let replaces: Vec<&'static Revision> = graph
            .ordered()
            .filter(|revision| ancestors.contains(revision.id) && !before.contains(revision.id))
            .collect();
        for revision in &replaces {
            let covered = if revision.is_squash() {
                Some(revision.id)
            } else {
                graph.replaced_by(revision.id).map(|squash| squash.id)
            };
            if let Some(squash) = covered {
                return Err(Error::InvalidSquash {
                    squash: to.to_owned(),
                    reason: format!(
                        "cannot be written: `{}` is already squashed by `{squash}`; squash a chain that no squash covers, or delete the squashed revisions first",
                        revision.id
                    ),
                });
            }
        }
        let backend = Backend::from_url(url)?;
        let base = if after.is_empty() {
            Schema::default()
        } else {
            let targets: Vec<&str> = after.iter().map(|r| r.id).collect();
            let (base, shadow) = self.migrations_schema(url, shadow_url, &targets).await?;
            shadow.close().await?;
            base
        };
        let (reached, shadow) = self.migrations_schema(url, shadow_url, &[to]).await?;
        let diff = schema::diff(&base, &reached, backend);
        let unexpressible: Vec<String> = diff
            .changes
            .iter()
            .filter_map(|c| c.unexpressible(backend))
            .collect();
        let down: Vec<Change> = diff.changes.iter().rev().map(Change::reverse).collect();
        let checked = async {
            let mut left = self.verify(&shadow, &down, &base, backend).await?;
            left.extend(
                self.verify(&shadow, &diff.changes, &reached, backend)
                    .await?,
            );
            Ok::<_, Error>(left)
        }
        .await;
        let leftover = match checked {
            Ok(left) => left,
            Err(error) => {
                let _ = shadow.close().await;
                return Err(error);
            }
        };
        shadow.close().await?;
        let mut not_reproduced = not_reproduced(backend, &replaces).await?;
        not_reproduced.extend(reached.unsupported.iter().cloned());
        not_reproduced.extend(diff.unsupported.iter().cloned());
        not_reproduced.extend(diff.extra_objects.iter().map(|object| {
            format!("the {object} exists at `{to}` and the squash does not create it; recreate it in the squash by hand")
        }));
        Ok(Squash {
            backend,
            replaces,
            after,
            diff,
            unexpressible,
            not_reproduced,
            leftover,
        })
    }
}

/// What the replaced revisions did beyond the tables, columns, keys and
/// indexes the schema model reads, found in their SQL rendered offline.
/// A prefix test is enough: the statements come from builders or from SQL
/// the user wrote, and a false alarm only adds a line to read.
async fn not_reproduced(backend: Backend, revisions: &[&'static Revision]) -> Result<Vec<String>> {
    const DATA: [&str; 5] = ["INSERT", "UPDATE", "DELETE", "COPY", "MERGE"];
    const OBJECTS: [&str; 7] = [
        "VIEW",
        "MATERIALIZED VIEW",
        "FUNCTION",
        "PROCEDURE",
        "TRIGGER",
        "TYPE",
        "SEQUENCE",
    ];
    let rendered = render(backend, revisions.to_vec()).await?;
    let mut out = Vec::new();
    for statement in &rendered.statements {
        let sql = statement.sql.trim_start();
        let upper = sql.to_ascii_uppercase();
        let short: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        let short: String = short.chars().take(80).collect();
        let what = if DATA.iter().any(|verb| upper.starts_with(verb)) {
            "changes rows, which the squash does not copy (it creates empty tables)"
        } else if upper.starts_with("CREATE")
            && OBJECTS.iter().any(|kind| {
                let created = upper
                    .trim_start_matches("CREATE")
                    .trim_start()
                    .trim_start_matches("OR REPLACE")
                    .trim_start();
                created.starts_with(kind)
            })
        {
            "creates an object the squash does not read (views, functions, triggers, types); recreate it in the squash by hand"
        } else {
            continue;
        };
        out.push(format!("`{}` {what}: `{short}`", statement.revision));
    }
    for revision in &rendered.unrenderable {
        out.push(format!(
            "`{revision}` reads data while it runs, so what it wrote cannot be known; check it by hand"
        ));
    }
    Ok(out)
}
