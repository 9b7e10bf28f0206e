//! What the scanner reports, and how it shows SQL text in messages.

use cofferdam_lint::Finding;
use proc_macro2::TokenStream;

/// One finding, and the code it is in.
pub(crate) struct Found {
    /// What to point at: the whole builder chain or the SQL text.
    pub tokens: TokenStream,
    pub finding: Finding,
    /// The Rust variable that names the object, when it is only known at run time.
    pub variable: Option<String>,
    /// The statement, when the text holds several.
    pub statement: Option<String>,
}

impl Found {
    /// `DROP TABLE articles`, or `DROP TABLE (a table named by `name`)`.
    pub(crate) fn operation(&self) -> String {
        match &self.variable {
            Some(var) => format!("{} (named by `{var}`)", self.finding),
            None => self.finding.to_string(),
        }
    }

    /// The finding as a sentence's subject and verb.
    pub(crate) fn describe(&self) -> String {
        let Some(var) = &self.variable else {
            return self.finding.describe();
        };
        let operation = &self.finding.operation;
        let noun = if operation.contains("COLUMN") {
            "a column"
        } else if operation.contains("INDEX") {
            "an index"
        } else if operation.contains("KEY") || operation.contains("CONSTRAINT") {
            "a constraint"
        } else if operation.contains("TYPE") || operation.contains("EXTENSION") {
            "an object"
        } else {
            "a table"
        };
        let described = self.finding.describe();
        let shown = format!("`{}`", self.finding);
        described.replacen(
            &shown,
            &format!("`{}` on {noun} named by `{var}`", self.finding),
            1,
        )
    }
}

#[derive(Default)]
pub(crate) struct Scan {
    /// Destructive and unknown operations: each fails the build unless reviewed.
    pub found: Vec<Found>,
    /// Breaking but not destructive operations: warnings.
    pub warnings: Vec<Found>,
    /// SQL the compiler cannot see or cannot fully judge (it depends on a live table, or on
    /// what earlier statements of a run created): the runtime guard will. A review marker is
    /// then accepted even if nothing was found.
    pub dynamic: bool,
}

/// One statement of a longer text, on one line and at most 60 characters.
pub(crate) fn shorten(statement: &str) -> String {
    let one_line = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &one_line[..cut]),
        None => one_line,
    }
}

/// The identifier that stands for the `i`th placeholder of a template.
pub(crate) fn stand_in(i: usize) -> String {
    format!("cofferdam_placeholder_{i}")
}

/// Replaces `{...}` placeholders of a format string by plain identifiers so that the template
/// parses as SQL, and returns what each stood for; `{{` and `}}` become braces.
pub(crate) fn fill_placeholders(template: &str) -> (String, Vec<String>) {
    let mut holes = Vec::new();
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut hole = String::new();
                for inner in chars.by_ref() {
                    if inner == '}' {
                        break;
                    }
                    hole.push(inner);
                }
                out.push_str(&stand_in(holes.len()));
                holes.push(hole);
            }
            c => out.push(c),
        }
    }
    (out, holes)
}
