//! A database that disagrees with the code: an edited applied revision, and
//! an applied revision the code does not know. Both are refused, each with its
//! own error, and nothing runs.

use cofferdam::{Error, report};
use cofferdam_tests::{TestDb, backend_tests};

const HISTORY: &str = "cofferdam_history";

async fn edited_revision_is_refused(db: TestDb) {
    let migrator = example_migrations::migrator();
    migrator.up_to(&db.url, "create_articles").await.unwrap();
    // What an edited-and-redeployed revision looks like from the database.
    db.execute(&format!(
        "UPDATE {HISTORY} SET checksum = 'edited' WHERE id = 'create_articles'"
    ))
    .await;
    let error = migrator.up(&db.url).await.unwrap_err();
    assert!(
        matches!(&error, Error::ChecksumMismatch { revision, .. } if revision == "create_articles"),
        "{error}"
    );
    assert!(report(&error).contains("write a new revision"), "{error}");
    assert_eq!(db.history(HISTORY).await.len(), 1, "nothing else ran");
    assert_eq!(
        migrator.status(&db.url).await.unwrap().drifted,
        ["create_articles"]
    );
}

async fn unknown_applied_revision_is_refused(db: TestDb) {
    let migrator = example_migrations::migrator();
    migrator.up_to(&db.url, "create_articles").await.unwrap();
    db.execute(&format!(
        "INSERT INTO {HISTORY} (id, seq, parents, checksum, state, applied_at, duration_ms, applied_by, destructive) \
         VALUES ('from_a_newer_release', 99, '', 'x', 'applied', '2026-01-01T00:00:00Z', 1, 'ci@host', 0)"
    ))
    .await;
    let error = migrator.up(&db.url).await.unwrap_err();
    assert!(
        matches!(&error, Error::UnknownApplied { revisions, .. } if revisions == &["from_a_newer_release"]),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("deploy a binary that contains them"),
        "{error}"
    );
    assert_eq!(db.history(HISTORY).await.len(), 2, "nothing ran");
    assert_eq!(
        migrator.status(&db.url).await.unwrap().unknown,
        ["from_a_newer_release"]
    );
}

backend_tests!(
    edited_revision_is_refused,
    unknown_applied_revision_is_refused
);
