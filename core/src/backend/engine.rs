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

/// Who takes a lease (see `lease.rs`): written into the lock row, so that
/// another runner can say who holds it.
#[derive(Debug, Clone)]
pub(crate) struct Holder {
    /// This machine's host name.
    pub host: String,
    /// This process's id.
    pub pid: u32,
    /// Unique to one run: what the conditional writes compare.
    pub run_id: String,
}

/// The SQL of the lease lock on one history table, for one holder. Each
/// list runs in order; what it answers is the first column of the first
/// row of the last statement: true (`t`, `1`, `true`) or not.
#[derive(Debug, Clone)]
pub(crate) struct LeaseSql {
    /// Creates the lock table if it does not exist.
    pub create: String,
    /// Takes the lease: ONE conditional write (insert the row, or take
    /// over an expired one), then, where the write cannot say, a read of
    /// whether it is ours.
    pub take: Vec<String>,
    /// Extends the lease, only if it is still ours and unexpired; answers
    /// whether it is.
    pub renew: Vec<String>,
    /// Answers whether the lease is still ours and unexpired (a read).
    pub held: String,
    /// Gives the lease back (deletes our row, nobody else's).
    pub release: String,
    /// Answers, in one row, who else holds an unexpired lease.
    pub holder: String,
}

/// The name of the one row of a lock table.
pub(crate) const LEASE_ROW: &str = "migrate";

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

    /// The statements that create the triggers clearing the history digest
    /// (see [`crate::digest`]) on every write to `history`: each sets
    /// `digest` to NULL and bumps `gen` in the one row of `digest`. Both
    /// names are validated `name` or `schema.name`. Idempotent.
    fn digest_triggers_sql(&self, history: &str, digest: &str) -> Vec<String>;

    /// How runs are serialised on the history table `table` (as the user
    /// spelled it). Every spelling of one table must give one lock.
    fn lock(&self, table: &str) -> LockMethod;

    /// SQL answering, in one row, who else holds the lock of `table`
    /// (`pid 42 (app) from 10.0.0.7`), or no row (or NULL) when nobody
    /// else does. None: the engine locks a file ([`LockMethod::File`]).
    fn lock_holder(&self, _table: &str) -> Option<String> {
        None
    }

    /// The lease lock's SQL for the lock table `lock_table` (quoted) and
    /// `holder`, with leases of `millis`, timed by the database's clock.
    /// None: the engine has no server to arbitrate (SQLite keeps its file
    /// lock).
    fn lease_sql(&self, _lock_table: &str, _holder: &Holder, _millis: u64) -> Option<LeaseSql> {
        None
    }

    /// SQL answering a row with a column ON when the lease must be used
    /// instead of the session lock: a cluster whose session locks are
    /// local to one node or refused (Galera: `wsrep_on`). None: never.
    fn cluster_probe(&self) -> Option<&'static str> {
        None
    }

    /// SQL answering a row (its columns joined make the reason) when the
    /// server takes no writes: a hot standby, a read-only replica. No row:
    /// writable. None: the engine has no such state.
    fn read_only_probe(&self) -> Option<&'static str> {
        None
    }

    /// SQL answering, in one row, the server session's id and whether that
    /// session holds the lock of `table` (`t`/`f`), for engines whose
    /// clients may sit behind a pooler that hands each transaction to
    /// whichever server session is free (see `lock.rs`). None: the lock
    /// is not a session lock, or no such pooler is known.
    fn session_probe(&self, _table: &str) -> Option<String> {
        None
    }

    /// SQL answering, one per row, the indexes of the current schema that
    /// a failed non-transactional build left INVALID (quoted,
    /// `"schema"."name"`), leaving out builds still in progress. None: the
    /// engine leaves no such index.
    fn invalid_indexes_sql(&self) -> Option<&'static str> {
        None
    }

    /// The statement that drops the leftover index `index` (as
    /// [`Engine::invalid_indexes_sql`] names it) without blocking writes.
    fn drop_index_sql(&self, index: &str) -> String {
        format!("DROP INDEX {index};")
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

    /// A query answering, one per row and sorted, the schemas (PostgreSQL)
    /// or databases (MySQL) whose names match the SQL `LIKE` pattern
    /// `pattern`: the tenants of a fleet (`migrate up --schemas`). None: the
    /// engine keeps one database per file (SQLite).
    fn tenants_like_sql(&self, _pattern: &str) -> Option<String> {
        None
    }

    /// `url` pointed at tenant `name` (what [`Engine::tenants_like_sql`]
    /// answered), so that every connection a run opens with it (the run's,
    /// the lock check's, the lease heartbeat's) finds the tenant's history
    /// table and takes the tenant's lock. None: see `tenants_like_sql`.
    fn tenant_url(&self, _url: &str, _name: &str) -> Option<String> {
        None
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

    /// `ty` as this engine stores it, so that a model compares equal to
    /// what introspection reports (SQLite keeps one integer type, MySQL
    /// has no time zone in `timestamp`). Identity by default.
    fn stored_type(&self, ty: &crate::schema::Type) -> crate::schema::Type {
        ty.clone()
    }

    /// Removes from a table what the engine adds or spells on its own
    /// (MySQL's index for each foreign key, RESTRICT for NO ACTION), so it
    /// does not show as a difference.
    fn normalise_table(&self, _table: &mut crate::schema::Table) {}

    /// Whether `ALTER TABLE` can change a column's type, nullability or
    /// default in place (not SQLite).
    fn alters_columns(&self) -> bool {
        true
    }

    /// Whether foreign keys can be added to or dropped from an existing
    /// table (not SQLite).
    fn alters_foreign_keys(&self) -> bool {
        true
    }

    /// The server test databases are created on when no environment
    /// variable names one: the local default. None: no server (SQLite).
    #[cfg(feature = "testing")]
    fn default_test_server(&self) -> Option<&'static str> {
        None
    }

    /// SQL creating the empty database `name` on the server, for
    /// `cofferdam::testing`. None: the engine has no server (SQLite), and a
    /// test database is a file.
    #[cfg(feature = "testing")]
    fn create_database(&self, _name: &str) -> Option<String> {
        None
    }

    /// SQL dropping the database `name` (a test or shadow database),
    /// ending sessions left open where the engine can. None: no server
    /// (SQLite).
    fn drop_database(&self, _name: &str) -> Option<String> {
        None
    }

    /// How test databases are cloned from a migrated template, where the
    /// engine can clone a whole database cheaply. None: every test
    /// database is migrated from scratch.
    #[cfg(feature = "testing")]
    fn template(&self) -> Option<&'static dyn TemplateSql> {
        None
    }

    /// The catalog queries behind `cofferdam::testing::Snapshot`, for the
    /// current database or schema (see [`SnapshotSql`]).
    #[cfg(feature = "testing")]
    fn snapshot_sql(&self) -> SnapshotSql;
}

