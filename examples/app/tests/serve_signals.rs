//! `example-app serve` as a child process: real signals, real sockets on
//! 127.0.0.1, and the exit status an orchestrator would see.

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::{http1, http2};
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};

/// Bound on every wait; reaching it is a failure, not slowness.
const PATIENCE: Duration = Duration::from_secs(20);

struct Server {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    addr: SocketAddr,
    _db: TempDb,
}

/// A SQLite file of the test's own in a directory of its own, removed
/// afterwards with everything beside the file (journal, WAL, and the
/// migration lock file `serve --migrate` creates).
struct TempDb(std::path::PathBuf);

impl TempDb {
    fn new() -> Self {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir()
            .join("cofferdam-tests")
            .join(format!("example-app-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the test's directory");
        Self(dir)
    }

    fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.0.join("app.db").display())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Server {
    async fn start(args: &[&str]) -> Self {
        let db = TempDb::new();
        let mut child = Command::new(env!("CARGO_BIN_EXE_example-app"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("DATABASE_URL", db.url())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start example-app");
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = expect_line(&mut stdout, "listening on ").await;
        let addr = line["listening on ".len()..].parse().expect("an address");
        Self {
            child,
            stdout,
            addr,
            _db: db,
        }
    }

    fn signal(&self, name: &str) {
        let pid = self.child.id().expect("still running").to_string();
        let status = std::process::Command::new("kill")
            .args([name, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    async fn exit(&mut self) -> ExitStatus {
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("the server did not exit")
            .unwrap()
    }

    /// Waits until the drain has begun, as seen from outside.
    async fn until_not_ready(&self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while get(self.addr, "/readyz").await.status != StatusCode::SERVICE_UNAVAILABLE {
            assert!(
                tokio::time::Instant::now() < deadline,
                "readiness never failed"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn expect_line(lines: &mut Lines<BufReader<ChildStdout>>, prefix: &str) -> String {
    cofferdam_tests::wait_for_line(lines, &format!("a line starting with {prefix:?}"), |line| {
        line.starts_with(prefix)
    })
    .await
}

struct Answer {
    status: StatusCode,
    closes: bool,
    retry_after: Option<String>,
    body: String,
}

struct Conn(http1::SendRequest<Empty<Bytes>>);

impl Conn {
    async fn open(addr: SocketAddr) -> Self {
        let io = TokioIo::new(TcpStream::connect(addr).await.unwrap());
        let (sender, conn) = http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        Self(sender)
    }

    async fn get(&mut self, path: &str) -> Answer {
        self.0.ready().await.unwrap();
        let request = Request::get(path)
            .header("host", "test")
            .body(Empty::new())
            .unwrap();
        let response = self.0.send_request(request).await.unwrap();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &hyper::header::HeaderValue| v.to_str().unwrap().to_owned())
        };
        let closes = header(hyper::header::CONNECTION).as_deref() == Some("close");
        let retry_after = header(hyper::header::RETRY_AFTER);
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            closes,
            retry_after,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

async fn get(addr: SocketAddr, path: &str) -> Answer {
    Conn::open(addr).await.get(path).await
}

#[tokio::test]
async fn sigterm_keeps_serving_through_the_delay_then_exits_cleanly() {
    let mut server = Server::start(&["--drain-delay", "1s", "--drain-timeout", "10s"]).await;
    let addr = server.addr;
    let mut keep_alive = Conn::open(addr).await;
    let before = keep_alive.get("/").await;
    assert_eq!(before.status, StatusCode::OK);
    assert!(!before.closes);
    assert_eq!(get(addr, "/readyz").await.status, StatusCode::OK);

    let slow = tokio::spawn(get(addr, "/slow?ms=1500"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.signal("-TERM");
    server.until_not_ready().await;

    let during = keep_alive.get("/").await;
    assert_eq!(
        during.status,
        StatusCode::OK,
        "still serving during the delay"
    );
    assert!(during.closes, "keep-alive clients are told to reconnect");
    assert_eq!(get(addr, "/healthz").await.status, StatusCode::OK);

    let slow = slow.await.unwrap();
    assert_eq!(
        slow.status,
        StatusCode::OK,
        "the request begun before SIGTERM completed"
    );
    assert_eq!(slow.body, "slept 1500 ms\n");

    let report = expect_line(&mut server.stdout, "drain finished:").await;
    assert!(report.contains("outcome=drained"), "{report}");
    assert!(report.contains("in_flight=0"), "{report}");
    let status = server.exit().await;
    assert!(status.success(), "{status}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "nothing listens any more"
    );
}

#[tokio::test]
async fn a_second_signal_forces_the_exit() {
    let mut server = Server::start(&["--drain-delay", "60s", "--drain-timeout", "60s"]).await;
    let stuck = tokio::spawn({
        let addr = server.addr;
        async move {
            let mut conn = Conn::open(addr).await;
            conn.0.ready().await.unwrap();
            let request = Request::get("/slow?ms=60000")
                .header("host", "test")
                .body(Empty::<Bytes>::new())
                .unwrap();
            conn.0.send_request(request).await.map(|r| r.status())
        }
    });
    // Give the request time to reach the server; the assertion at the end
    // would also accept a refused connection, this makes it the real case.
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.signal("-TERM");
    // Signals sent back to back may merge into one; wait for the first.
    server.until_not_ready().await;
    server.signal("-INT");

    let report = expect_line(&mut server.stdout, "drain finished:").await;
    assert!(report.contains("outcome=forced"), "{report}");
    let status = server.exit().await;
    assert_eq!(status.code(), Some(130), "128 + SIGINT: {status}");
    assert!(
        stuck.await.unwrap().is_err(),
        "the 60 s request was cut, as a forced exit must"
    );
}

#[tokio::test]
async fn reject_new_mode_answers_503_with_retry_after() {
    let mut server = Server::start(&["--drain-delay", "1s", "--reject-new"]).await;
    assert_eq!(get(server.addr, "/").await.status, StatusCode::OK);
    server.signal("-TERM");
    server.until_not_ready().await;
    let rejected = get(server.addr, "/").await;
    assert_eq!(rejected.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(rejected.retry_after.as_deref(), Some("1"));
    assert!(rejected.closes);
    let report = expect_line(&mut server.stdout, "drain finished:").await;
    assert!(report.contains("rejected=1"), "{report}");
    assert!(server.exit().await.success());
}

#[tokio::test]
async fn articles_without_the_table_answer_503_with_a_json_error() {
    let mut server = Server::start(&[]).await;
    let missing = get(server.addr, "/articles").await;
    assert_eq!(missing.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(missing.body.contains("\"error\""), "{}", missing.body);
    assert!(missing.body.contains("migrate up"), "{}", missing.body);
    server.signal("-TERM");
    server.exit().await;
}

#[tokio::test]
async fn serve_with_migrate_applies_them_first() {
    let mut server = Server::start(&["--migrate", "--drain-delay", "0s"]).await;
    let articles = get(server.addr, "/articles").await;
    assert_eq!(articles.status, StatusCode::OK, "{}", articles.body);
    assert_eq!(articles.body, "[]");
    server.signal("-TERM");
    assert!(server.exit().await.success());
}

#[tokio::test]
async fn the_event_stream_ends_cleanly_at_the_drain_deadline() {
    let mut server = Server::start(&["--drain-delay", "200ms", "--drain-timeout", "500ms"]).await;
    let mut conn = Conn::open(server.addr).await;
    conn.0.ready().await.unwrap();
    let request = Request::get("/events?every_ms=50")
        .header("host", "test")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = conn.0.send_request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(first.starts_with(b"event: tick"), "{first:?}");

    server.signal("-TERM");
    let mut events = 1;
    let ended = tokio::time::timeout(PATIENCE, async {
        while let Some(frame) = body.frame().await {
            frame.expect("the stream ends without an error");
            events += 1;
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream outlived the drain deadline");
    assert!(events > 1, "events kept coming during the drain");
    let report = expect_line(&mut server.stdout, "drain finished:").await;
    assert!(report.contains("outcome=timed-out"), "{report}");
    assert!(report.contains("in_flight=0"), "{report}");
    assert_eq!(server.exit().await.code(), Some(1), "requests were cut");
}

/// Like `h2load -c4 -m1` and `-c2 -m10`: HTTP/2 connections, each sending
/// requests back to back (one or ten at a time) through SIGTERM. Every
/// request must be answered `200` in full or refused in a way the client may
/// retry (not sent, `REFUSED_STREAM`, or above the `GOAWAY`'s last stream
/// id): a request sent just before `GOAWAY` arrived used to get `503`, or no
/// answer when the process left before its connections finished. Whether a
/// run hits that moment depends on timing; a correct server passes every run.
#[tokio::test]
async fn http2_clients_get_every_answer_through_sigterm() {
    let mut server = Server::start(&["--drain-delay", "300ms", "--drain-timeout", "10s"]).await;
    let clients: Vec<_> = [1, 1, 1, 1, 10, 10]
        .into_iter()
        .map(|streams| tokio::spawn(h2_client_until_refused(server.addr, streams)))
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.signal("-TERM");
    let mut served = 0;
    for client in clients {
        served += tokio::time::timeout(PATIENCE, client)
            .await
            .expect("an HTTP/2 client hung")
            .unwrap();
    }
    assert!(served > 0);
    let report = expect_line(&mut server.stdout, "drain finished:").await;
    assert!(report.contains("outcome=drained"), "{report}");
    assert!(report.contains("rejected=0"), "{report}");
    assert!(server.exit().await.success());
}

/// Sends GET / on one connection, `streams` at a time, until the connection
/// stops taking requests; returns how many were served. Panics on an answer
/// other than `200` or a failure a client may not retry.
async fn h2_client_until_refused(addr: SocketAddr, streams: usize) -> usize {
    let io = TokioIo::new(TcpStream::connect(addr).await.unwrap());
    let (sender, conn) = http2::handshake(TokioExecutor::new(), io).await.unwrap();
    let conn = tokio::spawn(conn);
    let senders: Vec<_> = (0..streams)
        .map(|_| tokio::spawn(requests_until_refused(addr, sender.clone())))
        .collect();
    drop(sender);
    let mut served = 0;
    for sender in senders {
        served += sender.await.unwrap();
    }
    tokio::time::timeout(PATIENCE, conn)
        .await
        .expect("the server closes the connection")
        .unwrap()
        .expect("the connection ends cleanly");
    served
}

async fn requests_until_refused(
    addr: SocketAddr,
    mut sender: http2::SendRequest<Empty<Bytes>>,
) -> usize {
    let mut served = 0;
    loop {
        if sender.ready().await.is_err() {
            return served;
        }
        let request = Request::get(format!("http://{addr}/"))
            .body(Empty::<Bytes>::new())
            .unwrap();
        match sender.try_send_request(request).await {
            Ok(response) => {
                let status = response.status();
                let body = response.into_body().collect().await;
                let body = body.expect("the body arrives whole").to_bytes();
                assert_eq!(status, StatusCode::OK, "{body:?}");
                assert_eq!(&body[..], b"Hello from example-app\n");
                served += 1;
            }
            // Never sent: the client had seen GOAWAY.
            Err(failed) if failed.message().is_some() => return served,
            Err(failed) => {
                let error = failed.into_error();
                assert!(retryable(&error), "a request failed for good: {error:?}");
                eprintln!("refused retryably: {error}");
                return served;
            }
        }
    }
}

/// Whether h2 says the stream was not processed (RFC 9113 section 8.7).
fn retryable(error: &hyper::Error) -> bool {
    let mut cause = std::error::Error::source(error);
    while let Some(err) = cause {
        if let Some(h2) = err.downcast_ref::<h2::Error>() {
            return h2.reason() == Some(h2::Reason::REFUSED_STREAM)
                || (h2.is_go_away() && h2.reason() == Some(h2::Reason::NO_ERROR));
        }
        cause = err.source();
    }
    false
}
