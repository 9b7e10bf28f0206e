//! The lease lock: a row in a lock table beside the history table
//! (`<history>_lock`), for servers where a session lock cannot serialise
//! runs (a Galera cluster, where `GET_LOCK` is refused or local to one
//! node; a transaction pooler, where a session lock outlives the run in a
//! pooled session) and wherever `--lock lease` asks for it.
//!
//! # How it works
//!
//! - The row says who holds the lease (host, pid, a run id unique to the
//!   run), when it was taken and when it expires. Times come from the
//!   database's clock (`clock_timestamp()`, `UTC_TIMESTAMP(6)`), never the
//!   client's, so runners on machines whose clocks disagree still agree on
//!   expiry. On a cluster the nodes' clocks must agree (NTP) to well under
//!   the lease.
//! - Taking it is ONE conditional write the database arbitrates: insert the
//!   row, or take over a row whose lease has expired (`ON CONFLICT ... DO
//!   UPDATE ... WHERE expired`, `ON DUPLICATE KEY UPDATE` with each column
//!   conditional on expiry). Two runners racing for it are serialised by the
//!   row's primary key; on Galera the loser's write fails certification
//!   (a deadlock error), which counts as "not taken" and is retried.
//! - A heartbeat task, on a connection of its own, extends the lease every
//!   third of its length, only while the row is still ours and unexpired.
//!   When that fails the run knows it lost the lease, and the session checks
//!   before it sends each batch of statements: it stops with
//!   [`Error::LeaseLost`]. When the heartbeat has not confirmed the lease for
//!   half its length (it may be stuck too), the session asks the database
//!   itself before sending.
//! - A crashed holder stops renewing; once its lease expires the next
//!   runner takes the row over. Releasing deletes only our own row.
//!
//! # Why a paused holder cannot apply a revision twice
//!
//! A holder can pause for longer than its lease (SIGSTOP, a long GC pause,
//! a VM migration, a network partition) and resume with no chance to look
//! at the clock first: between its last check and its next write, another
//! runner may have taken the lease over. The lease alone cannot prevent
//! that one stale write; what makes it harmless is the history table:
//!
//! - Inside a transaction (PostgreSQL), a revision's statements and the
//!   `INSERT` of its history row commit together. The row's primary key is
//!   the revision id, so if another runner recorded the revision meanwhile
//!   the insert fails (or waits for the other transaction and then fails)
//!   and the whole revision rolls back.
//! - Outside a transaction (MySQL and MariaDB, `transaction = false`), the
//!   `started` row is inserted before the revision's first statement, and
//!   the same primary key refuses it before anything runs.
//!
//! So a stale holder can at most fail; it cannot apply a revision another
//! runner applied. After such a failure it finds the lease lost and stops.
//! `down` has no such key to trip on (it deletes the row): a paused holder
//! of a `down` relies on the check before each batch, so give `down` a lease
//! longer than any pause you expect.

use super::Conn;
use super::engine::{Holder, LeaseSql};
use super::lock::{Wait, pause_or_stop};
use crate::history::Table;
use crate::{Error, Result};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How runs on one database are serialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LockKind {
    /// The engine's session lock (PostgreSQL advisory lock, `GET_LOCK`,
    /// a lock file for SQLite), or the lease on a Galera cluster, where
    /// session locks are refused.
    #[default]
    Auto,
    /// The lease lock (a row with an expiry renewed by a heartbeat), which
    /// needs no session: for transaction poolers and clusters. SQLite keeps
    /// its file lock.
    Lease,
}

/// What a session checks before it sends anything while a lease is held.
#[derive(Debug, Clone)]
pub(crate) struct LeaseCheck {
    state: Arc<State>,
    held: String,
}

#[derive(Debug)]
struct State {
    table: String,
    length: Duration,
    lost: AtomicBool,
    /// When the database last said the lease was ours (client monotonic
    /// time: only to decide when to ask again).
    confirmed: Mutex<Instant>,
}

impl State {
    fn confirm(&self) {
        *self.confirmed.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn lose(&self, evidence: &str) -> Error {
        self.lost.store(true, Ordering::SeqCst);
        Error::LeaseLost {
            table: self.table.clone(),
            evidence: evidence.to_owned(),
        }
    }
}

impl LeaseCheck {
    /// Fails when the lease is lost. Asks the database when the heartbeat
    /// has not confirmed the lease for half its length.
    pub(crate) async fn ensure(&self, conn: &mut Conn) -> Result<()> {
        let state = &self.state;
        if state.lost.load(Ordering::SeqCst) {
            return Err(state.lose("the heartbeat found it expired or taken over"));
        }
        let since = state
            .confirmed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed();
        if since < state.length / 2 {
            return Ok(());
        }
        match answer(conn, std::slice::from_ref(&self.held)).await {
            Ok(true) => {
                state.confirm();
                Ok(())
            }
            Ok(false) => Err(state.lose(&format!(
                "not renewed for {} ms, and the lock row is no longer ours",
                since.as_millis()
            ))),
            Err(source) => Err(Error::Database {
                action: "checking that the migration lease is still held".into(),
                source,
            }),
        }
    }
}

/// A held lease: its heartbeat runs until [`Lease::release`].
#[derive(Debug)]
pub(crate) struct Lease {
    sql: LeaseSql,
    state: Arc<State>,
    stop: CancellationToken,
    heartbeat: tokio::task::JoinHandle<()>,
}

/// The lock table of `table`: `<history>_lock`, in the history's schema.
fn lock_table(conn: &Conn, table: &Table) -> String {
    conn.engine().quote(&format!("{}_lock", table.name))
}

fn this_run() -> Holder {
    let host = crate::operator::host_name();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let pid = std::process::id();
    Holder {
        run_id: format!("{pid:x}-{nanos:x}"),
        host,
        pid,
    }
}

/// Runs `statements` in order; true when the last answers true.
async fn answer(conn: &mut Conn, statements: &[String]) -> Result<bool, sqlx::Error> {
    let mut last = false;
    for sql in statements {
        let rows = conn.fetch_text(sql).await?;
        last = matches!(
            rows.first()
                .and_then(|row| row.first())
                .and_then(|v| v.as_deref()),
            Some("t" | "1" | "true")
        );
    }
    Ok(last)
}

/// Whether a failed write is a lost race worth retrying: a deadlock or a
/// serialisation failure (SQLSTATE class 40), which is how Galera reports
/// a write that lost certification to another node's.
fn lost_race(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code.starts_with("40"))
}

