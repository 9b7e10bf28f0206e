//! SQL text the compiler can see: string literals, `concat!`, `include_str!`, `const`s and
//! `let` bindings of those, through `.to_string()`, `String::from`, references, `+`, `[..]
//! .concat()` / `.join(..)`, and every arm of an `if` or a `match`.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprMacro, Lit, LitStr, Token};

use super::scope::{Binding, Scopes};

/// What an expression that should hold SQL text holds.
pub(crate) enum Text {
    /// The text itself, and the tokens to point at.
    Known(String, TokenStream),
    /// A `format!` template: its placeholders stand for anything.
    Template(String, TokenStream),
    /// Text built at run time: the runtime guard judges it.
    Dynamic,
}

/// Methods that hand their receiver's text on unchanged.
const SAME_TEXT: &[&str] = &["to_string", "to_owned", "into", "as_str", "as_ref", "clone"];

pub(crate) fn resolve(expr: &Expr, scopes: &Scopes) -> Text {
    match super::strip(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Text::Known(s.value(), s.to_token_stream()),
        Expr::Macro(ExprMacro { mac, .. }) => macro_text(mac),
        Expr::MethodCall(call)
            if call.args.is_empty() && SAME_TEXT.contains(&call.method.to_string().as_str()) =>
        {
            resolve(&call.receiver, scopes)
        }
        // `String::from("...")`, `str::to_owned("...")`, `String::from(SQL)`.
        Expr::Call(call) if call.args.len() == 1 => match &*call.func {
            Expr::Path(path)
                if path.path.segments.last().is_some_and(|s| {
                    ["from", "to_owned", "to_string"].contains(&s.ident.to_string().as_str())
                }) =>
            {
                resolve(&call.args[0], scopes)
            }
            _ => Text::Dynamic,
        },
        // `String::from("DROP TABLE ") + "x"`.
        Expr::Binary(binary) if matches!(binary.op, syn::BinOp::Add(_)) => {
            match (
                resolve(&binary.left, scopes),
                resolve(&binary.right, scopes),
            ) {
                (Text::Known(a, tokens), Text::Known(b, _)) => Text::Known(a + &b, tokens),
                _ => Text::Dynamic,
            }
        }
        // `["DROP TABLE ", "x"].concat()`, `[..].join(" ")`.
        Expr::MethodCall(call) if call.method == "concat" || call.method == "join" => {
            let separator = match call.args.first() {
                None => Some(String::new()),
                Some(arg) => match resolve(arg, scopes) {
                    Text::Known(sep, _) => Some(sep),
                    _ => None,
                },
            };
            match (super::strip(&call.receiver), separator) {
                (Expr::Array(array), Some(separator)) => {
                    let parts: Option<Vec<String>> = array
                        .elems
                        .iter()
                        .map(|e| match resolve(e, scopes) {
                            Text::Known(t, _) => Some(t),
                            _ => None,
                        })
                        .collect();
                    match parts {
                        Some(parts) => Text::Known(parts.join(&separator), call.to_token_stream()),
                        None => Text::Dynamic,
                    }
                }
                _ => Text::Dynamic,
            }
        }
        // Either arm may run: judge both, as statements of one text.
        Expr::If(expr_if) => {
            let then = expr_if.then_branch.stmts.last().and_then(|s| match s {
                syn::Stmt::Expr(e, None) => Some(resolve(e, scopes)),
                _ => None,
            });
            let otherwise = expr_if.else_branch.as_ref().map(|(_, e)| match &**e {
                Expr::Block(block) => match block.block.stmts.last() {
                    Some(syn::Stmt::Expr(e, None)) => resolve(e, scopes),
                    _ => Text::Dynamic,
                },
                other => resolve(other, scopes),
            });
            match (then, otherwise) {
                (Some(Text::Known(a, tokens)), Some(Text::Known(b, _))) => {
                    Text::Known(format!("{a};\n{b}"), tokens)
                }
                _ => Text::Dynamic,
            }
        }
        // Every arm may run.
        Expr::Match(expr_match) => {
            let arms: Option<Vec<(String, TokenStream)>> = expr_match
                .arms
                .iter()
                .map(|arm| match resolve(&arm.body, scopes) {
                    Text::Known(text, tokens) => Some((text, tokens)),
                    _ => None,
                })
                .collect();
            match arms {
                Some(arms) if !arms.is_empty() => {
                    let tokens = arms[0].1.clone();
                    let texts: Vec<&str> = arms.iter().map(|(t, _)| t.as_str()).collect();
                    Text::Known(texts.join(";\n"), tokens)
                }
                _ => Text::Dynamic,
            }
        }
        Expr::Path(path) => match path
            .path
            .get_ident()
            .and_then(|i| scopes.get(&i.to_string()))
        {
            Some(Binding::Sql(text, tokens)) => Text::Known(text.clone(), tokens.clone()),
            Some(Binding::Template(text, tokens)) => Text::Template(text.clone(), tokens.clone()),
            _ => Text::Dynamic,
        },
        _ => Text::Dynamic,
    }
}

