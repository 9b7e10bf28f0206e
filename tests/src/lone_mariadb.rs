//! A MariaDB server of the test's own, on loopback with its own data
//! directory and port, for settings the shared server cannot take while
//! other tests use it: `--read-only` (what a replica looks like to a
//! client) or a TLS certificate (which MariaDB 10.11 loads only at start).
//! Stopped, and its directory removed, when the handle drops, after a panic
//! too.

use crate::all_backends_required;
use crate::galera::run;
use crate::pgbouncer::{free_port, is_root};
use sqlx::Connection;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MARIADBD: &str = "/usr/sbin/mariadbd";

/// A running server; stopped when dropped.
#[derive(Debug)]
pub struct LoneMariaDb {
    /// A URL naming database `test` on it.
    pub url: String,
    server: Child,
    dir: PathBuf,
}

impl LoneMariaDb {
    /// Starts the server with `options` added to its command line (a
    /// second or two), and `setup` files copied into its directory first
    /// (owned by the server's user, which must read them), as
    /// `(file name, source)`: an option can name them through
    /// [`LoneMariaDb::dir_for`]. None when mariadb-server is missing or the
    /// tests do not run as root (the server's `mysql` user needs it) and
    /// `CI` is unset; in CI that fails.
    pub async fn start(
        name: &str,
        options: &[String],
        setup: &[(&str, &Path)],
    ) -> Option<LoneMariaDb> {
        let why = if !Path::new(MARIADBD).is_file() {
            Some("mariadb-server is not installed")
        } else if !is_root() {
            Some("the tests do not run as root")
        } else {
            None
        };
        if let Some(why) = why {
            assert!(
                !all_backends_required(),
                "a MariaDB server of the test's own is required in CI but {why}"
            );
            let _ = writeln!(
                std::io::stderr(),
                "note: skipped a test on a MariaDB server of its own: {why}"
            );
            return None;
        }
        let dir = Self::dir_for(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the server's directory");
        for (file, source) in setup {
            std::fs::copy(source, dir.join(file)).expect("copy a file for the server");
        }
        run(Command::new("mariadb-install-db").args([
            "--no-defaults",
            &format!("--datadir={}", dir.join("data").display()),
            "--user=mysql",
            "--auth-root-authentication-method=normal",
        ]));
        run(Command::new("chown").args(["-R", "mysql:mysql"]).arg(&dir));
        let port = free_port();
        let server = Command::new(MARIADBD)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg(format!("--socket={}", dir.join("sock").display()))
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .arg(format!("--pid-file={}", dir.join("pid").display()))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--user=mysql",
                "--skip-name-resolve",
            ])
            .args(["--innodb_buffer_pool_size=32M", "--performance_schema=OFF"])
            .args(options)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        let mut this = LoneMariaDb {
            url: format!("mysql://root@127.0.0.1:{port}/test"),
            server,
            dir,
        };
        this.wait_ready().await;
        Some(this)
    }

    /// The directory of server `name`: where its `setup` files go.
    pub fn dir_for(name: &str) -> PathBuf {
        std::env::temp_dir()
            .join("cofferdam-tests")
            .join(format!("{name}_mariadb"))
    }

    async fn wait_ready(&mut self) {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.server.try_wait() {
                panic!(
                    "the read-only mariadbd exited with {status}:\n{}",
                    self.log()
                );
            }
            if let Ok(conn) = sqlx::MySqlConnection::connect(&self.url).await {
                let _ = conn.close().await;
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the test's mariadbd was not ready within 60 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for LoneMariaDb {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
