//! One connection to one of the enabled backends, and the few raw operations
//! the runtime needs on it.
//!
//! The runtime talks to the database through plain-text SQL (`raw_sql`), which
//! travels in one round trip even when it holds several statements; that is
//! what lets a revision, its history row and its COMMIT share one round trip on
//! PostgreSQL.

use crate::url::{Backend, redact};
use crate::{Error, Result};
use futures::TryStreamExt;
use sqlx::{AssertSqlSafe, Connection, Row};
use std::time::Duration;

#[cfg(feature = "mysql")]
use sqlx::mysql::MySqlConnection;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgConnection;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteConnection;

/// A live connection to one backend.
#[derive(Debug)]
pub(crate) enum Conn {
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(PgConnection),
    #[cfg(feature = "mysql")]
    MySql(MySqlConnection),
}

/// Runs `$body` with `$c` bound to the concrete connection, whatever the backend.
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            #[cfg(feature = "sqlite")]
            $crate::conn::Conn::Sqlite($c) => $body,
            #[cfg(feature = "postgres")]
            $crate::conn::Conn::Postgres($c) => $body,
            #[cfg(feature = "mysql")]
            $crate::conn::Conn::MySql($c) => $body,
        }
    };
}
pub(crate) use with_conn;

/// How far a batch got before it failed.
#[derive(Debug)]
pub(crate) struct BatchError {
    /// Statements that completed before the failing one.
    pub completed: usize,
    pub source: sqlx::Error,
}

impl Conn {
    /// Connects to `url`, giving up after `timeout`.
    pub(crate) async fn connect(url: &str, timeout: Duration) -> Result<Conn> {
        let backend = Backend::from_url(url)?;
        let attempt = Self::connect_backend(backend, url);
        match tokio::time::timeout(timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(Error::ConnectTimeout {
                url: redact(url),
                seconds: timeout.as_secs(),
            }),
        }
    }

    async fn connect_backend(backend: Backend, url: &str) -> Result<Conn> {
        let connect_error = |source: sqlx::Error| match source {
            sqlx::Error::Configuration(reason) => Error::InvalidUrl {
                url: redact(url),
                reason: crate::url::scrub(&reason.to_string(), url),
            },
            source => Error::Connect {
                url: redact(url),
                source,
            },
        };
        match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                use std::str::FromStr;
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .map_err(connect_error)?
                    // Concurrent runners wait for each other instead of failing.
                    .busy_timeout(Duration::from_secs(30));
                Ok(Conn::Sqlite(
                    SqliteConnection::connect_with(&options)
                        .await
                        .map_err(connect_error)?,
                ))
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => Ok(Conn::Postgres(
                PgConnection::connect(url).await.map_err(connect_error)?,
            )),
            #[cfg(feature = "mysql")]
            Backend::MySql => Ok(Conn::MySql(
                MySqlConnection::connect(url).await.map_err(connect_error)?,
            )),
            #[allow(unreachable_patterns)]
            other => Err(Error::BackendDisabled {
                backend: other.name(),
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
        }
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

    /// Closes the connection politely; errors are irrelevant at that point.
    pub(crate) async fn close(self) {
        let _ = with_conn!(self, c => c.close().await);
    }
}

/// Whether a database error means "this table does not exist".
pub(crate) fn is_missing_table(error: &sqlx::Error) -> bool {
    let Some(db) = error.as_database_error() else {
        return false;
    };
    match db.code().as_deref() {
        Some("42P01") => true,                // PostgreSQL undefined_table
        Some("42S02") | Some("1146") => true, // MySQL ER_NO_SUCH_TABLE
        _ => db.message().contains("no such table"),
    }
}
