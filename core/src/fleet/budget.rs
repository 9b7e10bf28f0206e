//! The connection budget: never more than N connections to one server,
//! counted over every target of the fleet on it.
//!
//! A target's run reserves, before it starts, the most connections it can
//! hold at once, and gives them back when it ends. Reserving the peak up
//! front, rather than each connection as it opens, is what keeps two runs
//! from each holding one connection while waiting for a second that the
//! other holds (a deadlock under a small budget).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The most connections one `up` holds at once: its own, plus one beside
/// it while it takes the lock, either the second connection that checks
/// the session is not shared by a transaction pool (PostgreSQL's session
/// lock, `backend/lock.rs`), or the lease heartbeat's (`backend/lease.rs`).
/// Never both: a lease is not a session lock. A run at head stops after
/// its first read and only ever opens its own.
pub(crate) const UP_PEAK: usize = 2;

/// The most connections one `status` holds at once: its own.
pub(crate) const STATUS_PEAK: usize = 1;

/// One semaphore per server (`host:port`), created on first use.
#[derive(Debug)]
pub(crate) struct Budget {
    per_server: Option<usize>,
    servers: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Budget {
    /// A budget of `per_server` connections to each server; None: unbounded
    /// (the fleet's concurrency is then the only bound).
    pub(crate) fn new(per_server: Option<usize>) -> Budget {
        Budget {
            per_server,
            servers: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until `count` connections to `server` are free and reserves
    /// them until the permit is dropped. None when unbounded.
    pub(crate) async fn reserve(&self, server: &str, count: usize) -> Option<OwnedSemaphorePermit> {
        let limit = self.per_server?;
        let semaphore = {
            let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
            servers
                .entry(server.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(limit)))
                .clone()
        };
        // The semaphore is never closed, so acquiring cannot fail.
        let count = u32::try_from(count.min(limit)).unwrap_or(u32::MAX);
        semaphore.acquire_many_owned(count).await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_on_one_server_never_exceed_the_budget() {
        let budget = Budget::new(Some(3));
        let first = budget.reserve("db:5432", 2).await;
        // Another server has a budget of its own.
        let _other = budget.reserve("db2:5432", 2).await;
        let second = budget.reserve("db:5432", 2);
        tokio::pin!(second);
        assert!(
            futures::poll!(second.as_mut()).is_pending(),
            "2 + 2 > 3 must wait"
        );
        drop(first);
        assert!(second.await.is_some());
    }
}
