//! The database over a deploy's lifetime: an older binary after an image
//! rollback (ahead, diverged, `--strict`), `status` while a revision runs,
//! `stamp` on a branched graph, two spellings of the history table racing,
//! a SQLite file another program holds busy, and PgBouncer in front.

mod cli_support;

use cli_support::migrate;
use cofferdam_tests::{Backend, TestDb, backend_tests, fresh_database};
use sqlx::Connection;
use std::time::{Duration, Instant};

const HISTORY: &str = "cofferdam_history";
const NEWER: &str = "cli_rollback_new";
const OLDER: &str = "cli_rollback_old";
const OTHER: &str = "cli_rollback_other";
const STAMP: &str = "cli_stamp";
const SPELLINGS: &str = "cli_spellings";
const SLOW: &str = "cli_slow";

fn history(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(id, state)| ((*id).to_owned(), (*state).to_owned()))
        .collect()
}

backend_tests!(
    an_older_binary_starts_on_a_database_ahead_of_it,
    stamp_keeps_other_branches_and_marks_its_rows,
    two_spellings_of_the_history_table_take_one_lock,
);

async fn an_older_binary_starts_on_a_database_ahead_of_it(db: TestDb) {
    let all = history(&[
        ("rb_one", "applied"),
        ("rb_two", "applied"),
        ("rb_three", "applied"),
    ]);
    migrate(NEWER, &db.url, &["up"]).await.expect(0);

    // The rollback: the older image starts, applies nothing, and says why.
    migrate(OLDER, &db.url, &["up"])
        .await
        .expect(0)
        .stderr_has("warning: the database is ahead of this binary by 1 revision: rb_three")
        .stderr_has("run `migrate down` with the newer binary")
        .stdout_has("ahead of this binary by 1 revision (rb_three); nothing to apply");
    assert_eq!(db.history(HISTORY).await, all);
    migrate(OLDER, &db.url, &["status"])
        .await
        .expect(0)
        .stdout_has("  ahead    rb_three: applied by a newer binary")
        .stdout_has("ahead of this binary by 1 revision (rb_three)");
    let status = migrate(OLDER, &db.url, &["status", "--json"])
        .await
        .expect(0)
        .json();
    assert_eq!(status["ahead"], serde_json::json!(["rb_three"]));
    assert_eq!(status["ahead_by"], 1);
    assert_eq!(status["unknown"], serde_json::json!([]));

    // The CI gate, --strict and `down` still refuse an unknown revision.
    migrate(OLDER, &db.url, &["check"])
        .await
        .expect(8)
        .stderr_has("applied revision(s) `rb_three` that this binary does not know");
    migrate(OLDER, &db.url, &["up", "--strict"])
        .await
        .expect(8)
        .stderr_has("`rb_three`");
    let strict = migrate(OLDER, &db.url, &["status", "--strict", "--json"])
        .await
        .expect(8)
        .json();
    assert_eq!(strict["unknown"], serde_json::json!(["rb_three"]));
    migrate(OLDER, &db.url, &["down"]).await.expect(8);

    // A binary that went another way: rb_elsewhere is not applied, so the
    // database is not ahead of it but diverged.
    migrate(OTHER, &db.url, &["up"])
        .await
        .expect(8)
        .stderr_has("applied revision(s) `rb_three` that this binary does not know");
    migrate(OTHER, &db.url, &["status"])
        .await
        .expect(8)
        .stdout_has("UNKNOWN  rb_three");
    assert_eq!(db.history(HISTORY).await, all, "nothing was changed");
    assert!(!db.tables().await.contains(&"rb_elsewhere_t".to_owned()));

    // Rolling forward again: the newer binary is at head.
    migrate(NEWER, &db.url, &["up"])
        .await
        .expect(0)
        .stdout_has("already at rb_three");
}

