//! Names what an unparseable statement destroys from its leading tokens.
//!
//! sqlparser 0.63 rejects some real destructive SQL (`DROP INDEX CONCURRENTLY`, `ALTER COLUMN
//! ... DROP IDENTITY`, `TRUNCATE ... CASCADE` outside the PostgreSQL dialect). Telling the user
//! "DROP INDEX idx" is more useful than "unparseable SQL", and it is still refused unless
//! declared. Anything this module does not recognise stays [`Risk::Unknown`](crate::Risk).

use sqlparser::tokenizer::Token;

use crate::Finding;
use crate::split::Piece;

/// Kinds of object written with more than one word after `DROP`.
const COMPOUND_KINDS: &[&[&str]] = &[
    &["MATERIALIZED", "VIEW"],
    &["FOREIGN", "TABLE"],
    &["FOREIGN", "DATA", "WRAPPER"],
    &["EVENT", "TRIGGER"],
    &["ACCESS", "METHOD"],
    &["OPERATOR", "CLASS"],
    &["OPERATOR", "FAMILY"],
    &["USER", "MAPPING"],
    &["TEXT", "SEARCH", "CONFIGURATION"],
    &["TEXT", "SEARCH", "DICTIONARY"],
    &["TEXT", "SEARCH", "PARSER"],
    &["TEXT", "SEARCH", "TEMPLATE"],
    &["PROCEDURAL", "LANGUAGE"],
    &["TEMPORARY", "TABLE"],
    &["OWNED", "BY"],
];

/// Statements that keep every row and every object, whatever follows their first word:
/// settings, maintenance, and rebuilding derived data (sqlparser 0.63 rejects `PRAGMA x = OFF`,
/// `VACUUM ANALYZE`, `REINDEX ... CONCURRENTLY`, `REFRESH MATERIALIZED VIEW`).
const HARMLESS: &[&str] = &[
    "PRAGMA",
    "SET",
    "RESET",
    "SHOW",
    "ANALYZE",
    "VACUUM",
    "REINDEX",
    "REFRESH",
    "CLUSTER",
    "OPTIMIZE",
    "COMMENT",
    "CHECKPOINT",
];

/// `ALTER TABLE` actions that keep every row and every object.
const HARMLESS_ACTIONS: &[&str] = &[
    "ADD",
    "RENAME",
    "VALIDATE",
    "ENABLE",
    "DISABLE",
    "ALGORITHM",
    "LOCK",
    "OWNER",
    "FORCE",
    "NO",
    "INHERIT",
    "CLUSTER",
    "REPLICA",
];

/// The findings of a statement no dialect could parse: destructive ones when its leading tokens
/// say `DROP <kind>`, `TRUNCATE` or `ALTER TABLE <t> ... DROP ...`; none for a statement that
/// is harmless by its first word, an `ALTER TABLE` whose actions only add, rename or set
/// options, or an `ALTER` of another kind that drops nothing; a single unknown otherwise.
pub(crate) fn findings(piece: &Piece<'_>) -> Vec<Finding> {
    let tokens: Vec<&Token> = piece.significant().collect();
    let mut cursor = Cursor {
        tokens: &tokens,
        pos: 0,
    };
    if cursor
        .peek_keyword()
        .is_some_and(|w| HARMLESS.contains(&w.as_str()))
    {
        return Vec::new();
    }
    if cursor.followed_by(&["ALTER"])
        && !cursor.followed_by(&["ALTER", "TABLE"])
        && !top_level_words(&tokens).any(|w| w == "DROP")
    {
        return Vec::new();
    }
    let found = if cursor.eat("DROP") {
        drop_statement(&mut cursor)
    } else if cursor.eat("TRUNCATE") {
        truncate(&mut cursor)
    } else if cursor.eat("ALTER") && cursor.eat("TABLE") {
        let found = alter_table(&mut cursor);
        if found.is_empty() && adds_only(&mut cursor) {
            return Vec::new();
        }
        found
    } else {
        Vec::new()
    };
    if found.is_empty() {
        vec![Finding::unknown()]
    } else {
        found
    }
}

fn drop_statement(c: &mut Cursor<'_>) -> Vec<Finding> {
    let Some(first) = c.keyword() else {
        return Vec::new();
    };
    let mut kind = vec![first];
    // The longest compound whose words all follow, so `FOREIGN DATA WRAPPER` beats nothing.
    let compound = COMPOUND_KINDS
        .iter()
        .filter(|words| words[0] == kind[0] && c.followed_by(&words[1..]))
        .max_by_key(|words| words.len());
    if let Some(words) = compound {
        for word in &words[1..] {
            c.eat(word);
            kind.push((*word).to_owned());
        }
    }
    c.skip_modifiers(&["CONCURRENTLY", "TEMPORARY"]);
    let operation = format!("DROP {}", kind.join(" "));
    with_objects(&operation, c.names())
}

