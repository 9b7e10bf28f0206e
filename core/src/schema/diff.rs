//! The difference between two schemas, as the changes that turn one into
//! the other, in an order that applies: foreign keys and indexes go before
//! what they stand on, tables are created parents first.

use super::{Column, ForeignKey, Index, Schema, Table};
use crate::backend::Backend;
use std::collections::BTreeSet;

/// One change from the current schema to the target.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Change {
    /// A table the target has and the current schema lacks.
    CreateTable(Table),
    /// A table the target no longer has: loses every row.
    DropTable(Table),
    /// A new column.
    AddColumn {
        /// The table.
        table: String,
        /// The column.
        column: Column,
    },
    /// A column the target no longer has: loses its values.
    DropColumn {
        /// The table.
        table: String,
        /// The column as it is now.
        column: Column,
    },
    /// A column renamed, keeping its values: what a person chose for a
    /// [rename candidate](Diff::rename_candidates), never guessed.
    RenameColumn {
        /// The table.
        table: String,
        /// The name it has now.
        from: String,
        /// The name the target gives it.
        to: String,
    },
    /// A column whose type, nullability or default changes.
    AlterColumn {
        /// The table.
        table: String,
        /// The column as it is now.
        from: Column,
        /// The column as the target wants it.
        to: Column,
    },
    /// A new index or unique constraint.
    CreateIndex {
        /// The table.
        table: String,
        /// The index.
        index: Index,
    },
    /// An index the target no longer has.
    DropIndex {
        /// The table.
        table: String,
        /// The index, with its name in the database.
        index: Index,
    },
    /// A new foreign key on an existing table.
    AddForeignKey {
        /// The table.
        table: String,
        /// The key.
        key: ForeignKey,
    },
    /// A foreign key the target no longer has.
    DropForeignKey {
        /// The table.
        table: String,
        /// The key, with its name in the database.
        key: ForeignKey,
    },
}

/// What separates two schemas.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Diff {
    /// The changes, in the order they apply.
    pub changes: Vec<Change>,
    /// A column dropped and another of the same type added in one table:
    /// `(table, dropped, added)`. Offered as a rename, never guessed.
    pub rename_candidates: Vec<(String, String, String)>,
    /// Differences no change above expresses (a changed primary key) and
    /// what either side holds that cannot be compared: reported, not dropped.
    pub unsupported: Vec<String>,
    /// Objects (views, triggers, functions: [`Schema::objects`]) the target
    /// has and the current schema lacks. For live drift: made by hand.
    pub extra_objects: Vec<String>,
    /// Objects the current schema has and the target lacks. For
    /// autogenerate: what the migrations made that the models cannot
    /// declare (they stay as the migrations made them); for live drift:
    /// dropped by hand.
    pub missing_objects: Vec<String>,
    /// The rename candidates whose columns differ in more than the name
    /// (compared normalised, so spelling does not count).
    renames_that_alter: BTreeSet<(String, String, String)>,
}

impl Diff {
    /// No change and nothing unsupported.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.unsupported.is_empty()
    }

    /// Takes the rename candidate `(table, dropped, added)`: its drop and
    /// add become one [`Change::RenameColumn`], which keeps the values,
    /// followed by an [`Change::AlterColumn`] when the two columns differ in
    /// more than the name (nullability, default). False, and nothing
    /// changed, when it is not a candidate of this diff.
    pub fn accept_rename(&mut self, table: &str, dropped: &str, added: &str) -> bool {
        let key = (table.to_owned(), dropped.to_owned(), added.to_owned());
        let Some(at) = self.rename_candidates.iter().position(|c| *c == key) else {
            return false;
        };
        let dropped_at = self.changes.iter().position(|change| {
            matches!(change, Change::DropColumn { table: t, column } if t == table && column.name == dropped)
        });
        let added_at = self.changes.iter().position(|change| {
            matches!(change, Change::AddColumn { table: t, column } if t == table && column.name == added)
        });
        let (Some(drop_at), Some(add_at)) = (dropped_at, added_at) else {
            return false;
        };
        let (Change::DropColumn { column: from, .. }, Change::AddColumn { column: to, .. }) =
            (self.changes[drop_at].clone(), self.changes[add_at].clone())
        else {
            return false;
        };
        self.rename_candidates.remove(at);
        // Another candidate may have offered either column; it is spoken for.
        self.rename_candidates
            .retain(|(t, d, a)| !(t == table && (d == dropped || a == added)));
        let mut renamed = vec![Change::RenameColumn {
            table: table.to_owned(),
            from: from.name.clone(),
            to: to.name.clone(),
        }];
        if self.renames_that_alter.contains(&key) {
            // Shown as the model spells it where only the spelling differs.
            let from = Column {
                name: to.name.clone(),
                ty: to.ty.clone(),
                ..from
            };
            renamed.push(Change::AlterColumn {
                table: table.to_owned(),
                from,
                to,
            });
        }
        // The rename goes where the add was: after the drops of indexes
        // and keys that named the old column, before what is built on it.
        let (first, second) = (drop_at.min(add_at), drop_at.max(add_at));
        self.changes.remove(second);
        self.changes.remove(first);
        let at = if add_at > drop_at { add_at - 1 } else { add_at };
        self.changes.splice(at..at, renamed);
        true
    }
}

