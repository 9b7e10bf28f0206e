//! The opt-in `SIGTERM`/`SIGINT` listener, for servers that do not handle
//! signals themselves.
//!
//! Built on `tokio::signal`, which registers through `signal-hook-registry`:
//! a handler installed earlier (by tokio or by signal-hook) is chained and
//! keeps working, and other `tokio::signal` streams on the same signals keep
//! receiving them. Once installed, though, the default action of these
//! signals (terminate) is gone for the whole process, and this library never
//! calls `exit()`: the application must return from `main` when the drain is
//! over, or a third signal will not kill it.

use std::io;
use std::sync::Arc;

use crate::shared::Inner;
use crate::signal::{Signal, SignalHandler};

/// Installs the listener once per drain; see
/// [`Drain::install_signal_handlers`](crate::Drain::install_signal_handlers).
pub(crate) fn install(inner: &Arc<Inner>) -> io::Result<SignalHandler> {
    let mut slot = inner.signals.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(handler) = slot.as_ref() {
        return Ok(handler.clone());
    }
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        io::Error::other("install_signal_handlers must be called inside a Tokio runtime")
    })?;
    let handler = SignalHandler::default();
    // Registered here, before returning, so a signal sent right after
    // this call is not lost.
    let mut signals = Signals::register()?;
    let shared = Arc::clone(inner);
    let record = handler.clone();
    runtime.spawn(async move {
        while let Some(signal) = signals.next().await {
            match record.record(signal) {
                1 => {
                    tracing::info!(%signal, "signal received; draining");
                    crate::clock::begin(&shared);
                }
                2 => {
                    tracing::warn!(%signal, "second signal received; forcing the shutdown");
                    shared.force();
                }
                n => tracing::warn!(%signal, count = n, "signal received; already forced"),
            }
        }
    });
    *slot = Some(handler.clone());
    Ok(handler)
}

#[cfg(unix)]
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn register() -> io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn next(&mut self) -> Option<Signal> {
        tokio::select! {
            s = self.term.recv() => s.map(|()| Signal::Terminate),
            s = self.int.recv() => s.map(|()| Signal::Interrupt),
        }
    }
}

#[cfg(windows)]
struct Signals {
    ctrl_c: tokio::signal::windows::CtrlC,
}

#[cfg(windows)]
impl Signals {
    fn register() -> io::Result<Self> {
        Ok(Self {
            ctrl_c: tokio::signal::windows::ctrl_c()?,
        })
    }

    async fn next(&mut self) -> Option<Signal> {
        self.ctrl_c.recv().await.map(|()| Signal::Interrupt)
    }
}
