//! Requests per second of a hello-world axum route, bare and behind the drain
//! layer, under the same load in the same run.
//!
//! ```not_rust
//! cargo bench -p cofferdam-drain --bench throughput
//! cargo bench -p cofferdam-drain --bench throughput -- --seconds 3 --rounds 6 --connections 32
//! ```
//!
//! Both servers run on one Tokio worker thread; the load generator runs on
//! another (keep-alive HTTP/1 connections on 127.0.0.1). Rounds alternate
//! the order (bare, layer, layer, bare, ...) so that drift in the machine's
//! load falls on both sides. The figure reported is the median of the
//! per-round ratios layer / bare.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use http_body_util::BodyExt;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use cofferdam_drain::{Drain, DrainConfig};

struct Options {
    seconds: f64,
    rounds: usize,
    connections: usize,
}

fn options() -> Options {
    let mut o = Options {
        seconds: 2.0,
        rounds: 6,
        connections: 32,
    };
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| {
                v.parse::<f64>()
                    .unwrap_or_else(|_| panic!("{name} takes a number"))
            })
    };
    if let Some(v) = value("--seconds") {
        o.seconds = v;
    }
    if let Some(v) = value("--rounds") {
        o.rounds = v as usize;
    }
    if let Some(v) = value("--connections") {
        o.connections = v as usize;
    }
    o
}

fn hello() -> Router {
    Router::new().route("/", get(|| async { "Hello, World!" }))
}

async fn start(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Drives `connections` keep-alive clients against `addr` for `seconds`;
/// returns requests per second.
async fn load(addr: SocketAddr, connections: usize, seconds: f64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(conn);
        let (done, stop) = (done.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            while !stop.load(Relaxed) {
                sender.ready().await.unwrap();
                let request = Request::get("/")
                    .header("host", "bench")
                    .body(Body::empty())
                    .unwrap();
                let response = sender.send_request(request).await.unwrap();
                assert!(response.status().is_success());
                response.into_body().collect().await.unwrap();
                done.fetch_add(1, Relaxed);
            }
        }));
    }
    // Warm-up, then measure.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start_count = done.load(Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let count = done.load(Relaxed) - start_count;
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    count as f64 / elapsed
}

fn main() {
    let o = options();
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let drain = Drain::new(DrainConfig::new());
    let (bare, layered) = server.block_on(async {
        (
            start(hello()).await,
            start(hello().layer(drain.layer())).await,
        )
    });
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    println!(
        "drain layer throughput: {} rounds x {} s, {} keep-alive connections, 1 server thread",
        o.rounds, o.seconds, o.connections
    );
    println!(
        "{:>5} {:>12} {:>12} {:>7}",
        "round", "bare req/s", "layer req/s", "ratio"
    );
    let mut ratios = Vec::new();
    let (mut sum_bare, mut sum_layer) = (0.0, 0.0);
    for round in 0..o.rounds {
        let (b, l) = client.block_on(async {
            if round % 2 == 0 {
                let b = load(bare, o.connections, o.seconds).await;
                (b, load(layered, o.connections, o.seconds).await)
            } else {
                let l = load(layered, o.connections, o.seconds).await;
                (load(bare, o.connections, o.seconds).await, l)
            }
        });
        sum_bare += b;
        sum_layer += l;
        ratios.push(l / b);
        println!(
            "{:>5} {:>12.0} {:>12.0} {:>6.1}%",
            round + 1,
            b,
            l,
            100.0 * l / b
        );
    }
    ratios.sort_by(f64::total_cmp);
    let n = ratios.len();
    let median = if n % 2 == 1 {
        ratios[n / 2]
    } else {
        (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0
    };
    println!(
        "mean bare {:.0} req/s, mean layer {:.0} req/s; median ratio {:.1}% (target >= 97%)",
        sum_bare / n as f64,
        sum_layer / n as f64,
        100.0 * median
    );
    assert_eq!(drain.in_flight(), 0, "every request was released");
}
