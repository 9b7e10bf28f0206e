//! The race between a request being admitted and a drain deciding that
//! nothing is in flight.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use tower::{Layer, Service, service_fn};

use super::get;
use crate::{Drain, DrainConfig, DrainMode};

/// Polls a future that is expected to be ready at once.
fn now<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the service was expected to answer at once"),
    }
}

/// Two threads send requests while the main thread begins a drain and waits
/// until it sees nothing in flight. In `RejectNew` mode no request may then
/// reach the handler: it would be a request admitted after the drain
/// declared itself empty. If the layer read the state before counting, the
/// window between the two would let some through.
#[test]
fn no_request_is_admitted_after_the_drain_saw_zero() {
    const ROUNDS: usize = 200;
    let violations = Arc::new(AtomicU64::new(0));
    let mut served = 0;
    let mut rejected = 0;
    for _ in 0..ROUNDS {
        // The clock of `begin_drain` is not needed here: a long delay keeps
        // the state at Draining for the whole round.
        let drain = Drain::new(
            DrainConfig::new()
                .drain_delay(Duration::from_secs(3600))
                .drain_mode(DrainMode::RejectNew),
        );
        let declared_empty = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let svc = {
            let declared_empty = declared_empty.clone();
            let violations = violations.clone();
            drain
                .layer()
                .layer(service_fn(move |_req: Request<String>| {
                    if declared_empty.load(SeqCst) {
                        violations.fetch_add(1, SeqCst);
                    }
                    std::future::ready(Ok::<_, Infallible>(Response::new(String::new())))
                }))
        };
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let mut svc = svc.clone();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let (mut ok, mut no) = (0u64, 0u64);
                    while !stop.load(SeqCst) {
                        let response = now(svc.call(get("/"))).unwrap();
                        match response.status() {
                            StatusCode::OK => ok += 1,
                            _ => no += 1,
                        }
                    }
                    (ok, no)
                })
            })
            .collect();
        std::thread::yield_now();
        drain.begin_drain();
        while drain.in_flight() != 0 {
            std::hint::spin_loop();
        }
        declared_empty.store(true, SeqCst);
        // Let the workers hammer the drained layer a little longer.
        while drain.rejected() < 50 {
            std::thread::yield_now();
        }
        stop.store(true, SeqCst);
        for worker in workers {
            let (ok, no) = worker.join().unwrap();
            served += ok;
            rejected += no;
        }
        drain.force();
    }
    assert_eq!(violations.load(SeqCst), 0);
    assert!(
        served > 0 && rejected > 0,
        "{served} served, {rejected} rejected"
    );
}
