//! Signals during `migrate up`, and runs that meet each other at the lock.
//!
//! To hold a revision open for as long as the test needs, the test itself
//! blocks writes to the history table (a table lock on PostgreSQL, row locks
//! on MariaDB, a write transaction on SQLite): the runner then waits inside
//! the revision, exactly where a slow migration would be when the
//! orchestrator sends `SIGTERM`.

mod cli_support;

use cli_support::{ALL, HISTORY, command, ids, migrate};
use cofferdam_tests::{Backend, TestDb, backend_tests};
use sqlx::{AssertSqlSafe, Connection};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

backend_tests!(
    sigterm_lets_the_running_revision_finish_and_starts_no_other,
    a_second_run_waits_for_the_lock_gives_up_or_stops_at_once,
);

const PATIENCE: Duration = Duration::from_secs(30);

/// A connection of the test's own that blocks writes to the history table until dropped or released.
enum Holder {
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
    Sqlite(sqlx::SqliteConnection),
}

impl Holder {
    async fn block_history_writes(db: &TestDb) -> Holder {
        let run = |sql: &str| AssertSqlSafe(sql.to_owned());
        match db.backend {
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
                // EXCLUSIVE lets the runner read history but not insert its row.
                sqlx::raw_sql(run(&format!(
                    "BEGIN; LOCK TABLE {HISTORY} IN EXCLUSIVE MODE"
                )))
                .execute(&mut conn)
                .await
                .unwrap();
                Holder::Postgres(conn)
            }
            Backend::MySql => {
                let mut conn = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
                sqlx::raw_sql(run("START TRANSACTION"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                // Next-key locks on every row and the gap after them block inserts.
                sqlx::raw_sql(run(&format!("SELECT * FROM {HISTORY} FOR UPDATE")))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                Holder::MySql(conn)
            }
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
                sqlx::raw_sql(run("BEGIN IMMEDIATE"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Holder::Sqlite(conn)
            }
        }
    }

    /// Waits until a runner is blocked behind this holder (PostgreSQL can tell; elsewhere, a pause).
    async fn wait_for_a_blocked_runner(&mut self, db: &TestDb) {
        if db.backend != Backend::Postgres {
            tokio::time::sleep(Duration::from_millis(500)).await;
            return;
        }
        let started = Instant::now();
        loop {
            let rows = db
                .query(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                )
                .await;
            if rows[0][0].as_deref() != Some("0") {
                return;
            }
            assert!(started.elapsed() < PATIENCE, "the runner never blocked");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn release(self) {
        let rollback = AssertSqlSafe("ROLLBACK".to_owned());
        match self {
            Holder::Postgres(mut c) => drop(sqlx::raw_sql(rollback).execute(&mut c).await),
            Holder::MySql(mut c) => drop(sqlx::raw_sql(rollback).execute(&mut c).await),
            Holder::Sqlite(mut c) => drop(sqlx::raw_sql(rollback).execute(&mut c).await),
        }
    }
}

fn signal(child: &Child, name: &str) {
    let pid = child.id().expect("the child is running");
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// Reads the child's stdout (or stderr) until a line contains `text`; returns what was read.
async fn read_until<R: tokio::io::AsyncRead + Unpin>(
    lines: &mut tokio::io::Lines<BufReader<R>>,
    text: &str,
) -> String {
    let mut seen = String::new();
    let found = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(text) {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(found, Ok(true)),
        "never printed {text:?}; got:\n{seen}"
    );
    seen
}

async fn sigterm_lets_the_running_revision_finish_and_starts_no_other(db: TestDb) {
    migrate(&db.url, &["up", "--to", "create_articles"])
        .await
        .expect(0);
    let mut holder = Holder::block_history_writes(&db).await;

    let mut runner = command(&db.url, &["up", "-v"]).spawn().unwrap();
    let mut stdout = BufReader::new(runner.stdout.take().unwrap()).lines();
    // -v off a terminal prints each revision as it starts.
    let mut printed = read_until(&mut stdout, "applying add_slug").await;
    holder.wait_for_a_blocked_runner(&db).await;
    signal(&runner, "TERM");

    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        runner.try_wait().unwrap().is_none(),
        "the runner must not abandon a revision in progress"
    );
    holder.release().await;

    while let Ok(Some(line)) = stdout.next_line().await {
        printed.push_str(&line);
        printed.push('\n');
    }
    let run = cli_support::finish(runner).await;
    let stderr = run.stderr.clone();
    run.expect(130);
    assert!(printed.contains("applied  add_slug"), "{printed}");
    assert!(
        !printed.contains("create_authors"),
        "no new revision started:\n{printed}"
    );
    for text in [
        "received SIGTERM: `add_slug` is finishing (or rolling back); no later revision will start",
        "error: interrupted by a shutdown signal before revision `create_authors`; applied before it in this run: add_slug",
        "hint: Nothing is half-done: the run stopped between revisions. Run the same command again to continue with `create_authors`.",
    ] {
        assert!(stderr.contains(text), "stderr lacks {text:?}:\n{stderr}");
    }
    assert_eq!(
        ids(&db.history(HISTORY).await),
        ["create_articles", "add_slug"]
    );
    assert!(db.columns("articles").await.contains(&"slug".to_owned()));
    assert!(!db.tables().await.contains(&"authors".to_owned()));

    migrate(&db.url, &["up"])
        .await
        .expect(0)
        .stdout_has("applied 2 revisions");
    assert_eq!(ids(&db.history(HISTORY).await), ALL);
}

async fn a_second_run_waits_for_the_lock_gives_up_or_stops_at_once(db: TestDb) {
    migrate(&db.url, &["up", "--to", "create_articles"])
        .await
        .expect(0);
    let mut holder = Holder::block_history_writes(&db).await;
    // The first runner takes the migration lock and blocks inside `add_slug`.
    let mut first = command(&db.url, &["up", "-v"]).spawn().unwrap();
    let mut first_out = BufReader::new(first.stdout.take().unwrap()).lines();
    read_until(&mut first_out, "applying add_slug").await;
    holder.wait_for_a_blocked_runner(&db).await;

    // A runner with a short lock timeout gives up with its own exit code.
    migrate(&db.url, &["up", "--lock-timeout", "1"])
        .await
        .expect(10)
        .stderr_has("another migration run holds the lock on `cofferdam_history`; waited 1s");

    // A waiting runner stops at once on a signal: it has started nothing.
    let mut second = command(&db.url, &["up", "-v", "--lock-timeout", "60"])
        .spawn()
        .unwrap();
    let mut second_err = BufReader::new(second.stderr.take().unwrap()).lines();
    read_until(&mut second_err, "migrate up").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let signalled = Instant::now();
    signal(&second, "INT");
    let mut stderr = String::new();
    while let Ok(Some(line)) = second_err.next_line().await {
        stderr.push_str(&line);
        stderr.push('\n');
    }
    let run = cli_support::finish(second).await;
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "a runner waiting for the lock must not wait for it after a signal"
    );
    assert_eq!(run.code, 130, "{stderr}");
    assert!(
        // The CLI or the runtime's lock wait may notice the signal first.
        stderr.contains("error: interrupted by")
            && (stderr.contains("nothing was changed")
                || stderr.contains("no revision was applied before it")),
        "{stderr}"
    );

    holder.release().await;
    cli_support::finish(first).await.expect(0);
    assert_eq!(ids(&db.history(HISTORY).await), ALL);
}
