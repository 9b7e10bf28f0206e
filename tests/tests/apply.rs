//! Applying the example application's migrations: from empty to head, a
//! second run, eight runners at once, and the down/up stairway.

use cofferdam::{Down, Migrator, Report};
use cofferdam_tests::{TestDb, backend_tests};

const HISTORY: &str = "cofferdam_history";
/// Beside the history: the one-row digest that makes a start-up at head cheap.
const DIGEST: &str = "cofferdam_history_digest";
const REVISIONS: [&str; 4] = [
    "create_articles",
    "add_slug",
    "create_authors",
    "link_authors",
];

fn migrator() -> Migrator {
    example_migrations::migrator()
}

fn ids(report: &Report) -> Vec<&str> {
    report.revisions.iter().map(|r| r.id.as_str()).collect()
}

async fn from_empty_to_head(db: TestDb) {
    let report = migrator().up(&db.url).await.expect("up succeeds");
    assert_eq!(
        ids(&report),
        REVISIONS,
        "applied in topological order, ties by id"
    );

    assert_eq!(db.tables().await, ["articles", "authors", HISTORY, DIGEST]);
    assert_eq!(
        db.columns("articles").await,
        ["author_id", "body", "id", "slug", "title"]
    );
    let history = db.history(HISTORY).await;
    let expected: Vec<(String, String)> = REVISIONS
        .iter()
        .map(|id| ((*id).to_owned(), "applied".to_owned()))
        .collect();
    assert_eq!(history, expected);

    // The merge revision records both parents; every row has who and when.
    let rows = db.query(&format!("SELECT parents, applied_by, applied_at, checksum FROM {HISTORY} WHERE id = 'link_authors'")).await;
    assert_eq!(rows[0][0].as_deref(), Some("add_slug,create_authors"));
    assert!(rows[0][1].as_deref().is_some_and(|by| by.contains('@')));
    assert!(rows[0][2].as_deref().is_some_and(|at| at.ends_with('Z')));
    assert_eq!(rows[0][3].as_deref().map(str::len), Some(64));

    let again = migrator().up(&db.url).await.expect("second up succeeds");
    assert!(
        again.revisions.is_empty(),
        "nothing applied twice: {:?}",
        ids(&again)
    );
    assert_eq!(db.history(HISTORY).await, expected);
    assert!(migrator().status(&db.url).await.unwrap().is_up_to_date());
}

async fn data_migration_fills_rows(db: TestDb) {
    migrator().up_to(&db.url, "create_articles").await.unwrap();
    db.execute("INSERT INTO articles (id, title, body) VALUES (1, 'Hello World', 'x')")
        .await;
    migrator().up(&db.url).await.unwrap();
    let slug = db.query("SELECT slug FROM articles WHERE id = 1").await;
    assert_eq!(slug[0][0].as_deref(), Some("hello-world"));
}

async fn eight_runners_at_once(db: TestDb) {
    let runners: Vec<_> = (0..8)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move {
                migrator()
                    .lock_timeout(std::time::Duration::from_secs(60))
                    .up(&url)
                    .await
            })
        })
        .collect();
    let mut applied = Vec::new();
    for runner in runners {
        let report = runner
            .await
            .expect("runner did not panic")
            .expect("every runner succeeds");
        applied.extend(report.revisions.into_iter().map(|r| r.id));
    }
    applied.sort();
    let mut expected: Vec<String> = REVISIONS.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(
        applied, expected,
        "each revision applied by exactly one runner"
    );
    assert_eq!(db.history(HISTORY).await.len(), REVISIONS.len());
}

