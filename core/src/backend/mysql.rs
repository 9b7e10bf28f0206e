//! MySQL and MariaDB: DDL commits implicitly, so nothing is transactional or
//! pipelined; the lock is `GET_LOCK`, polled with its result checked.

use super::engine::{Engine, LockMethod};
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

    fn summary_expr(&self) -> Option<&'static str> {
        // GROUP_CONCAT truncates at 1 KiB by default: read the rows instead.
        None
    }

    fn lock(&self, table: &str) -> LockMethod {
        let name = self.lock_name_expr(table);
        LockMethod::Session {
            acquire: format!("SELECT GET_LOCK({name}, 0)"),
            release: format!("SELECT RELEASE_LOCK({name})"),
        }
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
}
