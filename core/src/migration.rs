//! The handle a migration function receives, and the one place every
//! statement of a migration passes through.
//!
//! Each statement is classified by `cofferdam-lint` before it is sent, by one
//! [`Gate`] per revision, so that it is judged in the light of the
//! revision's earlier statements exactly as the macro judged the function
//! body: a destructive statement in a revision not marked
//! `#[destructive(reviewed)]` is refused there, so it never reaches the
//! database. A table rebuild is the one verdict the text cannot settle (the
//! old table's columns are in the catalog), so the guard reads them before
//! the `DROP` is sent. The statements then go to the revision's
//! [`Session`](crate::session), which queues and sends them.

use crate::backend::{Backend, FromAnyRow, RawConnection, Statement, render};
use crate::revision::{BoxFuture, Revision};
use crate::session::{Guard, Session, shorten};
use crate::{Error, Result};
use cofferdam_lint::{Finding, Gate, Rebuild, Risk};

/// The handle a migration function gets: run statements, read rows, branch
/// on the backend.
///
/// Every statement sent through it is checked by the runtime guard first.
/// What a migration does through [`Migration::connection`] is out of the
/// guard's reach (on PostgreSQL the backstop still refuses drops and
/// truncates in an unreviewed revision).
#[derive(Debug)]
pub struct Migration<'c> {
    pub(crate) session: &'c mut Session,
    pub(crate) revision: &'static Revision,
    pub(crate) guard: Guard,
    /// Judges the revision's statements in order: a table it created may
    /// be dropped, a column it added may be backfilled with a constant.
    gate: Gate,
}

impl<'c> Migration<'c> {
    pub(crate) fn new(session: &'c mut Session, revision: &'static Revision, guard: Guard) -> Self {
        session.set_revision(revision.id);
        let gate = Gate::new(session.engine.dialect());
        Migration {
            session,
            revision,
            guard,
            gate,
        }
    }

    /// The backend the migration runs on, to branch on dialect differences.
    pub fn backend(&self) -> Backend {
        self.session.backend
    }

