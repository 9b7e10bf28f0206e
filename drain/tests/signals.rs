//! The signal installer, tested in a child process (this same test binary,
//! re-run with an environment variable) so that real signals never reach the
//! test harness.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cofferdam_drain::{Drain, DrainConfig, DrainState};

const CHILD: &str = "COFFERDAM_DRAIN_SIGNAL_CHILD";

fn kill(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[test]
fn first_signal_drains_second_forces_earlier_handlers_keep_working() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "first_signal_drains_second_forces_earlier_handlers_keep_working",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut expect = |prefix: &str| -> String {
        for line in lines.by_ref() {
            let line = line.unwrap();
            // libtest prints "test name ... " without a newline first.
            if let Some(at) = line.find(prefix) {
                return line[at..].to_owned();
            }
        }
        panic!("the child ended before printing {prefix:?}");
    };

    expect("child: installed");
    kill(&child, "-TERM");
    let first = expect("child: ");
    assert_eq!(
        first, "child: draining received=1 first=SIGTERM earlier=1",
        "one signal, counted once although installed twice"
    );
    kill(&child, "-INT");
    let second = expect("child: ");
    assert_eq!(second, "child: forced by=SIGINT state=closed");
    let status = child.wait().unwrap();
    assert!(status.success(), "the child returned normally: {status}");
}

/// Runs in the child. Every wait is bounded so a bug ends in a failure.
fn child() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        // The application's own handler, installed first.
        let mut earlier = signal(SignalKind::terminate()).unwrap();
        let mut earlier_count = 0;

        let drain = Drain::new(DrainConfig::new().drain_delay(Duration::from_secs(3600)));
        let handler = drain.install_signal_handlers().unwrap();
        let again = drain.clone().install_signal_handlers().unwrap();
        assert_eq!(handler, again, "the second call installed nothing new");
        println!("child: installed");

        tokio::time::timeout(Duration::from_secs(20), earlier.recv())
            .await
            .expect("the earlier handler still receives SIGTERM");
        earlier_count += 1;
        bounded(|| drain.state() == DrainState::Draining).await;
        // Give a second, wrongly installed handler time to act.
        tokio::time::sleep(Duration::from_millis(100)).await;
        println!(
            "child: draining received={} first={} earlier={earlier_count}",
            again.received(),
            handler.first().map_or("none", |s| s.name()),
        );

        tokio::time::timeout(Duration::from_secs(20), drain.deadline_token().cancelled())
            .await
            .expect("the second signal forces the drain");
        println!(
            "child: forced by={} state={}",
            handler.forced_by().map_or("none", |s| s.name()),
            drain.state()
        );
    });
}

async fn bounded(mut cond: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached");
}
