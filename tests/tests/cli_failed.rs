//! Failure paths of the `migrate` command that need revisions of their own:
//! a revision that fails outside a transaction (a failed state on every
//! backend), an irreversible revision under `down`, a panicking migration,
//! `sql` on a revision that reads data, and a failed `CREATE INDEX
//! CONCURRENTLY` cleaned up by `resolve --run-down` (PostgreSQL).

mod cli_support;

use cli_support::migrate;
use cofferdam_tests::{Backend, TestDb, backend_tests, fresh_database};

const HISTORY: &str = "cofferdam_history";

fn history(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(id, state)| ((*id).to_owned(), (*state).to_owned()))
        .collect()
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

    migrate(SET, &db.url, &["resolve", "index_widgets", "--rolled-back", "--run-down"])
        .await
        .expect(2)
        .stderr_has("revision `index_widgets` has no `down = ...` function, so there is no cleanup to run; nothing was changed")
        .stderr_has("then run `migrate resolve index_widgets --rolled-back`");
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

/// A panic prints one line with its location, then the error paragraph; no backtrace.
#[tokio::test]
async fn a_panicking_migration_is_reported_in_one_paragraph() {
    let Some(db) = fresh_database(Backend::Sqlite).await else {
        return;
    };
    let run = migrate("cli_panics", &db.url, &["up"])
        .await
        .expect(1)
        .stderr_has("panic at tests/src/cli_sets.rs:")
        .stderr_has(": simulated bug in a migration\n")
        .stderr_has("error: revision `panics_midway` failed and was rolled back: the migration panicked: simulated bug in a migration");
    assert!(!run.stderr.contains("stack backtrace"), "{}", run.stderr);
    assert!(!run.stderr.contains("thread '"), "{}", run.stderr);
    assert!(!db.tables().await.contains(&"half_made".to_owned()));
}

/// A failed `CREATE UNIQUE INDEX CONCURRENTLY` leaves an INVALID index: the
/// error names it with the statement that drops it, `resolve --rolled-back
/// --run-down` cleans it up with the revision's own `down`, and once the
/// data is fixed `up` builds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_concurrent_index_is_named_and_cleaned_up_by_its_down() {
    const SET: &str = "cli_cic";
    const INVALID: &str = "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                           WHERE NOT i.indisvalid";
    let Some(db) = fresh_database(Backend::Postgres).await else {
        return;
    };
    migrate(SET, &db.url, &["up"])
        .await
        .expect(4)
        .stderr_has("error: revision `cic_email` failed and is recorded as failed")
        .stderr_has("could not create unique index \"cic_users_email\"")
        .stderr_has(r#"a new attempt fails on its name): "public"."cic_users_email"."#)
        .stderr_has("Either run `migrate resolve cic_email --rolled-back --run-down` if its `down` drops them")
        .stderr_has(r#"drop them yourself with `DROP INDEX CONCURRENTLY "public"."cic_users_email";`"#);
    assert_eq!(
        db.query(INVALID).await,
        vec![vec![Some("cic_users_email".to_owned())]]
    );
    assert_eq!(
        db.history(HISTORY).await,
        history(&[("cic_users", "applied"), ("cic_email", "failed")])
    );

    migrate(
        SET,
        &db.url,
        &["resolve", "cic_email", "--rolled-back", "--run-down"],
    )
    .await
    .expect(0)
    .stdout_has("resolved `cic_email` as rolled back: its `down` ran");
    assert_eq!(db.query(INVALID).await, Vec::<Vec<Option<String>>>::new());
    assert_eq!(
        db.history(HISTORY).await,
        history(&[("cic_users", "applied")])
    );

    db.execute("DELETE FROM cic_users WHERE id = 2").await;
    migrate(SET, &db.url, &["up"]).await.expect(0);
    assert_eq!(
        db.history(HISTORY).await,
        history(&[("cic_users", "applied"), ("cic_email", "applied")])
    );
    let valid = db
        .query("SELECT i.indisvalid::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'cic_users_email'")
        .await;
    assert_eq!(valid, vec![vec![Some("true".to_owned())]]);
}
