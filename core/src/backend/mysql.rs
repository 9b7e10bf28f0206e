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
        // GET_LOCK is server-wide, so the name includes the database; hashed
        // because lock names are limited to 64 characters.
        let name = format!(
            "CONCAT('cofferdam:', SHA1(CONCAT(DATABASE(), '.', {})))",
            self.literal(table)
        );
        LockMethod::Session {
            acquire: format!("SELECT GET_LOCK({name}, 0)"),
            release: format!("SELECT RELEASE_LOCK({name})"),
        }
    }
}
