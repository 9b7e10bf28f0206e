//! The run-time side of the safety gate: destructive SQL the compiler could
//! not see is refused before it reaches the database; reviewed revisions need
//! the deploy's explicit permission; the review is recorded.

use cofferdam::prelude::*;
use cofferdam::sea_query::TableDropStatement;
use cofferdam::{Error, Migrator, RawConnection, report};
use cofferdam_tests::{Backend, TestDb, backend_tests};

const HISTORY: &str = "cofferdam_history";

#[migration(set = "guard_setup")]
async fn create_victims(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE victims (id INTEGER PRIMARY KEY)")
        .await?;
    m.execute("INSERT INTO victims (id) VALUES (1)").await
}

fn drop_sql(table: &str) -> String {
    ["DROP TABLE ", table].concat()
}

fn drop_statement() -> TableDropStatement {
    Table::drop().table("victims").to_owned()
}

// Four ways to hide a drop from the compiler.
#[migration(set = "evade_format")]
async fn evade_format(m: &mut Migration<'_>) -> Result<()> {
    let verb = "DROP";
    m.execute(&format!("{verb} TABLE victims")).await
}

#[migration(set = "evade_helper")]
async fn evade_helper(m: &mut Migration<'_>) -> Result<()> {
    m.execute(&drop_sql("victims")).await
}

#[migration(set = "evade_variable")]
async fn evade_variable(m: &mut Migration<'_>) -> Result<()> {
    // Hidden from the compiler on purpose: it reads literals through `String::from`, `+`
    // and `concat`, but not through a function it does not know.
    let sql = std::hint::black_box("DELETE FROM victims").to_owned();
    m.execute(&sql).await
}

#[migration(set = "evade_unparseable")]
async fn evade_unparseable(m: &mut Migration<'_>) -> Result<()> {
    let sql = std::hint::black_box("FROBNICATE victims").to_owned();
    m.execute(&sql).await
}

#[migration(set = "evade_builder")]
async fn evade_builder(m: &mut Migration<'_>) -> Result<()> {
    m.exec(drop_statement()).await
}

/// A statement type of the user's own that claims it cannot destroy data:
/// the claim only excuses output the classifier cannot parse, so a DROP it
/// renders is still refused.
#[derive(Debug)]
struct ClaimsSafe;

impl cofferdam::Statement for ClaimsSafe {
    fn to_sql(&self, _: cofferdam::Backend) -> String {
        "DROP TABLE victims".to_owned()
    }
    fn never_destructive(&self) -> bool {
        true
    }
}

#[migration(set = "evade_claim")]
async fn evade_claim(m: &mut Migration<'_>) -> Result<()> {
    m.exec(ClaimsSafe).await
}

async fn evasions_are_refused_at_run_time(db: TestDb) {
    Migrator::new("guard_setup")
        .history_table("setup_history")
        .up(&db.url)
        .await
        .unwrap();
    for (set, operation) in [
        ("evade_format", "DROP TABLE victims"),
        ("evade_helper", "DROP TABLE victims"),
        ("evade_variable", "DELETE without WHERE victims"),
        ("evade_builder", "DROP TABLE victims"),
        ("evade_claim", "DROP TABLE victims"),
        (
            "evade_unparseable",
            "this SQL could not be parsed, so it is treated as destructive",
        ),
    ] {
        let table = format!("{set}_history");
        let error = Migrator::new(set)
            .history_table(&table)
            .up(&db.url)
            .await
            .unwrap_err();
        let text = report(&error);
        assert!(
            matches!(&error, Error::RevisionFailed { revision, source, .. }
                if revision == set && matches!(**source, Error::UndeclaredDestructive { .. })),
            "{set}: {text}"
        );
        assert!(text.contains(operation), "{set}: {text}");
        if let Error::RevisionFailed { source, .. } = &error
            && set == "evade_format"
        {
            // The README's gate section quotes this message.
            assert_eq!(
                source.to_string(),
                "`DROP TABLE victims` loses data, but the revision is not marked #[destructive(reviewed)], \
                 so the statement was not sent: DROP TABLE victims; make the migration non-destructive \
                 (expand-contract: stop using the table in one release, drop it in the next), or after a \
                 review and a backup, add #[destructive(reviewed, reason = \"...\")] to `evade_format`"
            );
        }
        assert!(
            text.contains(
                ", but the revision is not marked #[destructive(reviewed)], so the statement was not sent: "
            ) && text.contains(&format!(
                "after a review and a backup, add #[destructive(reviewed, reason = \"...\")] to `{set}`"
            )),
            "{set}: {text}"
        );
        let rows = db.query("SELECT COUNT(*) FROM victims").await;
        assert_eq!(
            rows[0][0].as_deref(),
            Some("1"),
            "{set}: the data is still there"
        );
        let history = db.history(&table).await;
        match db.backend {
            Backend::MySql => assert_eq!(history, [(set.to_owned(), "failed".to_owned())], "{set}"),
            _ => assert!(history.is_empty(), "{set}: {history:?}"),
        }
    }
}

