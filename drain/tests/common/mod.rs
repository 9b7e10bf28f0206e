//! Helpers shared by the loopback tests: a server on 127.0.0.1:0, a held
//! handler the test releases, and a small HTTP/1 client.

#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use cofferdam_drain::Drain;

/// Bound on every wait in these tests; reaching it means a failure, not
/// slowness.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Serves `app` the way the crate docs say: graceful shutdown on the drain's
/// signal, bounded by its deadline; the task ends once the drain is closed.
pub async fn serve(app: Router, drain: &Drain) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let drain = drain.clone();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(drain.shutdown_signal());
        tokio::select! {
            served = server => served.unwrap(),
            () = drain.deadline_token().cancelled_owned() => {}
        }
        drain.closed().await;
    });
    (addr, task)
}

/// A handler gate: requests wait in it until the test opens it.
#[derive(Clone, Default)]
pub struct Gate {
    open: CancellationToken,
}

impl Gate {
    pub async fn pass(&self) {
        self.open.cancelled().await;
    }

    pub fn open(&self) {
        self.open.cancel();
    }
}

/// Waits (bounded) until `cond` holds.
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits (bounded) until a connection to `addr` is refused.
pub async fn until_refused(addr: SocketAddr) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match TcpStream::connect(addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
            Err(e) => panic!("unexpected connect error: {e}"),
            Ok(_) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{addr} still accepts"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

/// A keep-alive HTTP/1 connection.
pub struct Conn {
    sender: http1::SendRequest<Body>,
    driver: JoinHandle<()>,
}

/// What a client saw.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn closes(&self) -> bool {
        self.headers
            .get(http::header::CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"))
    }
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.unwrap();
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        Self { sender, driver }
    }

    /// Sends a GET and returns the response with its body unread.
    pub async fn send(&mut self, path: &str) -> http::Response<hyper::body::Incoming> {
        self.sender.ready().await.unwrap();
        let request = Request::get(path)
            .header("host", "test")
            .body(Body::empty())
            .unwrap();
        self.sender.send_request(request).await.unwrap()
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let (parts, body) = self.send(path).await.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Waits (bounded) until the server has closed this connection.
    pub async fn closed(self) {
        tokio::time::timeout(PATIENCE, self.driver)
            .await
            .expect("the server keeps the connection open")
            .unwrap();
    }
}

/// One request on a fresh connection.
pub async fn get(addr: SocketAddr, path: &str) -> Answer {
    Conn::open(addr).await.get(path).await
}
