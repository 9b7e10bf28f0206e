//! HTTP/2: after the delay the server sends GOAWAY. A stream the client sent
//! before GOAWAY reached it is served in full, even one that reaches the app
//! after everything else has finished; a stream sent after GOAWAY is refused
//! in a way the client may retry. None is answered 503 or reset.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::middleware::{self, Next};
use axum::routing::get as route;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use cofferdam_drain::{Drain, DrainConfig, DrainOutcome, DrainState};
use common::{Gate, PATIENCE, serve, until};

fn request(path: &str) -> Request<Body> {
    Request::get(format!("http://test{path}"))
        .body(Body::empty())
        .unwrap()
}

/// What became of one request.
#[derive(Debug)]
enum Fate {
    Served(StatusCode, Bytes),
    /// Not processed, and the client knows it: safe to send again elsewhere.
    Retryable(String),
}

/// Sends a GET. A failure must be one RFC 9113 lets a client retry: the
/// request was never sent, or the server said the stream was not processed
/// (`REFUSED_STREAM`, or a `GOAWAY` whose last stream id is below it).
/// Anything else, such as a reset with another code, fails the test.
async fn attempt(sender: &mut http2::SendRequest<Body>, path: &str) -> Fate {
    if let Err(error) = sender.ready().await {
        return Fate::Retryable(format!("not sent: {error}"));
    }
    match sender.try_send_request(request(path)).await {
        Ok(response) => {
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            Fate::Served(status, body)
        }
        Err(failed) if failed.message().is_some() => {
            Fate::Retryable(format!("not sent: {}", failed.error()))
        }
        Err(failed) => {
            let error = failed.into_error();
            match h2_error(&error) {
                Some(h2) if h2.reason() == Some(h2::Reason::REFUSED_STREAM) => {
                    Fate::Retryable(format!("refused: {h2}"))
                }
                Some(h2) if h2.is_go_away() && h2.reason() == Some(h2::Reason::NO_ERROR) => {
                    Fate::Retryable(format!("above GOAWAY: {h2}"))
                }
                _ => panic!("{path}: failed in a way a client may not retry: {error:?}"),
            }
        }
    }
}

fn h2_error(error: &hyper::Error) -> Option<&h2::Error> {
    let mut cause = std::error::Error::source(error);
    while let Some(err) = cause {
        if let Some(h2) = err.downcast_ref::<h2::Error>() {
            return Some(h2);
        }
        cause = err.source();
    }
    None
}

async fn connect(addr: std::net::SocketAddr) -> (http2::SendRequest<Body>, JoinHandle<()>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .unwrap();
    let conn = tokio::spawn(async move { conn.await.expect("the connection ends cleanly") });
    (sender, conn)
}

fn drain() -> Drain {
    Drain::new(
        DrainConfig::new()
            .drain_delay(Duration::from_millis(100))
            .drain_timeout(PATIENCE),
    )
}

/// The handler of `/held` waits for `gate`.
fn held_route(gate: &Gate) -> axum::routing::MethodRouter {
    let gate = gate.clone();
    route(move || {
        let gate = gate.clone();
        async move {
            gate.pass().await;
            "done"
        }
    })
}

/// Sends new streams until one fails, which it must do once GOAWAY has
/// reached the client; each must be served `200` or refused retryably.
async fn new_streams_until_refused(sender: &mut http2::SendRequest<Body>) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "no GOAWAY seen");
        let fate = tokio::time::timeout(PATIENCE, attempt(sender, "/"))
            .await
            .expect("a new stream after GOAWAY hung");
        match fate {
            Fate::Served(status, body) => {
                assert_eq!(status, StatusCode::OK, "{body:?}");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Fate::Retryable(why) => {
                eprintln!("a stream after GOAWAY: {why}");
                return;
            }
        }
    }
}

