//! Parsing `#[migration(...)]` and `#[destructive(...)]` arguments.

use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprArray, ExprLit, ExprPath, Lit, LitBool, LitStr, Meta, Path, Token};

/// The arguments of `#[migration]`.
#[derive(Default)]
pub(crate) struct MigrationArgs {
    pub after: Vec<Path>,
    /// `replaces = [a, b, "deleted_c"]`: paths while the code exists, ids
    /// (strings) once it is deleted.
    pub replaces: Vec<Replaced>,
    pub id: Option<LitStr>,
    pub down: Option<Path>,
    pub transaction: Option<LitBool>,
    pub set: Option<LitStr>,
    /// `lock_timeout = "2s"`, in milliseconds.
    pub lock_timeout_ms: Option<u64>,
    /// `statement_timeout = "30s"`, in milliseconds.
    pub statement_timeout_ms: Option<u64>,
    /// `retries = 3`.
    pub retries: Option<u32>,
    /// `phase = contract` (true) or `phase = expand`.
    pub contract: bool,
}

/// One entry of `replaces = [...]`.
pub(crate) enum Replaced {
    /// A #[migration] function still in the code: compile-checked.
    Path(Path),
    /// The id of a revision whose code was deleted.
    Id(LitStr),
}

const MIGRATION_KEYS: &str = "`after`, `replaces`, `id`, `down`, `transaction`, `set`, `lock_timeout`, `statement_timeout`, `retries`, `phase`";

pub(crate) fn migration_args(cx: &Ctxt, tokens: TokenStream) -> MigrationArgs {
    let mut args = MigrationArgs::default();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(metas) => metas,
        Err(error) => {
            cx.error(error);
            return args;
        }
    };
    let mut seen: Vec<String> = Vec::new();
    for meta in metas {
        let Some(key) = meta.path().get_ident().map(ToString::to_string) else {
            cx.error_at(
                meta.path(),
                format!("unknown argument in #[migration]; expected one of {MIGRATION_KEYS}"),
            );
            continue;
        };
        if seen.contains(&key) {
            cx.error_at(meta.path(), format!("duplicate argument `{key}` in #[migration]; give it once (several parents: `after = [a, b]`)"));
            continue;
        }
        seen.push(key.clone());
        let Meta::NameValue(nv) = &meta else {
            cx.error_at(
                &meta,
                format!("#[migration] argument `{key}` needs a value: `{key} = ...`"),
            );
            continue;
        };
        match key.as_str() {
            "after" => match &nv.value {
                Expr::Path(ExprPath { path, .. }) => args.after.push(path.clone()),
                Expr::Array(ExprArray { elems, .. }) => {
                    for elem in elems {
                        match elem {
                            Expr::Path(ExprPath { path, .. }) => args.after.push(path.clone()),
                            other => cx.error_at(other, "`after` takes paths to #[migration] functions, like `after = [create_users, create_posts]`"),
                        }
                    }
                    if elems.is_empty() {
                        cx.error_at(&nv.value, "`after = []` names no parent; leave `after` out for a root revision");
                    }
                }
                other => cx.error_at(other, "`after` takes a path to a #[migration] function, like `after = create_users`, not a string"),
            },
            "replaces" => args.replaces = replaced(cx, &nv.value),
            "id" => args.id = string(cx, &key, &nv.value),
            "set" => args.set = string(cx, &key, &nv.value),
            "down" => match &nv.value {
                Expr::Path(ExprPath { path, .. }) => args.down = Some(path.clone()),
                other => cx.error_at(other, "`down` takes a path to an async fn, like `down = drop_users`"),
            },
            "transaction" => match &nv.value {
                Expr::Lit(ExprLit { lit: Lit::Bool(b), .. }) => args.transaction = Some(b.clone()),
                other => cx.error_at(other, "`transaction` takes `true` or `false`"),
            },
            "lock_timeout" => args.lock_timeout_ms = millis(cx, &key, &nv.value),
            "statement_timeout" => args.statement_timeout_ms = millis(cx, &key, &nv.value),
            "retries" => match &nv.value {
                Expr::Lit(ExprLit { lit: Lit::Int(n), .. }) => match n.base10_parse::<u32>() {
                    Ok(n) => args.retries = Some(n),
                    Err(error) => cx.error(error),
                },
                other => cx.error_at(other, "`retries` takes a whole number, like `retries = 3`"),
            },
            "phase" => match &nv.value {
                Expr::Path(ExprPath { path, .. }) if path.is_ident("contract") => args.contract = true,
                Expr::Path(ExprPath { path, .. }) if path.is_ident("expand") => args.contract = false,
                other => cx.error_at(other, "`phase` takes `expand` (the default) or `contract`, like `phase = contract`"),
            },
            _ => cx.error_at(meta.path(), format!("unknown argument `{key}` in #[migration]; expected one of {MIGRATION_KEYS}")),
        }
    }
    for parent in &args.after {
        let inside = args.replaces.iter().any(|r| match r {
            Replaced::Path(path) => path == parent,
            Replaced::Id(id) => parent.is_ident(&id.value()),
        });
        if inside {
            cx.error_at(parent, "a squash cannot build on a revision it replaces; `after` names what the first replaced revision was built on (leave it out for a squash from the base)");
        }
    }
    if let Some(id) = &args.id
        && id.value().trim().is_empty()
    {
        cx.error_at(id, "`id` must not be empty");
    }
    args
}

