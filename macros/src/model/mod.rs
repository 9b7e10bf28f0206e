//! `#[derive(Model)]`: parse the struct and its `#[model(...)]` attributes
//! ([`attr`]), map each field's Rust type to a column type ([`types`]),
//! then register one `cofferdam::__private::Model` with inventory.

mod attr;
mod types;

use crate::ctxt::Ctxt;
use attr::{Action, FieldAttrs};
use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let cx = Ctxt::default();
    let expanded = expand(&cx, &input);
    match cx.finish() {
        Some(error) => error.to_compile_error(),
        None => expanded,
    }
}

struct Field {
    column: String,
    attrs: FieldAttrs,
    ty: TokenStream,
    nullable: bool,
}

fn expand(cx: &Ctxt, input: &DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let options = attr::struct_attrs(cx, &input.attrs);
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => Some(&named.named),
            _ => None,
        },
        _ => None,
    };
    let Some(named) = named else {
        cx.error_at(
            ident,
            "#[derive(Model)] needs a struct with named fields, one per column",
        );
        return TokenStream::new();
    };
    let mut fields = Vec::new();
    for field in named {
        let attrs = attr::field_attrs(cx, &field.attrs);
        if attrs.skip {
            continue;
        }
        let name = field
            .ident
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let column = attrs.column.clone().unwrap_or(name);
        let Some((ty, nullable)) = types::column_type(cx, &field.ty, &attrs) else {
            continue;
        };
        fields.push(Field {
            column,
            attrs,
            ty,
            nullable,
        });
    }
    let table = options
        .table
        .clone()
        .unwrap_or_else(|| snake_case(&ident.to_string()));
    let known: Vec<&str> = fields.iter().map(|f| f.column.as_str()).collect();
    for index in &options.indexes {
        for (column, span) in &index.columns {
            if !known.contains(&column.as_str()) {
                cx.error(syn::Error::new(
                    *span,
                    format!("#[model(index(...))] on `{ident}` names `{column}`, which is not a column of `{table}`; use a field name (or its `column = \"...\"`)"),
                ));
            }
        }
    }
    let set = match &options.set {
        Some(set) => quote!(#set),
        None => quote!(::core::env!("CARGO_CRATE_NAME")),
    };
    let columns = fields.iter().map(|f| {
        let name = &f.column;
        let ty = &f.ty;
        let nullable = f.nullable;
        let auto_increment = f.attrs.auto_increment;
        let default = match &f.attrs.default {
            Some(default) => quote!(::core::option::Option::Some(#default)),
            None => quote!(::core::option::Option::None),
        };
        quote! {
            ::cofferdam::__private::ModelColumn {
                name: #name,
                ty: #ty,
                nullable: #nullable,
                default: #default,
                auto_increment: #auto_increment,
            }
        }
    });
    let primary_key: Vec<&str> = fields
        .iter()
        .filter(|f| f.attrs.primary_key)
        .map(|f| f.column.as_str())
        .collect();
    let mut indexes = Vec::new();
    for f in &fields {
        let column = &f.column;
        if f.attrs.unique {
            indexes.push(quote!(::cofferdam::__private::ModelIndex { name: ::core::option::Option::None, columns: &[#column], unique: true }));
        }
        if f.attrs.index {
            indexes.push(quote!(::cofferdam::__private::ModelIndex { name: ::core::option::Option::None, columns: &[#column], unique: false }));
        }
    }
    for index in &options.indexes {
        let columns = index.columns.iter().map(|(c, _)| c);
        let unique = index.unique;
        let name = match &index.name {
            Some(name) => quote!(::core::option::Option::Some(#name)),
            None => quote!(::core::option::Option::None),
        };
        indexes.push(quote!(::cofferdam::__private::ModelIndex { name: #name, columns: &[#(#columns),*], unique: #unique }));
    }
    let foreign_keys = fields.iter().filter_map(|f| {
        let r = f.attrs.references.as_ref()?;
        let column = &f.column;
        let (ref_table, ref_column) = (&r.table, &r.column);
        let on_delete = action(r.on_delete);
        let on_update = action(r.on_update);
        Some(quote! {
            ::cofferdam::__private::ModelForeignKey {
                columns: &[#column],
                ref_table: #ref_table,
                ref_columns: &[#ref_column],
                on_delete: #on_delete,
                on_update: #on_update,
            }
        })
    });
    quote! {
        const _: () = {
            ::cofferdam::__private::inventory::submit! {
                ::cofferdam::__private::Model {
                    set: #set,
                    table: #table,
                    rust_type: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#ident)),
                    columns: &[#(#columns),*],
                    primary_key: &[#(#primary_key),*],
                    indexes: &[#(#indexes),*],
                    foreign_keys: &[#(#foreign_keys),*],
                }
            }
        };
    }
}

fn action(action: Action) -> TokenStream {
    let variant = match action {
        Action::NoAction => quote!(NoAction),
        Action::Restrict => quote!(Restrict),
        Action::Cascade => quote!(Cascade),
        Action::SetNull => quote!(SetNull),
        Action::SetDefault => quote!(SetDefault),
    };
    quote!(::cofferdam::__private::ForeignKeyAction::#variant)
}

/// `ArticleTag` → `article_tag`: the table name when `table = "..."` is not given.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_names_default_to_snake_case() {
        assert_eq!(super::snake_case("ArticleTag"), "article_tag");
        assert_eq!(super::snake_case("Author"), "author");
    }
}
