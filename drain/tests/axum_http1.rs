//! The layer under axum 0.8 over real sockets on loopback, HTTP/1.1.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get as route;
use http::StatusCode;
use http::header::RETRY_AFTER;

use cofferdam_drain::{Drain, DrainConfig, DrainMode, DrainOutcome, DrainState};
use common::{Conn, Gate, PATIENCE, get, serve, until, until_refused};

fn app(drain: &Drain, gate: &Gate) -> Router {
    let gate = gate.clone();
    Router::new()
        .route("/", route(|| async { "hello" }))
        .route(
            "/held",
            route(move || {
                let gate = gate.clone();
                async move {
                    gate.pass().await;
                    "done"
                }
            }),
        )
        .route_service("/readyz", drain.readiness())
        .route_service("/healthz", drain.liveness())
        .layer(drain.layer())
}

#[tokio::test]
async fn a_request_begun_before_the_drain_completes_after_the_listener_closes() {
    let drain = Drain::new(
        DrainConfig::new()
            .drain_delay(Duration::from_millis(100))
            .drain_timeout(PATIENCE),
    );
    let gate = Gate::default();
    let (addr, server) = serve(app(&drain, &gate), &drain).await;

    let held = tokio::spawn(get(addr, "/held"));
    until("the request to be in flight", || drain.in_flight() == 1).await;
    drain.begin_drain();
    drain.shutdown_signal().await;
    until_refused(addr).await;
    assert_eq!(
        drain.state(),
        DrainState::Closing,
        "still waiting for /held"
    );
    assert!(!server.is_finished());

    gate.open();
    let answer = held.await.unwrap();
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "done");
    assert!(
        answer.closes(),
        "a draining HTTP/1 response closes its connection"
    );

    tokio::time::timeout(PATIENCE, server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(drain.wait_drained(PATIENCE).await, Ok(()));
    assert_eq!(drain.outcome(), Some(DrainOutcome::Drained));
}

#[tokio::test]
async fn during_the_delay_requests_are_served_with_connection_close() {
    let drain = Drain::new(DrainConfig::new().drain_delay(PATIENCE * 6));
    let (addr, server) = serve(app(&drain, &Gate::default()), &drain).await;

    let mut keep_alive = Conn::open(addr).await;
    let before = keep_alive.get("/").await;
    assert_eq!(before.status, StatusCode::OK);
    assert!(!before.closes());
    assert_eq!(get(addr, "/readyz").await.status, StatusCode::OK);

    drain.begin_drain();
    let during = keep_alive.get("/").await;
    assert_eq!(
        during.status,
        StatusCode::OK,
        "still served during the delay"
    );
    assert!(during.closes());
    keep_alive.closed().await;

    // New connections are still accepted and served during the delay.
    let fresh = get(addr, "/").await;
    assert_eq!(fresh.status, StatusCode::OK);
    assert!(fresh.closes());
    assert_eq!(
        get(addr, "/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(get(addr, "/healthz").await.status, StatusCode::OK);
    assert_eq!(drain.rejected(), 0);

    drain.force();
    tokio::time::timeout(PATIENCE, server)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn reject_new_mode_sends_503_with_retry_after() {
    let drain = Drain::new(
        DrainConfig::new()
            .drain_delay(PATIENCE * 6)
            .drain_mode(DrainMode::RejectNew)
            .retry_after(Duration::from_secs(3)),
    );
    let gate = Gate::default();
    let (addr, server) = serve(app(&drain, &gate), &drain).await;
    let held = tokio::spawn(get(addr, "/held"));
    until("the request to be in flight", || drain.in_flight() == 1).await;

    drain.begin_drain();
    let rejected = get(addr, "/").await;
    assert_eq!(rejected.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(rejected.headers[RETRY_AFTER], "3");
    assert!(rejected.closes());
    assert_eq!(get(addr, "/healthz").await.status, StatusCode::OK, "exempt");
    assert_eq!(drain.rejected(), 1);

    gate.open();
    let finished = held.await.unwrap();
    assert_eq!(finished.status, StatusCode::OK, "in-flight requests finish");
    assert_eq!(drain.wait_drained(PATIENCE).await, Ok(()));

    drain.force();
    tokio::time::timeout(PATIENCE, server)
        .await
        .unwrap()
        .unwrap();
}
