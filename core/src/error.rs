//! The one error type of the runtime.
//!
//! Every variant names the revision involved where there is one, and its
//! message ends with what to do next. Database URLs are always redacted.

use crate::backend::Backend;
use crate::report::DestructiveOp;
use std::fmt;

/// The result type of migrations and of the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while checking or applying migrations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database URL could not be understood.
    #[error(
        "invalid database URL `{url}`: {reason}; expected sqlite://PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB"
    )]
    InvalidUrl {
        /// The URL with its password removed.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The URL names a backend whose cargo feature is not enabled.
    #[error(
        "the `{backend}` backend is not compiled in; enable the `{backend}` feature of cofferdam"
    )]
    BackendDisabled {
        /// `sqlite`, `postgres` or `mysql`.
        backend: &'static str,
    },

    /// Reading a database's schema (tables, columns, keys) failed.
    #[error(
        "could not read the schema of {url}; check that the role may read the catalog (information_schema, pg_catalog)"
    )]
    Introspect {
        /// The URL with its password removed.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// The shadow database (where autogenerate applies the migrations)
    /// could not be created or prepared.
    #[error(
        "could not prepare the shadow database {url}: {reason}; pass --shadow-url with a database the role may create and drop"
    )]
    Shadow {
        /// The shadow's URL with its password removed.
        url: String,
        /// What failed.
        reason: String,
    },

    /// The database could not be reached or refused the login.
    #[error(
        "could not connect to {url}; check that the server is running, the URL is right and the credentials are valid"
    )]
    Connect {
        /// The URL with its password removed.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// The connection attempt did not finish in time.
    #[error("timed out after {seconds}s connecting to {url}; check that the server is reachable")]
    ConnectTimeout {
        /// The URL with its password removed.
        url: String,
        /// The time waited.
        seconds: u64,
    },

    /// No revision of the requested set is linked into the binary.
    #[error(
        "no migrations of set `{set}` are linked into this binary; check that the crate holding them is a dependency and that its `migrator()` is the one called"
    )]
    NoRevisions {
        /// The set asked for.
        set: String,
    },

    /// Two revisions share one id.
    #[error(
        "duplicate revision id `{id}` (in {first} and {second}); give one of them another name or `id = \"...\"`"
    )]
    DuplicateRevision {
        /// The shared id.
        id: String,
        /// Where the first one is defined.
        first: String,
        /// Where the second one is defined.
        second: String,
    },

    /// A revision names a parent that is not in its set.
    #[error(
        "revision `{revision}` names parent `{parent}`, which is not in migration set `{set}`; migrations of one set must live in one crate or share `set = \"...\"`"
    )]
    UnknownParent {
        /// The child.
        revision: String,
        /// The missing parent.
        parent: String,
        /// The set being checked.
        set: String,
    },

    /// A squash (`replaces = [...]`) that makes no sense.
    #[error("squash `{squash}` {reason}")]
    InvalidSquash {
        /// The squash.
        squash: String,
        /// What is wrong with it, naming the revisions involved.
        reason: String,
    },

    /// The database ran some of a squash's replaced revisions, and the
    /// code of the others is deleted, so neither path can finish.
    #[error("the database applied part of what squash `{squash}` replaces, but not {}, whose code is deleted; deploy a release that still contains them and run `migrate up` once, then this one", quoted(.missing))]
    UnfinishedSquash {
        /// The squash.
        squash: String,
        /// The replaced revisions neither applied nor in the code.
        missing: Vec<String>,
    },

    /// A squash recorded over revisions that ran one by one cannot be
    /// reverted: the code of some of them (and so their `down`) is deleted.
    #[error("squash `{squash}` was recorded over revisions that ran one by one, so it is reverted with their `down`s, but the code of {} is deleted; nothing was reverted", quoted(.missing))]
    SquashNotReversible {
        /// The squash.
        squash: String,
        /// The applied replaced revisions whose code is deleted.
        missing: Vec<String>,
    },

    /// The parent links form a cycle.
    #[error("the revisions form a cycle: {}; remove one of these `after` links", .cycle.join(" -> "))]
    Cycle {
        /// The revisions on the cycle, the first repeated at the end.
        cycle: Vec<String>,
    },

    /// More than one revision has no child, and no target was named.
    #[error("the revision graph has {} heads: {}; add a merge revision with `after = [{}]` or name a target", .heads.len(), .heads.join(", "), .heads.join(", "))]
    MultipleHeads {
        /// The heads, sorted.
        heads: Vec<String>,
    },

    /// A revision id given on the command line or in the API is not known.
    #[error(
        "unknown revision `{revision}`; run `migrate heads` or `migrate status` to see the known ones"
    )]
    UnknownRevision {
        /// What was asked for.
        revision: String,
    },

    /// The database has applied revisions that the code does not know.
    #[error("the database has applied revision(s) {} that this binary does not know; deploy a binary that contains them, or check that the history table `{table}` belongs to this migration set", quoted(.revisions))]
    UnknownApplied {
        /// The unknown ids.
        revisions: Vec<String>,
        /// The history table read.
        table: String,
    },

    /// An applied revision's code changed after it was applied.
    #[error(
        "revision `{revision}` was changed after it was applied (checksum {recorded} in the database, {current} in the code); revert the edit and write a new revision instead"
    )]
    ChecksumMismatch {
        /// The edited revision.
        revision: String,
        /// The checksum in the history table.
        recorded: String,
        /// The checksum of the code.
        current: String,
    },

    /// A revision is recorded as failed or unfinished; nothing runs until it is resolved.
    #[error("revision `{revision}` is in state `{state}` since {at}{}; the schema may be half-changed: inspect it, fix it by hand, then run `migrate resolve {revision} --applied` or `--rolled-back`", .error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default())]
    Blocked {
        /// The failed revision.
        revision: String,
        /// `started` or `failed`.
        state: String,
        /// When it was started.
        at: String,
        /// The recorded error, if any.
        error: Option<String>,
    },

    /// The lock was not obtained in time.
    #[error(
        "another migration run holds the lock on `{table}`; waited {seconds}s; retry later or raise --lock-timeout"
    )]
    LockTimeout {
        /// The history table whose lock was wanted.
        table: String,
        /// The time waited.
        seconds: u64,
    },

    /// Another program held the database busy (a SQLite file locked by
    /// another connection) for longer than the lock timeout.
    #[error(
        "the database is busy: another program held it locked for {seconds}s (--lock-timeout); nothing more was changed; retry later, raise --lock-timeout, or find the program holding it"
    )]
    DatabaseBusy {
        /// The time waited.
        seconds: u64,
        /// The error the wait ended in.
        #[source]
        source: Box<Error>,
    },

    /// A statement failed inside a migration.
    #[error("statement failed: {statement}")]
    Statement {
        /// The statement (shortened).
        statement: String,
        /// The database's error.
        #[source]
        source: sqlx::Error,
    },

    /// A database operation of the runtime itself failed.
    #[error("{action} failed")]
    Database {
        /// What the runtime was doing.
        action: String,
        /// The database's error.
        #[source]
        source: sqlx::Error,
    },

    /// A revision failed; in a transaction it was rolled back.
    #[error("revision `{revision}` failed{}; {}", if *.rolled_back { " and was rolled back" } else { " and is recorded as failed" }, applied_note(.applied_before))]
    RevisionFailed {
        /// The failing revision.
        revision: String,
        /// Whether its changes were rolled back.
        rolled_back: bool,
        /// The revisions applied earlier in the same run.
        applied_before: Vec<String>,
        /// Outside a transaction on PostgreSQL: the INVALID indexes in the
        /// current schema after the failure (a failed `CREATE INDEX
        /// CONCURRENTLY` leaves one), which a new attempt would trip on.
        invalid_indexes: Vec<InvalidIndex>,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },

    /// A revision outside a transaction failed, and recording the failure
    /// in the history table failed too (the connection was lost, say), so
    /// the history does not say what happened.
    #[error(
        "revision `{revision}` failed, and the failure could not be recorded in the history table ({record_error}); the history table {history}"
    )]
    FailureNotRecorded {
        /// The failing revision.
        revision: String,
        /// What the history table shows for it, as a phrase.
        history: String,
        /// Why recording failed.
        record_error: String,
        /// Whether the revision's own code started running.
        ran: bool,
        /// The revision's own failure.
        #[source]
        source: Box<Error>,
    },

    /// A migration panicked.
    #[error("the migration panicked: {message}")]
    Panicked {
        /// The revision.
        revision: String,
        /// The panic payload, when it is a string.
        message: String,
    },

    /// A migration sent a destructive statement without being marked reviewed.
    #[error(
        "{description}, but the revision is not marked #[destructive(reviewed)], so the statement was not sent: {statement}; {}after a review and a backup, add #[destructive(reviewed, reason = \"...\")] to `{revision}`",
        .hint.as_ref().map(|hint| format!("make the migration non-destructive ({hint}), or ")).unwrap_or_default()
    )]
    UndeclaredDestructive {
        /// The revision.
        revision: String,
        /// The operation found, e.g. `DROP TABLE articles`.
        operation: String,
        /// The finding as the compiler says it, e.g. "`DROP TABLE articles`
        /// loses data" or "this SQL could not be parsed, so it is treated as
        /// destructive".
        description: String,
        /// A standard safer way to do the same thing, when there is one.
        hint: Option<String>,
        /// The statement (shortened).
        statement: String,
    },

    /// Pending revisions are destructive and the caller did not allow it.
    #[error("refusing to apply destructive revisions without --allow-destructive: {}; nothing was changed", .offences.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    DestructiveNotAllowed {
        /// The destructive operations of the pending revisions.
        offences: Vec<DestructiveOp>,
    },

    /// A revision has no `down` function.
    #[error(
        "revision `{revision}` is irreversible: it has no `down = ...` function; nothing was reverted"
    )]
    Irreversible {
        /// The revision.
        revision: String,
    },

    /// `down --to` named a revision that is not applied.
    #[error(
        "revision `{revision}` is not applied, so there is nothing to revert down to; see `migrate status`"
    )]
    NotApplied {
        /// The revision.
        revision: String,
    },

    /// The run stopped at a shutdown signal.
    #[error("interrupted by a shutdown signal before revision `{next}`; {}", applied_note(.applied))]
    Interrupted {
        /// The revisions applied before the signal.
        applied: Vec<String>,
        /// The first revision not started.
        next: String,
    },

    /// An expand run (`up --phase expand`) reached an expand revision that
    /// builds on a contract revision, which the expand phase does not apply.
    #[error("the expand phase stopped before revision `{revision}`: it builds on contract revision `{contract}`, which `--phase expand` does not apply; {}", applied_note(.applied))]
    ContractFirst {
        /// The expand revision that could not run.
        revision: String,
        /// The pending contract revision it builds on.
        contract: String,
        /// The revisions applied before the stop.
        applied: Vec<String>,
    },

    /// sea-query could not render a statement for the engine, and no
    /// rebuild can stand in for it.
    #[error(
        "revision `{revision}` has a statement sea-query cannot render for {backend}: {message}; write it another way for this engine (`m.backend()` tells which)"
    )]
    Unrenderable {
        /// The revision.
        revision: String,
        /// The engine.
        backend: Backend,
        /// What sea-query said.
        message: String,
    },

    /// A SQLite table rebuild (standing in for an `ALTER TABLE` SQLite
    /// cannot do) was refused before anything was sent.
    #[error("revision `{revision}` cannot rebuild SQLite table `{table}`: {reason}")]
    Rebuild {
        /// The revision.
        revision: String,
        /// The table.
        table: String,
        /// Why.
        reason: String,
    },

    /// A backfill was started in a revision that runs in a transaction.
    #[error(
        "revision `{revision}` backfills `{table}` in batches, each committed on its own, so it cannot run inside one transaction; add `transaction = false` to its #[migration]"
    )]
    BackfillInTransaction {
        /// The revision.
        revision: String,
        /// The table.
        table: String,
    },

    /// A backfill stopped before its last batch.
    #[error(
        "the backfill of `{table}` in revision `{revision}` stopped after {rows} rows: {reason}; the batches done are committed and recorded"
    )]
    BackfillIncomplete {
        /// The revision.
        revision: String,
        /// The table.
        table: String,
        /// Rows done so far, by every run.
        rows: u64,
        /// Why it stopped.
        reason: String,
    },

    /// A migration needed the database while SQL was only being rendered.
    #[error("revision `{revision}` reads from the database, so its SQL cannot be rendered offline")]
    Offline {
        /// The revision.
        revision: String,
    },

    /// The database answered NULL when asked for the migration lock (MySQL's
    /// `GET_LOCK` does on an error such as a killed wait).
    #[error("the database answered NULL when asked for the migration lock on `{table}`; retry")]
    LockRefused {
        /// The history table whose lock was wanted.
        table: String,
    },

    /// The connection does not keep one server session, so the migration
    /// lock cannot be held: a pooler (PgBouncer in transaction or statement
    /// pooling mode) hands each transaction to whichever server session is
    /// free. Found before anything was changed.
    #[error(
        "refusing to migrate through a pooler that does not keep one session per connection ({evidence}): this looks like PgBouncer in transaction pooling mode, where the migration lock cannot be held; nothing was changed"
    )]
    UnstableSession {
        /// What showed it, with the server pids involved.
        evidence: String,
    },

    /// The run lost its lease lock (it paused longer than the lease, or
    /// its heartbeat could not reach the database), so it stopped before
    /// sending anything more: another run may hold the lease now.
    #[error(
        "lost the migration lease on `{table}` ({evidence}); another run may hold it now, so this run stopped before sending anything more"
    )]
    LeaseLost {
        /// The history table whose lease was lost.
        table: String,
        /// What showed it.
        evidence: String,
    },

    /// The server takes no writes: a hot standby or a read-only replica.
    /// Found before anything was changed.
    #[error("refusing to migrate a server that takes no writes: {reason}; nothing was changed")]
    ReadOnly {
        /// What the server said (`pg_is_in_recovery()`, `read_only = ON`).
        reason: String,
    },

    /// The lock file beside a SQLite database could not be opened or locked.
    #[error("could not lock {}; check that its directory is writable", .path.display())]
    LockFile {
        /// The lock file.
        path: std::path::PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The history table holds rows this runtime cannot read.
    #[error("history table `{table}` has an unexpected row shape; was it created by another tool?")]
    HistoryShape {
        /// The history table read.
        table: String,
    },

    /// `up --dry-run` on an engine that commits DDL implicitly.
    #[error(
        "--dry-run is not possible on MySQL/MariaDB: DDL commits implicitly, so nothing could be rolled back; use `migrate sql` to review the statements instead"
    )]
    DryRunUnsupported {
        /// The engine of the URL.
        backend: Backend,
    },

    /// `resolve` named a revision that is not recorded as failed or unfinished.
    #[error(
        "revision `{revision}` is not recorded as failed, so there is nothing to resolve; see `migrate status`"
    )]
    NothingToResolve {
        /// The revision.
        revision: String,
    },

    /// `resolve --run-down` named a revision without a `down` function.
    #[error(
        "revision `{revision}` has no `down = ...` function, so there is no cleanup to run; nothing was changed"
    )]
    NoDownToRun {
        /// The revision.
        revision: String,
    },

    /// A line of a fleet file (or a row of a fleet query) is not a target.
    #[error("fleet target on line {line} is not usable: {reason}; write `URL` or `NAME URL`")]
    FleetFile {
        /// The line (or row), from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },

    /// Schemas were asked for on an engine that keeps one database per file.
    #[error(
        "a fleet of schemas needs PostgreSQL (schemas) or MySQL (databases), not {backend}; list the databases in a fleet file instead"
    )]
    FleetUnsupported {
        /// The engine of the URL.
        backend: Backend,
    },

    /// The connection budget per server is smaller than one run needs.
    #[error(
        "a budget of {budget} connections per server is too small: one run holds up to {needed} at once; raise --max-connections-per-server to {needed} or more"
    )]
    FleetBudget {
        /// The budget asked for.
        budget: usize,
        /// What one run may hold at once.
        needed: usize,
    },

    /// The history table name is not a plain identifier.
    #[error(
        "invalid history table name `{0}`: use letters, digits and `_`, optionally `schema.table`"
    )]
    InvalidTableName(String),

    /// A migration's own error.
    #[error("{0}")]
    Custom(String),
}

