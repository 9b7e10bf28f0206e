//! What a sea-query builder does, read from its entry point and the methods called on it
//! (in one chain, or on a variable over several statements).

use cofferdam_lint::{
    Finding, Gate, Risk, classify_builder, column_type_narrows, modify_column_warning,
};
use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Expr, ExprLit, Lit};

use super::condition::{assignments, constant, every_row};
use super::strip;

/// One method call on a builder.
pub(crate) struct Call {
    pub(crate) method: String,
    pub(crate) args: Vec<Expr>,
}

/// A builder: where it starts (`Table::drop()`), what was called on it, and the tokens that
/// wrote it (the whole chain, or the `let` that started it).
pub(crate) struct Builder {
    pub(crate) kind: Kind,
    pub(crate) calls: Vec<Call>,
    pub(crate) tokens: TokenStream,
    pub(crate) judged: bool,
}

/// The statement a builder makes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    TableCreate,
    TableDrop,
    TableTruncate,
    TableAlter,
    TableRename,
    IndexDrop,
    ForeignKeyDrop,
    TypeDrop,
    ExtensionDrop,
    Delete,
    Update,
    /// A `drop()` on a type the scanner cannot name (an alias imported outside the function).
    SomeDrop,
}

/// The builder types sea-query's entry points are called on.
const KNOWN_TYPES: &[&str] = &["Table", "Index", "ForeignKey", "Type", "Extension", "Query"];

/// The kind of statement `Type::function()` starts; `ty` is already resolved through aliases.
/// `methods` are the names called on it, which decide for a type that is not known.
pub(crate) fn kind_of(ty: &str, function: &str, methods: &[String]) -> Option<Kind> {
    let has = |m: &str| methods.iter().any(|x| x == m);
    let kind = match (ty, function) {
        ("Table", "create") | ("TableCreateStatement", "new") => Kind::TableCreate,
        ("Table", "drop") | ("TableDropStatement", "new") => Kind::TableDrop,
        ("Table", "truncate") | ("TableTruncateStatement", "new") => Kind::TableTruncate,
        ("Table", "alter") | ("TableAlterStatement", "new") => Kind::TableAlter,
        ("Table", "rename") | ("TableRenameStatement", "new") => Kind::TableRename,
        ("Index", "drop") | ("IndexDropStatement", "new") => Kind::IndexDrop,
        ("ForeignKey", "drop") | ("ForeignKeyDropStatement", "new") => Kind::ForeignKeyDrop,
        ("Type", "drop") | ("TypeDropStatement", "new") => Kind::TypeDrop,
        ("Extension", "drop") | ("ExtensionDropStatement", "new") => Kind::ExtensionDrop,
        ("Query", "delete") | ("DeleteStatement", "new") => Kind::Delete,
        ("Query", "update") | ("UpdateStatement", "new") => Kind::Update,
        (ty, _) if KNOWN_TYPES.contains(&ty) || ty.ends_with("Statement") => return None,
        // An alias the scanner cannot resolve: only sea-query's builders take these chains.
        (_, "drop") if has("table") && !has("name") => Kind::TableDrop,
        (_, "drop") if has("name") => Kind::SomeDrop,
        (_, "truncate") if has("table") => Kind::TableTruncate,
        (_, "delete") if has("from_table") => Kind::Delete,
        (_, "update") if has("value") || has("values") => Kind::Update,
        (_, "alter") if has("table") => Kind::TableAlter,
        (_, "create") if has("col") => Kind::TableCreate,
        _ => return None,
    };
    Some(kind)
}

/// How an object is named in the code.
pub(crate) enum Name {
    /// A literal or an identifier type: the name itself.
    Known(String),
    /// A Rust variable: its value is only known at run time.
    Variable(String),
}

impl Name {
    fn text(&self) -> String {
        match self {
            Name::Known(name) => name.clone(),
            Name::Variable(var) => format!("<{var}>"),
        }
    }
}

/// A readable name for a builder argument: `"articles"`, `Alias::new("x")`, `("blog",
/// "articles")`, `Articles::Body`, or a variable.
pub(crate) fn name_of(expr: &Expr) -> Name {
    match strip(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Name::Known(s.value()),
        Expr::Call(call) if call.args.len() == 1 => name_of(&call.args[0]),
        Expr::Tuple(tuple) => Name::Known(
            tuple
                .elems
                .iter()
                .map(|e| name_of(e).text())
                .collect::<Vec<_>>()
                .join("."),
        ),
        Expr::MethodCall(call) if call.args.is_empty() => name_of(&call.receiver),
        Expr::Path(path) if path.path.segments.len() == 1 => {
            Name::Variable(path.path.segments[0].ident.to_string())
        }
        other => Name::Known(other.to_token_stream().to_string().replace(' ', "")),
    }
}

/// A finding, with the variable that names its object when the name is only known at run time.
pub(crate) struct Judged {
    pub(crate) finding: Finding,
    pub(crate) variable: Option<String>,
}

