use std::time::Duration;

use tokio::time::sleep;

use super::{DELAY, TIMEOUT, drain, settle};
use crate::{DrainOutcome, DrainState, Remaining};

#[tokio::test(start_paused = true)]
async fn an_idle_drain_goes_serving_draining_closing_closed() {
    let drain = drain();
    assert_eq!(drain.state(), DrainState::Serving);
    assert!(drain.is_ready());
    assert_eq!(drain.drain_duration(), None);
    assert!(!drain.shutdown_token().is_cancelled());

    assert!(drain.begin_drain());
    assert_eq!(drain.state(), DrainState::Draining);
    assert!(!drain.is_ready());
    assert!(drain.shutdown_token().is_cancelled());

    sleep(DELAY / 2).await;
    assert_eq!(
        drain.state(),
        DrainState::Draining,
        "still within the delay"
    );
    assert!(!drain.deadline_token().is_cancelled());

    // Idle: once the delay passes there is nothing to wait for.
    sleep(DELAY).await;
    assert_eq!(drain.state(), DrainState::Closed);
    assert_eq!(drain.outcome(), Some(DrainOutcome::Drained));
    let took = drain.drain_duration().unwrap();
    assert!(took >= DELAY && took < DELAY + TIMEOUT, "{took:?}");
    tokio::time::timeout(Duration::ZERO, drain.closed())
        .await
        .expect("closed() has resolved");

    // Empty is not the deadline: connections may still be finishing.
    assert!(!drain.deadline_token().is_cancelled());
    sleep(TIMEOUT).await;
    assert!(drain.deadline_token().is_cancelled());
    assert_eq!(drain.outcome(), Some(DrainOutcome::Drained), "unchanged");
    assert_eq!(drain.drain_duration(), Some(took), "frozen at Closed");
}

#[tokio::test(start_paused = true)]
async fn shutdown_signal_fires_after_the_delay_not_before() {
    let drain = drain();
    let signal = tokio::spawn(drain.shutdown_signal());
    drain.begin_drain();
    sleep(DELAY - Duration::from_millis(1)).await;
    assert!(!signal.is_finished());
    sleep(Duration::from_millis(2)).await;
    settle().await;
    assert!(signal.is_finished());
}

#[tokio::test(start_paused = true)]
async fn closing_waits_for_work_in_flight() {
    let drain = drain();
    let guard = drain.track();
    drain.begin_drain();
    sleep(DELAY + Duration::from_secs(1)).await;
    assert_eq!(drain.state(), DrainState::Closing);
    assert_eq!(drain.in_flight(), 1);

    drop(guard);
    settle().await;
    assert_eq!(drain.state(), DrainState::Closed);
    assert_eq!(drain.outcome(), Some(DrainOutcome::Drained));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_closes_with_the_count_left() {
    let drain = drain();
    let _stuck = [drain.track(), drain.track()];
    drain.begin_drain();
    sleep(DELAY + TIMEOUT - Duration::from_secs(1)).await;
    assert_eq!(drain.state(), DrainState::Closing);
    sleep(Duration::from_secs(2)).await;
    assert_eq!(drain.state(), DrainState::Closed);
    assert_eq!(
        drain.outcome(),
        Some(DrainOutcome::TimedOut { in_flight: 2 })
    );
    assert!(drain.deadline_token().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn calling_everything_twice_is_harmless() {
    let drain = drain();
    assert!(drain.begin_drain());
    assert!(!drain.begin_drain(), "second begin_drain is a no-op");
    assert!(!drain.clone().begin_drain(), "so is one on a clone");
    sleep(DELAY * 2).await;
    assert_eq!(drain.outcome(), Some(DrainOutcome::Drained));
    assert!(!drain.force(), "force after closing changes nothing");
    assert_eq!(drain.outcome(), Some(DrainOutcome::Drained));
    assert_eq!(drain.wait_drained(TIMEOUT).await, Ok(()));
    assert_eq!(drain.wait_drained(TIMEOUT).await, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn force_skips_the_delay_and_the_timeout() {
    let drain = drain();
    let guard = drain.track();
    drain.begin_drain();
    sleep(Duration::from_secs(1)).await;
    assert!(drain.force());
    assert!(!drain.force());
    assert_eq!(drain.state(), DrainState::Closed);
    assert_eq!(drain.outcome(), Some(DrainOutcome::Forced { in_flight: 1 }));
    assert!(drain.shutdown_token().is_cancelled());
    assert!(drain.deadline_token().is_cancelled());
    tokio::time::timeout(Duration::ZERO, drain.shutdown_signal())
        .await
        .expect("the shutdown signal has fired");

    // The clock must not overwrite the forced outcome later.
    drop(guard);
    sleep(DELAY + TIMEOUT).await;
    assert_eq!(drain.outcome(), Some(DrainOutcome::Forced { in_flight: 1 }));
}

#[tokio::test(start_paused = true)]
async fn force_while_serving_closes_everything() {
    let drain = drain();
    assert!(drain.force());
    assert_eq!(drain.state(), DrainState::Closed);
    assert!(drain.shutdown_token().is_cancelled());
    assert!(drain.drain_duration().is_some());
    assert!(!drain.begin_drain());
}

#[tokio::test(start_paused = true)]
async fn wait_drained_returns_when_the_count_reaches_zero() {
    let drain = drain();
    let guard = drain.track();
    drain.begin_drain();
    let waiter = {
        let drain = drain.clone();
        tokio::spawn(async move { drain.wait_drained(Duration::from_secs(60)).await })
    };
    // A second, concurrent waiter on the same handle.
    let other = {
        let drain = drain.clone();
        tokio::spawn(async move { drain.wait_drained(Duration::from_secs(60)).await })
    };
    sleep(Duration::from_secs(5)).await;
    assert!(!waiter.is_finished());
    drop(guard);
    assert_eq!(waiter.await.unwrap(), Ok(()));
    assert_eq!(other.await.unwrap(), Ok(()));
}

#[tokio::test(start_paused = true)]
async fn wait_drained_reports_what_is_left_at_the_timeout() {
    let drain = drain();
    let _a = drain.track();
    let _b = drain.track();
    let _c = drain.track();
    drain.begin_drain();
    let started = tokio::time::Instant::now();
    let left = drain.wait_drained(Duration::from_secs(3)).await;
    assert_eq!(left, Err(Remaining { in_flight: 3 }));
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert_eq!(
        left.unwrap_err().to_string(),
        "drain timed out with 3 request(s) still in flight"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_drained_with_nothing_in_flight_returns_at_once() {
    let drain = drain();
    assert_eq!(drain.wait_drained(Duration::ZERO).await, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn stats_gather_the_counters() {
    let drain = drain();
    let _g = drain.track();
    let stats = drain.stats();
    assert_eq!(stats.state, DrainState::Serving);
    assert_eq!(stats.in_flight, 1);
    assert_eq!(stats.rejected, 0);
    assert_eq!(stats.force_closed, 0);
    assert_eq!(stats.outcome, None);
}

#[test]
fn a_drain_begun_outside_a_runtime_still_advances() {
    let drain = crate::Drain::new(
        crate::DrainConfig::new()
            .drain_delay(Duration::ZERO)
            .drain_timeout(Duration::from_secs(5)),
    );
    assert!(drain.begin_drain());
    // Real time, but no assertion on how long: only that it gets there.
    for _ in 0..500 {
        if drain.state() == DrainState::Closed {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(drain.outcome(), Some(DrainOutcome::Drained));
}
