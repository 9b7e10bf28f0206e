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
//! # Features
//!
//! | feature    | default | what it adds |
//! |------------|---------|--------------|
//! | `sqlite`   | yes     | SQLite through sqlx (bundled library) |
//! | `postgres` | no      | PostgreSQL |
//! | `mysql`    | no      | MySQL and MariaDB |
//! | `cli`      | yes     | [`cli::MigrateCommand`], the `migrate` subcommand for your binary |
//! | `drain`    | yes     | [`drain`], graceful shutdown for tower/axum/hyper servers |
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

mod admin;
mod apply;
mod backend;
mod check;
mod error;
mod execute;
mod graph;
mod history;
mod migration;
mod migrator;
mod plan;
mod report;
mod revision;
mod session;
mod url;

#[cfg(feature = "cli")]
pub mod cli;

#[cfg(feature = "drain")]
pub use cofferdam_drain as drain;

pub use backend::{Backend, FromAnyRow, RawConnection, Statement, read_only_url};
pub use check::CheckReport;
pub use cofferdam_macros::{destructive, migration};
pub use error::{Error, Result, report};
pub use history::{AppliedRevision, State};
pub use migration::Migration;
pub use migrator::{DEFAULT_HISTORY_TABLE, Migrator};
pub use plan::Down;
pub use report::{
    DestructiveOp, Direction, Event, PendingRevision, Rendered, Report, Resolution, RevisionRun,
    StampChange, Status, Up,
};
pub use revision::{Review, Revision};
pub use session::StatementLog;
pub use url::{default_database_url, redact};

/// Cancels a run between revisions: see [`Migrator::stop_on`].
pub use tokio_util::sync::CancellationToken;

/// sea-query, re-exported so migrations build statements with the same version.
pub use sea_query;
/// sqlx, re-exported for [`Migration::connection`] users.
pub use sqlx;

/// What a migrations file needs: `use cofferdam::prelude::*;`.
pub mod prelude {
    pub use crate::{Backend, Migration, Result, destructive, migration};
    pub use sea_query::{Alias, ColumnDef, Expr, ExprTrait, ForeignKey, Index, Query, Table};
}

/// Defines `fn migrator() -> cofferdam::Migrator` for the revisions of the
/// crate it is written in. Calling it also makes sure the crate is linked, so
/// that its revisions are collected.
///
/// ```rust,ignore
/// cofferdam::migration_set!(pub fn migrator);
/// ```
#[macro_export]
macro_rules! migration_set {
    ($vis:vis fn $name:ident) => {
        /// The migrator for the revisions defined in this crate.
        $vis fn $name() -> $crate::Migrator {
            $crate::Migrator::new(::core::env!("CARGO_CRATE_NAME"))
        }
    };
}

// Not public API: used by the code `#[migration]` generates.
#[doc(hidden)]
pub mod __private {
    pub use crate::revision::{BoxFuture, MigrationFn, Review, Revision, RevisionRef};
    pub use inventory;
    pub use std::boxed::Box;
}
