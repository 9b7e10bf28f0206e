//! Testing support: a fresh database per test, migrated from a template,
//! and checks that catch real migration bugs. Feature `testing`, re-exported
//! as `cofferdam::testing`, with the `#[cofferdam::test]` attribute.
//!
//! # Example
//!
//! ```rust,ignore
//! use cofferdam::testing::{self, TestDatabase};
//!
//! // One #[test] per engine (`slugs_sqlite`, `slugs_postgres`, ...), each
//! // with a database of its own, migrated to `add_slug`, dropped afterwards.
//! #[cofferdam::test(migrator = my_migrations::migrator, to = add_slug)]
//! async fn slugs(db: TestDatabase) {
//!     db.execute("INSERT INTO articles (id, title, body) VALUES (1, 'A', '')").await;
//! }
//!
//! // The checks every migrations crate can run in one line.
//! #[cofferdam::test(engines = [sqlite, postgres])]
//! async fn stairway(db: TestDatabase) {
//!     testing::stairway(&my_migrations::migrator(), &db).await.unwrap();
//! }
//! ```
//!
//! # What it gives
//!
//! | item | what it does |
//! |------|--------------|
//! | [`TestDatabase`] | an empty or migrated database with a unique `cfdm_*` name, dropped when the handle drops (after a panic too) |
//! | [`stairway`] | every revision up, down, up again; the schema must come back the same |
//! | [`irreversible`] | the revisions that have no `down` |
//! | [`idempotent`] | `up` at head applies nothing and changes nothing |
//! | [`rerun_after_failure`] | a set that failed midway, once fixed, migrates and reaches the schema of a clean run |
//! | [`TestDatabase::migrate_before`] | a data-migration test: seed rows just before a revision, then run it |
//! | [`Snapshot`] | the catalog (tables, columns, indexes, constraints) as a comparable value with a readable diff |
//!
//! # Servers
//!
//! SQLite needs none: each test database is a file in a temporary
//! directory. PostgreSQL and MySQL/MariaDB databases are created on the
//! server named by `COFFERDAM_TEST_POSTGRES` / `COFFERDAM_TEST_MYSQL`, else
//! by `COFFERDAM_TEST_DATABASE_URL` when its scheme is that engine's, else
//! the local default (`postgres://postgres@127.0.0.1:5432/postgres`,
//! `mysql://root@127.0.0.1:3306/test`). The role needs `CREATEDB`.
//!
//! A server that cannot be reached skips the test with a note on stderr,
//! which shows even when the test passes, unless `CI` is set (and not
//! `false`): then every engine is mandatory and the test fails.
//!
//! # Templates (PostgreSQL)
//!
//! A migrated database is not migrated per test. The first test migrates a
//! database once, renames it `cfdmtpl_<digest>` (the digest covers the set,
//! its history table, the target and every revision's id and checksum),
//! and each test clones it with `CREATE DATABASE ... TEMPLATE`, as sqlx's
//! test harness does. A server-wide advisory lock makes concurrent test
//! binaries build one template, and the rename means a template is never
//! seen half-migrated. Templates are kept between runs (that is the
//! saving); an edited migration gets a new digest, so a stale template is
//! never used, only left behind: drop `cfdmtpl_*` databases when you like
//! (this project's CI does after its suite). MySQL and SQLite apply the
//! migrations per test: MySQL has no database copy and SQLite is fast.
//!
//! # Design
//!
//! The helpers live in `cofferdam-core` behind this feature, not in a
//! crate of their own, because they drive the engine's internals (the
//! connection enum, the engines' catalog SQL) that are not public API.
//! Check failures are [`CheckError`]s, apart from the crate's `Error`: a
//! deploy never acts on them, a person reads them in a test's output.
//!
//! # Limits
//!
//! - The snapshot compares columns by name, not position: `ALTER TABLE`
//!   can only append, so a down+up that moves a column is not reported.
//! - SQLite's CHECK constraints live only in the table's SQL text and are
//!   not compared there; PostgreSQL and MySQL compare them.
//! - Only the current schema (PostgreSQL) or database (MySQL) is read; the
//!   history table is left out.
//! - Views, triggers, functions and sequences are not compared yet.

mod checks;
mod data;
mod database;
mod run;
mod snapshot;
mod template;

pub use checks::{CheckError, Stairway, idempotent, irreversible, rerun_after_failure, stairway};
pub use database::TestDatabase;
pub use snapshot::{Column, Constraint, Difference, IndexShape, Snapshot, TableShape};

#[doc(hidden)]
pub use run::{Setup, TestOutcome, run};

use crate::Backend;
use std::io::Write;

/// The environment variable naming an engine's test server.
fn server_variable(backend: Backend) -> String {
    format!("COFFERDAM_TEST_{}", backend.name().to_ascii_uppercase())
}

/// The server on which test databases of `backend` are created (see
/// "Servers" in the module docs); None for SQLite, which needs none.
pub fn server_url(backend: Backend) -> Option<String> {
    backend.engine().default_test_server()?;
    Some(server_and_source(backend).0)
}

/// The server on which test databases of `backend` are created, and where
/// that came from (for the skip note).
fn server_and_source(backend: Backend) -> (String, String) {
    let own = server_variable(backend);
    if let Ok(url) = std::env::var(&own) {
        return (url, own);
    }
    if let Ok(url) = std::env::var("COFFERDAM_TEST_DATABASE_URL")
        && Backend::from_url(&url).is_ok_and(|b| b == backend)
    {
        return (url, "COFFERDAM_TEST_DATABASE_URL".into());
    }
    let default = backend.engine().default_test_server().unwrap_or_default();
    (
        default.to_owned(),
        format!("the default; set {own} to change it"),
    )
}

/// Whether every engine must be reachable: `CI` is set and not `false`.
pub fn engines_required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
}

/// Says, past the test harness's output capture, that a test was skipped;
/// in CI fails it instead.
fn skip(backend: Backend, why: &str) {
    if engines_required() {
        panic!("{backend} is required in CI (CI is set) but {why}");
    }
    let note = format!("note: skipped a {backend} test: {why}\n");
    // The real stderr, so the note shows when the test passes.
    let _ = std::io::stderr().write_all(note.as_bytes());
}

/// A name no other test database has, now or in a concurrent test binary.
fn unique_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "cfdm_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos % 100_000
    )
}
