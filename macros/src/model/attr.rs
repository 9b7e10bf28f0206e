//! The `#[model(...)]` attributes, on the struct and on its fields.
//!
//! Struct: `table = "..."`, `set = "..."`, and any number of
//! `index(columns = [a, b], unique, name = "...")`.
//! Field: `primary_key`, `auto_increment`, `unique`, `index`, `len = N`,
//! `precision = P, scale = S`, `default = <literal>`,
//! `default_sql = "now()"`, `column = "..."`, `sql_type = "..."`, `skip`,
//! `references(table.column, on_delete = cascade, on_update = ...)`.

use crate::ctxt::Ctxt;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, ExprLit, ExprUnary, Ident, Lit, LitInt, LitStr, Token, UnOp};

const STRUCT_KEYS: &str = "`table`, `set`, `index(columns = [...])`";
const FIELD_KEYS: &str = "`primary_key`, `auto_increment`, `unique`, `index`, `len`, `precision`, `scale`, `default`, `default_sql`, `column`, `sql_type`, `references(...)`, `skip`";

#[derive(Default)]
pub(super) struct StructAttrs {
    pub table: Option<String>,
    pub set: Option<String>,
    pub indexes: Vec<StructIndex>,
}

pub(super) struct StructIndex {
    pub columns: Vec<(String, Span)>,
    pub unique: bool,
    pub name: Option<String>,
}

#[derive(Default)]
pub(super) struct FieldAttrs {
    pub primary_key: bool,
    pub auto_increment: bool,
    pub unique: bool,
    pub index: bool,
    pub skip: bool,
    pub len: Option<u32>,
    pub precision: Option<(u32, Span)>,
    pub scale: Option<(u32, Span)>,
    pub column: Option<String>,
    pub sql_type: Option<String>,
    /// Tokens of a `ColumnDefault`.
    pub default: Option<TokenStream>,
    pub references: Option<References>,
}

pub(super) struct References {
    pub table: String,
    pub column: String,
    pub on_delete: Action,
    pub on_update: Action,
}

// The names are SQL's (`NO ACTION`), as in sea-query.
#[allow(clippy::enum_variant_names)]
#[derive(Clone, Copy)]
pub(super) enum Action {
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

fn model_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("model"))
}

pub(super) fn struct_attrs(cx: &Ctxt, attrs: &[Attribute]) -> StructAttrs {
    let mut out = StructAttrs::default();
    for attr in model_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                out.table = Some(string(&meta)?.value());
            } else if meta.path.is_ident("set") {
                out.set = Some(string(&meta)?.value());
            } else if meta.path.is_ident("index") {
                out.indexes.push(struct_index(&meta)?);
            } else {
                return Err(meta.error(format!(
                    "unknown #[model] argument on a struct; expected one of {STRUCT_KEYS} (column options go on the fields)"
                )));
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.error(error);
        }
    }
    out
}

fn struct_index(meta: &ParseNestedMeta<'_>) -> syn::Result<StructIndex> {
    let mut index = StructIndex {
        columns: Vec::new(),
        unique: false,
        name: None,
    };
    let span = syn::spanned::Spanned::span(&meta.path);
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("columns") {
            let value = inner.value()?;
            let content;
            syn::bracketed!(content in value);
            let names = content.parse_terminated(Ident::parse_any_ident, Token![,])?;
            index.columns = names.iter().map(|i| (i.to_string(), i.span())).collect();
        } else if inner.path.is_ident("unique") {
            index.unique = true;
        } else if inner.path.is_ident("name") {
            index.name = Some(string(&inner)?.value());
        } else {
            return Err(inner.error(
                "unknown argument in #[model(index(...))]; expected `columns = [a, b]`, `unique`, `name = \"...\"`",
            ));
        }
        Ok(())
    })?;
    if index.columns.is_empty() {
        return Err(syn::Error::new(
            span,
            "#[model(index(...))] needs its columns: `index(columns = [author_id, published_at])`",
        ));
    }
    Ok(index)
}