    /// The id of the revision being applied.
    pub fn revision(&self) -> &'static str {
        self.revision.id
    }

    /// Runs a sea-query statement, rendered for the connected backend.
    ///
    /// ```rust,ignore
    /// m.exec(Table::create().table("articles").col(ColumnDef::new("id").big_integer().primary_key())).await?;
    /// ```
    pub fn exec<S: Statement>(&mut self, statement: S) -> BoxFuture<'_> {
        self.exec_dyn(&statement)
    }

    /// [`Migration::exec`] past the statement's type: compiled once, here,
    /// and not once per statement type in the crate of the migrations.
    fn exec_dyn(&mut self, statement: &dyn Statement) -> BoxFuture<'_> {
        let rendered = render(statement, self.session.backend);
        // What sea-query cannot say to the engine: a table rebuild where one
        // can stand in (SQLite), else an error naming the revision. A
        // dropped column goes through the rebuild too where there is one:
        // SQLite's own DROP COLUMN refuses an indexed column.
        let rebuilds = self.session.engine.rebuild_sql("").is_some();
        let alter = statement.alter_text().filter(|alter| {
            rendered.is_err() || (rebuilds && alter.to_ascii_uppercase().contains("DROP COLUMN"))
        });
        let tolerate_unknown = statement.never_destructive();
        Box::pin(async move {
            let sql = match (rendered, alter) {
                // Rendered only (`migrate sql`): SQLite's own DROP COLUMN
                // shows what the change is; `up` rebuilds.
                (Ok(sql), Some(_)) if self.session.conn.is_none() => sql,
                (Ok(_), Some(alter)) => return self.rebuild(&alter, "").await,
                (Ok(sql), None) => sql,
                (Err(message), Some(alter)) => return self.rebuild(&alter, &message).await,
                (Err(message), None) => {
                    return Err(Error::Unrenderable {
                        revision: self.revision.id.to_owned(),
                        backend: self.session.backend,
                        message,
                    });
                }
            };
            let statements = self.check(&sql, tolerate_unknown).await?;
            self.session.send(sql, statements).await
        })
    }

    /// Runs SQL text: one statement, or several separated by `;`.
    pub fn execute(&mut self, sql: &str) -> BoxFuture<'_> {
        Box::pin(self.run(sql.to_owned()))
    }

    async fn run(&mut self, sql: String) -> Result<()> {
        let statements = self.check(&sql, false).await?;
        self.session.send(sql, statements).await
    }

    /// The runtime guard: classifies `sql` in the light of the revision's
    /// earlier statements and refuses what the revision did not declare.
    /// Returns the number of statements, when known.
    pub(crate) async fn check(
        &mut self,
        sql: &str,
        tolerate_unknown: bool,
    ) -> Result<Option<usize>> {
        let classification = self.gate.classify(sql);
        for warning in &classification.warnings {
            tracing::warn!(revision = self.revision.id, "{}", warning.describe());
        }
        if self.guard == Guard::Allow {
            return Ok(classification.statements);
        }
        let refused = classification
            .findings
            .iter()
            .find(|finding| !(tolerate_unknown && finding.risk == Risk::Unknown));
        if let Some(finding) = refused {
            return Err(self.refuse(std::slice::from_ref(finding), sql));
        }
        for rebuild in &classification.rebuilds {
            self.check_rebuild(rebuild, sql).await?;
        }
        Ok(classification.statements)
    }

    /// A rebuild whose old table the revision did not create: only the
    /// catalog knows whether the copy kept every column.
    async fn check_rebuild(&mut self, rebuild: &Rebuild, sql: &str) -> Result<()> {
        // The copy may read tables that queued statements create.
        self.session.flush().await?;
        let Some(conn) = self.session.conn.as_mut() else {
            // Only rendered (`migrate sql`): nothing is sent, nothing to read.
            return Ok(());
        };
        let columns = conn
            .columns(&rebuild.table)
            .await
            .map_err(|source| Error::Database {
                action: format!(
                    "reading the columns of `{}` to check its rebuild",
                    rebuild.table
                ),
                source,
            })?;
        let lost: Vec<Finding> = rebuild
            .lost(&columns)
            .into_iter()
            .map(|column| {
                Finding::new(
                    Risk::Destructive,
                    "DROP COLUMN",
                    Some(format!("{}.{column}", rebuild.table)),
                )
            })
            .collect();
        if lost.is_empty() {
            // The same verdict for the backstop, which would refuse the drop.
            if let Some(allow) = self.session.engine.allow_drop(&rebuild.table) {
                self.session.queue_internal(allow);
            }
            return Ok(());
        }
        Err(self.refuse(&lost, sql))
    }

    /// The error for destructive `findings` (at least one) in `sql`.
    pub(crate) fn refuse(&self, findings: &[Finding], sql: &str) -> Error {
        let operation = join(findings, ToString::to_string, ", ");
        tracing::error!(revision = self.revision.id, %operation, "refused an undeclared destructive statement");
        // Within a text of several statements, show the one at fault.
        let statement = match findings[0].span.clone().and_then(|span| sql.get(span)) {
            Some(part) if !part.trim().is_empty() => part,
            _ => sql,
        };
        Error::UndeclaredDestructive {
            revision: self.revision.id.to_owned(),
            operation,
            description: join(findings, Finding::describe, " and "),
            hint: findings[0].hint.map(str::to_owned),
            statement: shorten(statement),
        }
    }

    /// Runs a query and returns every row, decoded as `T` (a tuple or a
    /// `sqlx::FromRow` struct).
    pub fn fetch_all<'a, T: FromAnyRow>(&'a mut self, sql: &'a str) -> BoxFuture<'a, Vec<T>> {
        Box::pin(async move {
            self.check(sql, false).await?;
            self.session.fetch_as(sql).await
        })
    }

    /// Runs a query and returns its first row, if any.
    pub fn fetch_optional<'a, T: FromAnyRow>(
        &'a mut self,
        sql: &'a str,
    ) -> BoxFuture<'a, Option<T>> {
        Box::pin(async move { Ok(self.fetch_all(sql).await?.into_iter().next()) })
    }

    /// Whether `table` (`schema.table` allowed; compared without case)
    /// exists, as a table or a view. For revisions that adopt what an
    /// earlier tool (or `create_all`) made:
    ///
    /// ```rust,ignore
    /// if !m.has_table("articles").await? {
    ///     m.exec(Table::create().table("articles").if_not_exists() /* ... */).await?;
    /// }
    /// ```
    ///
    /// It reads the database, so `migrate sql` cannot render the revision.
    pub fn has_table<'a>(&'a mut self, table: &'a str) -> BoxFuture<'a, bool> {
        let sql = self.session.engine.has_table_sql(table);
        Box::pin(async move { self.session.exists(&sql).await })
    }

    /// Whether `table` has a column named `column` (compared without case).
    pub fn has_column<'a>(&'a mut self, table: &'a str, column: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let sql = self.session.engine.columns_sql(table);
            let revision = self.revision.id;
            let rows = self
                .session
                .live_conn()
                .await?
                .fetch_text(&sql)
                .await
                .map_err(|source| Error::Database {
                    action: format!("reading the columns of `{table}` for revision `{revision}`"),
                    source,
                })?;
            Ok(rows
                .into_iter()
                .filter_map(|row| row.into_iter().next().flatten())
                .any(|name| name.eq_ignore_ascii_case(column)))
        })
    }

    /// Whether `table` has an index named `index` (compared without case;
    /// on MySQL the primary key is the index `PRIMARY`).
    pub fn has_index<'a>(&'a mut self, table: &'a str, index: &'a str) -> BoxFuture<'a, bool> {
        let sql = self.session.engine.has_index_sql(table, index);
        Box::pin(async move { self.session.exists(&sql).await })
    }

    /// The underlying sqlx connection, for what the helpers do not cover.
    ///
    /// Statements sent through it are **not** checked by the runtime guard.
    /// Queued statements are sent first, so order is kept.
    pub fn connection(&mut self) -> BoxFuture<'_, RawConnection<'_>> {
        Box::pin(async move { Ok(self.session.live_conn().await?.raw()) })
    }
}

/// `findings` said by `say`, joined by `separator`.
fn join(findings: &[Finding], say: impl Fn(&Finding) -> String, separator: &str) -> String {
    findings.iter().map(say).collect::<Vec<_>>().join(separator)
}
