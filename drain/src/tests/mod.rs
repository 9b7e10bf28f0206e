//! Unit tests. Time is paused (`start_paused`), so the delays and timeouts
//! below are virtual and nothing here depends on the machine's speed.

mod body;
mod counting;
mod observability;
mod responses;
mod state_machine;

use std::convert::Infallible;
use std::time::Duration;

use http::{Request, Response};

use crate::{Drain, DrainConfig};

const DELAY: Duration = Duration::from_secs(10);
const TIMEOUT: Duration = Duration::from_secs(20);

fn drain() -> Drain {
    Drain::new(DrainConfig::new().drain_delay(DELAY).drain_timeout(TIMEOUT))
}

fn get(path: &str) -> Request<String> {
    Request::get(path).body(String::new()).unwrap()
}

async fn hello(_req: Request<String>) -> Result<Response<String>, Infallible> {
    Ok(Response::new("hello".to_owned()))
}

/// Lets spawned tasks (the drain clock) run without moving the clock.
async fn settle() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
}
