//! SQLite's table rebuild, standing in for an `ALTER TABLE` sea-query
//! cannot render for SQLite (changing a column, several changes at once).
//!
//! SQLite's documented procedure (<https://www.sqlite.org/lang_altertable.html>,
//! "making other kinds of table schema changes") turns foreign keys off
//! first, which cannot be done inside a transaction. So inside the
//! revision's transaction, foreign key checks are deferred to the commit
//! instead; the rows are held aside in a temporary table; the table is
//! dropped (the children's rows now break their foreign keys, as counted by
//! SQLite) and created again as changed; the rows are copied back (which
//! settles what the drop broke); its indexes and triggers are created again
//! (but those on a dropped column); and `foreign_key_check` must come back
//! empty. A table that others reference with `ON DELETE CASCADE`, `SET
//! NULL` or `SET DEFAULT` is refused there: the drop would run those
//! actions. In a `transaction = false` revision, foreign keys are turned
//! off around the rebuild, which runs in a transaction of its own, as SQLite
//! documents.
//!
//! The guard judges a rebuild by what it loses: a column the new table does
//! not have is `DROP COLUMN table.column`, refused unless the revision is
//! reviewed; a rebuild that keeps every column is not destructive.

use crate::backend::Conn;
use crate::migration::Migration;
use crate::session::Guard;
use crate::{Error, Result};
use cofferdam_lint::{Finding, Risk};

impl Migration<'_> {
    /// Rebuilds the table `alter` (PostgreSQL's text of an `ALTER TABLE`)
    /// changes, as it says.
    pub(crate) async fn rebuild(&mut self, alter: &str, message: &str) -> Result<()> {
        let revision = self.revision.id;
        let unrenderable = || Error::Unrenderable {
            revision: revision.to_owned(),
            backend: self.session.backend,
            message: message.to_owned(),
        };
        let Some(table) = cofferdam_lint::altered_table(alter) else {
            return Err(unrenderable());
        };
        let Some(sql) = self.session.engine.rebuild_sql(&table) else {
            return Err(unrenderable());
        };
        let refuse = |reason: String| Error::Rebuild {
            revision: revision.to_owned(),
            table: table.clone(),
            reason,
        };
        let conn = self.session.live_conn().await?;
        let read = async |conn: &mut Conn, query: &str| {
            conn.fetch_text(query)
                .await
                .map_err(|source| Error::Database {
                    action: format!("reading the catalog to rebuild `{table}`"),
                    source,
                })
        };
        let Some(definition) = read(conn, &sql.definition)
            .await?
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next().flatten())
        else {
            return Err(refuse("it does not exist".to_owned()));
        };
        let hold = "cofferdam_rebuild_hold".to_owned();
        let plan = cofferdam_lint::plan_rebuild(&definition, alter, &table).map_err(refuse)?;
        if !plan.dropped.is_empty() && self.guard == Guard::Enforce {
            let lost: Vec<Finding> = plan
                .dropped
                .iter()
                .map(|column| {
                    Finding::new(
                        Risk::Destructive,
                        "DROP COLUMN",
                        Some(format!("{table}.{column}")),
                    )
                })
                .collect();
            return Err(self.refuse(&lost, alter));
        }
        let engine = self.session.engine;
        let in_transaction = self.session.backend.runs_in_transaction(self.revision);
        let Some(conn) = self.session.conn.as_mut() else {
            unreachable!("checked above");
        };
        let acting: Vec<String> = read(conn, &sql.acting_children)
            .await?
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .collect();
        if in_transaction && !acting.is_empty() {
            return Err(refuse(format!(
                "{} reference it with ON DELETE actions, which dropping it would run, and foreign keys \
                 cannot be turned off inside a transaction; add `transaction = false` to the revision",
                acting.join(", ")
            )));
        }
        let dependents: Vec<String> = read(conn, &sql.dependents)
            .await?
            .into_iter()
            .filter_map(|row| row.into_iter().nth(2).flatten())
            .filter(|text| {
                !plan
                    .dropped
                    .iter()
                    .any(|column| cofferdam_lint::mentions(text, column))
            })
            .collect();
        let quote = |name: &str| engine.quote(name);
        let (old, new): (Vec<String>, Vec<String>) = plan
            .copied
            .iter()
            .map(|(old, new)| (quote(old), quote(new)))
            .unzip();
        let mut steps: Vec<String> = Vec::new();
        if !in_transaction {
            steps.push(sql.foreign_keys_off.to_owned());
            steps.push(engine.begin().to_owned());
        }
        steps.push(sql.defer_foreign_keys.to_owned());
        steps.push((sql.hold)(&quote(&hold), &quote(&table)));
        steps.push(format!("DROP TABLE {}", quote(&table)));
        steps.push(plan.create.clone());
        steps.push(format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            quote(&table),
            new.join(", "),
            old.join(", "),
            quote(&hold)
        ));
        steps.push(format!("DROP TABLE {}", quote(&hold)));
        steps.extend(dependents);
        for step in steps {
            self.session.queue_internal(step);
        }
        self.session.flush().await?;
        let Some(conn) = self.session.conn.as_mut() else {
            unreachable!("checked above");
        };
        let broken = read(conn, &sql.foreign_key_check).await?;
        if !broken.is_empty() {
            if !in_transaction {
                self.session.rollback().await;
                self.session.queue_internal(sql.foreign_keys_on.to_owned());
                self.session.flush().await?;
            }
            return Err(refuse(format!(
                "after the rebuild, {} rows break a foreign key (foreign_key_check); nothing was changed",
                broken.len()
            )));
        }
        if !in_transaction {
            self.session.queue_internal("COMMIT".to_owned());
            self.session.queue_internal(sql.foreign_keys_on.to_owned());
            self.session.flush().await?;
        }
        tracing::info!(revision, %table, dropped = ?plan.dropped, "rebuilt a SQLite table");
        Ok(())
    }
}
