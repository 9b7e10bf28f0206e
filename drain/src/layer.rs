//! The tower layer: count each request, then apply the drain to it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::header::{CONNECTION, HeaderValue, RETRY_AFTER};
use http::{Request, Response, StatusCode, Version};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::body::DrainBody;
use crate::config::DrainMode;
use crate::guard::InFlight;
use crate::shared::Inner;
use crate::state::DrainState;

/// A [`Layer`] that wraps a service with [`DrainService`]. Get one from
/// [`Drain::layer`](crate::Drain::layer).
#[derive(Debug, Clone)]
pub struct DrainLayer {
    shared: Arc<Inner>,
}

impl DrainLayer {
    pub(crate) fn new(shared: Arc<Inner>) -> Self {
        Self { shared }
    }
}

impl<S> Layer<S> for DrainLayer {
    type Service = DrainService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DrainService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service made by [`DrainLayer`].
///
/// For every request outside the exempt paths it:
/// 1. counts the request, *then* reads the state, so a drain that begins
///    concurrently always sees the request in its count;
/// 2. answers `503` with `Retry-After` once the drain deadline has passed
///    (the drain timeout, or [`force`](crate::Drain::force)), or once the
///    drain has begun in [`DrainMode::RejectNew`]. In the default mode a
///    request that arrives after the drain emptied and closed, but before
///    the deadline, is served: it is an HTTP/2 stream the client sent before
///    `GOAWAY` reached it, and the client was promised an answer;
/// 3. otherwise calls the inner service, adds `Connection: close` to HTTP/1
///    responses if a drain has begun by the time the response is ready, and
///    moves the count into the [`DrainBody`].
#[derive(Debug, Clone)]
pub struct DrainService<S> {
    inner: S,
    shared: Arc<Inner>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for DrainService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<DrainBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        self.try_call(req)
            .unwrap_or_else(|http1| ResponseFuture::unavailable(&self.shared, http1))
    }
}

impl<S> DrainService<S> {
    pub(crate) fn shared(&self) -> &Inner {
        &self.shared
    }

    /// Calls the inner service for a request the drain admits; `Err` with
    /// whether it was HTTP/1 when the drain rejects it, already counted as
    /// rejected.
    pub(crate) fn try_call<ReqBody, ResBody>(
        &mut self,
        req: Request<ReqBody>,
    ) -> Result<ResponseFuture<S::Future, ResBody>, bool>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    {
        let shared = &self.shared;
        let http1 = req.version() < Version::HTTP_2;
        if shared.config.is_exempt(req.uri().path()) {
            let guard = InFlight::exempt(shared);
            return Ok(ResponseFuture::inner(self.inner.call(req), guard, http1));
        }
        let guard = InFlight::counted(shared);
        let reject = shared.past_deadline()
            || (shared.state() != DrainState::Serving
                && shared.config.mode() == DrainMode::RejectNew);
        if reject {
            drop(guard);
            shared.count_rejected();
            tracing::debug!(path = req.uri().path(), "request rejected: draining");
            return Err(http1);
        }
        Ok(ResponseFuture::inner(self.inner.call(req), guard, http1))
    }
}

fn unavailable<B>(retry_after: u64, http1: bool) -> Response<DrainBody<B>> {
    let mut response = Response::new(DrainBody::empty());
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(RETRY_AFTER, HeaderValue::from(retry_after));
    if http1 {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

pin_project! {
    /// The response future of [`DrainService`].
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner {
            #[pin]
            future: F,
            // Dropped with the future if the client goes away first.
            guard: Option<InFlight>,
            http1: bool,
        },
        Rejected {
            response: Option<Response<DrainBody<B>>>,
        },
    }
}

impl<F, B> ResponseFuture<F, B> {
    fn inner(future: F, guard: InFlight, http1: bool) -> Self {
        Self {
            kind: Kind::Inner {
                future,
                guard: Some(guard),
                http1,
            },
        }
    }

    /// The `503` answer to a rejected request.
    pub(crate) fn unavailable(shared: &Inner, http1: bool) -> Self {
        let response = unavailable(shared.config.retry_after_secs(), http1);
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "inner",
            Kind::Rejected { .. } => "rejected",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<DrainBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner {
                future,
                guard,
                http1,
            } => {
                let response = ready!(future.poll(cx))?;
                let Some(guard) = guard.take() else {
                    panic!("ResponseFuture polled after completion");
                };
                let (mut parts, body) = response.into_parts();
                // Read the state now, not at the request's start: a slow
                // request that began before the drain must still close its
                // connection.
                // A 101 answer hands the connection to an upgrade; closing it
                // would break the upgrade.
                if *http1
                    && parts.status != StatusCode::SWITCHING_PROTOCOLS
                    && guard.inner.state() != DrainState::Serving
                {
                    parts
                        .headers
                        .insert(CONNECTION, HeaderValue::from_static("close"));
                }
                Poll::Ready(Ok(Response::from_parts(
                    parts,
                    DrainBody::tracked(body, guard),
                )))
            }
            KindProj::Rejected { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("ResponseFuture polled after completion"),
            },
        }
    }
}
