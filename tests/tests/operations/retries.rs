//! Lock timeouts with retries: a revision waiting on another session's lock
//! gives up after its timeout and is retried, per revision or per run.

use super::*;

#[migration(set = "ops_lock")]
async fn create_accounts(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)")
        .await?;
    m.execute("INSERT INTO accounts (id, balance) VALUES (1, 10)")
        .await
}

/// Declares its own limits.
#[migration(set = "ops_lock", after = create_accounts, lock_timeout = "300ms", retries = 30)]
async fn add_account_note(m: &mut Migration<'_>) -> Result<()> {
    m.execute("ALTER TABLE accounts ADD COLUMN note VARCHAR(20)")
        .await
}

#[migration(set = "ops_lock_default")]
async fn create_ledger(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)")
        .await?;
    m.execute("INSERT INTO accounts (id, balance) VALUES (1, 10)")
        .await
}

/// Declares nothing: the migrator's defaults apply.
#[migration(set = "ops_lock_default", after = create_ledger)]
async fn add_ledger_note(m: &mut Migration<'_>) -> Result<()> {
    m.execute("ALTER TABLE accounts ADD COLUMN note VARCHAR(20)")
        .await
}

/// A second connection holds a lock that conflicts with the ALTER of the
/// last revision of `migrator`'s set, whose first revision `setup` creates
/// `accounts`. The ALTER gives up waiting, is retried, and succeeds once
/// the holder commits; meanwhile the application's reads are not queued
/// behind the waiting ALTER for as long as the holder holds its lock.
async fn lock_timeout_retries(db: TestDb, migrator: Migrator, setup: &str, revision: &str) {
    migrator.up_to(&db.url, setup).await.unwrap();
    let mut holder = Connected::open(&db).await;
    holder.run("BEGIN").await;
    holder.run("SELECT * FROM accounts").await;

    let (retries_tx, mut retries_rx) = tokio::sync::mpsc::unbounded_channel();
    let migrator = migrator.on_event(move |event| {
        if let Event::Retrying { attempt, .. } = event {
            let _ = retries_tx.send(*attempt);
        }
    });
    let url = db.url.clone();
    let up = tokio::spawn(async move { migrator.up(&url).await });
    let first = tokio::time::timeout(Duration::from_secs(60), retries_rx.recv())
        .await
        .expect("a retry within 60 s");
    assert_eq!(first, Some(1));

    // The application reads while the holder still holds its lock: the
    // ALTER gives up after its timeout, so the read is not queued behind
    // it until the holder commits.
    let mut app = Connected::open(&db).await;
    tokio::time::timeout(
        Duration::from_secs(30),
        app.run("SELECT count(*) FROM accounts"),
    )
    .await
    .expect("the application's read is not blocked until the holder commits");
    assert!(!up.is_finished(), "the revision waits for the holder");

    holder.run("COMMIT").await;
    let report = tokio::time::timeout(Duration::from_secs(120), up)
        .await
        .expect("up finishes once the holder committed")
        .unwrap()
        .expect("up succeeds after retries");
    assert_eq!(
        report.revisions.last().map(|r| r.id.as_str()),
        Some(revision)
    );
    assert_eq!(db.columns("accounts").await, ["balance", "id", "note"]);
    let rows = db
        .query(&format!(
            "SELECT state, error FROM cofferdam_history WHERE id = '{revision}'"
        ))
        .await;
    assert_eq!(rows[0][0].as_deref(), Some("applied"));
    let note = rows[0][1].clone().unwrap_or_default();
    assert!(
        note.starts_with("applied after ") && note.contains("lock-timeout retr"),
        "the retries are recorded: {note}"
    );
}

mod lock_timeout {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn declared_on_the_revision_postgres() {
        if let Some(db) = fresh_database(Backend::Postgres).await {
            lock_timeout_retries(
                db,
                Migrator::new("ops_lock"),
                "create_accounts",
                "add_account_note",
            )
            .await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn declared_on_the_revision_mysql() {
        if let Some(db) = fresh_database(Backend::MySql).await {
            lock_timeout_retries(
                db,
                Migrator::new("ops_lock"),
                "create_accounts",
                "add_account_note",
            )
            .await;
        }
    }

    fn defaults() -> Migrator {
        Migrator::new("ops_lock_default")
            .statement_lock_timeout(Duration::from_millis(300))
            .statement_timeout(Duration::from_secs(60))
            .lock_retries(30)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migrator_default_postgres() {
        if let Some(db) = fresh_database(Backend::Postgres).await {
            lock_timeout_retries(db, defaults(), "create_ledger", "add_ledger_note").await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migrator_default_mysql() {
        if let Some(db) = fresh_database(Backend::MySql).await {
            lock_timeout_retries(db, defaults(), "create_ledger", "add_ledger_note").await;
        }
    }
}

/// A connection of the test's own, standing for the application.
enum Connected {
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
}

impl Connected {
    async fn open(db: &TestDb) -> Connected {
        match db.backend {
            Backend::Postgres => {
                Connected::Postgres(sqlx::PgConnection::connect(&db.url).await.unwrap())
            }
            Backend::MySql => {
                Connected::MySql(sqlx::MySqlConnection::connect(&db.url).await.unwrap())
            }
            Backend::Sqlite => unreachable!("the lock tests run on servers"),
        }
    }

    async fn run(&mut self, sql: &str) {
        let sql = AssertSqlSafe(sql.to_owned());
        match self {
            Connected::Postgres(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
            Connected::MySql(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
        }
        .unwrap();
    }
}
