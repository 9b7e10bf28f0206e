//! PostgreSQL: transactional DDL, pipelined statements, a session advisory
//! lock, the server-measured duration, and the drop backstop.
//!
//! # The backstop
//!
//! Behind the runtime guard sit triggers that fail drops and truncates made
//! inside an unreviewed revision, including those the guard cannot see (raw
//! connections, `DO` blocks, functions, CASCADE side effects). They act only
//! in transactions where the runner has set `cofferdam.guard = 'enforce'`
//! (`SET LOCAL`), so other sessions and other tools are never affected.
//! Installed by `postgres_backstop.sql`, once per `up` that applies
//! something:
//!
//! - an `sql_drop` event trigger fails any drop, except of objects the
//!   revision created itself (a scratch table and its columns), which a
//!   `ddl_command_end` event trigger records in `cofferdam.created`;
//! - a `BEFORE TRUNCATE ... FOR EACH STATEMENT` trigger on every ordinary and
//!   partitioned table outside the system schemas. The same `ddl_command_end`
//!   trigger attaches it to tables created later, except while the guard is
//!   armed, so a revision may empty its own scratch tables. A table created
//!   by an unreviewed revision gets it at the next `up`.
//!
//! Event triggers need a superuser; without one the drop backstop is skipped
//! and `status` says so, and TRUNCATE is still guarded on every table the
//! role may add a trigger to. `DELETE` has no such net: a statement trigger
//! cannot tell a `DELETE` with a `WHERE` from one without.

use super::engine::{Engine, Holder, LEASE_ROW, LeaseSql, LockMethod};
use crate::revision::Timeouts;
use sea_query::{PostgresQueryBuilder, QueryBuilder};
use std::time::Duration;

/// PostgreSQL's facts and SQL text.
#[derive(Debug)]
pub(super) struct Postgres;

#[cfg(feature = "postgres")]
pub(super) async fn connect(url: &str) -> Result<sqlx::postgres::PgConnection, sqlx::Error> {
    use sqlx::ConnectOptions;
    let options: sqlx::postgres::PgConnectOptions = url.parse()?;
    // sqlx asks for `extra_float_digits` at start-up, which PgBouncer
    // refuses unless told to ignore it ("unsupported startup parameter"),
    // so a pooled URL would fail before the pooler check could explain
    // anything. PostgreSQL 12 and later print floats exactly without it.
    options.extra_float_digits(None).connect().await
}

const INSTALL_BACKSTOP: &str = include_str!("postgres_backstop.sql");

const CHECK_BACKSTOP: &str = "SELECT \
     (SELECT count(*) FROM pg_event_trigger WHERE evtname = 'cofferdam_guard_drop' AND evtenabled <> 'D') > 0, \
     (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)";

const INVALID_INDEXES: &str = "SELECT '\"' || replace(n.nspname, '\"', '\"\"') || '\".\"' \
       || replace(c.relname, '\"', '\"\"') || '\"' \
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE NOT i.indisvalid AND n.nspname = current_schema() \
       AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid) \
     ORDER BY n.nspname, c.relname";

impl Postgres {
    /// The advisory lock key of `table`, an int4 expression.
    ///
    /// It names the table as resolved, schema-qualified and folded to lower
    /// case as PostgreSQL folds unquoted names, so that `cofferdam_history`
    /// and `public.cofferdam_history` take one lock. An unqualified
    /// lower-case name gives the key earlier versions used, so old and new
    /// binaries still exclude each other.
    fn lock_key(&self, table: &str) -> String {
        let lower = table.to_ascii_lowercase();
        let (schema, name) = match lower.split_once('.') {
            Some((schema, name)) => (self.literal(schema), name),
            None => ("current_schema()".to_owned(), lower.as_str()),
        };
        format!(
            "hashtext('cofferdam:' || {schema} || '.' || {})",
            self.literal(name)
        )
    }

    /// The schema expression and bare name of `table` (`schema.table` or
    /// a name in the current schema).
    fn scope<'t>(&self, table: &'t str) -> (String, &'t str) {
        match table.rsplit_once('.') {
            Some((schema, table)) => (format!("lower({})", self.literal(schema)), table),
            None => ("current_schema()".to_owned(), table),
        }
    }
}

