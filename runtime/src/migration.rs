//! The handle a migration function receives, and the one place every
//! statement of a migration passes through.
//!
//! Each statement is classified by `cofferdam-lint` before it is sent: a
//! destructive statement in a revision not marked `#[destructive(reviewed)]`
//! is refused there, so it never reaches the database.
//!
//! On PostgreSQL and SQLite, statements that return nothing are queued and
//! sent together with the next statement that reads, or with the revision's
//! history row and COMMIT: a schema-only revision costs one round trip (one
//! hand-off to SQLite's worker thread). An error is still reported against
//! the statement that caused it.

use crate::conn::{Conn, with_conn};
use crate::revision::Revision;
use crate::rows::FromAnyRow;
use crate::statement::Statement;
use crate::url::Backend;
use crate::{Error, Result};
use sqlx::AssertSqlSafe;
use std::time::{Duration, Instant};

/// A statement that was run (or rendered) with how long it took.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatementLog {
    /// The revision it belongs to.
    pub revision: String,
    /// The SQL text.
    pub sql: String,
    /// How long it took; None when it was only rendered.
    pub duration: Option<Duration>,
}

/// What the guard does with destructive statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// Refuse them: the revision is not marked reviewed.
    Enforce,
    /// Let them through: reviewed, or a `down` step.
    Allow,
}

#[derive(Debug)]
struct Queued {
    sql: String,
    /// How many statements the text holds, for error attribution.
    statements: usize,
    /// Statements the runtime adds itself (BEGIN, history, COMMIT).
    internal: bool,
}

/// A connection plus the queue of statements not yet sent.
#[derive(Debug)]
pub(crate) struct Session {
    /// None when SQL is only being rendered (`migrate sql`).
    pub(crate) conn: Option<Conn>,
    pub(crate) backend: Backend,
    queue: Vec<Queued>,
    /// Queue statements and send them together (PostgreSQL, not in dry runs).
    pub(crate) pipeline: bool,
    /// Record every statement (dry runs and `migrate sql`).
    pub(crate) log: Option<Vec<StatementLog>>,
    revision: String,
}

impl Session {
    pub(crate) fn new(conn: Conn) -> Session {
        let backend = conn.backend();
        Session {
            conn: Some(conn),
            backend,
            queue: Vec::new(),
            // MySQL runs each statement on its own: DDL commits implicitly there.
            pipeline: backend != Backend::MySql,
            log: None,
            revision: String::new(),
        }
    }

