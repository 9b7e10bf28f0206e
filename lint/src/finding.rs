//! What the classifier reports: findings, their class, and how to say them.

use std::fmt;
use std::ops::Range;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Risk {
    /// Loses data or schema: refused unless the migration is marked reviewed.
    Destructive,
    /// SQL that could not be understood: possibly destructive, never assumed safe.
    Unknown,
    /// Breaks the release still running (a rename, a dropped `NOT NULL` or default) but loses
    /// nothing: reported as a warning, never refused.
    Breaking,
}

/// One operation in the classified text that is not safe.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    /// How bad it is.
    pub risk: Risk,
    /// Upper-case operation, e.g. "DROP TABLE", "DROP COLUMN", "TRUNCATE", "DELETE without
    /// WHERE", "UPDATE without WHERE", "ALTER COLUMN TYPE", "DROP NOT NULL", "RENAME COLUMN",
    /// or "unparseable SQL" for [`Risk::Unknown`].
    pub operation: String,
    /// The object when known, with identifier quotes removed: "articles", "articles.body"
    /// (table.column), "articles.fk_author" (table.constraint), an index name ("articles.idx"
    /// when the statement names the table, as MySQL's `DROP INDEX idx ON articles` does);
    /// schema-qualified names keep their schema ("public.articles"). None when not known.
    pub object: Option<String>,
    /// The statement said `CASCADE`: dependent objects go too, and they are not listed.
    pub cascade: bool,
    /// Byte range, in the classified text, of the statement this finding is in; None when the
    /// statements could not be told apart.
    pub span: Option<Range<usize>>,
    /// A standard safer way to do the same thing, when there is one.
    pub hint: Option<&'static str>,
}

impl Finding {
    /// A finding with the standard hint for `operation`, for findings made outside SQL text
    /// (the macro's reading of sea-query builders).
    pub fn new(risk: Risk, operation: impl Into<String>, object: Option<String>) -> Self {
        let operation = operation.into();
        Finding {
            risk,
            hint: crate::finding::hint(&operation),
            operation,
            object,
            cascade: false,
            span: None,
        }
    }

    pub(crate) fn destructive(operation: impl Into<String>, object: Option<String>) -> Self {
        Finding::new(Risk::Destructive, operation, object)
    }

    pub(crate) fn breaking(operation: impl Into<String>, object: Option<String>) -> Self {
        Finding::new(Risk::Breaking, operation, object)
    }

    pub(crate) fn unknown() -> Self {
        Finding::new(Risk::Unknown, "unparseable SQL", None)
    }

    /// The same finding, marked `CASCADE` when `cascade` is true.
    pub fn with_cascade(mut self, cascade: bool) -> Self {
        self.cascade = cascade;
        self
    }

    /// Whether rows are lost (a table, column, schema or database, a truncate, a delete or an
    /// overwrite), as opposed to schema only (an index, a constraint, a view).
    pub fn loses_data(&self) -> bool {
        const DATA: &[&str] = &[
            "DROP TABLE",
            "DROP COLUMN",
            "DROP SCHEMA",
            "DROP DATABASE",
            "DROP PARTITION",
            "DROP MATERIALIZED VIEW",
            "DROP FOREIGN TABLE",
            "DROP TEMPORARY TABLE",
            "DROP SEQUENCE",
            "DROP OWNED BY",
            "TRUNCATE",
            "CREATE OR REPLACE TABLE",
            "DELETE without WHERE",
            "UPDATE without WHERE",
            "ALTER COLUMN TYPE",
        ];
        self.risk == Risk::Destructive && DATA.iter().any(|d| self.operation.starts_with(d))
    }

    /// The finding as a clause of a sentence, the same at compile time and at run time:
    /// "`DROP TABLE articles` loses data", "`DROP INDEX idx` drops schema",
    /// "`RENAME COLUMN a.b` breaks the running release but loses no data", "this SQL could not
    /// be parsed, so it is treated as destructive".
    pub fn describe(&self) -> String {
        match self.risk {
            Risk::Unknown => {
                "this SQL could not be parsed, so it is treated as destructive".to_owned()
            }
            Risk::Breaking => format!("`{self}` breaks the running release but loses no data"),
            _ if self.loses_data() => format!("`{self}` loses data"),
            _ => format!("`{self}` drops schema (no rows are lost)"),
        }
    }
}

/// The standard safer alternative for an operation, if any.
pub(crate) fn hint(operation: &str) -> Option<&'static str> {
    Some(match operation {
        "DROP COLUMN" => {
            "expand-contract: stop reading the column in one release, drop it in the next"
        }
        "DROP TABLE" => "expand-contract: stop using the table in one release, drop it in the next",
        "RENAME COLUMN" | "RENAME TABLE" | "CHANGE COLUMN" => {
            "expand-contract: add the new name, copy, switch readers, then drop the old name"
        }
        "ALTER COLUMN TYPE" => {
            "add a column of the new type, backfill it, switch readers, then drop the old column"
        }
        "DELETE without WHERE" | "UPDATE without WHERE" => {
            "add a WHERE that selects only the rows meant"
        }
        _ => return None,
    })
}

/// `DROP COLUMN articles.body`, `TRUNCATE articles CASCADE`, `unparseable SQL`: the operation,
/// then the object when known, then `CASCADE` when said.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.operation)?;
        if let Some(object) = &self.object {
            write!(f, " {object}")?;
        }
        if self.cascade {
            f.write_str(" CASCADE")?;
        }
        Ok(())
    }
}

/// A table rebuilt by copying it into a new table and dropping it, whose columns were not
/// known when the drop was judged: the caller should check that `copied` covers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuild {
    /// The table dropped after the copy.
    pub table: String,
    /// The columns copied out of it; None for `SELECT *` (every column).
    pub copied: Option<Vec<String>>,
}

impl Rebuild {
    /// The columns of `columns` (the old table's, from the catalog) the rebuild leaves out.
    pub fn lost<'a>(&self, columns: &'a [String]) -> Vec<&'a str> {
        let Some(copied) = &self.copied else {
            return Vec::new();
        };
        columns
            .iter()
            .filter(|c| !copied.iter().any(|k| k.eq_ignore_ascii_case(c)))
            .map(String::as_str)
            .collect()
    }
}

/// What a piece of SQL text holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Classification {
    /// Number of statements found in the text, when it was understood (needed by the runtime to
    /// attribute errors when several statements are sent in one round trip). None if not
    /// understood. Text that is empty or only comments holds `Some(0)`.
    ///
    /// When the parser rejects the text as a whole but its tokenizer accepts it, this is the
    /// number of statements between top-level `;`, even if some of them were not understood
    /// (those carry a finding).
    pub statements: Option<usize>,
    /// Everything destructive or not understood, in text order: one finding per object.
    pub findings: Vec<Finding>,
    /// Breaking but not destructive operations ([`Risk::Breaking`]), in text order.
    pub warnings: Vec<Finding>,
    /// Table rebuilds assumed faithful because the old table's columns were not known.
    pub rebuilds: Vec<Rebuild>,
    /// Something would have been reported but for what earlier statements of the revision did
    /// (a scratch table, a column it added, a rebuild that copies every column). The macro
    /// then accepts a review marker even if it reports nothing, since a run that takes another
    /// branch may judge differently.
    pub exempted: bool,
}

impl Classification {
    /// True when nothing destructive or unknown was found (warnings do not count).
    pub fn is_safe(&self) -> bool {
        self.findings.is_empty()
    }
}
