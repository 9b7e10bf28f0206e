//! The `migrate` command on a graph with two heads: `up` and `check` refuse
//! with exit 6 and say how to merge, the read verbs still work, and a
//! target reaches one branch.

mod cli_support;

use cli_support::migrate;
use cofferdam_tests::{TestDb, backend_tests};

const SET: &str = "cli_two_heads";

backend_tests!(two_heads_block_up_and_check_until_merged);

async fn two_heads_block_up_and_check_until_merged(db: TestDb) {
    migrate(SET, &db.url, &["up"])
        .await
        .expect(6)
        .stderr_has("the revision graph has 2 heads: left_branch, right_branch")
        .stderr_has("add a merge revision with `after = [left_branch, right_branch]`");
    assert_eq!(db.history("cofferdam_history").await, []);

    let check = migrate(SET, &db.url, &["check"])
        .await
        .expect(6)
        .stdout_has("check failed: 1 problem (exit 6)");
    assert!(check.stderr.contains("2 heads"), "{}", check.stderr);
    migrate(SET, &db.url, &["check", "--offline"])
        .await
        .expect(6);
    let json = migrate(SET, &db.url, &["check", "--json"])
        .await
        .expect(6)
        .json();
    assert_eq!(json["problems"][0]["kind"], "multiple_heads");
    assert_eq!(
        json["heads"],
        serde_json::json!(["left_branch", "right_branch"])
    );

    let heads = migrate(SET, &db.url, &["heads"])
        .await
        .expect(0)
        .stderr_has("`migrate new merge_heads --after left_branch --after right_branch`");
    let ids: Vec<&str> = heads
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(ids, ["left_branch", "right_branch"]);
    let graph = migrate(SET, &db.url, &["graph"]).await.expect(0);
    assert!(
        graph
            .stdout
            .lines()
            .any(|l| l.starts_with("base") && l.contains("root, branch point")),
        "{}",
        graph.stdout
    );
    assert_eq!(
        graph
            .stdout
            .lines()
            .filter(|l| l.contains("<- base  head"))
            .count(),
        2,
        "{}",
        graph.stdout
    );
    migrate(SET, &db.url, &["new", "anything", "--dir", "/nonexistent"])
        .await
        .expect(6)
        .stderr_has("`--after left_branch --after right_branch` to merge them");

    // A named target is unambiguous.
    migrate(SET, &db.url, &["up", "--to", "left_branch"])
        .await
        .expect(0)
        .stdout_has("now at left_branch");
    assert_eq!(
        db.history("cofferdam_history").await,
        [
            ("base".to_owned(), "applied".to_owned()),
            ("left_branch".to_owned(), "applied".to_owned())
        ]
    );
    migrate(SET, &db.url, &["status"])
        .await
        .expect(3)
        .stdout_has("head      left_branch, right_branch")
        .stdout_has("pending  right_branch");
    migrate(SET, &db.url, &["sql"]).await.expect(6);
    migrate(SET, &db.url, &["sql", "--to", "right_branch"])
        .await
        .expect(0)
        .stdout_has("CREATE TABLE right_table");
}
