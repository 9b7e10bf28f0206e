//! SQLite table rebuilds, through sea-query's `modify_column` and several
//! changes in one `ALTER TABLE`; the same revisions run natively elsewhere.

use super::*;

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
