//! The checks a migrations crate runs from its own tests: stairway,
//! reversibility, idempotent re-run, re-run after a failure.

use super::database::TestDatabase;
use super::snapshot::{Difference, Snapshot};
use crate::{Down, Error, Migrator, Resolution};
use std::collections::HashMap;

/// A check that failed: which revision, which step, and what differs.
///
/// Its `Debug` is its message with the cause, so `check(...).await.unwrap()`
/// in a test prints something a person can read.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// A migration step failed: the revision's `up` or `down` returned an error.
    #[error("{check}: {step} of `{revision}` failed")]
    Step {
        /// The check that ran it.
        check: &'static str,
        /// The revision.
        revision: String,
        /// `up`, `down`, `up again`, ...
        step: &'static str,
        /// What the migrator said.
        #[source]
        source: Error,
    },
    /// The schema after a revision's `down` is not the schema before its `up`.
    #[error("stairway: after down of `{revision}`, the schema is not what it was before its up: {}", list(.differences))]
    DownIncomplete {
        /// The revision whose `down` leaves something behind or takes too much.
        revision: String,
        /// From the schema before `up` to the schema after `down`.
        differences: Vec<Difference>,
    },
    /// The schema after down+up of a revision is not the schema after its first up.
    #[error("stairway: after down+up of `{revision}`: {}", list(.differences))]
    NotRepeatable {
        /// The revision.
        revision: String,
        /// From the schema after the first `up` to the one after the second.
        differences: Vec<Difference>,
    },
    /// `up` on a database at head did something.
    #[error("idempotent: `up` at head applied {applied:?} and changed the schema: {}", list(.differences))]
    NotIdempotent {
        /// Revisions the second `up` applied.
        applied: Vec<String>,
        /// From the schema after the first `up` to the one after the second.
        differences: Vec<Difference>,
    },
    /// The broken set given to [`rerun_after_failure`] did not fail.
    #[error(
        "rerun: the broken set migrated without an error; give it a set whose last revision fails"
    )]
    DidNotFail,
    /// After a failure and the fixed re-run, the schema is not a clean run's.
    #[error("rerun: after the failed run and the fixed re-run, the schema is not a clean run's: {}", list(.differences))]
    RerunDiffers {
        /// From the schema of a clean run to the one after the re-run.
        differences: Vec<Difference>,
    },
    /// The revision graph is broken, so nothing was checked.
    #[error("the revision graph is broken")]
    Graph(#[source] Error),
}

impl std::fmt::Debug for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::report(self))
    }
}

fn list(differences: &[Difference]) -> String {
    let items: Vec<String> = differences.iter().map(ToString::to_string).collect();
    items.join("; ")
}

/// What [`stairway`] checked.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Stairway {
    /// Revisions taken up, down and up again, in order.
    pub checked: Vec<String>,
    /// Revisions only taken up, because they have no `down`.
    pub irreversible: Vec<String>,
}

/// The stairway check: on the empty database `db`, for every revision in
/// order, `up`, then `down`, then `up` again. The schema after `down` must
/// be the schema before `up`, and the schema after the second `up` the one
/// after the first. Revisions without a `down` are only taken up, and
/// listed in [`Stairway::irreversible`]. Destructive revisions are allowed.
/// A squash reached through the revisions it replaces is recorded, and its
/// `down` reverts them all; it is then taken up again by itself, so its own
/// `up` is checked against theirs, and its own `down` too.
///
/// ```rust,ignore
/// #[cofferdam::test]
/// async fn stairway(db: cofferdam::testing::TestDatabase) {
///     cofferdam::testing::stairway(&my_migrations::migrator(), &db).await.unwrap();
/// }
/// ```
pub async fn stairway(migrator: &Migrator, db: &TestDatabase) -> Result<Stairway, CheckError> {
    let migrator = migrator.clone().allow_destructive(true);
    let revisions = migrator.revisions().map_err(CheckError::Graph)?;
    let table = migrator.table.clone();
    let step = |revision: &str, step, source| CheckError::Step {
        check: "stairway",
        revision: revision.to_owned(),
        step,
        source,
    };
    let mut report = Stairway::default();
    let mut before = db.snapshot_without(&table).await;
    // The schema before each revision, for a squash recorded over its
    // replaced revisions: reverting it reverts them all.
    let mut before_each: HashMap<&str, Snapshot> = HashMap::new();
    for revision in &revisions {
        let id = revision.id;
        before_each.insert(id, before.clone());
        migrator
            .up_to(db.url(), id)
            .await
            .map_err(|e| step(id, "up", e))?;
        let after_up = db.snapshot_without(&table).await;
        if revision.down.is_none() {
            report.irreversible.push(id.to_owned());
            before = after_up;
            continue;
        }
        // A squash stepped onto from its replaced revisions was recorded;
        // its base is the schema before the first of them.
        let chain_base = revisions
            .iter()
            .find(|r| revision.replaces.contains(&r.id))
            .and_then(|first| before_each.get(first.id))
            .cloned();
        let base = chain_base.clone().unwrap_or_else(|| before.clone());
        let mut again = after_up.clone();
        // Down and up; for such a squash twice: the second `up` runs the
        // squash itself, so its own `down` and `up` are checked too.
        let rounds = if chain_base.is_some() { 2 } else { 1 };
        for _ in 0..rounds {
            migrator
                .down(db.url(), Down::Steps(1))
                .await
                .map_err(|e| step(id, "down", e))?;
            let differences = base.diff(&db.snapshot_without(&table).await);
            if !differences.is_empty() {
                return Err(CheckError::DownIncomplete {
                    revision: id.to_owned(),
                    differences,
                });
            }
            migrator
                .up_to(db.url(), id)
                .await
                .map_err(|e| step(id, "up again (after down)", e))?;
            again = db.snapshot_without(&table).await;
            let differences = after_up.diff(&again);
            if !differences.is_empty() {
                return Err(CheckError::NotRepeatable {
                    revision: id.to_owned(),
                    differences,
                });
            }
        }
        report.checked.push(id.to_owned());
        before = again;
    }
    Ok(report)
}

