//! Expand/contract phases: `up --phase expand` leaves contract work for later.

use super::*;

// Phases. `ops_phase`: an expand revision (`add_nickname`) builds on a
// contract revision (`drop_legacy`).
#[migration(set = "ops_phase")]
async fn create_users(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, legacy VARCHAR(20))")
        .await
}

#[migration(set = "ops_phase", after = create_users)]
async fn add_email(m: &mut Migration<'_>) -> Result<()> {
    m.execute("ALTER TABLE users ADD COLUMN email VARCHAR(80)")
        .await
}

#[destructive(
    reviewed,
    reason = "the release before this one stopped reading legacy"
)]
#[migration(set = "ops_phase", after = add_email, phase = contract)]
async fn drop_legacy(m: &mut Migration<'_>) -> Result<()> {
    m.execute("ALTER TABLE users DROP COLUMN legacy").await
}

#[migration(set = "ops_phase", after = drop_legacy, phase = expand)]
async fn add_nickname(m: &mut Migration<'_>) -> Result<()> {
    m.execute("ALTER TABLE users ADD COLUMN nickname VARCHAR(20)")
        .await
}

/// A destructive revision left in the expand phase: `check` warns.
#[migration(set = "ops_unmarked")]
async fn create_scratch(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE scratch (id INTEGER PRIMARY KEY, junk VARCHAR(20))")
        .await
}

#[destructive(reviewed, reason = "nobody reads junk")]
#[migration(set = "ops_unmarked", after = create_scratch)]
async fn drop_junk(m: &mut Migration<'_>) -> Result<()> {
    m.execute("ALTER TABLE scratch DROP COLUMN junk").await
}

fn applied(history: &[(String, String)]) -> Vec<&str> {
    history.iter().map(|(id, _)| id.as_str()).collect()
}

async fn expand_then_contract(db: TestDb) {
    let migrator = Migrator::new("ops_phase").allow_destructive(true);
    let expand = Up::new().phase(Phase::Expand);
    let error = migrator.up_with(&db.url, &expand).await.unwrap_err();
    assert!(
        matches!(&error, cofferdam::Error::ContractFirst { revision, contract, applied }
            if revision == "add_nickname" && contract == "drop_legacy"
                && applied == &["create_users", "add_email"]),
        "{error:?}"
    );
    let text = cofferdam::report(&error);
    assert!(
        text.contains("builds on contract revision `drop_legacy`"),
        "{text}"
    );
    assert_eq!(
        applied(&db.history("cofferdam_history").await),
        ["create_users", "add_email"]
    );
    assert_eq!(db.columns("users").await, ["email", "id", "legacy"]);

    // The expand run stops at the same place again, applying nothing.
    let again = migrator.up_with(&db.url, &expand).await.unwrap_err();
    assert!(
        matches!(&again, cofferdam::Error::ContractFirst { applied, .. } if applied.is_empty()),
        "{again:?}"
    );
    let status = migrator.status(&db.url).await.unwrap();
    let pending: Vec<(&str, Phase)> = status
        .pending
        .iter()
        .map(|p| (p.id.as_str(), p.phase))
        .collect();
    assert_eq!(
        pending,
        [
            ("drop_legacy", Phase::Contract),
            ("add_nickname", Phase::Expand)
        ]
    );

    let contract = Up::new().phase(Phase::Contract);
    let report = migrator.up_with(&db.url, &contract).await.unwrap();
    let ids: Vec<&str> = report.revisions.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["drop_legacy", "add_nickname"]);
    assert_eq!(db.columns("users").await, ["email", "id", "nickname"]);
    assert!(migrator.status(&db.url).await.unwrap().is_up_to_date());
}

/// Up to the contract revision (the head here), an expand run applies the
/// rest and leaves it, without failing.
async fn expand_defers_contract_work(db: TestDb) {
    let migrator = Migrator::new("ops_phase").allow_destructive(true);
    let expand = Up::new().to("drop_legacy").phase(Phase::Expand);
    let report = migrator.up_with(&db.url, &expand).await.unwrap();
    let ids: Vec<&str> = report.revisions.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["create_users", "add_email"]);
    assert_eq!(report.deferred, ["drop_legacy"]);
    let report = migrator.up_with(&db.url, &expand).await.unwrap();
    assert!(report.revisions.is_empty());
    assert_eq!(report.deferred, ["drop_legacy"]);
    let contract = Up::new().to("drop_legacy").phase(Phase::Contract);
    migrator.up_with(&db.url, &contract).await.unwrap();
    assert_eq!(db.columns("users").await, ["email", "id"]);
}

backend_tests!(expand_then_contract, expand_defers_contract_work);

#[tokio::test]
async fn check_warns_about_destructive_expand_revisions() {
    let report = Migrator::new("ops_unmarked").check(None).await.unwrap();
    assert_eq!(report.not_contract, ["drop_junk"]);
    let report = Migrator::new("ops_phase").check(None).await.unwrap();
    assert!(report.not_contract.is_empty(), "{:?}", report.not_contract);
}