#[migration(set = "reviewed")]
async fn create_archive(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE archive (id INTEGER PRIMARY KEY, body TEXT)")
        .await
}

#[migration(set = "reviewed", after = create_archive)]
#[destructive(reviewed, reason = "archive exported to S3 in OPS-42")]
async fn drop_archive(m: &mut Migration<'_>) -> Result<()> {
    m.execute("DROP TABLE archive").await
}

async fn destructive_revisions_need_the_deploy_key(db: TestDb) {
    let migrator = Migrator::new("reviewed");
    let pending = migrator.pending_destructive(&db.url).await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|op| (
                op.revision.as_str(),
                op.operation.as_str(),
                op.reason.as_deref()
            ))
            .collect::<Vec<_>>(),
        [(
            "drop_archive",
            "DROP TABLE archive",
            Some("archive exported to S3 in OPS-42")
        )]
    );
    let error = migrator.up(&db.url).await.unwrap_err();
    assert!(
        matches!(error, Error::DestructiveNotAllowed { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("`drop_archive` (DROP TABLE archive)"),
        "{error}"
    );
    assert!(
        db.tables().await.is_empty(),
        "the refusal changed nothing: {:?}",
        db.tables().await
    );

    // A target below the destructive revision needs no key.
    migrator.up_to(&db.url, "create_archive").await.unwrap();
    let report = migrator
        .clone()
        .allow_destructive(true)
        .up(&db.url)
        .await
        .unwrap();
    assert_eq!(report.revisions.len(), 1);
    assert!(!db.tables().await.contains(&"archive".to_owned()));
    let row = db
        .query(&format!(
            "SELECT destructive, review_reason FROM {HISTORY} WHERE id = 'drop_archive'"
        ))
        .await;
    assert_eq!(row[0][0].as_deref(), Some("1"));
    assert_eq!(
        row[0][1].as_deref(),
        Some("archive exported to S3 in OPS-42")
    );
    let status = migrator.status(&db.url).await.unwrap();
    assert!(
        status
            .applied
            .iter()
            .any(|r| r.id == "drop_archive" && r.destructive)
    );
}

/// Out of the guard's reach: a raw sqlx connection. PostgreSQL's event
/// trigger catches it; elsewhere it is a documented gap.
#[migration(set = "raw_drop")]
async fn raw_drop(m: &mut Migration<'_>) -> Result<()> {
    let sql = cofferdam::sqlx::AssertSqlSafe("DROP TABLE victims");
    let result = match m.connection().await? {
        RawConnection::Postgres(conn) => {
            cofferdam::sqlx::raw_sql(sql).execute(conn).await.map(drop)
        }
        RawConnection::Sqlite(conn) => cofferdam::sqlx::raw_sql(sql).execute(conn).await.map(drop),
        RawConnection::MySql(conn) => cofferdam::sqlx::raw_sql(sql).execute(conn).await.map(drop),
        _ => unreachable!(),
    };
    result.map_err(|e| Error::custom(format!("raw drop failed: {e}")))
}

async fn raw_connection_drops(db: TestDb) {
    Migrator::new("guard_setup")
        .history_table("setup_history")
        .up(&db.url)
        .await
        .unwrap();
    let result = Migrator::new("raw_drop")
        .history_table("raw_history")
        .up(&db.url)
        .await;
    let victims_left = db.tables().await.contains(&"victims".to_owned());
    if db.backend == Backend::Postgres {
        let text = report(&result.expect_err("the event trigger refuses the drop"));
        assert!(
            text.contains("not marked #[destructive(reviewed)]") && text.contains("raw_drop"),
            "{text}"
        );
        assert!(victims_left, "the drop was rolled back");
        let status = Migrator::new("raw_drop")
            .history_table("raw_history")
            .status(&db.url)
            .await
            .unwrap();
        assert!(
            status.notes.is_empty(),
            "the backstop is installed: {:?}",
            status.notes
        );
    } else {
        result.expect("outside PostgreSQL a raw connection is out of the guard's reach");
        assert!(!victims_left);
    }
}

backend_tests!(
    evasions_are_refused_at_run_time,
    destructive_revisions_need_the_deploy_key,
    raw_connection_drops
);

/// sea-query renders SQLite's decimal as `real(10, 2)`, which sqlparser rejects; the
/// classifier reads it without the precision, so the CREATE TABLE is not refused.
#[migration(set = "decimal")]
async fn create_prices(m: &mut Migration<'_>) -> Result<()> {
    m.exec(
        Table::create()
            .table("prices")
            .col(ColumnDef::new("id").integer().not_null().primary_key())
            .col(ColumnDef::new("amount").decimal_len(10, 2).not_null()),
    )
    .await
}

async fn unparseable_create_table_is_not_refused(db: TestDb) {
    Migrator::new("decimal").up(&db.url).await.unwrap();
    assert!(db.tables().await.contains(&"prices".to_owned()));
}

backend_tests!(unparseable_create_table_is_not_refused);

/// What the compiler accepts without a marker, the runtime must run: a
/// revision judged as a whole may drop its own scratch table and fill a
/// column it added with a constant (the PostgreSQL backstop agrees).
// The breaking change below is reported as a compiler warning by design;
// the allow keeps `-D warnings` builds of this test file clean.
#[allow(deprecated)]
mod no_traps {
    use super::*;

    #[migration(set = "no_traps")]
    async fn scratch_and_backfill(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            .await?;
        m.execute("INSERT INTO notes (id, body) VALUES (1, 'kept')")
            .await?;
        m.execute("CREATE TABLE scratch (id INTEGER)").await?;
        m.execute("INSERT INTO scratch (id) VALUES (1)").await?;
        m.execute("DROP TABLE scratch").await?;
        m.execute("ALTER TABLE notes ADD COLUMN flag INTEGER")
            .await?;
        m.execute("UPDATE notes SET flag = 0").await
    }

    /// `DROP NOT NULL` (PostgreSQL) and a `MODIFY` that keeps the type (MySQL)
    /// lose nothing: a warning, never a refusal.
    #[migration(set = "no_traps", after = scratch_and_backfill)]
    async fn body_optional(m: &mut Migration<'_>) -> Result<()> {
        if m.backend() == cofferdam::Backend::Sqlite {
            return Ok(()); // SQLite cannot alter a column in place.
        }
        m.exec(
            Table::alter()
                .table("notes")
                .modify_column(ColumnDef::new("body").text().null()),
        )
        .await
    }
}

async fn a_revision_is_judged_as_a_whole(db: TestDb) {
    let report = Migrator::new("no_traps").up(&db.url).await.unwrap();
    assert_eq!(report.revisions.len(), 2);
    let tables = db.tables().await;
    assert!(!tables.contains(&"scratch".to_owned()), "{tables:?}");
    let rows = db.query("SELECT body, flag FROM notes").await;
    assert_eq!(rows, [[Some("kept".to_owned()), Some("0".to_owned())]]);
    if db.backend != Backend::Sqlite {
        db.execute("INSERT INTO notes (id) VALUES (2)").await;
    }
    db.execute("DROP TABLE notes").await;
}

backend_tests!(a_revision_is_judged_as_a_whole);

#[migration(set = "rebuild_setup")]
async fn create_items(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL)")
        .await?;
    m.execute("INSERT INTO items (id, name, price) VALUES (1, 'nut', 0.5)")
        .await
}

