//! The clock that moves a drain from Draining to Closing to Closed.

use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use crate::shared::{Inner, millis};
use crate::state::{DrainOutcome, DrainState};

/// Begins the drain and starts its clock; `false` if it had already begun.
pub(crate) fn begin(inner: &Arc<Inner>) -> bool {
    if !inner.begin() {
        return false;
    }
    spawn(Arc::clone(inner));
    true
}

/// Starts the clock on the current Tokio runtime, or on a thread of its own
/// when there is none (a drain begun from a plain thread must still advance).
fn spawn(inner: Arc<Inner>) {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn(run_clock(inner));
        }
        Err(_) => {
            let spawned = std::thread::Builder::new()
                .name("cofferdam-drain".into())
                .spawn(move || {
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_time()
                        .build()
                    {
                        Ok(rt) => rt.block_on(run_clock(inner)),
                        Err(error) => {
                            tracing::error!(%error, "cannot start the drain clock; forcing");
                            inner.force();
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start the drain clock thread");
            }
        }
    }
}

/// Draining → (delay) → Closing → (idle or timeout) → Closed, unless forced;
/// then, for a drain that emptied early, on to the deadline.
async fn run_clock(inner: Arc<Inner>) {
    // `force` cancels the deadline token; the clock stops there.
    let forced = inner.deadline.clone();
    tokio::select! {
        biased;
        _ = forced.cancelled() => return,
        _ = tokio::time::sleep(inner.config.delay()) => {}
    }
    if !inner.advance(DrainState::Draining, DrainState::Closing) {
        return;
    }
    inner.closing.cancel();
    tracing::info!(
        in_flight = inner.in_flight.load(SeqCst),
        "drain delay elapsed; the server stops accepting"
    );
    let deadline = tokio::time::sleep(inner.config.timeout());
    tokio::pin!(deadline);
    tokio::select! {
        biased;
        _ = forced.cancelled() => return,
        _ = inner.wait_idle() => {
            if !inner.close(DrainOutcome::Drained) {
                return;
            }
            tracing::info!(
                drain_ms = inner.timeline().duration.map(millis),
                rejected = inner.rejected.load(SeqCst),
                force_closed = 0,
                "drained: no request left in flight"
            );
        }
        _ = &mut deadline => {
            let in_flight = inner.in_flight.load(SeqCst);
            if inner.close(DrainOutcome::TimedOut { in_flight }) {
                // Streaming bodies end as soon as they are polled again; wait
                // a moment so the summary can count them.
                let _ = tokio::time::timeout(SETTLE, inner.wait_idle()).await;
                tracing::warn!(
                    in_flight,
                    force_closed = inner.force_closed.load(SeqCst),
                    still_running = inner.in_flight.load(SeqCst),
                    rejected = inner.rejected.load(SeqCst),
                    drain_ms = inner.timeline().duration.map(millis),
                    "drain timeout passed with requests in flight; streaming responses were ended"
                );
            }
            return;
        }
    }
    // Empty is not finished: an HTTP/2 client may have sent streams that
    // hyper accepted before its GOAWAY arrived and that the layer has not
    // seen yet. They are served, and the server waits for them, so the
    // deadline still has to come to bound the wait.
    tokio::select! {
        biased;
        _ = forced.cancelled() => {}
        _ = &mut deadline => {
            inner.deadline.cancel();
            let late = inner.in_flight.load(SeqCst);
            if late > 0 {
                let _ = tokio::time::timeout(SETTLE, inner.wait_idle()).await;
                tracing::warn!(
                    late,
                    force_closed = inner.force_closed.load(SeqCst),
                    still_running = inner.in_flight.load(SeqCst),
                    "drain timeout passed with requests that arrived after the drain \
                     emptied; streaming responses were ended"
                );
            }
        }
    }
}

/// How long the summary after a timeout waits for ended bodies to unwind.
const SETTLE: Duration = Duration::from_millis(100);
