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

    /// For an `ALTER TABLE`, its text in PostgreSQL's syntax, which can say
    /// every change: what a SQLite table rebuild is planned from when
    /// sea-query cannot render the statement for SQLite. None otherwise.
    fn alter_text(&self) -> Option<String> {
        None
    }
}

impl<S: Statement + ?Sized> Statement for &S {
    fn to_sql(&self, backend: Backend) -> String {
        (**self).to_sql(backend)
    }
    fn never_destructive(&self) -> bool {
        (**self).never_destructive()
    }
    fn alter_text(&self) -> Option<String> {
        (**self).alter_text()
    }
}

impl<S: Statement + ?Sized> Statement for &mut S {
    fn to_sql(&self, backend: Backend) -> String {
        (**self).to_sql(backend)
    }
    fn never_destructive(&self) -> bool {
        (**self).never_destructive()
    }
    fn alter_text(&self) -> Option<String> {
        (**self).alter_text()
    }
}

/// `statement` rendered for `backend`, or what sea-query said when it
/// panicked instead (an operation the engine lacks, such as changing a
/// column on SQLite). The panic is not printed: the caller reports it as
/// an error naming the revision.
pub(crate) fn render<S: Statement + ?Sized>(
    statement: &S,
    backend: Backend,
) -> Result<String, String> {
    use std::cell::Cell;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    thread_local!(static RENDERING: Cell<bool> = const { Cell::new(false) });
    static QUIET_HOOK: std::sync::Once = std::sync::Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !RENDERING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    RENDERING.with(|rendering| rendering.set(true));
    let result = catch_unwind(AssertUnwindSafe(|| statement.to_sql(backend)));
    RENDERING.with(|rendering| rendering.set(false));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "sea-query could not render it".to_owned())
    })
}

/// Implements [`Statement`] for sea-query types rendered by `$render`
/// (`SchemaStatementBuilder::to_string` or `QueryStatementWriter::to_string`).
macro_rules! statements {
    ($render:path; $($ty:ty => $safe:literal $(, alter = $alter:literal)?);* $(;)?) => {$(
        impl Statement for $ty {
            fn never_destructive(&self) -> bool {
                $safe
            }
            fn to_sql(&self, backend: Backend) -> String {
                with_builder!(backend, builder => $render(self, builder))
            }
            $(
                fn alter_text(&self) -> Option<String> {
                    $alter.then(|| $render(self, sea_query::PostgresQueryBuilder))
                }
            )?
        }
    )*};
}

statements!(
    SchemaStatementBuilder::to_string;
    sea_query::TableCreateStatement => true;
    sea_query::TableAlterStatement => false, alter = true;
    sea_query::TableDropStatement => false;
    sea_query::TableRenameStatement => true;
    sea_query::TableTruncateStatement => false;
    sea_query::IndexCreateStatement => true;
    sea_query::IndexDropStatement => false;
    sea_query::ForeignKeyCreateStatement => true;
    sea_query::ForeignKeyDropStatement => false;
);

statements!(
    QueryStatementWriter::to_string;
    sea_query::InsertStatement => true;
    sea_query::UpdateStatement => false;
    sea_query::DeleteStatement => false;
    sea_query::SelectStatement => true;
);
