use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tokio::time::sleep;
use tower::{Layer, ServiceExt, service_fn};

use super::{DELAY, TIMEOUT, drain, get, hello, settle};
use crate::{DrainOutcome, DrainState};

/// Yields one frame, then stays pending forever, like an SSE stream between
/// events.
#[derive(Default)]
struct Endless {
    sent: bool,
}

impl Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if self.sent {
            return Poll::Pending;
        }
        self.sent = true;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"data: tick\n\n")))))
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_stays_counted_until_its_body_is_dropped() {
    let drain = drain();
    let svc = drain.layer().layer(service_fn(hello));
    let response = svc.oneshot(get("/")).await.unwrap();
    assert_eq!(drain.in_flight(), 1, "headers sent, body not yet");
    drop(response);
    assert_eq!(drain.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_body_read_to_its_end_releases_the_count_before_it_is_dropped() {
    let drain = drain();
    let svc = drain.layer().layer(service_fn(hello));
    let mut body = svc.oneshot(get("/")).await.unwrap().into_body();
    assert_eq!(drain.in_flight(), 1);
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap(), "hello");
    assert!(body.frame().await.is_none());
    assert_eq!(drain.in_flight(), 0);
    assert!(body.is_end_stream());
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_handler_releases_the_count() {
    let drain = drain();
    let svc = drain
        .layer()
        .layer(service_fn(|_req: Request<String>| async {
            sleep(Duration::from_secs(3600)).await;
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
    let call = tokio::spawn(svc.oneshot(get("/")));
    settle().await;
    assert_eq!(drain.in_flight(), 1);
    call.abort();
    let _ = call.await;
    assert_eq!(drain.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn exempt_paths_are_not_counted() {
    let drain = drain();
    let svc = drain.layer().layer(service_fn(hello));
    let response = svc.oneshot(get("/metrics")).await.unwrap();
    assert_eq!(drain.in_flight(), 0);
    drop(response);
    assert_eq!(drain.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_endless_body_ends_at_the_deadline() {
    let drain = drain();
    let svc = drain
        .layer()
        .layer(service_fn(|_req: Request<String>| async {
            Ok::<_, Infallible>(Response::new(Endless::default()))
        }));
    let mut body = svc.oneshot(get("/events")).await.unwrap().into_body();
    assert!(body.frame().await.is_some(), "the first event");

    drain.begin_drain();
    let reader = tokio::spawn(async move {
        let end = body.frame().await;
        (end.is_none(), tokio::time::Instant::now())
    });
    sleep(DELAY + TIMEOUT - Duration::from_secs(1)).await;
    assert!(!reader.is_finished(), "streams run until the deadline");
    assert_eq!(drain.in_flight(), 1);

    let (ended, _) = reader.await.unwrap();
    assert!(ended, "the body ended cleanly, without an error");
    assert_eq!(drain.state(), DrainState::Closed);
    assert_eq!(
        drain.outcome(),
        Some(DrainOutcome::TimedOut { in_flight: 1 })
    );
    assert_eq!(drain.force_closed(), 1);
    assert_eq!(drain.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn force_ends_streams_at_once() {
    let drain = drain();
    let svc = drain
        .layer()
        .layer(service_fn(|_req: Request<String>| async {
            Ok::<_, Infallible>(Response::new(Endless::default()))
        }));
    let mut body = svc.oneshot(get("/events")).await.unwrap().into_body();
    assert!(body.frame().await.is_some());
    let reader = tokio::spawn(async move { body.frame().await.is_none() });
    settle().await;
    drain.force();
    assert!(reader.await.unwrap());
    assert_eq!(drain.force_closed(), 1);
    assert_eq!(drain.in_flight(), 0);
}
