//! Database schema migrations written as async Rust functions, checked by the
//! compiler, gated against data loss, and applied safely from many replicas.
//!
//! # Example
//!
//! ```rust,no_run
//! use cofferdam::prelude::*;
//!
//! /// Articles, the first table.
//! #[migration]
//! async fn create_articles(m: &mut Migration<'_>) -> Result<()> {
//!     m.exec(
//!         Table::create()
//!             .table("articles")
//!             .col(ColumnDef::new("id").big_integer().primary_key())
//!             .col(ColumnDef::new("title").string_len(200).not_null()),
//!     )
//!     .await
//! }
//!
//! #[migration(after = create_articles)]
//! async fn add_slug(m: &mut Migration<'_>) -> Result<()> {
//!     m.execute("ALTER TABLE articles ADD COLUMN slug VARCHAR(200)").await
//! }
//!
//! // Defines `migrator()` for this crate's revisions.
//! cofferdam::migration_set!(pub fn migrator);
//!
//! # async fn run() -> cofferdam::Result<()> {
//! migrator().up("sqlite://app.db?mode=rwc").await?;
//! # Ok(()) }
//! ```
//!
//! # Autogenerate
//!
//! Declare the intended schema with `#[derive(Model)]`, and `migrate new
//! NAME --autogenerate` writes the migration that reaches it, checked on a
//! shadow database; `migrate check` fails (exit 12) when a model changed
//! without a migration. Generated drops are not marked reviewed, so the
//! build fails until a person has looked.
//!
//! ```rust,ignore
//! #[derive(cofferdam::Model, sqlx::FromRow)]
//! #[model(table = "articles")]
//! struct Article {
//!     #[model(primary_key)]
//!     id: i64,
//!     #[model(len = 200, unique)]
//!     slug: String,
//!     #[model(references(authors.id, on_delete = cascade))]
//!     author_id: i64,
//!     body: Option<String>,
//! }
//! ```
//!
//! [`schema`] holds the normalised schema, the diff and the shadow
//! database; [`Migrator::autogenerate`], [`Migrator::drift`] and
//! [`Migrator::baseline_diff`] drive them.
//!
//! # Mounting the `migrate` command
//!
//! With the `cli` feature, [`cli::MigrateCommand`] is a clap subcommand the
//! application puts in its own command line, so that `myapp migrate up`
//! works:
//!
//! ```rust,ignore
//! #[derive(clap::Subcommand)]
//! enum Command {
//!     Serve,
//!     /// Manage the database schema.
//!     Migrate(cofferdam::cli::MigrateCommand),
//! }
//! // ...
//! Command::Migrate(command) => command.run(my_migrations::migrator()).await,
//! ```
//!
//! # Features
//!
//! | feature    | default | what it adds |
//! |------------|---------|--------------|
//! | `sqlite`   | yes     | SQLite through sqlx (bundled library) |
//! | `postgres` | no      | PostgreSQL |
//! | `mysql`    | no      | MySQL and MariaDB |
//! | `cli`      | yes     | [`cli::MigrateCommand`], the `migrate` subcommand for your binary (crate `cofferdam-cli`) |
//! | `drain`    | yes     | [`drain`], graceful shutdown for tower/axum/hyper servers (crate `cofferdam-drain`) |
//! | `testing`  | no      | [`testing`] and [`macro@test`]: a fresh migrated database per test, stairway and data-migration checks (for dev-dependencies) |
//!
//! **Why `cli` is a default feature.** The user this crate is built for is
//! an application binary that mounts `migrate` (see the design notes in the
//! README): with the default features that is one line of code and no
//! feature to discover. The cost falls on crates that only declare
//! migrations (a `migrations` library shared by an app and its tests):
//! they should write `default-features = false, features = ["postgres"]`,
//! and then compile no clap, serde_json or tracing-subscriber. Nothing
//! global happens merely by linking the `cli` feature: the panic hook,
//! signal handlers and tracing subscriber are installed only while
//! `MigrateCommand::run` runs, and an application's own subscriber is kept.
//!
//! # Crates
//!
//! This crate is a facade. The engine is `cofferdam-core` (re-exported
//! here at the root), the macros are `cofferdam-macros`, the command is
//! `cofferdam-cli` (as [`cli`]) and the drain helper `cofferdam-drain` (as
//! [`drain`]). The split exists because `cofferdam-cli` builds on the engine
//! while this crate re-exports the CLI, and cargo forbids that cycle inside
//! one crate's optional features.
//!
//! # Limits
//!
//! - Revisions are collected with `inventory`: a crate's migrations are only
//!   seen if the crate is linked, which calling its `migrator()` ensures.
//! - MySQL and MariaDB commit DDL implicitly, so a failed revision cannot be
//!   rolled back there; it is left in a visible failed state instead.
//! - Statements sent through [`Migration::connection`] bypass the runtime guard.
//! - The PostgreSQL lock is a session advisory lock: it does not work behind
//!   PgBouncer in transaction-pooling mode; connect directly.

#![forbid(unsafe_code)]

pub use cofferdam_core::*;
pub use cofferdam_macros::{Model, destructive, migration};

/// One `#[test]` per engine with a fresh, migrated database: see
/// [`testing`] and the attribute's own docs.
#[cfg(feature = "testing")]
pub use cofferdam_macros::test;

#[cfg(feature = "cli")]
pub use cofferdam_cli as cli;

#[cfg(feature = "drain")]
pub use cofferdam_drain as drain;

/// What a migrations file needs: `use cofferdam::prelude::*;`.
pub mod prelude {
    pub use cofferdam_core::prelude::*;
    pub use cofferdam_macros::{Model, destructive, migration};
}

// Not public API: the code `#[migration]` generates names
// `::cofferdam::__private::...`, so the path must exist in this crate.
#[doc(hidden)]
pub mod __private {
    pub use cofferdam_core::__private::*;
}
