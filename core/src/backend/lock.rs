//! The cross-process lock that serialises migration runs on one database.
//!
//! How each engine locks is its own business ([`Engine::lock`]); this file
//! polls for it, with backoff, up to the lock timeout, and stops early on a
//! shutdown signal. In every case the lock dies with the process (the server
//! drops the session; the OS drops the file lock), so a crash never leaves
//! it stale.
//!
//! A session lock is only as good as the session: behind a pooler that
//! hands each transaction to any free server session (PgBouncer in
//! transaction pooling mode), two runners could both "hold" it and it would
//! outlive the run in a pooled session. Where the engine offers a
//! [`Engine::session_probe`], the lock is taken only after checking that
//! the connection keeps one session, and checked again once held.

use super::Conn;
use super::engine::{Engine, LockMethod};
use super::lease::{Lease, LeaseCheck, LockKind};
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
    /// A lease row, renewed by its heartbeat until released.
    Lease(Lease),
    /// A database nothing else can see (in memory).
    None,
}

/// How to lock: which kind, the lease's length, how long to wait.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LockOptions {
    pub kind: LockKind,
    pub lease: Duration,
    pub timeout: Duration,
}

impl Lock {
    /// Takes the lock for `table`, polling until `timeout`. Once the wait
    /// passes [`WAIT_NOTICE`], calls `waiting` once with who holds the
    /// lock, where the engine tells.
    pub(crate) async fn acquire(
        conn: &mut Conn,
        url: &str,
        table: &Table,
        options: LockOptions,
        stop: Option<&CancellationToken>,
        waiting: &(dyn Fn(Option<String>) + Send + Sync),
    ) -> Result<Lock> {
        let timeout = options.timeout;
        let lease = match options.kind {
            LockKind::Lease => true,
            LockKind::Auto => on_cluster(conn).await,
        };
        if lease
            && let Some(lease) =
                Lease::acquire(conn, url, table, options.lease, timeout, stop, waiting).await?
        {
            return Ok(Lock::Lease(lease));
        }
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
        let probe = engine.session_probe(&table.name);
        let pid = match &probe {
            Some(probe) => Some(unshared_session(conn, url, probe).await?),
            None => None,
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
                Some("t" | "1" | "true") => {
                    if let (Some(probe), Some(pid)) = (&probe, &pid)
                        && let Err(error) = still_held(conn, probe, pid).await
                    {
                        // Best effort: the lock may sit in a pooled server
                        // session this connection no longer reaches.
                        let _ = conn.fetch_text(&release).await;
                        return Err(error);
                    }
                    return Ok(Lock::Session { release });
                }
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
        // A lease, where the lock table exists; its absence is no error.
        if let Some(holder) = Lease::holder(conn, table).await {
            return Ok(Some(holder));
        }
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
        match self {
            Lock::Session { release } => {
                if let Err(error) = conn.fetch_text(&release).await {
                    tracing::warn!(%error, "could not release the migration lock; it is freed when the connection closes");
                }
            }
            Lock::Lease(lease) => lease.release(conn).await,
            Lock::File(_) | Lock::None => {}
        }
    }

    /// What a session must check before sending anything, for a lease.
    pub(crate) fn check(&self) -> Option<LeaseCheck> {
        match self {
            Lock::Lease(lease) => Some(lease.check()),
            _ => None,
        }
    }
}

/// Whether the server is a node of a cluster where session locks cannot
/// serialise runs (Galera), so the lease must be used. A failed probe
/// says no: the session lock then fails with its own error.
async fn on_cluster(conn: &mut Conn) -> bool {
    let Some(probe) = conn.engine().cluster_probe() else {
        return false;
    };
    let rows = match conn.fetch_text(probe).await {
        Ok(rows) => rows,
        Err(error) => {
            tracing::debug!(%error, "could not ask whether the server is a cluster node");
            return false;
        }
    };
    let cluster = rows
        .iter()
        .flatten()
        .flatten()
        .any(|value| value.eq_ignore_ascii_case("on"));
    if cluster {
        tracing::info!("the server is a Galera node (wsrep_on = ON): using the lease lock");
    }
    cluster
}

/// How long a runner waits for the lock before it says so.
pub(crate) const WAIT_NOTICE: Duration = Duration::from_secs(1);

/// How long the second connection of [`unshared_session`] may take. A pool
/// in session mode with no free server session keeps it waiting, which is
/// no reason to refuse: the check is then skipped.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks, before the lock is taken, that no other connection to `url`
/// shares this connection's server session, and returns that session's id.
///
/// Why a second connection: behind PgBouncer in transaction pooling mode a
/// lone client is usually handed the same server session for every
/// transaction (PgBouncer reuses the session freed last), so comparing
/// pids across its own statements rarely shows anything. A second
/// connection opened while the first is idle is handed that very session:
/// two clients, one server pid, which neither a direct connection nor a
/// pool in session mode ever shows. Checked before the lock, so a refusal
/// leaves no lock behind in a pooled session. [`still_held`] covers pools
/// that rotate sessions instead.
async fn unshared_session(conn: &mut Conn, url: &str, probe: &str) -> Result<String> {
    let (pid, _) = session(conn, probe).await?;
    let other = async {
        let mut other = Conn::connect(url, PROBE_TIMEOUT, PROBE_TIMEOUT).await?;
        let answer = session(&mut other, probe).await;
        other.close().await;
        answer
    };
    match tokio::time::timeout(PROBE_TIMEOUT, other).await {
        Ok(Ok((other_pid, _))) if other_pid == pid => Err(Error::UnstableSession {
            evidence: format!("a second connection was handed the same server session, pid {pid}"),
        }),
        Ok(Ok(_)) => Ok(pid),
        Ok(Err(error)) => {
            tracing::debug!(%error, "could not open a second connection to check for a transaction pool");
            Ok(pid)
        }
        Err(_) => {
            tracing::debug!("a second connection to check for a transaction pool timed out");
            Ok(pid)
        }
    }
}

/// Checks, in a statement of its own after the one that took the lock, that
/// the same server session `pid` still answers and holds the lock: a pool
/// that gives each transaction another session fails one or the other.
async fn still_held(conn: &mut Conn, probe: &str, pid: &str) -> Result<()> {
    let (now, held) = session(conn, probe).await?;
    let evidence = if now != pid {
        format!("the server session changed between two statements, pid {pid} then {now}")
    } else if !held {
        format!("the migration lock taken by pid {pid} is not held in the next statement")
    } else {
        return Ok(());
    };
    Err(Error::UnstableSession { evidence })
}

/// The answer of [`Engine::session_probe`]: the server session's id and
/// whether it holds the lock.
async fn session(conn: &mut Conn, probe: &str) -> Result<(String, bool)> {
    let rows = conn
        .fetch_text(probe)
        .await
        .map_err(|source| Error::Database {
            action: "checking that the connection keeps one server session".into(),
            source,
        })?;
    let row = rows.into_iter().next().unwrap_or_default();
    let mut columns = row.into_iter().map(Option::unwrap_or_default);
    let pid = columns.next().unwrap_or_default();
    let held = matches!(columns.next().as_deref(), Some("t" | "true" | "1"));
    Ok((pid, held))
}

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
pub(super) struct Wait {
    started: Instant,
    timeout: Duration,
    told: bool,
}

impl Wait {
    pub(super) fn new(timeout: Duration) -> Wait {
        Wait {
            started: Instant::now(),
            timeout,
            told: false,
        }
    }

    /// Fails once the timeout has passed; otherwise true exactly once, when
    /// the wait first passes [`WAIT_NOTICE`] and the runner should say so.
    pub(super) fn expired(&self) -> bool {
        self.started.elapsed() >= self.timeout
    }

    pub(super) fn tell_now(&mut self, table: &Table) -> Result<bool> {
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
pub(super) async fn pause_or_stop(pause: Duration, stop: Option<&CancellationToken>) -> Result<()> {
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
