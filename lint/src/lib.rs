//! Classifies schema operations (SQL text and sea-query builder calls) as safe, destructive or
//! not understood, identically for cofferdam's `#[migration]` macro and its runtime.
//!
//! # Example
//!
//! ```
//! use cofferdam_lint::{classify_sql, Dialect, Risk};
//!
//! let c = classify_sql(r#"ALTER TABLE "articles" DROP COLUMN "body""#, Dialect::Postgres);
//! assert_eq!(c.statements, Some(1));
//! assert_eq!(c.findings[0].risk, Risk::Destructive);
//! assert_eq!(c.findings[0].to_string(), "DROP COLUMN articles.body");
//!
//! assert!(classify_sql("UPDATE articles SET draft = false", Dialect::MySql).is_safe());
//! ```
//!
//! # What is destructive
//!
//! Every `DROP` statement, `TRUNCATE`, `DELETE` without `WHERE`, any `ALTER TABLE ... DROP ...`
//! (column, constraint, foreign key, primary key, index, default, `NOT NULL`, partition) and
//! `CREATE OR REPLACE TABLE` (which drops the old table). Text that cannot be parsed is
//! [`Risk::Unknown`]: it is never assumed safe.
//!
//! # Limits
//!
//! - The classifier reads text; it does not run it. SQL that runs later is not looked into:
//!   function, procedure and trigger bodies, and `DO` blocks (which are [`Risk::Unknown`]).
//!   `EXPLAIN ANALYZE`, `PREPARE`, data-modifying `WITH` clauses and `INSERT ... SELECT` are
//!   looked into, because they run their statement now.
//! - A `WHERE` clause makes a `DELETE` safe whatever it says (`WHERE true` included).
//! - `UPDATE` without `WHERE` is safe: backfills are normal in migrations.
//! - Cascades are not followed: `DROP TABLE a CASCADE` reports `a` only.
//! - The parser is [`sqlparser`] 0.63. When it rejects a text, the text is split on top-level
//!   `;` with the dialect's tokenizer and each statement is classified alone, first with the
//!   dialect's grammar, then with sqlparser's generic grammar over the same tokens (it knows
//!   MariaDB's `ADD COLUMN IF NOT EXISTS`, which sea-query renders for MySQL). A statement both
//!   reject is destructive if it starts with `DROP`, `TRUNCATE` or `ALTER TABLE ... DROP`, and
//!   [`Risk::Unknown`] otherwise.
//! - Known gaps of sqlparser 0.63, all reported as [`Risk::Unknown`] or named by their leading
//!   tokens: `DROP INDEX CONCURRENTLY`, `DO $$ ... $$`, `REINDEX`, `ALTER TABLE ... DETACH
//!   PARTITION ... CONCURRENTLY`, SQLite `PRAGMA name = <keyword>` (`= OFF`, `= WAL`; write
//!   `= 0` or `= 'WAL'`), and sea-query's SQLite rendering of `decimal_len(p, s)` as
//!   `real(p, s)`.
#![forbid(unsafe_code)]

mod builder;
mod classify;
mod leading;
mod split;
mod sql;

use std::fmt;

pub use builder::classify_builder;

/// The SQL dialect a text is written in, which decides how it is tokenized and parsed
/// (quoting, escapes in strings, comments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// PostgreSQL: `"quoted"` identifiers, `$$dollar-quoted$$` strings.
    Postgres,
    /// MySQL and MariaDB: `` `quoted` `` identifiers, backslash escapes in strings, `#` comments.
    MySql,
    /// SQLite.
    Sqlite,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Risk {
    /// Loses data or schema: DROP ..., TRUNCATE, DELETE without WHERE, ALTER TABLE ... DROP ...
    Destructive,
    /// SQL that could not be understood: possibly destructive, never assumed safe.
    Unknown,
}

/// One operation in the classified text that is not safe.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    /// How bad it is.
    pub risk: Risk,
    /// Upper-case operation, e.g. "DROP TABLE", "DROP COLUMN", "DROP CONSTRAINT", "DROP FOREIGN KEY",
    /// "DROP INDEX", "DROP VIEW", "DROP SCHEMA", "DROP DATABASE", "DROP TYPE", "TRUNCATE",
    /// "DELETE without WHERE", or "unparseable SQL" for Risk::Unknown.
    pub operation: String,
    /// The object when known, with identifier quotes removed: "articles", "articles.body"
    /// (table.column), "articles.fk_author" (table.constraint), an index name ("articles.idx"
    /// when the statement names the table, as MySQL's `DROP INDEX idx ON articles` does);
    /// schema-qualified names keep their schema ("public.articles"). None when not known.
    pub object: Option<String>,
}

impl Finding {
    pub(crate) fn destructive(operation: impl Into<String>, object: Option<String>) -> Self {
        Finding {
            risk: Risk::Destructive,
            operation: operation.into(),
            object,
        }
    }

    pub(crate) fn unknown() -> Self {
        Finding {
            risk: Risk::Unknown,
            operation: "unparseable SQL".to_owned(),
            object: None,
        }
    }
}

/// `DROP COLUMN articles.body`, `TRUNCATE articles`, `unparseable SQL`: the operation, then the
/// object when known.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.operation)?;
        if let Some(object) = &self.object {
            write!(f, " {object}")?;
        }
        Ok(())
    }
}

/// What a piece of SQL text holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Classification {
    /// Number of statements found in the text, when it was understood (needed by the runtime to
    /// attribute errors when several statements are sent in one round trip). None if not
    /// understood. Text that is empty or only comments holds `Some(0)`.
    ///
    /// When the parser rejects the text as a whole but its tokenizer accepts it, this is the
    /// number of statements between top-level `;`, even if some of them were not understood
    /// (those carry a finding).
    pub statements: Option<usize>,
    /// Everything that is not safe, in text order: one finding per dropped object.
    pub findings: Vec<Finding>,
}

impl Classification {
    /// True when nothing destructive or unknown was found.
    pub fn is_safe(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Classify SQL text for one backend (run time: the backend is known).
///
/// The text is parsed once with `dialect`; only if that fails is it split into statements.
pub fn classify_sql(sql: &str, dialect: Dialect) -> Classification {
    classify::one_dialect(sql, dialect)
}

/// Classify SQL text whose backend is not known (compile time): a statement is destructive if it is
/// destructive under any dialect that parses it, unknown only if no dialect parses it.
///
/// Every dialect that parses the text is asked, not only the first: the same text can mean
/// different things (`'a\'; DROP TABLE t; -- '` is one string in MySQL, a `DROP TABLE` in
/// PostgreSQL). Findings are merged: each appears as many times as the dialect that reports it
/// most often, in the order of the first dialect (PostgreSQL, MySQL, SQLite) that parses the
/// text. `statements` is the largest count among the dialects that parse it (MySQL runs
/// `/*! ... */` comments as SQL, PostgreSQL and SQLite do not).
pub fn classify_sql_any_dialect(sql: &str) -> Classification {
    classify::any_dialect(sql)
}
