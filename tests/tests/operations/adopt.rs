//! The catalog helpers (`has_table`, `has_column`, `has_index`) that let a
//! revision adopt what `create_all` or a hand-written script made already.

use super::*;

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
