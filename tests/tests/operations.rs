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

// Backfills. `n = n + 1` is not idempotent: a batch applied twice shows.
#[migration(set = "ops_backfill")]
async fn create_posts(m: &mut Migration<'_>) -> Result<()> {
    m.execute(
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(40) NOT NULL, slug VARCHAR(40), n INTEGER NOT NULL DEFAULT 0)",
    )
    .await
}

#[migration(set = "ops_backfill", after = create_posts, transaction = false)]
async fn fill_slugs(m: &mut Migration<'_>) -> Result<()> {
    m.backfill("posts")
        .set("slug = title, n = n + 1")
        .batch_size(100)
        .pause(Duration::from_millis(20))
        .run()
        .await?;
    Ok(())
}

#[migration(set = "ops_backfill_tx")]
async fn fill_in_a_transaction(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, slug VARCHAR(40))")
        .await?;
    m.backfill("posts").set("slug = 'x'").run().await?;
    Ok(())
}

const POSTS: usize = 2500;

/// Creates `posts` through `set`'s first revision and fills it.
async fn posts(db: &TestDb, migrator: &Migrator) {
    migrator.up_to(&db.url, "create_posts").await.unwrap();
    for chunk in (1..=POSTS).collect::<Vec<_>>().chunks(500) {
        let values: Vec<String> = chunk.iter().map(|i| format!("({i}, 'post-{i}')")).collect();
        db.execute(&format!(
            "INSERT INTO posts (id, title) VALUES {}",
            values.join(", ")
        ))
        .await;
    }
}

/// `(rows with n = 1 and slug = title, rows with n = 0, rows with n > 1)`.
async fn tally(db: &TestDb) -> (usize, usize, usize) {
    let count = async |condition: &str| {
        let rows = db
            .query(&format!("SELECT COUNT(*) FROM posts WHERE {condition}"))
            .await;
        rows[0][0]
            .as_deref()
            .unwrap_or("0")
            .parse::<usize>()
            .unwrap()
    };
    (
        count("n = 1 AND slug = title").await,
        count("n = 0").await,
        count("n > 1").await,
    )
}

fn progress_events(migrator: Migrator) -> (Migrator, tokio::sync::mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let migrator = migrator.on_event(move |event| {
        if matches!(event, Event::Backfill(_) | Event::ReplicaLag { .. }) {
            let _ = tx.send(event.clone());
        }
    });
    (migrator, rx)
}

async fn backfill_in_batches(db: TestDb) {
    let (migrator, mut events) = progress_events(Migrator::new("ops_backfill"));
    posts(&db, &migrator).await;
    migrator.up(&db.url).await.unwrap();
    assert_eq!(tally(&db).await, (POSTS, 0, 0), "every row once");
    let mut batches = Vec::new();
    while let Ok(Event::Backfill(progress)) = events.try_recv() {
        batches.push(progress);
    }
    assert_eq!(
        batches.len(),
        POSTS / 100 + 1,
        "one event a batch, and the end"
    );
    let last = batches.last().unwrap();
    assert!(last.finished && last.rows == POSTS as u64, "{last:?}");
    assert!(batches[3].rows_per_second > 0.0, "{:?}", batches[3]);
    assert_eq!(
        db.history("cofferdam_history")
            .await
            .last()
            .map(|(id, state)| (id.as_str(), state.as_str())),
        Some(("fill_slugs", "applied"))
    );
    let left = db
        .query("SELECT COUNT(*) FROM cofferdam_history_backfill")
        .await;
    assert_eq!(
        left[0][0].as_deref(),
        Some("0"),
        "the progress record is gone once applied"
    );
}

async fn backfill_needs_its_own_transactions(db: TestDb) {
    let error = Migrator::new("ops_backfill_tx")
        .up(&db.url)
        .await
        .unwrap_err();
    let text = cofferdam::report(&error);
    assert!(
        text.contains("revision `fill_in_a_transaction` backfills `posts` in batches, each committed on its own, so it cannot run inside one transaction; add `transaction = false` to its #[migration]"),
        "{text}"
    );
}

