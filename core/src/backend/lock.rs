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
    /// Takes the lock for `table`, polling until `timeout`.
    pub(crate) async fn acquire(
        conn: &mut Conn,
        url: &str,
        table: &Table,
        timeout: Duration,
        stop: Option<&CancellationToken>,
    ) -> Result<Lock> {
        let engine: &dyn Engine = conn.engine();
        let (acquire, release) = match engine.lock(&table.name) {
            LockMethod::Session { acquire, release } => (acquire, release),
            LockMethod::File => {
                return match engine.lock_file(url, &table.name)? {
                    Some(path) => file_lock(path, timeout, table, stop).await,
                    None => Ok(Lock::None),
                };
            }
        };
        let started = Instant::now();
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
        if let Lock::Session { release } = self
            && let Err(error) = conn.fetch_text(&release).await
        {
            tracing::warn!(%error, "could not release the migration lock; it is freed when the connection closes");
        }
    }
}

async fn file_lock(
    path: std::path::PathBuf,
    timeout: Duration,
    table: &Table,
    stop: Option<&CancellationToken>,
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
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock::File(file)),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(source)) => return Err(lock_file_error(source)),
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
