//! `cofferdam::testing` itself, on every engine: a test's database is its
//! own and is gone after the test, a panicking one included; the checks
//! catch broken migration sets and name the revision.

use cofferdam::Backend;
use cofferdam::testing::{self, CheckError, TestDatabase};
use std::cell::{Cell, RefCell};

/// Whether the database (or SQLite file) named `name` still exists on `backend`'s server.
async fn exists(backend: Backend, name: &str) -> bool {
    let Some(server) = testing::server_url(backend) else {
        return std::path::Path::new(name).exists();
    };
    // An empty database on the same server reads the server's catalog.
    let Some(probe) = TestDatabase::new(backend).await else {
        panic!("{} stopped answering", cofferdam::redact(&server));
    };
    let sql = match backend {
        Backend::Postgres => format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
        _ => {
            format!("SELECT count(*) FROM information_schema.schemata WHERE schema_name = '{name}'")
        }
    };
    probe.query(&sql).await[0][0].as_deref() != Some("0")
}

thread_local! {
    /// Set by the test that wants `may_panic` to panic.
    static PANIC_NOW: Cell<bool> = const { Cell::new(false) };
    /// The database `may_panic` was given.
    static SEEN: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// On its own it passes; called by `*_is_dropped_after_a_panic` below it
/// panics while holding its database.
#[cofferdam::test(migrator = example_migrations::migrator)]
async fn may_panic(db: TestDatabase) {
    SEEN.with(|seen| *seen.borrow_mut() = Some(db.name().to_owned()));
    assert!(db.snapshot().await.tables.contains_key("articles"));
    if PANIC_NOW.with(Cell::get) {
        panic!("a failing test");
    }
}

fn dropped_after_a_panic(backend: Backend, generated_test: fn()) {
    PANIC_NOW.with(|now| now.set(true));
    let outcome = std::panic::catch_unwind(generated_test);
    PANIC_NOW.with(|now| now.set(false));
    let Some(name) = SEEN.with(|seen| seen.borrow_mut().take()) else {
        return; // the engine was skipped, with a note
    };
    assert!(outcome.is_err(), "the test did not panic");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert!(
        !runtime.block_on(exists(backend, &name)),
        "{name} was left behind"
    );
}

#[test]
fn sqlite_database_is_dropped_after_a_panic() {
    dropped_after_a_panic(Backend::Sqlite, may_panic_sqlite);
}

#[test]
fn postgres_database_is_dropped_after_a_panic() {
    dropped_after_a_panic(Backend::Postgres, may_panic_postgres);
}

#[test]
fn mysql_database_is_dropped_after_a_panic() {
    dropped_after_a_panic(Backend::MySql, may_panic_mysql);
}

/// Two databases made at the same moment are two databases.
#[cofferdam::test]
async fn parallel_tests_get_their_own_database(db: TestDatabase) {
    let (other, third) = tokio::join!(
        TestDatabase::new(db.backend()),
        TestDatabase::new(db.backend())
    );
    let (other, third) = (other.unwrap(), third.unwrap());
    assert_ne!(db.name(), other.name());
    assert_ne!(other.name(), third.name());
    other
        .execute("CREATE TABLE only_here (id INTEGER PRIMARY KEY)")
        .await;
    assert!(other.snapshot().await.tables.contains_key("only_here"));
    assert!(db.snapshot().await.tables.is_empty());
    assert!(third.snapshot().await.tables.is_empty());
}

/// Migrated to head: every revision in history, every table in the catalog
/// (on PostgreSQL, cloned from the template).
#[cofferdam::test(migrator = example_migrations::migrator)]
async fn migrated_to_head(db: TestDatabase) {
    let applied = db
        .query("SELECT id FROM cofferdam_history ORDER BY id")
        .await;
    let ids: Vec<&str> = applied.iter().filter_map(|row| row[0].as_deref()).collect();
    assert_eq!(
        ids,
        [
            "add_slug",
            "create_articles",
            "create_authors",
            "link_authors"
        ]
    );
    let snapshot = db.snapshot().await;
    let articles = &snapshot.tables["articles"];
    assert!(
        articles.indexes.contains_key("articles_author_id"),
        "{articles:?}"
    );
    assert!(articles.columns["slug"].nullable);
    if db.backend() == Backend::Postgres {
        let templates = db
            .query("SELECT count(*) FROM pg_database WHERE datname LIKE 'cfdmtpl\\_%'")
            .await;
        assert_ne!(
            templates[0][0].as_deref(),
            Some("0"),
            "no template was made"
        );
    }
}

/// Migrated to a named revision: that revision and its ancestors only.
#[cofferdam::test(migrator = example_migrations::migrator, to = example_migrations::add_slug)]
async fn migrated_to_a_revision(db: TestDatabase) {
    let applied = db
        .query("SELECT id FROM cofferdam_history ORDER BY id")
        .await;
    let ids: Vec<&str> = applied.iter().filter_map(|row| row[0].as_deref()).collect();
    assert_eq!(ids, ["add_slug", "create_articles"]);
    assert!(!db.snapshot().await.tables.contains_key("authors"));
}

/// A `down` that forgets to put back the index its `up` replaced.
mod forgets_index {
    use cofferdam::prelude::*;

    #[migration(set = "testing_forgets_index", down = drop_widgets)]
    async fn create_widgets(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE widgets (id INTEGER PRIMARY KEY, name VARCHAR(50))")
            .await?;
        m.exec(
            Index::create()
                .name("widgets_name_idx")
                .table("widgets")
                .col("name"),
        )
        .await
    }

    async fn drop_widgets(m: &mut Migration<'_>) -> Result<()> {
        m.execute("DROP TABLE widgets").await
    }

    #[migration(set = "testing_forgets_index", after = create_widgets, down = allow_duplicate_names)]
    #[destructive(reviewed, reason = "the unique index replaces it")]
    async fn unique_names(m: &mut Migration<'_>) -> Result<()> {
        m.exec(Index::drop().name("widgets_name_idx").table("widgets"))
            .await?;
        m.exec(
            Index::create()
                .name("widgets_name_key")
                .table("widgets")
                .col("name")
                .unique(),
        )
        .await
    }

    /// The bug: `widgets_name_idx` is not created again.
    async fn allow_duplicate_names(m: &mut Migration<'_>) -> Result<()> {
        m.exec(Index::drop().name("widgets_name_key").table("widgets"))
            .await
    }
}

#[cofferdam::test]
async fn stairway_catches_a_down_that_forgets_an_index(db: TestDatabase) {
    let broken = cofferdam::Migrator::new("testing_forgets_index");
    let error = testing::stairway(&broken, &db).await.unwrap_err();
    assert!(
        matches!(&error, CheckError::DownIncomplete { revision, .. } if revision == "unique_names"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "stairway: after down of `unique_names`, the schema is not what it was before its up: \
         index `widgets_name_idx` on `widgets` is missing"
    );
}

#[cofferdam::test]
async fn stairway_passes_the_example_migrations(db: TestDatabase) {
    let report = testing::stairway(&example_migrations::migrator(), &db)
        .await
        .unwrap();
    assert_eq!(
        report.checked,
        [
            "create_articles",
            "add_slug",
            "create_authors",
            "link_authors"
        ]
    );
    assert!(report.irreversible.is_empty());
}

/// A revision that fails (a column that does not exist), and the same
/// revision fixed: same ids, and the same first revision.
mod rerun {
    pub mod broken {
        use cofferdam::prelude::*;

        #[migration(set = "testing_rerun_broken")]
        async fn make_gadgets(m: &mut Migration<'_>) -> Result<()> {
            m.execute("CREATE TABLE gadgets (id INTEGER PRIMARY KEY)")
                .await
        }

        #[migration(set = "testing_rerun_broken", after = make_gadgets)]
        async fn index_gadgets(m: &mut Migration<'_>) -> Result<()> {
            m.execute("CREATE INDEX gadgets_colour ON gadgets (colour)")
                .await
        }
    }

    pub mod fixed {
        use cofferdam::prelude::*;

        #[migration(set = "testing_rerun_fixed")]
        async fn make_gadgets(m: &mut Migration<'_>) -> Result<()> {
            m.execute("CREATE TABLE gadgets (id INTEGER PRIMARY KEY)")
                .await
        }

        #[migration(set = "testing_rerun_fixed", after = make_gadgets)]
        async fn index_gadgets(m: &mut Migration<'_>) -> Result<()> {
            m.execute("ALTER TABLE gadgets ADD COLUMN colour VARCHAR(20)")
                .await?;
            m.execute("CREATE INDEX gadgets_colour ON gadgets (colour)")
                .await
        }
    }
}

#[cofferdam::test]
async fn a_fixed_revision_reruns_after_a_failure(db: TestDatabase) {
    let broken = cofferdam::Migrator::new("testing_rerun_broken");
    let fixed = cofferdam::Migrator::new("testing_rerun_fixed");
    testing::rerun_after_failure(&broken, &fixed, &db)
        .await
        .unwrap();
    let snapshot = db.snapshot().await;
    assert!(
        snapshot.tables["gadgets"]
            .indexes
            .contains_key("gadgets_colour"),
        "{snapshot:?}"
    );
    // The fixed set is not broken: the check says so rather than passing.
    let other = TestDatabase::new(db.backend()).await.unwrap();
    let error = testing::rerun_after_failure(&fixed, &fixed, &other)
        .await
        .unwrap_err();
    assert!(matches!(error, CheckError::DidNotFail), "{error:?}");
}

#[test]
fn the_reversibility_report_lists_revisions_without_down() {
    let report = testing::irreversible(&cofferdam::Migrator::new("testing_rerun_fixed")).unwrap();
    assert_eq!(report, ["make_gadgets", "index_gadgets"]);
}

/// The snapshot reads what a schema comparison needs: types, NOT NULL,
/// defaults, unique indexes, foreign keys, and CHECK (not on SQLite).
#[cofferdam::test]
async fn the_snapshot_reads_constraints_and_defaults(db: TestDatabase) {
    db.execute("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
        .await;
    db.execute(
        "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL, \
         code VARCHAR(10) DEFAULT 'x', qty INTEGER, \
         CONSTRAINT children_code UNIQUE (code), CONSTRAINT children_qty CHECK (qty > 0), \
         CONSTRAINT children_parent FOREIGN KEY (parent_id) REFERENCES parents (id))",
    )
    .await;
    let snapshot = db.snapshot().await;
    let children = &snapshot.tables["children"];
    assert!(!children.columns["parent_id"].nullable);
    assert!(
        children.columns["code"]
            .default
            .as_deref()
            .is_some_and(|d| d.contains('x')),
        "{children:?}"
    );
    let unique = children
        .indexes
        .values()
        .any(|index| index.unique && index.columns == "code");
    assert!(unique, "{children:?}");
    let foreign = children
        .constraints
        .values()
        .find(|c| c.kind == "FOREIGN KEY");
    assert!(
        foreign.is_some_and(|c| c.definition.contains("parents")),
        "{children:?}"
    );
    let check = children.constraints.values().any(|c| c.kind == "CHECK");
    assert_eq!(check, db.backend() != Backend::Sqlite, "{children:?}");
    // A table dropped is a difference, and it is named.
    let before = snapshot.clone();
    db.execute("DROP TABLE children").await;
    let differences = before.diff(&db.snapshot().await);
    assert_eq!(differences.len(), 1);
    assert_eq!(differences[0].to_string(), "table `children` is missing");
}

/// The application's code gets an sqlx pool on the test database.
#[cofferdam::test(migrator = example_migrations::migrator, engines = [postgres])]
async fn hands_out_an_sqlx_pool(db: TestDatabase) {
    let pool = db.pool::<sqlx::Postgres>().await;
    sqlx::query("INSERT INTO authors (id, name) VALUES (1, 'Ada')")
        .execute(&pool)
        .await
        .unwrap();
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM authors")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(names, ["Ada"]);
    pool.close().await;
}