/// Killed after a few batches, then resumed: every row is updated once.
async fn backfill_resumes_after_a_kill(db: TestDb) {
    let (migrator, mut events) = progress_events(Migrator::new("ops_backfill"));
    posts(&db, &migrator).await;
    let url = db.url.clone();
    let run = {
        let migrator = migrator.clone();
        tokio::spawn(async move { migrator.up(&url).await })
    };
    for _ in 0..5 {
        tokio::time::timeout(Duration::from_secs(60), events.recv())
            .await
            .expect("progress within 60 s");
    }
    run.abort();
    let _ = run.await;
    let (done, untouched, twice) = tally(&db).await;
    assert!(
        done >= 500 && untouched > 0 && twice == 0,
        "killed half way: {done} done, {untouched} left"
    );
    assert_eq!(
        db.history("cofferdam_history")
            .await
            .last()
            .map(|(id, state)| (id.as_str(), state.as_str())),
        Some(("fill_slugs", "started"))
    );
    let recorded = db
        .query("SELECT rows_done, finished FROM cofferdam_history_backfill WHERE revision = 'fill_slugs'")
        .await;
    assert_eq!(
        recorded[0][0].as_deref(),
        Some(done.to_string().as_str()),
        "the record matches the data"
    );

    migrator
        .resolve(&db.url, "fill_slugs", cofferdam::Resolution::RolledBack)
        .await
        .unwrap();
    while events.try_recv().is_ok() {}
    migrator
        .clone()
        .lock_timeout(Duration::from_secs(60))
        .up(&db.url)
        .await
        .unwrap();
    assert_eq!(tally(&db).await, (POSTS, 0, 0), "no batch applied twice");
    let Some(Event::Backfill(first)) = events.recv().await else {
        panic!("a progress event after resuming");
    };
    assert!(
        first.rows > done as u64,
        "it continued after {done} rows: {first:?}"
    );
}

backend_tests!(
    backfill_in_batches,
    backfill_needs_its_own_transactions,
    backfill_resumes_after_a_kill
);

#[migration(set = "ops_lag")]
async fn create_lagged_posts(m: &mut Migration<'_>) -> Result<()> {
    m.execute(
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(40) NOT NULL, slug VARCHAR(40), n INTEGER NOT NULL DEFAULT 0)",
    )
    .await
}

#[migration(set = "ops_lag", after = create_lagged_posts, transaction = false)]
async fn fill_lagged_slugs(m: &mut Migration<'_>) -> Result<()> {
    m.backfill("posts")
        .set("slug = title, n = n + 1")
        .batch_size(50)
        .pause(Duration::from_millis(50))
        .max_replica_lag(Duration::from_secs(1))
        .run()
        .await?;
    Ok(())
}

const LAGGED: usize = 3000;

/// Against a real standby whose replay is paused: the backfill waits, and
/// finishes once replay resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_waits_for_a_lagging_standby_postgres() {
    let Some(db) = fresh_database(Backend::Postgres).await else {
        return;
    };
    let server = Backend::Postgres.server_url().unwrap();
    let Some(standby) = cofferdam_tests::standby::Standby::start(&server) else {
        return;
    };
    let (migrator, mut events) = progress_events(Migrator::new("ops_lag"));
    migrator
        .up_to(&db.url, "create_lagged_posts")
        .await
        .unwrap();
    // 60 batches with a pause each: seconds of writes, so the paused
    // standby falls well over a second behind before the end.
    let values: Vec<String> = (1..=LAGGED).map(|i| format!("({i}, 'post-{i}')")).collect();
    db.execute(&format!(
        "INSERT INTO posts (id, title) VALUES {}",
        values.join(", ")
    ))
    .await;
    standby.streaming().await;
    let mut replica = sqlx::PgConnection::connect(&standby.url(&db.name))
        .await
        .unwrap();
    sqlx::raw_sql("SELECT pg_wal_replay_pause()")
        .execute(&mut replica)
        .await
        .unwrap();

    let url = db.url.clone();
    let run = tokio::spawn(async move { migrator.up(&url).await });
    let waited = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            match events.recv().await {
                Some(Event::ReplicaLag { lag, max, .. }) => return (lag, max),
                Some(_) => {}
                None => return (None, Duration::ZERO),
            }
        }
    })
    .await
    .expect("the backfill waits for the paused standby");
    if waited.0.is_none() {
        panic!(
            "the run ended without waiting for the standby: {:?}",
            run.await
        );
    }
    assert!(waited.0.is_some_and(|lag| lag > waited.1), "{waited:?}");
    // It stays waiting while replay is paused.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!run.is_finished(), "the backfill finished despite the lag");
    let (_, untouched, _) = tally(&db).await;
    assert!(untouched > 0, "rows are left while it waits");

    sqlx::raw_sql("SELECT pg_wal_replay_resume()")
        .execute(&mut replica)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the backfill finishes once replay resumes")
        .unwrap()
        .unwrap();
    assert_eq!(tally(&db).await, (LAGGED, 0, 0));
    let _ = replica.close().await;
    drop(standby);
}