async fn stairway(db: TestDb) {
    migrator().up(&db.url).await.unwrap();
    let at_head = db.tables().await;
    let columns_at_head = db.columns("articles").await;

    let reverted = migrator().down(&db.url, Down::All).await.unwrap();
    let mut expected_down = REVISIONS.to_vec();
    expected_down.reverse();
    assert_eq!(ids(&reverted), expected_down, "most recent first");
    assert_eq!(
        db.tables().await,
        [HISTORY, DIGEST],
        "every down step undid its table"
    );
    assert!(db.history(HISTORY).await.is_empty());

    // Each step: up one, down one, up again.
    for revision in REVISIONS {
        assert_eq!(
            ids(&migrator().up_to(&db.url, revision).await.unwrap()),
            [revision]
        );
        assert_eq!(
            ids(&migrator().down(&db.url, Down::Steps(1)).await.unwrap()),
            [revision]
        );
        assert_eq!(
            ids(&migrator().up_to(&db.url, revision).await.unwrap()),
            [revision]
        );
    }
    assert_eq!(db.tables().await, at_head);
    assert_eq!(db.columns("articles").await, columns_at_head);
    assert!(migrator().status(&db.url).await.unwrap().is_up_to_date());

    // down --to keeps the target and what it builds on.
    let report = migrator()
        .down(&db.url, Down::To("add_slug".into()))
        .await
        .unwrap();
    assert_eq!(ids(&report), ["link_authors", "create_authors"]);
    let kept: Vec<String> = db
        .history(HISTORY)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(kept, ["create_articles", "add_slug"]);
}

backend_tests!(
    from_empty_to_head,
    data_migration_fills_rows,
    eight_runners_at_once,
    stairway
);

/// A shutdown signal during start-up migrations: the current revision
/// finishes, no new one starts, and the error says where it stopped.
async fn stops_between_revisions(db: TestDb) {
    let token = tokio_util_token();
    let stop = token.clone();
    let migrator = migrator().stop_on(token).on_event(move |event| {
        if let cofferdam::Event::Finished { .. } = event {
            stop.cancel();
        }
    });
    let error = migrator.up(&db.url).await.unwrap_err();
    assert!(
        matches!(&error, cofferdam::Error::Interrupted { applied, next } if applied == &["create_articles"] && next == "add_slug"),
        "{error}"
    );
    assert_eq!(
        db.history(HISTORY).await,
        [("create_articles".to_owned(), "applied".to_owned())]
    );
    // The next start picks up where it stopped.
    assert_eq!(
        ids(&example_migrations::migrator().up(&db.url).await.unwrap()),
        &REVISIONS[1..]
    );
}

fn tokio_util_token() -> cofferdam::CancellationToken {
    cofferdam::CancellationToken::new()
}

#[cofferdam::migration(set = "second_app")]
async fn second_app_table(m: &mut cofferdam::Migration<'_>) -> cofferdam::Result<()> {
    m.execute("CREATE TABLE second_app (id INTEGER PRIMARY KEY)")
        .await
}

/// Two migration sets in one database, each with its own history table.
async fn two_sets_share_a_database(db: TestDb) {
    migrator().up(&db.url).await.unwrap();
    let second = Migrator::new("second_app").history_table("second_app_history");
    assert_eq!(
        ids(&second.up(&db.url).await.unwrap()),
        ["second_app_table"]
    );
    assert_eq!(
        db.history("second_app_history").await,
        [("second_app_table".to_owned(), "applied".to_owned())]
    );
    assert_eq!(db.history(HISTORY).await.len(), REVISIONS.len());
    // Sharing one table by mistake is refused with a hint, not silently mixed.
    let error = Migrator::new("second_app").up(&db.url).await.unwrap_err();
    assert!(
        error.to_string().contains("belongs to this migration set"),
        "{error}"
    );
}

/// `status` reads; it creates nothing, not even the history table.
async fn status_is_read_only(db: TestDb) {
    let status = migrator().status(&db.url).await.unwrap();
    assert_eq!(status.pending.len(), REVISIONS.len());
    assert!(!status.is_up_to_date());
    assert!(db.tables().await.is_empty(), "{:?}", db.tables().await);
}

backend_tests!(
    stops_between_revisions,
    two_sets_share_a_database,
    status_is_read_only
);
