//! A PostgreSQL hot standby of the test server: copied with
//! `pg_basebackup -R -X stream` into a temporary directory, started on a
//! free loopback port with `pg_ctl`, and stopped (`-m immediate`) and
//! removed when the handle drops, after a panic too.

use crate::all_backends_required;
use crate::pgbouncer::{free_port, is_root};
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

/// A running standby; stopped when dropped.
#[derive(Debug)]
pub struct Replica {
    /// The URL of database `name` on the standby.
    pub url: String,
    dir: PathBuf,
    pg_ctl: PathBuf,
}

/// The newest installed server's `pg_ctl`.
fn pg_ctl() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|entry| entry.path().join("bin/pg_ctl"))
        .filter(|path| path.is_file())
        .collect();
    versions.sort();
    versions.pop()
}

/// Runs `command` as the `postgres` user when this process is root (the
/// server refuses to run as root).
fn as_postgres(program: &std::path::Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl Replica {
    /// Starts a standby of the server at `server` (a URL of the primary,
    /// reached on 127.0.0.1) and returns the URL of database `name` on it.
    /// None when the binaries are missing and `CI` is unset.
    pub fn start(server: &str, name: &str) -> Option<Replica> {
        let tools = pg_ctl().filter(|_| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .any(|dir| dir.join("pg_basebackup").is_file())
        });
        let Some(pg_ctl) = tools else {
            assert!(
                !all_backends_required(),
                "pg_basebackup and pg_ctl are required in CI (Debian package postgresql)"
            );
            let _ = writeln!(
                std::io::stderr(),
                "note: skipped a standby test: pg_basebackup or pg_ctl is not installed"
            );
            return None;
        };
        let primary = url::Url::parse(server).expect("the server URL parses");
        let user = match primary.username() {
            "" => "postgres",
            user => user,
        };
        let dir = std::env::temp_dir()
            .join("cofferdam-tests")
            .join(format!("{name}_standby"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.parent().expect("a parent"))
            .expect("create the test directory");
        let backup = Command::new("pg_basebackup")
            .args(["-h", primary.host_str().unwrap_or("127.0.0.1")])
            .args(["-p", &primary.port().unwrap_or(5432).to_string()])
            .args(["-U", user, "-R", "-X", "stream", "-c", "fast", "-D"])
            .arg(&dir)
            .output()
            .expect("run pg_basebackup");
        let mut replica = Replica {
            url: String::new(),
            dir: dir.clone(),
            pg_ctl: pg_ctl.clone(),
        };
        assert!(
            backup.status.success(),
            "pg_basebackup failed (does pg_hba.conf allow `host replication all 127.0.0.1/32 trust`?): {}",
            String::from_utf8_lossy(&backup.stderr)
        );
        // Debian keeps the configuration outside the data directory: the
        // copy gets a minimal one of its own.
        let port = free_port();
        std::fs::write(
            dir.join("postgresql.conf"),
            format!("listen_addresses = '127.0.0.1'\nport = {port}\nhot_standby = on\n"),
        )
        .expect("write postgresql.conf");
        std::fs::write(
            dir.join("pg_hba.conf"),
            "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        )
        .expect("write pg_hba.conf");
        let _ = std::fs::remove_file(dir.join("postmaster.pid"));
        if is_root() {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("run chown");
            assert!(chown.success(), "chown the standby's directory");
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .expect("chmod 0700 the standby's directory");
        let started = as_postgres(&pg_ctl)
            .arg("-D")
            .arg(&dir)
            .args(["-o", &format!("-p {port} -k {}", dir.display())])
            .args(["-l"])
            .arg(dir.join("server.log"))
            .args(["-t", "120", "start", "-w"])
            .output()
            .expect("run pg_ctl start");
        assert!(
            started.status.success(),
            "the standby did not start: {}\n{}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        replica.url = format!("postgres://{user}@127.0.0.1:{port}/{name}");
        Some(replica)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = as_postgres(&self.pg_ctl)
            .arg("-D")
            .arg(&self.dir)
            .args(["-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
