//! sea-query statements that [`crate::Migration::exec`] accepts.

use crate::url::Backend;
use sea_query::{
    MysqlQueryBuilder, PostgresQueryBuilder, QueryStatementWriter, SqliteQueryBuilder,
};

/// A statement built with sea-query, rendered for the connected backend.
///
/// Implemented for sea-query's schema statements (`Table::create()`,
/// `Index::create()`, ...) and query statements (`Query::insert()`, ...),
/// and for references to them, so builder chains can be passed as they are.
pub trait Statement {
    /// The SQL text for `backend`, with values inlined.
    fn to_sql(&self, backend: Backend) -> String;
}

impl<S: Statement + ?Sized> Statement for &S {
    fn to_sql(&self, backend: Backend) -> String {
        (**self).to_sql(backend)
    }
}

impl<S: Statement + ?Sized> Statement for &mut S {
    fn to_sql(&self, backend: Backend) -> String {
        (**self).to_sql(backend)
    }
}

macro_rules! schema_statements {
    ($($ty:ty),* $(,)?) => {$(
        impl Statement for $ty {
            fn to_sql(&self, backend: Backend) -> String {
                match backend {
                    Backend::Postgres => self.to_string(PostgresQueryBuilder),
                    Backend::MySql => self.to_string(MysqlQueryBuilder),
                    Backend::Sqlite => self.to_string(SqliteQueryBuilder),
                }
            }
        }
    )*};
}

schema_statements!(
    sea_query::TableCreateStatement,
    sea_query::TableAlterStatement,
    sea_query::TableDropStatement,
    sea_query::TableRenameStatement,
    sea_query::TableTruncateStatement,
    sea_query::IndexCreateStatement,
    sea_query::IndexDropStatement,
    sea_query::ForeignKeyCreateStatement,
    sea_query::ForeignKeyDropStatement,
);

macro_rules! query_statements {
    ($($ty:ty),* $(,)?) => {$(
        impl Statement for $ty {
            fn to_sql(&self, backend: Backend) -> String {
                match backend {
                    Backend::Postgres => QueryStatementWriter::to_string(self, PostgresQueryBuilder),
                    Backend::MySql => QueryStatementWriter::to_string(self, MysqlQueryBuilder),
                    Backend::Sqlite => QueryStatementWriter::to_string(self, SqliteQueryBuilder),
                }
            }
        }
    )*};
}

query_statements!(
    sea_query::InsertStatement,
    sea_query::UpdateStatement,
    sea_query::DeleteStatement,
    sea_query::SelectStatement,
);
