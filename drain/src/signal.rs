//! An opt-in `SIGTERM`/`SIGINT` handler for servers that do not handle
//! signals themselves.
//!
//! Built on `tokio::signal`, which registers through `signal-hook-registry`:
//! a handler installed earlier (by tokio or by signal-hook) is chained and
//! keeps working, and other `tokio::signal` streams on the same signals keep
//! receiving them. Once installed, though, the default action of these
//! signals (terminate) is gone for the whole process, and this library never
//! calls `exit()`: the application must return from `main` when the drain is
//! closed (see [`Drain::deadline_token`]), or a third signal will not kill it.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};

use crate::handle::Drain;

/// A signal the handler reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// `SIGTERM`, sent by orchestrators to stop a process.
    Terminate,
    /// `SIGINT`, sent by Ctrl-C (on Windows, the Ctrl-C event).
    Interrupt,
}

impl Signal {
    /// The conventional name, such as `SIGTERM`.
    pub const fn name(self) -> &'static str {
        match self {
            Signal::Terminate => "SIGTERM",
            Signal::Interrupt => "SIGINT",
        }
    }

    /// The signal number on Unix (15 or 2), for a `128 + n` exit status.
    pub const fn number(self) -> i32 {
        match self {
            Signal::Terminate => 15,
            Signal::Interrupt => 2,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the installed handler has seen. Cloning it shares the same record.
#[derive(Debug, Clone, Default)]
pub struct SignalHandler {
    seen: Arc<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    count: AtomicUsize,
    first: OnceLock<Signal>,
    second: OnceLock<Signal>,
}

/// Two handlers are equal when they are the same installation.
impl PartialEq for SignalHandler {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.seen, &other.seen)
    }
}

impl Eq for SignalHandler {}

impl SignalHandler {
    /// How many `SIGTERM`/`SIGINT` have arrived since installation.
    pub fn received(&self) -> usize {
        self.seen.count.load(SeqCst)
    }

    /// The signal that began the drain, if one has arrived.
    pub fn first(&self) -> Option<Signal> {
        self.seen.first.get().copied()
    }

    /// The signal that forced the shutdown, if a second one has arrived.
    pub fn forced_by(&self) -> Option<Signal> {
        self.seen.second.get().copied()
    }

    fn record(&self, signal: Signal) -> usize {
        let n = self.seen.count.fetch_add(1, SeqCst) + 1;
        match n {
            1 => {
                let _ = self.seen.first.set(signal);
            }
            2 => {
                let _ = self.seen.second.set(signal);
            }
            _ => {}
        }
        n
    }
}

impl Drain {
    /// Installs handlers for `SIGTERM` and `SIGINT` (Ctrl-C on Windows): the
    /// first signal calls [`begin_drain`](Drain::begin_drain), the second
    /// calls [`force`](Drain::force). Calling it again, on this handle or a
    /// clone, installs nothing and returns the same [`SignalHandler`].
    ///
    /// Must be called inside a Tokio runtime with I/O enabled
    /// (`enable_all()`); returns an error otherwise, or if the operating
    /// system refuses the registration.
    pub fn install_signal_handlers(&self) -> io::Result<SignalHandler> {
        let mut slot = self.inner.signals.lock().unwrap_or_else(|e| e.into_inner());
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
        let drain = self.clone();
        let record = handler.clone();
        runtime.spawn(async move {
            while let Some(signal) = signals.next().await {
                match record.record(signal) {
                    1 => {
                        tracing::info!(%signal, "signal received; draining");
                        drain.begin_drain();
                    }
                    2 => {
                        tracing::warn!(%signal, "second signal received; forcing the shutdown");
                        drain.force();
                    }
                    n => tracing::warn!(%signal, count = n, "signal received; already forced"),
                }
            }
        });
        *slot = Some(handler.clone());
        Ok(handler)
    }
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
