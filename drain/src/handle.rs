//! The cloneable handle: the state machine, the counters, and the waits.

use std::future::Future;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::DrainConfig;
use crate::guard::InFlight;
use crate::layer::DrainLayer;
use crate::probe::{Liveness, Readiness};
use crate::signal::SignalHandler;
use crate::state::{DrainOutcome, DrainState, DrainStats, Remaining};

/// The drain handle: share one per server (it is a cheap `Arc` clone) between
/// the [`DrainLayer`], the probes, the signal handler and the shutdown path.
///
/// Every method may be called any number of times, from any task: the state
/// only moves forward, and the second `begin_drain()` or `force()` does
/// nothing.
#[derive(Clone)]
pub struct Drain {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: DrainConfig,
    pub(crate) state: AtomicU8,
    pub(crate) in_flight: AtomicUsize,
    /// Tasks inside `wait_idle`; the last guard only notifies when some wait,
    /// so the serving path never touches the `Notify` lock.
    pub(crate) waiters: AtomicUsize,
    pub(crate) idle: Notify,
    pub(crate) rejected: AtomicU64,
    pub(crate) force_closed: AtomicU64,
    pub(crate) timeline: Mutex<Timeline>,
    pub(crate) begun: CancellationToken,
    pub(crate) closing: CancellationToken,
    pub(crate) closed: CancellationToken,
    pub(crate) signals: Mutex<Option<SignalHandler>>,
}

#[derive(Default)]
pub(crate) struct Timeline {
    pub(crate) started: Option<Instant>,
    pub(crate) duration: Option<Duration>,
    pub(crate) outcome: Option<DrainOutcome>,
}

impl Default for Drain {
    fn default() -> Self {
        Self::new(DrainConfig::default())
    }
}

