//! [`Snapshot`]: the schema as the catalog reports it, as a value two
//! schemas can be compared with, and a readable list of differences.

use crate::backend::Conn;
use std::collections::BTreeMap;
use std::fmt;

/// The user tables of a database as the catalog reports them: columns with
/// type, nullability and default; indexes with their columns and
/// uniqueness; constraints (primary key, foreign keys, unique, check).
///
/// Ordered by name and comparable: two snapshots are equal when the schemas
/// are. [`Snapshot::diff`] lists what differs. The history table is left
/// out. See the module docs for what is not compared yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Snapshot {
    /// Every user table, by name.
    pub tables: BTreeMap<String, TableShape>,
}

/// One table of a [`Snapshot`].
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct TableShape {
    /// Columns by name (position is not compared).
    pub columns: BTreeMap<String, Column>,
    /// Indexes by name, including those behind unique and primary keys.
    pub indexes: BTreeMap<String, IndexShape>,
    /// Constraints by name.
    pub constraints: BTreeMap<String, Constraint>,
}

/// A column of a [`TableShape`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Column {
    /// The type as the catalog spells it (`character varying(200)`, `varchar(200)`).
    pub data_type: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The default expression, as the catalog prints it.
    pub default: Option<String>,
}

/// An index of a [`TableShape`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct IndexShape {
    /// Key columns or expressions in order, joined by `,`, with any predicate.
    pub columns: String,
    /// Whether the index is unique.
    pub unique: bool,
}

/// A constraint of a [`TableShape`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Constraint {
    /// `PRIMARY KEY`, `FOREIGN KEY`, `UNIQUE` or `CHECK`.
    pub kind: String,
    /// The definition as the catalog prints it.
    pub definition: String,
}

/// One way two snapshots differ, from the first (expected) to the second.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Difference {
    /// A table of the first is not in the second.
    TableMissing(String),
    /// The second has a table the first had not.
    TableExtra(String),
    /// Something of a table (`column`, `index`, `constraint`) is missing.
    Missing {
        /// `column`, `index` or `constraint`.
        what: &'static str,
        /// The table.
        table: String,
        /// Its name.
        name: String,
    },
    /// Something of a table is there that was not.
    Extra {
        /// `column`, `index` or `constraint`.
        what: &'static str,
        /// The table.
        table: String,
        /// Its name.
        name: String,
    },
    /// Something of a table changed.
    Changed {
        /// `column`, `index` or `constraint`.
        what: &'static str,
        /// The table.
        table: String,
        /// Its name.
        name: String,
        /// How it was.
        before: String,
        /// How it is.
        after: String,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::TableMissing(table) => write!(f, "table `{table}` is missing"),
            Difference::TableExtra(table) => write!(f, "table `{table}` is there but was not"),
            Difference::Missing { what, table, name } => {
                write!(f, "{what} `{name}` on `{table}` is missing")
            }
            Difference::Extra { what, table, name } => {
                write!(f, "{what} `{name}` on `{table}` is there but was not")
            }
            Difference::Changed {
                what,
                table,
                name,
                before,
                after,
            } => {
                write!(
                    f,
                    "{what} `{name}` on `{table}` changed: was {before}, now {after}"
                )
            }
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.data_type)?;
        f.write_str(if self.nullable { " NULL" } else { " NOT NULL" })?;
        match &self.default {
            Some(default) => write!(f, " DEFAULT {default}"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for IndexShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unique = if self.unique { "UNIQUE " } else { "" };
        write!(f, "{unique}({})", self.columns)
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.definition)
    }
}

impl Snapshot {
    /// Reads the catalog of the connected database, leaving out `history_table`
    /// and the tables cofferdam keeps beside it.
    pub(crate) async fn read(
        conn: &mut Conn,
        history_table: &str,
    ) -> Result<Snapshot, sqlx::Error> {
        let sql = conn.engine().snapshot_sql();
        let history = history_table.rsplit('.').next().unwrap_or(history_table);
        let mut snapshot = Snapshot::default();
        let ours = crate::history::own_tables(history);
        let kept = |name: &str| !ours.iter().any(|ours| name.eq_ignore_ascii_case(ours));
        for row in conn.fetch_text(sql.columns).await? {
            let [table_name, name, data_type, not_null, default] = fields(row);
            if kept(&table_name) {
                let shape = snapshot.tables.entry(table_name).or_default();
                let column = Column {
                    // Type names are case-insensitive; SQLite keeps them as
                    // written, and a table rebuild may spell them otherwise.
                    data_type: data_type.to_lowercase(),
                    nullable: not_null != "1",
                    default: nonempty(default),
                };
                shape.columns.insert(name, column);
            }
        }
        for row in conn.fetch_text(sql.indexes).await? {
            let [table_name, name, unique, columns, _] = fields(row);
            if kept(&table_name) {
                let shape = snapshot.tables.entry(table_name).or_default();
                shape.indexes.insert(
                    name,
                    IndexShape {
                        columns,
                        unique: unique == "1",
                    },
                );
            }
        }
        for row in conn.fetch_text(sql.constraints).await? {
            let [table_name, name, kind, definition, _] = fields(row);
            if kept(&table_name) {
                let shape = snapshot.tables.entry(table_name).or_default();
                shape
                    .constraints
                    .insert(name, Constraint { kind, definition });
            }
        }
        Ok(snapshot)
    }

