//! Judging the statements of one revision together, in order.

use std::collections::{HashMap, HashSet};

use crate::{Classification, Dialect, classify};

/// What earlier statements of the revision did, as far as the classifier cares. Names are
/// kept lower-case, without quotes.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    /// Tables the revision created: dropping, emptying or overwriting them loses nothing.
    pub(crate) created: HashSet<String>,
    /// `(table, column)` the revision added: a constant backfill of them overwrites nothing.
    pub(crate) added: HashSet<(String, String)>,
    /// Known columns of tables, from `CREATE TABLE` and `ADD COLUMN` seen by this gate, and
    /// from [`Gate::learn_columns`].
    pub(crate) columns: HashMap<String, Vec<String>>,
    /// Tables copied into a table the revision created, with the columns copied (None: `*`).
    pub(crate) copied: HashMap<String, Option<Vec<String>>>,
}

impl State {
    pub(crate) fn is_new_table(&self, table: &str) -> bool {
        self.created.contains(&key(table))
    }

    pub(crate) fn is_new_column(&self, table: &str, column: &str) -> bool {
        self.is_new_table(table) || self.added.contains(&(key(table), key(column)))
    }

    /// Adds what `other` learned (another dialect's reading of the same text).
    pub(crate) fn union(&mut self, other: State) {
        self.created.extend(other.created);
        self.added.extend(other.added);
        for (table, columns) in other.columns {
            self.columns.entry(table).or_insert(columns);
        }
        for (table, copied) in other.copied {
            self.copied.entry(table).or_insert(copied);
        }
    }
}

/// Lower-case name without identifier quotes, for comparing names.
pub(crate) fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Classifies the statements of one revision in order, remembering what earlier ones did:
/// tables it created (a scratch table may be dropped), columns it added (a constant backfill
/// of a new column overwrites nothing), and copies into new tables (a faithful SQLite
/// rebuild drops nothing).
///
/// The macro judges a migration body with one gate for any dialect; the runtime judges the
/// statements it sends with one gate per revision for its backend, so both decide the same.
///
/// ```
/// use cofferdam_lint::{Dialect, Gate};
///
/// let mut gate = Gate::new(Dialect::Sqlite);
/// gate.learn_columns("items", ["id", "name", "price"]);
/// gate.classify("CREATE TABLE items_new (id INTEGER, name TEXT)");
/// gate.classify("INSERT INTO items_new (id, name) SELECT id, name FROM items");
/// let drop = gate.classify("DROP TABLE items");
/// assert_eq!(drop.findings[0].to_string(), "DROP COLUMN items.price");
/// ```
#[derive(Debug, Clone)]
pub struct Gate {
    dialect: Option<Dialect>,
    state: State,
}

impl Gate {
    /// A gate for one backend (run time).
    pub fn new(dialect: Dialect) -> Self {
        Gate {
            dialect: Some(dialect),
            state: State::default(),
        }
    }

    /// A gate for text whose backend is not known (compile time): see
    /// [`classify_sql_any_dialect`](crate::classify_sql_any_dialect).
    pub fn any_dialect() -> Self {
        Gate {
            dialect: None,
            state: State::default(),
        }
    }

    /// Classifies the next statement (or statements) of the revision.
    pub fn classify(&mut self, sql: &str) -> Classification {
        match self.dialect {
            Some(dialect) => classify::one_dialect(sql, dialect, &mut self.state),
            None => classify::any_dialect(sql, &mut self.state),
        }
    }

    /// Tells the gate the current columns of `table` (from the catalog), so that a rebuild of
    /// it can be checked.
    pub fn learn_columns<S: AsRef<str>>(
        &mut self,
        table: &str,
        columns: impl IntoIterator<Item = S>,
    ) {
        let columns = columns.into_iter().map(|c| key(c.as_ref())).collect();
        self.state.columns.insert(key(table), columns);
    }

    /// Records a table the revision created by other means than SQL text (a sea-query
    /// builder the macro read), so that dropping it later in the revision is not reported.
    pub fn note_created_table(&mut self, table: &str) {
        self.state.created.insert(key(table));
    }

    /// Records a column the revision added by other means than SQL text.
    pub fn note_added_column(&mut self, table: &str, column: &str) {
        self.state.added.insert((key(table), key(column)));
    }

    /// Whether the revision created `table` (so dropping or emptying it loses nothing).
    pub fn is_new_table(&self, table: &str) -> bool {
        self.state.is_new_table(table)
    }

    /// Whether the revision added `column` to `table`, or created the table.
    pub fn is_new_column(&self, table: &str, column: &str) -> bool {
        self.state.is_new_column(table, column)
    }

    /// Forgets what the revision created, added and copied (keeping the known columns), to
    /// judge the next revision.
    pub fn next_revision(&mut self) {
        self.state.created.clear();
        self.state.added.clear();
        self.state.copied.clear();
    }
}