impl Postgres {
    /// The condition on `pg_locks l` that selects granted rows of the
    /// advisory lock of `table` in this database.
    fn lock_rows(&self, table: &str) -> String {
        // A bigint advisory key shows in pg_locks as its high half in
        // `classid` and its low half in `objid`, with `objsubid` 1.
        let key = format!("({})::bigint", self.lock_key(table));
        format!(
            "l.locktype = 'advisory' AND l.granted \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND l.classid::bigint = ({key} >> 32) & 4294967295 \
             AND l.objid::bigint = {key} & 4294967295 AND l.objsubid = 1"
        )
    }
}

impl Engine for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn dialect(&self) -> cofferdam_lint::Dialect {
        cofferdam_lint::Dialect::Postgres
    }

    fn transactional_ddl(&self) -> bool {
        true
    }

    fn pipelined(&self) -> bool {
        true
    }

    fn literal(&self, value: &str) -> String {
        PostgresQueryBuilder.value_to_string(&value.into())
    }

    fn tenants_like_sql(&self, pattern: &str) -> Option<String> {
        Some(format!(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE {} ORDER BY nspname",
            self.literal(pattern)
        ))
    }

    fn tenant_url(&self, url: &str, name: &str) -> Option<String> {
        // `search_path` set at connection start-up (sqlx's `options[...]`
        // parameter becomes `-c search_path=...`): the tenant is the
        // current schema before any statement, so the history table, its
        // digest, the advisory lock key and the lease row, which all
        // resolve `current_schema()`, are the tenant's. Quoted, so a name
        // with capitals or spaces is kept as it is.
        let mut parsed = url::Url::parse(url).ok()?;
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        parsed
            .query_pairs_mut()
            .append_pair("options[search_path]", &quoted);
        Some(parsed.to_string())
    }

    fn is_missing_table(&self, code: Option<&str>, _message: &str) -> bool {
        code == Some("42P01") // undefined_table
    }

    /// sqlx shows only the message, followed by the line of the server's C
    /// source that raised it ("at line 3655"), which means nothing to an
    /// operator; DETAIL (which key was duplicated), HINT and the
    /// constraint are what they need, so those are kept instead.
    #[cfg(feature = "postgres")]
    fn describe(&self, error: &dyn sqlx::error::DatabaseError) -> Option<String> {
        let error = error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
        let mut text = format!("{} (SQLSTATE {})", error.message(), error.code());
        let object = match (error.table(), error.constraint(), error.column()) {
            (Some(table), Some(constraint), _) => {
                Some(format!("constraint `{constraint}` on table `{table}`"))
            }
            (None, Some(constraint), _) => Some(format!("constraint `{constraint}`")),
            (Some(table), None, Some(column)) => {
                Some(format!("column `{column}` of table `{table}`"))
            }
            _ => None,
        };
        if let Some(object) = object {
            text.push_str(&format!("; {object}"));
        }
        if let Some(detail) = error.detail() {
            text.push_str(&format!("; DETAIL: {detail}"));
        }
        if let Some(hint) = error.hint() {
            text.push_str(&format!("; HINT: {hint}"));
        }
        Some(text)
    }

    fn view_definition_sql(&self, name: &str) -> String {
        let quoted = self.literal(&self.quote(name));
        format!(
            "SELECT 'CREATE OR REPLACE VIEW ' || {quoted} || ' AS ' || pg_get_viewdef(c.oid, true) \
             FROM pg_class c WHERE c.oid = to_regclass({quoted}) AND c.relkind = 'v'"
        )
    }

    fn trigger_definition_sql(&self, table: &str, name: &str) -> String {
        format!(
            "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t \
             WHERE t.tgrelid = to_regclass({}) AND t.tgname = {} AND NOT t.tgisinternal",
            self.literal(&self.quote(table)),
            self.literal(name)
        )
    }

    fn drop_trigger_sql(&self, table: &str, name: &str) -> String {
        format!(
            "DROP TRIGGER IF EXISTS {} ON {}",
            self.quote(name),
            self.quote(table)
        )
    }

    fn function_definition_sql(&self, signature: &str) -> Option<String> {
        Some(format!(
            "SELECT pg_get_functiondef(p) FROM to_regprocedure({}) p WHERE p IS NOT NULL",
            self.literal(signature)
        ))
    }

    fn estimated_rows_sql(&self, table: &str) -> String {
        // reltuples is -1 before the first ANALYZE: count then.
        format!(
            "SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint \
             ELSE (SELECT count(*) FROM {}) END FROM pg_class c WHERE c.oid = to_regclass({})",
            self.quote(table),
            self.literal(&self.quote(table))
        )
    }

    /// Where this server's WAL ends and how far the slowest standby
    /// streaming from it has replayed it, as byte positions. Not
    /// `replay_lag`: it keeps its last value long after a standby caught up
    /// and only moves when the standby reports, so a backfill would wait
    /// for nothing; the runtime times the positions itself. Roles without
    /// `pg_monitor` see NULL positions, read as "caught up".
    fn replica_lag_sql(&self) -> Option<&'static str> {
        Some(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text, \
             pg_wal_lsn_diff(min(replay_lsn), '0/0')::text, count(*)::text FROM pg_stat_replication",
        )
    }

    fn set_timeouts(&self, timeouts: &Timeouts, local: bool) -> Option<(String, usize)> {
        let scope = if local { "SET LOCAL" } else { "SET" };
        let settings: Vec<String> = [
            ("lock_timeout", timeouts.lock_timeout),
            ("statement_timeout", timeouts.statement_timeout),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            value.map(|value| format!("{scope} {name} = '{}ms'", value.as_millis()))
        })
        .collect();
        let count = settings.len();
        (count > 0).then(|| (settings.join(";\n"), count))
    }

    fn reset_timeouts(&self, timeouts: &Timeouts, _busy: Duration) -> Option<(String, usize)> {
        let resets: Vec<&str> = [
            ("RESET lock_timeout", timeouts.lock_timeout),
            ("RESET statement_timeout", timeouts.statement_timeout),
        ]
        .into_iter()
        .filter_map(|(reset, value)| value.map(|_| reset))
        .collect();
        let count = resets.len();
        (count > 0).then(|| (resets.join(";\n"), count))
    }

    fn is_lock_timeout(&self, error: &dyn sqlx::error::DatabaseError) -> bool {
        error.code().as_deref() == Some("55P03") // lock_not_available
    }

    fn measured_duration(&self, _applied_at: &str) -> Option<String> {
        // now() is the transaction's start, which is the revision's start.
        Some("CAST(EXTRACT(EPOCH FROM (clock_timestamp() - now())) * 1000 AS BIGINT)".to_owned())
    }

    fn digest_triggers_sql(&self, history: &str, digest: &str) -> Vec<String> {
        let quote = |name: &str| {
            name.split('.')
                .map(|part| format!("\"{part}\""))
                .collect::<Vec<_>>()
                .join(".")
        };
        // The function lives beside the table; the trigger is per statement,
        // so a run's many-row write clears the digest once. TRUNCATE too.
        let function = quote(&format!("{history}_digest_stale"));
        let trigger = history.rsplit('.').next().unwrap_or(history);
        vec![
            format!(
                "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN UPDATE {} SET gen = gen + 1, digest = NULL WHERE id = 1; RETURN NULL; END $$",
                quote(digest)
            ),
            format!(
                "CREATE OR REPLACE TRIGGER \"{trigger}_digest_stale\" \
                 AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {} \
                 FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
                quote(history)
            ),
        ]
    }

    fn lock(&self, table: &str) -> LockMethod {
        let key = self.lock_key(table);
        // Session-level and polled: never the transaction-scoped kind, never
        // a blocking wait, so it is safe beside CREATE INDEX CONCURRENTLY.
        LockMethod::Session {
            acquire: format!("SELECT pg_try_advisory_lock({key})"),
            release: format!("SELECT pg_advisory_unlock({key})"),
        }
    }

    fn columns_sql(&self, table: &str) -> String {
        let (schema, table) = self.scope(table);
        format!(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = {schema} AND lower(table_name) = lower({}) ORDER BY ordinal_position",
            self.literal(table)
        )
    }

    fn has_table_sql(&self, table: &str) -> String {
        let (schema, table) = self.scope(table);
        format!(
            "SELECT 1 FROM information_schema.tables \
             WHERE table_schema = {schema} AND lower(table_name) = lower({})",
            self.literal(table)
        )
    }

    fn has_index_sql(&self, table: &str, index: &str) -> String {
        let (schema, table) = self.scope(table);
        format!(
            "SELECT 1 FROM pg_indexes WHERE schemaname = {schema} \
             AND lower(tablename) = lower({}) AND lower(indexname) = lower({})",
            self.literal(table),
            self.literal(index)
        )
    }

    fn lock_holder(&self, table: &str) -> Option<String> {
        Some(format!(
            "SELECT 'pid ' || l.pid \
               || COALESCE(' (' || NULLIF(a.application_name, '') || ')', '') \
               || COALESCE(' from ' || host(a.client_addr), '') \
               || COALESCE(' as ' || a.usename, '') \
             FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.pid <> pg_backend_pid() AND {} \
             LIMIT 1",
            self.lock_rows(table)
        ))
    }

    fn lease_sql(&self, t: &str, holder: &Holder, millis: u64) -> Option<LeaseSql> {
        // clock_timestamp(), not now(): inside a revision's transaction
        // now() is when the transaction began.
        let now = "clock_timestamp()";
        let until = format!("clock_timestamp() + interval '1 millisecond' * {millis}");
        let row = self.literal(LEASE_ROW);
        let run = self.literal(&holder.run_id);
        let mine = format!("name = {row} AND run_id = {run}");
        Some(LeaseSql {
            create: format!(
                "CREATE TABLE IF NOT EXISTS {t} (name VARCHAR(64) PRIMARY KEY, host VARCHAR(255) NOT NULL, \
                 pid BIGINT NOT NULL, run_id VARCHAR(64) NOT NULL, acquired_at TIMESTAMPTZ NOT NULL, \
                 expires_at TIMESTAMPTZ NOT NULL)"
            ),
            // ON CONFLICT ... WHERE: the insert and the takeover of an
            // expired row are one statement, serialised by the row lock.
            take: vec![format!(
                "INSERT INTO {t} AS l (name, host, pid, run_id, acquired_at, expires_at) \
                 VALUES ({row}, {}, {}, {run}, {now}, {until}) \
                 ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, \
                 run_id = EXCLUDED.run_id, acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at \
                 WHERE l.expires_at < {now} RETURNING true",
                self.literal(&holder.host),
                holder.pid
            )],
            renew: vec![format!(
                "UPDATE {t} SET expires_at = {until} WHERE {mine} AND expires_at > {now} RETURNING true"
            )],
            held: format!("SELECT count(*) > 0 FROM {t} WHERE {mine} AND expires_at > {now}"),
            release: format!("DELETE FROM {t} WHERE {mine}"),
            holder: format!(
                "SELECT 'pid ' || pid || ' on ' || host || ' (lease ' || run_id || ', expires ' \
                 || to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') || ')' \
                 FROM {t} WHERE name = {row} AND run_id <> {run} AND expires_at > {now}"
            ),
        })
    }

    fn read_only_probe(&self) -> Option<&'static str> {
        Some(
            "SELECT 'it is a hot standby in recovery (pg_is_in_recovery() is true)' WHERE pg_is_in_recovery()",
        )
    }

    fn session_probe(&self, table: &str) -> Option<String> {
        // PgBouncer in transaction (or statement) pooling mode gives each
        // transaction whichever server session is free; the pid says which
        // one answered, and pg_locks whether that one holds our lock.
        Some(format!(
            "SELECT pg_backend_pid()::text, EXISTS (SELECT 1 FROM pg_locks l \
             WHERE l.pid = pg_backend_pid() AND {})::text",
            self.lock_rows(table)
        ))
    }

    fn invalid_indexes_sql(&self) -> Option<&'static str> {
        // An index being built concurrently is INVALID until the build
        // ends: those still in pg_stat_progress_create_index are not leftovers.
        Some(INVALID_INDEXES)
    }

    fn drop_index_sql(&self, index: &str) -> String {
        format!("DROP INDEX CONCURRENTLY {index};")
    }

    fn arm_backstop(&self, revision: &str, local: bool) -> Option<(String, usize)> {
        let scope = if local { "SET LOCAL" } else { "SET" };
        Some((
            format!(
                "{scope} cofferdam.guard = 'enforce';\n{scope} cofferdam.revision = {};\n{scope} cofferdam.created = ''",
                self.literal(revision)
            ),
            3,
        ))
    }

    fn allow_drop(&self, table: &str) -> Option<String> {
        // The drop trigger spares the objects listed in cofferdam.created.
        Some(format!(
            "SELECT set_config('cofferdam.created', concat_ws(',', \
             nullif(current_setting('cofferdam.created', true), ''), to_regclass({})::oid), false)",
            self.literal(table)
        ))
    }

    fn allow_drop_trigger(&self, table: &str, name: &str) -> Option<String> {
        Some(format!(
            "SELECT set_config('cofferdam.created', concat_ws(',', \
             nullif(current_setting('cofferdam.created', true), ''), \
             (SELECT oid FROM pg_trigger WHERE tgrelid = to_regclass({}) AND tgname = {})), false)",
            self.literal(&self.quote(table)),
            self.literal(name)
        ))
    }

    fn disarm_backstop(&self) -> Option<(&'static str, usize)> {
        Some((
            "RESET cofferdam.guard;\nRESET cofferdam.revision;\nRESET cofferdam.created",
            3,
        ))
    }

    fn install_backstop(&self) -> Option<&'static str> {
        Some(INSTALL_BACKSTOP)
    }

    fn check_backstop(&self) -> Option<(&'static str, &'static str)> {
        Some((
            CHECK_BACKSTOP,
            "the PostgreSQL drop backstop (an sql_drop event trigger) cannot be installed: it needs a superuser; \
             the runtime guard still checks every statement sent through Migration, and TRUNCATE triggers \
             guard the tables the role may add triggers to",
        ))
    }

    #[cfg(feature = "testing")]
    fn default_test_server(&self) -> Option<&'static str> {
        Some("postgres://postgres@127.0.0.1:5432/postgres")
    }

    #[cfg(feature = "testing")]
    fn create_database(&self, name: &str) -> Option<String> {
        Some(format!("CREATE DATABASE \"{name}\""))
    }

    fn drop_database(&self, name: &str) -> Option<String> {
        // FORCE ends the sessions a test left open, or a pooled connection
        // of ours that lingers a moment after close (PostgreSQL 13+).
        Some(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
    }

    #[cfg(feature = "testing")]
    fn template(&self) -> Option<&'static dyn super::engine::TemplateSql> {
        Some(&Postgres)
    }

    #[cfg(feature = "testing")]
    fn snapshot_sql(&self) -> super::engine::SnapshotSql {
        super::engine::SnapshotSql {
            columns: SNAPSHOT_COLUMNS,
            indexes: SNAPSHOT_INDEXES,
            constraints: SNAPSHOT_CONSTRAINTS,
        }
    }
}
/// Columns of ordinary and partitioned tables in the current schema.
#[cfg(feature = "testing")]
const SNAPSHOT_COLUMNS: &str = "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), \
     CASE WHEN a.attnotnull THEN '1' ELSE '0' END, pg_get_expr(d.adbin, d.adrelid) \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
     LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
     ORDER BY c.relname, a.attnum";

