//! Finds destructive operations in a migration body at compile time.
//!
//! Reads sea-query builders (in one chain, or started in a `let` and finished by later
//! statements on the variable) and SQL text given to `execute`/`fetch_*` and to sqlx's
//! `query*` functions: literals, `concat!`, `include_str!`, `const`s, `let` bindings of those,
//! `.to_string()` / `String::from`, and the template of `format!`. Statements are judged in
//! order by one [`Gate`], as the runtime judges what it sends, so a scratch table or a backfill
//! of a new column is understood the same way by both.
//!
//! Everything it cannot see (SQL from a helper function or a macro, a builder a helper
//! returns, a raw connection, names imported under another name outside the function) is
//! left to the runtime guard and makes the body "dynamic": a review marker is then accepted
//! even if nothing was found.

mod builder;
mod condition;
#[cfg(test)]
mod corpus;
mod found;
mod scope;
mod text;

use cofferdam_lint::{Gate, Risk};
use proc_macro2::TokenStream;
use quote::ToTokens;
use std::collections::HashMap;
use syn::visit::{self, Visit};
use syn::{Expr, ExprCall, ExprMethodCall, Item, Local, Pat, UseTree};

use builder::{Builder, Call, Judged, kind_of};
pub(crate) use found::{Found, Scan};
use found::{fill_placeholders, shorten, stand_in};
use scope::{Binding, Scopes};
use text::Text;

/// Scans the body of `function`, whose first argument is the `Migration`.
pub(crate) fn scan(function: &syn::ItemFn) -> Scan {
    let migration = function.sig.inputs.first().and_then(|arg| match arg {
        syn::FnArg::Typed(typed) => match &*typed.pat {
            Pat::Ident(ident) => Some(ident.ident.to_string()),
            _ => None,
        },
        syn::FnArg::Receiver(_) => None,
    });
    let mut visitor = Visitor {
        scan: Scan::default(),
        scopes: Scopes::default(),
        aliases: HashMap::new(),
        builders: Vec::new(),
        gate: Gate::any_dialect(),
        migration,
    };
    visitor.visit_block(&function.block);
    // Builders never sent through `exec` may still be sent by a helper: judge them too.
    for i in 0..visitor.builders.len() {
        visitor.judge_builder(i);
    }
    visitor.scan
}

/// Methods of `Migration` that take SQL text as their first argument.
const SQL_METHODS: &[&str] = &["execute", "fetch_all", "fetch_optional", "fetch_one"];
/// sqlx functions that take SQL text, for statements sent through a raw connection.
const SQL_FUNCTIONS: &[&str] = &["query", "query_as", "query_scalar", "raw_sql"];
/// Methods that hand a builder on unchanged.
const SAME_BUILDER: &[&str] = &["to_owned", "clone", "take"];

struct Visitor {
    scan: Scan,
    scopes: Scopes,
    /// `use sea_query::Table as T;` inside the body: `T` -> `Table`.
    aliases: HashMap<String, String>,
    builders: Vec<Builder>,
    gate: Gate,
    /// The name of the `Migration` argument.
    migration: Option<String>,
}

