//! One struct for the schema and the queries (issue 12): a
//! `#[derive(cofferdam::Model)]` struct that also derives `sqlx::FromRow`
//! builds, its table is created from the model, and its rows read into it.
//! On SQLite: what is tested is the pairing of the two derives, not an engine.

use cofferdam::Migrator;
use cofferdam_tests::{Backend, fresh_database};

#[derive(Debug, PartialEq, cofferdam::Model, sqlx::FromRow)]
#[model(table = "notes", set = "model_rows")]
struct Note {
    #[model(primary_key)]
    id: i64,
    #[model(len = 100, unique)]
    title: String,
    body: Option<String>,
    #[model(default = 0)]
    views: i32,
    /// Read by sqlx under its column name, declared to the model as the same.
    #[model(column = "is_pinned", default = false)]
    #[sqlx(rename = "is_pinned")]
    pinned: bool,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_struct_is_also_a_row_struct() {
    let Some(db) = fresh_database(Backend::Sqlite).await else {
        return;
    };
    // The table the model declares, as autogenerate writes it.
    let found = Migrator::new("model_rows_empty")
        .models("model_rows")
        .autogenerate(&db.url, None, true)
        .await
        .unwrap_or_else(|e| panic!("{}", cofferdam::report(&e)));
    assert!(found.leftover.is_empty(), "{:?}", found.leftover);
    for change in &found.diff.changes {
        for sql in change.statements(cofferdam::Backend::Sqlite) {
            db.execute(&sql).await;
        }
    }
    db.execute("INSERT INTO notes (id, title, body) VALUES (1, 'first', NULL)")
        .await;
    db.execute(
        "INSERT INTO notes (id, title, body, views, is_pinned) VALUES (2, 'second', 'text', 7, 1)",
    )
    .await;
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    let notes: Vec<Note> = sqlx::query_as("SELECT * FROM notes ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(
        notes,
        [
            Note {
                id: 1,
                title: "first".into(),
                body: None,
                views: 0,
                pinned: false,
            },
            Note {
                id: 2,
                title: "second".into(),
                body: Some("text".into()),
                views: 7,
                pinned: true,
            },
        ],
        "the model's defaults filled the first row; the struct read both"
    );
}