// SQLite table rebuilds, through sea-query's `modify_column` and several
// changes in one `ALTER TABLE` (which sea-query cannot render for SQLite).
// The same revisions run natively on PostgreSQL and MariaDB.
#[migration(set = "ops_rebuild")]
async fn create_rebuilt(m: &mut Migration<'_>) -> Result<()> {
    m.execute(
        "CREATE TABLE articles (id INTEGER PRIMARY KEY, title VARCHAR(20) NOT NULL, junk TEXT, tag VARCHAR(10))",
    )
    .await?;
    m.execute("CREATE INDEX articles_title ON articles (title)")
        .await?;
    m.execute("CREATE INDEX articles_tag ON articles (tag)")
        .await?;
    m.execute("CREATE TABLE comments (id INTEGER PRIMARY KEY, article_id INTEGER REFERENCES articles (id))")
        .await?;
    m.execute("INSERT INTO articles (id, title, junk) VALUES (1, 'one', 'x'), (2, 'two', 'y')")
        .await?;
    m.execute("INSERT INTO comments (id, article_id) VALUES (1, 2)")
        .await
}

#[destructive(reviewed, reason = "junk was never read")]
#[migration(set = "ops_rebuild", after = create_rebuilt)]
async fn reshape_articles(m: &mut Migration<'_>) -> Result<()> {
    m.exec(
        Table::alter()
            .table("articles")
            .modify_column(ColumnDef::new("title").string_len(300).null()),
    )
    .await?;
    m.exec(
        Table::alter()
            .table("articles")
            .drop_column("junk")
            .add_column(ColumnDef::new("views").integer().not_null().default(0)),
    )
    .await?;
    // An indexed column, alone: SQLite's own DROP COLUMN refuses it.
    m.exec(Table::alter().table("articles").drop_column("tag"))
        .await
}

/// Out of the compiler's sight: a builder a helper returns.
fn sneaky_alter() -> cofferdam::sea_query::TableAlterStatement {
    Table::alter()
        .table("articles")
        .modify_column(ColumnDef::new("title").string_len(300).not_null())
        .drop_column("junk")
        .to_owned()
}

#[migration(set = "ops_rebuild_sneaky")]
async fn sneaky_reshape(m: &mut Migration<'_>) -> Result<()> {
    m.exec(sneaky_alter()).await
}

async fn index_names(db: &TestDb) -> Vec<String> {
    let sql = match db.backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'articles' AND sql IS NOT NULL"
        }
        Backend::Postgres => {
            "SELECT indexname FROM pg_indexes WHERE tablename = 'articles' AND indexname <> 'articles_pkey'"
        }
        Backend::MySql => {
            "SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'articles' AND index_name <> 'PRIMARY'"
        }
    };
    db.query(sql)
        .await
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .collect()
}

async fn changed_columns_keep_data_and_indexes(db: TestDb) {
    let migrator = Migrator::new("ops_rebuild").allow_destructive(true);
    migrator.up(&db.url).await.unwrap();
    assert_eq!(db.columns("articles").await, ["id", "title", "views"]);
    let rows = db
        .query("SELECT id, title, views FROM articles ORDER BY id")
        .await;
    let rows: Vec<Vec<Option<&str>>> = rows
        .iter()
        .map(|r| r.iter().map(Option::as_deref).collect())
        .collect();
    assert_eq!(
        rows,
        [
            [Some("1"), Some("one"), Some("0")],
            [Some("2"), Some("two"), Some("0")]
        ]
    );
    assert_eq!(index_names(&db).await, ["articles_title"]);
    // The title is nullable and longer now; the comment still points at its article.
    db.execute(&format!(
        "INSERT INTO articles (id, title) VALUES (3, NULL), (4, '{}')",
        "x".repeat(300)
    ))
    .await;
    let joined = db
        .query("SELECT a.title FROM comments c JOIN articles a ON a.id = c.article_id")
        .await;
    assert_eq!(joined[0][0].as_deref(), Some("two"));
}

