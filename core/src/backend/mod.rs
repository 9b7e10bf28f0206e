//! Everything that differs between database engines, one file per engine.
//!
//! # The shape, and why
//!
//! - [`Engine`] is a small, synchronous, object-safe trait: static facts
//!   (is DDL transactional, may statements be pipelined, how a transaction
//!   begins) and SQL text (lock statements, the server-measured duration,
//!   the history summary, string literals). Each engine implements it on a
//!   unit struct in its own file (`postgres.rs`, `mysql.rs`, `sqlite.rs`),
//!   and [`Backend::engine`] is the one place that picks the implementation.
//!   Facts and text need no connection, so they also serve offline rendering
//!   (`migrate sql`) and engines whose driver feature is off.
//! - [`Conn`] is an enum of the enabled drivers' connections. Its dispatch
//!   macro, `with_conn!`, lives here and nowhere else: every I/O operation
//!   the runtime needs (connect, run a batch, read text, decode typed rows,
//!   hand out the raw connection) is a method of `Conn` in this file.
//!   An async trait object would need boxed futures on every statement, on
//!   the hot path of a migration; an enum costs a `match`.
//! - sea-query renders statements for an engine through a generic builder,
//!   which cannot sit behind a trait object; `with_builder!` maps a
//!   [`Backend`] to its builder, and [`Statement`] uses it.
//! - The history table's statements are built once, in `history.rs`, with
//!   sea-query and rendered per engine; the engine files only hold what
//!   genuinely differs (duration expression, summary aggregate, missing
//!   table codes).
//!
//! Adding an engine is one file implementing [`Engine`] (plus its `connect`),
//! one [`Backend`] variant and one cargo feature. Outside this module no code
//! branches on the engine.

// Without any engine feature (`cargo check -p cofferdam-cli` alone) the
// connection code has nothing to dispatch to; the facade always enables one.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(unused, unreachable_code)
)]

mod backstop;
mod catalog;
mod engine;
pub(crate) mod introspect;
mod lease;
mod lock;
mod mysql;
mod postgres;
mod rows;
mod sqlite;
mod statement;

pub use rows::FromAnyRow;
pub use statement::Statement;
pub(crate) use statement::render;

pub(crate) use engine::Engine;
#[cfg(feature = "testing")]
pub(crate) use engine::TemplateSql;
pub(crate) use lease::LeaseCheck;
pub use lease::LockKind;
pub(crate) use lock::{Lock, LockOptions};

use crate::url::{redact, scrub};
use crate::{Error, Result};
use futures::TryStreamExt;
use sqlx::{AssertSqlSafe, Connection, Row};
use std::time::Duration;

/// The database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Backend {
    /// SQLite, a file or memory.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl Backend {
    /// Finds the backend from the URL's scheme.
    pub fn from_url(url: &str) -> Result<Backend> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme).unwrap_or("");
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            "mysql" | "mariadb" => Ok(Backend::MySql),
            "" => Err(Error::InvalidUrl {
                url: redact(url),
                reason: "it has no scheme".into(),
            }),
            other => Err(Error::InvalidUrl {
                url: redact(url),
                reason: format!("unknown scheme `{other}`"),
            }),
        }
    }

    /// The lower-case name, as in cargo features.
    pub fn name(self) -> &'static str {
        self.engine().name()
    }

    /// Whether a revision runs inside a transaction on this engine: it asked
    /// for one (`transaction = false` did not) and the engine can roll DDL
    /// back. MySQL and MariaDB commit DDL implicitly, so never there.
    pub fn runs_in_transaction(self, revision: &crate::Revision) -> bool {
        revision.transaction && self.engine().transactional_ddl()
    }

    /// Whether DDL runs inside a transaction that can be rolled back, so
    /// that a whole run can be rehearsed (`up --dry-run`). False on MySQL
    /// and MariaDB, which commit DDL implicitly.
    pub fn transactional_ddl(self) -> bool {
        self.engine().transactional_ddl()
    }

    /// Whether this build can connect to the engine (its cargo feature is on).
    pub fn is_enabled(self) -> bool {
        match self {
            Backend::Sqlite => cfg!(feature = "sqlite"),
            Backend::Postgres => cfg!(feature = "postgres"),
            Backend::MySql => cfg!(feature = "mysql"),
        }
    }

    /// The implementation of this engine's facts and SQL text.
    pub(crate) fn engine(self) -> &'static dyn Engine {
        match self {
            Backend::Sqlite => &sqlite::Sqlite,
            Backend::Postgres => &postgres::Postgres,
            Backend::MySql => &mysql::MySql,
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// For verbs that only read: when `url` would create the database just to
/// look at it (a SQLite file that does not exist yet, opened with
/// `mode=rwc`), the URL of an empty database to read instead and the path
/// that does not exist. None: read `url` as it is.
pub fn read_only_url(url: &str) -> Option<(String, String)> {
    Backend::from_url(url).ok()?.engine().read_only_url(url)
}

/// A driver error as the operator should read it: the database's own
/// message with what the engine adds (PostgreSQL's DETAIL, HINT and
/// constraint), or None to use sqlx's text. The error does not say which
/// engine raised it, so each engine is asked in turn; only the one whose
/// driver produced it recognises it.
pub(crate) fn describe(error: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(database) = error else {
        return None;
    };
    [Backend::Postgres, Backend::MySql, Backend::Sqlite]
        .into_iter()
        .find_map(|backend| backend.engine().describe(database.as_ref()))
        .map(|text| format!("error returned from database: {text}"))
}

/// Renders `$body` with `$b` bound to the sea-query builder of `$backend`.
macro_rules! with_builder {
    ($backend:expr, $b:ident => $body:expr) => {
        match $backend {
            $crate::backend::Backend::Postgres => {
                let $b = sea_query::PostgresQueryBuilder;
                $body
            }
            $crate::backend::Backend::MySql => {
                let $b = sea_query::MysqlQueryBuilder;
                $body
            }
            $crate::backend::Backend::Sqlite => {
                let $b = sea_query::SqliteQueryBuilder;
                $body
            }
        }
    };
}
pub(crate) use with_builder;

/// A live connection to one backend.
#[derive(Debug)]
pub(crate) enum Conn {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgConnection),
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlConnection),
    /// Without any engine feature there is no connection to hold; this
    /// keeps the crate compiling (the facade always enables one).
    #[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
    #[allow(dead_code)]
    Never(std::convert::Infallible),
}

