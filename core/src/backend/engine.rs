//! The [`Engine`] trait: what differs between engines, as facts and SQL
//! text. Why a trait object and not generics: see the module docs of
//! [`crate::backend`].

use crate::Result;
use crate::revision::Timeouts;
use std::time::Duration;

/// How an engine serialises migration runs.
#[derive(Debug)]
pub(crate) enum LockMethod {
    /// A lock held by the database session: `acquire` answers true/1 when
    /// it got the lock, false/0 when another session holds it, NULL on error.
    Session { acquire: String, release: String },
    /// An OS lock on a file beside the database (see [`Engine::lock_file`]).
    File,
}

/// The catalog queries and statements of a table rebuild (SQLite), for
/// one table.
#[derive(Debug)]
pub(crate) struct RebuildSql {
    /// Answers the table's `CREATE TABLE` text, one row.
    pub definition: String,
    /// Answers `type, name, sql` of its indexes and triggers.
    pub dependents: String,
    /// Answers the tables whose foreign keys to it would act (cascade, set
    /// null or default) when its rows are deleted by the drop.
    pub acting_children: String,
    /// Answers the rows that break a foreign key of the table.
    pub foreign_key_check: String,
    /// Defers foreign key checks to the commit, inside a transaction.
    pub defer_foreign_keys: &'static str,
    /// Turns foreign keys off, outside a transaction.
    pub foreign_keys_off: &'static str,
    /// Turns them on again.
    pub foreign_keys_on: &'static str,
    /// Keeps the old rows aside, in a table holding them as they are.
    pub hold: fn(&str, &str) -> String,
}

/// What differs between engines, as facts and SQL text. See the module docs.
pub(crate) trait Engine: Send + Sync + std::fmt::Debug {
    /// The lower-case name, as in cargo features.
    fn name(&self) -> &'static str;

    /// The classifier's dialect.
    fn dialect(&self) -> cofferdam_lint::Dialect;

    /// Whether DDL runs inside a transaction that can be rolled back.
    fn transactional_ddl(&self) -> bool;

    /// Whether statements may be queued and sent together in one round trip.
    fn pipelined(&self) -> bool;