impl Lease {
    /// Takes the lease of `table` for `length`, polling until `timeout`.
    /// None when the engine has no lease (SQLite).
    pub(crate) async fn acquire(
        conn: &mut Conn,
        url: &str,
        table: &Table,
        length: Duration,
        timeout: Duration,
        stop: Option<&CancellationToken>,
        waiting: &(dyn Fn(Option<String>) + Send + Sync),
    ) -> Result<Option<Lease>> {
        let millis = u64::try_from(length.as_millis()).unwrap_or(u64::MAX).max(1);
        let holder = this_run();
        let Some(sql) = conn
            .engine()
            .lease_sql(&lock_table(conn, table), &holder, millis)
        else {
            return Ok(None);
        };
        let mut wait = Wait::new(timeout);
        let mut pause = Duration::from_millis(20);
        // Runners starting together race to create the table; PostgreSQL
        // may fail all but one even with IF NOT EXISTS. Retry until the
        // table is there or the wait is over.
        while let Err(source) = conn.fetch_text(&sql.create).await {
            if wait.expired() {
                return Err(Error::Database {
                    action: format!("creating the lock table of `{}`", table.name),
                    source,
                });
            }
            pause_or_stop(pause, stop).await?;
        }
        loop {
            match answer(conn, &sql.take).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(error) if lost_race(&error) => {
                    tracing::debug!(%error, "lost a race for the migration lease; retrying");
                }
                Err(source) => {
                    return Err(Error::Database {
                        action: "taking the migration lease".into(),
                        source,
                    });
                }
            }
            if wait.tell_now(table)? {
                let rows = conn.fetch_text(&sql.holder).await.unwrap_or_default();
                waiting(
                    rows.into_iter()
                        .next()
                        .and_then(|r| r.into_iter().next())
                        .flatten(),
                );
            }
            pause_or_stop(pause, stop).await?;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
        tracing::info!(table = %table.name, run = %holder.run_id, ?length, "took the migration lease");
        let state = Arc::new(State {
            table: table.name.clone(),
            length,
            lost: AtomicBool::new(false),
            confirmed: Mutex::new(Instant::now()),
        });
        let stop = CancellationToken::new();
        let heartbeat = tokio::spawn(heartbeat(
            url.to_owned(),
            sql.renew.clone(),
            state.clone(),
            stop.clone(),
        ));
        Ok(Some(Lease {
            sql,
            state,
            stop,
            heartbeat,
        }))
    }

    /// Who else holds an unexpired lease on `table`, for `status` and a
    /// waiting runner; None when nobody does or there is no lock table.
    pub(crate) async fn holder(conn: &mut Conn, table: &Table) -> Option<String> {
        let nobody = Holder {
            host: String::new(),
            pid: 0,
            run_id: String::new(),
        };
        let sql = conn
            .engine()
            .lease_sql(&lock_table(conn, table), &nobody, 1)?;
        let rows = conn.fetch_text(&sql.holder).await.ok()?;
        rows.into_iter().next()?.into_iter().next()?
    }

    /// What the session checks before sending anything.
    pub(crate) fn check(&self) -> LeaseCheck {
        LeaseCheck {
            state: self.state.clone(),
            held: self.sql.held.clone(),
        }
    }

    /// Stops the heartbeat and deletes our row. Errors are only logged: an
    /// unreleased lease expires by itself.
    pub(crate) async fn release(self, conn: &mut Conn) {
        self.stop.cancel();
        let _ = self.heartbeat.await;
        if let Err(error) = conn.fetch_text(&self.sql.release).await {
            tracing::warn!(%error, "could not release the migration lease; it expires by itself");
        }
    }
}

/// Extends the lease every third of its length, on a connection of its own
/// (the run's connection may be busy with a long statement), until `stop`.
/// A failed connection is reopened; a renewal that finds the lease gone
/// marks it lost and ends.
async fn heartbeat(url: String, renew: Vec<String>, state: Arc<State>, stop: CancellationToken) {
    let every = state.length / 3;
    let patience = every.max(Duration::from_secs(1));
    let mut conn: Option<Conn> = None;
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = stop.cancelled() => break,
        }
        if conn.is_none() {
            match Conn::connect(&url, patience, patience).await {
                Ok(opened) => conn = Some(opened),
                Err(error) => {
                    tracing::warn!(%error, "the lease heartbeat could not connect; retrying");
                    continue;
                }
            }
        }
        let Some(open) = conn.as_mut() else { continue };
        match answer(open, &renew).await {
            Ok(true) => state.confirm(),
            Ok(false) => {
                let _ = state.lose("the heartbeat found it expired or taken over");
                tracing::error!(table = %state.table, "lost the migration lease: it expired or another run took it over");
                break;
            }
            Err(error) => {
                tracing::warn!(%error, "the lease heartbeat failed; reconnecting");
                if let Some(broken) = conn.take() {
                    broken.close().await;
                }
            }
        }
    }
    if let Some(open) = conn {
        open.close().await;
    }
}
