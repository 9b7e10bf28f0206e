//! Every `example-app migrate` verb on the happy path, against each backend:
//! exit codes, what is printed, and what the database holds afterwards.

mod cli_support;

use cli_support::{ALL, HISTORY, ids, migrate};
use cofferdam_tests::{Backend, TestDb, backend_tests};

backend_tests!(
    reads_leave_a_fresh_database_untouched,
    up_applies_everything_and_the_read_verbs_show_it,
    up_to_down_and_stamp_move_between_revisions,
    dry_run_rehearses_and_changes_nothing,
);

/// The user tables, or none when the SQLite file was never created.
async fn tables(db: &TestDb) -> Vec<String> {
    if db.backend == Backend::Sqlite && !std::path::Path::new(&db.name).exists() {
        return Vec::new();
    }
    db.tables().await
}

async fn reads_leave_a_fresh_database_untouched(db: TestDb) {
    migrate(&db.url, &["status"])
        .await
        .expect(3)
        .stdout_has("0 applied, 4 pending: run `migrate up`")
        .stdout_has("pending  link_authors");
    let status = migrate(&db.url, &["status", "--json"])
        .await
        .expect(3)
        .json();
    let pending: Vec<&str> = status["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(pending, ALL);
    assert_eq!(status["at_head"], false);
    assert_eq!(status["exit_code"], 3);

    migrate(&db.url, &["history"])
        .await
        .expect(0)
        .stdout_has("no revision has been applied");
    migrate(&db.url, &["sql"])
        .await
        .expect(0)
        .stdout_has("-- revision create_articles")
        .stdout_has("CREATE TABLE")
        .stdout_has("-- revision link_authors");
    let sql = migrate(&db.url, &["sql", "--json"]).await.expect(0).json();
    let rendered: Vec<&str> = sql["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rendered, ALL);
    assert_eq!(sql["unrenderable"], serde_json::json!([]));
    migrate(&db.url, &["graph", "--status"])
        .await
        .expect(0)
        .stdout_has("pending  link_authors");
    let check = migrate(&db.url, &["check"])
        .await
        .expect(0)
        .stdout_has("ok: one head (link_authors)");
    // A SQLite file that does not exist yet gets a note; nothing alarming.
    assert!(
        !check.stderr.contains("error") && !check.stderr.contains("warning"),
        "check is calm when all is well: {}",
        check.stderr
    );

    assert_eq!(
        tables(&db).await,
        Vec::<String>::new(),
        "status, history, sql, graph and check create nothing"
    );
}

async fn up_applies_everything_and_the_read_verbs_show_it(db: TestDb) {
    let up = migrate(&db.url, &["up"])
        .await
        .expect(0)
        .stdout_has("applied 4 revisions in")
        .stdout_has("now at link_authors");
    let order: Vec<usize> = ALL
        .iter()
        .map(|id| up.stdout.find(&format!("applied  {id} (")).expect(id))
        .collect();
    assert!(
        order.is_sorted(),
        "one line per revision, in order:\n{}",
        up.stdout
    );
    assert_eq!(ids(&db.history(HISTORY).await), ALL);
    assert!(
        db.history(HISTORY)
            .await
            .iter()
            .all(|(_, state)| state == "applied")
    );
    let tables = db.tables().await;
    for table in ["articles", "authors", HISTORY] {
        assert!(tables.contains(&table.to_owned()), "{table} in {tables:?}");
    }

    migrate(&db.url, &["status"])
        .await
        .expect(0)
        .stdout_has("current   link_authors")
        .stdout_has("at head: 4 revisions applied, nothing pending");
    let status = migrate(&db.url, &["status", "--json"])
        .await
        .expect(0)
        .json();
    assert_eq!(status["current"], serde_json::json!(["link_authors"]));
    assert_eq!(status["at_head"], true);

    let history = migrate(&db.url, &["history"]).await.expect(0);
    let lines: Vec<&str> = history.stdout.lines().skip(1).collect();
    assert_eq!(lines.len(), 4, "{}", history.stdout);
    for (line, id) in lines.iter().zip(ALL) {
        assert!(line.contains(id) && line.contains(" ms"), "{line}");
    }
    let rows = migrate(&db.url, &["history", "--json"])
        .await
        .expect(0)
        .json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|r| r["applied_by"].as_str().is_some_and(|by| by.contains('@')))
    );
    assert!(
        rows.iter()
            .all(|r| r["duration_ms"].as_i64().is_some_and(|ms| ms >= 0))
    );

    migrate(&db.url, &["heads"])
        .await
        .expect(0)
        .stdout_has("link_authors  (example_migrations::link_authors");
    let heads = migrate(&db.url, &["heads", "--json"])
        .await
        .expect(0)
        .json();
    assert_eq!(heads[0]["id"], "link_authors");
    let graph = migrate(&db.url, &["graph"]).await.expect(0);
    let merge = graph
        .stdout
        .lines()
        .find(|l| l.starts_with("link_authors"))
        .expect("a line for link_authors");
    assert!(
        merge.contains("<- add_slug, create_authors") && merge.contains("merge, head"),
        "{merge}"
    );
    let graph = migrate(&db.url, &["graph", "--json"])
        .await
        .expect(0)
        .json();
    let merge = graph
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "link_authors")
        .unwrap();
    assert_eq!(merge["merge"], true);
    assert_eq!(
        merge["parents"],
        serde_json::json!(["add_slug", "create_authors"])
    );
    migrate(&db.url, &["graph", "--status"])
        .await
        .expect(0)
        .stdout_has("applied  link_authors");

    let check = migrate(&db.url, &["check"])
        .await
        .expect(0)
        .stdout_has("ok: one head (link_authors); database at head, nothing pending");
    assert!(check.stderr.is_empty(), "{}", check.stderr);
    migrate(&db.url, &["up"])
        .await
        .expect(0)
        .stdout_has("already at link_authors; nothing to apply");
}

