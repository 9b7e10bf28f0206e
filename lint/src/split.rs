//! Splits text the parser rejected into statements, on the `;` tokens the tokenizer sees.
//!
//! Splitting on tokens, not characters, keeps semicolons inside strings, quoted identifiers,
//! dollar-quoted bodies and comments from cutting a statement in two. A `BEGIN ... END` body
//! (a SQLite trigger) is still cut at its inner `;`; the pieces then fail to parse and are
//! reported as unknown, so the error is on the safe side.

use std::ops::Range;

use sqlparser::tokenizer::{Location, Token, Tokenizer};

use crate::Dialect;
use crate::dialect::parser_dialect;

/// One statement of a text the parser rejected.
#[derive(Debug)]
pub(crate) struct Piece<'a> {
    /// The statement's text, without its `;`, for parsing under another dialect.
    pub(crate) text: &'a str,
    /// Its tokens, whitespace and comments included (the parser skips them itself).
    pub(crate) tokens: Vec<Token>,
    /// Where `text` is in the whole text, leading and trailing whitespace left out.
    pub(crate) range: Range<usize>,
}

impl Piece<'_> {
    /// Its tokens without whitespace and comments.
    pub(crate) fn significant(&self) -> impl Iterator<Item = &Token> {
        self.tokens
            .iter()
            .filter(|t| !matches!(t, Token::Whitespace(_)))
    }
}

/// The statements of `text`, or None if the tokenizer rejects it (an unterminated string, for
/// example). Pieces holding only whitespace and comments are not statements and are left out.
pub(crate) fn split(text: &str, dialect: Dialect) -> Option<Vec<Piece<'_>>> {
    let tokens = Tokenizer::new(parser_dialect(dialect), text)
        .tokenize_with_location()
        .ok()?;
    let mut offsets = Offsets::new(text);
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut current = Vec::new();
    for token in tokens {
        if token.token == Token::SemiColon {
            // Offsets never go backwards, but MySQL's `/*! ... */` hints are re-tokenized with
            // approximate locations, so clamp rather than trust them to be exact.
            let end = offsets.byte_offset(token.span.start).max(start);
            push_piece(&mut pieces, text, start..end, std::mem::take(&mut current));
            start = offsets.byte_offset(token.span.end).max(end);
        } else {
            current.push(token.token);
        }
    }
    push_piece(&mut pieces, text, start..text.len(), current);
    Some(pieces)
}

fn push_piece<'a>(
    pieces: &mut Vec<Piece<'a>>,
    whole: &'a str,
    range: Range<usize>,
    tokens: Vec<Token>,
) {
    let text = &whole[range.clone()];
    let start = range.start + (text.len() - text.trim_start().len());
    let end = (range.start + text.trim_end().len()).max(start);
    let piece = Piece {
        text,
        tokens,
        range: start..end,
    };
    if piece.significant().next().is_some() {
        pieces.push(piece);
    }
}

/// Turns the tokenizer's locations (1-based line, and column counted in characters) into byte
/// offsets. Locations are asked for in increasing order, so one forward walk serves them all.
struct Offsets<'a> {
    text: &'a str,
    byte: usize,
    line: u64,
    column: u64,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        Offsets {
            text,
            byte: 0,
            line: 1,
            column: 1,
        }
    }

    fn byte_offset(&mut self, location: Location) -> usize {
        for c in self.text[self.byte..].chars() {
            if (self.line, self.column) >= (location.line, location.column) {
                break;
            }
            self.byte += c.len_utf8();
            // The tokenizer starts a new line after '\n' only; '\r' is an ordinary column.
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.byte
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str, dialect: Dialect) -> Vec<&str> {
        split(sql, dialect)
            .expect("tokenizes")
            .iter()
            .map(|p| p.text.trim())
            .collect()
    }

    #[test]
    fn splits_on_top_level_semicolons() {
        assert_eq!(
            texts("DROP INDEX CONCURRENTLY i; DROP TABLE t", Dialect::Postgres),
            ["DROP INDEX CONCURRENTLY i", "DROP TABLE t"]
        );
    }

    #[test]
    fn keeps_semicolons_in_strings_comments_and_dollar_bodies() {
        let sql = "DO $$ BEGIN PERFORM 1; END $$; -- a; b\n\
                   INSERT INTO n VALUES ('x; y'); /* c; d */ SELECT \"e;f\"";
        assert_eq!(
            texts(sql, Dialect::Postgres),
            [
                "DO $$ BEGIN PERFORM 1; END $$",
                "-- a; b\nINSERT INTO n VALUES ('x; y')",
                "/* c; d */ SELECT \"e;f\""
            ]
        );
        assert_eq!(
            texts("SELECT `a;b`; SELECT 'c\\';d'", Dialect::MySql),
            ["SELECT `a;b`", "SELECT 'c\\';d'"]
        );
    }

    #[test]
    fn byte_offsets_survive_multibyte_text_and_newlines() {
        let sql = "INSERT INTO n VALUES ('é—ü');\r\n  SELECT '日本';\nDROP TABLE t;";
        assert_eq!(
            texts(sql, Dialect::Sqlite),
            [
                "INSERT INTO n VALUES ('é—ü')",
                "SELECT '日本'",
                "DROP TABLE t"
            ]
        );
    }

    #[test]
    fn empty_statements_and_comments_are_not_statements() {
        assert_eq!(split(";; -- only\n;", Dialect::Postgres).unwrap().len(), 0);
        assert_eq!(split("", Dialect::MySql).unwrap().len(), 0);
    }

    #[test]
    fn untokenizable_text_is_none() {
        assert!(split("SELECT 'unterminated", Dialect::Postgres).is_none());
    }
}
