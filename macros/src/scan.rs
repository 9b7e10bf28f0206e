//! Finds destructive operations in a migration body at compile time.
//!
//! Looks at sea-query builder chains (`Table::drop()`, `.drop_column(..)`,
//! `Query::delete()` without a WHERE, ...) and at SQL text given to
//! `execute`/`fetch_*`: string literals, `concat!` of literals, literals
//! bound with `let`, and the template of `format!`. Everything it cannot see
//! (SQL from a variable or a helper, raw connections) is left to the runtime
//! guard and counted as dynamic.

use cofferdam_lint::{Risk, classify_builder, classify_sql_any_dialect};
use proc_macro2::Span;
use std::collections::HashMap;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, ExprCall, ExprLit, ExprMacro, ExprMethodCall, Lit, LitStr, Local, Pat, Token};

/// One destructive or unknown operation, and where it is.
pub(crate) struct Found {
    pub span: Span,
    pub risk: Risk,
    /// e.g. `DROP COLUMN articles.body`.
    pub operation: String,
}

#[derive(Default)]
pub(crate) struct Scan {
    pub found: Vec<Found>,
    /// SQL the compiler cannot see: the runtime guard will judge it.
    pub dynamic: bool,
}

pub(crate) fn scan(block: &syn::Block) -> Scan {
    let mut visitor = Visitor::default();
    visitor.visit_block(block);
    visitor.scan
}

/// Methods of `Migration` that take SQL text as their first argument.
const SQL_METHODS: &[&str] = &["execute", "fetch_all", "fetch_optional"];
/// Builder methods that give a DELETE its WHERE.
const WHERE_METHODS: &[&str] = &["and_where", "cond_where", "and_where_option"];

#[derive(Default)]
struct Visitor {
    scan: Scan,
    /// `let sql = "...";` bindings, by name.
    literals: HashMap<String, (String, Span)>,
}

impl Visitor {
    fn sql(&mut self, text: &str, span: Span) {
        self.sql_findings(text, span, true);
    }

    /// `unknown`: whether unparseable text counts. It does for literals
    /// (fail closed), not for `format!` templates, whose placeholders can
    /// stand for anything: the runtime guard judges the finished text.
    fn sql_findings(&mut self, text: &str, span: Span, unknown: bool) {
        for finding in classify_sql_any_dialect(text).findings {
            if finding.risk == Risk::Unknown && !unknown {
                continue;
            }
            self.scan.found.push(Found {
                span,
                risk: finding.risk,
                operation: finding.to_string(),
            });
        }
    }

