//! Requests per second of a hello-world axum route, bare and behind the drain
//! layer, under the same load in the same run.
//!
//! ```not_rust
//! cargo bench -p cofferdam-drain --bench throughput
//! cargo bench -p cofferdam-drain --bench throughput -- --seconds 0.5 --rounds 20 --connections 32
//! ```
//!
//! Both servers run on one Tokio worker thread; the load generator runs on
//! another, over keep-alive HTTP/1 connections on 127.0.0.1 opened once for
//! each server. Each round drives one side, then the other, for a short
//! slice each, alternating the order (bare-layer, layer-bare, ...), so that
//! a burst of load from elsewhere on the machine falls on both sides. The
//! figure reported is the median of the per-round ratios layer / bare.

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
        seconds: 0.5,
        rounds: 20,
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

type Sender = http1::SendRequest<Body>;

/// Opens `connections` keep-alive HTTP/1 connections to `addr`.
async fn connect(addr: SocketAddr, connections: usize) -> Vec<Sender> {
    let mut senders = Vec::with_capacity(connections);
    for _ in 0..connections {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(conn);
        senders.push(sender);
    }
    senders
}

/// Drives every connection in a closed loop for `seconds` (after a short
/// warm-up); returns the connections and the requests per second.
async fn load(senders: Vec<Sender>, seconds: f64) -> (Vec<Sender>, f64) {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = senders
        .into_iter()
        .map(|mut sender| {
            let (done, stop) = (done.clone(), stop.clone());
            tokio::spawn(async move {
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
                sender
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let start_count = done.load(Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let count = done.load(Relaxed) - start_count;
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Relaxed);
    let mut senders = Vec::with_capacity(clients.len());
    for client in clients {
        senders.push(client.await.unwrap());
    }
    (senders, count as f64 / elapsed)
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

    let (mut bare_pool, mut layer_pool) = client.block_on(async {
        (
            connect(bare, o.connections).await,
            connect(layered, o.connections).await,
        )
    });
    println!(
        "drain layer throughput: {} rounds of {} s per side, {} keep-alive connections, 1 server thread",
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
            let (b, l);
            if round % 2 == 0 {
                (bare_pool, b) = load(std::mem::take(&mut bare_pool), o.seconds).await;
                (layer_pool, l) = load(std::mem::take(&mut layer_pool), o.seconds).await;
            } else {
                (layer_pool, l) = load(std::mem::take(&mut layer_pool), o.seconds).await;
                (bare_pool, b) = load(std::mem::take(&mut bare_pool), o.seconds).await;
            }
            (b, l)
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
        "mean bare {:.0} req/s, mean layer {:.0} req/s; median ratio {:.1}% \
         (quartiles {:.1}%..{:.1}%; target >= 97%)",
        sum_bare / n as f64,
        sum_layer / n as f64,
        100.0 * median,
        100.0 * ratios[n / 4],
        100.0 * ratios[(3 * n) / 4],
    );
    drop((bare_pool, layer_pool));
    assert_eq!(drain.in_flight(), 0, "every request was released");
}