/// A rebuild that loses a column is judged like `DROP COLUMN`: refused in
/// an unreviewed revision, before anything changes.
async fn a_rebuild_that_loses_a_column_is_refused(db: TestDb) {
    Migrator::new("ops_rebuild")
        .up_to(&db.url, "create_rebuilt")
        .await
        .unwrap();
    let error = Migrator::new("ops_rebuild_sneaky")
        .history_table("sneaky_history")
        .up(&db.url)
        .await
        .unwrap_err();
    let text = cofferdam::report(&error);
    assert!(
        matches!(&error, cofferdam::Error::RevisionFailed { source, .. } if matches!(**source, cofferdam::Error::UndeclaredDestructive { .. })),
        "{text}"
    );
    assert!(
        text.contains("DROP COLUMN articles.junk") || text.contains("`DROP COLUMN articles.junk`"),
        "{text}"
    );
    assert_eq!(db.columns("articles").await, ["id", "junk", "tag", "title"]);
}

backend_tests!(
    changed_columns_keep_data_and_indexes,
    a_rebuild_that_loses_a_column_is_refused
);

/// `migrate sql` on SQLite: sea-query's panic never reaches the user; the
/// revision that needs the catalog is listed as unrenderable.
#[tokio::test]
async fn rendering_a_rebuild_offline_does_not_panic() {
    let db = fresh_database(Backend::Sqlite).await.unwrap();
    let rendered = Migrator::new("ops_rebuild")
        .render_sql(&db.url, None)
        .await
        .unwrap();
    assert_eq!(rendered.unrenderable, ["reshape_articles"]);
}

// Replaceable objects: each `down` puts back what its revision replaced.
#[migration(set = "ops_view")]
async fn create_items(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, price INTEGER NOT NULL)")
        .await?;
    m.execute("INSERT INTO items (id, price) VALUES (1, 3), (2, 7), (3, 12)")
        .await
}

#[migration(set = "ops_view", after = create_items, down = unview_cheap)]
async fn view_cheap(m: &mut Migration<'_>) -> Result<()> {
    m.create_or_replace_view("cheap_items", "SELECT id FROM items WHERE price < 10")
        .await
}

async fn unview_cheap(m: &mut Migration<'_>) -> Result<()> {
    m.restore_view("cheap_items").await
}

#[migration(set = "ops_view", after = view_cheap, down = unview_cheaper)]
async fn view_cheaper(m: &mut Migration<'_>) -> Result<()> {
    m.create_or_replace_view("cheap_items", "SELECT id FROM items WHERE price < 5")
        .await
}

async fn unview_cheaper(m: &mut Migration<'_>) -> Result<()> {
    m.restore_view("cheap_items").await
}

async fn cheap(db: &TestDb) -> usize {
    db.query("SELECT id FROM cheap_items").await.len()
}

async fn views_are_replaced_and_restored(db: TestDb) {
    let migrator = Migrator::new("ops_view");
    migrator.up(&db.url).await.unwrap();
    assert_eq!(cheap(&db).await, 1, "the second definition");
    migrator
        .down(&db.url, cofferdam::Down::Steps(1))
        .await
        .unwrap();
    assert_eq!(cheap(&db).await, 2, "the first definition, restored");
    migrator
        .down(&db.url, cofferdam::Down::Steps(1))
        .await
        .unwrap();
    assert!(!db.tables().await.iter().any(|t| t == "cheap_items"));
    let views = match db.backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'view'",
        Backend::Postgres => "SELECT viewname FROM pg_views WHERE schemaname = current_schema()",
        Backend::MySql => {
            "SELECT table_name FROM information_schema.views WHERE table_schema = DATABASE()"
        }
    };
    assert!(
        db.query(views).await.is_empty(),
        "no view before the first revision, none after its down"
    );
    migrator.up(&db.url).await.unwrap();
    assert_eq!(cheap(&db).await, 1);
}

