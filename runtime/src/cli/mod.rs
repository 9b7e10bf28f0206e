//! The `migrate` subcommand an application mounts in its own command line.
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
//! # Exit codes
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | success; for `status`, the database is at head |
//! | 1    | an error: bad input, connection, lock, a failed revision |
//! | 2    | usage error (clap) |
//! | 3    | `status`: revisions are pending |
//! | 4    | a revision is recorded as failed: run `migrate resolve` |
//! | 5    | destructive revisions pending and not allowed |
//! | 6    | the graph has more than one head |
//! | 7    | an applied revision was edited (checksum drift) |
//! | 8    | the database has revisions this binary does not know |
//! | 130  | interrupted by a signal; the current revision finished or rolled back |

mod output;

use crate::{Error, Migrator, Up, default_database_url};
use clap::{Args, Subcommand};
use output::Output;
use std::process::ExitCode;
use std::time::Duration;

/// Exit codes of the `migrate` subcommand.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Any other error.
    pub const ERROR: u8 = 1;
    /// `status`: pending revisions.
    pub const PENDING: u8 = 3;
    /// A revision is recorded as failed.
    pub const FAILED: u8 = 4;
    /// Destructive revisions pending without `--allow-destructive`.
    pub const DESTRUCTIVE: u8 = 5;
    /// More than one head.
    pub const MULTIPLE_HEADS: u8 = 6;
    /// Checksum drift.
    pub const DRIFT: u8 = 7;
    /// Unknown applied revisions.
    pub const UNKNOWN: u8 = 8;
    /// Interrupted by a signal.
    pub const INTERRUPTED: u8 = 130;
}

/// `migrate`: manage the database schema.
#[derive(Debug, Args)]
#[command(after_long_help = EXIT_CODES)]
pub struct MigrateCommand {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    verb: Verb,
}

const EXIT_CODES: &str = "Exit codes: 0 ok (status: at head), 1 error, 2 usage, 3 pending, 4 failed revision, \
5 destructive not allowed, 6 several heads, 7 checksum drift, 8 unknown applied revision, 130 interrupted";

/// Options shared by every verb.
#[derive(Debug, Args)]
struct GlobalArgs {
    /// Database URL [default: a SQLite file named after this binary]
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Seconds to wait for another runner's lock
    #[arg(long, default_value_t = 30, global = true, value_name = "SECONDS")]
    lock_timeout: u64,
    /// History table name
    #[arg(long, default_value = crate::DEFAULT_HISTORY_TABLE, global = true)]
    history_table: String,
    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Print more (repeat for debug logs)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Apply pending revisions
    Up {
        /// Stop at this revision instead of the head
        #[arg(long, value_name = "REV")]
        to: Option<String>,
        /// Allow revisions marked #[destructive(reviewed)]
        #[arg(long)]
        allow_destructive: bool,
        /// Run inside a transaction that is rolled back, printing each statement (PostgreSQL, SQLite)
        #[arg(long)]
        dry_run: bool,
    },
    /// Show applied, pending and failed revisions; exit 3 when not at head
    Status {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
}

impl MigrateCommand {
    /// Runs the verb against `migrator`'s set and returns the process exit code.
    pub async fn run(self, migrator: Migrator) -> ExitCode {
        let out = Output::new(self.global.quiet, self.global.verbose);
        out.init_tracing();
        let url = self
            .global
            .database_url
            .clone()
            .unwrap_or_else(default_database_url);
        let migrator = migrator
            .lock_timeout(Duration::from_secs(self.global.lock_timeout))
            .history_table(&self.global.history_table);
        let code = match self.verb {
            Verb::Up {
                to,
                allow_destructive,
                dry_run,
            } => {
                up(
                    &out,
                    migrator.allow_destructive(allow_destructive),
                    &url,
                    Up {
                        target: to,
                        dry_run,
                    },
                )
                .await
            }
            Verb::Status { json } => status(&out, &migrator, &url, json).await,
        };
        ExitCode::from(code)
    }
}

async fn up(out: &Output, migrator: Migrator, url: &str, options: Up) -> u8 {
    let progress = out.clone();
    let migrator = migrator.on_event(move |event| progress.event(event));
    match migrator.up_with(url, &options).await {
        Ok(report) => {
            out.up_summary(&report, options.dry_run);
            exit::OK
        }
        Err(error) => out.error(&error),
    }
}

async fn status(out: &Output, migrator: &Migrator, url: &str, json: bool) -> u8 {
    match migrator.status(url).await {
        Ok(status) => {
            if json {
                out.json(&status);
            } else {
                out.status(&status);
            }
            if !status.failed.is_empty() {
                exit::FAILED
            } else if !status.unknown.is_empty() {
                exit::UNKNOWN
            } else if !status.drifted.is_empty() {
                exit::DRIFT
            } else if !status.pending.is_empty() {
                exit::PENDING
            } else {
                exit::OK
            }
        }
        Err(error) => out.error(&error),
    }
}

/// The exit code for an error.
pub(crate) fn code_for(error: &Error) -> u8 {
    match error {
        Error::Blocked { .. } => exit::FAILED,
        Error::DestructiveNotAllowed { .. } => exit::DESTRUCTIVE,
        Error::MultipleHeads { .. } => exit::MULTIPLE_HEADS,
        Error::ChecksumMismatch { .. } => exit::DRIFT,
        Error::UnknownApplied { .. } => exit::UNKNOWN,
        Error::Interrupted { .. } => exit::INTERRUPTED,
        Error::RevisionFailed { source, .. } if matches!(**source, Error::Interrupted { .. }) => {
            exit::INTERRUPTED
        }
        _ => exit::ERROR,
    }
}
