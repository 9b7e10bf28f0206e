//! A three-node MariaDB Galera cluster of the test's own on loopback: three
//! `mariadbd` with their own data directories and ports (`galera-4` from
//! Debian's packages, state transfer by rsync), the first bootstrapping the
//! cluster. Started in about 15 s; stopped, and its directory removed, when
//! the handle drops, after a panic too.

use crate::all_backends_required;
use crate::pgbouncer::{free_port, is_root};
use sqlx::{Connection, Row};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MARIADBD: &str = "/usr/sbin/mariadbd";
const PROVIDER: &str = "/usr/lib/galera/libgalera_smm.so";
/// Group-communication timeouts for a loaded 2-core machine: a node stalled
/// by the test build for a few seconds is not taken for a partition.
const GENEROUS: &str = "evs.suspect_timeout=PT30S;evs.inactive_timeout=PT60S;evs.install_timeout=PT60S;pc.wait_prim_timeout=PT60S";

/// A running cluster; stopped when dropped.
#[derive(Debug)]
pub struct Galera {
    /// A URL per node, all naming the same (replicated) test database.
    pub urls: Vec<String>,
    nodes: Vec<Child>,
    dir: PathBuf,
}

fn missing() -> Option<&'static str> {
    let on_path = |name: &str| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .any(|dir| dir.join(name).is_file())
    };
    if !Path::new(MARIADBD).is_file() || !on_path("mariadb-install-db") {
        Some("mariadb-server")
    } else if !Path::new(PROVIDER).is_file() {
        Some("galera-4")
    } else if !on_path("rsync") {
        Some("rsync")
    } else {
        None
    }
}

