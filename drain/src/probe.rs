//! Readiness and liveness probes to mount on the router.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Request, Response, StatusCode};
use tower::Service;

use crate::shared::Inner;
use crate::state::DrainState;

/// The readiness probe: `200 ready` while serving, `503 draining` from the
/// moment the drain begins, so the orchestrator and any balancer that
/// health-checks the app stop sending traffic here.
///
/// It is a tower service for any request body, so it mounts on axum with
/// `Router::route_service("/readyz", drain.readiness())` and answers directly
/// in a hyper `service_fn`. Keep its path among the exempt paths (the
/// default) so the drain never rejects the probe itself.
#[derive(Debug, Clone)]
pub struct Readiness {
    shared: Arc<Inner>,
}

impl Readiness {
    pub(crate) fn new(shared: Arc<Inner>) -> Self {
        Self { shared }
    }

    /// The answer the probe would give now.
    pub fn response(&self) -> Response<String> {
        if self.shared.state() == DrainState::Serving {
            plain(StatusCode::OK, "ready\n")
        } else {
            plain(StatusCode::SERVICE_UNAVAILABLE, "draining\n")
        }
    }
}

impl<B> Service<Request<B>> for Readiness {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<B>) -> Self::Future {
        ready(Ok(self.response()))
    }
}

/// The liveness probe: always `200 ok`. A draining process is alive;
/// failing liveness would make the orchestrator restart it mid-drain.
#[derive(Debug, Clone, Default)]
pub struct Liveness {
    _private: (),
}

impl Liveness {
    pub(crate) fn new() -> Self {
        Self::default()
    }
}

impl<B> Service<Request<B>> for Liveness {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<B>) -> Self::Future {
        ready(Ok(plain(StatusCode::OK, "ok\n")))
    }
}

fn plain(status: StatusCode, text: &str) -> Response<String> {
    let mut response = Response::new(text.to_owned());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