/// `replaces = [create_users, "0002_deleted"]`: every entry once, at least one.
fn replaced(cx: &Ctxt, value: &Expr) -> Vec<Replaced> {
    const SHAPE: &str = "`replaces` takes a list of #[migration] functions, or the ids (strings) of deleted ones, like `replaces = [create_users, \"add_email\"]`";
    let Expr::Array(ExprArray { elems, .. }) = value else {
        cx.error_at(value, SHAPE);
        return Vec::new();
    };
    if elems.is_empty() {
        cx.error_at(value, "`replaces = []` replaces nothing; list the revisions this one squashes, or leave `replaces` out");
    }
    let mut out = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for elem in elems {
        let (text, entry) = match elem {
            Expr::Path(ExprPath { path, .. }) => (
                path.segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default(),
                Replaced::Path(path.clone()),
            ),
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) if !s.value().trim().is_empty() => (s.value(), Replaced::Id(s.clone())),
            other => {
                cx.error_at(other, SHAPE);
                continue;
            }
        };
        if seen.contains(&text) {
            cx.error_at(
                elem,
                format!("`{text}` is listed twice in `replaces`; list each replaced revision once"),
            );
            continue;
        }
        seen.push(text);
        out.push(entry);
    }
    out
}

fn string(cx: &Ctxt, key: &str, value: &Expr) -> Option<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.clone()),
        other => {
            cx.error_at(
                other,
                format!("`{key}` takes a string literal, like `{key} = \"...\"`"),
            );
            None
        }
    }
}

/// A duration literal (`"2s"`) in milliseconds.
fn millis(cx: &Ctxt, key: &str, value: &Expr) -> Option<u64> {
    let text = string(cx, key, value)?;
    match cofferdam_lint::parse_duration(&text.value()) {
        Ok(duration) => Some(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)),
        Err(reason) => {
            cx.error_at(&text, format!("`{key}`: {reason}"));
            None
        }
    }
}

/// The arguments of `#[destructive]`.
pub(crate) struct DestructiveArgs {
    /// The whole attribute, for errors about it.
    pub tokens: TokenStream,
    pub reviewed: bool,
    pub reason: Option<LitStr>,
}

pub(crate) fn destructive_args(
    cx: &Ctxt,
    attribute: TokenStream,
    tokens: TokenStream,
) -> DestructiveArgs {
    let mut args = DestructiveArgs {
        tokens: attribute,
        reviewed: false,
        reason: None,
    };
    let parser = |input: ParseStream<'_>| Punctuated::<Meta, Token![,]>::parse_terminated(input);
    let metas = match parser.parse2(tokens) {
        Ok(metas) => metas,
        Err(error) => {
            cx.error(error);
            return args;
        }
    };
    for meta in metas {
        match &meta {
            Meta::Path(path) if path.is_ident("reviewed") => args.reviewed = true,
            Meta::NameValue(nv) if nv.path.is_ident("reason") => match &nv.value {
                Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) if !s.value().trim().is_empty() => args.reason = Some(s.clone()),
                other => cx.error_at(other, "`reason` takes a non-empty string: what was checked, and where the backup is"),
            },
            other => cx.error_at(
                other,
                "unknown argument in #[destructive]; write #[destructive(reviewed)] or #[destructive(reviewed, reason = \"...\")]",
            ),
        }
    }
    if !args.reviewed {
        cx.error(syn::Error::new_spanned(
            &args.tokens,
            "#[destructive] needs `reviewed`: write #[destructive(reviewed, reason = \"...\")] after checking the destructive operations",
        ));
    }
    args
}
