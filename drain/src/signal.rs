//! The signals the opt-in handler reacts to, and its record of what arrived.
//! The handler itself is installed by `listen.rs`.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};

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

/// What the handler installed by
/// [`Drain::install_signal_handlers`](crate::Drain::install_signal_handlers)
/// has seen. Cloning it shares the same record.
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

    pub(crate) fn record(&self, signal: Signal) -> usize {
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
