//! The states of a drain and what it reports.

use std::time::Duration;

/// Where a [`Drain`](crate::Drain) is in its life. States only move forward.
///
/// ```text
/// Serving ──begin_drain()──▶ Draining ──drain_delay──▶ Closing ──idle or drain_timeout──▶ Closed
///     └──────────────────────────force()──────────────────────────────────────────────────▶┘
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DrainState {
    /// Normal operation; readiness answers `200`.
    Serving,
    /// The drain has begun: readiness answers `503`, HTTP/1 responses carry
    /// `Connection: close`, and requests are still served (or rejected in
    /// [`DrainMode::RejectNew`](crate::DrainMode::RejectNew)).
    Draining,
    /// The drain delay has passed: the shutdown signal has fired, so the
    /// server stops accepting and sends HTTP/2 `GOAWAY`; requests in flight
    /// get until the drain timeout.
    Closing,
    /// Nothing is left in flight, or the deadline passed, or the drain was
    /// forced. Until the deadline, requests the server still hands over
    /// (HTTP/2 streams sent before `GOAWAY` arrived) are served as while
    /// closing; past it they are answered `503`.
    Closed,
}

impl DrainState {
    pub(crate) const fn as_u8(self) -> u8 {
        match self {
            DrainState::Serving => 0,
            DrainState::Draining => 1,
            DrainState::Closing => 2,
            DrainState::Closed => 3,
        }
    }

    pub(crate) const fn from_u8(value: u8) -> Self {
        match value {
            0 => DrainState::Serving,
            1 => DrainState::Draining,
            2 => DrainState::Closing,
            _ => DrainState::Closed,
        }
    }

    /// A lowercase name for logs and metrics labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            DrainState::Serving => "serving",
            DrainState::Draining => "draining",
            DrainState::Closing => "closing",
            DrainState::Closed => "closed",
        }
    }
}

impl std::fmt::Display for DrainState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a drain ended. Available once the state is [`DrainState::Closed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DrainOutcome {
    /// Every request in flight finished before the deadline.
    Drained,
    /// The drain timeout passed with this many requests still in flight;
    /// their streaming bodies were ended.
    TimedOut {
        /// Requests still in flight when the deadline passed.
        in_flight: usize,
    },
    /// [`Drain::force`](crate::Drain::force) was called (for example by a
    /// second signal) with this many requests in flight.
    Forced {
        /// Requests in flight when the drain was forced.
        in_flight: usize,
    },
}

/// A snapshot of a drain's counters, for logs, metrics and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrainStats {
    /// The current state.
    pub state: DrainState,
    /// Requests counted and not yet finished (response body sent or dropped).
    pub in_flight: usize,
    /// Requests answered `503` by the layer because of the drain.
    pub rejected: u64,
    /// Response bodies ended early because the deadline passed or the drain
    /// was forced.
    pub force_closed: u64,
    /// Time since the drain began, frozen when it reaches
    /// [`DrainState::Closed`]; `None` while serving.
    pub drain_duration: Option<Duration>,
    /// How the drain ended, once it has.
    pub outcome: Option<DrainOutcome>,
}

/// The error of [`Drain::wait_drained`](crate::Drain::wait_drained): the
/// timeout passed with requests still in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("drain timed out with {in_flight} request(s) still in flight")]
pub struct Remaining {
    /// Requests still in flight when the timeout passed.
    pub in_flight: usize,
}
