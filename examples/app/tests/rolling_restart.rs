//! A rolling restart on loopback: two instances of `example-app serve`
//! behind a small TCP balancer, keep-alive clients sending requests without
//! pause, and the old instance drained while the balancer drops it only
//! after a lag, as Kubernetes does. No client may see a severed request or a
//! 5xx.
//!
//! The balancer works like kube-proxy (layer 4): each client connection is
//! pinned to the backend chosen when it connected, and only new connections
//! follow the change of backends. That is the harder case: a keep-alive
//! connection keeps reaching the old instance until the old instance asks
//! the client to reconnect (`Connection: close`).

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::{Request, header};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, ChildStdout, Command};

const PATIENCE: Duration = Duration::from_secs(30);
/// How long the old instance keeps serving after SIGTERM.
const DRAIN_DELAY: &str = "1500ms";
/// How long after SIGTERM the balancer stops picking the old instance.
const LB_LAG: Duration = Duration::from_millis(500);
/// Clients that keep their connection alive, as pooled HTTP clients do.
const KEEP_ALIVE_CLIENTS: usize = 12;
/// Clients that open a connection per request, so new connections keep
/// arriving at the balancer whatever the servers do.
const FRESH_CLIENTS: usize = 4;

struct Instance {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    addr: SocketAddr,
}

impl Instance {
    async fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_example-app"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--drain-delay", DRAIN_DELAY, "--drain-timeout", "5s"])
            // Never touched: no request here reads the database.
            .env("DATABASE_URL", "sqlite::memory:")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start example-app");
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = next_line(&mut stdout, "listening on ").await;
        let addr = line["listening on ".len()..].parse().unwrap();
        Self {
            child,
            stdout,
            addr,
        }
    }

    fn sigterm(&self) {
        let pid = self.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>, prefix: &str) -> String {
    cofferdam_tests::wait_for_line(lines, &format!("a line starting with {prefix:?}"), |line| {
        line.starts_with(prefix)
    })
    .await
}

/// A round-robin layer-4 balancer. A connect error makes it try the next
/// backend, as real balancers do (nothing was sent yet, so it is safe).
#[derive(Default)]
struct Balancer {
    backends: Mutex<Vec<SocketAddr>>,
    next: AtomicUsize,
    /// Connections made to each backend, by port.
    connections: Mutex<Vec<(SocketAddr, u64)>>,
    connect_errors: AtomicU64,
}

impl Balancer {
    fn set(&self, backends: &[SocketAddr]) {
        *self.backends.lock().unwrap() = backends.to_vec();
    }

    fn connections_to(&self, addr: SocketAddr) -> u64 {
        let table = self.connections.lock().unwrap();
        table
            .iter()
            .find(|(a, _)| *a == addr)
            .map_or(0, |(_, n)| *n)
    }

    async fn pick(&self) -> Option<TcpStream> {
        let backends = self.backends.lock().unwrap().clone();
        let start = self.next.fetch_add(1, SeqCst);
        for i in 0..backends.len() {
            let addr = backends[(start + i) % backends.len()];
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    let mut table = self.connections.lock().unwrap();
                    match table.iter_mut().find(|(a, _)| *a == addr) {
                        Some((_, n)) => *n += 1,
                        None => table.push((addr, 1)),
                    }
                    return Some(stream);
                }
                Err(_) => {
                    self.connect_errors.fetch_add(1, SeqCst);
                }
            }
        }
        None
    }

    async fn run(self: Arc<Self>, listener: TcpListener) {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let balancer = self.clone();
            tokio::spawn(async move {
                if let Some(mut backend) = balancer.pick().await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut backend).await;
                }
            });
        }
    }
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    server_errors: AtomicU64,
    /// The request was written and the connection died before the answer.
    severed: AtomicU64,
    /// The connection was closed before the request was written: the client
    /// can retry safely, as every HTTP client does.
    unsent: AtomicU64,
    reconnects: AtomicU64,
}

