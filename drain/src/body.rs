//! The response body that keeps its request counted until it is sent or
//! dropped, and ends at the drain deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::guard::InFlight;

pin_project! {
    /// The body of every response that passed through the
    /// [`DrainLayer`](crate::DrainLayer).
    ///
    /// It holds the request's in-flight count until the inner body ends,
    /// fails or is dropped. At the drain deadline (the timeout, or
    /// [`force`](crate::Drain::force)) a body that is still
    /// streaming ends cleanly: a chunked or HTTP/2 stream (SSE included)
    /// finishes at the next frame boundary. A body with a declared
    /// `Content-Length` that ends short makes hyper close the connection.
    pub struct DrainBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Tracked {
            #[pin]
            body: B,
            // `None` once the body has ended, so the count drops right away.
            guard: Option<InFlight>,
            // Created only when the inner body is pending, so plain bodies
            // never allocate it.
            deadline: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
        },
        Empty,
    }
}

impl<B> DrainBody<B> {
    pub(crate) fn tracked(body: B, guard: InFlight) -> Self {
        Self {
            kind: Kind::Tracked {
                body,
                guard: Some(guard),
                deadline: None,
            },
        }
    }

    /// An empty body, as sent with `503` answers.
    pub(crate) fn empty() -> Self {
        Self { kind: Kind::Empty }
    }
}

impl<B> std::fmt::Debug for DrainBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("DrainBody");
        if let Kind::Tracked { guard, .. } = &self.kind {
            d.field("guard", guard);
        }
        d.finish_non_exhaustive()
    }
}

impl<B: Body> Body for DrainBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let KindProj::Tracked {
            body,
            guard,
            deadline,
        } = self.project().kind.project()
        else {
            return Poll::Ready(None);
        };
        let Some(held) = guard.as_ref() else {
            return Poll::Ready(None);
        };
        let watch = held.is_counted();
        if watch && held.inner.past_deadline() {
            return end_early(guard);
        }
        match body.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
            Poll::Ready(other) => {
                *guard = None;
                Poll::Ready(other)
            }
            Poll::Pending => {
                if watch {
                    let fut = deadline.get_or_insert_with(|| {
                        Box::pin(held.inner.deadline_token().clone().cancelled_owned())
                    });
                    ready!(fut.as_mut().poll(cx));
                    return end_early(guard);
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Tracked {
                body,
                guard: Some(_),
                ..
            } => body.is_end_stream(),
            _ => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Tracked {
                body,
                guard: Some(_),
                ..
            } => body.size_hint(),
            _ => SizeHint::with_exact(0),
        }
    }
}

fn end_early<T>(guard: &mut Option<InFlight>) -> Poll<Option<T>> {
    if let Some(held) = guard.take() {
        held.inner.count_force_closed();
        tracing::debug!("response body ended at the drain deadline");
    }
    Poll::Ready(None)
}