/// The arm of a connection that cannot exist (no engine feature enabled).
#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
fn absurd<T>(never: impl std::borrow::Borrow<std::convert::Infallible>) -> T {
    match *never.borrow() {}
}

/// Runs `$body` with `$c` bound to the concrete connection, whatever the backend.
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite($c) => $body,
            #[cfg(feature = "postgres")]
            Conn::Postgres($c) => $body,
            #[cfg(feature = "mysql")]
            Conn::MySql($c) => $body,
            #[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
            Conn::Never(never) => absurd(never),
        }
    };
}

mod counted;

/// How far a batch got before it failed.
#[derive(Debug)]
pub(crate) struct BatchError {
    /// Statements that completed before the failing one.
    pub completed: usize,
    pub source: sqlx::Error,
}

/// The sqlx connection behind a [`crate::Migration`], by backend.
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
    #[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
    #[doc(hidden)]
    Never(
        std::convert::Infallible,
        std::marker::PhantomData<&'a mut ()>,
    ),
}

impl Conn {
    /// Connects to `url`, giving up after `timeout`. `busy`: how long a
    /// statement waits for a database file another program holds (SQLite).
    pub(crate) async fn connect(url: &str, timeout: Duration, busy: Duration) -> Result<Conn> {
        let backend = Backend::from_url(url)?;
        let connect_error = |source: sqlx::Error| match source {
            sqlx::Error::Configuration(reason) => Error::InvalidUrl {
                url: redact(url),
                reason: scrub(&reason.to_string(), url),
            },
            source => Error::Connect {
                url: redact(url),
                source,
            },
        };
        let attempt = async {
            let conn: Result<Conn, sqlx::Error> = match backend {
                #[cfg(feature = "sqlite")]
                Backend::Sqlite => sqlite::connect(url, busy).await.map(Conn::Sqlite),
                #[cfg(feature = "postgres")]
                Backend::Postgres => postgres::connect(url).await.map(Conn::Postgres),
                #[cfg(feature = "mysql")]
                Backend::MySql => mysql::connect(url).await.map(Conn::MySql),
                #[allow(unreachable_patterns)]
                other => {
                    return Err(Error::BackendDisabled {
                        backend: other.name(),
                    });
                }
            };
            conn.map_err(connect_error)
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(Error::ConnectTimeout {
                url: redact(url),
                seconds: timeout.as_secs(),
            }),
        }
    }

