//! The `migrate` subcommand an application mounts in its own command line,
//! re-exported as `cofferdam::cli` behind cofferdam's `cli` feature.
//!
//! It presents what `cofferdam-core` returns (reports, statuses, errors with
//! their hints) and maps failures to exit codes; it decides nothing about
//! migrations itself.
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
//! # Verbs
//!
//! | verb | what it does | touches the database |
//! |------|--------------|----------------------|
//! | `up [--to REV] [--allow-destructive] [--dry-run]` | apply pending revisions | writes (dry run: rolled back) |
//! | `down [-n N \| --to REV]` | revert with `down` functions | writes |
//! | `status [--json]` | applied, pending, failed; exit 3 when not at head | reads |
//! | `up`/`status` with `--schemas PATTERN \| --fleet-file FILE \| --fleet-query SQL` | the same over a fleet of tenants, `--concurrency N` at once, `--max-connections-per-server N`, `--fail-fast`; a summary table or `--json`; exit 14 when a target failed | as `up`/`status` |
//! | `history [--json]` | applied revisions: when, how long, by whom, review | reads |
//! | `heads [--json]`, `graph [--json] [--status]` | the revision graph | no (`graph --status` reads) |
//! | `check [--json] [--offline] [--allow-destructive]` | the CI gate | reads (`--offline`: no) |
//! | `stamp REV... \| head \| heads \| base` | record the database as being at REV, running nothing; other branches are kept, rows marked stamped | writes history only |
//! | `resolve REV --applied \| --rolled-back [--run-down]` | settle a failed revision fixed by hand, or cleaned up by its own `down` | writes history (`--run-down`: runs the `down`) |
//! | `diff [--json] [--shadow-url URL]` | live drift: the schema against what the applied revisions made | reads (and a shadow database) |
//! | `baseline REV [--json] [--shadow-url URL]` | stamp REV only if the live schema is REV's | writes history only |
//! | `sql [--to REV] [--json]` | print the SQL `up` would run | reads history |
//! | `new NAME [--after REV]... [--dir DIR] [--autogenerate [--shadow-url URL] [--rename TABLE.OLD=NEW]...]` | scaffold a migration file; `--autogenerate` writes the changes the models need (renames: named, or asked on a terminal) | no (`--autogenerate`: a shadow database) |
//! | `squash --to REV [--from START] NAME [--dir DIR] [--shadow-url URL]` | write one revision that builds REV's schema from nothing, `replaces = [...]` REV and its ancestors; reports what it cannot reproduce | no (a shadow database) |
//!
//! # Exit codes
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | success; for `status`, the database is at head; for `check`, all is well |
//! | 1    | an error not listed below: a revision failed and was rolled back, an irreversible revision, a bad URL, a broken graph |
//! | 2    | usage: bad arguments, including a revision id this binary does not know, an empty database URL, an invalid `--history-table`, a fleet file line that is not a target, a fleet budget below what one run holds, a URL through PgBouncer in transaction pooling mode (no stable session for the lock), a server that takes no writes (a standby or read-only replica) |
//! | 3    | `status`: revisions are pending |
//! | 4    | a revision is recorded as failed or unfinished: fix the schema, then `migrate resolve` |
//! | 5    | destructive revisions are pending and `--allow-destructive` was not given |
//! | 6    | the revision graph has more than one head |
//! | 7    | an applied revision was edited after it ran (checksum drift) |
//! | 8    | the database has applied revisions this binary does not know and that do not descend from its own (diverged); with `--strict`, and always for `check`, any unknown applied revision |
//! | 9    | the database could not be reached or refused the login |
//! | 10   | another run holds the migration lock and `--lock-timeout` passed (SQLite: another program held the file busy as long); a run lost its `--lock lease` |
//! | 11   | `status`, `check`: another run is applying a revision right now (it holds the migration lock); not a failure |
//! | 12   | `check`: the models (`#[derive(Model)]`) and the schema the migrations reach disagree |
//! | 13   | `diff`: the live schema differs from what the applied revisions made; `baseline`: it is not the revision's schema, nothing was stamped |
//! | 14   | a fleet run (`--schemas`, `--fleet-file`, `--fleet-query`): some targets failed (`status`: failed or unsettled); each is listed with its error, and in `--json` with its own exit code |
//! | 130  | interrupted by SIGINT/SIGTERM: the running revision finished or rolled back, no later one started |
//!
//! A database *ahead* of this binary (every revision it knows is applied,
//! and the unknown ones descend from them: what an image rollback meets) is
//! not an error: `up` applies nothing, warns and exits 0; `status` says
//! "ahead of this binary by N" and exits 0. `--strict` refuses it (8).
//!
//! `status` and `check` report every problem they find and exit with the code
//! of the first in this order: several heads (6, `check` only), failed (4),
//! running (11), unknown (8), drift (7), then pending destructive (5, `check`) or pending (3,
//! `status`).