/// Indexes with their key columns (or expressions) in order, and any predicate.
#[cfg(feature = "testing")]
const SNAPSHOT_INDEXES: &str = "SELECT t.relname, i.relname, CASE WHEN x.indisunique THEN '1' ELSE '0' END, \
     array_to_string(ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) \
       FROM generate_series(1, x.indnkeyatts) AS k ORDER BY k), ',') \
     || coalesce(' WHERE ' || pg_get_expr(x.indpred, x.indrelid, true), '') \
     FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid \
     JOIN pg_namespace n ON n.oid = t.relnamespace \
     WHERE n.nspname = current_schema() AND t.relkind IN ('r', 'p') \
     ORDER BY 1, 2";

/// Constraints as PostgreSQL prints them; NOT NULL is a column property.
#[cfg(feature = "testing")]
const SNAPSHOT_CONSTRAINTS: &str = "SELECT t.relname, c.conname, \
     CASE c.contype WHEN 'p' THEN 'PRIMARY KEY' WHEN 'f' THEN 'FOREIGN KEY' WHEN 'u' THEN 'UNIQUE' \
       WHEN 'c' THEN 'CHECK' WHEN 'x' THEN 'EXCLUDE' ELSE c.contype::text END, \
     pg_get_constraintdef(c.oid, true) \
     FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
     JOIN pg_namespace n ON n.oid = t.relnamespace \
     WHERE n.nspname = current_schema() AND c.contype <> 'n' AND t.relkind IN ('r', 'p') \
     ORDER BY 1, 2";

/// Templates: `CREATE DATABASE ... TEMPLATE`, which copies files and runs
/// no migration; sqlx's test harness clones the same way.
#[cfg(feature = "testing")]
impl super::engine::TemplateSql for Postgres {
    fn lock(&self, name: &str) -> String {
        format!(
            "SELECT pg_advisory_lock(hashtext({}))",
            self.literal(&format!("cofferdam-template:{name}"))
        )
    }

    fn unlock(&self, name: &str) -> String {
        format!(
            "SELECT pg_advisory_unlock(hashtext({}))",
            self.literal(&format!("cofferdam-template:{name}"))
        )
    }

    fn exists(&self, name: &str) -> String {
        format!(
            "SELECT count(*) FROM pg_database WHERE datname = {}",
            self.literal(name)
        )
    }

    fn rename(&self, from: &str, to: &str) -> String {
        format!("ALTER DATABASE \"{from}\" RENAME TO \"{to}\"")
    }

    fn clone_from(&self, name: &str, template: &str) -> String {
        format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"")
    }
}
