//! Shut an HTTP server down during a rollout without severing a request.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use axum::{Router, routing::get};
//! use cofferdam_drain::{Drain, DrainConfig};
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let drain = Drain::new(
//!         DrainConfig::new()
//!             .drain_delay(Duration::from_secs(10)) // > load balancer lag
//!             .drain_timeout(Duration::from_secs(15)), // delay + timeout < grace period
//!     );
//!     let app = Router::new()
//!         .route("/", get(|| async { "hello" }))
//!         .route_service("/readyz", drain.readiness())
//!         .route_service("/healthz", drain.liveness())
//!         .layer(drain.layer());
//!
//!     // SIGTERM begins the drain, a second SIGTERM or SIGINT forces it.
//!     drain.install_signal_handlers()?;
//!     # drain.force(); // end this example at once
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let server = axum::serve(listener, app).with_graceful_shutdown(drain.shutdown_signal());
//!     tokio::select! {
//!         // Every connection has finished, HTTP/2 ones after their GOAWAY.
//!         served = server => served?,
//!         // The drain timeout passed: a connection that never finishes must
//!         // not hold the process.
//!         () = drain.deadline_token().cancelled_owned() => {}
//!     }
//!     drain.closed().await;
//!     println!("drain outcome: {:?}", drain.outcome());
//!     Ok(())
//! }
//! ```
//!
//! # What happens during a drain
//!
//! An orchestrator sends `SIGTERM`, removes the instance from its load
//! balancer a little later, and sends `SIGKILL` after a grace period. In the
//! default [`DrainMode::KeepServing`]:
//!
//! 1. [`Drain::begin_drain`] (the first signal): the readiness probe answers
//!    `503`; every request is still served, and HTTP/1 responses carry
//!    `Connection: close` so keep-alive clients reconnect, through the
//!    balancer, to another instance. [`Drain::shutdown_token`] is cancelled.
//! 2. After the **drain delay**, [`Drain::shutdown_signal`] resolves: the
//!    server stops accepting, and hyper sends HTTP/2 clients `GOAWAY`.
//! 3. Requests in flight get up to the **drain timeout**. The state becomes
//!    [`DrainState::Closed`] as soon as none is left, or at the deadline, when
//!    streaming bodies (SSE included) are ended and the count left is
//!    reported; [`Drain::deadline_token`] is cancelled at the deadline only.
//!    An empty drain is not a finished server: an HTTP/2 client may have
//!    sent a stream just before `GOAWAY` reached it, and hyper hands it to
//!    the layer after the drain emptied. It is served, and the server future
//!    resolves once the connection is done, so await the server, bounded by
//!    the deadline, before returning from `main`.
//!
//! Measured on loopback with a balancer that lags, this loses no request,
//! whereas answering `503` during the delay turns the lag into client errors.
//! [`DrainMode::RejectNew`] (`503` with `Retry-After`) is there for
//! balancers that retry `503`.
//!
//! A request is counted from the moment the layer sees it until its response
//! body has been sent or dropped, and the count is taken before the state is
//! read, so no request slips between "not draining yet" and "nothing in
//! flight".
//!
//! # Plain hyper
//!
//! The layer is a [`tower::Layer`]; wrap the service with hyper-util's
//! `TowerToHyperService`, stop the accept loop on [`Drain::shutdown_signal`],
//! and give each connection to hyper-util's `GracefulShutdown`. Here the
//! layer can also refuse the HTTP/2 requests it will not serve with
//! `REFUSED_STREAM`, which clients retry, instead of answering `503`
//! ([`DrainLayer::refuse_http2`]):
//!
//! ```ignore
//! let service = TowerToHyperService::new(
//!     ServiceBuilder::new()
//!         .layer(drain.layer().refuse_http2())
//!         .service(service_fn(handler)),
//! );
//! let graceful = GracefulShutdown::new();
//! let stop = drain.shutdown_signal();
//! tokio::pin!(stop);
//! loop {
//!     tokio::select! {
//!         accepted = listener.accept() => {
//!             let (io, _) = accepted?;
//!             let conn = builder.serve_connection(TokioIo::new(io), service.clone());
//!             tokio::spawn(graceful.watch(conn.into_owned()));
//!         }
//!         () = &mut stop => break,
//!     }
//! }
//! drop(listener);
//! tokio::select! {
//!     () = graceful.shutdown() => {}
//!     () = drain.deadline_token().cancelled_owned() => {}
//! }
//! drain.closed().await;
//! ```
//!
//! # Features
//!
//! This crate has no features of its own. The `cofferdam` crate re-exports it
//! as `cofferdam::drain` behind its default feature `drain`.
//!
//! # Limits
//!
//! * **Upgraded connections (WebSocket) are not counted** once the `101`
//!   response is sent, and hyper's graceful shutdown does not wait for them.
//!   Hold a [`Drain::track`] guard in the WebSocket task and close it on
//!   [`Drain::deadline_token`].
//! * **HTTP/2 `GOAWAY` cannot come from a layer.** It comes from the server:
//!   axum's `with_graceful_shutdown` or hyper-util's `GracefulShutdown`,
//!   driven by [`Drain::shutdown_signal`]. A client that has seen `GOAWAY`
//!   opens no new stream on the connection, and hyper leaves unprocessed,
//!   for the client to retry, any stream numbered above the last one it
//!   accepted.
//! * **Under axum, a request the layer will not serve gets `503`,** even on
//!   HTTP/2: `axum::serve` takes only services that never fail, and a layer
//!   can only refuse a stream by failing. In the default mode that happens
//!   only past the drain deadline. With hyper-util, use
//!   [`DrainLayer::refuse_http2`].
//! * A connection stalled in the middle of its request headers never reaches
//!   the layer; axum 0.8 sets no header timeout, so its graceful shutdown can
//!   wait for it forever. Bound the server future by
//!   [`Drain::deadline_token`], as above.
//! * A body with a declared `Content-Length` that is ended at the deadline is
//!   cut short, and hyper closes its connection.
//! * The signal handler replaces the default action of `SIGTERM` and
//!   `SIGINT` for the whole process; the library never calls `exit()`, so
//!   the application must return from `main` once the drain is closed.
//! * The clock that moves the states runs on the Tokio runtime current at
//!   [`Drain::begin_drain`]; if that runtime stops, the clock stops with it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod clock;
mod config;
mod guard;
mod handle;
mod layer;
mod listen;
mod probe;
mod refuse;
mod shared;
mod signal;
mod state;

pub use body::DrainBody;
pub use config::{DEFAULT_EXEMPT_PATHS, DrainConfig, DrainMode};
pub use guard::InFlight;
pub use handle::Drain;
pub use layer::{DrainLayer, DrainService, ResponseFuture};
pub use probe::{Liveness, Readiness};
pub use refuse::{BoxError, RefuseFuture, RefuseHttp2, RefuseHttp2Layer, RefusedStream};
pub use signal::{Signal, SignalHandler};
pub use state::{DrainOutcome, DrainState, DrainStats, Remaining};

#[cfg(test)]
mod tests;