#![forbid(unsafe_code)]

mod admin;
mod check;
mod codegen;
pub mod database_url;
mod errors;
mod fleet;
mod graph;
mod live;
mod new;
mod output;
mod read;
mod rename;
mod run;
mod sql;
mod squash;
mod up;

use clap::{Args, Parser, Subcommand};
use cofferdam_core::{LockKind, Migrator};
use output::Output;
use std::process::ExitCode;
use std::time::Duration;

/// Exit codes of the `migrate` subcommand; see the [module docs](self) for when each is used.
pub mod exit {
    /// Success; `status`: at head; `check`: all is well.
    pub const OK: u8 = 0;
    /// An error with no code of its own.
    pub const ERROR: u8 = 1;
    /// Bad arguments, including an unknown revision id (clap uses 2 as well).
    pub const USAGE: u8 = 2;
    /// `status`: pending revisions.
    pub const PENDING: u8 = 3;
    /// A revision is recorded as failed or unfinished.
    pub const FAILED: u8 = 4;
    /// Destructive revisions pending without `--allow-destructive`.
    pub const DESTRUCTIVE: u8 = 5;
    /// More than one head.
    pub const MULTIPLE_HEADS: u8 = 6;
    /// Checksum drift: an applied revision was edited.
    pub const DRIFT: u8 = 7;
    /// Applied revisions unknown to this binary.
    pub const UNKNOWN: u8 = 8;
    /// The database could not be reached, or refused the credentials.
    pub const UNREACHABLE: u8 = 9;
    /// Another run holds the lock (or, on SQLite, another program holds the file busy).
    pub const LOCKED: u8 = 10;
    /// `status`: another run is applying a revision right now.
    pub const RUNNING: u8 = 11;
    /// `check`: the models and the schema the migrations reach disagree.
    pub const MODELS: u8 = 12;
    /// `diff`: the live schema differs from what the applied revisions made;
    /// `baseline`: it is not the schema of the revision named.
    pub const SCHEMA_DRIFT: u8 = 13;
    /// A fleet run (`--schemas`, `--fleet-file`, `--fleet-query`): some
    /// targets failed (`status`: failed or unsettled); each is listed with its error.
    pub const FLEET_FAILED: u8 = 14;
    /// Interrupted by a signal.
    pub const INTERRUPTED: u8 = 130;
}

