//! sea-query statements that [`crate::Migration::exec`] accepts.

use super::{Backend, with_builder};
use sea_query::{QueryStatementWriter, SchemaStatementBuilder};

/// A statement built with sea-query, rendered for the connected backend.
///
/// Implemented for sea-query's schema statements (`Table::create()`,
/// `Index::create()`, ...) and query statements (`Query::insert()`, ...),
/// and for references to them, so builder chains can be passed as they are.
pub trait Statement {
    /// The SQL text for `backend`, with values inlined.
    fn to_sql(&self, backend: Backend) -> String;

    /// True for statement kinds that cannot destroy data whatever their
    /// options (CREATE, INSERT, ...). The guard then tolerates rendered SQL
    /// the classifier cannot parse, such as sea-query's SQLite `real(10, 2)`;
    /// for every other kind, unparseable output is refused as usual.
    fn never_destructive(&self) -> bool {
        false
    }
}

impl<S: Statement + ?Sized> Statement for &S {
    fn to_sql(&self, backend: Backend) -> String {
        (**self).to_sql(backend)
    }
    fn never_destructive(&self) -> bool {
        (**self).never_destructive()
    }
}

impl<S: Statement + ?Sized> Statement for &mut S {
    fn to_sql(&self, backend: Backend) -> String {
        (**self).to_sql(backend)
    }
    fn never_destructive(&self) -> bool {
        (**self).never_destructive()
    }
}

/// Implements [`Statement`] for sea-query types rendered by `$render`
/// (`SchemaStatementBuilder::to_string` or `QueryStatementWriter::to_string`).
macro_rules! statements {
    ($render:path; $($ty:ty => $safe:literal),* $(,)?) => {$(
        impl Statement for $ty {
            fn never_destructive(&self) -> bool {
                $safe
            }
            fn to_sql(&self, backend: Backend) -> String {
                with_builder!(backend, builder => $render(self, builder))
            }
        }
    )*};
}

statements!(
    SchemaStatementBuilder::to_string;
    sea_query::TableCreateStatement => true,
    sea_query::TableAlterStatement => false,
    sea_query::TableDropStatement => false,
    sea_query::TableRenameStatement => true,
    sea_query::TableTruncateStatement => false,
    sea_query::IndexCreateStatement => true,
    sea_query::IndexDropStatement => false,
    sea_query::ForeignKeyCreateStatement => true,
    sea_query::ForeignKeyDropStatement => false,
);

statements!(
    QueryStatementWriter::to_string;
    sea_query::InsertStatement => true,
    sea_query::UpdateStatement => true,
    sea_query::DeleteStatement => false,
    sea_query::SelectStatement => true,
);