#[tokio::test]
async fn an_in_flight_stream_completes_after_goaway() {
    let drain = drain();
    let gate = Gate::default();
    let app = Router::new()
        .route("/", route(|| async { "hello" }))
        .route("/held", held_route(&gate))
        .layer(drain.layer());
    let (addr, server) = serve(app, &drain).await;
    let (mut sender, conn) = connect(addr).await;

    let ok = sender.send_request(request("/")).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(
        ok.headers().get("connection").is_none(),
        "no connection header on h2"
    );

    let in_flight = tokio::spawn(sender.send_request(request("/held")));
    until("the stream to be in flight", || drain.in_flight() == 1).await;

    drain.begin_drain();
    match attempt(&mut sender, "/").await {
        Fate::Served(status, _) => assert_eq!(status, StatusCode::OK, "served while draining"),
        other => panic!("a stream sent during the delay was not served: {other:?}"),
    }
    drain.shutdown_signal().await;
    new_streams_until_refused(&mut sender).await;

    gate.open();
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight stream completes");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"done");

    tokio::time::timeout(PATIENCE, conn).await.unwrap().unwrap();
    tokio::time::timeout(PATIENCE, server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(drain.outcome(), Some(DrainOutcome::Drained));
}

/// The race seen with `h2load`: the client has sent a stream, hyper has
/// accepted it, but the layer has not seen it yet when the last counted
/// request finishes, so the drain finds nothing in flight. That stream was
/// sent before GOAWAY and must be served in full, and the server must wait
/// for it. A middleware outside the layer holds the stream at that point,
/// where hyper's own queue would hold it in the wild.
#[tokio::test]
async fn a_stream_accepted_before_goaway_is_served_after_the_drain_emptied() {
    let drain = drain();
    let counted = Gate::default();
    let uncounted = Gate::default();
    let arrived = Arc::new(AtomicUsize::new(0));
    let outside = {
        let (gate, arrived) = (uncounted.clone(), arrived.clone());
        middleware::from_fn(move |req: Request<Body>, next: Next| {
            let (gate, arrived) = (gate.clone(), arrived.clone());
            async move {
                if req.uri().path() == "/late" {
                    arrived.fetch_add(1, SeqCst);
                    gate.pass().await;
                }
                next.run(req).await
            }
        })
    };
    let app = Router::new()
        .route("/", route(|| async { "hello" }))
        .route("/held", held_route(&counted))
        .route("/late", route(|| async { "late but whole" }))
        .layer(drain.layer())
        .layer(outside);
    let (addr, server) = serve(app, &drain).await;
    let (mut sender, conn) = connect(addr).await;

    let held = tokio::spawn(sender.send_request(request("/held")));
    let late = tokio::spawn(sender.send_request(request("/late")));
    until("both streams to reach the app", || {
        drain.in_flight() == 1 && arrived.load(SeqCst) == 1
    })
    .await;

    drain.begin_drain();
    drain.shutdown_signal().await;
    new_streams_until_refused(&mut sender).await;

    // The last counted request finishes: the drain is empty and closes.
    counted.open();
    let held = held.await.unwrap().expect("the held stream completes");
    assert_eq!(held.status(), StatusCode::OK);
    until("the drain to close", || drain.state() == DrainState::Closed).await;
    assert_eq!(drain.outcome(), Some(DrainOutcome::Drained));
    assert!(
        !drain.deadline_token().is_cancelled(),
        "an empty drain is not the deadline"
    );
    assert!(
        !server.is_finished(),
        "the server still waits for the connection with an open stream"
    );

    uncounted.open();
    let late = late.await.unwrap().expect("the late stream is answered");
    assert_eq!(late.status(), StatusCode::OK, "served, not rejected");
    let body = late.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"late but whole");
    assert_eq!(drain.rejected(), 0);

    tokio::time::timeout(PATIENCE, conn).await.unwrap().unwrap();
    tokio::time::timeout(PATIENCE, server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(drain.in_flight(), 0);
    assert_eq!(drain.force_closed(), 0);
}
