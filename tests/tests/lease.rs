//! Beyond one database: the lease lock (`--lock lease`), runners on a
//! Galera cluster, and a standby and a read-only MariaDB refused. Runners contending on one server, a
//! holder killed with SIGKILL and taken over after its lease expires, and a
//! holder stopped with SIGSTOP past its lease that, once resumed, applies
//! nothing. A file of its own because these tests run children for seconds
//! each and signal them; the history rows show who applied what (each
//! runner has its own `USER`, recorded in `applied_by`).

use cofferdam_tests::{Backend, Run, TestDb, fresh_database};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

const SET: &str = "cli_lease";
const LOCK_TABLE: &str = "cofferdam_history_lock";

/// Starts `migrate up --lock lease ARGS` as runner `user`, its slow
/// revision pausing `pause_ms`.
fn start(db: &TestDb, user: &str, pause_ms: u64, args: &[&str]) -> Child {
    run_verb(db, user, pause_ms, &[&["up"], args].concat())
}

/// Starts `migrate --lock lease ARGS` as runner `user`.
fn run_verb(db: &TestDb, user: &str, pause_ms: u64, args: &[&str]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cli_child"));
    command.arg(SET).args(["--lock", "lease"]).args(args);
    cofferdam_tests::isolate(&mut command, &db.url)
        .env("USER", user)
        .env("CFDM_LEASE_PAUSE_MS", pause_ms.to_string())
        .spawn()
        .expect("start the cli_child helper")
}