async fn client(
    lb: SocketAddr,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    id: usize,
    keep_alive: bool,
) {
    let mut n = 0usize;
    'connections: while !stop.load(SeqCst) {
        let Ok(stream) = TcpStream::connect(lb).await else {
            panic!("the balancer itself refused a connection");
        };
        tally.reconnects.fetch_add(1, SeqCst);
        let Ok((mut sender, conn)) = http1::handshake(TokioIo::new(stream)).await else {
            continue;
        };
        tokio::spawn(conn);
        while !stop.load(SeqCst) {
            if sender.ready().await.is_err() {
                tally.unsent.fetch_add(1, SeqCst);
                continue 'connections;
            }
            n += 1;
            // Mostly fast requests, some slow enough to be in flight when
            // the drain moves on.
            let path = if (n + id).is_multiple_of(8) {
                "/slow?ms=30"
            } else {
                "/"
            };
            let request = Request::get(path)
                .header(header::HOST, "app")
                .body(Empty::<Bytes>::new())
                .unwrap();
            let response = match sender.try_send_request(request).await {
                Ok(response) => response,
                Err(error) if error.message().is_some() => {
                    tally.unsent.fetch_add(1, SeqCst);
                    continue 'connections;
                }
                Err(error) => {
                    eprintln!("severed: {}", error.error());
                    tally.severed.fetch_add(1, SeqCst);
                    continue 'connections;
                }
            };
            let status = response.status();
            let closes = response
                .headers()
                .get(header::CONNECTION)
                .is_some_and(|v| v == "close");
            if response.into_body().collect().await.is_err() {
                eprintln!("severed: body cut");
                tally.severed.fetch_add(1, SeqCst);
                continue 'connections;
            }
            if status.is_server_error() {
                tally.server_errors.fetch_add(1, SeqCst);
            } else {
                tally.ok.fetch_add(1, SeqCst);
            }
            if closes || !keep_alive {
                continue 'connections;
            }
            // A short think time leaves the connection idle now and then,
            // where a server closing idle connections would race the client.
            tokio::time::sleep(Duration::from_millis((n % 3) as u64)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_severs_nothing_when_the_delay_outlasts_the_lag() {
    let mut old = Instance::start().await;
    let mut new = Instance::start().await;

    let balancer = Arc::new(Balancer::default());
    balancer.set(&[old.addr, new.addr]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lb = listener.local_addr().unwrap();
    tokio::spawn(balancer.clone().run(listener));

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..KEEP_ALIVE_CLIENTS + FRESH_CLIENTS)
        .map(|id| {
            let keep_alive = id < KEEP_ALIVE_CLIENTS;
            tokio::spawn(client(lb, tally.clone(), stop.clone(), id, keep_alive))
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(700)).await;
    let old_before = balancer.connections_to(old.addr);
    assert!(old_before > 0, "the old instance served before the restart");

    // T0: the orchestrator sends SIGTERM; the balancer notices later.
    old.sigterm();
    tokio::time::sleep(LB_LAG).await;
    let old_during_lag = balancer.connections_to(old.addr) - old_before;
    balancer.set(&[new.addr]);

    // Past the drain delay: the old instance stops accepting and drains.
    let report = next_line(&mut old.stdout, "drain finished:").await;
    let old_status = tokio::time::timeout(PATIENCE, old.child.wait())
        .await
        .expect("the old instance exits")
        .unwrap();
    // Keep the load on the new instance a little longer.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, SeqCst);
    for c in clients {
        tokio::time::timeout(PATIENCE, c).await.unwrap().unwrap();
    }
    new.sigterm();
    let _ = tokio::time::timeout(PATIENCE, new.child.wait()).await;

    let ok = tally.ok.load(SeqCst);
    let severed = tally.severed.load(SeqCst);
    let errors = tally.server_errors.load(SeqCst);
    eprintln!(
        "ok={ok} severed={severed} 5xx={errors} unsent={} reconnects={} \
         old: {old_before} connections before, {old_during_lag} during the lag; \
         balancer connect errors={}; old: {report}",
        tally.unsent.load(SeqCst),
        tally.reconnects.load(SeqCst),
        balancer.connect_errors.load(SeqCst),
    );
    assert!(old_status.success(), "old instance: {old_status}");
    assert!(report.contains("outcome=drained"), "{report}");
    assert!(
        old_during_lag > 0,
        "new connections reached the draining instance during the lag: it must keep \
         accepting until the balancer has dropped it"
    );
    assert!(balancer.connections_to(new.addr) > 0);
    assert!(ok > 0);
    assert_eq!(severed, 0, "requests severed");
    assert_eq!(errors, 0, "5xx answers");
    assert_eq!(
        balancer.connect_errors.load(SeqCst),
        0,
        "the old instance stopped accepting only after the balancer dropped it"
    );
}