/// What a builder destroys and breaks, after telling `gate` what it creates and adds; and
/// whether a finding was spared because the revision created the table or added the column.
pub(crate) fn judge(builder: &Builder, gate: &mut Gate) -> (Vec<Judged>, bool) {
    let exempted = std::cell::Cell::new(false);
    let found = judge_with(builder, gate, &exempted);
    (found, exempted.get())
}

fn judge_with(builder: &Builder, gate: &mut Gate, exempted: &std::cell::Cell<bool>) -> Vec<Judged> {
    let calls = &builder.calls;
    let arg = |method: &str, i: usize| {
        calls
            .iter()
            .rev()
            .find(|c| c.method == method)
            .and_then(|c| c.args.get(i))
            .map(name_of)
    };
    let cascade = calls.iter().any(|c| c.method == "cascade");
    let table = arg("table", 0).or_else(|| arg("from_table", 0));
    let mut out = Vec::new();
    let mut push = |risk: Risk, operation: &str, object: Option<Name>, cascade: bool| {
        let (object, variable) = match object {
            Some(Name::Known(o)) => (Some(o), None),
            Some(Name::Variable(v)) => (None, Some(v)),
            None => (None, None),
        };
        out.push(Judged {
            finding: Finding::new(risk, operation, object).with_cascade(cascade),
            variable,
        });
    };
    let is_new = |gate: &Gate, name: &Option<Name>| {
        let new = matches!(name, Some(Name::Known(t)) if gate.is_new_table(t));
        exempted.set(exempted.get() || new);
        new
    };
    match builder.kind {
        Kind::TableCreate => {
            if let Some(Name::Known(t)) = &table {
                gate.note_created_table(t);
            }
        }
        Kind::TableDrop | Kind::TableTruncate => {
            let operation = if builder.kind == Kind::TableDrop {
                "DROP TABLE"
            } else {
                "TRUNCATE"
            };
            let tables: Vec<Name> = calls
                .iter()
                .filter(|c| c.method == "table")
                .filter_map(|c| c.args.first().map(name_of))
                .collect();
            if tables.is_empty() {
                push(Risk::Destructive, operation, None, cascade);
            }
            for t in tables {
                let t = Some(t);
                if !is_new(gate, &t) {
                    push(Risk::Destructive, operation, t, cascade);
                }
            }
        }
        Kind::TableRename => {
            if let Some(call) = calls.iter().find(|c| c.method == "table")
                && let [from, to] = call.args.as_slice()
            {
                let from = name_of(from);
                let renamed = Name::Known(format!("{} to {}", from.text(), name_of(to).text()));
                if !is_new(gate, &Some(from)) {
                    push(Risk::Breaking, "RENAME TABLE", Some(renamed), false);
                }
            }
        }
        Kind::TableAlter => alter(calls, table.as_ref(), gate, exempted, &mut push),
        Kind::IndexDrop | Kind::TypeDrop | Kind::ExtensionDrop | Kind::SomeDrop => {
            let operation = match builder.kind {
                Kind::IndexDrop => "DROP INDEX",
                Kind::TypeDrop => "DROP TYPE",
                Kind::ExtensionDrop => "DROP EXTENSION",
                _ => "DROP",
            };
            push(Risk::Destructive, operation, arg("name", 0), cascade);
        }
        Kind::ForeignKeyDrop => {
            let object = match (&table, arg("name", 0)) {
                (Some(t), Some(n)) => Some(Name::Known(format!("{}.{}", t.text(), n.text()))),
                (_, n) => n,
            };
            push(Risk::Destructive, "DROP FOREIGN KEY", object, false);
        }
        Kind::Delete => {
            if every_row(calls, exempted) && !is_new(gate, &table) {
                push(Risk::Destructive, "DELETE without WHERE", table, false);
            }
        }
        Kind::Update => {
            if every_row(calls, exempted) {
                for (column, value) in assignments(calls) {
                    let object = match (&table, column) {
                        (Some(t), Name::Known(c)) => {
                            if let Name::Known(t) = t
                                && gate.is_new_column(t, &c)
                            {
                                exempted.set(true);
                                continue;
                            }
                            Name::Known(format!("{}.{c}", t.text()))
                        }
                        (_, c) => c,
                    };
                    if constant(value) {
                        push(
                            Risk::Destructive,
                            "UPDATE without WHERE",
                            Some(object),
                            false,
                        );
                    }
                }
            }
        }
    }
    out
}

type Push<'a> = dyn FnMut(Risk, &str, Option<Name>, bool) + 'a;

