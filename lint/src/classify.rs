//! How a text is read: whole first, statement by statement when the parser rejects it, and
//! under several dialects when the backend is not known.

use std::ops::Range;

use sqlparser::ast::Statement;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::dialect::{GENERIC, parser_dialect};
use crate::gate::State;
use crate::split::{Piece, split};
use crate::sql::{Cx, statement_findings};
use crate::{Classification, Dialect, Finding, Risk, leading};

/// PostgreSQL first, as the most common backend: findings are listed in the order of the first
/// dialect that parses the text. The order does not change which findings are reported.
const ANY_ORDER: [Dialect; 3] = [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite];

fn parse(sql: &str, dialect: Dialect) -> Option<Vec<Statement>> {
    Parser::parse_sql(parser_dialect(dialect), sql).ok()
}

/// Judges parsed statements in order; `ranges`, when it has one entry per statement, places
/// each finding in its statement.
fn judge(
    statements: &[Statement],
    ranges: Option<&[Range<usize>]>,
    dialect: Dialect,
    state: &mut State,
) -> Classification {
    let mut cx = Cx::new(dialect, state);
    let ranges = ranges.filter(|r| r.len() == statements.len());
    for (i, statement) in statements.iter().enumerate() {
        let (findings, warnings) = (cx.findings.len(), cx.warnings.len());
        statement_findings(statement, &mut cx);
        if let Some(ranges) = ranges {
            place(&mut cx.findings[findings..], &ranges[i]);
            place(&mut cx.warnings[warnings..], &ranges[i]);
        }
    }
    Classification {
        statements: Some(statements.len()),
        findings: cx.findings,
        warnings: cx.warnings,
        rebuilds: cx.rebuilds,
        exempted: cx.exempted,
    }
}

fn place(findings: &mut [Finding], range: &Range<usize>) {
    for finding in findings {
        finding.span = Some(range.clone());
    }
}