fn truncate(c: &mut Cursor<'_>) -> Vec<Finding> {
    c.eat("TABLE");
    c.skip_modifiers(&["ONLY"]);
    with_objects("TRUNCATE", c.names())
}

fn alter_table(c: &mut Cursor<'_>) -> Vec<Finding> {
    c.skip_modifiers(&["ONLY"]);
    let Some(table) = c.name() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for action in top_level_actions(c.rest()) {
        let mut a = Cursor {
            tokens: action,
            pos: 0,
        };
        if a.eat("DROP") {
            found.extend(alter_drop(&mut a, &table));
        } else if a.eat("ALTER") {
            a.eat("COLUMN");
            let Some(column) = a.name() else { continue };
            if a.seek("DROP") {
                // `ALTER COLUMN c DROP NOT NULL`, `DROP DEFAULT`, `DROP IDENTITY`, ...
                let mut words = vec!["DROP".to_owned()];
                while let Some(word) = a.keyword().filter(|w| w != "IF") {
                    words.push(word);
                }
                let operation = words.join(" ");
                let object = Some(format!("{table}.{column}"));
                // Dropping a constraint on values or a default loses no row.
                found.push(
                    if operation == "DROP NOT NULL" || operation == "DROP DEFAULT" {
                        Finding::breaking(operation, object)
                    } else {
                        Finding::destructive(operation, object)
                    },
                );
            }
        }
    }
    found
}

/// Whether every action of an `ALTER TABLE` (after its name) adds or renames something:
/// nothing is lost, whatever the parser did not understand in it (a type it does not know).
fn adds_only(c: &mut Cursor<'_>) -> bool {
    c.pos = 2;
    c.skip_modifiers(&["ONLY"]);
    if c.name().is_none() {
        return false;
    }
    top_level_actions(c.rest()).iter().all(|action| {
        let mut a = Cursor {
            tokens: action,
            pos: 0,
        };
        if a.eat("ALTER") {
            // `ALTER [COLUMN] c SET STATISTICS 100`, not `SET DATA TYPE`.
            a.eat("COLUMN");
            return a.name().is_some() && a.eat("SET") && !a.followed_by(&["DATA"]);
        }
        if a.eat("SET") {
            // `SET SCHEMA s`, `SET (fillfactor = 70)`, `SET LOGGED`.
            return true;
        }
        a.peek_keyword()
            .is_some_and(|w| HARMLESS_ACTIONS.contains(&w.as_str()))
    })
}

