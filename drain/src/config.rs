//! What a drain is allowed to do, and for how long.

use std::sync::Arc;
use std::time::Duration;

/// How the layer answers new requests once a drain has begun.
///
/// The default, [`DrainMode::KeepServing`], loses no request while a load
/// balancer still routes traffic to this instance. Pick
/// [`DrainMode::RejectNew`] only when the balancer in front retries `503`
/// (nginx needs `proxy_next_upstream http_503`, Envoy a `retry_on` policy), or
/// for a drain triggered by hand behind a balancer that health-checks the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DrainMode {
    /// Keep serving during the drain delay and ask HTTP/1 clients to reconnect
    /// elsewhere with `Connection: close`.
    #[default]
    KeepServing,
    /// Answer new requests with `503 Service Unavailable` and `Retry-After`
    /// while the requests already in flight finish.
    RejectNew,
}

/// Settings of a [`Drain`](crate::Drain): the two durations a deployment must
/// agree on, the mode, and the paths the drain leaves alone.
///
/// The numbers that matter, for an orchestrator that removes the instance from
/// its load balancer some time after it sends `SIGTERM`:
///
/// * `drain_delay` **longer than** the load balancer's lag, so no new
///   connection arrives after the listener closes;
/// * `drain_delay + drain_timeout` **shorter than** the grace period after
///   which the orchestrator sends `SIGKILL` (Kubernetes:
///   `terminationGracePeriodSeconds`, 30 s by default).
///
/// ```
/// use std::time::Duration;
/// use cofferdam_drain::{DrainConfig, DrainMode};
///
/// let config = DrainConfig::new()
///     .drain_delay(Duration::from_secs(10))
///     .drain_timeout(Duration::from_secs(15))
///     .grace_period(Duration::from_secs(30))
///     .exempt_paths(["/healthz", "/readyz", "/metrics"]);
/// assert_eq!(config.mode(), DrainMode::KeepServing);
/// assert!(config.fits_grace_period());
/// ```
#[derive(Debug, Clone)]
pub struct DrainConfig {
    drain_delay: Duration,
    drain_timeout: Duration,
    mode: DrainMode,
    retry_after: Duration,
    exempt_paths: Arc<[Box<str>]>,
    grace_period: Option<Duration>,
}

/// The paths exempt from draining unless [`DrainConfig::exempt_paths`] says
/// otherwise: the conventional Kubernetes probe and metrics endpoints.
pub const DEFAULT_EXEMPT_PATHS: [&str; 4] = ["/healthz", "/livez", "/readyz", "/metrics"];

impl Default for DrainConfig {
    fn default() -> Self {
        Self {
            drain_delay: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(20),
            mode: DrainMode::KeepServing,
            retry_after: Duration::from_secs(1),
            exempt_paths: DEFAULT_EXEMPT_PATHS.iter().map(|p| Box::from(*p)).collect(),
            grace_period: None,
        }
    }
}

impl DrainConfig {
    /// The defaults: 5 s delay, 20 s timeout, [`DrainMode::KeepServing`],
    /// `Retry-After: 1`, and [`DEFAULT_EXEMPT_PATHS`]. They fit the default
    /// Kubernetes grace period of 30 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long to keep serving after the drain begins, before the server
    /// stops accepting connections. Make it longer than your load balancer
    /// takes to stop routing to this instance.
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.drain_delay = delay;
        self
    }

    /// How long, after the delay, to wait for requests in flight before
    /// streaming bodies are ended and the remaining requests are reported.
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// How new requests are answered while draining.
    pub fn mode(&self) -> DrainMode {
        self.mode
    }

    /// Sets the [`DrainMode`].
    pub fn drain_mode(mut self, mode: DrainMode) -> Self {
        self.mode = mode;
        self
    }

    /// Shorthand for `drain_mode(DrainMode::RejectNew)` when `reject` is true.
    pub fn reject_new(self, reject: bool) -> Self {
        self.drain_mode(if reject {
            DrainMode::RejectNew
        } else {
            DrainMode::KeepServing
        })
    }

    /// The `Retry-After` sent with `503` answers, rounded up to whole seconds.
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = after;
        self
    }

    /// Replaces the paths exempt from draining. Requests to these exact paths
    /// are neither counted nor rejected; put health checks and metrics here so
    /// that a slow scrape does not hold the shutdown and liveness stays `200`.
    /// Pass an empty list to exempt nothing.
    pub fn exempt_paths<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.exempt_paths = paths
            .into_iter()
            .map(|p| p.into().into_boxed_str())
            .collect();
        self
    }

    /// The orchestrator's grace period, if you know it. [`Drain::new`] then logs
    /// a warning when `drain_delay + drain_timeout` does not fit inside it.
    ///
    /// [`Drain::new`]: crate::Drain::new
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace_period = Some(grace);
        self
    }

    /// The configured drain delay.
    pub fn delay(&self) -> Duration {
        self.drain_delay
    }

    /// The configured drain timeout.
    pub fn timeout(&self) -> Duration {
        self.drain_timeout
    }

    /// The configured `Retry-After`.
    pub fn retry_after_duration(&self) -> Duration {
        self.retry_after
    }

    /// The configured grace period, if any.
    pub fn grace(&self) -> Option<Duration> {
        self.grace_period
    }

    /// The paths exempt from draining.
    pub fn exempt(&self) -> impl Iterator<Item = &str> {
        self.exempt_paths.iter().map(|p| &**p)
    }

    /// Whether `drain_delay + drain_timeout` ends strictly before the grace
    /// period; true when no grace period was given.
    pub fn fits_grace_period(&self) -> bool {
        match self.grace_period {
            Some(grace) => self.drain_delay.saturating_add(self.drain_timeout) < grace,
            None => true,
        }
    }

    pub(crate) fn is_exempt(&self, path: &str) -> bool {
        self.exempt_paths.iter().any(|p| **p == *path)
    }

    /// `Retry-After` as delay-seconds (RFC 9110 §10.2.3), never zero.
    pub(crate) fn retry_after_secs(&self) -> u64 {
        let d = self.retry_after;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fit_the_kubernetes_default_grace_period() {
        let config = DrainConfig::new().grace_period(Duration::from_secs(30));
        assert!(config.fits_grace_period());
        assert_eq!(config.mode(), DrainMode::KeepServing);
        assert!(config.is_exempt("/readyz"));
        assert!(!config.is_exempt("/readyz/"));
        assert!(!config.is_exempt("/"));
    }

    #[test]
    fn too_long_a_drain_does_not_fit() {
        let config = DrainConfig::new()
            .drain_delay(Duration::from_secs(15))
            .drain_timeout(Duration::from_secs(15))
            .grace_period(Duration::from_secs(30));
        assert!(!config.fits_grace_period());
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        let c = DrainConfig::new();
        assert_eq!(c.clone().retry_after(Duration::ZERO).retry_after_secs(), 1);
        assert_eq!(
            c.clone()
                .retry_after(Duration::from_millis(1500))
                .retry_after_secs(),
            2
        );
        assert_eq!(c.retry_after(Duration::from_secs(3)).retry_after_secs(), 3);
    }

    #[test]
    fn exempt_paths_can_be_cleared() {
        let c = DrainConfig::new().exempt_paths(Vec::<String>::new());
        assert_eq!(c.exempt().count(), 0);
        assert!(!c.is_exempt("/healthz"));
    }
}
