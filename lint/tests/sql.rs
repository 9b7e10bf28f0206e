//! What `classify_sql` reports for each rule, under each dialect it applies to.

use cofferdam_lint::{Classification, Dialect, Risk, classify_sql, classify_sql_any_dialect};

use Dialect::{MySql, Postgres, Sqlite};

const ALL: &[Dialect] = &[Postgres, MySql, Sqlite];
const PG: &[Dialect] = &[Postgres];
const MY: &[Dialect] = &[MySql];
const LITE: &[Dialect] = &[Sqlite];
const PG_MY: &[Dialect] = &[Postgres, MySql];
const PG_LITE: &[Dialect] = &[Postgres, Sqlite];
const MY_LITE: &[Dialect] = &[MySql, Sqlite];

/// (SQL, dialects, statement count, findings as displayed). "unparseable SQL" is the only
/// finding expected to be `Risk::Unknown`.
type Case = (
    &'static str,
    &'static [Dialect],
    Option<usize>,
    &'static [&'static str],
);

const DESTRUCTIVE: &[Case] = &[
    // DROP statements.
    (
        "DROP TABLE articles",
        ALL,
        Some(1),
        &["DROP TABLE articles"],
    ),
    (
        "DROP TABLE IF EXISTS articles",
        ALL,
        Some(1),
        &["DROP TABLE articles"],
    ),
    (
        "DROP TABLE a, b",
        ALL,
        Some(1),
        &["DROP TABLE a", "DROP TABLE b"],
    ),
    (
        "DROP TABLE a CASCADE",
        PG_MY,
        Some(1),
        &["DROP TABLE a CASCADE"],
    ),
    (
        "drop table public.articles",
        PG,
        Some(1),
        &["DROP TABLE public.articles"],
    ),
    ("DROP VIEW v", ALL, Some(1), &["DROP VIEW v"]),
    (
        "DROP MATERIALIZED VIEW mv",
        PG,
        Some(1),
        &["DROP MATERIALIZED VIEW mv"],
    ),
    ("DROP INDEX idx", PG_LITE, Some(1), &["DROP INDEX idx"]),
    (
        "DROP INDEX idx ON articles",
        MY,
        Some(1),
        &["DROP INDEX articles.idx"],
    ),
    ("DROP SCHEMA s", PG_MY, Some(1), &["DROP SCHEMA s"]),
    ("DROP DATABASE d", PG_MY, Some(1), &["DROP DATABASE d"]),
    ("DROP TYPE mood", PG, Some(1), &["DROP TYPE mood"]),
    ("DROP SEQUENCE seq", PG, Some(1), &["DROP SEQUENCE seq"]),
    (
        "DROP FUNCTION f(integer)",
        PG,
        Some(1),
        &["DROP FUNCTION f"],
    ),
    ("DROP PROCEDURE p", MY, Some(1), &["DROP PROCEDURE p"]),
    (
        "DROP TRIGGER trg ON articles",
        PG,
        Some(1),
        &["DROP TRIGGER articles.trg"],
    ),
    ("DROP TRIGGER trg", MY_LITE, Some(1), &["DROP TRIGGER trg"]),
    (
        "DROP EXTENSION hstore",
        PG,
        Some(1),
        &["DROP EXTENSION hstore"],
    ),
    ("DROP DOMAIN posint", PG, Some(1), &["DROP DOMAIN posint"]),
    (
        "DROP POLICY p ON articles",
        PG,
        Some(1),
        &["DROP POLICY articles.p"],
    ),
    // TRUNCATE, every form.
    ("TRUNCATE articles", PG_MY, Some(1), &["TRUNCATE articles"]),
    (
        "TRUNCATE TABLE articles",
        ALL,
        Some(1),
        &["TRUNCATE articles"],
    ),
    (
        "TRUNCATE a, b RESTART IDENTITY CASCADE",
        PG,
        Some(1),
        &["TRUNCATE a CASCADE", "TRUNCATE b CASCADE"],
    ),
    (
        "TRUNCATE ONLY articles",
        PG,
        Some(1),
        &["TRUNCATE articles"],
    ),
    // DELETE without WHERE.
    (
        "DELETE FROM articles",
        ALL,
        Some(1),
        &["DELETE without WHERE articles"],
    ),
    (
        "DELETE FROM articles RETURNING id",
        PG,
        Some(1),
        &["DELETE without WHERE articles"],
    ),
    (
        "DELETE FROM articles LIMIT 10",
        MY,
        Some(1),
        &["DELETE without WHERE articles"],
    ),
    (
        "DELETE a, c FROM articles a JOIN comments c ON c.article_id = a.id",
        MY,
        Some(1),
        &[
            "DELETE without WHERE articles",
            "DELETE without WHERE comments",
        ],
    ),
    (
        "DELETE FROM articles USING authors",
        PG,
        Some(1),
        &["DELETE without WHERE articles"],
    ),
    // ALTER TABLE ... DROP ...
    (
        "ALTER TABLE articles DROP COLUMN body",
        ALL,
        Some(1),
        &["DROP COLUMN articles.body"],
    ),
    (
        "ALTER TABLE articles DROP body",
        PG_MY,
        Some(1),
        &["DROP COLUMN articles.body"],
    ),
    (
        "ALTER TABLE articles DROP COLUMN IF EXISTS body CASCADE",
        PG,
        Some(1),
        &["DROP COLUMN articles.body CASCADE"],
    ),
    (
        "ALTER TABLE articles DROP COLUMN x, DROP COLUMN y",
        PG_MY,
        Some(1),
        &["DROP COLUMN articles.x", "DROP COLUMN articles.y"],
    ),
    (
        "ALTER TABLE articles ADD COLUMN z int, DROP COLUMN y",
        PG_MY,
        Some(1),
        &["DROP COLUMN articles.y"],
    ),
    (
        "ALTER TABLE articles DROP CONSTRAINT fk_author",
        PG_MY,
        Some(1),
        &["DROP CONSTRAINT articles.fk_author"],
    ),
    (
        "ALTER TABLE articles DROP FOREIGN KEY fk_author",
        MY,
        Some(1),
        &["DROP FOREIGN KEY articles.fk_author"],
    ),
    (
        "ALTER TABLE articles DROP PRIMARY KEY",
        MY,
        Some(1),
        &["DROP PRIMARY KEY articles"],
    ),
    (
        "ALTER TABLE articles DROP INDEX idx",
        MY,
        Some(1),
        &["DROP INDEX articles.idx"],
    ),
    (
        "DELETE FROM t WHERE true",
        PG_LITE,
        Some(1),
        &["DELETE without WHERE t"],
    ),
    (
        "DELETE FROM t WHERE 1 = 1",
        ALL,
        Some(1),
        &["DELETE without WHERE t"],
    ),
    (
        "UPDATE t SET a = 1",
        ALL,
        Some(1),
        &["UPDATE without WHERE t.a"],
    ),
    (
        "UPDATE t SET a = NULL, b = b + 1",
        ALL,
        Some(1),
        &["UPDATE without WHERE t.a"],
    ),
    (
        "ALTER TABLE t ALTER COLUMN c TYPE varchar(20)",
        PG,
        Some(1),
        &["ALTER COLUMN TYPE t.c to VARCHAR(20)"],
    ),
    (
        "ALTER TABLE t ALTER COLUMN c TYPE bigint USING c::bigint",
        PG,
        Some(1),
        &["ALTER COLUMN TYPE t.c to BIGINT USING ..."],
    ),
    (
        "ALTER TABLE t MODIFY COLUMN c int NOT NULL",
        MY,
        Some(1),
        &["ALTER COLUMN TYPE t.c to INT"],
    ),
    (
        "CREATE FUNCTION f() RETURNS void AS $$ DROP TABLE t $$ LANGUAGE sql",
        PG,
        Some(1),
        &["DROP TABLE t (in function f)"],
    ),
    (
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE t; END $$",
        PG,
        Some(1),
        &["TRUNCATE t (in function f)"],
    ),
    // Quoting as sea-query and hand-written migrations use it; findings are unquoted.
    (
        r#"DROP TABLE "articles""#,
        PG_LITE,
        Some(1),
        &["DROP TABLE articles"],
    ),
    (
        r#"ALTER TABLE "articles" DROP COLUMN "body""#,
        PG_LITE,
        Some(1),
        &["DROP COLUMN articles.body"],
    ),
    (
        "DROP TABLE `articles`",
        MY_LITE,
        Some(1),
        &["DROP TABLE articles"],
    ),
    (
        "ALTER TABLE `articles` DROP FOREIGN KEY `fk_author`",
        MY,
        Some(1),
        &["DROP FOREIGN KEY articles.fk_author"],
    ),
    (
        r#"DROP TABLE "we""ird""#,
        PG,
        Some(1),
        &[r#"DROP TABLE we"ird"#],
    ),
    // MariaDB's CREATE OR REPLACE TABLE drops the old table.
    (
        "CREATE OR REPLACE TABLE t (id INT)",
        MY,
        Some(1),
        &["CREATE OR REPLACE TABLE t"],
    ),
    // Statements that run a destructive statement now.
    (
        "WITH d AS (DELETE FROM articles RETURNING id) SELECT count(*) FROM d",
        PG,
        Some(1),
        &["DELETE without WHERE articles"],
    ),
    (
        "EXPLAIN ANALYZE DELETE FROM articles",
        PG,
        Some(1),
        &["DELETE without WHERE articles"],
    ),
    (
        "PREPARE p AS DELETE FROM articles",
        PG,
        Some(1),
        &["DELETE without WHERE articles"],
    ),
    // Several statements, and destructive words hidden among safe ones.
    (
        "CREATE TABLE t (id INT); DROP TABLE u; INSERT INTO t VALUES (1);",
        ALL,
        Some(3),
        &["DROP TABLE u"],
    ),
    (
        "-- drop the old table\nDROP TABLE old_articles; /* and its log */ TRUNCATE TABLE log",
        ALL,
        Some(2),
        &["DROP TABLE old_articles", "TRUNCATE log"],
    ),
    (
        "DROP TABLE a; DROP TABLE a",
        ALL,
        Some(2),
        &["DROP TABLE a", "DROP TABLE a"],
    ),
    (
        "BEGIN; DROP TABLE t; COMMIT;",
        ALL,
        Some(3),
        &["DROP TABLE t"],
    ),
    (
        "IF 1 = 1 THEN DROP TABLE t; END IF",
        ALL,
        Some(1),
        &["DROP TABLE t"],
    ),
    // MySQL runs the SQL inside `/*! ... */` comments; the others ignore it.
    (
        "SELECT 1 /*!40000 ; DROP TABLE x */",
        MY,
        Some(2),
        &["DROP TABLE x"],
    ),
    // The same text read with each dialect's own string escapes.
    (
        "SELECT 'a\\'; DROP TABLE t; -- '",
        PG_LITE,
        Some(2),
        &["DROP TABLE t"],
    ),
];

const SAFE: &[Case] = &[
    ("", ALL, Some(0), &[]),
    ("   \n\t", ALL, Some(0), &[]),
    ("-- DROP TABLE articles", ALL, Some(0), &[]),
    ("/* DROP TABLE articles; */", ALL, Some(0), &[]),
    (";;", ALL, Some(0), &[]),
    ("# DROP TABLE articles", MY, Some(0), &[]),
    ("SELECT 1 -- DROP TABLE articles", ALL, Some(1), &[]),
    (
        "ALTER TABLE stats ADD COLUMN drop_count INT",
        ALL,
        Some(1),
        &[],
    ),
    (
        "UPDATE stats SET drop_count = drop_count + 1",
        ALL,
        Some(1),
        &[],
    ),
    ("CREATE TABLE truncate_log (id INT)", ALL, Some(1), &[]),
    ("INSERT INTO truncate_log VALUES (1)", ALL, Some(1), &[]),
    (
        "INSERT INTO notes VALUES ('please DROP TABLE x')",
        ALL,
        Some(1),
        &[],
    ),
    (
        "INSERT INTO notes VALUES ('a; DROP TABLE x; --')",
        ALL,
        Some(1),
        &[],
    ),
    (
        "INSERT INTO notes VALUES (\"DROP TABLE x\")",
        MY,
        Some(1),
        &[],
    ),
    ("SELECT $$DROP TABLE x$$", PG, Some(1), &[]),
    ("SELECT 'a\\'; DROP TABLE t; -- '", MY, Some(1), &[]),
    ("SELECT 1 /*!40000 ; DROP TABLE x */", PG_LITE, Some(1), &[]),
    ("DELETE FROM t WHERE id = 1", ALL, Some(1), &[]),
    // Breaking, not destructive: warnings.
    (
        "ALTER TABLE articles ALTER COLUMN body DROP DEFAULT",
        PG_MY,
        Some(1),
        &[],
    ),
    (
        "ALTER TABLE articles ALTER COLUMN body DROP NOT NULL",
        PG,
        Some(1),
        &[],
    ),
    ("UPDATE t SET a = lower(b)", ALL, Some(1), &[]),
    ("ALTER TABLE t ALTER COLUMN c TYPE text", PG, Some(1), &[]),
    ("ALTER TABLE t ALTER COLUMN c TYPE bigint", PG, Some(1), &[]),
    (
        "DELETE a FROM articles a JOIN authors b ON a.author_id = b.id WHERE b.banned",
        MY,
        Some(1),
        &[],
    ),
    ("UPDATE t SET a = 1 WHERE id = 2", ALL, Some(1), &[]),
    (
        "CREATE TABLE t (id INT PRIMARY KEY, body TEXT NOT NULL)",
        ALL,
        Some(1),
        &[],
    ),
    ("CREATE INDEX idx ON t (a)", ALL, Some(1), &[]),
    (
        "CREATE UNIQUE INDEX IF NOT EXISTS idx ON t (a, b)",
        ALL,
        Some(1),
        &[],
    ),
    ("CREATE INDEX CONCURRENTLY idx ON t (a)", PG, Some(1), &[]),
    ("ALTER TABLE t ADD COLUMN c INT", ALL, Some(1), &[]),
    ("ALTER TABLE t RENAME COLUMN a TO b", ALL, Some(1), &[]),
    ("ALTER TABLE t RENAME TO u", ALL, Some(1), &[]),
    (
        "ALTER TABLE t ALTER COLUMN c SET NOT NULL",
        PG,
        Some(1),
        &[],
    ),
    (
        "ALTER TABLE t ALTER COLUMN c SET DEFAULT 0",
        PG_MY,
        Some(1),
        &[],
    ),
    (
        "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id) NOT VALID",
        PG,
        Some(1),
        &[],
    ),
    ("ALTER TABLE t MODIFY COLUMN c BIGINT", MY, Some(1), &[]),
    ("INSERT INTO t (a) SELECT a FROM u", ALL, Some(1), &[]),
    ("SELECT * FROM t", ALL, Some(1), &[]),
    ("CREATE VIEW v AS SELECT * FROM t", ALL, Some(1), &[]),
    (
        "CREATE OR REPLACE VIEW v AS SELECT * FROM t",
        PG_MY,
        Some(1),
        &[],
    ),
    ("EXPLAIN DELETE FROM t", PG_MY, Some(1), &[]),
    (
        "CREATE TABLE t (id INT); CREATE INDEX i ON t (id);",
        ALL,
        Some(2),
        &[],
    ),
    // Placeholders, as the runtime sends sea-query's built statements.
    ("DELETE FROM t WHERE id = $1", PG, Some(1), &[]),
    ("DELETE FROM t WHERE id = ?", MY_LITE, Some(1), &[]),
    ("INSERT INTO t (a, b) VALUES (?, ?)", MY_LITE, Some(1), &[]),
    // MariaDB syntax the MySQL grammar rejects and the generic grammar reads.
    (
        "ALTER TABLE `t` ADD COLUMN IF NOT EXISTS `c` INT",
        MY,
        Some(1),
        &[],
    ),
    ("BEGIN; CREATE TABLE t (id INT); COMMIT;", ALL, Some(3), &[]),
    ("PRAGMA foreign_keys = 0", LITE, Some(1), &[]),
    ("REPLACE INTO t VALUES (1)", MY, Some(1), &[]),
    // Stored for later, not run now: bodies are not looked into (a documented limit).
    (
        "CREATE TRIGGER trg AFTER DELETE ON a BEGIN DELETE FROM b WHERE b.a_id = old.id; END;",
        LITE,
        Some(1),
        &[],
    ),
    (
        "CREATE FUNCTION f() RETURNS void AS $$ SELECT 1 $$ LANGUAGE sql",
        PG,
        Some(1),
        &[],
    ),
];

/// Text sqlparser 0.63 rejects: split on `;`, named by its leading tokens when possible.
const UNPARSEABLE: &[Case] = &[
    (
        "DROP INDEX CONCURRENTLY idx",
        PG,
        Some(1),
        &["DROP INDEX idx"],
    ),
    (
        "DROP INDEX CONCURRENTLY IF EXISTS idx; DROP TABLE t",
        PG,
        Some(2),
        &["DROP INDEX idx", "DROP TABLE t"],
    ),
    (
        r#"DROP INDEX CONCURRENTLY "idx_a", "idx_b""#,
        PG,
        Some(1),
        &["DROP INDEX idx_a", "DROP INDEX idx_b"],
    ),
    (
        "DO $$ BEGIN DROP TABLE t; END $$",
        PG,
        Some(1),
        &["unparseable SQL"],
    ),
    (
        "DO $$ BEGIN PERFORM 1; END $$; CREATE TABLE t (id INT); DROP TABLE u",
        PG,
        Some(3),
        &["unparseable SQL", "DROP TABLE u"],
    ),
    // Harmless by their first word, though sqlparser rejects them.
    ("REINDEX TABLE t", PG, Some(1), &[]),
    ("VACUUM ANALYZE t", PG, Some(1), &[]),
    (
        "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
        PG,
        Some(1),
        &[],
    ),
    ("ALTER SEQUENCE s RESTART WITH 100", PG, Some(1), &[]),
    ("ALTER TABLE t SET SCHEMA archive", PG, Some(1), &[]),
    (
        "ALTER TABLE t ALTER COLUMN c SET STATISTICS 100",
        PG,
        Some(1),
        &[],
    ),
    (
        "ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4",
        MY,
        Some(1),
        &["unparseable SQL"],
    ),
    (
        "ALTER TABLE t DETACH PARTITION p CONCURRENTLY",
        PG,
        Some(1),
        &["unparseable SQL"],
    ),
    ("this is not sql", ALL, Some(1), &["unparseable SQL"]),
    // sqlparser 0.63 takes only numbers and strings as PRAGMA values.
    ("PRAGMA foreign_keys = OFF", LITE, Some(1), &[]),
    ("PRAGMA journal_mode = WAL", LITE, Some(1), &[]),
    (
        "INSERT INTO t VALUES (?)",
        PG,
        Some(1),
        &["unparseable SQL"],
    ),
    ("SELECT 'unterminated", ALL, None, &["unparseable SQL"]),
    ("CREATE TABLE t (", ALL, Some(1), &["unparseable SQL"]),
    // Destructive statements the parser rejects, named by their leading tokens.
    ("DROP TABLE t (", ALL, Some(1), &["DROP TABLE t"]),
    (
        "DROP MATERIALIZED VIEW CONCURRENTLY mv",
        PG,
        Some(1),
        &["DROP MATERIALIZED VIEW mv"],
    ),
    (
        "DROP FOREIGN DATA WRAPPER w",
        PG,
        Some(1),
        &["DROP FOREIGN DATA WRAPPER w"],
    ),
    (
        "DROP OWNED BY app_user",
        PG,
        Some(1),
        &["DROP OWNED BY app_user"],
    ),
    ("DROP", ALL, Some(1), &["unparseable SQL"]),
    ("TRUNCATE TABLE t (", ALL, Some(1), &["TRUNCATE t"]),
    (
        "ALTER TABLE t DROP CHECK chk",
        MY,
        Some(1),
        &["DROP CHECK t.chk"],
    ),
    (
        "ALTER TABLE t ALTER COLUMN c DROP IDENTITY",
        PG,
        Some(1),
        &["DROP IDENTITY t.c"],
    ),
    (
        "ALTER TABLE t DROP ROW ACCESS POLICY p",
        ALL,
        Some(1),
        &["DROP ROW t"],
    ),
    (
        "ALTER TABLE t DROP COLUMN a, DETACH PARTITION p CONCURRENTLY",
        PG,
        Some(1),
        &["DROP COLUMN t.a"],
    ),
    (
        "ALTER TABLE ONLY t ADD CHECK (a IN (1, 2)), DROP CONSTRAINT c, ALTER COLUMN b \
         DROP EXPRESSION, DETACH PARTITION p CONCURRENTLY",
        PG,
        Some(1),
        &["DROP CONSTRAINT t.c", "DROP EXPRESSION t.b"],
    ),
];

fn check(cases: &[Case]) {
    let mut failures = Vec::new();
    for &(sql, dialects, statements, findings) in cases {
        for &dialect in dialects {
            let got = classify_sql(sql, dialect);
            if let Err(why) = matches(&got, statements, findings) {
                failures.push(format!("{dialect:?} {sql:?}: {why}\n    got {got:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn matches(
    got: &Classification,
    statements: Option<usize>,
    findings: &[&str],
) -> Result<(), String> {
    let shown: Vec<String> = got.findings.iter().map(ToString::to_string).collect();
    if got.statements != statements {
        return Err(format!(
            "statements {:?}, want {statements:?}",
            got.statements
        ));
    }
    if shown != findings {
        return Err(format!("findings {shown:?}, want {findings:?}"));
    }
    for f in &got.findings {
        let unknown = f.operation == "unparseable SQL";
        if (f.risk == Risk::Unknown) != unknown || (unknown && f.object.is_some()) {
            return Err(format!("wrong risk or object in {f:?}"));
        }
    }
    if got.is_safe() != findings.is_empty() {
        return Err("is_safe disagrees with findings".to_owned());
    }
    Ok(())
}

#[test]
fn destructive_statements() {
    check(DESTRUCTIVE);
}

#[test]
fn safe_statements() {
    check(SAFE);
}

#[test]
fn unparseable_statements() {
    check(UNPARSEABLE);
}

/// A statement valid in every dialect means the same under `classify_sql_any_dialect`.
#[test]
fn any_dialect_agrees_on_portable_sql() {
    let mut failures = Vec::new();
    for cases in [DESTRUCTIVE, SAFE, UNPARSEABLE] {
        for &(sql, dialects, statements, findings) in cases {
            if dialects != ALL {
                continue;
            }
            let got = classify_sql_any_dialect(sql);
            if let Err(why) = matches(&got, statements, findings) {
                failures.push(format!("{sql:?}: {why}\n    got {got:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
