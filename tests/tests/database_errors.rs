//! What an operator reads when the database refuses a statement: the
//! database's own message with the key or constraint involved (PostgreSQL's
//! DETAIL and HINT), without the server's C source line; and, when the
//! connection is lost during a revision outside a transaction, an error
//! that says the failure could not be recorded and what history shows.

use cofferdam::prelude::*;
use cofferdam::{Error, Migrator, report};
use cofferdam_tests::{Backend, TestDb, backend_tests, fresh_database};

const HISTORY: &str = "cofferdam_history";

#[migration(set = "dup_key")]
async fn make_dup_items(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE dup_items (id INTEGER PRIMARY KEY, name VARCHAR(20))")
        .await?;
    m.execute("INSERT INTO dup_items (id, name) VALUES (1, 'first')")
        .await
}

/// A data migration that trips on the primary key, outside a transaction so
/// that the error is also kept in the history table.
#[migration(set = "dup_key", after = make_dup_items, transaction = false)]
async fn copy_dup_items(m: &mut Migration<'_>) -> Result<()> {
    m.execute("INSERT INTO dup_items (id, name) VALUES (1, 'copy')")
        .await
}

async fn a_duplicate_key_names_the_key(db: TestDb) {
    let error = Migrator::new("dup_key")
        .up(&db.url)
        .await
        .expect_err("the duplicate key fails");
    let text = report(&error);
    assert!(
        matches!(&error, Error::RevisionFailed { revision, .. } if revision == "copy_dup_items"),
        "{text}"
    );
    let expected: &[&str] = match db.backend {
        Backend::Postgres => &[
            "duplicate key value violates unique constraint \"dup_items_pkey\" (SQLSTATE 23505)",
            "constraint `dup_items_pkey` on table `dup_items`",
            "DETAIL: Key (id)=(1) already exists.",
        ],
        Backend::MySql => &["1062 (23000): Duplicate entry '1' for key 'PRIMARY'"],
        Backend::Sqlite => &["UNIQUE constraint failed: dup_items.id"],
    };
    for part in expected {
        assert!(text.contains(part), "missing {part:?} in: {text}");
    }
    assert!(!text.contains(" at line "), "{text}");

    // What the history keeps for the failed revision says the same.
    if db.backend != Backend::Sqlite {
        let recorded = db
            .query(&format!(
                "SELECT error FROM {HISTORY} WHERE id = 'copy_dup_items'"
            ))
            .await;
        let recorded = recorded[0][0].clone().unwrap_or_default();
        assert!(
            recorded.contains(expected[expected.len() - 1]),
            "{recorded}"
        );
    }
}

backend_tests!(a_duplicate_key_names_the_key);

/// Ends its own connection halfway: the failure cannot be recorded.
#[migration(set = "lost_connection", transaction = false)]
async fn lose_the_connection(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE lost_before (id INTEGER PRIMARY KEY)")
        .await?;
    m.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_says_the_failure_was_not_recorded() {
    let Some(db) = fresh_database(Backend::Postgres).await else {
        return;
    };
    let error = Migrator::new("lost_connection")
        .up(&db.url)
        .await
        .expect_err("the connection is gone");
    let text = report(&error);
    assert!(
        matches!(&error, Error::FailureNotRecorded { revision, ran: true, .. } if revision == "lose_the_connection"),
        "{text}"
    );
    assert!(
        text.contains("the failure could not be recorded in the history table"),
        "{text}"
    );
    assert!(
        text.contains("the history table shows `lose_the_connection` as `started`"),
        "{text}"
    );
    assert!(!text.contains("recorded as failed"), "{text}");
    assert!(
        error
            .hint()
            .is_some_and(|hint| hint.contains("migrate resolve lose_the_connection")),
        "{:?}",
        error.hint()
    );
    // And that is what the history shows.
    assert_eq!(
        db.history(HISTORY).await,
        [("lose_the_connection".to_owned(), "started".to_owned())]
    );
}