impl Visitor {
    /// Whether `args` hand the migration to someone else (a helper that may send anything).
    fn hands_migration<'a>(&self, mut args: impl Iterator<Item = &'a Expr>) -> bool {
        let Some(m) = &self.migration else {
            return false;
        };
        args.any(|a| matches!(strip(a), Expr::Path(p) if p.path.is_ident(m)))
    }

    fn push(&mut self, judged: Vec<Judged>, tokens: &TokenStream) {
        for Judged { finding, variable } in judged {
            let found = Found {
                tokens: tokens.clone(),
                finding,
                variable,
                statement: None,
            };
            if found.finding.risk == Risk::Breaking {
                self.scan.warnings.push(found);
            } else {
                self.scan.found.push(found);
            }
        }
    }

    /// Judges SQL text; `unknown`: whether text that does not parse counts. It does for
    /// literals (fail closed), not for `format!` templates, whose placeholders can stand for
    /// anything: the runtime guard judges the finished text.
    fn sql(&mut self, text: &str, tokens: TokenStream, unknown: bool) {
        let classification = self.gate.classify(text);
        if !classification.rebuilds.is_empty() || classification.exempted {
            // Whether the rebuild keeps every column depends on the live table; an exemption
            // depends on the branch a run takes.
            self.scan.dynamic = true;
        }
        let several = classification.statements.is_some_and(|n| n > 1);
        for finding in classification
            .findings
            .into_iter()
            .chain(classification.warnings)
        {
            if finding.risk == Risk::Unknown && !unknown {
                continue;
            }
            let statement = finding
                .span
                .clone()
                .filter(|_| several)
                .and_then(|r| text.get(r))
                .map(shorten);
            let found = Found {
                tokens: tokens.clone(),
                finding,
                variable: None,
                statement,
            };
            if found.finding.risk == Risk::Breaking {
                self.scan.warnings.push(found);
            } else {
                self.scan.found.push(found);
            }
        }
    }

    /// The SQL argument of `execute` and friends.
    fn sql_argument(&mut self, argument: &Expr) {
        match text::resolve(argument, &self.scopes) {
            Text::Known(text, tokens) => self.sql(&text, tokens, true),
            Text::Template(template, tokens) => {
                self.scan.dynamic = true;
                let (filled, holes) = fill_placeholders(&template);
                let before = self.scan.found.len();
                self.sql(&filled, tokens, false);
                // Show `data_{tenant}`, not the stand-in the parser read.
                for found in &mut self.scan.found[before..] {
                    if let Some(object) = &mut found.finding.object {
                        for (i, hole) in holes.iter().enumerate() {
                            *object = object.replace(&stand_in(i), &format!("{{{hole}}}"));
                        }
                    }
                }
            }
            Text::Dynamic => self.scan.dynamic = true,
        }
    }

    /// The argument of `exec`: a builder chain, a builder variable, or something else.
    fn exec_argument(&mut self, argument: &Expr) {
        let mut expr = strip(argument);
        while let Expr::MethodCall(call) = expr
            && call.args.is_empty()
            && SAME_BUILDER.contains(&call.method.to_string().as_str())
            && matches!(strip(&call.receiver), Expr::Path(_))
        {
            expr = strip(&call.receiver);
        }
        match expr {
            Expr::Path(path) => match path
                .path
                .get_ident()
                .and_then(|i| self.scopes.get(&i.to_string()))
            {
                Some(Binding::Builder(i)) => {
                    let i = *i;
                    self.judge_builder(i);
                }
                _ => self.scan.dynamic = true,
            },
            // A chain is judged where it is visited.
            Expr::MethodCall(_) | Expr::Call(_) if self.builder_of(expr).is_some() => {}
            _ => self.scan.dynamic = true,
        }
    }

    fn judge_builder(&mut self, i: usize) {
        if self.builders[i].judged {
            return;
        }
        self.builders[i].judged = true;
        let (judged, exempted) = builder::judge(&self.builders[i], &mut self.gate);
        self.scan.dynamic |= exempted;
        let tokens = self.builders[i].tokens.clone();
        self.push(judged, &tokens);
    }

    /// The builder an expression starts, if it is a sea-query chain: `Table::drop().table(t)`.
    fn builder_of(&self, expr: &Expr) -> Option<Builder> {
        let mut calls = Vec::new();
        let mut root = strip(expr);
        while let Expr::MethodCall(call) = root {
            calls.push(Call {
                method: call.method.to_string(),
                args: call.args.iter().cloned().collect(),
            });
            root = strip(&call.receiver);
        }
        calls.reverse();
        let Expr::Call(ExprCall { func, .. }) = root else {
            return None;
        };
        let Expr::Path(path) = &**func else {
            return None;
        };
        let segments: Vec<String> = path
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let [.., ty, function] = segments.as_slice() else {
            return None;
        };
        let ty = self.aliases.get(ty).unwrap_or(ty);
        let methods: Vec<String> = calls.iter().map(|c| c.method.clone()).collect();
        let kind = kind_of(ty, function, &methods)?;
        Some(Builder {
            kind,
            calls,
            tokens: expr.to_token_stream(),
            judged: false,
        })
    }

    /// A statement that calls methods on a builder variable: `s.table("t");`.
    fn extend_builder(&mut self, node: &ExprMethodCall) -> bool {
        let mut calls = Vec::new();
        let mut root: &Expr = &Expr::MethodCall(node.clone());
        while let Expr::MethodCall(call) = root {
            calls.push(Call {
                method: call.method.to_string(),
                args: call.args.iter().cloned().collect(),
            });
            root = strip(&call.receiver);
        }
        let Expr::Path(path) = root else {
            return false;
        };
        let Some(Binding::Builder(i)) = path
            .path
            .get_ident()
            .and_then(|ident| self.scopes.get(&ident.to_string()))
        else {
            return false;
        };
        calls.reverse();
        let i = *i;
        self.builders[i].calls.extend(calls);
        true
    }

    fn bind(&mut self, pat: &Pat, init: Option<&Expr>) {
        let ident = match pat {
            Pat::Ident(binding) => &binding.ident,
            Pat::Type(typed) => match &*typed.pat {
                Pat::Ident(binding) => &binding.ident,
                _ => return,
            },
            _ => return,
        };
        let binding = match init {
            // `let t2 = t;` of a builder: the same builder.
            Some(init)
                if let Expr::Path(path) = strip(init)
                    && let Some(Binding::Builder(i)) = path
                        .path
                        .get_ident()
                        .and_then(|i| self.scopes.get(&i.to_string())) =>
            {
                Binding::Builder(*i)
            }
            Some(init) => {
                if let Some(builder) = self.builder_of(init) {
                    self.builders.push(builder);
                    Binding::Builder(self.builders.len() - 1)
                } else {
                    match text::resolve(init, &self.scopes) {
                        Text::Known(text, tokens) => Binding::Sql(text, tokens),
                        Text::Template(text, tokens) => Binding::Template(text, tokens),
                        Text::Dynamic => Binding::Other,
                    }
                }
            }
            None => Binding::Other,
        };
        self.scopes.bind(ident.to_string(), binding);
    }

    fn use_tree(&mut self, tree: &UseTree) {
        match tree {
            UseTree::Path(path) => self.use_tree(&path.tree),
            UseTree::Group(group) => group.items.iter().for_each(|t| self.use_tree(t)),
            UseTree::Rename(rename) => {
                self.aliases
                    .insert(rename.rename.to_string(), rename.ident.to_string());
            }
            _ => {}
        }
    }
}

