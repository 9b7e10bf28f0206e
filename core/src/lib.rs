//! The engine of [cofferdam](https://docs.rs/cofferdam): the revision
//! graph, the history table, the cross-process lock and the runner, with one
//! module per database engine.
//!
//! Applications depend on `cofferdam`, which re-exports everything here with
//! the `#[migration]` macros, the `migrate` command (`cli` feature) and the
//! drain helper. This crate exists so that `cofferdam-cli` can build on the
//! engine while `cofferdam` re-exports the CLI: cargo forbids a dependency
//! cycle even through optional features.
//!
//! # Example
//!
//! ```rust,no_run
//! # async fn run() -> cofferdam_core::Result<()> {
//! // Revisions are registered by `#[migration]` in the `cofferdam` crate.
//! let status = cofferdam_core::Migrator::new("my_migrations")
//!     .status("sqlite://app.db?mode=rwc")
//!     .await?;
//! println!("{} pending", status.pending.len());
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! | feature    | what it adds |
//! |------------|--------------|
//! | `sqlite`   | SQLite through sqlx (bundled library) |
//! | `postgres` | PostgreSQL, with TLS through rustls (`sslmode`, `sslrootcert`) |
//! | `mysql`    | MySQL and MariaDB, with TLS through rustls (`ssl-mode`, `ssl-ca`) |
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
mod advice;
mod apply;
mod backend;
pub mod backfill;
mod check;
mod error;
mod execute;
mod graph;
mod history;
mod migration;
mod migrator;
mod operator;
mod phase;
mod plan;
mod rebuild;
mod replace;
mod report;
mod retry;
mod revision;
mod session;
mod url;

pub use backend::{Backend, FromAnyRow, RawConnection, Statement, read_only_url};
pub use backfill::{Backfill, BackfillProgress, BackfillReport, Batch};
pub use check::CheckReport;
pub use error::{Error, Result, report};
pub use history::{AppliedRevision, State};
pub use migration::Migration;
pub use migrator::{DEFAULT_HISTORY_TABLE, Migrator};
pub use plan::Down;
pub use report::{
    DestructiveOp, Direction, Event, PendingRevision, Rendered, Report, Resolution, RevisionRun,
    RunningRevision, StampChange, Status, Up,
};
pub use revision::{Phase, Review, Revision, Timeouts};
pub use session::StatementLog;
pub use url::{default_database_url, redact};

/// Parses `500ms`, `2s`, `5m`, `1h`: the durations `#[migration(lock_timeout
/// = "...")]` accepts, for front ends that take the same text.
pub use cofferdam_lint::parse_duration;

/// Cancels a run between revisions: see [`Migrator::stop_on`].
pub use tokio_util::sync::CancellationToken;

/// sea-query, re-exported so migrations build statements with the same version.
pub use sea_query;
/// sqlx, re-exported for [`Migration::connection`] users.
pub use sqlx;

/// What a migrations file needs; `cofferdam::prelude` adds the macros.
pub mod prelude {
    pub use crate::{Backend, Migration, Result};
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
    pub use crate::revision::{
        BoxFuture, MigrationFn, Phase, Review, Revision, RevisionRef, Timeouts,
    };
    pub use inventory;
    pub use std::boxed::Box;
}
