//! Classifies schema operations (SQL text and sea-query builder calls) as safe, destructive,
//! breaking or not understood, identically for cofferdam's `#[migration]` macro and its runtime.
//!
//! # Example
//!
//! ```
//! use cofferdam_lint::{classify_sql, Dialect, Gate, Risk};
//!
//! let c = classify_sql(r#"ALTER TABLE "articles" DROP COLUMN "body""#, Dialect::Postgres);
//! assert_eq!(c.statements, Some(1));
//! assert_eq!(c.findings[0].risk, Risk::Destructive);
//! assert_eq!(c.findings[0].to_string(), "DROP COLUMN articles.body");
//!
//! // A backfill reads other columns: safe. Overwriting every row with a constant is not.
//! assert!(classify_sql("UPDATE articles SET slug = lower(title)", Dialect::MySql).is_safe());
//! assert!(!classify_sql("UPDATE articles SET slug = NULL", Dialect::MySql).is_safe());
//!
//! // A revision is judged as a whole: a scratch table created by it may be dropped.
//! let mut gate = Gate::new(Dialect::Sqlite);
//! assert!(gate.classify("CREATE TABLE scratch (id INTEGER)").is_safe());
//! assert!(gate.classify("DROP TABLE scratch").is_safe());
//! ```
//!
//! # Three classes
//!
//! - **Destructive** ([`Risk::Destructive`], in [`Classification::findings`]): the build fails
//!   and the runtime guard refuses it unless the migration is marked reviewed.
//!   - Data is lost: `DROP TABLE` / `SCHEMA` / `DATABASE`, `DROP COLUMN`, `TRUNCATE`,
//!     `CREATE OR REPLACE TABLE`, `DELETE` with no `WHERE` or a `WHERE` that is always true,
//!     `UPDATE` with no such `WHERE` that sets a column to a constant (`NULL`, `0`, `now()`),
//!     a column type change that can narrow, round or truncate (see below), and a function
//!     created with literal text whose body does any of these when called.
//!   - Schema is lost but no rows are: `DROP INDEX` / `CONSTRAINT` / `FOREIGN KEY` /
//!     `PRIMARY KEY` / `VIEW` / `FUNCTION` / `TYPE` / `TRIGGER` / ... Messages say "drops",
//!     not "loses data".
//! - **Breaking but not destructive** ([`Risk::Breaking`], in [`Classification::warnings`]):
//!   the release still running may fail, but nothing is lost. `ALTER COLUMN ... DROP NOT
//!   NULL`, `DROP DEFAULT`, and renaming a column or a table. Reported, never refused.
//! - **Out of scope**: locking and availability (`CREATE INDEX` without `CONCURRENTLY`, adding
//!   a foreign key without `NOT VALID`, `SET NOT NULL`, a widening type change that rewrites
//!   the table). Those are squawk's and strong_migrations' other rules; this gate is about
//!   data.
//!
//! Text that cannot be parsed is [`Risk::Unknown`]: it is never assumed safe.
//!
//! ## Type changes
//!
//! The classifier does not know a column's current type, so it judges the target: a target
//! that can hold fewer values than a common source is destructive. That is every
//! length- or precision-bounded type (`varchar(n)` with `n` under 255, `char(n)`,
//! `decimal(p, s)`, `timestamp(0)`), every integer narrower than `bigint`, `real`/`float`,
//! `boolean`, `date` and `time`, and any change with `USING`. `text`, unbounded `varchar`,
//! `varchar(255)` and longer, `bigint`, `double precision`, unbounded `numeric`, `timestamp`,
//! `json(b)`, `bytea`/`blob` and unknown (custom) types are not. So widening `varchar(20)` to
//! `varchar(50)` is reported (mark it reviewed), and cutting `text` to `varchar(300)` is not.
//!
//! ## Within one revision
//!
//! A [`Gate`] judges the statements of one revision in order, so that:
//! - a table created by the revision may be dropped by it (a scratch table);
//! - a column added by the revision may be set to a constant without `WHERE` (a backfill);
//! - a SQLite table rebuild (create new, `INSERT INTO new ... SELECT ... FROM old`, drop
//!   old, rename new) drops nothing when it copies every column of the old table. The old
//!   table's columns are known when the revision (or an earlier one judged by the same gate)
//!   created it, or when the caller tells the gate with [`Gate::learn_columns`]; when they are
//!   not known, the rebuild is assumed faithful and listed in [`Classification::rebuilds`]
//!   for the caller to verify.
//!
//! # Limits
//!
//! - The classifier reads text; it does not run it. Trigger bodies and `DO` blocks are not
//!   looked into (`DO` is [`Risk::Unknown`]). A function body written as literal text is.
//!   `EXPLAIN ANALYZE`, `PREPARE`, data-modifying `WITH` clauses and `INSERT ... SELECT` are
//!   looked into, because they run their statement now.
//! - A `WHERE` that is not a constant makes `DELETE` and `UPDATE` safe whatever it selects.
//! - Cascades are not followed: `DROP TABLE a CASCADE` reports `a`, marked `CASCADE`.
//! - The parser is [`sqlparser`] 0.63. When it rejects a text, the text is split on top-level
//!   `;` with the dialect's tokenizer and each statement is classified alone, first with the
//!   dialect's grammar, then with sqlparser's generic grammar over the same tokens. A
//!   statement both reject is read again with a precision after `real` removed (sea-query
//!   renders SQLite's `decimal_len(p, s)` as `real(p, s)`). Then its leading tokens decide:
//!   destructive if it starts with `DROP`, `TRUNCATE` or `ALTER TABLE ... DROP`; safe if it
//!   starts with a harmless word (`PRAGMA`, `SET`, `VACUUM`, `ANALYZE`, `REINDEX`, `REFRESH`,
//!   ...), is an `ALTER TABLE` whose actions only add, rename or set options, or an `ALTER` of
//!   another kind with no `DROP`; [`Risk::Unknown`] otherwise (`DO $$ ... $$`, MySQL
//!   `CONVERT TO CHARACTER SET`).
#![forbid(unsafe_code)]

mod alter;
mod body;
mod builder;
mod classify;
mod dialect;
mod dml;
mod duration;
mod finding;
mod gate;
mod history_entry;
mod leading;
mod rebuild;
mod split;
mod sql;
mod types;

pub use builder::{classify_builder, column_type_narrows, modify_column_warning};
pub use dml::{condition_always_true, value_is_constant};
pub use duration::parse_duration;
pub use finding::{Classification, Finding, Rebuild, Risk};
pub use gate::Gate;
pub use history_entry::history_entry_hash;
pub use rebuild::{RebuildPlan, altered_table, mentions, plan_rebuild};
pub use types::type_narrows;

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

/// Classify SQL text for one backend, alone (no earlier statement of its revision is known).
///
/// The text is parsed once with `dialect`; only if that fails is it split into statements.
/// To judge a revision's statements together, use a [`Gate`].
pub fn classify_sql(sql: &str, dialect: Dialect) -> Classification {
    Gate::new(dialect).classify(sql)
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
    Gate::any_dialect().classify(sql)
}
