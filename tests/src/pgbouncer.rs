//! A PgBouncer of the test's own in front of a test database: started on a
//! free loopback port with an ini file in a temporary directory, stopped
//! (and the directory removed) when the handle drops, after a panic too.

use crate::{TestDb, all_backends_required};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How PgBouncer hands server sessions to clients (`pool_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    /// One server session per client connection.
    Session,
    /// A server session per transaction, the one freed last first.
    Transaction,
    /// A server session per transaction, in turn (`server_round_robin`):
    /// consecutive statements of one client land on different sessions
    /// when several are idle.
    TransactionRoundRobin,
}

/// A running PgBouncer, killed when dropped.
#[derive(Debug)]
pub struct PgBouncer {
    /// The URL of the test database through PgBouncer.
    pub url: String,
    child: Child,
    dir: PathBuf,
}

/// Where Debian installs it; `/usr/sbin` is not on every user's PATH.
fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("pgbouncer"))
        .find(|candidate| candidate.is_file())
}

impl PgBouncer {
    /// Starts PgBouncer in `mode` in front of `db` (a PostgreSQL test
    /// database). None when PgBouncer is not installed and `CI` is unset;
    /// in CI a missing PgBouncer fails the test.
    pub fn start(db: &TestDb, mode: PoolMode) -> Option<PgBouncer> {
        let Some(binary) = binary() else {
            assert!(
                !all_backends_required(),
                "pgbouncer is required in CI but is not installed (Debian package `pgbouncer`)"
            );
            let _ = writeln!(
                std::io::stderr(),
                "note: skipped a PgBouncer test: `pgbouncer` is not installed (apt-get install pgbouncer)"
            );
            return None;
        };
        let server = url::Url::parse(&db.url).expect("the test database URL parses");
        let user = match server.username() {
            "" => "postgres",
            user => user,
        };
        let port = free_port();
        // Readable by the `postgres` user PgBouncer switches to under root.
        let dir = std::env::temp_dir()
            .join("cofferdam-tests")
            .join(format!("{}_pgbouncer", db.name));
        std::fs::create_dir_all(&dir).expect("create PgBouncer's directory");
        let (mode, round_robin) = match mode {
            PoolMode::Session => ("session", 0),
            PoolMode::Transaction => ("transaction", 0),
            PoolMode::TransactionRoundRobin => ("transaction", 1),
        };
        let ini = format!(
            "[databases]\n\
             {name} = host={host} port={server_port} dbname={name}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = trust\n\
             auth_file = {auth}\n\
             pool_mode = {mode}\n\
             server_round_robin = {round_robin}\n",
            name = db.name,
            host = server.host_str().unwrap_or("127.0.0.1"),
            server_port = server.port().unwrap_or(5432),
            auth = dir.join("users.txt").display(),
        );
        std::fs::write(dir.join("users.txt"), format!("\"{user}\" \"\"\n")).expect("write users");
        std::fs::write(dir.join("pgbouncer.ini"), ini).expect("write pgbouncer.ini");
        let mut command = Command::new(binary);
        // PgBouncer refuses to run as root unless told whom to become.
        if is_root() {
            command.args(["-u", "postgres"]);
        }
        let child = command
            .arg(dir.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pgbouncer");
        let mut bouncer = PgBouncer {
            url: format!("postgres://{user}@127.0.0.1:{port}/{}", db.name),
            child,
            dir,
        };
        bouncer.wait_for_port(port);
        Some(bouncer)
    }

    /// Makes PgBouncer open `count` server sessions, all idle afterwards:
    /// as many clients hold a transaction at once, then commit.
    pub async fn open_server_sessions(&self, count: usize) {
        use sqlx::{ConnectOptions, Connection};
        let options: sqlx::postgres::PgConnectOptions =
            self.url.parse().expect("the PgBouncer URL parses");
        // PgBouncer refuses this start-up parameter unless configured to ignore it.
        let options = options.extra_float_digits(None);
        let mut clients = Vec::new();
        for _ in 0..count {
            let mut client = options.connect().await.expect("connect through PgBouncer");
            sqlx::raw_sql("BEGIN; SELECT 1")
                .execute(&mut client)
                .await
                .expect("open a transaction");
            clients.push(client);
        }
        for mut client in clients {
            sqlx::raw_sql("COMMIT")
                .execute(&mut client)
                .await
                .expect("commit");
            let _ = client.close().await;
        }
    }

    fn wait_for_port(&mut self, port: u16) {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut log = String::new();
                if let Some(mut stderr) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut stderr, &mut log);
                }
                panic!("pgbouncer exited with {status} before listening:\n{log}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "pgbouncer did not listen on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind a free port")
        .port()
}

/// Whether this process runs as root (uid 0), read from `/proc` to need no
/// extra crate.
pub(crate) fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find(|line| line.starts_with("Uid:"))
            .and_then(|line| line.split_whitespace().nth(1))
            == Some("0")
    })
}