impl Error {
    /// An error raised by migration code itself, e.g. a failed data check.
    pub fn custom(message: impl fmt::Display) -> Self {
        Error::Custom(message.to_string())
    }

    /// The revision this error is about, when there is one.
    pub fn revision(&self) -> Option<&str> {
        match self {
            Error::RevisionFailed { revision, .. }
            | Error::FailureNotRecorded { revision, .. }
            | Error::ChecksumMismatch { revision, .. }
            | Error::Blocked { revision, .. }
            | Error::Panicked { revision, .. }
            | Error::UndeclaredDestructive { revision, .. }
            | Error::Irreversible { revision, .. }
            | Error::NotApplied { revision, .. }
            | Error::Offline { revision }
            | Error::ContractFirst { revision, .. }
            | Error::BackfillInTransaction { revision, .. }
            | Error::Unrenderable { revision, .. }
            | Error::Rebuild { revision, .. }
            | Error::BackfillIncomplete { revision, .. }
            | Error::NothingToResolve { revision }
            | Error::NoDownToRun { revision }
            | Error::UnknownParent { revision, .. }
            | Error::InvalidSquash {
                squash: revision, ..
            }
            | Error::UnfinishedSquash {
                squash: revision, ..
            }
            | Error::SquashNotReversible {
                squash: revision, ..
            }
            | Error::UnknownRevision { revision } => Some(revision),
            _ => None,
        }
    }
}

