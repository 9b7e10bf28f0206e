//! The failure paths an on-call engineer meets, run through the real binary:
//! an unreachable database, a wrong password, an unknown revision, a
//! revision that fails, a failed state, drift and unknown applied revisions.
//! Each asserts the exit code, the message, and what the database holds.

mod cli_support;

use cli_support::{ALL, HISTORY, ids, migrate};
use cofferdam_tests::{Backend, TestDb, backend_tests, fresh_database};

backend_tests!(
    wrong_credentials_exit_9_without_printing_the_password,
    an_unknown_revision_is_a_usage_error_and_changes_nothing,
    a_failing_revision_rolls_back_or_blocks,
    a_failed_state_blocks_until_resolved,
    drift_and_unknown_revisions_have_their_own_codes,
);

const SECRET: &str = "s3cret-Pa55word";

#[tokio::test]
async fn an_unreachable_server_exits_9() {
    for url in [
        format!("postgres://app:{SECRET}@127.0.0.1:1/app"),
        format!("mysql://app:{SECRET}@127.0.0.1:1/app"),
        "sqlite:///nonexistent-cofferdam-dir/app.db?mode=rwc".to_owned(),
    ] {
        for verb in [
            &["up"][..],
            &["status"],
            &["check"],
            &["down"],
            &["stamp", "add_slug"],
        ] {
            let mut args = verb.to_vec();
            args.extend(["--connect-timeout", "5"]);
            migrate(&url, &args)
                .await
                .expect(9)
                .stderr_has("error: could not connect to ")
                .stderr_has("hint: Check that the server is running")
                .never_shows(SECRET);
        }
    }
}

#[tokio::test]
async fn an_invalid_url_says_what_is_expected() {
    migrate(&format!("oracle://app:{SECRET}@db/app"), &["status"])
        .await
        .expect(1)
        .stderr_has("invalid database URL `oracle://app:***@db/app`: unknown scheme `oracle`")
        .stderr_has("expected sqlite://PATH")
        .never_shows(SECRET);
}

async fn wrong_credentials_exit_9_without_printing_the_password(db: TestDb) {
    let url = match db.backend {
        // Nothing to log in to: the file is the database.
        Backend::Sqlite => return,
        // The test server trusts every password, so use a role that does not exist.
        Backend::Postgres => with_credentials(&db.url, "no_such_role", SECRET),
        Backend::MySql => with_credentials(&db.url, "root", SECRET),
    };
    let expected = match db.backend {
        Backend::Postgres => "role \"no_such_role\" does not exist",
        _ => "Access denied",
    };
    for verb in [&["up"][..], &["status", "--json"], &["sql"]] {
        let run = migrate(&url, verb)
            .await
            .expect(9)
            .stderr_has(expected)
            .stderr_has(":***@")
            .never_shows(SECRET);
        if verb.contains(&"--json") {
            assert_eq!(run.json()["error"]["exit_code"], 9);
        }
    }
    assert_eq!(db.tables().await, Vec::<String>::new());
}

async fn an_unknown_revision_is_a_usage_error_and_changes_nothing(db: TestDb) {
    for args in [
        &["up", "--to", "nope"][..],
        &["up", "--to", "nope", "--dry-run"],
        &["down", "--to", "nope"],
        &["sql", "--to", "nope"],
        &["stamp", "nope"],
        &["resolve", "nope", "--applied"],
    ] {
        migrate(&db.url, args)
            .await
            .expect(2)
            .stderr_has("unknown revision `nope`; run `migrate heads` or `migrate status`");
    }
    if db.backend != Backend::Sqlite || std::path::Path::new(&db.name).exists() {
        assert_eq!(db.tables().await, Vec::<String>::new());
    }
}

/// A table in the way of `create_authors`.
async fn a_failing_revision_rolls_back_or_blocks(db: TestDb) {
    db.execute("CREATE TABLE authors (id INTEGER)").await;
    let run = migrate(&db.url, &["up"]).await;
    if db.backend == Backend::MySql {
        // DDL commits implicitly: the attempt is recorded and blocks the next run.
        run.expect(4)
            .stderr_has("error: revision `create_authors` failed and is recorded as failed")
            .stderr_has("Applied before it in this run: create_articles, add_slug.")
            .stderr_has("`migrate resolve create_authors --applied` or `--rolled-back`");
        assert_eq!(
            db.history(HISTORY).await,
            [
                ("create_articles".to_owned(), "applied".to_owned()),
                ("add_slug".to_owned(), "applied".to_owned()),
                ("create_authors".to_owned(), "failed".to_owned()),
            ]
        );
        migrate(&db.url, &["status"])
            .await
            .expect(4)
            .stdout_has("FAILED   create_authors")
            .stdout_has("blocked: `create_authors` is recorded as failed");
        migrate(&db.url, &["up"])
            .await
            .expect(4)
            .stderr_has("revision `create_authors` is in state `failed`");
        migrate(&db.url, &["check"]).await.expect(4);
        // The operator removes what was in the way and settles the attempt.
        db.execute("DROP TABLE authors").await;
        migrate(&db.url, &["resolve", "create_authors", "--rolled-back"])
            .await
            .expect(0)
            .stdout_has("resolved `create_authors` as rolled back");
    } else {
        run.expect(1)
            .stderr_has("error: revision `create_authors` failed and was rolled back")
            .stderr_has("Applied before it in this run: create_articles, add_slug.")
            .stderr_has("run `migrate up` again");
        assert_eq!(
            ids(&db.history(HISTORY).await),
            ["create_articles", "add_slug"]
        );
        migrate(&db.url, &["status"]).await.expect(3);
        db.execute("DROP TABLE authors").await;
    }
    migrate(&db.url, &["up"])
        .await
        .expect(0)
        .stdout_has("now at link_authors");
    assert_eq!(ids(&db.history(HISTORY).await), ALL);
}

