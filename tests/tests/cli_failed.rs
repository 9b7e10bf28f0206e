//! Failure paths of the `migrate` command that need revisions of their own:
//! a revision that fails outside a transaction (a failed state on every
//! backend), an irreversible revision under `down`, a panicking migration,
//! and `sql` on a revision that reads data.

mod cli_support;

use cli_support::migrate;
use cofferdam::prelude::*;
use cofferdam_tests::{Backend, TestDb, backend_tests, fresh_database};

#[test]
fn cli_child() {
    cli_support::child_entry();
}

const HISTORY: &str = "cofferdam_history";

fn history(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(id, state)| ((*id).to_owned(), (*state).to_owned()))
        .collect()
}

#[migration(set = "cli_outside_tx")]
async fn make_widgets(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE widgets (id INTEGER PRIMARY KEY)")
        .await
}

/// Outside a transaction, like `CREATE INDEX CONCURRENTLY`; names a column that does not exist.
#[migration(set = "cli_outside_tx", after = make_widgets, transaction = false)]
async fn index_widgets(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE INDEX widgets_colour ON widgets (colour)")
        .await
}

backend_tests!(
    a_failure_outside_a_transaction_blocks_until_resolved,
    down_refuses_an_irreversible_revision,
    sql_names_the_revisions_it_cannot_render,
);

async fn a_failure_outside_a_transaction_blocks_until_resolved(db: TestDb) {
    const SET: &str = "cli_outside_tx";
    migrate(SET, &db.url, &["up"])
        .await
        .expect(4)
        .stderr_has("error: revision `index_widgets` failed and is recorded as failed: statement failed: CREATE INDEX widgets_colour")
        .stderr_has("hint: Applied before it in this run: make_widgets. `index_widgets` ran outside a transaction")
        .stderr_has("`migrate resolve index_widgets --applied` or `--rolled-back`");
    assert_eq!(
        db.history(HISTORY).await,
        history(&[("make_widgets", "applied"), ("index_widgets", "failed")])
    );
    migrate(SET, &db.url, &["status"])
        .await
        .expect(4)
        .stdout_has("FAILED   index_widgets (failed since");
    let status = migrate(SET, &db.url, &["status", "--json"])
        .await
        .expect(4)
        .json();
    assert_eq!(status["failed"][0]["id"], "index_widgets");
    migrate(SET, &db.url, &["up"])
        .await
        .expect(4)
        .stderr_has("revision `index_widgets` is in state `failed`");
    migrate(SET, &db.url, &["history"])
        .await
        .expect(0)
        .stdout_has("FAILED: statement failed: CREATE INDEX widgets_colour");

    // Nothing was half-done here: the operator forgets the attempt.
    migrate(SET, &db.url, &["resolve", "index_widgets", "--rolled-back"])
        .await
        .expect(0);
    assert_eq!(
        db.history(HISTORY).await,
        history(&[("make_widgets", "applied")])
    );
    migrate(SET, &db.url, &["status"])
        .await
        .expect(3)
        .stdout_has("pending  index_widgets");
}

#[migration(set = "cli_irreversible")]
async fn keep_forever(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY)")
        .await
}

#[migration(set = "cli_irreversible", after = keep_forever, down = unmake_extra)]
async fn make_extra(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE extra (id INTEGER PRIMARY KEY)")
        .await
}

async fn unmake_extra(m: &mut Migration<'_>) -> Result<()> {
    m.execute("DROP TABLE extra").await
}

