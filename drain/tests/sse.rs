//! An endless server-sent-events stream is ended at the drain deadline, so
//! it cannot hold the shutdown forever.

mod common;

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::response::sse::{Event, Sse};
use axum::routing::get as route;
use futures::stream;
use http::StatusCode;
use http_body_util::BodyExt;

use cofferdam_drain::{Drain, DrainConfig, DrainOutcome};
use common::{Conn, PATIENCE, serve};

fn ticks() -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    Sse::new(stream::unfold(0u64, |n| async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Some((Ok(Event::default().data(n.to_string())), n + 1))
    }))
}

#[tokio::test]
async fn an_endless_event_stream_ends_cleanly_at_the_deadline() {
    let drain = Drain::new(
        DrainConfig::new()
            .drain_delay(Duration::from_millis(100))
            .drain_timeout(Duration::from_millis(300)),
    );
    let app = Router::new()
        .route("/events", route(|| async { ticks() }))
        .layer(drain.layer());
    let (addr, server) = serve(app, &drain).await;

    let mut conn = Conn::open(addr).await;
    let response = conn.send("/events").await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(first.starts_with(b"data: 0"), "{first:?}");

    drain.begin_drain();
    // Read to the end: it must come as a clean end of stream (the chunked
    // terminator), not as a severed connection.
    let mut events = 1;
    let end = tokio::time::timeout(PATIENCE, async {
        while let Some(frame) = body.frame().await {
            frame.expect("the stream ends without an error");
            events += 1;
        }
    })
    .await;
    assert!(end.is_ok(), "the stream was not ended at the deadline");
    assert!(events > 1, "events kept flowing during the drain");

    tokio::time::timeout(PATIENCE, server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        drain.outcome(),
        Some(DrainOutcome::TimedOut { in_flight: 1 })
    );
    assert_eq!(drain.force_closed(), 1);
    assert_eq!(drain.wait_drained(PATIENCE).await, Ok(()));
}
