//! Refusing HTTP/2 streams with `REFUSED_STREAM` instead of answering `503`,
//! for servers whose service may fail (hyper, hyper-util).
//!
//! hyper answers a service error on an HTTP/2 stream with `RST_STREAM`,
//! taking the code from an `h2::Error` found among the error's sources.
//! `REFUSED_STREAM` tells the client the request was not processed and may be
//! sent again (RFC 9113, section 8.7); HTTP/2 clients retry it on another
//! connection. axum cannot use this: `axum::serve` and `Router::layer`
//! require services that never fail.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::body::DrainBody;
use crate::layer::{DrainLayer, DrainService, ResponseFuture};

/// The error type of [`RefuseHttp2`]: the inner service's error, or
/// [`RefusedStream`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The error [`RefuseHttp2`] returns for an HTTP/2 request the drain will not
/// serve. hyper sends it to the client as `RST_STREAM(REFUSED_STREAM)`.
#[derive(Debug, thiserror::Error)]
#[error("request refused: the server is draining; send it again on another connection")]
pub struct RefusedStream {
    #[source]
    reason: h2::Error,
}

impl RefusedStream {
    fn new() -> Self {
        Self {
            reason: h2::Reason::REFUSED_STREAM.into(),
        }
    }
}

impl DrainLayer {
    /// This layer, refusing the HTTP/2 requests it would answer `503`
    /// (past the drain deadline, or while draining in
    /// [`DrainMode::RejectNew`](crate::DrainMode::RejectNew)) with
    /// `REFUSED_STREAM`, which clients retry. HTTP/1 requests still get the
    /// `503`. The service's errors become [`BoxError`], which hyper-util's
    /// `TowerToHyperService` accepts; axum does not (see the crate docs).
    pub fn refuse_http2(self) -> RefuseHttp2Layer {
        RefuseHttp2Layer { layer: self }
    }
}

/// The layer made by [`DrainLayer::refuse_http2`].
#[derive(Debug, Clone)]
pub struct RefuseHttp2Layer {
    layer: DrainLayer,
}

impl<S> Layer<S> for RefuseHttp2Layer {
    type Service = RefuseHttp2<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RefuseHttp2 {
            inner: self.layer.layer(inner),
        }
    }
}

/// A [`DrainService`] that refuses HTTP/2 requests instead of answering
/// `503`; made by [`RefuseHttp2Layer`].
#[derive(Debug, Clone)]
pub struct RefuseHttp2<S> {
    inner: DrainService<S>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RefuseHttp2<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
{
    type Response = Response<DrainBody<ResBody>>;
    type Error = BoxError;
    type Future = RefuseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let kind = match self.inner.try_call(req) {
            Ok(future) => Kind::Answer { future },
            Err(true) => Kind::Answer {
                future: ResponseFuture::unavailable(self.inner.shared(), true),
            },
            Err(false) => Kind::Refused,
        };
        RefuseFuture { kind }
    }
}

pin_project! {
    /// The response future of [`RefuseHttp2`].
    pub struct RefuseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Answer {
            #[pin]
            future: ResponseFuture<F, B>,
        },
        Refused,
    }
}

impl<F, B> std::fmt::Debug for RefuseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let refused = matches!(self.kind, Kind::Refused);
        f.debug_struct("RefuseFuture")
            .field("refused", &refused)
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for RefuseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response<DrainBody<B>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Answer { future } => future.poll(cx).map_err(Into::into),
            KindProj::Refused => Poll::Ready(Err(Box::new(RefusedStream::new()))),
        }
    }
}