    /// The statement that opens a revision's transaction.
    fn begin(&self) -> &'static str {
        "BEGIN"
    }

    /// `value` as a string literal, escaped by sea-query for this engine.
    fn literal(&self, value: &str) -> String;

    /// Whether a database error (SQLSTATE or vendor `code`, `message`) means
    /// "this table does not exist".
    fn is_missing_table(&self, code: Option<&str>, message: &str) -> bool;

    /// The database's error as an operator should read it, when the
    /// driver's own text leaves something out or adds noise. None: the
    /// driver's text is used as it is.
    fn describe(&self, _error: &dyn sqlx::error::DatabaseError) -> Option<String> {
        None
    }

    /// Whether a database error means "another program holds the database
    /// busy and the wait ran out" (SQLite's busy timeout).
    fn is_busy(&self, _code: Option<&str>, _message: &str) -> bool {
        false
    }

    /// Statements setting `timeouts` for the statements that follow, with
    /// how many statements the text holds. `local`: for the current
    /// transaction only, ended by its COMMIT or ROLLBACK; None when the
    /// engine cannot, and the caller sets them for the session before the
    /// transaction and resets them after ([`Engine::reset_timeouts`]).
    fn set_timeouts(&self, timeouts: &Timeouts, local: bool) -> Option<(String, usize)>;

    /// Statements undoing a session-level [`Engine::set_timeouts`]; `busy`
    /// is the connection's own busy timeout (SQLite).
    fn reset_timeouts(&self, timeouts: &Timeouts, busy: Duration) -> Option<(String, usize)>;

    /// Whether a database error means a statement gave up waiting for a
    /// lock (the lock timeout ran out): nothing of that statement was done,
    /// so it may be tried again.
    fn is_lock_timeout(&self, _error: &dyn sqlx::error::DatabaseError) -> bool {
        false
    }

    /// How a table is rebuilt to change what `ALTER TABLE` cannot (SQLite);
    /// None where `ALTER TABLE` does it all.
    fn rebuild_sql(&self, _table: &str) -> Option<RebuildSql> {
        None
    }

    /// A query answering, in one row, the statement that recreates view
    /// `name` as it is now; no row when there is no such view.
    fn view_definition_sql(&self, name: &str) -> String;

    /// What replaces view `name` with `select`: a statement to run first
    /// (unjudged by the guard; SQLite's drop of the old view), and the
    /// `CREATE` the guard judges.
    fn replace_view_sql(&self, name: &str, select: &str) -> (Option<String>, String) {
        (
            None,
            format!("CREATE OR REPLACE VIEW {} AS {select}", self.quote(name)),
        )
    }

    /// The statements putting back view `name` as `definition` (what
    /// [`Engine::view_definition_sql`] answered).
    fn restore_view_sql(&self, _name: &str, definition: &str) -> Vec<String> {
        vec![definition.to_owned()]
    }

    /// A query answering, in one row, the `CREATE OR REPLACE FUNCTION` of
    /// function `signature` (`name(argument types)`), no row when there is
    /// none. None: the engine has no replaceable functions here.
    fn function_definition_sql(&self, _signature: &str) -> Option<String> {
        None
    }

    /// A query answering, in one row, the `CREATE TRIGGER` of trigger
    /// `name` on `table` as it is now; no row when there is none.
    fn trigger_definition_sql(&self, table: &str, name: &str) -> String;

    /// The statement dropping trigger `name` on `table` if it exists.
    fn drop_trigger_sql(&self, table: &str, name: &str) -> String {
        let _ = table;
        format!("DROP TRIGGER IF EXISTS {}", self.quote(name))
    }

    /// An expression giving the rows the previous statement on this
    /// connection changed, so that a backfill records its batch in the same
    /// round trip. None: the runtime reads the count and sends it.
    fn rows_changed_expr(&self) -> Option<&'static str> {
        None
    }

    /// `name` (or `schema.name`) quoted as an identifier.
    fn quote(&self, name: &str) -> String {
        name.split('.')
            .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// A query answering, in one row, a cheap estimate of the rows in
    /// `table` (the planner's statistics where there are any).
    fn estimated_rows_sql(&self, table: &str) -> String {
        format!("SELECT count(*) FROM {}", self.quote(table))
    }

    /// A query run on the primary answering, in one row, the position
    /// where its log ends, the position its slowest replica has replayed
    /// (NULL: unknown), and how many replicas stream from it. None: the
    /// primary cannot tell, and each replica is asked
    /// ([`Engine::replica_status`]).
    fn replica_lag_sql(&self) -> Option<&'static str> {
        None
    }

    /// The statements asking a replica for its status, tried in order
    /// until one works, and the names of the column holding its delay in
    /// seconds (NULL when replication is stopped). None: replicas are not
    /// asked.
    fn replica_status(&self) -> Option<(&'static [&'static str], &'static [&'static str])> {
        None
    }

    /// An expression the server evaluates to the milliseconds since the
    /// revision started (`applied_at`, an RFC 3339 literal), so that a
    /// pipelined revision still records how long its statements took.
    /// None: the engine cannot, and the runtime measures it.
    fn measured_duration(&self, applied_at: &str) -> Option<String>;

    /// An aggregate over the history table's `id`, `checksum` and `state`
    /// giving `id:checksum:state` joined by `,` in byte order of id. None
    /// where the engine cannot do it reliably.
    fn summary_expr(&self) -> Option<&'static str>;

    /// How runs are serialised on the history table `table` (as the user
    /// spelled it). Every spelling of one table must give one lock.
    fn lock(&self, table: &str) -> LockMethod;

    /// SQL answering, in one row, who else holds the lock of `table`
    /// (`pid 42 (app) from 10.0.0.7`), or no row (or NULL) when nobody
    /// else does. None: the engine locks a file ([`LockMethod::File`]).
    fn lock_holder(&self, _table: &str) -> Option<String> {
        None
    }

    /// The name of the lock file's table part (see [`Engine::lock_file`]):
    /// `table` normalised so that every spelling of one table agrees.
    fn lock_name(&self, table: &str) -> String {
        table.to_ascii_lowercase()
    }

    /// The lock file for [`LockMethod::File`]; None when nothing else can
    /// see the database (in memory).
    fn lock_file(&self, _url: &str, _table: &str) -> Result<Option<std::path::PathBuf>> {
        Ok(None)
    }

    /// See [`read_only_url`].
    fn read_only_url(&self, _url: &str) -> Option<(String, String)> {
        None
    }

    /// A query answering the names of `table`'s columns, one per row, from
    /// the catalog (`table` may be `schema.table`; names compare without
    /// case). The runtime guard uses it to check that a table rebuild copies
    /// every column of the old table.
    fn columns_sql(&self, table: &str) -> String;

    /// A query answering one row when `table` (`schema.table` allowed;
    /// compared without case) exists as a table or view, none otherwise.
    fn has_table_sql(&self, table: &str) -> String;

    /// A query answering one row when `table` has an index named `index`
    /// (compared without case), none otherwise.
    fn has_index_sql(&self, table: &str, index: &str) -> String;

    /// A statement telling an armed backstop that the revision may drop
    /// `table`: the runtime guard checked that its rebuild copies every
    /// column. None: the engine has no backstop.
    fn allow_drop(&self, _table: &str) -> Option<String> {
        None
    }

    /// Like [`Engine::allow_drop`], for trigger `name` on `table`, which a
    /// revision replacing it drops first.
    fn allow_drop_trigger(&self, _table: &str, _name: &str) -> Option<String> {
        None
    }

    /// Statements that arm a drop backstop for `revision` (`local`: for the
    /// current transaction only), with how many statements the text holds.
    /// None: the engine has no backstop.
    fn arm_backstop(&self, _revision: &str, _local: bool) -> Option<(String, usize)> {
        None
    }

    /// Undoes a session-level [`arm_backstop`](Engine::arm_backstop).
    fn disarm_backstop(&self) -> Option<(&'static str, usize)> {
        None
    }

    /// SQL installing the backstop if the role may, answering a count > 0
    /// in its last row when the backstop is in place.
    fn install_backstop(&self) -> Option<&'static str> {
        None
    }

    /// SQL answering, in one row, whether the backstop is in place and
    /// whether the role could install it (`present`, `superuser`), and the
    /// note for `status` when it is missing and cannot be installed.
    fn check_backstop(&self) -> Option<(&'static str, &'static str)> {
        None
    }
}