async fn down_refuses_an_irreversible_revision(db: TestDb) {
    const SET: &str = "cli_irreversible";
    migrate(SET, &db.url, &["up"]).await.expect(0);
    migrate(SET, &db.url, &["down", "-n", "2"])
        .await
        .expect(1)
        .stderr_has("revision `keep_forever` is irreversible: it has no `down = ...` function; nothing was reverted")
        .stderr_has("hint: Revert to a revision after `keep_forever` with `migrate down --to`");
    assert_eq!(
        db.history(HISTORY).await,
        history(&[("keep_forever", "applied"), ("make_extra", "applied")])
    );
    assert!(
        db.tables().await.contains(&"extra".to_owned()),
        "nothing was reverted"
    );
    migrate(SET, &db.url, &["down", "--to", "keep_forever"])
        .await
        .expect(0)
        .stdout_has("reverted make_extra")
        .stdout_has("now at keep_forever");
    assert!(!db.tables().await.contains(&"extra".to_owned()));
    migrate(SET, &db.url, &["down", "--to", "make_extra"])
        .await
        .expect(1)
        .stderr_has("revision `make_extra` is not applied");
}

#[migration(set = "cli_reads_data")]
async fn seed_colours(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE colours (id INTEGER PRIMARY KEY, name VARCHAR(20))")
        .await?;
    m.execute("INSERT INTO colours (id, name) VALUES (1, 'red')")
        .await
}

/// Its statements depend on the rows it reads.
#[migration(set = "cli_reads_data", after = seed_colours)]
async fn copy_colours(m: &mut Migration<'_>) -> Result<()> {
    let rows: Vec<(i64,)> = m.fetch_all("SELECT id FROM colours").await?;
    for (id,) in rows {
        m.execute(&format!("UPDATE colours SET name = 'copy' WHERE id = {id}"))
            .await?;
    }
    Ok(())
}

#[migration(set = "cli_reads_data", after = copy_colours)]
async fn index_colours(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE INDEX colours_name ON colours (name)")
        .await
}

async fn sql_names_the_revisions_it_cannot_render(db: TestDb) {
    const SET: &str = "cli_reads_data";
    let run = migrate(SET, &db.url, &["sql"])
        .await
        .expect(0)
        .stdout_has("INSERT INTO colours (id, name) VALUES (1, 'red');")
        .stdout_has("-- revision copy_colours\n-- CANNOT BE RENDERED OFFLINE: it reads from the database")
        .stdout_has("CREATE INDEX colours_name ON colours (name);")
        .stderr_has("warning: 1 revision cannot be rendered offline because it reads from the database: copy_colours");
    let order: Vec<usize> = ["seed_colours", "copy_colours", "index_colours"]
        .iter()
        .map(|id| run.stdout.find(&format!("-- revision {id}")).expect(id))
        .collect();
    assert!(order.is_sorted(), "{}", run.stdout);
    let json = migrate(SET, &db.url, &["sql", "--json"])
        .await
        .expect(0)
        .json();
    assert_eq!(json["unrenderable"], serde_json::json!(["copy_colours"]));
    assert_eq!(json["revisions"][1]["renderable"], false);
    if db.backend != Backend::Sqlite {
        assert_eq!(db.tables().await, Vec::<String>::new(), "sql only reads");
    }
}

#[migration(set = "cli_panics")]
async fn panics_midway(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE half_made (id INTEGER PRIMARY KEY)")
        .await?;
    panic!("simulated bug in a migration");
}

/// A panic prints one line with its location, then the error paragraph; no backtrace.
#[tokio::test]
async fn a_panicking_migration_is_reported_in_one_paragraph() {
    let Some(db) = fresh_database(Backend::Sqlite).await else {
        return;
    };
    let run = migrate("cli_panics", &db.url, &["up"])
        .await
        .expect(1)
        .stderr_has("panic at tests/tests/cli_failed.rs:")
        .stderr_has(": simulated bug in a migration\n")
        .stderr_has("error: revision `panics_midway` failed and was rolled back: the migration panicked: simulated bug in a migration");
    assert!(!run.stderr.contains("stack backtrace"), "{}", run.stderr);
    assert!(!run.stderr.contains("thread '"), "{}", run.stderr);
    assert!(!db.tables().await.contains(&"half_made".to_owned()));
}
