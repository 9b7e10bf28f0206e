//! How a text is read: whole first, statement by statement when the parser rejects it, and
//! under several dialects when the backend is not known.

use sqlparser::ast::Statement;
use sqlparser::dialect::{GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::split::{Piece, split};
use crate::{Classification, Dialect, Finding, Risk, leading, sql};

/// PostgreSQL first, as the most common backend: findings are listed in the order of the first
/// dialect that parses the text. The order does not change which findings are reported.
const ANY_ORDER: [Dialect; 3] = [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite];

static POSTGRES: PostgreSqlDialect = PostgreSqlDialect {};
static MYSQL: MySqlDialect = MySqlDialect {};
static SQLITE: SQLiteDialect = SQLiteDialect {};
static GENERIC: GenericDialect = GenericDialect {};

pub(crate) fn parser_dialect(dialect: Dialect) -> &'static dyn sqlparser::dialect::Dialect {
    match dialect {
        Dialect::Postgres => &POSTGRES,
        Dialect::MySql => &MYSQL,
        Dialect::Sqlite => &SQLITE,
    }
}

fn parse(sql: &str, dialect: Dialect) -> Option<Vec<Statement>> {
    Parser::parse_sql(parser_dialect(dialect), sql).ok()
}

fn findings_of(statements: &[Statement]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for statement in statements {
        sql::statement_findings(statement, &mut findings);
    }
    findings
}

pub(crate) fn one_dialect(text: &str, dialect: Dialect) -> Classification {
    if let Some(statements) = parse(text, dialect) {
        return Classification {
            statements: Some(statements.len()),
            findings: findings_of(&statements),
        };
    }
    let Some(pieces) = split(text, dialect) else {
        return not_understood();
    };
    let mut findings = Vec::new();
    for piece in &pieces {
        // From the tokens already made: the text is not tokenized a second time.
        let parsed = parse_tokens(&piece.tokens, parser_dialect(dialect))
            .or_else(|| parse_tokens(&piece.tokens, &GENERIC));
        match parsed {
            Some(statements) => findings.extend(findings_of(&statements)),
            None => findings.extend(leading::findings(piece)),
        }
    }
    Classification {
        statements: Some(pieces.len()),
        findings,
    }
}

pub(crate) fn any_dialect(text: &str) -> Classification {
    if let Some((count, findings)) = parse_any(text) {
        return Classification {
            statements: Some(count),
            findings,
        };
    }
    // Each dialect's tokenizer may split the text differently (a `'\'` string in MySQL, `$$`
    // in PostgreSQL); keep the split under which the fewest statements stay unknown.
    let mut best: Option<Classification> = None;
    for dialect in ANY_ORDER {
        let Some(pieces) = split(text, dialect) else {
            continue;
        };
        let candidate = Classification {
            statements: Some(pieces.len()),
            findings: pieces.iter().flat_map(piece_any_dialect).collect(),
        };
        let unknowns = unknown_count(&candidate);
        if unknowns == 0 {
            return candidate;
        }
        if best.as_ref().is_none_or(|b| unknowns < unknown_count(b)) {
            best = Some(candidate);
        }
    }
    best.unwrap_or_else(not_understood)
}

/// One statement under every dialect that parses it, or by its leading tokens if none does.
fn piece_any_dialect(piece: &Piece<'_>) -> Vec<Finding> {
    if let Some((_, findings)) = parse_any(piece.text) {
        return findings;
    }
    match parse_tokens(&piece.tokens, &GENERIC) {
        Some(statements) => findings_of(&statements),
        None => leading::findings(piece),
    }
}

/// Parses tokens made by a dialect's tokenizer with `grammar`. Statements a backend's grammar
/// rejects are tried with sqlparser's generic grammar, which knows more syntax (MariaDB's
/// `ADD COLUMN IF NOT EXISTS`, which sea-query renders for MySQL); keeping the backend's tokens
/// keeps its reading of strings, quotes and comments.
fn parse_tokens(
    tokens: &[Token],
    grammar: &dyn sqlparser::dialect::Dialect,
) -> Option<Vec<Statement>> {
    Parser::new(grammar)
        .with_tokens(tokens.to_vec())
        .parse_statements()
        .ok()
}

/// The largest statement count and the merged findings of the dialects that parse `text`.
fn parse_any(text: &str) -> Option<(usize, Vec<Finding>)> {
    let mut result: Option<(usize, Vec<Finding>)> = None;
    for dialect in ANY_ORDER {
        let Some(statements) = parse(text, dialect) else {
            continue;
        };
        let findings = findings_of(&statements);
        match &mut result {
            None => result = Some((statements.len(), findings)),
            Some((count, merged)) => {
                *count = (*count).max(statements.len());
                merge_max(merged, findings);
            }
        }
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
    }
}