async fn up_to_down_and_stamp_move_between_revisions(db: TestDb) {
    migrate(&db.url, &["up", "--to", "add_slug"])
        .await
        .expect(0)
        .stdout_has("now at add_slug");
    assert_eq!(
        ids(&db.history(HISTORY).await),
        ["create_articles", "add_slug"]
    );
    assert!(db.columns("articles").await.contains(&"slug".to_owned()));
    migrate(&db.url, &["status"])
        .await
        .expect(3)
        .stdout_has("current   add_slug");

    migrate(&db.url, &["up"]).await.expect(0);
    migrate(&db.url, &["down"])
        .await
        .expect(0)
        .stdout_has("reverted link_authors")
        .stdout_has("reverted 1 revision in")
        .stdout_has("now at add_slug, create_authors");
    assert_eq!(ids(&db.history(HISTORY).await), ALL[..3]);
    assert!(
        !db.columns("articles")
            .await
            .contains(&"author_id".to_owned())
    );

    migrate(&db.url, &["down", "-n", "2"])
        .await
        .expect(0)
        .stdout_has("reverted create_authors")
        .stdout_has("reverted add_slug")
        .stdout_has("now at create_articles");
    assert_eq!(ids(&db.history(HISTORY).await), ["create_articles"]);
    assert!(!db.tables().await.contains(&"authors".to_owned()));
    migrate(&db.url, &["down", "--to", "create_articles"])
        .await
        .expect(0)
        .stdout_has("nothing to revert");

    // Stamping records without running: the history says link_authors, the schema does not change.
    migrate(&db.url, &["stamp", "link_authors"])
        .await
        .expect(0)
        .stdout_has("stamped add_slug")
        .stdout_has("nothing was run");
    assert_eq!(ids(&db.history(HISTORY).await), ALL);
    assert!(
        !db.tables().await.contains(&"authors".to_owned()),
        "stamp ran nothing"
    );
    // Stamping back along one line removes what builds on it; the other
    // branch (create_authors, a root of its own) is kept.
    migrate(&db.url, &["stamp", "create_articles"])
        .await
        .expect(0)
        .stdout_has("removed link_authors")
        .stderr_has("runs add_slug, link_authors again");
    assert_eq!(
        ids(&db.history(HISTORY).await),
        ["create_articles", "create_authors"]
    );
    migrate(&db.url, &["up"])
        .await
        .expect(0)
        .stdout_has("applied 2 revisions");
    assert!(
        db.columns("articles")
            .await
            .contains(&"author_id".to_owned())
    );
    // create_authors is still recorded as stamped, so it was not run.
    assert!(!db.tables().await.contains(&"authors".to_owned()));
    migrate(&db.url, &["history"])
        .await
        .expect(0)
        .stdout_has("stamped (recorded, not run)");
}