    /// The backend of this connection.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Conn::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            Conn::MySql(_) => Backend::MySql,
            #[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
            Conn::Never(never) => absurd(never),
        }
    }

    /// The engine of this connection.
    pub(crate) fn engine(&self) -> &'static dyn Engine {
        self.backend().engine()
    }

    /// Sends `sql` (one or more statements) in one round trip; on failure says
    /// how many statements completed first.
    pub(crate) async fn execute_batch(&mut self, sql: &str) -> std::result::Result<(), BatchError> {
        let mut completed = 0usize;
        let result: std::result::Result<(), sqlx::Error> = with_conn!(self, c => {
            let mut results = sqlx::raw_sql(AssertSqlSafe(sql)).execute_many(&mut *c);
            loop {
                match results.try_next().await {
                    Ok(Some(_)) => completed += 1,
                    Ok(None) => break Ok(()),
                    Err(error) => break Err(error),
                }
            }
        });
        result.map_err(|source| BatchError { completed, source })
    }

    /// Runs a query and returns every column of every row as text (NULL as None).
    pub(crate) async fn fetch_text(
        &mut self,
        sql: &str,
    ) -> std::result::Result<Vec<Vec<Option<String>>>, sqlx::Error> {
        with_conn!(self, c => {
            let rows = sqlx::raw_sql(AssertSqlSafe(sql)).fetch_all(&mut *c).await?;
            rows.iter()
                .map(|row| {
                    (0..row.len())
                        // Plain-text queries return text on every backend, so
                        // reading any column as a string is sound.
                        .map(|i| row.try_get_unchecked::<Option<String>, _>(i))
                        .collect::<std::result::Result<Vec<_>, _>>()
                })
                .collect()
        })
    }

    /// Runs a query and decodes every row as `T`.
    pub(crate) async fn fetch_as<T: FromAnyRow>(
        &mut self,
        sql: String,
    ) -> std::result::Result<Vec<T>, sqlx::Error> {
        let query = AssertSqlSafe(sql);
        with_conn!(self, c => sqlx::query_as::<_, T>(query).fetch_all(&mut *c).await)
    }

    /// The driver's connection, for what the runtime's helpers do not cover.
    pub(crate) fn raw(&mut self) -> RawConnection<'_> {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => RawConnection::Sqlite(c),
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => RawConnection::Postgres(c),
            #[cfg(feature = "mysql")]
            Conn::MySql(c) => RawConnection::MySql(c),
            #[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
            Conn::Never(never) => absurd(never),
        }
    }

    /// Closes the connection politely; errors are irrelevant at that point.
    pub(crate) async fn close(self) {
        let _: Result<(), sqlx::Error> = with_conn!(self, c => c.close().await);
    }

    /// Whether `error`, returned on this connection, means "the database is
    /// busy: another program holds it and the wait ran out".
    pub(crate) fn is_busy(&self, error: &sqlx::Error) -> bool {
        error
            .as_database_error()
            .is_some_and(|db| self.engine().is_busy(db.code().as_deref(), db.message()))
    }

    /// Whether `error`, returned on this connection, means a statement gave
    /// up waiting for a lock (see [`Engine::is_lock_timeout`]).
    pub(crate) fn is_lock_timeout(&self, error: &sqlx::Error) -> bool {
        error
            .as_database_error()
            .is_some_and(|db| self.engine().is_lock_timeout(db))
    }

    /// Whether `error`, returned on this connection, means "this table does
    /// not exist".
    pub(crate) fn is_missing_table(&self, error: &sqlx::Error) -> bool {
        error.as_database_error().is_some_and(|db| {
            self.engine()
                .is_missing_table(db.code().as_deref(), db.message())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Table;

    #[test]
    fn unknown_schemes_are_refused() {
        assert!(matches!(
            Backend::from_url("oracle://x"),
            Err(Error::InvalidUrl { .. })
        ));
        assert_eq!(Backend::from_url("mariadb://h/db").unwrap(), Backend::MySql);
    }

    #[test]
    fn history_names_are_quoted_per_engine() {
        let table = Table::new("a.b").unwrap();
        assert!(table.select_sql(Backend::MySql).contains("FROM `a`.`b`"));
        let sql = table.select_sql(Backend::Postgres);
        assert!(sql.contains(r#"FROM "a"."b""#), "{sql}");
    }

    #[test]
    fn values_are_escaped_per_engine() {
        let table = Table::new("h").unwrap();
        let sql = table.delete_sql(Backend::MySql, r"it's \ok");
        assert!(sql.ends_with(r"'it\'s \\ok'"), "{sql}");
        let sql = table.delete_sql(Backend::Sqlite, r"it's \ok");
        assert!(sql.ends_with(r"'it''s \ok'"), "{sql}");
        assert_eq!(Backend::Postgres.engine().literal("it's"), r"E'it\'s'");
    }
}
