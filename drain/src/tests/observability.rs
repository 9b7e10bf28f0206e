//! The drain reports its stages and counters through `tracing`.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::sleep;

use super::{DELAY, TIMEOUT, drain};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(start_paused = true)]
async fn each_stage_is_logged_with_its_counters() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .finish();
    // The runtime is single-threaded, so the drain clock logs here too.
    let _default = tracing::subscriber::set_default(subscriber);

    let drain = drain();
    let _stuck = drain.track();
    drain.begin_drain();
    sleep(DELAY + TIMEOUT + Duration::from_secs(1)).await;

    let log = captured.text();
    let started = log.find("drain started").expect(&log);
    let stopped = log.find("drain delay elapsed").expect(&log);
    let timed_out = log.find("drain timeout passed").expect(&log);
    assert!(started < stopped && stopped < timed_out, "{log}");
    assert!(log.contains("in_flight=1"), "{log}");
    assert!(log.contains("drain_ms=30000"), "{log}");
    assert!(log.contains("WARN"), "the timeout is a warning: {log}");
}
