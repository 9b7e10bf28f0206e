//! The cross-process lock that serialises migration runs on one database.
//!
//! - PostgreSQL: a session-level advisory lock, polled with
//!   `pg_try_advisory_lock` (never the transaction-scoped kind, and never a
//!   blocking wait, so it is safe beside `CREATE INDEX CONCURRENTLY`).
//! - MySQL/MariaDB: `GET_LOCK` with a zero timeout, polled, result checked.
//! - SQLite: an exclusive OS lock on a file beside the database; each
//!   revision also runs in a `BEGIN IMMEDIATE` transaction.
//!
//! In every case the lock dies with the process (the server drops the
//! session; the OS drops the file lock), so a crash never leaves it stale.

use crate::conn::Conn;
use crate::history::{Table, literal};
use crate::url::Backend;
use crate::{Error, Result};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A held lock; give it back with [`Lock::release`].
#[derive(Debug)]
pub(crate) enum Lock {
    /// A server-side lock held by the session; released by SQL.
    Session { release_sql: String },
    /// A file lock, released when the file is closed.
    File(#[allow(dead_code)] std::fs::File),
    /// An in-memory SQLite database: nothing else can see it.
    None,
}

impl Lock {
    /// Takes the lock for `table`, polling until `timeout`.
    pub(crate) async fn acquire(
        conn: &mut Conn,
        url: &str,
        table: &Table,
        timeout: Duration,
        stop: Option<&CancellationToken>,
    ) -> Result<Lock> {
        let backend = conn.backend();
        let (try_sql, release_sql) = match backend {
            Backend::Postgres => {
                let key = format!(
                    "hashtext('cofferdam:' || current_schema() || '.' || {})",
                    literal(backend, &table.name)
                );
                (
                    format!("SELECT pg_try_advisory_lock({key})"),
                    format!("SELECT pg_advisory_unlock({key})"),
                )
            }
            Backend::MySql => {
                // GET_LOCK is server-wide, so the name includes the database;
                // hashed because lock names are limited to 64 characters.
                let name = format!(
                    "CONCAT('cofferdam:', SHA1(CONCAT(DATABASE(), '.', {})))",
                    literal(backend, &table.name)
                );
                (
                    format!("SELECT GET_LOCK({name}, 0)"),
                    format!("SELECT RELEASE_LOCK({name})"),
                )
            }
            Backend::Sqlite => return sqlite_file_lock(url, timeout, table, stop).await,
        };
        let started = Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            let rows = conn
                .fetch_text(&try_sql)
                .await
                .map_err(|source| Error::Database {
                    action: "taking the migration lock".into(),
                    source,
                })?;
            let got = rows
                .first()
                .and_then(|row| row.first())
                .and_then(|v| v.as_deref());
            match got {
                Some("t" | "1" | "true") => return Ok(Lock::Session { release_sql }),
                Some(_) => {}
                // GET_LOCK returns NULL on an error such as a killed wait.
                None => {
                    return Err(Error::Custom(format!(
                        "the database answered NULL when asked for the migration lock on `{}`; retry",
                        table.name
                    )));
                }
            }
            if started.elapsed() >= timeout {
                return Err(Error::LockTimeout {
                    table: table.name.clone(),
                    seconds: timeout.as_secs(),
                });
            }
            pause_or_stop(pause, stop).await?;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// Gives the lock back. Errors are ignored: the server frees a session
    /// lock when the connection closes, which the caller does next on error.
    pub(crate) async fn release(self, conn: &mut Conn) {
        if let Lock::Session { release_sql } = self
            && let Err(error) = conn.fetch_text(&release_sql).await
        {
            tracing::warn!(%error, "could not release the migration lock; it is freed when the connection closes");
        }
    }
}

#[cfg(feature = "sqlite")]
async fn sqlite_file_lock(
    url: &str,
    timeout: Duration,
    table: &Table,
    stop: Option<&CancellationToken>,
) -> Result<Lock> {
    use std::str::FromStr;
    let options =
        sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(|source| Error::Database {
            action: "reading the SQLite URL".into(),
            source,
        })?;
    let path = options.get_filename();
    let is_memory =
        url.contains(":memory:") || url.contains("mode=memory") || path.as_os_str().is_empty();
    if is_memory {
        return Ok(Lock::None);
    }
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(format!(".{}.cofferdam-lock", table.name));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| {
            Error::Custom(format!(
                "could not open lock file {}: {e}",
                std::path::Path::new(&lock_path).display()
            ))
        })?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock::File(file)),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::Custom(format!(
                    "could not lock {}: {e}",
                    std::path::Path::new(&lock_path).display()
                )));
            }
        }
        if started.elapsed() >= timeout {
            return Err(Error::LockTimeout {
                table: table.name.clone(),
                seconds: timeout.as_secs(),
            });
        }
        pause_or_stop(Duration::from_millis(25), stop).await?;
    }
}

#[cfg(not(feature = "sqlite"))]
async fn sqlite_file_lock(
    _: &str,
    _: Duration,
    _: &Table,
    _: Option<&CancellationToken>,
) -> Result<Lock> {
    Err(Error::BackendDisabled { backend: "sqlite" })
}

/// Waits `pause` between two tries, or gives up when `stop` is cancelled:
/// a shutdown signal must not wait out the whole lock timeout.
async fn pause_or_stop(pause: Duration, stop: Option<&CancellationToken>) -> Result<()> {
    match stop {
        Some(stop) => tokio::select! {
            () = tokio::time::sleep(pause) => Ok(()),
            () = stop.cancelled() => Err(Error::Interrupted { applied: Vec::new(), next: String::new() }),
        },
        None => {
            tokio::time::sleep(pause).await;
            Ok(())
        }
    }
}