impl<'ast> Visit<'ast> for Visitor {
    fn visit_block(&mut self, block: &'ast syn::Block) {
        self.scopes.push();
        // Items are visible in their whole block, before their line.
        for stmt in &block.stmts {
            if let syn::Stmt::Item(item) = stmt {
                match item {
                    Item::Const(c) => {
                        if let Text::Known(text, tokens) = text::resolve(&c.expr, &self.scopes) {
                            self.scopes
                                .bind(c.ident.to_string(), Binding::Sql(text, tokens));
                        }
                    }
                    Item::Static(s) => {
                        if let Text::Known(text, tokens) = text::resolve(&s.expr, &self.scopes) {
                            self.scopes
                                .bind(s.ident.to_string(), Binding::Sql(text, tokens));
                        }
                    }
                    Item::Use(u) => self.use_tree(&u.tree),
                    _ => {}
                }
            }
        }
        visit::visit_block(self, block);
        self.scopes.pop();
    }

    fn visit_expr_method_call(&mut self, node: &'ast ExprMethodCall) {
        // Method calls on a builder variable add to it; they are judged when it is sent.
        if self.extend_builder(node) {
            for argument in &node.args {
                self.visit_expr(argument);
            }
            return;
        }
        let expr = Expr::MethodCall(node.clone());
        if let Some(builder) = self.builder_of(&expr) {
            let (judged, exempted) = builder::judge(&builder, &mut self.gate);
            self.scan.dynamic |= exempted;
            self.push(judged, &builder.tokens);
            for call in &builder.calls {
                for argument in &call.args {
                    self.visit_expr(argument);
                }
            }
            return;
        }
        let method = node.method.to_string();
        if SQL_METHODS.contains(&method.as_str())
            && let Some(argument) = node.args.first()
        {
            self.sql_argument(argument);
        }
        if method == "exec"
            && let Some(argument) = node.args.first()
        {
            self.exec_argument(argument);
        }
        if method == "connection" || self.hands_migration(node.args.iter()) {
            self.scan.dynamic = true;
        }
        visit::visit_expr_method_call(self, node);
    }

