//! The deploy-time key for destructive revisions through the `migrate`
//! command: `check` lists `(revision, operation)` and exits 5, `up` refuses
//! without `--allow-destructive` and changes nothing, and the review reason
//! ends up in `history`.

mod cli_support;

use cli_support::migrate;
use cofferdam_tests::{Backend, TestDb, backend_tests};

const SET: &str = "cli_destructive";
const REASON: &str = "legacy was copied into body in 2024; backup taken";

backend_tests!(
    destructive_revisions_need_the_key,
    the_contract_phase_waits_for_the_rollout
);

async fn destructive_revisions_need_the_key(db: TestDb) {
    migrate(SET, &db.url, &["status"])
        .await
        .expect(3)
        .stdout_has("pending  drop_legacy")
        .stdout_has("destructive: DROP COLUMN notes.legacy")
        .stdout_has("(1 destructive: add --allow-destructive after review)");

    migrate(SET, &db.url, &["check"])
        .await
        .expect(5)
        .stderr_has("1 destructive revision pending, and `migrate up` will refuse it without --allow-destructive:\n  (drop_legacy, DROP COLUMN notes.legacy)")
        .stdout_has("check failed: 1 problem (exit 5)");
    let json = migrate(SET, &db.url, &["check", "--json"])
        .await
        .expect(5)
        .json();
    assert_eq!(
        json["pending_destructive"],
        serde_json::json!([{
            "revision": "drop_legacy",
            "operation": "DROP COLUMN notes.legacy",
            "reason": REASON,
        }])
    );
    migrate(SET, &db.url, &["check", "--allow-destructive"])
        .await
        .expect(0)
        .stdout_has("(drop_legacy, DROP COLUMN notes.legacy)")
        .stdout_has("1 destructive operation(s) allowed");

    migrate(SET, &db.url, &["up"])
        .await
        .expect(5)
        .stderr_has("refusing to apply destructive revisions without --allow-destructive: `drop_legacy` (DROP COLUMN notes.legacy); nothing was changed")
        .stderr_has("then run `migrate up --allow-destructive`");
    assert_eq!(
        db.history("cofferdam_history").await,
        [],
        "nothing was applied, not even the safe revision"
    );

    migrate(SET, &db.url, &["sql"])
        .await
        .expect(0)
        .stdout_has("-- revision drop_legacy (destructive: `up` needs --allow-destructive)")
        .stdout_has("DROP COLUMN");
    if db.backend != Backend::MySql {
        migrate(SET, &db.url, &["up", "--dry-run"])
            .await
            .expect(0)
            .stdout_has(
                "destructive (DROP COLUMN notes.legacy): a real `up` needs --allow-destructive",
            );
    }

    migrate(SET, &db.url, &["up", "--allow-destructive"])
        .await
        .expect(0)
        .stdout_has("applied 2 revisions");
    assert_eq!(db.columns("notes").await, ["body", "id"]);
    migrate(SET, &db.url, &["history"])
        .await
        .expect(0)
        .stdout_has(&format!("destructive: {REASON}"));
    let rows = migrate(SET, &db.url, &["history", "--json"])
        .await
        .expect(0)
        .json();
    assert_eq!(rows[1]["id"], "drop_legacy");
    assert_eq!(rows[1]["destructive"], true);
    assert_eq!(rows[1]["review_reason"], REASON);
    assert_eq!(rows[0]["destructive"], false);
    migrate(SET, &db.url, &["check"]).await.expect(0);
}

/// `up --phase expand` before the rollout leaves the contract revision,
/// `status` and `check` say so, `up --phase contract` applies it; lock
/// limits given on the command line are taken.
async fn the_contract_phase_waits_for_the_rollout(db: TestDb) {
    const PHASED: &str = "cli_phase";
    migrate(SET, &db.url, &["check", "--offline"])
        .await
        .expect(0)
        .stderr_has("warning: destructive revision not in the contract phase: drop_legacy; `migrate up --phase expand` would apply it before the rollout");
    migrate(PHASED, &db.url, &["check", "--offline"])
        .await
        .expect(0)
        .never_shows("not in the contract phase");
    if db.backend != Backend::MySql {
        migrate(PHASED, &db.url, &["up", "--phase", "expand", "--dry-run"])
            .await
            .expect(0)
            .stdout_has("rehearsed create_notes")
            .stdout_has("a real run holds at most 2 database connections");
    }
    migrate(PHASED, &db.url, &["up", "--phase", "expand", "--statement-lock-timeout", "2s", "--statement-timeout", "1m", "--lock-retries", "2"])
        .await
        .expect(0)
        .stdout_has("applied 1 revision")
        .stderr_has("note: left for the contract phase: drop_legacy; run `migrate up --phase contract` after the rollout");
    assert_eq!(db.columns("notes").await, ["body", "id", "legacy"]);
    migrate(PHASED, &db.url, &["status"])
        .await
        .expect(3)
        .stdout_has("contract phase  destructive: DROP COLUMN notes.legacy")
        .stderr_has("note: pending contract work: drop_legacy");
    migrate(PHASED, &db.url, &["up", "--phase", "later"])
        .await
        .expect(2);
    migrate(
        PHASED,
        &db.url,
        &["up", "--phase", "contract", "--allow-destructive"],
    )
    .await
    .expect(0)
    .stdout_has("applied 1 revision");
    assert_eq!(db.columns("notes").await, ["body", "id"]);
}
