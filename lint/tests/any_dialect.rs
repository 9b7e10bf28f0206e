//! `classify_sql_any_dialect` (compile time, backend unknown): destructive if destructive under
//! any dialect that parses the statement, unknown only if none does.

use cofferdam_lint::{Classification, Risk, classify_sql_any_dialect};

/// (SQL, statement count, findings as displayed).
const CASES: &[(&str, Option<usize>, &[&str])] = &[
    // Dialect-specific syntax is understood without knowing the backend.
    (
        "ALTER TABLE `articles` DROP FOREIGN KEY `fk_author`",
        Some(1),
        &["DROP FOREIGN KEY articles.fk_author"],
    ),
    (
        "DROP INDEX idx ON articles",
        Some(1),
        &["DROP INDEX articles.idx"],
    ),
    (
        "DROP MATERIALIZED VIEW mv",
        Some(1),
        &["DROP MATERIALIZED VIEW mv"],
    ),
    (
        "TRUNCATE a, b RESTART IDENTITY CASCADE",
        Some(1),
        &["TRUNCATE a CASCADE", "TRUNCATE b CASCADE"],
    ),
    (
        "ALTER TABLE `t` ADD COLUMN IF NOT EXISTS `c` INT",
        Some(1),
        &[],
    ),
    ("CREATE INDEX CONCURRENTLY idx ON t (a)", Some(1), &[]),
    ("SELECT $$DROP TABLE x$$", Some(1), &[]),
    // Read as a drop by one dialect, as a string or comment by another: the drop wins.
    (
        "SELECT 'a\\'; DROP TABLE t; -- '",
        Some(2),
        &["DROP TABLE t"],
    ),
    (
        "SELECT 1 /*!40000 ; DROP TABLE x */",
        Some(2),
        &["DROP TABLE x"],
    ),
    // Each dialect that reports a finding counts once, repeats in one text stay.
    (
        "DROP TABLE a, b",
        Some(1),
        &["DROP TABLE a", "DROP TABLE b"],
    ),
    (
        "DROP TABLE a; DROP TABLE a",
        Some(2),
        &["DROP TABLE a", "DROP TABLE a"],
    ),
    // No dialect parses the whole text: split, and each statement tried with every dialect.
    (
        "DROP INDEX CONCURRENTLY idx; ALTER TABLE `t` DROP FOREIGN KEY fk; DROP TABLE u",
        Some(3),
        &["DROP INDEX idx", "DROP FOREIGN KEY t.fk", "DROP TABLE u"],
    ),
    (
        "DO $$ BEGIN DROP TABLE t; END $$; CREATE TABLE t (id INT)",
        Some(2),
        &["unparseable SQL"],
    ),
    (
        "DO $$ BEGIN DROP TABLE t; END $$",
        Some(1),
        &["unparseable SQL"],
    ),
    ("SELECT 'unterminated", None, &["unparseable SQL"]),
    ("", Some(0), &[]),
    ("-- DROP TABLE t", Some(0), &[]),
];

#[test]
fn any_dialect_cases() {
    let mut failures = Vec::new();
    for &(sql, statements, findings) in CASES {
        let got = classify_sql_any_dialect(sql);
        let shown: Vec<String> = got.findings.iter().map(ToString::to_string).collect();
        if got.statements != statements || shown != findings {
            failures.push(format!("{sql:?}\n    got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn findings_display_operation_then_object() {
    let drop =
        &classify_sql_any_dialect("ALTER TABLE articles DROP COLUMN body CASCADE").findings[0];
    assert_eq!(drop.to_string(), "DROP COLUMN articles.body CASCADE");
    assert_eq!(
        drop.describe(),
        "`DROP COLUMN articles.body CASCADE` loses data"
    );
    let index = &classify_sql_any_dialect("DROP INDEX idx").findings[0];
    assert_eq!(
        index.describe(),
        "`DROP INDEX idx` drops schema (no rows are lost)"
    );
    let unknown = &classify_sql_any_dialect("DO $$ BEGIN END $$").findings[0];
    assert_eq!(unknown.risk, Risk::Unknown);
    assert_eq!(unknown.to_string(), "unparseable SQL");
}

#[test]
fn empty_classification_is_safe() {
    assert!(Classification::default().is_safe());
    assert!(!classify_sql_any_dialect("TRUNCATE TABLE t").is_safe());
}
