//! What a function body does when it is called, for `CREATE FUNCTION ... AS '<literal>'`.
//!
//! The function runs later, perhaps in the same migration (`SELECT f()`), so what its body
//! destroys is reported when it is created: that is the last point where the text is seen.
//! Procedural bodies (PL/pgSQL) are read statement by statement; what the parser does not
//! understand there (`IF`, `LOOP`, `EXECUTE`) is skipped, not reported as unknown, since the
//! function is only being created.

use sqlparser::tokenizer::Token;

use crate::classify::parse_tokens;
use crate::dialect::{GENERIC, parser_dialect};
use crate::gate::State;
use crate::split::split;
use crate::sql::{Cx, statement_findings};
use crate::{Dialect, Finding, Risk, leading};

/// Words that open a procedural block before its first statement.
const BLOCK_WORDS: &[&str] = &["BEGIN", "ATOMIC", "DECLARE"];

pub(crate) fn findings(body: &str, dialect: Dialect) -> Vec<Finding> {
    let Some(pieces) = split(body, dialect) else {
        return Vec::new();
    };
    let mut state = State::default();
    let mut cx = Cx::new(dialect, &mut state);
    for piece in &pieces {
        let mut tokens: Vec<Token> = piece.tokens.clone();
        // Drop leading whitespace and block words: `BEGIN TRUNCATE t` is `TRUNCATE t`.
        loop {
            match tokens.first() {
                Some(Token::Whitespace(_)) => {
                    tokens.remove(0);
                }
                Some(Token::Word(w))
                    if w.quote_style.is_none()
                        && BLOCK_WORDS.iter().any(|b| w.value.eq_ignore_ascii_case(b)) =>
                {
                    tokens.remove(0);
                }
                _ => break,
            }
        }
        if tokens.is_empty() {
            continue;
        }
        let parsed = parse_tokens(&tokens, parser_dialect(dialect))
            .or_else(|| parse_tokens(&tokens, &GENERIC));
        match parsed {
            Some(statements) => {
                for statement in &statements {
                    statement_findings(statement, &mut cx);
                }
            }
            None => {
                let piece = crate::split::Piece {
                    text: piece.text,
                    tokens,
                    range: piece.range.clone(),
                };
                cx.findings.extend(
                    leading::findings(&piece)
                        .into_iter()
                        .filter(|f| f.risk == Risk::Destructive),
                );
            }
        }
    }
    cx.findings
}