/// The macro's own name, without its path: `concat` for `std::concat!`.
pub(super) fn macro_name(mac: &syn::Macro) -> String {
    mac.path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn macro_text(mac: &syn::Macro) -> Text {
    let name = macro_name(mac);
    match name.as_str() {
        "concat" => match mac.parse_body_with(Punctuated::<LitStr, Token![,]>::parse_terminated) {
            Ok(parts) => Text::Known(
                parts.iter().map(LitStr::value).collect(),
                mac.to_token_stream(),
            ),
            Err(_) => Text::Dynamic,
        },
        "include_str" => match mac.parse_body::<Expr>().ok().as_ref().and_then(path_text) {
            Some(path) => match read_included(&path, mac.path.span()) {
                Some(text) => Text::Known(text, mac.to_token_stream()),
                // The file will not compile either; rustc says why.
                None => Text::Dynamic,
            },
            None => Text::Dynamic,
        },
        "format" => {
            let parsed = mac.parse_body_with(|input: syn::parse::ParseStream<'_>| {
                let template: LitStr = input.parse()?;
                let rest: TokenStream = input.parse()?;
                Ok((template, rest))
            });
            match parsed {
                // `format!("DROP TABLE t")` with nothing to fill in is plain text.
                Ok((template, rest)) if rest.is_empty() && !template.value().contains('{') => {
                    Text::Known(template.value(), template.to_token_stream())
                }
                Ok((template, _)) => Text::Template(template.value(), template.to_token_stream()),
                Err(_) => Text::Dynamic,
            }
        }
        _ => Text::Dynamic,
    }
}

/// The path an `include_str!` names: a literal, or `concat!(env!("CARGO_MANIFEST_DIR"),
/// "/sql/x.sql")`.
fn path_text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        Expr::Macro(ExprMacro { mac, .. }) if mac.path.is_ident("concat") => {
            let parts = mac
                .parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
                .ok()?;
            parts.iter().map(path_text).collect()
        }
        Expr::Macro(ExprMacro { mac, .. }) if mac.path.is_ident("env") => {
            let name: LitStr = mac.parse_body().ok()?;
            std::env::var(name.value()).ok()
        }
        _ => None,
    }
}

/// Reads an `include_str!` file the way rustc will: relative to the file that names it (known
/// to the compiler), or failing that to the crate's manifest directory, as sqlx's macros do.
fn read_included(path: &str, span: Span) -> Option<String> {
    let relative = std::path::PathBuf::from(path);
    let mut candidates = Vec::new();
    if relative.is_absolute() {
        candidates.push(relative.clone());
    }
    #[cfg(test)]
    INCLUDE_BASE.with(|base| {
        if let Some(base) = &*base.borrow() {
            candidates.push(base.join(&relative));
        }
    });
    if let Some(file) = local_file(span)
        && let Some(dir) = file.parent()
    {
        candidates.push(dir.join(&relative));
    }
    if let Ok(manifest) = std::env::var("CARGO_MANIFEST_DIR") {
        let manifest = std::path::PathBuf::from(manifest);
        candidates.push(manifest.join(&relative));
        candidates.push(manifest.join("src").join(&relative));
    }
    candidates
        .into_iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
}

/// The source file of `span`; None outside a compiler (the macro's unit tests).
fn local_file(span: Span) -> Option<std::path::PathBuf> {
    if !proc_macro::is_available() {
        return None;
    }
    span.unwrap().local_file()
}

#[cfg(test)]
thread_local! {
    static INCLUDE_BASE: std::cell::RefCell<Option<std::path::PathBuf>> =
        const { std::cell::RefCell::new(None) };
}

/// Where `include_str!` paths are relative to in the macro's unit tests, which have no
/// compiler to say which file a span is in.
#[cfg(test)]
pub(crate) fn set_include_base(dir: &str) {
    INCLUDE_BASE.with(|base| *base.borrow_mut() = Some(dir.into()));
}
