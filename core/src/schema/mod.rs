//! The schema as autogenerate compares it: tables, columns, keys, indexes
//! and foreign keys, in one normalised shape whatever its source.
//!
//! Two sources fill it: the models (`#[derive(cofferdam::Model)]`, collected
//! by inventory, see [`model`]) and a live database, read with sea-schema
//! (`crate::backend` holds what each engine reports differently). Both are
//! passed through [`Schema::normalised`] for the engine at hand, so that
//! what a model says and what the database reports compare equal: type
//! aliases the engine does not keep apart (SQLite's integers), default
//! spellings (`now()`, `CURRENT_TIMESTAMP`, `'x'::text`), and index names,
//! which are never compared (an index is its columns and uniqueness).
//!
//! [`diff`] turns two schemas into [`Change`]s, and [`Change::statements`]
//! into sea-query statements; `migrate new --autogenerate` writes the same
//! changes as Rust code.

mod diff;
pub mod model;
mod shadow;
mod statements;

pub use diff::{Change, Diff, diff};
pub use model::{
    ColumnDefault, ForeignKeyAction, Model, ModelColumn, ModelForeignKey, ModelIndex, Type,
};
pub use shadow::{ShadowDatabase, ShadowKind};

use crate::backend::Backend;
use std::collections::{BTreeMap, BTreeSet};

/// A whole schema: its tables by name.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Schema {
    /// The tables, by name.
    pub tables: BTreeMap<String, Table>,
    /// What was seen but cannot be compared (a check constraint, a partial
    /// index, an engine-specific type): reported, never dropped.
    pub unsupported: Vec<String>,
    /// What a model cannot declare but a migration can make: views,
    /// triggers, functions, procedures, enum and domain types, by kind and
    /// name (`view cheap_items`, `trigger bonus on priced`). Compared by
    /// name only: live drift reports one added or removed by hand.
    pub objects: BTreeSet<String>,
}

/// One table.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// Columns, in declaration order.
    pub columns: Vec<Column>,
    /// The primary key's columns, in key order; empty for none.
    pub primary_key: Vec<String>,
    /// Indexes and unique constraints (a unique constraint is a unique index here).
    pub indexes: Vec<Index>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
}

/// One column.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// Its type, as sea-query would create it.
    pub ty: Type,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The default, if any.
    pub default: Option<ColumnDefault>,
    /// Whether the database numbers it (serial, AUTO_INCREMENT, AUTOINCREMENT).
    pub auto_increment: bool,
}

/// An index or a unique constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Index {
    /// Its name in the database, or the name autogenerate gives it.
    pub name: String,
    /// The indexed columns, in order.
    pub columns: Vec<String>,
    /// Whether it is unique.
    pub unique: bool,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ForeignKey {
    /// Its name in the database, or the name autogenerate gives it.
    pub name: String,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub ref_table: String,
    /// The referenced columns.
    pub ref_columns: Vec<String>,
    /// `ON DELETE`.
    pub on_delete: ForeignKeyAction,
    /// `ON UPDATE`.
    pub on_update: ForeignKeyAction,
}

impl Table {
    /// A table with no columns yet.
    pub fn new(name: &str) -> Table {
        Table {
            name: name.to_owned(),
            ..Table::default()
        }
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

impl Column {
    /// A NOT NULL column of type `ty` without default.
    pub fn new(name: &str, ty: Type) -> Column {
        Column {
            name: name.to_owned(),
            ty,
            nullable: false,
            default: None,
            auto_increment: false,
        }
    }
}

impl Index {
    /// The name autogenerate gives an index: `<table>_<columns>_key` when
    /// unique, `<table>_<columns>_idx` otherwise (PostgreSQL's own
    /// convention), cut to 63 bytes, the shortest limit of the three engines.
    pub fn default_name(table: &str, columns: &[String], unique: bool) -> String {
        let suffix = if unique { "key" } else { "idx" };
        short(format!("{table}_{}_{suffix}", columns.join("_")))
    }
}

impl ForeignKey {
    /// The name autogenerate gives a foreign key: `<table>_<columns>_fkey`.
    pub fn default_name(table: &str, columns: &[String]) -> String {
        short(format!("{table}_{}_fkey", columns.join("_")))
    }
}

fn short(mut name: String) -> String {
    if name.len() > 63 {
        let mut end = 63;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    name
}

impl Schema {
    /// The schema the models of `set` declare (see [`model`]).
    pub fn from_models(set: &str) -> Schema {
        model::schema(set)
    }

    /// This schema as `backend` would store it, so that a model and what
    /// the database reports compare equal. See the module docs.
    pub fn normalised(mut self, backend: Backend) -> Schema {
        let engine = backend.engine();
        for table in self.tables.values_mut() {
            for column in &mut table.columns {
                column.ty = engine.stored_type(&column.ty);
                if table.primary_key.contains(&column.name) {
                    column.nullable = false;
                }
                if column.auto_increment {
                    // The sequence is the default; engines report it apart or not at all.
                    column.default = None;
                }
                column.default = column
                    .default
                    .take()
                    .map(|d| d.normalised(&column.ty))
                    .filter(|d| !matches!(d, ColumnDefault::Null));
            }
            engine.normalise_table(table);
            // The primary key's own index is the key, not an index.
            let key = table.primary_key.clone();
            table.indexes.retain(|i| !(i.unique && i.columns == key));
            table
                .indexes
                .sort_by(|a, b| (&a.columns, a.unique).cmp(&(&b.columns, b.unique)));
            table
                .indexes
                .dedup_by(|a, b| a.columns == b.columns && a.unique == b.unique);
            table.foreign_keys.sort_by(|a, b| a.columns.cmp(&b.columns));
        }
        self.unsupported.sort();
        self.unsupported.dedup();
        self
    }
}
