//! sqlparser's grammar for each backend, shared by the splitter and the parser.

use sqlparser::dialect::{GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};

use crate::Dialect;

static POSTGRES: PostgreSqlDialect = PostgreSqlDialect {};
static MYSQL: MySqlDialect = MySqlDialect {};
static SQLITE: SQLiteDialect = SQLiteDialect {};

/// sqlparser's generic grammar, which knows more syntax than a backend's (MariaDB's `ADD
/// COLUMN IF NOT EXISTS`); used over a backend's tokens when its own grammar fails.
pub(crate) static GENERIC: GenericDialect = GenericDialect {};

/// The tokenizer and grammar of `dialect`.
pub(crate) fn parser_dialect(dialect: Dialect) -> &'static dyn sqlparser::dialect::Dialect {
    match dialect {
        Dialect::Postgres => &POSTGRES,
        Dialect::MySql => &MYSQL,
        Dialect::Sqlite => &SQLITE,
    }
}