async fn stamp_keeps_other_branches_and_marks_its_rows(db: TestDb) {
    migrate(STAMP, &db.url, &["up", "--to", "st_left"])
        .await
        .expect(0);
    // Stamping the right branch keeps the left one.
    migrate(STAMP, &db.url, &["stamp", "st_right"])
        .await
        .expect(0)
        .stdout_has("stamped st_right (recorded as applied, not run)");
    assert_eq!(
        db.history(HISTORY).await,
        history(&[
            ("st_root", "applied"),
            ("st_left", "applied"),
            ("st_right", "applied"),
        ])
    );
    assert!(!db.tables().await.contains(&"st_right_t".to_owned()));
    let rows = migrate(STAMP, &db.url, &["history", "--json"])
        .await
        .expect(0)
        .json();
    let stamped: Vec<(&str, bool)> = rows
        .as_array()
        .expect("an array")
        .iter()
        .map(|row| {
            (
                row["id"].as_str().unwrap(),
                row["stamped"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        stamped,
        [("st_root", false), ("st_left", false), ("st_right", true)]
    );
    migrate(STAMP, &db.url, &["history"])
        .await
        .expect(0)
        .stdout_has("stamped (recorded, not run)");
    migrate(STAMP, &db.url, &["stamp", "heads"])
        .await
        .expect(0)
        .stdout_has("nothing changed");
    migrate(STAMP, &db.url, &["stamp", "head"]).await.expect(6);

    // `base` empties the history, running nothing.
    migrate(STAMP, &db.url, &["stamp", "base"])
        .await
        .expect(0)
        .stdout_has("removed st_left")
        .stdout_has("removed st_right");
    assert_eq!(db.history(HISTORY).await, history(&[]));
    assert!(db.tables().await.contains(&"st_left_t".to_owned()));

    // Several revisions at once.
    migrate(STAMP, &db.url, &["stamp", "st_left", "st_right"])
        .await
        .expect(0)
        .stdout_has("stamped st_root");
    assert_eq!(db.history(HISTORY).await.len(), 3);
    // Stamping back along one line removes what builds on it, both branches here.
    migrate(STAMP, &db.url, &["stamp", "st_root"])
        .await
        .expect(0)
        .stdout_has("removed st_left")
        .stdout_has("removed st_right");
    assert_eq!(
        db.history(HISTORY).await,
        history(&[("st_root", "applied")])
    );

    // `head` on a graph with one.
    migrate(
        NEWER,
        &db.url,
        &["stamp", "head", "--history-table", "rb_history"],
    )
    .await
    .expect(0)
    .stdout_has("stamped rb_three");
    assert_eq!(
        db.history("rb_history").await,
        history(&[
            ("rb_one", "applied"),
            ("rb_two", "applied"),
            ("rb_three", "applied"),
        ])
    );
    migrate(NEWER, &db.url, &["status", "--history-table", "rb_history"])
        .await
        .expect(0);
}

async fn two_spellings_of_the_history_table_take_one_lock(db: TestDb) {
    let qualified = match db.backend {
        Backend::Postgres => format!("public.{HISTORY}"),
        Backend::MySql => format!("{}.{HISTORY}", db.name),
        Backend::Sqlite => format!("main.{HISTORY}"),
    };
    let runners = (0..6).map(|i| {
        let table = if i % 2 == 0 {
            HISTORY
        } else {
            qualified.as_str()
        };
        let url = db.url.clone();
        async move {
            migrate(
                SPELLINGS,
                &url,
                &["up", "--lock-timeout", "50", "--history-table", table],
            )
            .await
        }
    });
    for run in futures::future::join_all(runners).await {
        run.expect(0);
    }
    assert_eq!(
        db.history(HISTORY).await,
        history(&[("sp_table", "applied"), ("sp_index", "applied")]),
        "each revision applied exactly once, no failed row"
    );
    migrate(SPELLINGS, &db.url, &["up", "--history-table", &qualified])
        .await
        .expect(0)
        .stdout_has("already at sp_index");
    migrate(SPELLINGS, &db.url, &["status"]).await.expect(0);
}

/// A SQLite file held by another program: the wait follows --lock-timeout
/// and ends like a lock timeout (exit 10), not after a fixed 30 s in exit 1.
#[tokio::test]
async fn a_sqlite_file_held_busy_ends_in_exit_10() {
    let Some(db) = fresh_database(Backend::Sqlite).await else {
        return;
    };
    let mut holder = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("open the file");
    sqlx::raw_sql("CREATE TABLE held (id INTEGER); BEGIN EXCLUSIVE; INSERT INTO held VALUES (1)")
        .execute(&mut holder)
        .await
        .expect("hold the file");
    let started = Instant::now();
    migrate(SPELLINGS, &db.url, &["up", "--lock-timeout", "2"])
        .await
        .expect(10)
        .stderr_has("error: the database is busy: another program held it locked for 2s");
    // Generous: the point is that it does not wait the old fixed 30 s.
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(25), "waited {waited:?}");
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .expect("let go");
    holder.close().await.expect("close");
    migrate(SPELLINGS, &db.url, &["up"]).await.expect(0);
    assert_eq!(
        db.history(HISTORY).await,
        history(&[("sp_table", "applied"), ("sp_index", "applied")])
    );
}

/// A lock the test holds and `slow_gate` waits for.
enum Gate {
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
}

impl Gate {
    async fn hold(db: &TestDb) -> Gate {
        match db.backend {
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
                sqlx::raw_sql("SELECT pg_advisory_lock(4201)")
                    .execute(&mut conn)
                    .await
                    .expect("hold the gate");
                Gate::Postgres(conn)
            }
            Backend::MySql => {
                let mut conn = sqlx::MySqlConnection::connect(&db.url)
                    .await
                    .expect("connect");
                sqlx::raw_sql("SELECT GET_LOCK(CONCAT('cfdm_gate_', DATABASE()), 10)")
                    .execute(&mut conn)
                    .await
                    .expect("hold the gate");
                Gate::MySql(conn)
            }
            Backend::Sqlite => unreachable!("SQLite runs one writer at a time"),
        }
    }

    /// Lets the revision go on, by closing the connection that holds the gate.
    async fn release(self) {
        match self {
            Gate::Postgres(conn) => conn.close().await.expect("close"),
            Gate::MySql(conn) => conn.close().await.expect("close"),
        }
    }
}

/// `status` while a revision runs: running (exit 11), not failed, and so in
/// `graph --status` and `check`; a second runner says it waits and for
/// whom; at head once the run ends.
async fn a_running_revision_shows_as_running(db: TestDb, holder_word: &str) {
    let gate = Gate::hold(&db).await;
    let url = db.url.clone();
    let runner = tokio::spawn(async move { migrate(SLOW, &url, &["up"]).await });
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        let run = migrate(SLOW, &db.url, &["status", "--json"]).await;
        if run.code == 11 {
            break run.json();
        }
        // Before the runner has written its row, the revision is pending.
        assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
        assert!(
            Instant::now() < deadline,
            "status never reported the run: {}",
            run.stdout
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status["running"][0]["id"], "slow_gate");
    assert_eq!(status["running"][0]["state"], "started");
    let holder = status["running"][0]["lock_holder"]
        .as_str()
        .unwrap_or_default();
    assert!(holder.starts_with(holder_word), "{holder}");
    assert_eq!(status["failed"], serde_json::json!([]));
    migrate(SLOW, &db.url, &["status"])
        .await
        .expect(11)
        .stdout_has("RUNNING  slow_gate (running for")
        .stdout_has(&format!("the migration lock is held by {holder_word}"))
        .stdout_has("running: `slow_gate` is being applied by another run");
    migrate(SLOW, &db.url, &["graph", "--status"])
        .await
        .expect(0)
        .stdout_has("running  slow_gate");
    migrate(SLOW, &db.url, &["check"])
        .await
        .expect(11)
        .stderr_has("revision `slow_gate` is being applied by another run right now")
        .stderr_has("RUNNING  slow_gate (running for")
        .stdout_has("check failed: 1 problem (exit 11)");
    migrate(SLOW, &db.url, &["up", "--lock-timeout", "3"])
        .await
        .expect(10)
        .stderr_has(&format!(
            "waiting for the migration lock on `cofferdam_history`: another run holds it ({holder_word}"
        ));

    gate.release().await;
    runner.await.expect("the runner task").expect(0);
    migrate(SLOW, &db.url, &["status"])
        .await
        .expect(0)
        .stdout_has("at head");
    assert_eq!(
        db.history(HISTORY).await,
        history(&[("slow_gate", "applied")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_revision_shows_as_running_postgres() {
    if let Some(db) = fresh_database(Backend::Postgres).await {
        a_running_revision_shows_as_running(db, "pid ").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_revision_shows_as_running_mysql() {
    if let Some(db) = fresh_database(Backend::MySql).await {
        a_running_revision_shows_as_running(db, "connection ").await;
    }
}

/// Behind PgBouncer in transaction pooling mode the migration lock cannot
/// be held (every transaction may get another server session): `up` refuses
/// before creating anything, with exit 2 and a message naming the pooler.
/// In session pooling mode it works as on a direct connection, and in
/// transaction pooling mode with `--lock lease`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbouncer_transaction_pooling_is_refused_session_pooling_and_lease_work() {
    use cofferdam_tests::pgbouncer::{PgBouncer, PoolMode};
    const ADVISORY: &str = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    let Some(db) = fresh_database(Backend::Postgres).await else {
        return;
    };
    // Declared after `db`, so dropped first: PgBouncer stops before the
    // database is dropped.
    let Some(pool) = PgBouncer::start(&db, PoolMode::Transaction) else {
        return;
    };
    migrate(OLDER, &pool.url, &["up"])
        .await
        .expect(2)
        .stderr_has(
            "refusing to migrate through a pooler that does not keep one session per connection",
        )
        .stderr_has("this looks like PgBouncer in transaction pooling mode")
        .stderr_has("nothing was changed")
        .stderr_has("hint: Connect migrations directly to PostgreSQL");
    assert_eq!(db.tables().await, Vec::<String>::new(), "nothing created");
    for verb in [&["stamp", "head"][..], &["resolve", "rb_one", "--applied"]] {
        migrate(OLDER, &pool.url, verb)
            .await
            .expect(2)
            .stderr_has("this looks like PgBouncer in transaction pooling mode");
    }
    assert_eq!(db.tables().await, Vec::<String>::new(), "nothing created");
    assert_eq!(
        db.query(ADVISORY).await[0][0].as_deref(),
        Some("0"),
        "no lock left in a pooled session"
    );
    drop(pool);

    // A pool that rotates sessions hands a second connection another
    // session; the check after the lock sees the session change, and the
    // lock it took is given back.
    let Some(pool) = PgBouncer::start(&db, PoolMode::TransactionRoundRobin) else {
        return;
    };
    pool.open_server_sessions(2).await;
    migrate(OLDER, &pool.url, &["up"])
        .await
        .expect(2)
        .stderr_has("the server session changed between two statements")
        .stderr_has("this looks like PgBouncer in transaction pooling mode");
    assert_eq!(db.tables().await, Vec::<String>::new(), "nothing created");
    assert_eq!(db.query(ADVISORY).await[0][0].as_deref(), Some("0"));
    drop(pool);

    let Some(pool) = PgBouncer::start(&db, PoolMode::Session) else {
        return;
    };
    migrate(OLDER, &pool.url, &["up"]).await.expect(0);
    assert_eq!(
        db.history(HISTORY).await,
        history(&[("rb_one", "applied"), ("rb_two", "applied")])
    );
    drop(pool);

    // The lease lock is a row, not a session lock: transaction pooling
    // works with it, and the lease is given back.
    let Some(pool) = PgBouncer::start(&db, PoolMode::Transaction) else {
        return;
    };
    migrate(NEWER, &pool.url, &["up", "--lock", "lease"])
        .await
        .expect(0);
    assert_eq!(
        db.history(HISTORY).await,
        history(&[
            ("rb_one", "applied"),
            ("rb_two", "applied"),
            ("rb_three", "applied")
        ])
    );
    assert_eq!(
        db.query("SELECT count(*) FROM cofferdam_history_lock")
            .await[0][0]
            .as_deref(),
        Some("0")
    );
}
