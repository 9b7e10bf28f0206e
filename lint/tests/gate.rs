//! A revision judged as a whole: what earlier statements did changes what later ones destroy.

use cofferdam_lint::{Dialect, Gate, Risk, classify_sql, condition_always_true, value_is_constant};

fn shown(gate: &mut Gate, sql: &str) -> Vec<String> {
    gate.classify(sql)
        .findings
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_scratch_table_may_be_emptied_and_dropped() {
    for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
        let mut gate = Gate::new(dialect);
        assert!(shown(&mut gate, "CREATE TABLE scratch (id INT)").is_empty());
        assert!(shown(&mut gate, "DELETE FROM scratch").is_empty());
        let drop = gate.classify("DROP TABLE scratch");
        assert!(drop.is_safe() && drop.exempted, "{dialect:?}: {drop:?}");
        // Another table is still reported, and a new revision forgets the scratch table.
        assert_eq!(shown(&mut gate, "DROP TABLE users"), ["DROP TABLE users"]);
        gate.next_revision();
        assert_eq!(
            shown(&mut gate, "DROP TABLE scratch"),
            ["DROP TABLE scratch"]
        );
    }
}

#[test]
fn a_new_column_may_be_backfilled_with_a_constant() {
    let mut gate = Gate::new(Dialect::Postgres);
    assert_eq!(
        shown(&mut gate, "UPDATE users SET score = 0"),
        ["UPDATE without WHERE users.score"]
    );
    gate.classify("ALTER TABLE users ADD COLUMN score integer");
    assert!(shown(&mut gate, "UPDATE users SET score = 0").is_empty());
    assert_eq!(
        shown(&mut gate, "UPDATE users SET name = NULL"),
        ["UPDATE without WHERE users.name"]
    );
}

#[test]
fn a_sqlite_rebuild_is_judged_by_the_columns_it_copies() {
    let rebuild = |columns: &[&str], copy: &str| {
        let mut gate = Gate::new(Dialect::Sqlite);
        if !columns.is_empty() {
            gate.learn_columns("items", columns.iter());
        }
        gate.classify("CREATE TABLE items_new (id INTEGER, name TEXT)");
        gate.classify(copy);
        let drop = gate.classify("DROP TABLE items");
        let renamed = gate.classify("ALTER TABLE items_new RENAME TO items");
        assert!(renamed.warnings.is_empty(), "the new table takes the name");
        drop
    };
    let copy = "INSERT INTO items_new (id, name) SELECT id, name FROM items";
    assert!(rebuild(&["id", "name"], copy).is_safe());
    let lossy = rebuild(&["id", "name", "price"], copy);
    assert_eq!(lossy.findings[0].to_string(), "DROP COLUMN items.price");
    let star = rebuild(
        &["id", "name", "price"],
        "INSERT INTO items_new SELECT * FROM items",
    );
    assert!(star.is_safe());
    // Columns not known: assumed faithful, and listed for the caller to check.
    let unknown = rebuild(&[], copy);
    assert!(unknown.is_safe());
    assert_eq!(unknown.rebuilds[0].table, "items");
    let columns = ["id".to_owned(), "name".to_owned(), "price".to_owned()];
    assert_eq!(unknown.rebuilds[0].lost(&columns), ["price"]);
}

#[test]
fn breaking_changes_are_warnings() {
    let c = classify_sql(
        "ALTER TABLE users ALTER COLUMN bio DROP NOT NULL, ALTER COLUMN plan DROP DEFAULT",
        Dialect::Postgres,
    );
    assert!(c.is_safe());
    let warnings: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        ["DROP NOT NULL users.bio", "DROP DEFAULT users.plan"]
    );
    assert!(c.warnings.iter().all(|w| w.risk == Risk::Breaking));
    assert_eq!(
        c.warnings[0].describe(),
        "`DROP NOT NULL users.bio` breaks the running release but loses no data"
    );
    let renamed = classify_sql(
        "ALTER TABLE users RENAME COLUMN name TO full_name",
        Dialect::Sqlite,
    );
    assert!(renamed.is_safe());
    assert_eq!(
        renamed.warnings[0].to_string(),
        "RENAME COLUMN users.name to full_name"
    );
}

#[test]
fn findings_point_at_their_statement() {
    let sql = "CREATE TABLE a (id INT);\n  DROP TABLE b CASCADE;";
    let c = classify_sql(sql, Dialect::Postgres);
    let span = c.findings[0].span.clone().expect("a span");
    assert_eq!(&sql[span], "DROP TABLE b CASCADE");
    assert_eq!(c.findings[0].to_string(), "DROP TABLE b CASCADE");
    assert!(c.findings[0].hint.is_some());
    let unknown = classify_sql("DO $$ BEGIN END $$", Dialect::Postgres);
    assert_eq!(
        unknown.findings[0].describe(),
        "this SQL could not be parsed, so it is treated as destructive"
    );
}

#[test]
fn sql_fragments_from_builders() {
    assert!(condition_always_true("1 = 1"));
    assert!(condition_always_true("TRUE OR id = 3"));
    assert!(!condition_always_true("id = 3"));
    assert!(!condition_always_true("not sql at all ("));
    assert!(value_is_constant("NULL"));
    assert!(value_is_constant("now()"));
    assert!(!value_is_constant("lower(title)"));
}
