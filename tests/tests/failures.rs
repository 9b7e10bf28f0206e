//! Revisions that fail or panic halfway: what is left in the schema and the
//! history, what the error says, and that the lock is free afterwards.

use cofferdam::prelude::*;
use cofferdam::{Error, Migrator, report};
use cofferdam_tests::{Backend, TestDb, backend_tests};
use std::time::Duration;

const HISTORY: &str = "cofferdam_history";

#[migration(set = "failing")]
async fn make_ok(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE ok_table (id INTEGER PRIMARY KEY)")
        .await
}

/// Creates a table, then fails on a missing one: the first half must not survive.
#[migration(set = "failing", after = make_ok)]
async fn half_done(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE half_table (id INTEGER PRIMARY KEY)")
        .await?;
    m.execute("INSERT INTO no_such_table (id) VALUES (1)").await
}

async fn failing_revision_halfway(db: TestDb) {
    let migrator = Migrator::new("failing");
    let error = migrator
        .up(&db.url)
        .await
        .expect_err("the second revision fails");
    let text = report(&error);
    assert!(
        matches!(&error, Error::RevisionFailed { revision, .. } if revision == "half_done"),
        "{text}"
    );
    assert!(
        text.contains("no_such_table"),
        "the database's own message is shown: {text}"
    );
    assert!(
        text.contains("applied before it in this run: make_ok"),
        "{text}"
    );

    match db.backend {
        Backend::Postgres | Backend::Sqlite => {
            assert!(text.contains("rolled back"), "{text}");
            assert_eq!(
                db.history(HISTORY).await,
                [("make_ok".to_owned(), "applied".to_owned())]
            );
            assert!(
                !db.tables().await.contains(&"half_table".to_owned()),
                "the failed revision's table was rolled back"
            );
            // Nothing blocks a fixed re-run: the same failure is reported again, not a stale state.
            let again = report(&migrator.up(&db.url).await.unwrap_err());
            assert!(
                again.contains("half_done") && again.contains("no_such_table"),
                "{again}"
            );
        }
        Backend::MySql => {
            // DDL committed implicitly: the failure is recorded and visible.
            assert_eq!(
                db.history(HISTORY).await,
                [
                    ("make_ok".to_owned(), "applied".to_owned()),
                    ("half_done".to_owned(), "failed".to_owned())
                ]
            );
            let status = migrator.status(&db.url).await.unwrap();
            assert_eq!(status.failed.len(), 1);
            assert!(
                status.failed[0]
                    .error
                    .as_deref()
                    .is_some_and(|e| e.contains("no_such_table"))
            );
            let blocked = migrator.up(&db.url).await.unwrap_err();
            assert!(
                matches!(&blocked, Error::Blocked { revision, .. } if revision == "half_done"),
                "{blocked}"
            );
            assert!(
                blocked.to_string().contains("migrate resolve half_done"),
                "{blocked}"
            );
            // After a person cleans up by hand, resolve lets the run go on.
            db.execute("DROP TABLE half_table").await;
            migrator
                .resolve(&db.url, "half_done", cofferdam::Resolution::RolledBack)
                .await
                .unwrap();
            let error = migrator.up(&db.url).await.unwrap_err();
            assert!(
                matches!(&error, Error::RevisionFailed { revision, .. } if revision == "half_done")
            );
        }
    }
    // The lock was released: a run with a short lock timeout does not time out.
    let error = migrator
        .lock_timeout(Duration::from_secs(1))
        .up(&db.url)
        .await
        .unwrap_err();
    assert!(
        !matches!(error, Error::LockTimeout { .. }),
        "lock still held: {error}"
    );
}

#[migration(set = "panicking")]
async fn before_panic(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE before_panic (id INTEGER PRIMARY KEY)")
        .await
}

/// Panics until a marker table exists, like a bug fixed by the next deploy.
#[migration(set = "panicking", after = before_panic)]
async fn panics_once(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE panic_side_effect (id INTEGER PRIMARY KEY)")
        .await?;
    let marker: Vec<(i64,)> = m
        .fetch_all("SELECT COUNT(*) FROM fixed_marker")
        .await
        .unwrap_or_default();
    if marker.is_empty() {
        panic!("simulated bug in a migration");
    }
    Ok(())
}

async fn panicking_migration_releases_the_lock(db: TestDb) {
    let migrator = Migrator::new("panicking").lock_timeout(Duration::from_secs(2));
    let error = migrator
        .up(&db.url)
        .await
        .expect_err("the migration panics");
    let text = report(&error);
    assert!(
        text.contains("panics_once") && text.contains("simulated bug"),
        "{text}"
    );
    if db.backend != Backend::MySql {
        assert!(!db.tables().await.contains(&"panic_side_effect".to_owned()));
        assert_eq!(
            db.history(HISTORY).await,
            [("before_panic".to_owned(), "applied".to_owned())]
        );
    } else {
        db.execute("DROP TABLE panic_side_effect").await;
        migrator
            .resolve(&db.url, "panics_once", cofferdam::Resolution::RolledBack)
            .await
            .unwrap();
    }
    db.execute("CREATE TABLE fixed_marker (id INTEGER)").await;
    let report = migrator
        .up(&db.url)
        .await
        .expect("the lock is free and the fixed migration applies");
    assert_eq!(report.revisions.len(), 1);
}

backend_tests!(
    failing_revision_halfway,
    panicking_migration_releases_the_lock
);