/// SQLite alters a column by rebuilding the table. The old table's columns
/// are in the catalog, not in this revision: the runtime reads them.
#[migration(set = "rebuild_faithful")]
async fn rebuild_items(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE items_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL)")
        .await?;
    m.execute("INSERT INTO items_new (id, name, price) SELECT id, name, price FROM items")
        .await?;
    m.execute("DROP TABLE items").await?;
    m.execute("ALTER TABLE items_new RENAME TO items").await
}

#[migration(set = "rebuild_lossy")]
async fn rebuild_items_without_price(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE items_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        .await?;
    m.execute("INSERT INTO items_new (id, name) SELECT id, name FROM items")
        .await?;
    m.execute("DROP TABLE items").await?;
    m.execute("ALTER TABLE items_new RENAME TO items").await
}

/// The rebuild SQLite needs to alter a column; other engines accept it too,
/// and PostgreSQL's drop backstop agrees with the guard.
async fn rebuilds_are_checked_against_the_catalog(db: TestDb) {
    let up = |set: &'static str| {
        let migrator = Migrator::new(set).history_table(&format!("{set}_history"));
        let url = db.url.clone();
        async move { migrator.up(&url).await }
    };
    up("rebuild_setup").await.unwrap();

    let error = up("rebuild_lossy").await.unwrap_err();
    let text = report(&error);
    assert!(
        text.contains("`DROP COLUMN items.price` loses data, but the revision is not marked")
            && text.contains("DROP TABLE items")
            && text.contains("`rebuild_items_without_price`"),
        "{text}"
    );
    assert_eq!(db.columns("items").await, ["id", "name", "price"]);
    if db.backend == Backend::MySql {
        // DDL commits at once on MySQL: the copy stays, and the failure is recorded.
        assert_eq!(
            db.history("rebuild_lossy_history").await,
            [(
                "rebuild_items_without_price".to_owned(),
                "failed".to_owned()
            )]
        );
        db.execute("DROP TABLE items_new").await;
    }
    assert!(!db.tables().await.contains(&"items_new".to_owned()));

    up("rebuild_faithful").await.unwrap();
    let rows = db.query("SELECT id, name FROM items").await;
    assert_eq!(rows, [[Some("1".into()), Some("nut".into())]]);
    assert_eq!(db.columns("items").await, ["id", "name", "price"]);
    assert!(!db.tables().await.contains(&"items_new".to_owned()));
}

