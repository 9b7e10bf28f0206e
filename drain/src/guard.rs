//! The in-flight guard: one count, released on drop.

use std::sync::Arc;

use crate::shared::Inner;

/// One unit of work in flight. The count drops when this guard is dropped.
///
/// The layer holds one per request, inside the response body; get your own
/// from [`Drain::track`](crate::Drain::track).
pub struct InFlight {
    pub(crate) inner: Arc<Inner>,
    counted: bool,
}

impl InFlight {
    pub(crate) fn counted(inner: &Arc<Inner>) -> Self {
        // Counted before anyone reads the state: see `DrainService::call`.
        inner.acquire();
        Self {
            inner: Arc::clone(inner),
            counted: true,
        }
    }

    pub(crate) fn exempt(inner: &Arc<Inner>) -> Self {
        Self {
            inner: Arc::clone(inner),
            counted: false,
        }
    }

    pub(crate) fn is_counted(&self) -> bool {
        self.counted
    }
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight")
            .field("counted", &self.counted)
            .finish()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.counted {
            self.inner.release();
        }
    }
}
