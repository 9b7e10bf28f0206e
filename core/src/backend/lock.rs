//! The cross-process lock that serialises migration runs on one database.
//!
//! How each engine locks is its own business ([`Engine::lock`]); this file
//! polls for it, with backoff, up to the lock timeout, and stops early on a
//! shutdown signal. In every case the lock dies with the process (the server
//! drops the session; the OS drops the file lock), so a crash never leaves
//! it stale.

use super::Conn;
use super::engine::{Engine, LockMethod};
use crate::history::Table;
use crate::{Error, Result};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A held lock; give it back with [`Lock::release`].
#[derive(Debug)]
pub(crate) enum Lock {
    /// A server-side lock held by the session; released by SQL.
    Session { release: String },
    /// A file lock, released when the file is closed.
    File(#[allow(dead_code)] std::fs::File),
    /// A database nothing else can see (in memory).
    None,
}

impl Lock {
    /// Takes the lock for `table`, polling until `timeout`. Once the wait
    /// passes [`WAIT_NOTICE`], calls `waiting` once with who holds the
    /// lock, where the engine tells.
    pub(crate) async fn acquire(
        conn: &mut Conn,
        url: &str,
        table: &Table,
        timeout: Duration,
        stop: Option<&CancellationToken>,
        waiting: &(dyn Fn(Option<String>) + Send + Sync),
    ) -> Result<Lock> {
        let engine: &dyn Engine = conn.engine();
        let (acquire, release) = match engine.lock(&table.name) {
            LockMethod::Session { acquire, release } => (acquire, release),
            LockMethod::File => {
                return match engine.lock_file(url, &table.name)? {
                    Some(path) => file_lock(path, timeout, table, stop, waiting).await,
                    None => Ok(Lock::None),
                };
            }
        };
        let mut wait = Wait::new(timeout);
        let mut pause = Duration::from_millis(20);
        loop {
            let rows = conn
                .fetch_text(&acquire)
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
                Some("t" | "1" | "true") => return Ok(Lock::Session { release }),
                Some(_) => {}
                // GET_LOCK returns NULL on an error such as a killed wait.
                None => {
                    return Err(Error::LockRefused {
                        table: table.name.clone(),
                    });
                }
            }
            if wait.tell_now(table)? {
                // Who holds it is a courtesy: a failure to ask is no reason to stop.
                waiting(Lock::holder(conn, url, table).await.ok().flatten());
            }
            pause_or_stop(pause, stop).await?;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// Who else holds the lock of `table` right now, as the engine
    /// describes them (`pid 42 (app) from 10.0.0.7`, `connection 7
    /// (app@host)`, `another process (lock file ...)`); None when nobody
    /// does. Takes nothing: for `status` and for a waiting runner.
    pub(crate) async fn holder(
        conn: &mut Conn,
        url: &str,
        table: &Table,
    ) -> Result<Option<String>> {
        let engine: &dyn Engine = conn.engine();
        let Some(sql) = engine.lock_holder(&table.name) else {
            let Some(path) = engine.lock_file(url, &table.name)? else {
                return Ok(None);
            };
            // Not created here: a lock file that does not exist is not held.
            let Ok(file) = std::fs::OpenOptions::new().write(true).open(&path) else {
                return Ok(None);
            };
            return Ok(match file.try_lock() {
                Err(std::fs::TryLockError::WouldBlock) => {
                    Some(format!("another process (it holds {})", path.display()))
                }
                // Got it (released as `file` drops), or cannot tell.
                _ => None,
            });
        };
        let rows = conn
            .fetch_text(&sql)
            .await
            .map_err(|source| Error::Database {
                action: "asking who holds the migration lock".into(),
                source,
            })?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next())
            .flatten())
    }

    /// Gives the lock back. Errors are ignored: the server frees a session
    /// lock when the connection closes, which the caller does next on error.
    pub(crate) async fn release(self, conn: &mut Conn) {
        if let Lock::Session { release } = self
            && let Err(error) = conn.fetch_text(&release).await
        {
            tracing::warn!(%error, "could not release the migration lock; it is freed when the connection closes");
        }
    }
}

/// How long a runner waits for the lock before it says so.
pub(crate) const WAIT_NOTICE: Duration = Duration::from_secs(1);

async fn file_lock(
    path: std::path::PathBuf,
    timeout: Duration,
    table: &Table,
    stop: Option<&CancellationToken>,
    waiting: &(dyn Fn(Option<String>) + Send + Sync),
) -> Result<Lock> {
    let lock_file_error = |source| Error::LockFile {
        path: path.clone(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(lock_file_error)?;
    let mut wait = Wait::new(timeout);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock::File(file)),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(source)) => return Err(lock_file_error(source)),
        }
        if wait.tell_now(table)? {
            waiting(None);
        }
        pause_or_stop(Duration::from_millis(25), stop).await?;
    }
}

/// One wait for the lock: when it gives up, and whether the runner has said
/// yet that it is waiting.
struct Wait {
    started: Instant,
    timeout: Duration,
    told: bool,
}

impl Wait {
    fn new(timeout: Duration) -> Wait {
        Wait {
            started: Instant::now(),
            timeout,
            told: false,
        }
    }

    /// Fails once the timeout has passed; otherwise true exactly once, when
    /// the wait first passes [`WAIT_NOTICE`] and the runner should say so.
    fn tell_now(&mut self, table: &Table) -> Result<bool> {
        let waited = self.started.elapsed();
        if waited >= self.timeout {
            return Err(Error::LockTimeout {
                table: table.name.clone(),
                seconds: self.timeout.as_secs(),
            });
        }
        let tell = !self.told && waited >= WAIT_NOTICE;
        self.told |= tell;
        Ok(tell)
    }
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
