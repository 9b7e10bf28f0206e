//! A database that disagrees with the code: an edited applied revision, and
//! an applied revision the code does not know. Both are refused, each with its
//! own error, and nothing runs.

use cofferdam::{Error, report};
use cofferdam_tests::{Backend, TestDb, backend_tests};

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

/// The digest row that makes a start-up at head one small read.
async fn digest(db: &TestDb) -> Option<String> {
    let rows = db
        .query(&format!("SELECT digest FROM {HISTORY}_digest WHERE id = 1"))
        .await;
    rows.into_iter()
        .next()
        .and_then(|row| row.into_iter().next().flatten())
}

/// At head, start-ups trust the digest; an edit made by hand afterwards
/// must still be seen, because the history's triggers clear the digest.
async fn edits_at_head_are_seen_despite_the_digest(db: TestDb) {
    let migrator = example_migrations::migrator();
    migrator.up(&db.url).await.unwrap();
    assert!(
        digest(&db).await.is_some(),
        "a run that applied leaves the digest filled"
    );
    db.execute(&format!(
        "UPDATE {HISTORY} SET checksum = 'edited' WHERE id = 'create_articles'"
    ))
    .await;
    assert_eq!(digest(&db).await, None, "a hand edit clears the digest");
    let error = migrator.up(&db.url).await.unwrap_err();
    assert!(
        matches!(&error, Error::ChecksumMismatch { revision, .. } if revision == "create_articles"),
        "{error}"
    );
    let revisions = migrator.revisions().unwrap();
    let good = revisions
        .iter()
        .find(|revision| revision.id == "create_articles")
        .unwrap()
        .checksum;
    db.execute(&format!(
        "UPDATE {HISTORY} SET checksum = '{good}' WHERE id = 'create_articles'"
    ))
    .await;
    assert!(migrator.up(&db.url).await.unwrap().revisions.is_empty());
    assert!(
        digest(&db).await.is_some(),
        "a no-op after a full read refills it"
    );

    // A row from a diverged release, inserted at head.
    db.execute(&format!(
        "INSERT INTO {HISTORY} (id, seq, parents, checksum, state, applied_at, duration_ms, applied_by, destructive) \
         VALUES ('from_elsewhere', 99, '', 'x', 'applied', '2026-01-01T00:00:00Z', 1, 'ci@host', 0)"
    ))
    .await;
    let error = migrator.up(&db.url).await.unwrap_err();
    assert!(matches!(&error, Error::UnknownApplied { .. }), "{error}");
    db.execute(&format!(
        "DELETE FROM {HISTORY} WHERE id = 'from_elsewhere'"
    ))
    .await;
    assert!(migrator.up(&db.url).await.unwrap().revisions.is_empty());

    // Emptied by hand (TRUNCATE fires no row trigger on MySQL): the next
    // run sees an empty history and tries the first revision again, whose
    // table is still there.
    let empty = match db.backend {
        Backend::Sqlite => format!("DELETE FROM {HISTORY}"),
        _ => format!("TRUNCATE TABLE {HISTORY}"),
    };
    db.execute(&empty).await;
    let error = migrator.up(&db.url).await.unwrap_err();
    assert!(
        matches!(&error, Error::RevisionFailed { revision, .. } if revision == "create_articles"),
        "{error}"
    );
}

backend_tests!(
    edited_revision_is_refused,
    unknown_applied_revision_is_refused,
    edits_at_head_are_seen_despite_the_digest
);