/// The unquoted words of a statement outside parentheses, upper-cased.
fn top_level_words<'t>(tokens: &'t [&'t Token]) -> impl Iterator<Item = String> + 't {
    let mut depth = 0usize;
    tokens.iter().filter_map(move |token| match token {
        Token::LParen => {
            depth += 1;
            None
        }
        Token::RParen => {
            depth = depth.saturating_sub(1);
            None
        }
        Token::Word(w) if depth == 0 && w.quote_style.is_none() => {
            Some(w.value.to_ascii_uppercase())
        }
        _ => None,
    })
}

/// An `ALTER TABLE` action after its `DROP`.
fn alter_drop(a: &mut Cursor<'_>, table: &str) -> Vec<Finding> {
    let in_table = |names: Vec<String>| names.into_iter().map(|n| format!("{table}.{n}")).collect();
    let (operation, objects): (&str, Vec<String>) = if a.eat("COLUMN") {
        a.skip_modifiers(&[]);
        ("DROP COLUMN", in_table(a.names()))
    } else if a.eat("CONSTRAINT") {
        a.skip_modifiers(&[]);
        ("DROP CONSTRAINT", in_table(a.names()))
    } else if a.eat("FOREIGN") && a.eat("KEY") {
        a.skip_modifiers(&[]);
        ("DROP FOREIGN KEY", in_table(a.names()))
    } else if a.eat("PRIMARY") && a.eat("KEY") {
        ("DROP PRIMARY KEY", vec![table.to_owned()])
    } else if a.eat("INDEX") || a.eat("KEY") {
        a.skip_modifiers(&[]);
        ("DROP INDEX", in_table(a.names()))
    } else if a.eat("CHECK") {
        ("DROP CHECK", in_table(a.names()))
    } else if a.eat("PARTITION") {
        ("DROP PARTITION", in_table(a.names()))
    } else if a.is_column_drop() {
        // `DROP [COLUMN]` without the keyword: PostgreSQL and MySQL allow it.
        a.skip_modifiers(&[]);
        ("DROP COLUMN", in_table(a.names()))
    } else {
        // Something else (`DROP ROW ACCESS POLICY p`): name its first word, on the table.
        let kind = a.keyword().unwrap_or_default();
        return vec![Finding::destructive(
            format!("DROP {kind}").trim_end().to_owned(),
            Some(table.to_owned()),
        )];
    };
    if objects.is_empty() {
        vec![Finding::destructive(operation, Some(table.to_owned()))]
    } else {
        with_objects(operation, objects)
    }
}

/// Splits `ALTER TABLE` actions on commas outside parentheses (`CHECK (a IN (1, 2))`).
fn top_level_actions<'t>(tokens: &'t [&'t Token]) -> Vec<&'t [&'t Token]> {
    let mut actions = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => {
                actions.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    actions.push(&tokens[start..]);
    actions
}

fn with_objects(operation: &str, objects: Vec<String>) -> Vec<Finding> {
    if objects.is_empty() {
        return vec![Finding::destructive(operation, None)];
    }
    objects
        .into_iter()
        .map(|o| Finding::destructive(operation, Some(o)))
        .collect()
}

/// A position in a statement's significant tokens.
struct Cursor<'t> {
    tokens: &'t [&'t Token],
    pos: usize,
}

impl<'t> Cursor<'t> {
    /// The next token as an upper-case keyword, if it is an unquoted word; consumes it.
    fn keyword(&mut self) -> Option<String> {
        let word = self.peek_keyword()?;
        self.pos += 1;
        Some(word)
    }

    fn peek_keyword(&self) -> Option<String> {
        match self.tokens.get(self.pos) {
            Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        }
    }

    /// Consumes the next token if it is the unquoted keyword `keyword`.
    fn eat(&mut self, keyword: &str) -> bool {
        let matches = self.peek_keyword().is_some_and(|w| w == keyword);
        if matches {
            self.pos += 1;
        }
        matches
    }

    fn followed_by(&self, keywords: &[&str]) -> bool {
        keywords.iter().enumerate().all(|(i, k)| {
            matches!(self.tokens.get(self.pos + i),
                Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(k))
        })
    }

    /// Skips `IF EXISTS` and the given modifier keywords, in any order.
    fn skip_modifiers(&mut self, modifiers: &[&str]) {
        loop {
            if self.followed_by(&["IF", "EXISTS"]) {
                self.pos += 2;
            } else if !modifiers.iter().any(|m| self.eat(m)) {
                return;
            }
        }
    }

    /// Whether the rest is `[IF EXISTS] name [CASCADE | RESTRICT]`, a column without `COLUMN`.
    fn is_column_drop(&self) -> bool {
        let mut probe = Cursor {
            tokens: self.tokens,
            pos: self.pos,
        };
        probe.skip_modifiers(&[]);
        if probe.name().is_none() {
            return false;
        }
        if !probe.eat("CASCADE") {
            probe.eat("RESTRICT");
        }
        probe.rest().is_empty()
    }

    /// Moves past the next `keyword` at this nesting level; false if there is none.
    fn seek(&mut self, keyword: &str) -> bool {
        let mut depth = 0usize;
        while let Some(token) = self.tokens.get(self.pos) {
            match token {
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                _ if depth == 0 && self.eat(keyword) => return true,
                _ => {}
            }
            self.pos += 1;
        }
        false
    }

    /// A possibly qualified name, `schema.table`, with quotes removed.
    fn name(&mut self) -> Option<String> {
        let mut parts = Vec::new();
        while let Some(Token::Word(w)) = self.tokens.get(self.pos) {
            parts.push(w.value.clone());
            self.pos += 1;
            if self.tokens.get(self.pos) != Some(&&Token::Period) {
                break;
            }
            self.pos += 1;
        }
        (!parts.is_empty()).then(|| parts.join("."))
    }

    /// Comma-separated names; a PostgreSQL `t *` (table and descendants) counts as `t`.
    fn names(&mut self) -> Vec<String> {
        let mut names = Vec::new();
        while let Some(name) = self.name() {
            names.push(name);
            if self.tokens.get(self.pos) == Some(&&Token::Mul) {
                self.pos += 1;
            }
            if self.tokens.get(self.pos) != Some(&&Token::Comma) {
                break;
            }
            self.pos += 1;
        }
        names
    }

    fn rest(&self) -> &'t [&'t Token] {
        &self.tokens[self.pos.min(self.tokens.len())..]
    }
}
