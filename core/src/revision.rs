//! What `#[migration]` registers: one [`Revision`] per migration function.

use crate::{Migration, Result};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future of a cofferdam result: what a migration function
/// returns, as registered, and what every [`Migration`] method returns.
///
/// The methods box their futures on purpose. A migration's own future then
/// holds one pointer at each `.await`, not the runtime's state machines
/// nested inside it: the crate that defines 200 migrations does not compile
/// (and, after every edit, recompile) the drop glue and debug info of those
/// state machines once per migration. One allocation per statement is
/// nothing next to a round trip to the database.
pub type BoxFuture<'a, T = ()> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// A migration function, as stored in the registry.
pub type MigrationFn = for<'a, 'c> fn(&'a mut Migration<'c>) -> BoxFuture<'a>;

/// The acknowledgement written as `#[destructive(reviewed, reason = "...")]`.
#[derive(Debug, Clone, Copy)]
pub struct Review {
    /// The reason given, if any.
    pub reason: Option<&'static str>,
    /// The destructive operations the compiler found, e.g. `DROP COLUMN articles.body`.
    pub operations: &'static [&'static str],
}

/// One revision of the schema, registered by `#[migration]`.
///
/// Built by the macro; users read it through [`crate::Migrator::revisions`].
#[derive(Debug)]
pub struct Revision {
    /// The stable id stored in the history table (the function name unless `id = "..."`).
    pub id: &'static str,
    /// The migration set: the crate's name unless `set = "..."`.
    pub set: &'static str,
    /// The ids of the parents (`after = ...`); empty for a root.
    pub parents: &'static [&'static str],
    /// The ids of the revisions this one squashes (`replaces = [...]`):
    /// a chain it builds from nothing in one step. Kept as strings so that
    /// the replaced revisions' code can be deleted later; their rows in
    /// the history stay known. Empty for an ordinary revision.
    pub replaces: &'static [&'static str],
    /// A hash of the function's tokens; formatting does not change it.
    pub checksum: &'static str,
    /// `cofferdam_lint::history_entry_hash(id, checksum, "applied")`,
    /// computed by the macro: what this revision adds to the history digest.
    #[doc(hidden)]
    pub entry: u128,
    /// The migration itself.
    pub up: MigrationFn,
    /// The reverse step (`down = ...`), if any.
    pub down: Option<MigrationFn>,
    /// False for revisions that must run outside a transaction.
    pub transaction: bool,
    /// Present when the revision is marked `#[destructive(reviewed)]`.
    pub review: Option<Review>,
    /// How long its statements may wait for locks and run, and how often a
    /// lock timeout is retried (`#[migration(lock_timeout = "2s", ...)]`);
    /// what it leaves unset comes from the [`crate::Migrator`].
    pub timeouts: Timeouts,
    /// When it may run in an expand/contract rollout (`phase = contract`).
    pub phase: Phase,
    /// The Rust path of the function.
    pub function: &'static str,
    /// Source file of the function.
    pub file: &'static str,
    /// Source line of the function.
    pub line: u32,
}

impl Revision {
    /// `file:line` of the function, for messages.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// Whether the revision is marked `#[destructive(reviewed)]`.
    pub fn is_destructive(&self) -> bool {
        self.review.is_some()
    }

    /// Whether it squashes other revisions (`replaces = [...]`).
    pub fn is_squash(&self) -> bool {
        !self.replaces.is_empty()
    }
}

inventory::collect!(Revision);

/// When a revision may run during a rolling deploy.
///
/// `migrate up --phase expand` runs before the new release rolls out, while
/// the old one still serves; `--phase contract` runs after. See
/// [`crate::Up::phase`] for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Phase {
    /// Compatible with the release still running (adds, never removes):
    /// the default.
    #[default]
    Expand,
    /// Only safe once no running release needs what it removes or changes
    /// (`#[migration(phase = contract)]`).
    Contract,
}

impl Phase {
    /// `expand` or `contract`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Expand => "expand",
            Phase::Contract => "contract",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits on how long a revision's statements wait, and how often a
/// statement that gave up waiting for a lock is tried again.
///
/// A DDL statement waiting for a lock queues every later query on that
/// table behind it; a short `lock_timeout` makes it give up instead, and
/// `retries` tries again after a pause, so the application is never blocked
/// for longer than the timeout at a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// How long one statement waits for a lock (PostgreSQL `lock_timeout`,
    /// MySQL/MariaDB `lock_wait_timeout` and `innodb_lock_wait_timeout`,
    /// SQLite's busy timeout). None: the database's own setting.
    pub lock_timeout: Option<Duration>,
    /// How long one statement may run (PostgreSQL `statement_timeout`,
    /// MariaDB `max_statement_time`; not applied on MySQL or SQLite).
    pub statement_timeout: Option<Duration>,
    /// How many times a lock timeout is retried, with a doubling pause
    /// (see [`Timeouts::backoff`]). None: not retried.
    pub retries: Option<u32>,
}

impl Timeouts {
    /// No limit: the database's own settings, no retry.
    pub const NONE: Timeouts = Timeouts {
        lock_timeout: None,
        statement_timeout: None,
        retries: None,
    };

    /// The limits a revision declared (`#[migration(...)]` generates this).
    pub const fn declared(
        lock_timeout_ms: Option<u64>,
        statement_timeout_ms: Option<u64>,
        retries: Option<u32>,
    ) -> Timeouts {
        const fn millis(ms: Option<u64>) -> Option<Duration> {
            match ms {
                Some(ms) => Some(Duration::from_millis(ms)),
                None => None,
            }
        }
        Timeouts {
            lock_timeout: millis(lock_timeout_ms),
            statement_timeout: millis(statement_timeout_ms),
            retries,
        }
    }

    /// Each field of `self`, or of `default` where `self` leaves it unset.
    pub fn or(self, default: Timeouts) -> Timeouts {
        Timeouts {
            lock_timeout: self.lock_timeout.or(default.lock_timeout),
            statement_timeout: self.statement_timeout.or(default.statement_timeout),
            retries: self.retries.or(default.retries),
        }
    }

    /// Whether any limit is set, so that statements must be sent to set it.
    pub fn is_set(&self) -> bool {
        self.lock_timeout.is_some() || self.statement_timeout.is_some()
    }

    /// The pause before retry number `attempt` (1-based): the lock timeout
    /// (or one second), doubled each time, at most 30 s. A pause as long as
    /// the wait lets the transaction holding the lock finish, and lets the
    /// queries that queued behind the failed statement through.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self.lock_timeout.unwrap_or(Duration::from_secs(1));
        let factor = 1u32 << attempt.saturating_sub(1).min(10);
        base.saturating_mul(factor).min(Duration::from_secs(30))
    }
}

/// Implemented by the marker type `#[migration]` puts beside each function, so
/// that `after = path` is checked by the compiler and yields the parent's id.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a #[migration] function",
    label = "`after = ...` must name a function marked #[migration]"
)]
pub trait RevisionRef {
    /// The revision's id.
    const ID: &'static str;
}

/// Every registered revision of `set`, in a stable order.
pub(crate) fn registered(set: &str) -> Vec<&'static Revision> {
    let mut revisions: Vec<&'static Revision> = inventory::iter::<Revision>
        .into_iter()
        .filter(|revision| revision.set == set)
        .collect();
    // inventory gives no order guarantee; sort so that errors and plans are stable.
    revisions.sort_by(|a, b| {
        a.id.cmp(b.id)
            .then(a.file.cmp(b.file))
            .then(a.line.cmp(&b.line))
    });
    revisions
}
