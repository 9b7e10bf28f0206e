//! The cloneable handle: the state machine, the counters, and the waits.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::DrainConfig;
use crate::guard::InFlight;
use crate::layer::DrainLayer;
use crate::probe::{Liveness, Readiness};
use crate::shared::{Inner, millis};
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

impl Default for Drain {
    fn default() -> Self {
        Self::new(DrainConfig::default())
    }
}

impl std::fmt::Debug for Drain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
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
            inner: Arc::new(Inner::new(config)),
        }
    }

    /// The settings this handle was built with.
    pub fn config(&self) -> &DrainConfig {
        &self.inner.config
    }

    /// The tower [`Layer`](tower::Layer) that counts requests and applies the
    /// drain to them. Put it outermost, so the count covers everything else.
    pub fn layer(&self) -> DrainLayer {
        DrainLayer::new(Arc::clone(&self.inner))
    }

    /// A service answering `200 ready` while serving and `503 draining` once
    /// the drain has begun. Mount it as the readiness probe
    /// (`Router::route_service("/readyz", drain.readiness())`).
    pub fn readiness(&self) -> Readiness {
        Readiness::new(Arc::clone(&self.inner))
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
    /// [`shutdown_signal`](Self::shutdown_signal) fires; once nothing is in
    /// flight, or at the drain timeout, the state becomes
    /// [`DrainState::Closed`]; at the drain timeout the
    /// [`deadline_token`](Self::deadline_token) is cancelled. The clock is a
    /// task on the current Tokio runtime, or on a small thread of its own
    /// when called outside one.
    pub fn begin_drain(&self) -> bool {
        crate::clock::begin(&self.inner)
    }

    /// Ends the drain now: the shutdown signal fires, streaming bodies end,
    /// and the state becomes [`DrainState::Closed`] with
    /// [`DrainOutcome::Forced`]. Use it for a second `SIGTERM`, or when the
    /// process must stop at once. Returns `false` if already closed.
    pub fn force(&self) -> bool {
        self.inner.force()
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

    /// A token cancelled at the drain deadline: when the drain timeout has
    /// passed after the delay, or when the drain is forced. Not when the
    /// drain merely empties: the server may still be finishing connections
    /// then (HTTP/2 streams sent before `GOAWAY` arrived), and those requests
    /// are served.
    ///
    /// Bound the server future by it (see the crate docs), so a stalled
    /// connection cannot hold the process past the deadline. Long-lived
    /// handlers (long polls, WebSockets) should select on
    /// `deadline_token().cancelled()` and wind down; the layer already ends
    /// streaming response bodies at that moment.
    pub fn deadline_token(&self) -> CancellationToken {
        self.inner.deadline.clone()
    }

    /// A future that resolves when the state reaches [`DrainState::Closed`]:
    /// once nothing is in flight after the delay, at the deadline, or when
    /// forced. Await it after the server has finished, before reading the
    /// [`outcome`](Self::outcome).
    pub fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        self.inner.closed.clone().cancelled_owned()
    }

    /// Counts work that the layer cannot see, such as an upgraded WebSocket
    /// connection, as one request in flight until the guard is dropped.
    pub fn track(&self) -> InFlight {
        InFlight::counted(&self.inner)
    }

    /// Installs handlers for `SIGTERM` and `SIGINT` (Ctrl-C on Windows): the
    /// first signal calls [`begin_drain`](Drain::begin_drain), the second
    /// calls [`force`](Drain::force). Calling it again, on this handle or a
    /// clone, installs nothing and returns the same [`SignalHandler`].
    ///
    /// Must be called inside a Tokio runtime with I/O enabled
    /// (`enable_all()`); returns an error otherwise, or if the operating
    /// system refuses the registration. Handlers installed earlier keep
    /// working, but the default action of these signals (terminate) is gone
    /// for the whole process: see the limits in the crate docs.
    pub fn install_signal_handlers(&self) -> io::Result<SignalHandler> {
        crate::listen::install(&self.inner)
    }
}
