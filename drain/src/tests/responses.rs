use std::convert::Infallible;
use std::time::Duration;

use http::header::{CONNECTION, RETRY_AFTER};
use http::{Request, Response, StatusCode, Version};
use tokio::time::sleep;
use tower::{Layer, ServiceExt, service_fn};

use super::{DELAY, TIMEOUT, drain, get, hello, settle};
use crate::{Drain, DrainConfig, DrainMode, DrainState};

fn with_version(path: &str, version: Version) -> Request<String> {
    Request::get(path)
        .version(version)
        .body(String::new())
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn no_connection_close_while_serving() {
    let drain = drain();
    let svc = drain.layer().layer(service_fn(hello));
    let response = svc.oneshot(get("/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(CONNECTION).is_none());
}

#[tokio::test(start_paused = true)]
async fn draining_http1_responses_carry_connection_close() {
    let drain = drain();
    let svc = drain.layer().layer(service_fn(hello));
    drain.begin_drain();
    for version in [Version::HTTP_10, Version::HTTP_11] {
        let response = svc
            .clone()
            .oneshot(with_version("/", version))
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{version:?}: still served"
        );
        assert_eq!(response.headers()[CONNECTION], "close", "{version:?}");
    }
    // hyper strips connection headers from HTTP/2 with a warning; GOAWAY
    // does that job there.
    let h2 = svc
        .oneshot(with_version("/", Version::HTTP_2))
        .await
        .unwrap();
    assert_eq!(h2.status(), StatusCode::OK);
    assert!(h2.headers().get(CONNECTION).is_none());
}

#[tokio::test(start_paused = true)]
async fn a_request_begun_before_the_drain_closes_its_connection() {
    let drain = drain();
    let svc = drain
        .layer()
        .layer(service_fn(|_req: Request<String>| async {
            sleep(Duration::from_secs(2)).await;
            Ok::<_, Infallible>(Response::new("slow".to_owned()))
        }));
    let call = tokio::spawn(svc.oneshot(get("/slow")));
    settle().await;
    drain.begin_drain();
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONNECTION], "close");
}

#[tokio::test(start_paused = true)]
async fn keep_serving_mode_serves_through_closing_then_rejects_once_closed() {
    let drain = drain();
    let svc = drain.layer().layer(service_fn(hello));
    let _held = drain.track();
    drain.begin_drain();
    sleep(DELAY + Duration::from_secs(1)).await;
    assert_eq!(drain.state(), DrainState::Closing);
    let response = svc.clone().oneshot(get("/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    drop(response);

    sleep(TIMEOUT).await;
    assert_eq!(drain.state(), DrainState::Closed);
    let response = svc.oneshot(get("/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    assert_eq!(drain.rejected(), 1);
}

/// An HTTP/2 stream sent just before `GOAWAY` reached the client can reach
/// the layer after the drain emptied and closed; it is owed an answer.
#[tokio::test(start_paused = true)]
async fn an_emptied_drain_serves_late_requests_until_its_deadline() {
    let drain = drain();
    let svc = drain.layer().layer(service_fn(hello));
    drain.begin_drain();
    sleep(DELAY + Duration::from_secs(1)).await;
    assert_eq!(drain.state(), DrainState::Closed);

    let late = svc
        .clone()
        .oneshot(with_version("/", Version::HTTP_2))
        .await
        .unwrap();
    assert_eq!(late.status(), StatusCode::OK);
    assert_eq!(drain.in_flight(), 1, "counted like any other");
    drop(late);
    assert_eq!(drain.rejected(), 0);

    sleep(TIMEOUT).await;
    assert!(drain.deadline_token().is_cancelled());
    let past = svc.oneshot(get("/")).await.unwrap();
    assert_eq!(past.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(drain.rejected(), 1);
}

#[tokio::test(start_paused = true)]
async fn reject_new_mode_answers_503_with_retry_after() {
    let drain = Drain::new(
        DrainConfig::new()
            .drain_delay(DELAY)
            .drain_mode(DrainMode::RejectNew)
            .retry_after(Duration::from_secs(7)),
    );
    let svc = drain.layer().layer(service_fn(hello));
    let served = svc.clone().oneshot(get("/")).await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(drain.in_flight(), 1, "the first response is still held");

    drain.begin_drain();
    let rejected = svc.clone().oneshot(get("/")).await.unwrap();
    assert_eq!(rejected.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(rejected.headers()[RETRY_AFTER], "7");
    assert_eq!(rejected.headers()[CONNECTION], "close");
    assert_eq!(drain.rejected(), 1);
    assert_eq!(drain.in_flight(), 1, "a rejected request is not in flight");

    // Exempt paths still reach the service.
    let health = svc.oneshot(get("/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(drain.rejected(), 1);
}

#[tokio::test(start_paused = true)]
async fn readiness_flips_and_liveness_stays_up() {
    let drain = drain();
    let ready = drain.readiness();
    let live = drain.liveness();
    let status = |r: Response<String>| r.status();
    assert_eq!(
        status(ready.clone().oneshot(get("/readyz")).await.unwrap()),
        StatusCode::OK
    );
    drain.begin_drain();
    let answer = ready.clone().oneshot(get("/readyz")).await.unwrap();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.body(), "draining\n");
    assert_eq!(
        status(live.clone().oneshot(get("/healthz")).await.unwrap()),
        StatusCode::OK
    );

    drain.force();
    assert_eq!(
        status(ready.oneshot(get("/readyz")).await.unwrap()),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        status(live.oneshot(get("/healthz")).await.unwrap()),
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn probes_mounted_behind_the_layer_are_exempt_by_default() {
    let drain = Drain::new(DrainConfig::new().drain_mode(DrainMode::RejectNew));
    let svc = drain.layer().layer(drain.readiness());
    drain.begin_drain();
    let answer = svc.oneshot(get("/readyz")).await.unwrap();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        answer.headers().get(RETRY_AFTER).is_none(),
        "the probe answered, not the layer's rejection"
    );
    assert_eq!(drain.rejected(), 0);
}
