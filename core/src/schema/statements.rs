//! A [`Change`] as sea-query statements, rendered for one engine. The code
//! `migrate new --autogenerate` writes builds the very same statements;
//! these are what the shadow database runs to prove it.

use super::{Change, Column, ColumnDefault, ForeignKey, ForeignKeyAction, Index, Table, Type};
use crate::backend::{Backend, Statement};
use sea_query::{ColumnDef, Expr, ForeignKeyCreateStatement, IndexCreateStatement};

impl Change {
    /// Why `backend` cannot apply this change with sea-query's builders
    /// (SQLite alters neither columns nor foreign keys in place), or None.
    pub fn unexpressible(&self, backend: Backend) -> Option<String> {
        let engine = backend.engine();
        match self {
            Change::AlterColumn { .. } if !engine.alters_columns() => Some(format!(
                "{}: {backend} cannot alter a column in place; rebuild the table by hand (create the new table, copy, drop, rename)",
                self.describe()
            )),
            Change::AddForeignKey { .. } | Change::DropForeignKey { .. }
                if !engine.alters_foreign_keys() =>
            {
                Some(format!(
                    "{}: {backend} cannot add or drop a foreign key on an existing table; rebuild the table by hand",
                    self.describe()
                ))
            }
            _ => None,
        }
    }

    /// The change as SQL statements for `backend`. Call
    /// [`unexpressible`](Change::unexpressible) first: sea-query panics on
    /// what an engine cannot do.
    pub fn statements(&self, backend: Backend) -> Vec<String> {
        let sql = |s: &dyn Statement| s.to_sql(backend);
        match self {
            Change::CreateTable(table) => {
                let mut out = vec![sql(&create_table(table))];
                out.extend(
                    table
                        .indexes
                        .iter()
                        .map(|i| sql(&create_index(&table.name, i))),
                );
                out
            }
            Change::DropTable(table) => {
                vec![sql(sea_query::Table::drop().table(table.name.clone()))]
            }
            Change::AddColumn { table, column } => vec![sql(sea_query::Table::alter()
                .table(table.clone())
                .add_column(column_def(column, false)))],
            Change::DropColumn { table, column } => vec![sql(sea_query::Table::alter()
                .table(table.clone())
                .drop_column(column.name.clone()))],
            Change::RenameColumn { table, from, to } => vec![sql(sea_query::Table::alter()
                .table(table.clone())
                .rename_column(from.clone(), to.clone()))],
            Change::AlterColumn { table, to, .. } => vec![sql(sea_query::Table::alter()
                .table(table.clone())
                .modify_column(column_def(to, false)))],
            Change::CreateIndex { table, index } => vec![sql(&create_index(table, index))],
            Change::DropIndex { table, index } => vec![sql(sea_query::Index::drop()
                .name(index.name.clone())
                .table(table.clone()))],
            Change::AddForeignKey { table, key } => vec![sql(&foreign_key(table, key))],
            Change::DropForeignKey { table, key } => vec![sql(sea_query::ForeignKey::drop()
                .name(key.name.clone())
                .table(table.clone()))],
        }
    }
}

fn create_table(table: &Table) -> sea_query::TableCreateStatement {
    let mut create = sea_query::Table::create();
    create.table(table.name.clone());
    let inline_key = table.primary_key.len() == 1;
    for column in &table.columns {
        let primary = inline_key && table.primary_key[0] == column.name;
        create.col(column_def(column, primary));
    }
    if table.primary_key.len() > 1 {
        let mut key = sea_query::Index::create();
        for column in &table.primary_key {
            key.col(column.clone());
        }
        create.primary_key(&mut key);
    }
    for key in &table.foreign_keys {
        create.foreign_key(&mut foreign_key(&table.name, key));
    }
    create
}

fn create_index(table: &str, index: &Index) -> IndexCreateStatement {
    let mut create = sea_query::Index::create();
    create.name(index.name.clone()).table(table.to_owned());
    for column in &index.columns {
        create.col(column.clone());
    }
    if index.unique {
        create.unique();
    }
    create
}

fn foreign_key(table: &str, key: &ForeignKey) -> ForeignKeyCreateStatement {
    let mut create = sea_query::ForeignKey::create();
    create
        .name(key.name.clone())
        .from_tbl(table.to_owned())
        .to_tbl(key.ref_table.clone());
    for column in &key.columns {
        create.from_col(column.clone());
    }
    for column in &key.ref_columns {
        create.to_col(column.clone());
    }
    if key.on_delete != ForeignKeyAction::NoAction {
        create.on_delete(action(key.on_delete));
    }
    if key.on_update != ForeignKeyAction::NoAction {
        create.on_update(action(key.on_update));
    }
    create
}

pub(crate) fn action(action: ForeignKeyAction) -> sea_query::ForeignKeyAction {
    match action {
        ForeignKeyAction::NoAction => sea_query::ForeignKeyAction::NoAction,
        ForeignKeyAction::Restrict => sea_query::ForeignKeyAction::Restrict,
        ForeignKeyAction::Cascade => sea_query::ForeignKeyAction::Cascade,
        ForeignKeyAction::SetNull => sea_query::ForeignKeyAction::SetNull,
        ForeignKeyAction::SetDefault => sea_query::ForeignKeyAction::SetDefault,
    }
}

/// The column as a sea-query definition; `primary`: with `PRIMARY KEY` inline.
fn column_def(column: &Column, primary: bool) -> ColumnDef {
    let mut def = ColumnDef::new(column.name.clone());
    match &column.ty {
        Type::SmallInt => def.small_integer(),
        Type::Int => def.integer(),
        Type::BigInt => def.big_integer(),
        Type::Bool => def.boolean(),
        Type::Float => def.float(),
        Type::Double => def.double(),
        Type::Decimal(Some((p, s))) => def.decimal_len(*p, *s),
        Type::Decimal(None) => def.decimal(),
        Type::Varchar(n) => def.string_len(*n),
        Type::Text => def.text(),
        Type::Blob => def.blob(),
        Type::Date => def.date(),
        Type::Time => def.time(),
        Type::Timestamp => def.date_time(),
        Type::TimestampTz => def.timestamp_with_time_zone(),
        Type::Uuid => def.uuid(),
        Type::Json => def.json(),
        Type::Custom(name) => def.custom(name.to_string()),
    };
    if column.nullable {
        def.null();
    } else {
        def.not_null();
    }
    if column.auto_increment {
        def.auto_increment();
    }
    if primary {
        def.primary_key();
    }
    if let Some(default) = &column.default {
        def.default(default_expr(default));
    }
    def
}

fn default_expr(default: &ColumnDefault) -> Expr {
    match default {
        ColumnDefault::Null => Expr::cust("NULL"),
        ColumnDefault::Int(i) => Expr::val(*i),
        ColumnDefault::Float(f) => Expr::val(*f),
        ColumnDefault::Bool(b) => Expr::val(*b),
        ColumnDefault::Text(t) => Expr::val(t.to_string()),
        ColumnDefault::Sql(s) => Expr::cust(s.to_string()),
    }
}
