//! Production operations: the catalog helpers (`has_table`, `has_column`,
//! `has_index`) that let a revision adopt what already exists, lock
//! timeouts with retries, and expand/contract phases.

use cofferdam::prelude::*;
use cofferdam::{Event, Migrator, Phase, Up};
use cofferdam_tests::{Backend, TestDb, backend_tests, fresh_database};
use sqlx::{AssertSqlSafe, Connection};
use std::time::Duration;

/// Adopts `articles` if `create_all` made it already, creates it otherwise,
/// and records what the helpers answered in `seen`.
#[migration(set = "ops_adopt")]
async fn adopt_articles(m: &mut Migration<'_>) -> Result<()> {
    let answers = [
        ("table articles", m.has_table("articles").await?),
        ("table in capitals", m.has_table("ARTICLES").await?),
        ("table absent", m.has_table("absent").await?),
        (
            "column articles.title",
            m.has_column("articles", "TITLE").await?,
        ),
        (
            "column articles.absent",
            m.has_column("articles", "absent").await?,
        ),
        (
            "index articles_title",
            m.has_index("articles", "articles_title").await?,
        ),
        ("index absent", m.has_index("articles", "absent").await?),
    ];
    m.execute("CREATE TABLE seen (what VARCHAR(40) PRIMARY KEY)")
        .await?;
    for (what, yes) in answers {
        if yes {
            m.execute(&format!("INSERT INTO seen (what) VALUES ('{what}')"))
                .await?;
        }
    }
    m.exec(
        Table::create()
            .table("articles")
            .if_not_exists()
            .col(ColumnDef::new("id").integer().not_null().primary_key())
            .col(ColumnDef::new("title").string_len(200).not_null()),
    )
    .await?;
    if !m.has_column("articles", "slug").await? {
        m.exec(
            Table::alter()
                .table("articles")
                .add_column(ColumnDef::new("slug").string_len(200).null()),
        )
        .await?;
    }
    if !m.has_index("articles", "articles_title").await? {
        m.exec(
            Index::create()
                .name("articles_title")
                .table("articles")
                .col("title"),
        )
        .await?;
    }
    Ok(())
}

async fn seen(db: &TestDb) -> Vec<String> {
    db.query("SELECT what FROM seen ORDER BY what")
        .await
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .collect()
}

/// What `create_all` left: the table and its index exist, `slug` does not.
async fn has_helpers_adopt_existing_tables(db: TestDb) {
    db.execute(
        "CREATE TABLE articles (id INTEGER NOT NULL PRIMARY KEY, title VARCHAR(200) NOT NULL)",
    )
    .await;
    db.execute("CREATE INDEX articles_title ON articles (title)")
        .await;
    db.execute("INSERT INTO articles (id, title) VALUES (1, 'kept')")
        .await;
    Migrator::new("ops_adopt").up(&db.url).await.unwrap();
    assert_eq!(
        seen(&db).await,
        [
            "column articles.title",
            "index articles_title",
            "table articles",
            "table in capitals"
        ]
    );
    assert_eq!(db.columns("articles").await, ["id", "slug", "title"]);
    let rows = db.query("SELECT title FROM articles").await;
    assert_eq!(rows[0][0].as_deref(), Some("kept"), "the data is adopted");
}

/// On an empty database the same revision creates everything.
async fn has_helpers_on_an_empty_database(db: TestDb) {
    Migrator::new("ops_adopt").up(&db.url).await.unwrap();
    assert!(seen(&db).await.is_empty());
    assert_eq!(db.columns("articles").await, ["id", "slug", "title"]);
    let index = match db.backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'articles_title'"
        }
        Backend::Postgres => "SELECT indexname FROM pg_indexes WHERE indexname = 'articles_title'",
        Backend::MySql => {
            "SELECT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = 'articles_title'"
        }
    };
    assert_eq!(db.query(index).await.len(), 1, "the index was created");
}

backend_tests!(
    has_helpers_adopt_existing_tables,
    has_helpers_on_an_empty_database
);

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

// Phases. `ops_phase`: an expand revision (`add_nickname`) builds on a
// contract revision (`drop_legacy`).
#[migration(set = "ops_phase")]
async fn create_users(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, legacy VARCHAR(20))")
        .await
}

#[migration(set = "ops_phase", after = create_users)]
async fn add_email(m: &mut Migration<'_>) -> Result<()> {
    m.execute("ALTER TABLE users ADD COLUMN email VARCHAR(80)")
        .await
}