    /// The SQL argument of `execute` and friends.
    fn sql_argument(&mut self, argument: &Expr) {
        match strip(argument) {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => self.sql(&s.value(), s.span()),
            Expr::Macro(ExprMacro { mac, .. }) if mac.path.is_ident("concat") => {
                match mac.parse_body_with(Punctuated::<LitStr, Token![,]>::parse_terminated) {
                    Ok(parts) => {
                        let text: String = parts.iter().map(LitStr::value).collect();
                        self.sql(&text, mac.span());
                    }
                    Err(_) => self.scan.dynamic = true,
                }
            }
            Expr::Macro(ExprMacro { mac, .. }) if mac.path.is_ident("format") => {
                self.scan.dynamic = true;
                if let Ok(template) = mac.parse_body_with(|input: syn::parse::ParseStream<'_>| {
                    let template: LitStr = input.parse()?;
                    let _rest: proc_macro2::TokenStream = input.parse()?;
                    Ok(template)
                }) {
                    self.sql_findings(
                        &fill_placeholders(&template.value()),
                        template.span(),
                        false,
                    );
                }
            }
            Expr::Path(path) => match path
                .path
                .get_ident()
                .and_then(|ident| self.literals.get(&ident.to_string()))
            {
                Some((text, span)) => {
                    let (text, span) = (text.clone(), *span);
                    self.sql(&text, span);
                }
                None => self.scan.dynamic = true,
            },
            _ => self.scan.dynamic = true,
        }
    }

    /// A builder chain, outermost call first.
    fn chain(&mut self, chain: &[&ExprMethodCall], root: &Expr) {
        let mut operations: Vec<(Span, String)> = Vec::new();
        let methods: Vec<String> = chain.iter().map(|call| call.method.to_string()).collect();
        if let Expr::Call(ExprCall { func, .. }) = strip(root)
            && let Expr::Path(path) = &**func
        {
            let segments: Vec<String> = path
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            if let [.., ty, function] = segments.as_slice() {
                let without_where = ty == "Query"
                    && function == "delete"
                    && !methods.iter().any(|m| WHERE_METHODS.contains(&m.as_str()));
                let root = classify_builder(Some(ty), function)
                    .or(without_where.then_some("DELETE without WHERE"));
                if let Some(operation) = root {
                    // The table of a root operation is named later in the chain.
                    let object = table_of(chain).unwrap_or_default();
                    operations.push((
                        func.span(),
                        format!("{operation} {object}").trim_end().to_owned(),
                    ));
                }
            }
        }
        let table = table_of(chain);
        for call in chain.iter().rev() {
            if let Some(operation) = classify_builder(None, &call.method.to_string()) {
                let object = call.args.first().map(name_of);
                let object = match (&table, object) {
                    (Some(table), Some(object)) => format!("{table}.{object}"),
                    (None, Some(object)) => object,
                    (Some(table), None) => table.clone(),
                    (None, None) => String::new(),
                };
                operations.push((
                    call.method.span(),
                    format!("{operation} {object}").trim_end().to_owned(),
                ));
            }
        }
        for (span, operation) in operations {
            self.scan.found.push(Found {
                span,
                risk: Risk::Destructive,
                operation,
            });
        }
        for call in chain {
            if SQL_METHODS.contains(&call.method.to_string().as_str())
                && let Some(argument) = call.args.first()
            {
                self.sql_argument(argument);
            }
            if call.method == "connection" {
                self.scan.dynamic = true;
            }
        }
    }
}

impl<'ast> Visit<'ast> for Visitor {
    fn visit_expr_method_call(&mut self, node: &'ast ExprMethodCall) {
        let mut chain = vec![node];
        let mut root = &*node.receiver;
        while let Expr::MethodCall(inner) = root {
            chain.push(inner);
            root = &inner.receiver;
        }
        self.chain(&chain, root);
        // Visit arguments and the root, but not the inner calls as chains again.
        for call in &chain {
            for argument in &call.args {
                self.visit_expr(argument);
            }
        }
        self.visit_expr(root);
    }

    fn visit_local(&mut self, local: &'ast Local) {
        if let (Pat::Ident(binding), Some(init)) = (&local.pat, &local.init)
            && let Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) = strip(&init.expr)
        {
            self.literals
                .insert(binding.ident.to_string(), (s.value(), s.span()));
        }
        visit::visit_local(self, local);
    }

    // A nested fn is not part of this migration.
    fn visit_item_fn(&mut self, _: &'ast syn::ItemFn) {}
}

/// The table a builder chain names with `.table(..)` or `.from_table(..)`.
fn table_of(chain: &[&ExprMethodCall]) -> Option<String> {
    chain
        .iter()
        .rev()
        .find(|call| call.method == "table" || call.method == "from_table")
        .and_then(|call| call.args.first())
        .map(name_of)
}

/// Looks through `&x`, `(x)` and invisible groups to the expression inside.
fn strip(expr: &Expr) -> &Expr {
    match expr {
        Expr::Reference(reference) => strip(&reference.expr),
        Expr::Paren(paren) => strip(&paren.expr),
        Expr::Group(group) => strip(&group.expr),
        other => other,
    }
}

/// A readable name for a builder argument: `"articles"`, `Alias::new("x")`, `Articles::Body`.
fn name_of(expr: &Expr) -> String {
    match strip(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => s.value(),
        Expr::Call(call) if call.args.len() == 1 => name_of(&call.args[0]),
        other => quote::quote!(#other).to_string().replace(' ', ""),
    }
}

/// Replaces `{...}` placeholders of a format string by a plain identifier so
/// that the template parses as SQL; `{{` and `}}` become braces.
fn fill_placeholders(template: &str) -> String {
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
                for inner in chars.by_ref() {
                    if inner == '}' {
                        break;
                    }
                }
                out.push_str("placeholder");
            }
            c => out.push(c),
        }
    }
    out
}
