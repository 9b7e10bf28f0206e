//! MySQL and MariaDB: DDL commits implicitly, so nothing is transactional or
//! pipelined; the lock is `GET_LOCK`, polled with its result checked.

use super::engine::{Engine, Holder, LEASE_ROW, LeaseSql, LockMethod};
use crate::revision::Timeouts;
use sea_query::{MysqlQueryBuilder, QueryBuilder};
use std::time::Duration;

/// MySQL's and MariaDB's facts and SQL text.
#[derive(Debug)]
pub(super) struct MySql;

#[cfg(feature = "mysql")]
pub(super) async fn connect(url: &str) -> Result<sqlx::mysql::MySqlConnection, sqlx::Error> {
    use sqlx::Connection;
    sqlx::mysql::MySqlConnection::connect(url).await
}

impl MySql {
    /// The `GET_LOCK` name of `table`, an expression. GET_LOCK is
    /// server-wide, so the name includes the database; hashed because lock
    /// names are limited to 64 characters. Resolved and lower-cased, so
    /// that `t` and `db.t` take one lock; an unqualified lower-case name
    /// keeps the earlier versions' name.
    fn lock_name_expr(&self, table: &str) -> String {
        let lower = table.to_ascii_lowercase();
        let (schema, table) = match lower.split_once('.') {
            Some((schema, table)) => (self.literal(schema), table),
            None => ("DATABASE()".to_owned(), lower.as_str()),
        };
        format!(
            "CONCAT('cofferdam:', SHA1(CONCAT({schema}, '.', {})))",
            self.literal(table)
        )
    }

    /// The schema expression and bare name of `table`.
    fn scope<'t>(&self, table: &'t str) -> (String, &'t str) {
        match table.rsplit_once('.') {
            Some((schema, table)) => (self.literal(schema), table),
            None => ("DATABASE()".to_owned(), table),
        }
    }
}

impl Engine for MySql {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn dialect(&self) -> cofferdam_lint::Dialect {
        cofferdam_lint::Dialect::MySql
    }

    fn transactional_ddl(&self) -> bool {
        false
    }

    fn pipelined(&self) -> bool {
        // Each statement runs on its own: DDL commits implicitly here, and
        // the connection runs one statement per query unless asked for more.
        false
    }

    fn literal(&self, value: &str) -> String {
        MysqlQueryBuilder.value_to_string(&value.into())
    }

    fn tenants_like_sql(&self, pattern: &str) -> Option<String> {
        Some(format!(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE {} ORDER BY schema_name",
            self.literal(pattern)
        ))
    }

    fn tenant_url(&self, url: &str, name: &str) -> Option<String> {
        // On MySQL a schema is a database: the tenant is the URL's path.
        let mut parsed = url::Url::parse(url).ok()?;
        parsed.set_path(&format!("/{name}"));
        Some(parsed.to_string())
    }

    fn is_missing_table(&self, code: Option<&str>, _message: &str) -> bool {
        matches!(code, Some("42S02" | "1146")) // ER_NO_SUCH_TABLE
    }

    fn quote(&self, name: &str) -> String {
        name.split('.')
            .map(|part| format!("`{}`", part.replace('`', "``")))
            .collect::<Vec<_>>()
            .join(".")
    }

    fn view_definition_sql(&self, name: &str) -> String {
        let (schema, view) = self.scope(name);
        format!(
            "SELECT CONCAT('CREATE OR REPLACE VIEW ', {}, ' AS ', view_definition) FROM information_schema.views \
             WHERE table_schema = {schema} AND table_name = {}",
            self.literal(&self.quote(name)),
            self.literal(view)
        )
    }

    fn trigger_definition_sql(&self, table: &str, name: &str) -> String {
        let (schema, table) = self.scope(table);
        format!(
            "SELECT CONCAT('CREATE TRIGGER ', {}, ' ', action_timing, ' ', event_manipulation, ' ON ', {}, \
             ' FOR EACH ROW ', action_statement) FROM information_schema.triggers \
             WHERE trigger_schema = {schema} AND event_object_table = {} AND trigger_name = {}",
            self.literal(&self.quote(name)),
            self.literal(&self.quote(table)),
            self.literal(table),
            self.literal(name)
        )
    }