trait ParseAnyIdent {
    fn parse_any_ident(input: syn::parse::ParseStream<'_>) -> syn::Result<Ident>;
}

impl ParseAnyIdent for Ident {
    fn parse_any_ident(input: syn::parse::ParseStream<'_>) -> syn::Result<Ident> {
        syn::ext::IdentExt::parse_any(input)
    }
}

pub(super) fn field_attrs(cx: &Ctxt, attrs: &[Attribute]) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in model_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            match key.as_str() {
                "primary_key" => out.primary_key = true,
                "auto_increment" => out.auto_increment = true,
                "unique" => out.unique = true,
                "index" => out.index = true,
                "skip" => out.skip = true,
                "len" => out.len = Some(number(&meta)?.0),
                "precision" => out.precision = Some(number(&meta)?),
                "scale" => out.scale = Some(number(&meta)?),
                "column" => out.column = Some(string(&meta)?.value()),
                "sql_type" => out.sql_type = Some(string(&meta)?.value()),
                "default" => out.default = Some(default_value(&meta)?),
                "default_sql" => {
                    let sql = string(&meta)?;
                    out.default = Some(quote!(::cofferdam::__private::ColumnDefault::Sql(
                        ::cofferdam::__private::Cow::Borrowed(#sql)
                    )));
                }
                "references" => out.references = Some(references(&meta)?),
                _ => {
                    return Err(meta.error(format!(
                        "unknown #[model] argument on a field; expected one of {FIELD_KEYS}"
                    )));
                }
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.error(error);
        }
    }
    out
}

fn string(meta: &ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    let key = meta
        .path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();
    meta.value()?.parse::<LitStr>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`{key}` takes a string: `{key} = \"...\"`"),
        )
    })
}

fn number(meta: &ParseNestedMeta<'_>) -> syn::Result<(u32, Span)> {
    let key = meta
        .path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();
    let lit: LitInt = meta.value()?.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`{key}` takes a whole number: `{key} = 200`"),
        )
    })?;
    Ok((lit.base10_parse()?, lit.span()))
}

/// `default = "draft"`, `default = 0`, `default = -1.5`, `default = true`.
fn default_value(meta: &ParseNestedMeta<'_>) -> syn::Result<TokenStream> {
    let expr: Expr = meta.value()?.parse()?;
    let (negative, lit) = match &expr {
        Expr::Lit(ExprLit { lit, .. }) => (false, lit),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr: operand,
            ..
        }) => match &**operand {
            Expr::Lit(ExprLit { lit, .. }) => (true, lit),
            _ => return Err(bad_default(&expr)),
        },
        _ => return Err(bad_default(&expr)),
    };
    let sign = if negative {
        quote!(-)
    } else {
        TokenStream::new()
    };
    Ok(match lit {
        Lit::Str(s) if !negative => {
            quote!(::cofferdam::__private::ColumnDefault::Text(::cofferdam::__private::Cow::Borrowed(#s)))
        }
        Lit::Int(i) => quote!(::cofferdam::__private::ColumnDefault::Int(#sign #i)),
        Lit::Float(f) => quote!(::cofferdam::__private::ColumnDefault::Float(#sign #f)),
        Lit::Bool(b) if !negative => quote!(::cofferdam::__private::ColumnDefault::Bool(#b)),
        _ => return Err(bad_default(&expr)),
    })
}

fn bad_default(expr: &Expr) -> syn::Error {
    syn::Error::new_spanned(
        expr,
        "`default` takes a literal value (`default = \"draft\"`, `default = 0`, `default = true`); for an expression the server evaluates, write `default_sql = \"now()\"`",
    )
}

/// `references(authors.id, on_delete = cascade)`.
fn references(meta: &ParseNestedMeta<'_>) -> syn::Result<References> {
    let content;
    syn::parenthesized!(content in meta.input);
    let shape = "`references` names a table and a column: `references(authors.id)`, optionally `, on_delete = cascade`";
    let table = Ident::parse_any_ident(&content).map_err(|e| syn::Error::new(e.span(), shape))?;
    content
        .parse::<Token![.]>()
        .map_err(|e| syn::Error::new(e.span(), shape))?;
    let column = Ident::parse_any_ident(&content).map_err(|e| syn::Error::new(e.span(), shape))?;
    let mut out = References {
        table: table.to_string(),
        column: column.to_string(),
        on_delete: Action::NoAction,
        on_update: Action::NoAction,
    };
    while content.parse::<Option<Token![,]>>()?.is_some() {
        if content.is_empty() {
            break;
        }
        let key: Ident = content.parse()?;
        content.parse::<Token![=]>()?;
        let value: Ident = content.parse()?;
        let action = match value.to_string().as_str() {
            "cascade" => Action::Cascade,
            "set_null" => Action::SetNull,
            "set_default" => Action::SetDefault,
            "restrict" => Action::Restrict,
            "no_action" => Action::NoAction,
            _ => {
                return Err(syn::Error::new(
                    value.span(),
                    "unknown action; expected `cascade`, `set_null`, `set_default`, `restrict` or `no_action`",
                ));
            }
        };
        match key.to_string().as_str() {
            "on_delete" => out.on_delete = action,
            "on_update" => out.on_update = action,
            _ => {
                return Err(syn::Error::new(
                    key.span(),
                    "unknown argument in `references(...)`; expected `on_delete = ...` or `on_update = ...`",
                ));
            }
        }
    }
    Ok(out)
}
