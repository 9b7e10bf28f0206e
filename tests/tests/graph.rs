//! Graph errors, each with its own message, found before anything touches the
//! database.

use cofferdam::prelude::*;
use cofferdam::{Error, Migrator};
use cofferdam_tests::{TestDb, backend_tests};

#[migration(set = "duplicate", id = "same")]
async fn first_same(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE a (id INTEGER)").await
}

#[migration(set = "duplicate", id = "same", after = first_same)]
async fn second_same(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE b (id INTEGER)").await
}

#[migration(set = "cycle", after = cycle_b)]
async fn cycle_a(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE a (id INTEGER)").await
}

#[migration(set = "cycle", after = cycle_a)]
async fn cycle_b(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE b (id INTEGER)").await
}

#[migration(set = "two_heads")]
async fn root(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE root (id INTEGER)").await
}

#[migration(set = "two_heads", after = root)]
async fn left(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE l (id INTEGER)").await
}

#[migration(set = "two_heads", after = root)]
async fn right(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE r (id INTEGER)").await
}

#[test]
fn duplicate_id_names_both_functions() {
    let error = Migrator::new("duplicate").check_graph().unwrap_err();
    assert!(
        matches!(&error, Error::DuplicateRevision { id, .. } if id == "same"),
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.contains("first_same") && text.contains("second_same"),
        "{text}"
    );
}

#[test]
fn cycle_is_spelled_out() {
    let error = Migrator::new("cycle").check_graph().unwrap_err();
    assert!(matches!(&error, Error::Cycle { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        "the revisions form a cycle: cycle_a -> cycle_b -> cycle_a; remove one of these `after` links"
    );
}

#[test]
fn two_heads_need_a_merge_or_a_target() {
    let error = Migrator::new("two_heads").check_graph().unwrap_err();
    assert_eq!(
        error.to_string(),
        "the revision graph has 2 heads: left, right; add a merge revision with `after = [left, right]` or name a target"
    );
    assert_eq!(
        Migrator::new("two_heads").heads().unwrap(),
        ["left", "right"]
    );
}

#[test]
fn an_empty_set_says_what_to_check() {
    let error = Migrator::new("no_such_set").check_graph().unwrap_err();
    assert!(matches!(error, Error::NoRevisions { .. }), "{error}");
}

/// Graph errors stop `up` before it creates anything in the database.
async fn graph_errors_change_nothing(db: TestDb) {
    for set in ["duplicate", "cycle", "two_heads"] {
        assert!(Migrator::new(set).up(&db.url).await.is_err(), "{set}");
    }
    assert!(db.tables().await.is_empty(), "no history table was created");
    // With a target, one branch of a two-headed graph can be applied.
    let report = Migrator::new("two_heads")
        .up_to(&db.url, "left")
        .await
        .unwrap();
    let ids: Vec<&str> = report.revisions.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["root", "left"]);
}

backend_tests!(graph_errors_change_nothing);