/// The reversibility report: the revisions of the set that have no
/// `down`, parents first. Needs no database.
pub fn irreversible(migrator: &Migrator) -> crate::Result<Vec<&'static str>> {
    Ok(migrator
        .revisions()?
        .into_iter()
        .filter(|revision| revision.down.is_none())
        .map(|revision| revision.id)
        .collect())
}

/// The idempotent re-run check: `up` to head on `db`, then `up` again,
/// which must apply nothing and leave the schema as it was.
pub async fn idempotent(migrator: &Migrator, db: &TestDatabase) -> Result<(), CheckError> {
    let migrator = migrator.clone().allow_destructive(true);
    let head = migrator.heads().map_err(CheckError::Graph)?.join(",");
    let step = |step, source| CheckError::Step {
        check: "idempotent",
        revision: head.clone(),
        step,
        source,
    };
    migrator.up(db.url()).await.map_err(|e| step("up", e))?;
    let first = db.snapshot_without(&migrator.table).await;
    let report = migrator
        .up(db.url())
        .await
        .map_err(|e| step("second up", e))?;
    let differences = first.diff(&db.snapshot_without(&migrator.table).await);
    if report.revisions.is_empty() && differences.is_empty() {
        return Ok(());
    }
    Err(CheckError::NotIdempotent {
        applied: report.revisions.into_iter().map(|run| run.id).collect(),
        differences,
    })
}

/// The failure re-run check: `broken` fails on `db` (its revision raises
/// an error midway), then `fixed` (the same revisions with the bug fixed,
/// same ids) migrates the same database to head, and the schema equals the
/// one a clean run of `fixed` reaches on a fresh database.
///
/// Where a failed revision cannot roll back (MySQL, MariaDB, and
/// `transaction = false` revisions), `up` refuses to pass a failed
/// revision until an operator settles it; this check does what the
/// operator would after undoing the partial change, `resolve
/// --rolled-back`, and then the fixed revision must cope with whatever the
/// failed attempt left (write it to be re-runnable, e.g. `IF NOT EXISTS`).
pub async fn rerun_after_failure(
    broken: &Migrator,
    fixed: &Migrator,
    db: &TestDatabase,
) -> Result<(), CheckError> {
    let broken = broken.clone().allow_destructive(true);
    let fixed = fixed.clone().allow_destructive(true);
    if broken.up(db.url()).await.is_ok() {
        return Err(CheckError::DidNotFail);
    }
    let step = |revision: &str, step, source| CheckError::Step {
        check: "rerun",
        revision: revision.to_owned(),
        step,
        source,
    };
    if let Err(error) = fixed.up(db.url()).await {
        let Error::Blocked { revision, .. } = &error else {
            return Err(step("the fixed set", "re-run", error));
        };
        let revision = revision.clone();
        fixed
            .resolve(db.url(), &revision, Resolution::RolledBack)
            .await
            .map_err(|e| step(&revision, "resolve --rolled-back", e))?;
        fixed
            .up(db.url())
            .await
            .map_err(|e| step(&revision, "re-run after resolving", e))?;
    }
    let rerun = db.snapshot_without(&fixed.table).await;
    let Some(clean_db) = TestDatabase::new(db.backend()).await else {
        // The engine was reachable a moment ago; `new` said why it is not now.
        return Ok(());
    };
    fixed
        .up(clean_db.url())
        .await
        .map_err(|e| step("the fixed set", "clean run", e))?;
    let clean: Snapshot = clean_db.snapshot_without(&fixed.table).await;
    let differences = clean.diff(&rerun);
    if differences.is_empty() {
        Ok(())
    } else {
        Err(CheckError::RerunDiffers { differences })
    }
}