#[destructive(
    reviewed,
    reason = "the release before this one stopped reading legacy"
)]
#[migration(set = "ops_phase", after = add_email, phase = contract)]
async fn drop_legacy(m: &mut Migration<'_>) -> Result<()> {
    m.execute("ALTER TABLE users DROP COLUMN legacy").await
}

#[migration(set = "ops_phase", after = drop_legacy, phase = expand)]
async fn add_nickname(m: &mut Migration<'_>) -> Result<()> {
    m.execute("ALTER TABLE users ADD COLUMN nickname VARCHAR(20)")
        .await
}

/// A destructive revision left in the expand phase: `check` warns.
#[migration(set = "ops_unmarked")]
async fn create_scratch(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE scratch (id INTEGER PRIMARY KEY, junk VARCHAR(20))")
        .await
}

#[destructive(reviewed, reason = "nobody reads junk")]
#[migration(set = "ops_unmarked", after = create_scratch)]
async fn drop_junk(m: &mut Migration<'_>) -> Result<()> {
    m.execute("ALTER TABLE scratch DROP COLUMN junk").await
}

fn applied(history: &[(String, String)]) -> Vec<&str> {
    history.iter().map(|(id, _)| id.as_str()).collect()
}

async fn expand_then_contract(db: TestDb) {
    let migrator = Migrator::new("ops_phase").allow_destructive(true);
    let expand = Up::new().phase(Phase::Expand);
    let error = migrator.up_with(&db.url, &expand).await.unwrap_err();
    assert!(
        matches!(&error, cofferdam::Error::ContractFirst { revision, contract, applied }
            if revision == "add_nickname" && contract == "drop_legacy"
                && applied == &["create_users", "add_email"]),
        "{error:?}"
    );
    let text = cofferdam::report(&error);
    assert!(
        text.contains("builds on contract revision `drop_legacy`"),
        "{text}"
    );
    assert_eq!(
        applied(&db.history("cofferdam_history").await),
        ["create_users", "add_email"]
    );
    assert_eq!(db.columns("users").await, ["email", "id", "legacy"]);

    // The expand run stops at the same place again, applying nothing.
    let again = migrator.up_with(&db.url, &expand).await.unwrap_err();
    assert!(
        matches!(&again, cofferdam::Error::ContractFirst { applied, .. } if applied.is_empty()),
        "{again:?}"
    );
    let status = migrator.status(&db.url).await.unwrap();
    let pending: Vec<(&str, Phase)> = status
        .pending
        .iter()
        .map(|p| (p.id.as_str(), p.phase))
        .collect();
    assert_eq!(
        pending,
        [
            ("drop_legacy", Phase::Contract),
            ("add_nickname", Phase::Expand)
        ]
    );

    let contract = Up::new().phase(Phase::Contract);
    let report = migrator.up_with(&db.url, &contract).await.unwrap();
    let ids: Vec<&str> = report.revisions.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["drop_legacy", "add_nickname"]);
    assert_eq!(db.columns("users").await, ["email", "id", "nickname"]);
    assert!(migrator.status(&db.url).await.unwrap().is_up_to_date());
}

/// Up to the contract revision (the head here), an expand run applies the
/// rest and leaves it, without failing.
async fn expand_defers_contract_work(db: TestDb) {
    let migrator = Migrator::new("ops_phase").allow_destructive(true);
    let expand = Up::new().to("drop_legacy").phase(Phase::Expand);
    let report = migrator.up_with(&db.url, &expand).await.unwrap();
    let ids: Vec<&str> = report.revisions.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["create_users", "add_email"]);
    assert_eq!(report.deferred, ["drop_legacy"]);
    let report = migrator.up_with(&db.url, &expand).await.unwrap();
    assert!(report.revisions.is_empty());
    assert_eq!(report.deferred, ["drop_legacy"]);
    let contract = Up::new().to("drop_legacy").phase(Phase::Contract);
    migrator.up_with(&db.url, &contract).await.unwrap();
    assert_eq!(db.columns("users").await, ["email", "id"]);
}

backend_tests!(expand_then_contract, expand_defers_contract_work);

#[tokio::test]
async fn check_warns_about_destructive_expand_revisions() {
    let report = Migrator::new("ops_unmarked").check(None).await.unwrap();
    assert_eq!(report.not_contract, ["drop_junk"]);
    let report = Migrator::new("ops_phase").check(None).await.unwrap();
    assert!(report.not_contract.is_empty(), "{:?}", report.not_contract);
}
