//! A field's Rust type as a column type, read from the type's name (the
//! derive sees tokens, not types): `Option<T>` is a nullable `T`, and the
//! last path segment picks the type, so `chrono::NaiveDateTime` and a
//! `use`d `NaiveDateTime` agree. `sql_type = "..."` overrides it.

use super::attr::FieldAttrs;
use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;
use quote::quote;
use syn::{GenericArgument, PathArguments, Type, TypePath};

/// The `cofferdam::__private::Type` for the field, and whether it is nullable.
pub(super) fn column_type(cx: &Ctxt, ty: &Type, attrs: &FieldAttrs) -> Option<(TokenStream, bool)> {
    let (inner, nullable) = match generic_of(ty, "Option") {
        Some(inner) => (inner, true),
        None => (ty, false),
    };
    let path = quote!(::cofferdam::__private::Type);
    if let Some(sql) = &attrs.sql_type {
        return Some((
            quote!(#path::Custom(::cofferdam::__private::Cow::Borrowed(#sql))),
            nullable,
        ));
    }
    let name = last_segment(inner).unwrap_or_default();
    let is_bytes =
        generic_of(inner, "Vec").is_some_and(|t| last_segment(t).as_deref() == Some("u8"));
    let mapped = match name.as_str() {
        "i8" | "i16" | "u8" => quote!(#path::SmallInt),
        "i32" | "u16" => quote!(#path::Int),
        "i64" | "u32" | "u64" => quote!(#path::BigInt),
        "bool" => quote!(#path::Bool),
        "f32" => quote!(#path::Float),
        "f64" => quote!(#path::Double),
        "String" | "str" => match attrs.len {
            Some(len) => quote!(#path::Varchar(#len)),
            None => quote!(#path::Text),
        },
        "Vec" if is_bytes => quote!(#path::Blob),
        "NaiveDate" | "Date" => quote!(#path::Date),
        "NaiveTime" | "Time" => quote!(#path::Time),
        "NaiveDateTime" | "PrimitiveDateTime" => quote!(#path::Timestamp),
        "DateTime" | "OffsetDateTime" => quote!(#path::TimestampTz),
        "Uuid" => quote!(#path::Uuid),
        "Value" | "JsonValue" | "Json" => quote!(#path::Json),
        "Decimal" | "BigDecimal" => match (attrs.precision, attrs.scale) {
            (Some((p, _)), Some((s, _))) => {
                quote!(#path::Decimal(::core::option::Option::Some((#p, #s))))
            }
            (None, None) => quote!(#path::Decimal(::core::option::Option::None)),
            (Some((_, span)), None) | (None, Some((_, span))) => {
                cx.error(syn::Error::new(
                    span,
                    "give `precision` and `scale` together: `precision = 10, scale = 2`",
                ));
                return None;
            }
        },
        _ => {
            cx.error_at(
                ty,
                format!(
                    "#[derive(Model)] cannot map the type `{}` to a column; write #[model(sql_type = \"...\")] with the SQL type, or #[model(skip)] if it is not a column",
                    quote!(#inner).to_string().replace(' ', "")
                ),
            );
            return None;
        }
    };
    if attrs.len.is_some() && !matches!(name.as_str(), "String" | "str") {
        cx.error_at(
            ty,
            "`len` applies to `String` fields only (it makes a varchar(len))",
        );
    }
    Some((mapped, nullable))
}

fn last_segment(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(TypePath { path, .. }) => path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(r) => last_segment(&r.elem),
        _ => None,
    }
}

/// `T` when `ty` is `name<T>` (any path ending in `name`).
fn generic_of<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(TypePath { path, .. }) = ty else {
        return None;
    };
    let segment = path.segments.last()?;
    if segment.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    args.args.iter().find_map(|arg| match arg {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}