async fn finish(child: Child) -> Run {
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the runner finished in time")
        .expect("the runner ran");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `(id, applied_by user, state)` of each history row, in order.
async fn history(db: &TestDb) -> Vec<(String, String, String)> {
    db.query("SELECT id, applied_by, state FROM cofferdam_history ORDER BY seq")
        .await
        .into_iter()
        .map(|row| {
            let by = row[1].clone().unwrap_or_default();
            let user = by.split('@').next().unwrap_or_default().to_owned();
            (
                row[0].clone().unwrap_or_default(),
                user,
                row[2].clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn rows(expected: &[(&str, &str)]) -> Vec<(String, String, String)> {
    expected
        .iter()
        .map(|(id, user)| ((*id).into(), (*user).into(), "applied".into()))
        .collect()
}

/// Polls `done` every 100 ms for up to 60 s (the machine is loaded).
async fn wait_until<F: AsyncFn() -> bool>(what: &str, done: F) {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what} did not happen within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn applied(db: &TestDb, id: &str) -> bool {
    db.tables().await.iter().any(|t| t == "cofferdam_history")
        && !db
            .query(&format!(
                "SELECT 1 FROM cofferdam_history WHERE id = '{id}' AND state = 'applied'"
            ))
            .await
            .is_empty()
}

fn signal(child: &Child, name: &str) {
    let pid = child.id().expect("the runner is running");
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid}");
}

async fn lock_rows(db: &TestDb) -> String {
    db.query(&format!("SELECT count(*) FROM {LOCK_TABLE}"))
        .await[0][0]
        .clone()
        .unwrap_or_default()
}

/// Eight runners started together: all succeed (a loser finds the
/// revisions applied once it gets the lease), every revision is applied
/// once, and no lease is left behind.
async fn eight_runners_contend(db: TestDb) {
    let runners: Vec<Child> = (0..8)
        .map(|i| start(&db, &format!("runner{i}"), 300, &[]))
        .collect();
    for runner in runners {
        finish(runner).await.expect(0);
    }
    let history = history(&db).await;
    let ids: Vec<&str> = history.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids, ["lease_one", "lease_slow", "lease_three"]);
    assert!(history.iter().all(|(_, _, state)| state == "applied"));
    assert_eq!(lock_rows(&db).await, "0", "the lease was released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_runners_contend_postgres() {
    if let Some(db) = fresh_database(Backend::Postgres).await {
        eight_runners_contend(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_runners_contend_mysql() {
    if let Some(db) = fresh_database(Backend::MySql).await {
        eight_runners_contend(db).await;
    }
}

/// On MySQL a revision runs outside a transaction, so a runner stopped
/// inside one leaves its `started` row: settling it takes the lock, here
/// the lease of the runner that was stopped.
async fn settle_started(db: &TestDb) {
    if db.backend == Backend::MySql {
        let resolve = run_verb(
            db,
            "second",
            0,
            &[
                "resolve",
                "lease_slow",
                "--rolled-back",
                "--lease",
                "2",
                "--lock-timeout",
                "60",
            ],
        );
        finish(resolve).await.expect(0);
    }
}

/// A holder killed with SIGKILL leaves its lease row; the next runner
/// waits for it to expire, takes it over and applies the rest.
async fn a_killed_holder_is_taken_over(db: TestDb) {
    let mut first = start(&db, "first", 120_000, &["--lease", "2"]);
    wait_until("the first revision", async || {
        applied(&db, "lease_one").await
    })
    .await;
    first.kill().await.expect("kill -9 the holder");
    assert_eq!(lock_rows(&db).await, "1", "the killed holder's row is left");
    settle_started(&db).await;
    let second = start(&db, "second", 0, &["--lease", "2", "--lock-timeout", "60"]);
    finish(second).await.expect(0);
    assert_eq!(
        history(&db).await,
        rows(&[
            ("lease_one", "first"),
            ("lease_slow", "second"),
            ("lease_three", "second")
        ])
    );
    assert_eq!(lock_rows(&db).await, "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holder_is_taken_over_postgres() {
    if let Some(db) = fresh_database(Backend::Postgres).await {
        a_killed_holder_is_taken_over(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holder_is_taken_over_mysql() {
    if let Some(db) = fresh_database(Backend::MySql).await {
        a_killed_holder_is_taken_over(db).await;
    }
}

/// A holder stopped (SIGSTOP) inside a revision for longer than its lease
/// loses it, and another runner takes it over. The holder, resumed
/// (SIGCONT) before the revision's statement, finds its lease lost and
/// stops with exit 10 before sending anything: the table of that revision
/// is not created, and the rows after the pause are all the other runner's.
async fn a_paused_holder_applies_nothing_after_losing_its_lease(db: TestDb) {
    let first = start(&db, "first", 4_000, &["--lease", "2"]);
    wait_until("the first revision", async || {
        applied(&db, "lease_one").await
    })
    .await;
    signal(&first, "STOP");
    let expired = format!("SELECT 1 FROM {LOCK_TABLE} WHERE expires_at > {}", now(&db));
    wait_until("the lease to expire", async || {
        db.query(&expired).await.is_empty()
    })
    .await;
    // Takes the lease over: from here the stopped holder has lost it.
    settle_started(&db).await;
    // On MySQL it is resumed now, with its `started` row settled and
    // nothing else applied; on PostgreSQL after the other runner is done.
    let resume = async |first: Child| {
        signal(&first, "CONT");
        finish(first).await
    };
    let (resumed, second) = if db.backend == Backend::MySql {
        let resumed = resume(first).await;
        assert!(
            !db.tables().await.iter().any(|t| t == "lease_slow_t"),
            "the stopped holder sent its statement after losing the lease"
        );
        let second = start(&db, "second", 0, &["--lease", "2", "--lock-timeout", "60"]);
        (resumed, finish(second).await)
    } else {
        let second = start(&db, "second", 0, &["--lease", "2", "--lock-timeout", "60"]);
        let second = finish(second).await;
        (resume(first).await, second)
    };
    second.expect(0);
    resumed
        .expect(10)
        .stderr_has("lost the migration lease on `cofferdam_history`")
        .stderr_has("No revision was applied twice");
    assert_eq!(
        history(&db).await,
        rows(&[
            ("lease_one", "first"),
            ("lease_slow", "second"),
            ("lease_three", "second")
        ])
    );
    assert_eq!(lock_rows(&db).await, "0");
}

/// The database's clock, as the lease uses it.
fn now(db: &TestDb) -> &'static str {
    match db.backend {
        Backend::MySql => "UTC_TIMESTAMP(6)",
        _ => "clock_timestamp()",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_holder_applies_nothing_after_losing_its_lease_postgres() {
    if let Some(db) = fresh_database(Backend::Postgres).await {
        a_paused_holder_applies_nothing_after_losing_its_lease(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_holder_applies_nothing_after_losing_its_lease_mysql() {
    if let Some(db) = fresh_database(Backend::MySql).await {
        a_paused_holder_applies_nothing_after_losing_its_lease(db).await;
    }
}

/// On a three-node Galera cluster, `GET_LOCK` is local to one node (two
/// nodes both grant it), so `up` detects `wsrep_on` and takes the lease:
/// two runners on each node at once, without `--lock lease`, apply every
/// revision exactly once, as every node's history shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn galera_runners_on_three_nodes_apply_each_revision_once() {
    use cofferdam_tests::galera::Galera;
    use sqlx::{Connection, Row};
    let name = format!("cfdm_galera_{}", std::process::id());
    let Some(cluster) = Galera::start(&name).await else {
        return;
    };
    // Held on the first node while the second is asked: a lock that
    // serialised the cluster would answer 0 there. It answers 1 (granted,
    // local to the node) or fails (refused in a cluster, MDEV-30473).
    let mut sessions = Vec::new();
    let mut answers = Vec::new();
    for url in &cluster.urls[..2] {
        let mut conn = sqlx::MySqlConnection::connect(url).await.expect("connect");
        let answer: Option<i64> = sqlx::query("SELECT GET_LOCK('cfdm_probe', 0)")
            .fetch_one(&mut conn)
            .await
            .ok()
            .and_then(|row| row.get(0));
        answers.push(answer);
        sessions.push(conn);
    }
    assert!(
        !answers.contains(&Some(0)),
        "GET_LOCK serialised two nodes: {answers:?}"
    );
    for conn in sessions {
        let _ = conn.close().await;
    }
    let runners: Vec<Child> = cluster
        .urls
        .iter()
        .cycle()
        .take(6)
        .enumerate()
        .map(|(i, url)| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_cli_child"));
            command.args([SET, "up", "--lock-timeout", "120"]);
            cofferdam_tests::isolate(&mut command, url)
                .env("USER", format!("node{}", i % 3))
                .env("CFDM_LEASE_PAUSE_MS", "300")
                .spawn()
                .expect("start the cli_child helper")
        })
        .collect();
    for runner in runners {
        finish(runner).await.expect(0);
    }
    for url in &cluster.urls {
        let mut conn = sqlx::MySqlConnection::connect(url).await.expect("connect");
        let ids: Vec<String> =
            sqlx::query("SELECT id FROM cofferdam_history WHERE state = 'applied' ORDER BY seq")
                .fetch_all(&mut conn)
                .await
                .expect("read the history")
                .iter()
                .map(|row| row.get(0))
                .collect();
        assert_eq!(
            ids,
            ["lease_one", "lease_slow", "lease_three"],
            "history on {url}"
        );
        // The lease was used (its table exists) and given back.
        let leases: i64 = sqlx::query("SELECT count(*) FROM cofferdam_history_lock")
            .fetch_one(&mut conn)
            .await
            .expect("the lease table exists")
            .get(0);
        assert_eq!(leases, 0, "lease rows on {url}");
        let _ = conn.close().await;
    }
}

/// Pointed at a hot standby, `up` (with either lock) refuses before
/// changing anything: exit 2, a message naming the problem, the advice to
/// use the primary; the primary is left untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_is_refused_before_anything_changes() {
    use cofferdam_tests::replica::Replica;
    let Some(db) = fresh_database(Backend::Postgres).await else {
        return;
    };
    let server = Backend::Postgres.server_url().expect("a server URL");
    // Declared after `db`, so stopped before the database is dropped.
    let Some(standby) = Replica::start(&server, &db.name) else {
        return;
    };
    for lock in ["auto", "lease"] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cli_child"));
        command.args([SET, "--lock", lock, "up"]);
        let child = cofferdam_tests::isolate(&mut command, &standby.url)
            .spawn()
            .expect("start the cli_child helper");
        finish(child)
            .await
            .expect(2)
            .stderr_has("refusing to migrate a server that takes no writes: it is a hot standby in recovery (pg_is_in_recovery() is true); nothing was changed")
            .stderr_has("hint: Point migrations at the primary");
    }
    assert_eq!(db.tables().await, Vec::<String>::new(), "nothing created");
}

/// Pointed at a MariaDB server running with `read_only` (a replica), `up`
/// refuses before changing anything: exit 2 and the variable that showed
/// it. Root could still write there (it has READ_ONLY ADMIN), which is what
/// makes the check needed: a write would go through and split the replica
/// from its primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_mariadb_is_refused_before_anything_changes() {
    use cofferdam_tests::lone_mariadb::LoneMariaDb;
    use sqlx::{Connection, Row};
    let Some(server) =
        LoneMariaDb::start("cfdm_lease_read_only", &["--read-only".into()], &[]).await
    else {
        return;
    };
    for lock in ["auto", "lease"] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cli_child"));
        command.args([SET, "--lock", lock, "up"]);
        let child = cofferdam_tests::isolate(&mut command, &server.url)
            .spawn()
            .expect("start the cli_child helper");
        finish(child)
            .await
            .expect(2)
            .stderr_has("refusing to migrate a server that takes no writes: read_only = ON; nothing was changed")
            .stderr_has("hint: Point migrations at the primary");
    }
    let mut conn = sqlx::MySqlConnection::connect(&server.url)
        .await
        .expect("connect to the read-only server");
    let tables: i64 =
        sqlx::query("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'test'")
            .fetch_one(&mut conn)
            .await
            .expect("count the tables")
            .get(0);
    assert_eq!(tables, 0, "nothing created on the read-only server");
    let _ = conn.close().await;
}