fn ranges(pieces: &[Piece<'_>]) -> Vec<Range<usize>> {
    pieces.iter().map(|p| p.range.clone()).collect()
}

pub(crate) fn one_dialect(text: &str, dialect: Dialect, state: &mut State) -> Classification {
    let pieces = split(text, dialect);
    if let Some(statements) = parse(text, dialect) {
        let ranges = pieces.as_deref().map(ranges);
        return judge(&statements, ranges.as_deref(), dialect, state);
    }
    let Some(pieces) = pieces else {
        return not_understood();
    };
    let mut all = Classification {
        statements: Some(pieces.len()),
        ..Classification::default()
    };
    for piece in &pieces {
        let one = piece_one_dialect(piece, dialect, state);
        absorb(&mut all, one, &piece.range);
    }
    all
}

/// One statement the whole-text parse rejected, under the backend's grammar, then the generic
/// grammar over the backend's tokens (it knows MariaDB's `ADD COLUMN IF NOT EXISTS`, which
/// sea-query renders for MySQL), then both again without a `real(p, s)` precision.
fn piece_one_dialect(piece: &Piece<'_>, dialect: Dialect, state: &mut State) -> Classification {
    let retry = without_real_precision(&piece.tokens);
    let attempts = std::iter::once(&piece.tokens).chain(retry.as_ref());
    for tokens in attempts {
        let parsed = parse_tokens(tokens, parser_dialect(dialect))
            .or_else(|| parse_tokens(tokens, &GENERIC));
        if let Some(statements) = parsed {
            return judge(&statements, None, dialect, state);
        }
    }
    let (warnings, findings) = leading::findings(piece)
        .into_iter()
        .partition(|f| f.risk == Risk::Breaking);
    Classification {
        statements: Some(1),
        findings,
        warnings,
        ..Classification::default()
    }
}

/// Adds the classification of one statement to the whole text's, placing its findings.
fn absorb(all: &mut Classification, mut one: Classification, range: &Range<usize>) {
    place(&mut one.findings, range);
    place(&mut one.warnings, range);
    all.findings.extend(one.findings);
    all.warnings.extend(one.warnings);
    all.rebuilds.extend(one.rebuilds);
    all.exempted |= one.exempted;
}

/// sea-query renders SQLite's `decimal_len(p, s)` as `real(p, s)`, which no sqlparser grammar
/// accepts; the precision changes nothing the classifier looks at. None if there is none.
fn without_real_precision(tokens: &[Token]) -> Option<Vec<Token>> {
    let significant = |t: &Token| !matches!(t, Token::Whitespace(_));
    let mut out = Vec::with_capacity(tokens.len());
    let mut changed = false;
    let mut i = 0;
    while i < tokens.len() {
        out.push(tokens[i].clone());
        if matches!(&tokens[i], Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("real"))
        {
            let rest: Vec<(usize, &Token)> = tokens[i + 1..]
                .iter()
                .enumerate()
                .filter(|(_, t)| significant(t))
                .take(5)
                .collect();
            let shape = rest.iter().map(|(_, t)| *t).collect::<Vec<_>>();
            if let [
                Token::LParen,
                Token::Number(..),
                Token::Comma,
                Token::Number(..),
                Token::RParen,
            ] = shape.as_slice()
            {
                i += rest[4].0 + 2;
                changed = true;
                continue;
            }
        }
        i += 1;
    }
    changed.then_some(out)
}

pub(crate) fn any_dialect(text: &str, state: &mut State) -> Classification {
    if let Some(found) = parse_any(text, state) {
        return found;
    }
    // Each dialect's tokenizer may split the text differently (a `'\'` string in MySQL, `$$`
    // in PostgreSQL); keep the split under which the fewest statements stay unknown.
    let mut best: Option<(Classification, State)> = None;
    for dialect in ANY_ORDER {
        let Some(pieces) = split(text, dialect) else {
            continue;
        };
        let mut trial = state.clone();
        let mut candidate = Classification {
            statements: Some(pieces.len()),
            ..Classification::default()
        };
        for piece in &pieces {
            let one = piece_any_dialect(piece, dialect, &mut trial);
            absorb(&mut candidate, one, &piece.range);
        }
        let unknowns = unknown_count(&candidate);
        if unknowns == 0 {
            *state = trial;
            return candidate;
        }
        if best
            .as_ref()
            .is_none_or(|(b, _)| unknowns < unknown_count(b))
        {
            best = Some((candidate, trial));
        }
    }
    match best {
        Some((classification, trial)) => {
            *state = trial;
            classification
        }
        None => not_understood(),
    }
}

/// One statement under every dialect that parses it, or as its tokenizing dialect reads it.
fn piece_any_dialect(piece: &Piece<'_>, dialect: Dialect, state: &mut State) -> Classification {
    if let Some(found) = parse_any(piece.text, state) {
        return found;
    }
    piece_one_dialect(piece, dialect, state)
}

/// Parses tokens made by a dialect's tokenizer with `grammar`. Keeping the backend's tokens
/// keeps its reading of strings, quotes and comments.
pub(crate) fn parse_tokens(
    tokens: &[Token],
    grammar: &dyn sqlparser::dialect::Dialect,
) -> Option<Vec<Statement>> {
    Parser::new(grammar)
        .with_tokens(tokens.to_vec())
        .parse_statements()
        .ok()
}

/// The largest statement count and the merged findings of the dialects that parse `text`.
fn parse_any(text: &str, state: &mut State) -> Option<Classification> {
    let mut result: Option<Classification> = None;
    let mut learned = State::default();
    for dialect in ANY_ORDER {
        let Some(statements) = parse(text, dialect) else {
            continue;
        };
        let pieces = split(text, dialect);
        let ranges = pieces.as_deref().map(ranges);
        let mut trial = state.clone();
        let found = judge(&statements, ranges.as_deref(), dialect, &mut trial);
        learned.union(trial);
        match &mut result {
            None => result = Some(found),
            Some(merged) => {
                merged.statements = merged.statements.max(found.statements);
                merged.exempted |= found.exempted;
                merge_max(&mut merged.findings, found.findings);
                merge_max(&mut merged.warnings, found.warnings);
                for rebuild in found.rebuilds {
                    if !merged.rebuilds.contains(&rebuild) {
                        merged.rebuilds.push(rebuild);
                    }
                }
            }
        }
    }
    if result.is_some() {
        state.union(learned);
    }
    result
}

/// Adds the findings of another dialect so that each finding appears as often as the dialect
/// that reports it most often: `DROP TABLE a` seen by three dialects is one finding, but
/// `DROP TABLE a; DROP TABLE a` stays two.
fn merge_max(merged: &mut Vec<Finding>, other: Vec<Finding>) {
    let before = merged.len();
    for (i, finding) in other.iter().enumerate() {
        let nth = other[..=i].iter().filter(|f| *f == finding).count();
        let have = merged[..before].iter().filter(|f| *f == finding).count();
        if nth > have {
            merged.push(finding.clone());
        }
    }
}

fn unknown_count(classification: &Classification) -> usize {
    classification
        .findings
        .iter()
        .filter(|f| f.risk == Risk::Unknown)
        .count()
}

fn not_understood() -> Classification {
    Classification {
        statements: None,
        findings: vec![Finding::unknown()],
        ..Classification::default()
    }
}
