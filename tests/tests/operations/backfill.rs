//! Backfills in batches: progress, resuming after a kill, and waiting for a
//! lagging standby.

use super::*;

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