    fn visit_expr_call(&mut self, node: &'ast ExprCall) {
        let expr = Expr::Call(node.clone());
        if let Some(builder) = self.builder_of(&expr) {
            let (judged, exempted) = builder::judge(&builder, &mut self.gate);
            self.scan.dynamic |= exempted;
            self.push(judged, &builder.tokens);
        } else if let Expr::Path(path) = &*node.func
            && path
                .path
                .segments
                .last()
                .is_some_and(|s| SQL_FUNCTIONS.contains(&s.ident.to_string().as_str()))
            && let Some(argument) = node.args.first()
        {
            self.sql_argument(argument);
        } else if self.hands_migration(node.args.iter()) {
            // A helper given the migration may send anything.
            self.scan.dynamic = true;
        }
        visit::visit_expr_call(self, node);
    }

    /// `for sql in ["DROP TABLE a", "DROP TABLE b"] { m.execute(sql) }`: the loop variable
    /// holds every element, judged as statements of one text.
    fn visit_expr_for_loop(&mut self, node: &'ast syn::ExprForLoop) {
        self.visit_expr(&node.expr);
        let elements: Option<Vec<Expr>> = match strip(&node.expr) {
            Expr::Array(array) => Some(array.elems.iter().cloned().collect()),
            Expr::Macro(m) if m.mac.path.is_ident("vec") => m
                .mac
                .parse_body_with(
                    syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated,
                )
                .ok()
                .map(|p| p.into_iter().collect()),
            _ => None,
        };
        let texts: Option<Vec<(String, TokenStream)>> = elements.and_then(|elements| {
            elements
                .iter()
                .map(|e| match text::resolve(e, &self.scopes) {
                    Text::Known(text, tokens) => Some((text, tokens)),
                    _ => None,
                })
                .collect()
        });
        self.scopes.push();
        if let (Pat::Ident(binding), Some(texts)) = (&*node.pat, texts)
            && let Some((_, tokens)) = texts.first()
        {
            let joined = texts
                .iter()
                .map(|(t, _)| t.as_str())
                .collect::<Vec<_>>()
                .join(";\n");
            let tokens = tokens.clone();
            self.scopes
                .bind(binding.ident.to_string(), Binding::Sql(joined, tokens));
        } else if let Pat::Ident(binding) = &*node.pat {
            self.scopes.bind(binding.ident.to_string(), Binding::Other);
        }
        self.visit_block(&node.body);
        self.scopes.pop();
    }

    fn visit_local(&mut self, local: &'ast Local) {
        let init = local.init.as_ref().map(|i| &*i.expr);
        match init {
            // The builder a `let` starts is judged when it is sent, with what was added to it.
            Some(init) if self.builder_of(init).is_some() => {
                let builder = self.builder_of(init);
                for call in builder.iter().flat_map(|b| &b.calls) {
                    for argument in &call.args {
                        self.visit_expr(argument);
                    }
                }
            }
            Some(init) => self.visit_expr(init),
            None => {}
        }
        if let Some(init) = &local.init
            && let Some((_, diverge)) = &init.diverge
        {
            self.visit_expr(diverge);
        }
        self.bind(&local.pat, init);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let name = text::macro_name(mac);
        // A macro given the migration may send SQL the scanner cannot read.
        let mentions_migration = self.migration.as_ref().is_some_and(|m| {
            mac.tokens
                .clone()
                .into_iter()
                .any(|t| matches!(&t, proc_macro2::TokenTree::Ident(i) if i == m))
        });
        if mentions_migration && !["format", "concat", "include_str"].contains(&name.as_str()) {
            self.scan.dynamic = true;
        }
    }

    // A nested fn is not part of this migration.
    fn visit_item_fn(&mut self, _: &'ast syn::ItemFn) {}
}

/// Looks through `&x`, `&mut x`, `*x`, `(x)` and invisible groups to the expression inside.
pub(crate) fn strip(expr: &Expr) -> &Expr {
    match expr {
        Expr::Reference(reference) => strip(&reference.expr),
        Expr::Paren(paren) => strip(&paren.expr),
        Expr::Group(group) => strip(&group.expr),
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Deref(_),
            expr,
            ..
        }) => strip(expr),
        other => other,
    }
}
