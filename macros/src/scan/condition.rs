//! The conditions and values of DELETE and UPDATE builders: which select every row, and
//! which overwrite with a constant.

use cofferdam_lint::condition_always_true;
use quote::ToTokens;
use syn::{Expr, ExprLit, Lit};

use super::builder::{Call, Name, name_of};
use super::strip;

/// Whether a DELETE or UPDATE builder's conditions select every row: none given, `None`
/// given to `and_where_option`, or only constant conditions that are true. A condition the
/// scanner cannot read (a variable) is taken as selecting some rows, and `unsure` is set: the
/// runtime judges the rendered statement, and a review marker must be accepted.
pub(crate) fn every_row(calls: &[Call], unsure: &std::cell::Cell<bool>) -> bool {
    let mut conditions = Vec::new();
    for call in calls {
        match call.method.as_str() {
            "and_where" | "cond_where" | "or_where" => conditions.extend(call.args.first()),
            "and_where_option" => match call.args.first().map(strip) {
                Some(Expr::Path(p)) if p.path.is_ident("None") => {}
                Some(Expr::Call(c)) if is_some(c) => conditions.extend(c.args.first()),
                // An option only known at run time: assume it holds a condition.
                Some(other) => {
                    unsure.set(true);
                    conditions.push(other);
                }
                None => {}
            },
            _ => {}
        }
    }
    conditions.iter().all(|c| match condition_true(c) {
        Some(always) => always,
        None => {
            unsure.set(true);
            false
        }
    })
}

fn is_some(call: &syn::ExprCall) -> bool {
    matches!(&*call.func, Expr::Path(p) if p.path.is_ident("Some"))
}

/// Whether a condition written in Rust is always true: `Expr::cust("1 = 1")`,
/// `Expr::val(1).eq(1)`, `Expr::value(true)`. A condition that names a column selects some
/// rows; None when the scanner cannot tell (a variable, a helper's result).
fn condition_true(condition: &Expr) -> Option<bool> {
    let condition = strip(condition);
    if let Expr::Call(call) = condition
        && let Expr::Path(path) = &*call.func
        && path.path.segments.last().is_some_and(|s| s.ident == "cust")
        && let Some(Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        })) = call.args.first().map(strip)
    {
        return Some(condition_always_true(&text.value()));
    }
    let text = condition.to_token_stream().to_string();
    if matches!(condition, Expr::Path(p) if p.path.segments.len() == 1) {
        return None;
    }
    let reads_something = [
        "col",
        "column",
        "tbl",
        "cust",
        "exists",
        "in_subquery",
        "false",
    ]
    .iter()
    .any(|w| text.contains(w));
    if reads_something {
        return Some(false);
    }
    literal_only(condition).then_some(true)
}

/// Whether an expression is built from literals and sea-query's value constructors only.
fn literal_only(expr: &Expr) -> bool {
    match strip(expr) {
        Expr::Lit(_) => true,
        Expr::Path(p) => p.path.is_ident("None") || p.path.segments.len() > 1,
        Expr::Call(call) => call.args.iter().all(literal_only),
        Expr::MethodCall(call) => {
            literal_only(&call.receiver) && call.args.iter().all(literal_only)
        }
        Expr::Unary(u) => literal_only(&u.expr),
        _ => false,
    }
}

/// `(column, value)` pairs of an UPDATE builder: `.value(c, v)` and `.values([(c, v), ...])`.
pub(crate) fn assignments(calls: &[Call]) -> Vec<(Name, &Expr)> {
    let mut out = Vec::new();
    for call in calls {
        match (call.method.as_str(), call.args.as_slice()) {
            ("value", [column, value]) => out.push((name_of(column), value)),
            ("values", [list]) => {
                if let Expr::Array(array) = strip(list) {
                    for elem in &array.elems {
                        if let Expr::Tuple(t) = strip(elem)
                            && let [column, value] = t.elems.iter().collect::<Vec<_>>().as_slice()
                        {
                            out.push((name_of(column), *value));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether an UPDATE value overwrites with a constant. sea-query inlines values, so a Rust
/// variable is a constant in the SQL too; only values that read a column are not.
pub(crate) fn constant(value: &Expr) -> bool {
    // `Expr::cust("NULL")`: the SQL text decides.
    let mut inner = strip(value);
    while let Expr::MethodCall(call) = inner
        && call.args.is_empty()
    {
        inner = strip(&call.receiver);
    }
    if let Expr::Call(call) = inner
        && let Expr::Path(path) = &*call.func
        && path.path.segments.last().is_some_and(|s| s.ident == "cust")
        && let Some(Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        })) = call.args.first().map(strip)
    {
        return cofferdam_lint::value_is_constant(&text.value());
    }
    let text = value.to_token_stream().to_string();
    !["col", "column", "tbl", "cust"]
        .iter()
        .any(|w| text.contains(w))
}
