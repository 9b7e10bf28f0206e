//! The progress table, `<history table>_backfill`: one row per revision and
//! table, written in the same transaction as each batch.

use crate::backend::{Backend, Statement};
use sea_query::{ColumnDef, Expr, ExprTrait, Index, Query, TableName};

/// The progress table of one history table.
#[derive(Debug, Clone)]
pub(crate) struct StateTable {
    name: String,
    history: String,
}

/// A backfill's recorded progress.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    pub last_key: Option<String>,
    pub rows: u64,
    pub finished: bool,
}

impl StateTable {
    /// The progress table beside history table `history` (a valid name).
    pub(crate) fn beside(history: &str) -> StateTable {
        StateTable {
            name: format!("{history}_backfill"),
            history: history.to_owned(),
        }
    }

    /// The history table it sits beside.
    pub(crate) fn history(&self) -> &str {
        &self.history
    }

    /// The table's name, for messages.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    fn sea(&self) -> TableName {
        match self.name.split_once('.') {
            Some((schema, table)) => (schema.to_owned(), table.to_owned()).into(),
            None => self.name.clone().into(),
        }
    }

    pub(crate) fn create_sql(&self, backend: Backend) -> String {
        sea_query::Table::create()
            .table(self.sea())
            .if_not_exists()
            .col(ColumnDef::new("revision").string_len(255).not_null())
            .col(ColumnDef::new("target").string_len(255).not_null())
            .col(ColumnDef::new("last_key").text().null())
            .col(ColumnDef::new("rows_done").big_integer().not_null())
            .col(ColumnDef::new("finished").small_integer().not_null())
            .primary_key(Index::create().col("revision").col("target"))
            .to_sql(backend)
    }

    pub(crate) fn select_sql(&self, backend: Backend, revision: &str, target: &str) -> String {
        Query::select()
            .columns(["last_key", "rows_done", "finished"])
            .from(self.sea())
            .and_where(Expr::col("revision").eq(revision))
            .and_where(Expr::col("target").eq(target))
            .to_sql(backend)
    }

    pub(crate) fn insert_sql(&self, backend: Backend, revision: &str, target: &str) -> String {
        Query::insert()
            .into_table(self.sea())
            .columns(["revision", "target", "last_key", "rows_done", "finished"])
            .values_panic([
                revision.into(),
                target.into(),
                Option::<&str>::None.into(),
                0i64.into(),
                0i16.into(),
            ])
            .to_sql(backend)
    }

    /// Records a batch: the last key done and `rows` more rows.
    pub(crate) fn advance_sql(
        &self,
        backend: Backend,
        revision: &str,
        target: &str,
        last_key: &str,
        rows: u64,
    ) -> String {
        Query::update()
            .table(self.sea())
            .value("last_key", last_key)
            .value(
                "rows_done",
                Expr::col("rows_done").add(i64::try_from(rows).unwrap_or(i64::MAX)),
            )
            .and_where(Expr::col("revision").eq(revision))
            .and_where(Expr::col("target").eq(target))
            .to_sql(backend)
    }

    /// Records a batch whose row count the server gives as `changed` (an
    /// expression evaluated right after the batch's statement).
    pub(crate) fn advance_by_sql(
        &self,
        backend: Backend,
        revision: &str,
        target: &str,
        last_key: &str,
        changed: &'static str,
    ) -> String {
        Query::update()
            .table(self.sea())
            .value("last_key", last_key)
            .value("rows_done", Expr::col("rows_done").add(Expr::cust(changed)))
            .and_where(Expr::col("revision").eq(revision))
            .and_where(Expr::col("target").eq(target))
            .to_sql(backend)
    }

    pub(crate) fn finish_sql(&self, backend: Backend, revision: &str, target: &str) -> String {
        Query::update()
            .table(self.sea())
            .value("finished", 1i16)
            .and_where(Expr::col("revision").eq(revision))
            .and_where(Expr::col("target").eq(target))
            .to_sql(backend)
    }

    /// Forgets the progress of `revision`, once it is recorded as applied.
    pub(crate) fn forget_sql(&self, backend: Backend, revision: &str) -> String {
        Query::delete()
            .from_table(self.sea())
            .and_where(Expr::col("revision").eq(revision))
            .to_sql(backend)
    }
}

/// Reads a row of [`StateTable::select_sql`].
pub(crate) fn parse(row: Vec<Option<String>>) -> Progress {
    let mut cells = row.into_iter();
    let last_key = cells.next().flatten();
    let rows = cells
        .next()
        .flatten()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let finished = cells.next().flatten().is_some_and(|s| s != "0");
    Progress {
        last_key,
        rows,
        finished,
    }
}
