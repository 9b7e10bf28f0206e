//! MySQL and MariaDB: DDL commits implicitly, so nothing is transactional or
//! pipelined; the lock is `GET_LOCK`, polled with its result checked.

use super::engine::{Engine, LockMethod};
use sea_query::{MysqlQueryBuilder, QueryBuilder};

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
        let (schema, table) = match table.rsplit_once('.') {
            Some((schema, table)) => (self.literal(schema), table),
            None => ("DATABASE()".to_owned(), table),
        };
        format!(
            "SELECT column_name FROM information_schema.columns \
             WHERE table_schema = {schema} AND LOWER(table_name) = LOWER({}) ORDER BY ordinal_position",
            self.literal(table)
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