/// An index a failed non-transactional build left INVALID: the database
/// keeps it, never uses it for reads, still updates it on writes, and a
/// new attempt to create it fails on its name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct InvalidIndex {
    /// The index, quoted and schema-qualified (`"public"."users_email"`).
    pub name: String,
    /// The statement that drops it without blocking writes
    /// (`DROP INDEX CONCURRENTLY "public"."users_email";`).
    pub drop: String,
}

fn quoted(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("`{id}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn applied_note(applied: &[String]) -> String {
    if applied.is_empty() {
        "no revision was applied before it in this run".to_owned()
    } else {
        format!("applied before it in this run: {}", applied.join(", "))
    }
}

/// Formats an error with its chain of causes on one line: `a: b: c`.
///
/// The CLI prints errors this way; tests use it to see the database's own message.
pub fn report(error: &(dyn std::error::Error + 'static)) -> String {
    if let Some(text) = described(error) {
        return text;
    }
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        // A database error described by its engine already holds what its
        // own causes would add.
        if let Some(text) = described(cause) {
            out.push_str(": ");
            out.push_str(&text);
            break;
        }
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// The engine's description of a driver error, when `error` is one.
fn described(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    error
        .downcast_ref::<sqlx::Error>()
        .and_then(crate::backend::describe)
}
