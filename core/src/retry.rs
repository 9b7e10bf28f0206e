//! Retrying statements that gave up waiting for a lock, and telling the
//! run's observer: what [`crate::session::Session`] and the backfill
//! helper share.

use crate::migrator::Observer;
use crate::report::Event;
use crate::revision::Timeouts;
use std::time::Duration;

/// The observer of a run, if any ([`crate::Migrator::on_event`]).
#[derive(Clone, Default)]
pub(crate) struct Listener(pub(crate) Option<Observer>);

impl Listener {
    pub(crate) fn tell(&self, event: Event) {
        if let Some(observer) = &self.0 {
            observer(&event);
        }
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Listener(Some)"
        } else {
            "Listener(None)"
        })
    }
}

/// How a revision's lock timeouts are retried, and what was retried.
pub(crate) struct Retry {
    pub(crate) timeouts: Timeouts,
    pub(crate) observer: Option<Observer>,
    /// The lock timeouts met and retried, as text, for the history row.
    pub(crate) retried: Vec<String>,
}

impl std::fmt::Debug for Retry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retry")
            .field("timeouts", &self.timeouts)
            .field("retried", &self.retried)
            .finish_non_exhaustive()
    }
}

impl Retry {
    pub(crate) fn new(timeouts: Timeouts, observer: Option<Observer>) -> Retry {
        Retry {
            timeouts,
            observer,
            retried: Vec::new(),
        }
    }

    /// Logs, records and announces retry `attempt` of `revision` after
    /// `error`; returns the pause to take first.
    pub(crate) fn note(
        &mut self,
        revision: &str,
        attempt: u32,
        error: &(dyn std::error::Error + 'static),
    ) -> Duration {
        let pause = self.timeouts.backoff(attempt);
        let retries = self.timeouts.retries.unwrap_or(0);
        let text = crate::error::report(error);
        tracing::warn!(
            revision,
            attempt,
            retries,
            ?pause,
            error = %text,
            "a statement gave up waiting for a lock; retrying"
        );
        if let Some(observer) = &self.observer {
            observer(&Event::Retrying {
                revision: revision.to_owned(),
                attempt,
                retries,
                pause,
                error: text.clone(),
            });
        }
        self.retried.push(text);
        pause
    }

    /// What the history row keeps of the retries, if there were any.
    pub(crate) fn summary(&self) -> Option<String> {
        let last = self.retried.last()?;
        Some(format!(
            "applied after {} lock-timeout {}; the last: {last}",
            self.retried.len(),
            if self.retried.len() == 1 {
                "retry"
            } else {
                "retries"
            }
        ))
    }
}