backend_tests!(views_are_replaced_and_restored);

#[migration(set = "ops_function")]
async fn function_twice(m: &mut Migration<'_>) -> Result<()> {
    m.create_or_replace_function(
        "scale(integer)",
        "CREATE OR REPLACE FUNCTION scale(x integer) RETURNS integer LANGUAGE sql AS $$ SELECT x * 2 $$",
    )
    .await
}

#[migration(set = "ops_function", after = function_twice, down = unscale)]
async fn function_thrice(m: &mut Migration<'_>) -> Result<()> {
    m.create_or_replace_function(
        "scale(integer)",
        "CREATE OR REPLACE FUNCTION scale(x integer) RETURNS integer LANGUAGE sql AS $$ SELECT x * 3 $$",
    )
    .await
}

async fn unscale(m: &mut Migration<'_>) -> Result<()> {
    m.restore_function("scale(integer)").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_are_replaced_and_restored_postgres() {
    let Some(db) = fresh_database(Backend::Postgres).await else {
        return;
    };
    let migrator = Migrator::new("ops_function");
    migrator.up(&db.url).await.unwrap();
    assert_eq!(
        db.query("SELECT scale(2)").await[0][0].as_deref(),
        Some("6")
    );
    migrator
        .down(&db.url, cofferdam::Down::Steps(1))
        .await
        .unwrap();
    assert_eq!(
        db.query("SELECT scale(2)").await[0][0].as_deref(),
        Some("4"),
        "the old body is back"
    );
}

#[migration(set = "ops_trigger")]
async fn create_priced(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, price INTEGER NOT NULL)")
        .await
}

/// A trigger adding `bonus` to the price of each new item, in the engine's syntax.
async fn bonus_trigger(m: &mut Migration<'_>, bonus: u32) -> Result<()> {
    let definition = match m.backend() {
        cofferdam::Backend::Postgres => {
            m.create_or_replace_function(
                &format!("add_bonus_{bonus}()"),
                &format!("CREATE OR REPLACE FUNCTION add_bonus_{bonus}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.price := NEW.price + {bonus}; RETURN NEW; END $$"),
            )
            .await?;
            format!(
                "CREATE TRIGGER bonus BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION add_bonus_{bonus}()"
            )
        }
        cofferdam::Backend::MySql => format!(
            "CREATE TRIGGER bonus BEFORE INSERT ON items FOR EACH ROW SET NEW.price = NEW.price + {bonus}"
        ),
        // Written over several lines, as people do: the kept definition
        // holds `;` and newlines.
        _ => format!(
            "CREATE TRIGGER bonus AFTER INSERT ON items\nBEGIN\n  UPDATE items SET price = price + {bonus} WHERE id = NEW.id;\nEND"
        ),
    };
    m.create_or_replace_trigger("items", "bonus", &definition)
        .await
}

#[migration(set = "ops_trigger", after = create_priced)]
async fn bonus_100(m: &mut Migration<'_>) -> Result<()> {
    bonus_trigger(m, 100).await
}

#[migration(set = "ops_trigger", after = bonus_100, down = unbonus_1000)]
async fn bonus_1000(m: &mut Migration<'_>) -> Result<()> {
    bonus_trigger(m, 1000).await
}

async fn unbonus_1000(m: &mut Migration<'_>) -> Result<()> {
    m.restore_trigger("items", "bonus").await
}

async fn triggers_are_replaced_and_restored(db: TestDb) {
    let migrator = Migrator::new("ops_trigger");
    migrator.up(&db.url).await.unwrap();
    db.execute("INSERT INTO items (id, price) VALUES (1, 1)")
        .await;
    migrator
        .down(&db.url, cofferdam::Down::Steps(1))
        .await
        .unwrap();
    db.execute("INSERT INTO items (id, price) VALUES (2, 1)")
        .await;
    let prices = db.query("SELECT price FROM items ORDER BY id").await;
    let prices: Vec<Option<&str>> = prices.iter().map(|row| row[0].as_deref()).collect();
    assert_eq!(
        prices,
        [Some("1001"), Some("101")],
        "the replaced trigger, then the restored one"
    );
}

backend_tests!(triggers_are_replaced_and_restored);
