//! The handle a migration function receives, and the one place every
//! statement of a migration passes through.
//!
//! Each statement is classified by `cofferdam-lint` before it is sent: a
//! destructive statement in a revision not marked `#[destructive(reviewed)]`
//! is refused there, so it never reaches the database. The statements then
//! go to the revision's [`Session`](crate::session), which queues and sends
//! them.

use crate::backend::{Backend, FromAnyRow, RawConnection, Statement};
use crate::revision::Revision;
use crate::session::{Guard, Session, shorten};
use crate::{Error, Result};

/// The handle a migration function gets: run statements, read rows, branch
/// on the backend.
///
/// Every statement sent through it is checked by the runtime guard first.
/// What a migration does through [`Migration::connection`] is out of the
/// guard's reach.
#[derive(Debug)]
pub struct Migration<'c> {
    session: &'c mut Session,
    revision: &'static Revision,
    guard: Guard,
}

impl<'c> Migration<'c> {
    pub(crate) fn new(session: &'c mut Session, revision: &'static Revision, guard: Guard) -> Self {
        session.set_revision(revision.id);
        Migration {
            session,
            revision,
            guard,
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
    pub fn exec<S: Statement>(
        &mut self,
        statement: S,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let sql = statement.to_sql(self.session.backend);
        let tolerate_unknown = statement.never_destructive();
        async move {
            let statements = self.check(&sql, tolerate_unknown)?;
            self.session.send(sql, statements).await
        }
    }

    /// Runs SQL text: one statement, or several separated by `;`.
    pub fn execute(&mut self, sql: &str) -> impl Future<Output = Result<()>> + Send + '_ {
        self.run(sql.to_owned())
    }

    async fn run(&mut self, sql: String) -> Result<()> {
        let statements = self.check(&sql, false)?;
        self.session.send(sql, statements).await
    }

    /// The runtime guard: classifies `sql` and refuses what the revision did
    /// not declare. Returns the number of statements, when known.
    fn check(&self, sql: &str, tolerate_unknown: bool) -> Result<Option<usize>> {
        let classification = cofferdam_lint::classify_sql(sql, self.session.engine.dialect());
        let refused = classification
            .findings
            .iter()
            .find(|finding| !(tolerate_unknown && finding.risk == cofferdam_lint::Risk::Unknown));
        if self.guard == Guard::Enforce
            && let Some(finding) = refused
        {
            tracing::error!(revision = self.revision.id, operation = %finding, "refused an undeclared destructive statement");
            return Err(Error::UndeclaredDestructive {
                revision: self.revision.id.to_owned(),
                operation: finding.to_string(),
                statement: shorten(sql),
            });
        }
        Ok(classification.statements)
    }

    /// Runs a query and returns every row, decoded as `T` (a tuple or a
    /// `sqlx::FromRow` struct).
    pub async fn fetch_all<T: FromAnyRow>(&mut self, sql: &str) -> Result<Vec<T>> {
        self.check(sql, false)?;
        self.session.fetch_as(sql).await
    }

    /// Runs a query and returns its first row, if any.
    pub async fn fetch_optional<T: FromAnyRow>(&mut self, sql: &str) -> Result<Option<T>> {
        Ok(self.fetch_all(sql).await?.into_iter().next())
    }

    /// The underlying sqlx connection, for what the helpers do not cover.
    ///
    /// Statements sent through it are **not** checked by the runtime guard.
    /// Queued statements are sent first, so order is kept.
    pub async fn connection(&mut self) -> Result<RawConnection<'_>> {
        self.session.flush().await?;
        let revision = self.revision.id;
        let Some(conn) = self.session.conn.as_mut() else {
            return Err(Error::Offline {
                revision: revision.to_owned(),
            });
        };
        Ok(conn.raw())
    }
}
