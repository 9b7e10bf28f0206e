//! The state every clone of a [`Drain`](crate::Drain) shares: the state
//! machine, the counters, and the wait for "nothing in flight".
//!
//! It lives apart from the handle so that the layer, the body, the guard, the
//! probes, the clock and the signal listener depend on it and not on each
//! other: the modules form a tree with `handle.rs` at the top.

use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::DrainConfig;
use crate::signal::SignalHandler;
use crate::state::{DrainOutcome, DrainState};

pub(crate) struct Inner {
    pub(crate) config: DrainConfig,
    state: AtomicU8,
    pub(crate) in_flight: AtomicUsize,
    /// Tasks inside `wait_idle`; the last guard only notifies when some wait,
    /// so the serving path never touches the `Notify` lock.
    waiters: AtomicUsize,
    idle: Notify,
    pub(crate) rejected: AtomicU64,
    pub(crate) force_closed: AtomicU64,
    timeline: Mutex<Timeline>,
    /// The four moments of a drain, in order: it began; the delay passed
    /// (stop accepting); the state reached Closed; the deadline passed (the
    /// timeout, or `force`). An empty drain closes before its deadline.
    pub(crate) begun: CancellationToken,
    pub(crate) closing: CancellationToken,
    pub(crate) closed: CancellationToken,
    pub(crate) deadline: CancellationToken,
    pub(crate) signals: Mutex<Option<SignalHandler>>,
}

#[derive(Default)]
pub(crate) struct Timeline {
    pub(crate) started: Option<Instant>,
    pub(crate) duration: Option<Duration>,
    pub(crate) outcome: Option<DrainOutcome>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drain")
            .field("state", &self.state())
            .field("in_flight", &self.in_flight.load(SeqCst))
            .field("config", &self.config)
            .finish()
    }
}

impl Inner {
    pub(crate) fn new(config: DrainConfig) -> Self {
        Self {
            config,
            state: AtomicU8::new(DrainState::Serving.as_u8()),
            in_flight: AtomicUsize::new(0),
            waiters: AtomicUsize::new(0),
            idle: Notify::new(),
            rejected: AtomicU64::new(0),
            force_closed: AtomicU64::new(0),
            timeline: Mutex::new(Timeline::default()),
            begun: CancellationToken::new(),
            closing: CancellationToken::new(),
            closed: CancellationToken::new(),
            deadline: CancellationToken::new(),
            signals: Mutex::new(None),
        }
    }

    pub(crate) fn state(&self) -> DrainState {
        DrainState::from_u8(self.state.load(SeqCst))
    }

    pub(crate) fn advance(&self, from: DrainState, to: DrainState) -> bool {
        self.state
            .compare_exchange(from.as_u8(), to.as_u8(), SeqCst, SeqCst)
            .is_ok()
    }

    pub(crate) fn timeline(&self) -> MutexGuard<'_, Timeline> {
        // A panic while holding this lock leaves plain data behind; keep going.
        self.timeline.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serving → Draining; `false` if the drain had already begun. The clock
    /// is started by the caller (`clock::begin`).
    pub(crate) fn begin(&self) -> bool {
        if !self.advance(DrainState::Serving, DrainState::Draining) {
            return false;
        }
        self.timeline().started = Some(Instant::now());
        self.begun.cancel();
        tracing::info!(
            drain_delay_ms = millis(self.config.delay()),
            drain_timeout_ms = millis(self.config.timeout()),
            mode = ?self.config.mode(),
            in_flight = self.in_flight.load(SeqCst),
            "drain started; readiness now fails"
        );
        true
    }

    /// Any state → Closed with [`DrainOutcome::Forced`]; `false` if already
    /// closed.
    pub(crate) fn force(&self) -> bool {
        let mut current = self.state();
        loop {
            if current == DrainState::Closed {
                return false;
            }
            match self.state.compare_exchange(
                current.as_u8(),
                DrainState::Closed.as_u8(),
                SeqCst,
                SeqCst,
            ) {
                Ok(_) => break,
                Err(actual) => current = DrainState::from_u8(actual),
            }
        }
        let in_flight = self.in_flight.load(SeqCst);
        self.record_end(DrainOutcome::Forced { in_flight });
        tracing::warn!(in_flight, from = %current, "drain forced; ending remaining responses");
        self.begun.cancel();
        self.closing.cancel();
        self.deadline.cancel();
        self.closed.cancel();
        true
    }

    pub(crate) fn count_rejected(&self) {
        self.rejected.fetch_add(1, SeqCst);
    }

    pub(crate) fn count_force_closed(&self) {
        self.force_closed.fetch_add(1, SeqCst);
    }

    /// Whether the drain timeout has passed or the drain was forced: from
    /// then on streaming bodies end and new requests are refused.
    pub(crate) fn past_deadline(&self) -> bool {
        self.deadline.is_cancelled()
    }

    pub(crate) fn deadline_token(&self) -> &CancellationToken {
        &self.deadline
    }

    fn record_end(&self, outcome: DrainOutcome) {
        let mut timeline = self.timeline();
        let started = *timeline.started.get_or_insert_with(Instant::now);
        timeline.duration = Some(started.elapsed());
        timeline.outcome = Some(outcome);
    }

    /// Closing → Closed by the clock; `false` if `force` got there first.
    /// A drain that times out is past its deadline as it closes; an empty one
    /// is not: its connections may still be finishing (see `clock.rs`).
    pub(crate) fn close(&self, outcome: DrainOutcome) -> bool {
        if !self.advance(DrainState::Closing, DrainState::Closed) {
            return false;
        }
        self.record_end(outcome);
        if matches!(outcome, DrainOutcome::TimedOut { .. }) {
            self.deadline.cancel();
        }
        self.closed.cancel();
        true
    }

    pub(crate) fn acquire(&self) {
        self.in_flight.fetch_add(1, SeqCst);
    }

    pub(crate) fn release(&self) {
        if self.in_flight.fetch_sub(1, SeqCst) == 1 && self.waiters.load(SeqCst) > 0 {
            self.idle.notify_waiters();
        }
    }

    /// Resolves once the in-flight count is zero.
    pub(crate) async fn wait_idle(&self) {
        // Announce the waiter before reading the count: a guard that reaches
        // zero either sees the waiter and notifies, or decremented before our
        // read, which then sees zero (all SeqCst).
        self.waiters.fetch_add(1, SeqCst);
        let _waiting = WaiterGuard(&self.waiters);
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.in_flight.load(SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

struct WaiterGuard<'a>(&'a AtomicUsize);

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