    /// Closes the connection, if any; the session renders offline afterwards.
    pub(crate) async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.close().await;
        }
    }

    /// A session that renders SQL without a database.
    pub(crate) fn offline(backend: Backend) -> Session {
        Session {
            conn: None,
            backend,
            queue: Vec::new(),
            pipeline: false,
            log: Some(Vec::new()),
            revision: String::new(),
        }
    }

    pub(crate) fn set_revision(&mut self, id: &str) {
        self.revision = id.to_owned();
    }

    pub(crate) fn conn(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("an online session has a connection")
    }

    /// Queues an internal statement (never classified).
    pub(crate) fn queue_internal(&mut self, sql: String) {
        self.queue_internal_many(sql, 1);
    }

    /// Queues internal text holding `statements` statements.
    pub(crate) fn queue_internal_many(&mut self, sql: String, statements: usize) {
        self.queue.push(Queued {
            sql,
            statements,
            internal: true,
        });
    }

    /// Queues a statement and sends it at once unless pipelining.
    async fn send(&mut self, sql: String, statements: Option<usize>) -> Result<()> {
        let alone = statements.is_none();
        if alone {
            // Text the classifier could not split cannot share a round trip:
            // its errors could not be attributed.
            self.flush().await?;
        }
        self.queue.push(Queued {
            sql,
            statements: statements.unwrap_or(1),
            internal: false,
        });
        if !self.pipeline || alone {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends everything queued, in one round trip.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        if self.queue.is_empty() {
            return Ok(());
        }
        let queue = std::mem::take(&mut self.queue);
        let Some(conn) = self.conn.as_mut() else {
            if let Some(log) = self.log.as_mut() {
                let revision = self.revision.clone();
                log.extend(
                    queue
                        .into_iter()
                        .filter(|q| !q.internal)
                        .map(|q| StatementLog {
                            revision: revision.clone(),
                            sql: q.sql,
                            duration: None,
                        }),
                );
            }
            return Ok(());
        };
        let text = if queue.len() == 1 {
            queue[0].sql.clone()
        } else {
            // A newline before each `;` ends any trailing `--` comment.
            queue
                .iter()
                .map(|q| q.sql.trim_end().trim_end_matches(';'))
                .collect::<Vec<_>>()
                .join("\n;\n")
        };
        let started = Instant::now();
        let result = conn.execute_batch(&text).await;
        if let Some(log) = self.log.as_mut() {
            let duration = started.elapsed();
            for q in queue.iter().filter(|q| !q.internal) {
                log.push(StatementLog {
                    revision: self.revision.clone(),
                    sql: q.sql.clone(),
                    duration: Some(duration),
                });
            }
        }
        let Err(error) = result else { return Ok(()) };
        let mut seen = 0;
        let culprit = queue
            .iter()
            .find(|q| {
                seen += q.statements;
                seen > error.completed
            })
            .or(queue.last())
            .expect("the queue is not empty");
        Err(if culprit.internal {
            Error::Database {
                action: format!("`{}`", shorten(&culprit.sql)),
                source: error.source,
            }
        } else {
            Error::Statement {
                statement: shorten(&culprit.sql),
                source: error.source,
            }
        })
    }

    /// Drops whatever is queued and rolls back the open transaction, if any.
    pub(crate) async fn rollback(&mut self) {
        self.queue.clear();
        if let Some(conn) = self.conn.as_mut()
            && let Err(error) = conn.execute_batch("ROLLBACK").await
        {
            tracing::debug!(error = %error.source, "rollback after a failed revision");
        }
    }
}

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
        let classification = cofferdam_lint::classify_sql(sql, self.session.backend.dialect());
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
        self.session.flush().await?;
        let revision = self.revision.id;
        let Some(conn) = self.session.conn.as_mut() else {
            return Err(Error::Offline {
                revision: revision.to_owned(),
            });
        };
        let started = Instant::now();
        let query = AssertSqlSafe(sql.to_owned());
        let rows: std::result::Result<Vec<T>, sqlx::Error> =
            with_conn!(conn, c => sqlx::query_as::<_, T>(query).fetch_all(&mut *c).await);
        if let Some(log) = self.session.log.as_mut() {
            log.push(StatementLog {
                revision: revision.to_owned(),
                sql: sql.to_owned(),
                duration: Some(started.elapsed()),
            });
        }
        rows.map_err(|source| Error::Statement {
            statement: shorten(sql),
            source,
        })
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
        Ok(match conn {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => RawConnection::Sqlite(c),
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => RawConnection::Postgres(c),
            #[cfg(feature = "mysql")]
            Conn::MySql(c) => RawConnection::MySql(c),
        })
    }
}

/// The sqlx connection behind a [`Migration`], by backend.
#[derive(Debug)]
#[non_exhaustive]
pub enum RawConnection<'a> {
    /// SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(&'a mut sqlx::sqlite::SqliteConnection),
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(&'a mut sqlx::postgres::PgConnection),
    /// MySQL or MariaDB.
    #[cfg(feature = "mysql")]
    MySql(&'a mut sqlx::mysql::MySqlConnection),
}

/// A statement cut to a length that fits in one error line.
pub(crate) fn shorten(sql: &str) -> String {
    let flat: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 200 {
        flat
    } else {
        format!("{}...", flat.chars().take(200).collect::<String>())
    }
}