    fn estimated_rows_sql(&self, table: &str) -> String {
        let (schema, table) = self.scope(table);
        format!(
            "SELECT table_rows FROM information_schema.tables WHERE table_schema = {schema} AND table_name = {}",
            self.literal(table)
        )
    }

    fn replica_status(&self) -> Option<(&'static [&'static str], &'static [&'static str])> {
        // The new spelling since MySQL 8.0.22 and MariaDB 10.5.1, the old
        // one for older servers.
        Some((
            &["SHOW REPLICA STATUS", "SHOW SLAVE STATUS"],
            &["Seconds_Behind_Source", "Seconds_Behind_Master"],
        ))
    }

    /// MySQL cannot scope a setting to a transaction (and DDL ends one), so
    /// the settings are the session's until reset. Metadata locks (DDL)
    /// wait `lock_wait_timeout`, row locks `innodb_lock_wait_timeout`; both
    /// take whole seconds. The statement limit is MariaDB's
    /// `max_statement_time`, in a MariaDB-only comment: MySQL's
    /// `max_execution_time` limits SELECTs only, so it would not bound DDL.
    fn set_timeouts(&self, timeouts: &Timeouts, local: bool) -> Option<(String, usize)> {
        if local || !timeouts.is_set() {
            return None;
        }
        let head = match timeouts.lock_timeout {
            Some(wait) => {
                let seconds = wait.as_millis().div_ceil(1000).max(1);
                format!(
                    "SET SESSION lock_wait_timeout = {seconds}, SESSION innodb_lock_wait_timeout = {seconds}"
                )
            }
            // SET needs one assignment that every server understands.
            None => "SET @cofferdam_timeouts = 1".to_owned(),
        };
        let tail = timeouts
            .statement_timeout
            .map(|limit| {
                format!(
                    " /*M!100108 , SESSION max_statement_time = {:.3} */",
                    limit.as_secs_f64()
                )
            })
            .unwrap_or_default();
        Some((format!("{head}{tail}"), 1))
    }

    fn reset_timeouts(&self, timeouts: &Timeouts, _busy: Duration) -> Option<(String, usize)> {
        timeouts.is_set().then(|| {
            (
                "SET SESSION lock_wait_timeout = DEFAULT, SESSION innodb_lock_wait_timeout = DEFAULT \
                 /*M!100108 , SESSION max_statement_time = DEFAULT */"
                    .to_owned(),
                1,
            )
        })
    }

    #[cfg(feature = "mysql")]
    fn is_lock_timeout(&self, error: &dyn sqlx::error::DatabaseError) -> bool {
        error
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .is_some_and(|error| error.number() == 1205) // ER_LOCK_WAIT_TIMEOUT
    }

    fn measured_duration(&self, _applied_at: &str) -> Option<String> {
        None
    }

    fn digest_triggers_sql(&self, history: &str, digest: &str) -> Vec<String> {
        let quote = |name: &str| {
            name.split('.')
                .map(|part| format!("`{part}`"))
                .collect::<Vec<_>>()
                .join(".")
        };
        // Row triggers only (MySQL has no statement triggers), and TRUNCATE
        // fires none: the digest probe also asks whether any row is left.
        ["insert", "update", "delete"]
            .into_iter()
            .map(|event| {
                format!(
                    "CREATE TRIGGER IF NOT EXISTS {} AFTER {} ON {} FOR EACH ROW \
                     UPDATE {} SET gen = gen + 1, digest = NULL WHERE id = 1",
                    quote(&format!("{history}_digest_{event}")),
                    event.to_uppercase(),
                    quote(history),
                    quote(digest)
                )
            })
            .collect()
    }

    fn lock(&self, table: &str) -> LockMethod {
        let name = self.lock_name_expr(table);
        LockMethod::Session {
            acquire: format!("SELECT GET_LOCK({name}, 0)"),
            release: format!("SELECT RELEASE_LOCK({name})"),
        }
    }

    fn lease_sql(&self, t: &str, holder: &Holder, millis: u64) -> Option<LeaseSql> {
        // UTC, not CURRENT_TIMESTAMP: Galera nodes may differ in time_zone.
        let now = "UTC_TIMESTAMP(6)";
        let until = format!("UTC_TIMESTAMP(6) + INTERVAL {} MICROSECOND", millis * 1000);
        let row = self.literal(LEASE_ROW);
        let run = self.literal(&holder.run_id);
        let mine = format!("name = {row} AND run_id = {run}");
        // Assignments of ON DUPLICATE KEY UPDATE apply left to right, each
        // seeing the ones before: expires_at, which every condition reads,
        // must come last.
        let takeover = ["host", "pid", "run_id", "acquired_at", "expires_at"]
            .map(|c| format!("{c} = IF(expires_at < {now}, VALUES({c}), {c})"))
            .join(", ");
        let ours = format!("SELECT COUNT(*) > 0 FROM {t} WHERE {mine} AND expires_at > {now}");
        Some(LeaseSql {
            create: format!(
                "CREATE TABLE IF NOT EXISTS {t} (name VARCHAR(64) PRIMARY KEY, host VARCHAR(255) NOT NULL, \
                 pid BIGINT NOT NULL, run_id VARCHAR(64) NOT NULL, acquired_at DATETIME(6) NOT NULL, \
                 expires_at DATETIME(6) NOT NULL) ENGINE=InnoDB"
            ),
            take: vec![
                format!(
                    "INSERT INTO {t} (name, host, pid, run_id, acquired_at, expires_at) \
                     VALUES ({row}, {}, {}, {run}, {now}, {until}) ON DUPLICATE KEY UPDATE {takeover}",
                    self.literal(&holder.host),
                    holder.pid
                ),
                ours.clone(),
            ],
            renew: vec![
                format!("UPDATE {t} SET expires_at = {until} WHERE {mine} AND expires_at > {now}"),
                ours.clone(),
            ],
            held: ours,
            release: format!("DELETE FROM {t} WHERE {mine}"),
            holder: format!(
                "SELECT CONCAT('pid ', pid, ' on ', host, ' (lease ', run_id, ', expires ', \
                 DATE_FORMAT(expires_at, '%Y-%m-%dT%H:%i:%s.%fZ'), ')') \
                 FROM {t} WHERE name = {row} AND run_id <> {run} AND expires_at > {now}"
            ),
        })
    }

    fn cluster_probe(&self) -> Option<&'static str> {
        // SHOW, not @@wsrep_on: MySQL proper has no such variable.
        Some("SHOW VARIABLES LIKE 'wsrep_on'")
    }

    fn read_only_probe(&self) -> Option<&'static str> {
        // MariaDB has no super_read_only; SHOW lists only what exists.
        Some(
            "SHOW VARIABLES WHERE Variable_name IN ('read_only', 'super_read_only') AND Value = 'ON'",
        )
    }

    fn stored_type(&self, ty: &crate::schema::Type) -> crate::schema::Type {
        use crate::schema::Type;
        match ty {
            // MySQL's `timestamp` has no time zone; sea-query creates one for both.
            Type::TimestampTz => Type::Timestamp,
            other => other.clone(),
        }
    }

    fn normalise_table(&self, table: &mut crate::schema::Table) {
        // InnoDB adds an index named after each foreign key that no other
        // index starts with; it is the key's, not the model's.
        let keys = table.foreign_keys.clone();
        // MySQL reports an unspecified action as RESTRICT, which it treats
        // as NO ACTION (the check is never deferred there).
        for key in &mut table.foreign_keys {
            for action in [&mut key.on_delete, &mut key.on_update] {
                if *action == crate::schema::ForeignKeyAction::Restrict {
                    *action = crate::schema::ForeignKeyAction::NoAction;
                }
            }
        }
        table.indexes.retain(|index| {
            !keys
                .iter()
                .any(|key| !index.unique && index.name == key.name && index.columns == key.columns)
        });
    }

    fn columns_sql(&self, table: &str) -> String {
        let (schema, table) = self.scope(table);
        format!(
            "SELECT column_name FROM information_schema.columns \
             WHERE table_schema = {schema} AND LOWER(table_name) = LOWER({}) ORDER BY ordinal_position",
            self.literal(table)
        )
    }

    fn has_table_sql(&self, table: &str) -> String {
        let (schema, table) = self.scope(table);
        format!(
            "SELECT 1 FROM information_schema.tables \
             WHERE table_schema = {schema} AND LOWER(table_name) = LOWER({})",
            self.literal(table)
        )
    }

    fn has_index_sql(&self, table: &str, index: &str) -> String {
        let (schema, table) = self.scope(table);
        format!(
            "SELECT 1 FROM information_schema.statistics WHERE table_schema = {schema} \
             AND LOWER(table_name) = LOWER({}) AND LOWER(index_name) = LOWER({}) LIMIT 1",
            self.literal(table),
            self.literal(index)
        )
    }

    fn lock_holder(&self, table: &str) -> Option<String> {
        // The connection id always; who it is when PROCESSLIST shows it
        // (a role without PROCESS sees only its own connections).
        let name = self.lock_name_expr(table);
        Some(format!(
            "SELECT CONCAT('connection ', u.id, COALESCE(CONCAT(' (', p.USER, '@', p.HOST, ')'), '')) \
             FROM (SELECT IS_USED_LOCK({name}) AS id) u \
             LEFT JOIN information_schema.PROCESSLIST p ON p.ID = u.id \
             WHERE u.id IS NOT NULL AND u.id <> CONNECTION_ID()"
        ))
    }

    #[cfg(feature = "testing")]
    fn default_test_server(&self) -> Option<&'static str> {
        Some("mysql://root@127.0.0.1:3306/test")
    }

    #[cfg(feature = "testing")]
    fn create_database(&self, name: &str) -> Option<String> {
        Some(format!("CREATE DATABASE `{name}`"))
    }

    fn drop_database(&self, name: &str) -> Option<String> {
        // A transaction a test left open in the database holds a metadata
        // lock the drop waits for; not for long.
        Some(format!(
            "SET SESSION lock_wait_timeout = 20; DROP DATABASE IF EXISTS `{name}`"
        ))
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
#[cfg(feature = "testing")]
const SNAPSHOT_COLUMNS: &str = "SELECT table_name, column_name, column_type, \
     CASE WHEN is_nullable = 'NO' THEN '1' ELSE '0' END, column_default \
     FROM information_schema.columns WHERE table_schema = DATABASE() \
     ORDER BY table_name, ordinal_position";

#[cfg(feature = "testing")]
const SNAPSHOT_INDEXES: &str = "SELECT table_name, index_name, CASE WHEN non_unique = 0 THEN '1' ELSE '0' END, \
     GROUP_CONCAT(column_name ORDER BY seq_in_index SEPARATOR ',') \
     FROM information_schema.statistics WHERE table_schema = DATABASE() \
     GROUP BY table_name, index_name, non_unique ORDER BY 1, 2";

/// Key columns and referenced columns from `key_column_usage`; CHECK
/// clauses by name, which MySQL keeps unique per schema and MariaDB per
/// table (hence the aggregate).
#[cfg(feature = "testing")]
const SNAPSHOT_CONSTRAINTS: &str = "SELECT tc.table_name, tc.constraint_name, tc.constraint_type, \
     COALESCE((SELECT CONCAT(GROUP_CONCAT(k.column_name ORDER BY k.ordinal_position SEPARATOR ','), \
         IFNULL(CONCAT(' REFERENCES ', MAX(k.referenced_table_name), '(', \
           GROUP_CONCAT(k.referenced_column_name ORDER BY k.ordinal_position SEPARATOR ','), ')'), '')) \
       FROM information_schema.key_column_usage k WHERE k.table_schema = tc.table_schema \
       AND k.table_name = tc.table_name AND k.constraint_name = tc.constraint_name), \
     (SELECT GROUP_CONCAT(cc.check_clause SEPARATOR ' AND ') FROM information_schema.check_constraints cc \
       WHERE cc.constraint_schema = tc.table_schema AND cc.constraint_name = tc.constraint_name), '') \
     FROM information_schema.table_constraints tc WHERE tc.table_schema = DATABASE() \
     ORDER BY 1, 2";
