//! HTTP/2: after the delay the server sends GOAWAY, new streams are refused,
//! and a stream already in flight still completes.

mod common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get as route;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use cofferdam_drain::{Drain, DrainConfig, DrainOutcome};
use common::{Gate, PATIENCE, serve, until};

fn request(path: &str) -> Request<Body> {
    Request::get(format!("http://test{path}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn an_in_flight_stream_completes_after_goaway() {
    let drain = Drain::new(
        DrainConfig::new()
            .drain_delay(Duration::from_millis(100))
            .drain_timeout(PATIENCE),
    );
    let gate = Gate::default();
    let held = gate.clone();
    let app = Router::new()
        .route("/", route(|| async { "hello" }))
        .route(
            "/held",
            route(move || {
                let gate = held.clone();
                async move {
                    gate.pass().await;
                    "done"
                }
            }),
        )
        .layer(drain.layer());
    let (addr, server) = serve(app, &drain).await;

    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .unwrap();
    let conn = tokio::spawn(conn);

    let ok = sender.send_request(request("/")).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(
        ok.headers().get("connection").is_none(),
        "no connection header on h2"
    );

    let in_flight = tokio::spawn(sender.send_request(request("/held")));
    until("the stream to be in flight", || drain.in_flight() == 1).await;

    drain.begin_drain();
    drain.shutdown_signal().await;

    // GOAWAY reaches the client shortly after the signal; from then on new
    // streams on this connection fail. A stream sent in the instant before it
    // arrives may still be served, which is fine; one must not hang.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "no GOAWAY seen");
        let attempt = tokio::time::timeout(PATIENCE, async {
            sender.ready().await?;
            sender.send_request(request("/")).await
        })
        .await
        .expect("a new stream after GOAWAY hung");
        match attempt {
            Err(_) => break,
            Ok(response) => {
                assert_eq!(response.status(), StatusCode::OK);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    gate.open();
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight stream completes");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"done");

    tokio::time::timeout(PATIENCE, conn)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    tokio::time::timeout(PATIENCE, server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(drain.outcome(), Some(DrainOutcome::Drained));
}