impl Change {
    /// The table the change is about.
    pub fn table(&self) -> &str {
        match self {
            Change::CreateTable(t) | Change::DropTable(t) => &t.name,
            Change::AddColumn { table, .. }
            | Change::DropColumn { table, .. }
            | Change::RenameColumn { table, .. }
            | Change::AlterColumn { table, .. }
            | Change::CreateIndex { table, .. }
            | Change::DropIndex { table, .. }
            | Change::AddForeignKey { table, .. }
            | Change::DropForeignKey { table, .. } => table,
        }
    }

    /// Whether the change loses data or schema, so that the compile-time
    /// gate will want a review.
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Change::DropTable(_)
                | Change::DropColumn { .. }
                | Change::DropIndex { .. }
                | Change::DropForeignKey { .. }
        )
    }

    /// What applying the change loses, for the comment above a drop.
    pub fn loses(&self) -> Option<String> {
        Some(match self {
            Change::DropTable(t) => format!(
                "loses data: every row of `{}` ({} column(s): {})",
                t.name,
                t.columns.len(),
                t.columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Change::DropColumn { table, column } => format!(
                "loses data: every value of `{table}.{}` ({:?}{})",
                column.name,
                column.ty,
                if column.nullable { ", nullable" } else { "" }
            ),
            Change::DropIndex { table, index } => format!(
                "drops schema, no rows: the {}index `{}` on `{table}` ({})",
                if index.unique { "unique " } else { "" },
                index.name,
                index.columns.join(", ")
            ),
            Change::DropForeignKey { table, key } => format!(
                "drops schema, no rows: the foreign key `{}` from `{table}` ({}) to `{}`",
                key.name,
                key.columns.join(", "),
                key.ref_table
            ),
            _ => return None,
        })
    }

    /// The change that undoes this one (for the generated `down`). Data a
    /// drop lost does not come back: the undo recreates the shape only.
    pub fn reverse(&self) -> Change {
        match self.clone() {
            Change::CreateTable(t) => Change::DropTable(t),
            Change::DropTable(t) => Change::CreateTable(t),
            Change::AddColumn { table, column } => Change::DropColumn { table, column },
            Change::DropColumn { table, column } => Change::AddColumn { table, column },
            Change::RenameColumn { table, from, to } => Change::RenameColumn {
                table,
                from: to,
                to: from,
            },
            Change::AlterColumn { table, from, to } => Change::AlterColumn {
                table,
                from: to,
                to: from,
            },
            Change::CreateIndex { table, index } => Change::DropIndex { table, index },
            Change::DropIndex { table, index } => Change::CreateIndex { table, index },
            Change::AddForeignKey { table, key } => Change::DropForeignKey { table, key },
            Change::DropForeignKey { table, key } => Change::AddForeignKey { table, key },
        }
    }

    /// The change read as drift, from what the migrations made to what the
    /// live database has: `extra index articles_views_idx on articles (views)`.
    pub fn describe_drift(&self) -> String {
        match self {
            Change::CreateTable(t) => {
                format!("extra table {} (not created by any migration)", t.name)
            }
            Change::DropTable(t) => format!("missing table {}", t.name),
            Change::AddColumn { table, column } => format!("extra column {table}.{}", column.name),
            Change::DropColumn { table, column } => {
                format!("missing column {table}.{}", column.name)
            }
            Change::RenameColumn { table, from, to } => {
                format!("column {table}.{from} is named {to} in the live database")
            }
            Change::AlterColumn { .. } => format!(
                "changed column: {}",
                self.describe().trim_start_matches("alter column ")
            ),
            Change::CreateIndex { table, index } => format!(
                "extra {}index {} on {table} ({})",
                if index.unique { "unique " } else { "" },
                index.name,
                index.columns.join(", ")
            ),
            Change::DropIndex { table, index } => format!(
                "missing index {} on {table} ({})",
                index.name,
                index.columns.join(", ")
            ),
            Change::AddForeignKey { table, key } => format!(
                "extra foreign key {table} ({}) -> {}",
                key.columns.join(", "),
                key.ref_table
            ),
            Change::DropForeignKey { table, key } => {
                format!("missing foreign key {} on {table}", key.name)
            }
        }
    }

    /// One line for a person: `add column articles.slug`.
    pub fn describe(&self) -> String {
        match self {
            Change::CreateTable(t) => format!("create table {}", t.name),
            Change::DropTable(t) => format!("drop table {}", t.name),
            Change::AddColumn { table, column } => format!("add column {table}.{}", column.name),
            Change::DropColumn { table, column } => format!("drop column {table}.{}", column.name),
            Change::RenameColumn { table, from, to } => {
                format!("rename column {table}.{from} to {to}")
            }
            Change::AlterColumn { table, from, to } => {
                let mut what = Vec::new();
                if from.ty != to.ty {
                    what.push(format!("type {:?} -> {:?}", from.ty, to.ty));
                }
                if from.nullable != to.nullable {
                    what.push(if to.nullable {
                        "drop not null".to_owned()
                    } else {
                        "set not null".to_owned()
                    });
                }
                if from.default != to.default {
                    let show = |d: &Option<super::ColumnDefault>| {
                        d.as_ref()
                            .map_or_else(|| "none".to_owned(), |d| d.describe())
                    };
                    what.push(format!(
                        "default {} -> {}",
                        show(&from.default),
                        show(&to.default)
                    ));
                }
                if from.auto_increment != to.auto_increment {
                    what.push(format!(
                        "auto_increment {} -> {}",
                        from.auto_increment, to.auto_increment
                    ));
                }
                format!("alter column {table}.{} ({})", to.name, what.join(", "))
            }
            Change::CreateIndex { table, index } => format!(
                "create {}index {} on {table} ({})",
                if index.unique { "unique " } else { "" },
                index.name,
                index.columns.join(", ")
            ),
            Change::DropIndex { table, index } => format!("drop index {} on {table}", index.name),
            Change::AddForeignKey { table, key } => format!(
                "add foreign key {table} ({}) -> {} ({})",
                key.columns.join(", "),
                key.ref_table,
                key.ref_columns.join(", ")
            ),
            Change::DropForeignKey { table, key } => {
                format!("drop foreign key {} on {table}", key.name)
            }
        }
    }
}