const EXIT_CODES: &str = "\
Exit codes:
  0    ok (status: at head; check: all is well)
  1    error (a revision failed and was rolled back, bad URL, irreversible revision, ...)
  2    usage (bad arguments, unknown revision id, empty database URL, bad --history-table,
       a URL through PgBouncer in transaction pooling mode without --lock lease,
       a bad fleet file line, a fleet budget below what one run holds,
       a standby or read-only server)
  3    status: revisions are pending
  4    a revision is recorded as failed: fix the schema, then `migrate resolve`
  5    destructive revisions pending without --allow-destructive
  6    the revision graph has more than one head
  7    an applied revision was edited (checksum drift)
  8    the database has applied revisions this binary does not know that do not
       descend from its own (diverged); with --strict, or for `check`, any
       unknown revision (a database merely ahead of this binary: exit 0, warning)
  9    the database could not be reached or refused the login
  10   another run holds the migration lock (raise --lock-timeout or retry);
       SQLite: another program held the database file busy as long; a run lost its lease
  11   status, check: another run is applying a revision right now (not a failure)
  12   check: the models (#[derive(Model)]) and the migrations disagree;
       write the migration with `migrate new NAME --autogenerate`
  13   diff: the live schema differs from what the applied revisions made;
       baseline: the live schema is not the revision's (nothing stamped)
  14   fleet (--schemas, --fleet-file, --fleet-query): some targets failed; each is
       listed with its error (--json: with its own exit code)
  130  interrupted by SIGINT/SIGTERM; the running revision finished or rolled back

Database URL: --database-url, else DATABASE_URL, else DATABASE_URL in ./.env, else a SQLite
file named after this binary. An empty value is a usage error (exit 2).
Examples: postgres://USER:PASSWORD@HOST/DB, mysql://USER:PASSWORD@HOST/DB, sqlite://app.db?mode=rwc";

/// `migrate`: manage the database schema.
///
/// Mount it in the application's own clap command line and call
/// [`run`](MigrateCommand::run) with the application's migrator.
#[derive(Debug, Args)]
#[command(after_long_help = EXIT_CODES)]
pub struct MigrateCommand {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    verb: Verb,
}

/// Options shared by every verb.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
struct GlobalArgs {
    /// Database URL [default: DATABASE_URL, else DATABASE_URL in ./.env, else a SQLite file named after this binary]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Seconds to wait for another run's lock before giving up (exit 10)
    #[arg(long, default_value_t = 30, global = true, value_name = "SECONDS")]
    lock_timeout: u64,
    /// How runs are serialised: `auto` (the engine's session lock; the lease on Galera) or `lease` (a lock row with an expiry, for transaction poolers)
    #[arg(long, value_enum, default_value_t = LockArg::Auto, global = true, value_name = "KIND")]
    lock: LockArg,
    /// Seconds a lease lasts without a heartbeat: a crashed runner's lease is taken over after it (exit 10 for a run that lost its lease)
    #[arg(long, default_value_t = cofferdam_core::DEFAULT_LEASE.as_secs(), global = true, value_name = "SECONDS")]
    lease: u64,
    /// Seconds to wait for the database to accept the connection (exit 9)
    #[arg(long, default_value_t = 10, global = true, value_name = "SECONDS")]
    connect_timeout: u64,
    /// History table name
    #[arg(long, default_value = cofferdam_core::DEFAULT_HISTORY_TABLE, global = true, value_name = "NAME")]
    history_table: String,
    /// Refuse a database ahead of this binary (applied revisions it does not know, built on its own) with exit 8, as a diverged one
    #[arg(long, global = true)]
    strict: bool,
    /// Print only errors (and the JSON of --json)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Print more: -v logs each step, -vv debug logs
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

/// The values of `--lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LockArg {
    /// The engine's session lock; the lease on a Galera cluster.
    Auto,
    /// A lock row with an expiry renewed by a heartbeat.
    Lease,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Apply pending revisions, each in its own transaction
    Up(up::UpArgs),
    /// Revert the last revision (or more) by running its `down` function
    Down(up::DownArgs),
    /// Show applied, pending, running and failed revisions; exit 0 at head, 3 pending, 4 failed, 11 running
    Status(read::StatusArgs),
    /// List applied revisions: when, how long, by whom, destructive and why
    History(read::JsonArg),
    /// Print the head revision(s) of the graph in this binary (no database needed)
    Heads(read::JsonArg),
    /// Print the revision graph, parents first, with merges and heads marked
    Graph(graph::GraphArgs),
    /// The CI gate: one head, no failed, unknown or edited revision, no unreviewed destruction
    Check(check::CheckArgs),
    /// Record the database as being at REV (or head, heads, base) without running anything
    Stamp(admin::StampArgs),
    /// Settle a revision recorded as failed, after fixing the database by hand
    Resolve(admin::ResolveArgs),
    /// Print the SQL that `up` would run, without running it
    Sql(sql::SqlArgs),
    /// Create a new migration file whose parent is the current head
    New(new::NewArgs),
    /// Compare the live schema with what the applied revisions made (hand edits); exit 13 when they differ
    Diff(live::DiffArgs),
    /// Stamp REV on a database built before cofferdam, only if its schema is what the migrations reach at REV
    Baseline(live::BaselineArgs),
    /// Write one revision that builds the schema at REV from nothing and replaces REV and everything it builds on
    Squash(squash::SquashArgs),
}

impl Verb {
    fn json(&self) -> bool {
        match self {
            Verb::Status(a) => a.json,
            Verb::Up(a) => a.json,
            Verb::History(a) | Verb::Heads(a) => a.json,
            Verb::Graph(a) => a.json,
            Verb::Check(a) => a.json,
            Verb::Sql(a) => a.json,
            Verb::Diff(a) => a.json,
            Verb::Baseline(a) => a.json,
            _ => false,
        }
    }

    /// Whether the database URL is not used: a fleet read from a file
    /// names its own targets, so the default URL is not worth a note.
    fn ignores_url(&self) -> bool {
        match self {
            Verb::Up(a) => a.fleet.reads_file(),
            Verb::Status(a) => a.fleet.reads_file(),
            _ => false,
        }
    }
}

/// What every verb needs: where to print, which database, which migrator.
#[derive(Debug)]
struct Ctx {
    out: Output,
    url: String,
    migrator: Migrator,
}

impl MigrateCommand {
    /// Parses the command from arguments, as if they followed `myapp migrate`.
    ///
    /// For tests, and for applications that run a verb from their own code:
    /// `MigrateCommand::try_parse_from(["status", "--json"])`.
    pub fn try_parse_from<I, T>(args: I) -> Result<MigrateCommand, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        #[derive(Debug, Parser)]
        #[command(name = "migrate")]
        struct Wrapper {
            #[command(flatten)]
            command: MigrateCommand,
        }
        let args = std::iter::once(std::ffi::OsString::from("migrate"))
            .chain(args.into_iter().map(Into::into));
        Wrapper::try_parse_from(args).map(|w| w.command)
    }

    /// Runs the verb against `migrator`'s set and returns the process exit code.
    pub async fn run(self, migrator: Migrator) -> ExitCode {
        ExitCode::from(self.exit_code(migrator).await)
    }

    /// Runs the verb and returns the numeric exit code (see [`exit`]).
    pub async fn exit_code(self, migrator: Migrator) -> u8 {
        let resolved = database_url::resolve(self.global.database_url.clone());
        let out = Output::new(
            self.global.quiet,
            self.global.verbose,
            self.verb.json(),
            resolved
                .as_ref()
                .map(|r| r.url.as_str())
                .unwrap_or_default(),
        );
        out.init_tracing();
        let url = match resolved {
            Ok(resolved) => {
                if let Some(note) = resolved.note()
                    && !self.verb.ignores_url()
                {
                    out.note(&note);
                }
                resolved.url
            }
            Err(message) => return out.fail(exit::USAGE, &message),
        };
        let migrator = migrator
            .lock_timeout(Duration::from_secs(self.global.lock_timeout))
            .lock(match self.global.lock {
                LockArg::Auto => LockKind::Auto,
                LockArg::Lease => LockKind::Lease,
            })
            .lease(Duration::from_secs(self.global.lease))
            .connect_timeout(Duration::from_secs(self.global.connect_timeout))
            .history_table(&self.global.history_table)
            .strict(self.global.strict);
        // A bad name is a usage error, found before anything connects.
        if let Err(error) = migrator.check_history_table() {
            return out.error(&error);
        }
        let ctx = Ctx { out, url, migrator };
        match self.verb {
            Verb::Up(args) => up::up(ctx, args).await,
            Verb::Down(args) => up::down(ctx, args).await,
            Verb::Status(args) if args.fleet.is_fleet() => fleet::status(&ctx, &args.fleet).await,
            Verb::Status(args) => match args.fleet.stray() {
                Some(message) => ctx.out.fail(exit::USAGE, message),
                None => read::status(&ctx, args.json).await,
            },
            Verb::History(args) => read::history(&ctx, args.json).await,
            Verb::Heads(args) => read::heads(&ctx, args.json),
            Verb::Graph(args) => graph::graph(&ctx, args).await,
            Verb::Check(args) => check::check(&ctx, args).await,
            Verb::Stamp(args) => admin::stamp(&ctx, args).await,
            Verb::Resolve(args) => admin::resolve(&ctx, args).await,
            Verb::Sql(args) => sql::sql(&ctx, args).await,
            Verb::New(args) => new::new(&ctx, args).await,
            Verb::Diff(args) => live::diff(&ctx, args).await,
            Verb::Baseline(args) => live::baseline(&ctx, args).await,
            Verb::Squash(args) => squash::squash(&ctx, args).await,
        }
    }
}