    /// What differs from `self` (expected) to `other`, tables in name order;
    /// empty when the two are equal.
    pub fn diff(&self, other: &Snapshot) -> Vec<Difference> {
        let mut out = Vec::new();
        for (name, before) in &self.tables {
            match other.tables.get(name) {
                None => out.push(Difference::TableMissing(name.clone())),
                Some(after) => {
                    compare(&mut out, "column", name, &before.columns, &after.columns);
                    compare(&mut out, "index", name, &before.indexes, &after.indexes);
                    compare(
                        &mut out,
                        "constraint",
                        name,
                        &before.constraints,
                        &after.constraints,
                    );
                }
            }
        }
        for name in other
            .tables
            .keys()
            .filter(|name| !self.tables.contains_key(*name))
        {
            out.push(Difference::TableExtra(name.clone()));
        }
        out
    }
}

fn compare<T: PartialEq + fmt::Display>(
    out: &mut Vec<Difference>,
    what: &'static str,
    table: &str,
    before: &BTreeMap<String, T>,
    after: &BTreeMap<String, T>,
) {
    let (table, named) = (table.to_owned(), |name: &String| name.clone());
    for (name, was) in before {
        match after.get(name) {
            None => out.push(Difference::Missing {
                what,
                table: table.clone(),
                name: named(name),
            }),
            Some(now) if now != was => out.push(Difference::Changed {
                what,
                table: table.clone(),
                name: named(name),
                before: was.to_string(),
                after: now.to_string(),
            }),
            Some(_) => {}
        }
    }
    for name in after.keys().filter(|name| !before.contains_key(*name)) {
        out.push(Difference::Extra {
            what,
            table: table.clone(),
            name: named(name),
        });
    }
}

/// The first five columns of a row as text, NULL and missing as empty.
fn fields(row: Vec<Option<String>>) -> [String; 5] {
    let mut row = row.into_iter().map(Option::unwrap_or_default);
    std::array::from_fn(|_| row.next().unwrap_or_default())
}

fn nonempty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[(&str, &str)], indexes: &[(&str, &str)]) -> TableShape {
        TableShape {
            columns: columns
                .iter()
                .map(|(name, ty)| {
                    let column = Column {
                        data_type: (*ty).into(),
                        nullable: true,
                        default: None,
                    };
                    ((*name).to_owned(), column)
                })
                .collect(),
            indexes: indexes
                .iter()
                .map(|(name, cols)| {
                    (
                        (*name).to_owned(),
                        IndexShape {
                            columns: (*cols).into(),
                            unique: false,
                        },
                    )
                })
                .collect(),
            constraints: BTreeMap::new(),
        }
    }

    #[test]
    fn the_diff_names_each_difference_from_expected_to_actual() {
        let mut before = Snapshot::default();
        before.tables.insert(
            "a".into(),
            table(&[("id", "int"), ("slug", "text")], &[("a_slug", "slug")]),
        );
        before
            .tables
            .insert("gone".into(), table(&[("id", "int")], &[]));
        let mut after = Snapshot::default();
        after.tables.insert(
            "a".into(),
            table(&[("id", "bigint"), ("slug", "text")], &[]),
        );
        after
            .tables
            .insert("new".into(), table(&[("id", "int")], &[]));
        let diff: Vec<String> = before
            .diff(&after)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            diff,
            [
                "column `id` on `a` changed: was int NULL, now bigint NULL",
                "index `a_slug` on `a` is missing",
                "table `gone` is missing",
                "table `new` is there but was not",
            ]
        );
        assert!(before.diff(&before.clone()).is_empty());
    }
}