/// The changes that turn `current` into `target` on `backend`. Both are
/// compared [normalised](Schema::normalised) for the engine; the changes
/// carry the target as it was written (a model's `i32` stays `integer`
/// even where SQLite stores every integer alike).
pub fn diff(current: &Schema, target: &Schema, backend: Backend) -> Diff {
    let raw = target;
    let current = &current.clone().normalised(backend);
    let target = &target.clone().normalised(backend);
    let raw_table = |name: &str| raw.tables.get(name).cloned().unwrap_or_default();
    let raw_column = |table: &str, column: &Column| {
        raw.tables
            .get(table)
            .and_then(|t| t.column(&column.name))
            .cloned()
            .unwrap_or_else(|| column.clone())
    };
    let mut out = Diff::default();
    let mut drop_keys = Vec::new();
    let mut drop_indexes = Vec::new();
    let mut drop_tables = Vec::new();
    let mut create_tables = Vec::new();
    let mut columns = Vec::new();
    let mut create_indexes = Vec::new();
    let mut add_keys = Vec::new();

    for (name, table) in &target.tables {
        let Some(now) = current.tables.get(name) else {
            create_tables.push(raw_table(name));
            continue;
        };
        let added: Vec<&Column> = table
            .columns
            .iter()
            .filter(|c| now.column(&c.name).is_none())
            .collect();
        let dropped: Vec<&Column> = now
            .columns
            .iter()
            .filter(|c| table.column(&c.name).is_none())
            .collect();
        for column in &added {
            if let Some(old) = dropped.iter().find(|d| d.ty == column.ty) {
                let candidate = (name.clone(), old.name.clone(), column.name.clone());
                let renamed = Column {
                    name: column.name.clone(),
                    ..(*old).clone()
                };
                if renamed != **column {
                    out.renames_that_alter.insert(candidate.clone());
                }
                out.rename_candidates.push(candidate);
            }
            columns.push(Change::AddColumn {
                table: name.clone(),
                column: raw_column(name, column),
            });
        }
        for column in &table.columns {
            if let Some(old) = now.column(&column.name)
                && old != column
            {
                // What only differs in spelling is shown as the model spells it.
                let to = raw_column(name, column);
                let mut from = old.clone();
                if old.ty == column.ty {
                    from.ty = to.ty.clone();
                }
                if old.default == column.default {
                    from.default = to.default.clone();
                }
                columns.push(Change::AlterColumn {
                    table: name.clone(),
                    from,
                    to,
                });
            }
        }
        for column in dropped {
            columns.push(Change::DropColumn {
                table: name.clone(),
                column: column.clone(),
            });
        }
        if now.primary_key != table.primary_key {
            out.unsupported.push(format!(
                "the primary key of `{name}` changes from ({}) to ({}); autogenerate does not rewrite primary keys: write this by hand",
                now.primary_key.join(", "),
                table.primary_key.join(", ")
            ));
        }
        let same_index = |a: &Index, b: &Index| a.columns == b.columns && a.unique == b.unique;
        for index in &now.indexes {
            if !table.indexes.iter().any(|i| same_index(i, index)) {
                drop_indexes.push(Change::DropIndex {
                    table: name.clone(),
                    index: index.clone(),
                });
            }
        }
        for index in &table.indexes {
            if !now.indexes.iter().any(|i| same_index(i, index)) {
                create_indexes.push(Change::CreateIndex {
                    table: name.clone(),
                    index: index.clone(),
                });
            }
        }
        let same_key = |a: &ForeignKey, b: &ForeignKey| {
            (
                &a.columns,
                &a.ref_table,
                &a.ref_columns,
                a.on_delete,
                a.on_update,
            ) == (
                &b.columns,
                &b.ref_table,
                &b.ref_columns,
                b.on_delete,
                b.on_update,
            )
        };
        for key in &now.foreign_keys {
            if !table.foreign_keys.iter().any(|k| same_key(k, key)) {
                drop_keys.push(Change::DropForeignKey {
                    table: name.clone(),
                    key: key.clone(),
                });
            }
        }
        for key in &table.foreign_keys {
            if !now.foreign_keys.iter().any(|k| same_key(k, key)) {
                add_keys.push(Change::AddForeignKey {
                    table: name.clone(),
                    key: key.clone(),
                });
            }
        }
    }
    for (name, table) in &current.tables {
        if !target.tables.contains_key(name) {
            drop_tables.push(table.clone());
        }
    }

    out.changes.extend(drop_keys);
    out.changes.extend(drop_indexes);
    // Referencing tables first, so no foreign key points at a dropped table.
    let mut drops = parents_first(drop_tables);
    drops.reverse();
    out.changes.extend(drops.into_iter().map(Change::DropTable));
    out.changes.extend(
        parents_first(create_tables)
            .into_iter()
            .map(Change::CreateTable),
    );
    out.changes.extend(columns);
    out.changes.extend(create_indexes);
    out.changes.extend(add_keys);
    out.extra_objects = target
        .objects
        .difference(&current.objects)
        .cloned()
        .collect();
    out.missing_objects = current
        .objects
        .difference(&target.objects)
        .cloned()
        .collect();
    out.unsupported.extend(
        current
            .unsupported
            .iter()
            .map(|u| format!("in the database: {u}")),
    );
    out.unsupported.extend(
        target
            .unsupported
            .iter()
            .map(|u| format!("in the models: {u}")),
    );
    out
}

/// `tables` ordered so that a table comes after the tables it references
/// (among these); a cycle keeps the remaining tables in name order.
fn parents_first(mut tables: Vec<Table>) -> Vec<Table> {
    let names: BTreeSet<String> = tables.iter().map(|t| t.name.clone()).collect();
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let ready = tables.iter().position(|t| {
            t.foreign_keys.iter().all(|k| {
                k.ref_table == t.name
                    || !names.contains(&k.ref_table)
                    || placed.contains(&k.ref_table)
            })
        });
        let table = tables.remove(ready.unwrap_or(0));
        placed.insert(table.name.clone());
        out.push(table);
    }
    out
}
