//! A PostgreSQL streaming standby of the test server, for the backfill
//! tests that watch replica lag: `pg_basebackup -R` into a temporary
//! directory, then `pg_ctl start` on a free loopback port. Stopped and
//! removed when dropped, after a panic too.
//!
//! The server must accept replication connections from 127.0.0.1 (`.ci/run`
//! adds `host replication all 127.0.0.1/32 trust` to pg_hba.conf). The
//! server binaries are looked for in `/usr/lib/postgresql/*/bin`; without
//! them the test is skipped with a note, except in CI, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A running standby.
#[derive(Debug)]
pub struct Standby {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The primary's replication slot that keeps the WAL it still needs
    /// (a loaded server recycles WAL between the base backup and the
    /// standby's start otherwise); dropped with the standby.
    slot: String,
    /// The primary's host, port and user, for dropping the slot.
    primary: (String, String, String),
    /// The directory holding its data directory and log.
    dir: PathBuf,
    bin: PathBuf,
}

impl Standby {
    /// Starts a standby of the server `primary` (a `postgres://` URL), or
    /// returns None (with a note) when the tools are missing outside CI.
    pub fn start(primary: &str) -> Option<Standby> {
        let Some(bin) = postgres_bin() else {
            let message = "no PostgreSQL server binaries (pg_basebackup, pg_ctl) in /usr/lib/postgresql/*/bin";
            if crate::all_backends_required() {
                panic!("{message}: CI needs them for the standby tests");
            }
            eprintln!("note: skipped a standby test: {message}");
            return None;
        };
        let url = url::Url::parse(primary).expect("a valid server URL");
        let host = url.host_str().unwrap_or("127.0.0.1").to_owned();
        let primary_port = url.port().unwrap_or(5432).to_string();
        let user = if url.username().is_empty() {
            "postgres"
        } else {
            url.username()
        }
        .to_owned();
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "cfdm-standby-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the standby directory");
        let slot = format!("cfdm_standby_{}_{}", std::process::id(), port);
        // From here on, Drop cleans up whatever happens.
        let standby = Standby {
            port,
            dir,
            bin,
            slot: slot.clone(),
            primary: (host.clone(), primary_port.clone(), user.clone()),
        };
        standby.own();
        let data = standby.data();
        standby.run(
            "pg_basebackup",
            &[
                "-R",
                "-X",
                "stream",
                "-C",
                "-S",
                &slot,
                "-D",
                path(&data),
                "-h",
                &host,
                "-p",
                &primary_port,
                "-U",
                &user,
            ],
        );
        // Debian keeps the configuration outside the data directory: give
        // the standby its own, minimal one.
        let socket_dir = path(&standby.dir).to_owned();
        for (file, text) in [
            (
                "postgresql.conf",
                format!(
                    "hot_standby = on\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{socket_dir}'\nwal_receiver_status_interval = 1s\n"
                ),
            ),
            (
                "pg_hba.conf",
                "local all all trust\nhost all all 127.0.0.1/32 trust\n".to_owned(),
            ),
            ("pg_ident.conf", String::new()),
        ] {
            std::fs::write(data.join(file), text).expect("write the standby's configuration");
        }
        standby.own();
        let log = standby.dir.join("standby.log");
        let options = format!("-p {port}");
        standby.run(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-t",
                "120",
                "-D",
                path(&data),
                "-l",
                path(&log),
                "-o",
                &options,
            ],
        );
        Some(standby)
    }

    /// Waits (up to 60 s) until the standby streams from the primary: only
    /// then does the primary see it in `pg_stat_replication`, and only then
    /// may its replay be paused (a standby paused before it starts
    /// streaming never connects).
    pub async fn streaming(&self) {
        use sqlx::Connection;
        let url = self.url("postgres");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                let streaming: Result<(i64,), _> = sqlx::query_as(
                    "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'",
                )
                .fetch_one(&mut conn)
                .await;
                let _ = conn.close().await;
                if matches!(streaming, Ok((1,))) {
                    return;
                }
            }
            if std::time::Instant::now() >= deadline {
                let log = std::fs::read_to_string(self.dir.join("standby.log")).unwrap_or_default();
                panic!(
                    "the standby on port {} did not start streaming within 60 s; its log:\n{log}",
                    self.port
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// The URL of database `database` on the standby.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Hands the directory to the `postgres` user, which the server
    /// refuses to run as root.
    fn own(&self) {
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres", path(&self.dir)])
                .status()
                .expect("run chown");
            assert!(status.success(), "chown of {} failed", self.dir.display());
        }
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700));
    }

    /// Runs a server tool as `postgres` (when root) and checks it succeeded.
    fn run(&self, tool: &str, args: &[&str]) {
        let output = self
            .command(tool, args)
            .output()
            .expect("run a PostgreSQL tool");
        assert!(
            output.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn command(&self, tool: &str, args: &[&str]) -> Command {
        let program = self.bin.join(tool);
        let mut command = if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        command.args(args).current_dir(std::env::temp_dir());
        command
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            let data = self.data();
            let _ = self
                .command(
                    "pg_ctl",
                    &["stop", "-w", "-m", "immediate", "-D", path(&data)],
                )
                .output();
        }
        let (host, port, user) = &self.primary;
        let drop_slot = format!(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{}'",
            self.slot
        );
        let dropped = Command::new(self.bin.join("psql"))
            .args([
                "-h", host, "-p", port, "-U", user, "-d", "postgres", "-Atqc", &drop_slot,
            ])
            .output();
        if !dropped.is_ok_and(|output| output.status.success()) {
            eprintln!(
                "warning: the replication slot {} was not dropped",
                self.slot
            );
        }
        if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            eprintln!(
                "warning: the standby directory {} was not removed: {error}",
                self.dir.display()
            );
        }
    }
}

fn path(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding both tools.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("pg_basebackup").exists() && bin.join("pg_ctl").exists())
                .then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A port nothing listens on now (the standby takes it a moment later).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}
