//! Which `WHERE` clauses select every row, and which values overwrite a column with a constant.

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator, Value,
};

/// A `WHERE` that no row can fail: absent, `TRUE`, `1`, `1 = 1`, `'a' = 'a'`, `x OR TRUE`,
/// `NOT FALSE`. Anything that reads a column is assumed to select only some rows.
pub(crate) fn selects_every_row(selection: Option<&Expr>) -> bool {
    selection.is_none_or(always_true)
}

/// Whether a condition written as SQL text (`"1 = 1"`, `"TRUE"`, `"id = 3"`) selects every
/// row. Text that does not parse is taken as selecting some rows: the runtime judges the
/// statement it becomes.
pub fn condition_always_true(condition: &str) -> bool {
    parse_select(&format!("SELECT 1 WHERE {condition}"))
        .is_some_and(|select| select.selection.as_ref().is_some_and(always_true))
}

/// Whether a value written as SQL text (`"NULL"`, `"now()"`, `"lower(title)"`) reads no
/// column: setting every row to it overwrites them.
pub fn value_is_constant(value: &str) -> bool {
    parse_select(&format!("SELECT {value}")).is_some_and(|select| {
        matches!(
            select.projection.as_slice(),
            [sqlparser::ast::SelectItem::UnnamedExpr(expr)] if constant(expr)
        )
    })
}

/// The SELECT that `sql` (a text this module wrote around a fragment) parses
/// to, if it parses as one.
fn parse_select(sql: &str) -> Option<sqlparser::ast::Select> {
    let statements = sqlparser::parser::Parser::parse_sql(&crate::dialect::GENERIC, sql).ok()?;
    let Some(sqlparser::ast::Statement::Query(query)) = statements.into_iter().next() else {
        return None;
    };
    match *query.body {
        sqlparser::ast::SetExpr::Select(select) => Some(*select),
        _ => None,
    }
}

fn always_true(expr: &Expr) -> bool {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Boolean(b) => *b,
            // MySQL and SQLite take a non-zero number as true.
            Value::Number(n, _) => n.parse::<f64>().is_ok_and(|n| n != 0.0),
            _ => false,
        },
        Expr::Nested(inner) => always_true(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => always_false(expr),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::Or => always_true(left) || always_true(right),
            BinaryOperator::And => always_true(left) && always_true(right),
            BinaryOperator::Eq | BinaryOperator::GtEq | BinaryOperator::LtEq => {
                constant(left) && constant(right) && left.to_string() == right.to_string()
            }
            _ => false,
        },
        Expr::IsNotNull(inner) => matches!(&**inner, Expr::Value(v) if v.value != Value::Null),
        Expr::IsTrue(inner) => always_true(inner),
        _ => false,
    }
}

fn always_false(expr: &Expr) -> bool {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Boolean(b) => !*b,
            Value::Number(n, _) => n.parse::<f64>().is_ok_and(|n| n == 0.0),
            _ => false,
        },
        Expr::Nested(inner) => always_false(inner),
        _ => false,
    }
}

/// A value that reads no column and no subquery: `NULL`, `0`, `'x'`, `now()`, `CAST('1' AS
/// int)`. Setting every row to it overwrites what was there.
pub(crate) fn constant(expr: &Expr) -> bool {
    match expr {
        Expr::Value(_) | Expr::TypedString { .. } => true,
        Expr::Nested(inner) | Expr::UnaryOp { expr: inner, .. } => constant(inner),
        Expr::Cast { expr, .. } => constant(expr),
        Expr::BinaryOp { left, right, .. } => constant(left) && constant(right),
        Expr::Function(function) => match &function.args {
            FunctionArguments::None => true,
            FunctionArguments::List(list) => list.args.iter().all(|arg| match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                | FunctionArg::Named {
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => constant(e),
                _ => false,
            }),
            FunctionArguments::Subquery(_) => false,
        },
        _ => false,
    }
}