/// A run that died halfway leaves a failed row; simulated here by editing it.
async fn a_failed_state_blocks_until_resolved(db: TestDb) {
    migrate(&db.url, &["up"]).await.expect(0);
    let fail = format!(
        "UPDATE {HISTORY} SET state = 'failed', error = 'server closed the connection' WHERE id = 'link_authors'"
    );
    db.execute(&fail).await;
    migrate(&db.url, &["status"])
        .await
        .expect(4)
        .stdout_has("link_authors (failed since")
        .stdout_has("server closed the connection");
    migrate(&db.url, &["up"])
        .await
        .expect(4)
        .stderr_has("revision `link_authors` is in state `failed`")
        .stderr_has("migrate resolve link_authors --applied");
    // `stamp` records the schema as in place: it settles the failed row.
    migrate(&db.url, &["stamp", "link_authors"])
        .await
        .expect(0)
        .stdout_has("settled link_authors");
    migrate(&db.url, &["status"]).await.expect(0);
    db.execute(&fail).await;
    let check = migrate(&db.url, &["check", "--json"])
        .await
        .expect(4)
        .json();
    assert_eq!(check["problems"][0]["kind"], "failed");
    assert_eq!(check["ok"], false);

    // Completed by hand: record it as applied.
    migrate(&db.url, &["resolve", "link_authors", "--applied"])
        .await
        .expect(0)
        .stdout_has("resolved `link_authors` as applied");
    migrate(&db.url, &["status"]).await.expect(0);
    migrate(&db.url, &["resolve", "link_authors", "--applied"])
        .await
        .expect(1)
        .stderr_has("not recorded as failed, so there is nothing to resolve");

    // Undone by hand: forget the attempt, and `up` runs it again.
    db.execute(&fail).await;
    db.execute(match db.backend {
        Backend::MySql => "DROP INDEX articles_author_id ON articles",
        _ => "DROP INDEX articles_author_id",
    })
    .await;
    db.execute("ALTER TABLE articles DROP COLUMN author_id")
        .await;
    migrate(&db.url, &["resolve", "link_authors", "--rolled-back"])
        .await
        .expect(0);
    migrate(&db.url, &["status"])
        .await
        .expect(3)
        .stdout_has("pending  link_authors");
    migrate(&db.url, &["up"])
        .await
        .expect(0)
        .stdout_has("applied  link_authors");
    assert!(
        db.columns("articles")
            .await
            .contains(&"author_id".to_owned())
    );
}

async fn drift_and_unknown_revisions_have_their_own_codes(db: TestDb) {
    migrate(&db.url, &["up"]).await.expect(0);
    let checksum = db
        .query(&format!(
            "SELECT checksum FROM {HISTORY} WHERE id = 'add_slug'"
        ))
        .await[0][0]
        .clone()
        .unwrap();
    db.execute(&format!(
        "UPDATE {HISTORY} SET checksum = 'edited' WHERE id = 'add_slug'"
    ))
    .await;
    migrate(&db.url, &["check"])
        .await
        .expect(7)
        .stderr_has("revision `add_slug` was changed after it was applied")
        .stdout_has("check failed: 1 problem (exit 7)");
    migrate(&db.url, &["status"])
        .await
        .expect(7)
        .stdout_has("DRIFT    add_slug");
    migrate(&db.url, &["up"]).await.expect(7);
    db.execute(&format!(
        "UPDATE {HISTORY} SET checksum = '{checksum}' WHERE id = 'add_slug'"
    ))
    .await;

    // A newer binary applied a revision this one does not know.
    db.execute(&format!(
        "UPDATE {HISTORY} SET id = 'from_a_newer_binary' WHERE id = 'link_authors'"
    ))
    .await;
    migrate(&db.url, &["check"])
        .await
        .expect(8)
        .stderr_has("applied revision(s) `from_a_newer_binary` that this binary does not know");
    migrate(&db.url, &["status"])
        .await
        .expect(8)
        .stdout_has("UNKNOWN  from_a_newer_binary");
    migrate(&db.url, &["up"]).await.expect(8);
    migrate(&db.url, &["graph", "--status"])
        .await
        .expect(0)
        .stdout_has("from_a_newer_binary  (in the database, not in this binary)");
}

/// `scheme://user@host/db` with another user and a password.
fn with_credentials(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}:{password}@{host}")
}

#[tokio::test]
async fn the_default_database_is_a_sqlite_file_named_after_the_binary() {
    // Only to find a scratch directory that the test owns.
    let Some(db) = fresh_database(Backend::Sqlite).await else {
        return;
    };
    let dir = std::path::Path::new(&db.name).parent().unwrap().to_owned();
    let run = cli_support::command("", &["status"])
        .env_remove("DATABASE_URL")
        .current_dir(&dir)
        .output()
        .await
        .unwrap();
    assert_eq!(run.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("sqlite://example-app.db?mode=rwc"),
        "{stdout}"
    );
    assert!(
        !dir.join("example-app.db").exists(),
        "status created the file"
    );
}