/// Three catalog queries over every user table of the current database
/// (or schema), each answering text columns in a fixed shape, so that one
/// reader builds the snapshot for every engine:
///
/// - `columns`: table, column, type, `1` when NOT NULL else `0`, default;
/// - `indexes`: table, index, `1` when unique else `0`, key columns (or
///   expressions) joined by `,`, plus any predicate;
/// - `constraints`: table, name, kind (`PRIMARY KEY`, `FOREIGN KEY`,
///   `UNIQUE`, `CHECK`), definition.
#[cfg(feature = "testing")]
#[derive(Debug)]
pub(crate) struct SnapshotSql {
    pub columns: &'static str,
    pub indexes: &'static str,
    pub constraints: &'static str,
}

/// Cloning a migrated template database (PostgreSQL's `CREATE DATABASE
/// ... TEMPLATE`), with a lock so that concurrent test binaries build one
/// template, not several.
#[cfg(feature = "testing")]
pub(crate) trait TemplateSql: Send + Sync + std::fmt::Debug {
    /// Waits for the server-wide lock guarding the template `name`.
    fn lock(&self, name: &str) -> String;
    /// Releases [`lock`](TemplateSql::lock).
    fn unlock(&self, name: &str) -> String;
    /// A query answering one row, with a count > 0 when the database `name` exists.
    fn exists(&self, name: &str) -> String;
    /// Renames the migrated database `from` to the template name `to`, so
    /// that a template never exists half-migrated.
    fn rename(&self, from: &str, to: &str) -> String;
    /// Creates the database `name` as a copy of `template`.
    fn clone_from(&self, name: &str, template: &str) -> String;
}