async fn dry_run_rehearses_and_changes_nothing(db: TestDb) {
    if db.backend == Backend::MySql {
        migrate(&db.url, &["up", "--dry-run"])
            .await
            .expect(1)
            .stderr_has("--dry-run is not possible on MySQL/MariaDB: DDL commits implicitly")
            .stderr_has("`migrate sql`");
        assert_eq!(tables(&db).await, Vec::<String>::new());
        return;
    }
    let run = migrate(&db.url, &["up", "--dry-run"])
        .await
        .expect(0)
        .stdout_has("rehearsed create_articles (")
        .stdout_has("CREATE TABLE")
        .stdout_has("dry run: 4 revisions ran in")
        .stdout_has("nothing was changed");
    // Each statement is printed with its own duration.
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains(" ms  ALTER TABLE") && l.contains("slug")),
        "{}",
        run.stdout
    );
    assert_eq!(
        tables(&db).await,
        Vec::<String>::new(),
        "not even the history table is left"
    );

    migrate(&db.url, &["up", "--to", "add_slug"])
        .await
        .expect(0);
    let run = migrate(&db.url, &["up", "--dry-run"])
        .await
        .expect(0)
        .stdout_has("rehearsed create_authors")
        .stdout_has("rehearsed link_authors")
        .stdout_has("dry run: 2 revisions ran");
    assert!(!run.stdout.contains("rehearsed add_slug"), "{}", run.stdout);
    assert_eq!(
        ids(&db.history(HISTORY).await),
        ["create_articles", "add_slug"]
    );
    assert!(!db.tables().await.contains(&"authors".to_owned()));
}

/// Off a terminal: no colour codes, `-q` silences success, `--help` documents the exit codes.
#[tokio::test]
async fn plain_output_off_a_terminal() {
    let Some(db) = cofferdam_tests::fresh_database(Backend::Sqlite).await else {
        return;
    };
    let up = migrate(&db.url, &["up", "-q"]).await.expect(0);
    assert_eq!(up.stdout, "", "-q prints nothing on success");
    for args in [
        &["status"][..],
        &["history"],
        &["graph", "--status"],
        &["check"],
    ] {
        let run = migrate(&db.url, args).await.expect(0);
        assert!(
            !run.stdout.contains('\x1b') && !run.stderr.contains('\x1b'),
            "no colour off a terminal: {run:?}"
        );
    }
    let help = migrate(&db.url, &["--help"]).await.expect(0);
    for line in [
        "Exit codes:",
        "3    status: revisions are pending",
        "9    the database could not be reached",
        "130  interrupted",
    ] {
        assert!(
            help.stdout.contains(line),
            "--help lacks {line:?}:\n{}",
            help.stdout
        );
    }
    let status = migrate(&db.url, &["status", "--help"]).await.expect(0);
    assert!(
        status
            .stdout
            .contains("exit 0 at head, 3 pending, 4 failed"),
        "{}",
        status.stdout
    );
}