backend_tests!(rebuilds_are_checked_against_the_catalog);

#[migration(set = "truncate_setup")]
async fn create_ledger(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY)")
        .await?;
    m.execute("INSERT INTO ledger (id) VALUES (1), (2), (3)")
        .await
}

/// Sends `sql` through the raw connection, out of the runtime guard's sight.
async fn raw(m: &mut Migration<'_>, sql: &'static str) -> Result<()> {
    let sql = cofferdam::sqlx::AssertSqlSafe(sql);
    let result = match m.connection().await? {
        RawConnection::Postgres(conn) => {
            cofferdam::sqlx::raw_sql(sql).execute(conn).await.map(drop)
        }
        RawConnection::Sqlite(conn) => cofferdam::sqlx::raw_sql(sql).execute(conn).await.map(drop),
        RawConnection::MySql(conn) => cofferdam::sqlx::raw_sql(sql).execute(conn).await.map(drop),
        _ => unreachable!(),
    };
    result.map_err(|e| Error::custom(format!("raw statement failed: {e}")))
}

#[migration(set = "raw_truncate")]
async fn raw_truncate(m: &mut Migration<'_>) -> Result<()> {
    raw(m, "TRUNCATE ledger").await
}

#[migration(set = "function_truncate")]
async fn function_truncate(m: &mut Migration<'_>) -> Result<()> {
    raw(
        m,
        "CREATE FUNCTION empty_ledger() RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE ledger; END $$",
    )
    .await?;
    raw(m, "SELECT empty_ledger()").await
}

#[migration(set = "reviewed_truncate")]
#[destructive(reviewed, reason = "ledger replayed from the event log")]
async fn reviewed_truncate(m: &mut Migration<'_>) -> Result<()> {
    m.execute("TRUNCATE ledger").await
}

#[migration(set = "truncate_down", down = clear_ledger)]
async fn add_entry(m: &mut Migration<'_>) -> Result<()> {
    m.execute("INSERT INTO ledger (id) VALUES (4)").await
}

/// A `down` step is expected to destroy: the backstop is not armed.
async fn clear_ledger(m: &mut Migration<'_>) -> Result<()> {
    raw(m, "TRUNCATE ledger").await
}

/// PostgreSQL's backstop sees a TRUNCATE the guard cannot: through a raw
/// connection, or inside a function the migration created and called.
#[tokio::test]
async fn postgres_backstop_refuses_unreviewed_truncates() {
    let Some(db) = cofferdam_tests::fresh_database(Backend::Postgres).await else {
        return;
    };
    let migrator = |set: &'static str| Migrator::new(set).history_table(&format!("{set}_history"));
    migrator("truncate_setup").up(&db.url).await.unwrap();
    for (set, how) in [
        ("raw_truncate", "raw connection"),
        ("function_truncate", "function"),
    ] {
        let error = migrator(set).up(&db.url).await.unwrap_err();
        let text = report(&error);
        assert!(
            text.contains(&format!(
                "cofferdam: revision {set} truncated public.ledger but is not marked #[destructive(reviewed)]"
            )),
            "{how}: {text}"
        );
        let rows = db.query("SELECT COUNT(*) FROM ledger").await;
        assert_eq!(
            rows[0][0].as_deref(),
            Some("3"),
            "{how}: the rows are still there"
        );
        assert!(
            db.history(&format!("{set}_history")).await.is_empty(),
            "{how}"
        );
    }
    migrator("reviewed_truncate")
        .allow_destructive(true)
        .up(&db.url)
        .await
        .unwrap();
    let rows = db.query("SELECT COUNT(*) FROM ledger").await;
    assert_eq!(
        rows[0][0].as_deref(),
        Some("0"),
        "the reviewed truncate ran"
    );
}
