//! A squash through the `migrate` command, as an operator sees it: `up`
//! says it recorded the squash instead of running it, `history` marks the
//! row, `graph` tags the squash, and `status` is at head.

mod cli_support;

use cli_support::migrate;
use cofferdam_tests::{TestDb, backend_tests};

const SET: &str = "cli_squash";

backend_tests!(a_database_that_ran_the_replaced_revisions, a_fresh_database);

async fn a_database_that_ran_the_replaced_revisions(db: TestDb) {
    migrate(SET, &db.url, &["up", "--to", "add_label"])
        .await
        .expect(0)
        .stdout_has("applied 2 revisions");
    migrate(SET, &db.url, &["up"])
        .await
        .expect(0)
        .stderr_has("recorded tags_squashed as applied without running: the revisions it replaced ran one by one")
        .stdout_has("applied 1 revision");
    migrate(SET, &db.url, &["history"])
        .await
        .expect(0)
        .stdout_has("squashed (recorded, not run: the revisions it replaces ran)");
    migrate(SET, &db.url, &["status"]).await.expect(0);
    migrate(SET, &db.url, &["check"]).await.expect(0);
    migrate(SET, &db.url, &["up"])
        .await
        .expect(0)
        .stdout_has("nothing to apply");
    migrate(SET, &db.url, &["down", "-n", "2"])
        .await
        .expect(0)
        .stderr_has("forgot tags_squashed (recorded, never run)")
        .stdout_has("reverted 3 revisions");
}

async fn a_fresh_database(db: TestDb) {
    migrate(SET, &db.url, &["up"])
        .await
        .expect(0)
        .stdout_has("applied 2 revisions");
    migrate(SET, &db.url, &["graph", "--status"])
        .await
        .expect(0)
        .stdout_has("squash")
        .stdout_has("replaced  create_tags");
    let history = migrate(SET, &db.url, &["history"]).await.expect(0);
    assert!(
        !history.stdout.contains("create_tags"),
        "{}",
        history.stdout
    );
}
