//! A stand-in for `Migration` that records the SQL a case sends, rendered for one backend the
//! way the runtime renders it (`runtime/src/statement.rs`).

#![allow(dead_code)]

use cofferdam_lint::Dialect;
use sea_query::{MysqlQueryBuilder, PostgresQueryBuilder, SqliteQueryBuilder};

/// The statements a case sent, in order.
pub struct Recorder {
    pub dialect: Dialect,
    pub sent: Vec<String>,
}

impl Recorder {
    pub fn new(dialect: Dialect) -> Self {
        Recorder {
            dialect,
            sent: Vec::new(),
        }
    }

    pub fn exec<S: Render>(&mut self, statement: S) {
        let sql = statement.render(self.dialect);
        self.sent.push(sql);
    }

    pub fn execute(&mut self, sql: &str) {
        self.sent.push(sql.to_owned());
    }

    /// A raw connection: what is sent through it is not seen by the guard.
    pub fn connection(&mut self) -> Raw {
        Raw
    }
}

/// What `Migration::connection` hands out, for cases that bypass the guard.
pub struct Raw;

impl Raw {
    pub fn execute(&mut self, _sql: &str) {}
}

/// A sea-query statement rendered for a backend.
pub trait Render {
    fn render(&self, dialect: Dialect) -> String;
}

impl<S: Render + ?Sized> Render for &S {
    fn render(&self, dialect: Dialect) -> String {
        (**self).render(dialect)
    }
}

impl<S: Render + ?Sized> Render for &mut S {
    fn render(&self, dialect: Dialect) -> String {
        (**self).render(dialect)
    }
}

macro_rules! schema {
    ($($ty:ty),*) => {$(
        impl Render for $ty {
            fn render(&self, dialect: Dialect) -> String {
                match dialect {
                    Dialect::Postgres => self.to_string(PostgresQueryBuilder),
                    Dialect::MySql => self.to_string(MysqlQueryBuilder),
                    Dialect::Sqlite => self.to_string(SqliteQueryBuilder),
                }
            }
        }
    )*};
}

schema!(
    sea_query::TableCreateStatement,
    sea_query::TableAlterStatement,
    sea_query::TableDropStatement,
    sea_query::TableRenameStatement,
    sea_query::TableTruncateStatement,
    sea_query::IndexCreateStatement,
    sea_query::IndexDropStatement,
    sea_query::ForeignKeyCreateStatement,
    sea_query::ForeignKeyDropStatement
);

macro_rules! query {
    ($($ty:ty),*) => {$(
        impl Render for $ty {
            fn render(&self, dialect: Dialect) -> String {
                use sea_query::QueryStatementWriter;
                match dialect {
                    Dialect::Postgres => QueryStatementWriter::to_string(self, PostgresQueryBuilder),
                    Dialect::MySql => QueryStatementWriter::to_string(self, MysqlQueryBuilder),
                    Dialect::Sqlite => QueryStatementWriter::to_string(self, SqliteQueryBuilder),
                }
            }
        }
    )*};
}

query!(
    sea_query::InsertStatement,
    sea_query::UpdateStatement,
    sea_query::DeleteStatement,
    sea_query::SelectStatement
);

impl Render for sea_query::extension::postgres::TypeDropStatement {
    fn render(&self, _dialect: Dialect) -> String {
        self.to_string(PostgresQueryBuilder)
    }
}