impl Galera {
    /// Starts the cluster and creates database `name` on it. None when a
    /// package is missing (or the tests do not run as root, which the
    /// nodes' `mysql` user needs) and `CI` is unset; in CI that fails.
    pub async fn start(name: &str) -> Option<Galera> {
        let why = match missing() {
            Some(package) => Some(format!("the Debian package `{package}` is not installed")),
            None if !is_root() => Some("the tests do not run as root".to_owned()),
            None => None,
        };
        if let Some(why) = why {
            assert!(
                !all_backends_required(),
                "Galera is required in CI but {why}"
            );
            let _ = writeln!(std::io::stderr(), "note: skipped a Galera test: {why}");
            return None;
        }
        // A node can give up while it joins on a loaded machine (it takes
        // a peer's slowness for a partition and aborts): start afresh once.
        match Galera::launch(name).await {
            Ok(cluster) => Some(cluster),
            Err(first) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "note: the Galera cluster did not start ({first}); starting it again"
                );
                Some(
                    Galera::launch(name)
                        .await
                        .unwrap_or_else(|again| panic!("{again}")),
                )
            }
        }
    }

    /// Starts the three nodes and creates database `name`; what went wrong
    /// when a node exited or was not ready in time (the cluster is stopped
    /// and removed then, as the handle drops).
    async fn launch(name: &str) -> Result<Galera, String> {
        let dir = std::env::temp_dir()
            .join("cofferdam-tests")
            .join(format!("{name}_galera"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the cluster's directory");
        let first = dir.join("n0");
        run(Command::new("mariadb-install-db").args([
            "--no-defaults",
            &format!("--datadir={}", first.join("data").display()),
            "--user=mysql",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]));
        for node in 1..3 {
            let to = dir.join(format!("n{node}"));
            std::fs::create_dir_all(&to).expect("create a node directory");
            run(Command::new("cp")
                .arg("-a")
                .arg(first.join("data"))
                .arg(&to));
        }
        run(Command::new("chown").args(["-R", "mysql:mysql"]).arg(&dir));
        // client, group communication, incremental and full state transfer
        let ports: Vec<[u16; 4]> = (0..3)
            .map(|_| [free_port(), free_port(), free_port(), free_port()])
            .collect();
        let members: Vec<String> = ports
            .iter()
            .map(|p| format!("127.0.0.1:{}", p[1]))
            .collect();
        let mut cluster = Galera {
            urls: ports
                .iter()
                .map(|p| format!("mysql://root@127.0.0.1:{}/{name}", p[0]))
                .collect(),
            nodes: Vec::new(),
            dir: dir.clone(),
        };
        for (node, [port, group, ist, sst]) in ports.iter().copied().enumerate() {
            let home = dir.join(format!("n{node}"));
            let mut command = Command::new(MARIADBD);
            command
                .arg("--no-defaults")
                .arg(format!("--datadir={}", home.join("data").display()))
                .arg(format!("--socket={}", home.join("sock").display()))
                .arg(format!("--log-error={}", home.join("error.log").display()))
                .arg(format!("--pid-file={}", home.join("pid").display()))
                .arg(format!("--port={port}"))
                .args(["--bind-address=127.0.0.1", "--user=mysql", "--skip-name-resolve"])
                .args(["--wsrep_on=ON", &format!("--wsrep_provider={PROVIDER}")])
                .arg(format!("--wsrep_cluster_address=gcomm://{}", members.join(",")))
                .arg(format!("--wsrep_node_address=127.0.0.1:{group}"))
                .arg(format!("--wsrep_node_name=n{node}"))
                .arg(format!(
                    "--wsrep_provider_options=gmcast.listen_addr=tcp://127.0.0.1:{group};ist.recv_addr=127.0.0.1:{ist};gcache.size=32M;{GENEROUS}"
                ))
                .arg(format!("--wsrep_sst_receive_address=127.0.0.1:{sst}"))
                .args(["--wsrep_sst_method=rsync", "--binlog_format=ROW"])
                .args(["--innodb_autoinc_lock_mode=2", "--default_storage_engine=InnoDB"])
                .args(["--innodb_buffer_pool_size=32M", "--performance_schema=OFF"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if node == 0 {
                command.arg("--wsrep-new-cluster");
            }
            cluster.nodes.push(command.spawn().expect("start mariadbd"));
            // The first node must be up before the others can join it.
            if node == 0 {
                cluster.wait_ready(0, 1).await?;
            }
        }
        for node in 0..3 {
            cluster.wait_ready(node, 3).await?;
        }
        let server = cluster.urls[0]
            .rsplit_once('/')
            .expect("a URL with a path")
            .0;
        let mut conn = sqlx::MySqlConnection::connect(&format!("{server}/mysql"))
            .await
            .expect("connect to the first node");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create the test database");
        let _ = conn.close().await;
        Ok(cluster)
    }

    /// Waits until `node` accepts connections, is synced and sees `size` nodes.
    async fn wait_ready(&mut self, node: usize, size: u32) -> Result<(), String> {
        let started = Instant::now();
        let server = self.urls[node]
            .rsplit_once('/')
            .expect("a URL")
            .0
            .to_owned();
        loop {
            if let Ok(Some(status)) = self.nodes[node].try_wait() {
                return Err(format!(
                    "Galera node {node} exited with {status}:\n{}",
                    self.log(node)
                ));
            }
            if let Ok(mut conn) = sqlx::MySqlConnection::connect(&format!("{server}/mysql")).await {
                let rows = sqlx::raw_sql(
                    "SHOW STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_cluster_size', 'wsrep_local_state_comment')",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap_or_default();
                let _ = conn.close().await;
                let value = |name: &str| {
                    rows.iter()
                        .find(|row| {
                            row.try_get_unchecked::<String, _>(0).ok().as_deref() == Some(name)
                        })
                        .and_then(|row| row.try_get_unchecked::<String, _>(1).ok())
                        .unwrap_or_default()
                };
                if value("wsrep_ready") == "ON"
                    && value("wsrep_local_state_comment") == "Synced"
                    && value("wsrep_cluster_size").parse::<u32>().unwrap_or(0) >= size
                {
                    return Ok(());
                }
            }
            if started.elapsed() > Duration::from_secs(120) {
                return Err(format!(
                    "Galera node {node} was not ready within 120 s:\n{}",
                    self.log(node)
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn log(&self, node: usize) -> String {
        let log = std::fs::read_to_string(self.dir.join(format!("n{node}/error.log")))
            .unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

pub(crate) fn run(command: &mut Command) {
    let output = command.output().expect("run a set-up command");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Drop for Galera {
    fn drop(&mut self) {
        // All at once, so no node waits for the others to hand over state.
        for node in &mut self.nodes {
            let _ = node.kill();
        }
        for node in &mut self.nodes {
            let _ = node.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