fn alter(
    calls: &[Call],
    table: Option<&Name>,
    gate: &mut Gate,
    exempted: &std::cell::Cell<bool>,
    push: &mut Push<'_>,
) {
    let is_new_column = |gate: &Gate, t: &str, c: &str| {
        let new = gate.is_new_column(t, c);
        exempted.set(exempted.get() || new);
        new
    };
    let table_text = table.map(Name::text).unwrap_or_default();
    let known_table = match table {
        Some(Name::Known(t)) => Some(t.clone()),
        _ => None,
    };
    let in_table = |n: Name| match n {
        Name::Known(n) if !table_text.is_empty() => Name::Known(format!("{table_text}.{n}")),
        other => other,
    };
    for call in calls {
        let first = call.args.first().map(name_of);
        if let Some(operation) = classify_builder(None, &call.method) {
            if let (Some(t), Some(Name::Known(c))) = (&known_table, &first)
                && is_new_column(gate, t, c)
            {
                continue;
            }
            push(
                Risk::Destructive,
                operation,
                first.map(in_table),
                call.method == "drop_column" && calls.iter().any(|c| c.method == "cascade"),
            );
            continue;
        }
        match call.method.as_str() {
            "add_column" | "add_column_if_not_exists" => {
                if let (Some(t), Some(Name::Known(c))) =
                    (&known_table, call.args.first().and_then(column_name))
                {
                    gate.note_added_column(t, &c);
                }
            }
            "modify_column" => {
                let Some(def) = call.args.first() else {
                    continue;
                };
                let Some(column) = column_name(def) else {
                    // A definition built elsewhere: the runtime judges what it renders.
                    exempted.set(true);
                    continue;
                };
                if let (Some(t), Name::Known(c)) = (&known_table, &column)
                    && is_new_column(gate, t, c)
                {
                    continue;
                }
                let methods = column_methods(def);
                // A method that is neither a known type nor a known option (`vector(3)`, a
                // newer sea-query type): the runtime judges what it renders.
                if methods.iter().any(|(m, _)| {
                    column_type_narrows(m).is_none() && !COLUMN_OPTIONS.contains(&m.as_str())
                }) {
                    exempted.set(true);
                }
                if let Some(ty) = methods.iter().find(|(m, args)| narrows(m, args)) {
                    let object = Name::Known(format!(
                        "{} to {}",
                        in_table(column_clone(&column)).text(),
                        ty.1
                    ));
                    push(Risk::Destructive, "ALTER COLUMN TYPE", Some(object), false);
                }
                for (method, _) in &methods {
                    if let Some(operation) = modify_column_warning(method) {
                        push(
                            Risk::Breaking,
                            operation,
                            Some(in_table(column_clone(&column))),
                            false,
                        );
                    }
                }
            }
            "rename_column" => {
                if let [from, to] = call.args.as_slice() {
                    let from = name_of(from);
                    if let (Some(t), Name::Known(c)) = (&known_table, &from)
                        && gate.is_new_column(t, c)
                    {
                        continue;
                    }
                    let object = Name::Known(format!(
                        "{} to {}",
                        in_table(from).text(),
                        name_of(to).text()
                    ));
                    push(Risk::Breaking, "RENAME COLUMN", Some(object), false);
                }
            }
            _ => {}
        }
    }
}

fn column_clone(name: &Name) -> Name {
    match name {
        Name::Known(n) => Name::Known(n.clone()),
        Name::Variable(v) => Name::Variable(v.clone()),
    }
}

/// `ColumnDef` methods that set no type.
const COLUMN_OPTIONS: &[&str] = &[
    "null",
    "not_null",
    "default",
    "primary_key",
    "unique_key",
    "auto_increment",
    "extra",
    "comment",
    "check",
    "generated",
    "to_owned",
    "take",
    "clone",
];

/// The column a `ColumnDef::new("c")...` chain defines.
fn column_name(def: &Expr) -> Option<Name> {
    let mut expr = strip(def);
    while let Expr::MethodCall(call) = expr {
        expr = strip(&call.receiver);
    }
    match expr {
        Expr::Call(call) if call.args.len() == 1 => Some(name_of(&call.args[0])),
        _ => None,
    }
}

/// Whether a `ColumnDef` type method narrows: by its name, or for `custom("varchar(10)")` by
/// the SQL type it names (an unreadable custom type counts as narrowing).
fn narrows(method: &str, written: &str) -> bool {
    if method == "custom" {
        let inner = written
            .trim_start_matches("custom(")
            .trim_end_matches(')')
            .trim();
        return match inner.split('"').nth(1) {
            Some(sql_type) => cofferdam_lint::type_narrows(sql_type),
            None => true,
        };
    }
    if ["string_len", "var_binary"].contains(&method) {
        let bound: Option<u64> = written
            .split(['(', ')'])
            .nth(1)
            .and_then(|n| n.trim().parse().ok());
        if bound.is_some_and(|b| b >= 255) {
            return false;
        }
    }
    column_type_narrows(method) == Some(true)
}

/// The methods of a `ColumnDef` chain, with how they were written (`string_len(50)`).
fn column_methods(def: &Expr) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut expr = strip(def);
    while let Expr::MethodCall(call) = expr {
        let args = call
            .args
            .iter()
            .map(|a| a.to_token_stream().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        out.push((call.method.to_string(), format!("{}({args})", call.method)));
        expr = strip(&call.receiver);
    }
    out.reverse();
    out
}