/// The migration file `migrate new NAME --autogenerate` writes for
/// `found`: a `#[migration]` function `name` after the revisions `after`
/// (Rust paths), with a `down` that undoes it. Drops are not marked
/// reviewed, so the file does not build until a person has looked; what the
/// engine cannot express is left out, said in a comment.
pub fn migration_source(
    name: &str,
    after: &[String],
    found: &cofferdam_core::Autogenerated,
    models_set: &str,
) -> String {
    let changes: Vec<_> = found
        .diff
        .changes
        .iter()
        .filter(|c| c.unexpressible(found.backend).is_none())
        .cloned()
        .collect();
    codegen::render(&codegen::Migration {
        name,
        after,
        changes: &changes,
        renames: &found.diff.rename_candidates,
        left_out: &found.unexpressible,
        source: format!("the models of set `{models_set}`, for {}", found.backend),
        squash: None,
    })
}

impl Ctx {
    /// The URL for verbs that only read. A SQLite URL usually carries
    /// `mode=rwc`, which would create the file just to look at it; when the
    /// file does not exist, read an empty in-memory database instead, so
    /// that a read leaves no trace. A file in a directory that does not
    /// exist is left to fail, as an unreachable database.
    fn read_url(&self) -> String {
        match cofferdam_core::read_only_url(&self.url) {
            Some((url, path)) => {
                self.out.note(&format!(
                    "the SQLite file `{path}` does not exist yet; reading it as an empty database (nothing is created)"
                ));
                url
            }
            None => self.url.clone(),
        }
    }
}