impl std::fmt::Debug for Drain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drain")
            .field("state", &self.state())
            .field("in_flight", &self.in_flight())
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Drain {
    /// Creates a handle in [`DrainState::Serving`]. Logs a warning when the
    /// configured delay and timeout do not fit the configured grace period.
    pub fn new(config: DrainConfig) -> Self {
        if !config.fits_grace_period() {
            tracing::warn!(
                drain_delay_ms = millis(config.delay()),
                drain_timeout_ms = millis(config.timeout()),
                grace_period_ms = config.grace().map(millis),
                "drain delay + drain timeout do not fit the grace period; \
                 requests may be killed mid-flight"
            );
        }
        Self {
            inner: Arc::new(Inner {
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
                signals: Mutex::new(None),
            }),
        }
    }

    /// The settings this handle was built with.
    pub fn config(&self) -> &DrainConfig {
        &self.inner.config
    }

    /// The tower [`Layer`](tower::Layer) that counts requests and applies the
    /// drain to them. Put it outermost, so the count covers everything else.
    pub fn layer(&self) -> DrainLayer {
        DrainLayer::new(self.clone())
    }

    /// A service answering `200 ready` while serving and `503 draining` once
    /// the drain has begun. Mount it as the readiness probe
    /// (`Router::route_service("/readyz", drain.readiness())`).
    pub fn readiness(&self) -> Readiness {
        Readiness::new(self.clone())
    }

    /// A service that always answers `200 ok`, draining or not: a draining
    /// process is alive, and a failed liveness probe would get it restarted.
    pub fn liveness(&self) -> Liveness {
        Liveness::new()
    }

    /// Begins the drain. Returns `true` for the call that began it and `false`
    /// when the drain had already begun.
    ///
    /// From here the handle runs its own clock: after the drain delay the
    /// [`shutdown_signal`](Self::shutdown_signal) fires; after the drain
    /// timeout, or once nothing is in flight, the state becomes
    /// [`DrainState::Closed`]. The clock is a task on the current Tokio
    /// runtime, or on a small thread of its own when called outside one.
    pub fn begin_drain(&self) -> bool {
        let inner = &self.inner;
        if !inner.advance(DrainState::Serving, DrainState::Draining) {
            return false;
        }
        inner.timeline().started = Some(Instant::now());
        inner.begun.cancel();
        tracing::info!(
            drain_delay_ms = millis(inner.config.delay()),
            drain_timeout_ms = millis(inner.config.timeout()),
            mode = ?inner.config.mode(),
            in_flight = self.in_flight(),
            "drain started; readiness now fails"
        );
        crate::clock::spawn(Arc::clone(inner));
        true
    }

    /// Ends the drain now: the shutdown signal fires, streaming bodies end,
    /// and the state becomes [`DrainState::Closed`] with
    /// [`DrainOutcome::Forced`]. Use it for a second `SIGTERM`, or when the
    /// process must stop at once. Returns `false` if already closed.
    pub fn force(&self) -> bool {
        let inner = &self.inner;
        let mut current = inner.state();
        loop {
            if current == DrainState::Closed {
                return false;
            }
            match inner.state.compare_exchange(
                current.as_u8(),
                DrainState::Closed.as_u8(),
                SeqCst,
                SeqCst,
            ) {
                Ok(_) => break,
                Err(actual) => current = DrainState::from_u8(actual),
            }
        }
        let in_flight = self.in_flight();
        inner.record_end(DrainOutcome::Forced { in_flight });
        tracing::warn!(in_flight, from = %current, "drain forced; ending remaining responses");
        inner.begun.cancel();
        inner.closing.cancel();
        inner.closed.cancel();
        true
    }

    /// The current state.
    pub fn state(&self) -> DrainState {
        self.inner.state()
    }

    /// Whether readiness should pass: true only while [`DrainState::Serving`].
    pub fn is_ready(&self) -> bool {
        self.state() == DrainState::Serving
    }

    /// Requests counted by the layer (and [`track`](Self::track) guards) that
    /// have not finished: a request stays counted until its response body has
    /// been sent or dropped.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(SeqCst)
    }

    /// Requests answered `503` because of the drain.
    pub fn rejected(&self) -> u64 {
        self.inner.rejected.load(SeqCst)
    }

    /// Response bodies ended early at the deadline or by [`force`](Self::force).
    pub fn force_closed(&self) -> u64 {
        self.inner.force_closed.load(SeqCst)
    }

    /// Time since the drain began, frozen once it is closed; `None` while
    /// serving.
    pub fn drain_duration(&self) -> Option<Duration> {
        let timeline = self.inner.timeline();
        timeline
            .duration
            .or_else(|| timeline.started.map(|s| s.elapsed()))
    }

    /// How the drain ended; `None` until [`DrainState::Closed`].
    pub fn outcome(&self) -> Option<DrainOutcome> {
        self.inner.timeline().outcome
    }

    /// All counters at once.
    pub fn stats(&self) -> DrainStats {
        DrainStats {
            state: self.state(),
            in_flight: self.in_flight(),
            rejected: self.rejected(),
            force_closed: self.force_closed(),
            drain_duration: self.drain_duration(),
            outcome: self.outcome(),
        }
    }

    /// Waits until nothing is in flight, or until `timeout` passes. Returns
    /// `Ok(())` in the first case and [`Remaining`] with the count in the
    /// second. It does not begin the drain; call it after
    /// [`begin_drain`](Self::begin_drain) (while serving, new requests keep
    /// the count up).
    pub async fn wait_drained(&self, timeout: Duration) -> Result<(), Remaining> {
        match tokio::time::timeout(timeout, self.inner.wait_idle()).await {
            Ok(()) => Ok(()),
            Err(_) => match self.in_flight() {
                0 => Ok(()),
                in_flight => Err(Remaining { in_flight }),
            },
        }
    }

    /// A future for `with_graceful_shutdown` (axum) or for the accept loop of
    /// a hyper server: it resolves when the drain delay has passed (or the
    /// drain was forced), which is when the server should stop accepting and
    /// send HTTP/2 `GOAWAY`.
    pub fn shutdown_signal(&self) -> impl Future<Output = ()> + Send + 'static {
        self.inner.closing.clone().cancelled_owned()
    }

    /// A token cancelled when the drain begins. Give it to work that should
    /// not start once a shutdown is under way, such as the migration runner
    /// (`Migrator::stop_on`), which finishes the current revision and starts
    /// no new one.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.begun.clone()
    }

    /// A token cancelled when the drain reaches [`DrainState::Closed`]: at the
    /// drain deadline, when forced, or as soon as nothing is in flight after
    /// the delay. Long-lived handlers (long polls, WebSockets) should select
    /// on `deadline_token().cancelled()` and wind down; the layer already ends
    /// streaming response bodies at that moment.
    pub fn deadline_token(&self) -> CancellationToken {
        self.inner.closed.clone()
    }

    /// Counts work that the layer cannot see, such as an upgraded WebSocket
    /// connection, as one request in flight until the guard is dropped.
    pub fn track(&self) -> InFlight {
        InFlight::counted(&self.inner)
    }
}

impl Inner {
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

    pub(crate) fn count_rejected(&self) {
        self.rejected.fetch_add(1, SeqCst);
    }

    pub(crate) fn count_force_closed(&self) {
        self.force_closed.fetch_add(1, SeqCst);
    }

    pub(crate) fn closed_token(&self) -> &CancellationToken {
        &self.closed
    }

    pub(crate) fn record_end(&self, outcome: DrainOutcome) {
        let mut timeline = self.timeline();
        let started = *timeline.started.get_or_insert_with(Instant::now);
        timeline.duration = Some(started.elapsed());
        timeline.outcome = Some(outcome);
    }

    /// Closing → Closed by the clock; `false` if `force` got there first.
    pub(crate) fn close(&self, outcome: DrainOutcome) -> bool {
        if !self.advance(DrainState::Closing, DrainState::Closed) {
            return false;
        }
        self.record_end(outcome);
        self.closed.cancel();
        true
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
