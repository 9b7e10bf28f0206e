//! `#[cofferdam::test]`: parse the arguments, check the function, and emit
//! one `#[test]` per engine that hands it a database.

use crate::ctxt::Ctxt;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprPath, ItemFn, Meta, Path, Token};

const KEYS: &str = "`migrator`, `to`, `before`, `engines`";

/// The engines a test may name: the `Backend` variant and the suffix of the
/// generated test.
const ENGINES: [(&str, &str); 3] = [
    ("sqlite", "Sqlite"),
    ("postgres", "Postgres"),
    ("mysql", "MySql"),
];

#[derive(Default)]
struct Args {
    migrator: Option<Path>,
    to: Option<Path>,
    before: Option<Path>,
    engines: Vec<(syn::Ident, &'static str)>,
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::default();
    let function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                "#[cofferdam::test] goes on an `async fn name(db: TestDatabase)`",
            );
            return error.to_compile_error();
        }
    };
    let args = parse(&cx, args);
    validate(&cx, &function, &args);
    if let Some(error) = cx.finish() {
        // The function is still emitted, so one mistake does not cascade.
        let error = error.to_compile_error();
        return quote!(#error #[allow(dead_code)] #function);
    }
    generate(&function, &args)
}

fn parse(cx: &Ctxt, tokens: TokenStream) -> Args {
    let mut args = Args::default();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(metas) => metas,
        Err(error) => {
            cx.error(error);
            return args;
        }
    };
    for meta in metas {
        let key = meta
            .path()
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let Meta::NameValue(nv) = &meta else {
            cx.error_at(&meta, format!("unknown argument in #[cofferdam::test]; expected one of {KEYS}, each as `key = value`"));
            continue;
        };
        let path = |cx: &Ctxt, what: &str| match &nv.value {
            Expr::Path(ExprPath { path, .. }) => Some(path.clone()),
            other => {
                cx.error_at(other, format!("`{key}` takes {what}"));
                None
            }
        };
        match key.as_str() {
            "migrator" => {
                args.migrator = path(
                    cx,
                    "the path of a `fn() -> Migrator`, like `migrator = my_migrations::migrator`",
                )
            }
            "to" => {
                args.to = path(
                    cx,
                    "the path of a #[migration] function, like `to = my_migrations::add_slug`",
                )
            }
            "before" => {
                args.before = path(
                    cx,
                    "the path of a #[migration] function, like `before = my_migrations::add_slug`",
                )
            }
            "engines" => engines(cx, &nv.value, &mut args.engines),
            _ => cx.error_at(
                meta.path(),
                format!("unknown argument `{key}` in #[cofferdam::test]; expected one of {KEYS}"),
            ),
        }
    }
    if args.engines.is_empty() {
        args.engines = ENGINES
            .iter()
            .map(|(name, variant)| (format_ident!("{name}"), *variant))
            .collect();
    }
    args
}

fn engines(cx: &Ctxt, value: &Expr, out: &mut Vec<(syn::Ident, &'static str)>) {
    let Expr::Array(array) = value else {
        cx.error_at(
            value,
            "`engines` takes a list, like `engines = [sqlite, postgres, mysql]`",
        );
        return;
    };
    for elem in &array.elems {
        let name = match elem {
            Expr::Path(ExprPath { path, .. }) => path.get_ident().cloned(),
            _ => None,
        };
        match name.and_then(|n| ENGINES.iter().find(|(e, _)| n == e).map(|(_, v)| (n, *v))) {
            Some(engine) => out.push(engine),
            None => cx.error_at(
                elem,
                "unknown engine in #[cofferdam::test]; expected `sqlite`, `postgres` or `mysql`",
            ),
        }
    }
}

fn validate(cx: &Ctxt, function: &ItemFn, args: &Args) {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        cx.error_at(
            sig.fn_token,
            "#[cofferdam::test] needs an async fn: write `async fn`",
        );
    }
    if sig.inputs.len() != 1 {
        let span = if sig.inputs.is_empty() {
            sig.paren_token.span.join()
        } else {
            sig.inputs.span()
        };
        cx.error(syn::Error::new(span, "#[cofferdam::test] hands the test one argument, its database: `db: cofferdam::testing::TestDatabase`"));
    }
    if !sig.generics.params.is_empty() {
        cx.error_at(
            &sig.generics,
            "#[cofferdam::test] functions cannot be generic",
        );
    }
    if let (Some(to), Some(_)) = (&args.to, &args.before) {
        cx.error_at(to, "give `to` or `before`, not both");
    }
    for path in [&args.to, &args.before].into_iter().flatten() {
        if args.migrator.is_none() {
            cx.error_at(
                path,
                "`to` and `before` need the set: add `migrator = my_migrations::migrator`",
            );
        }
    }
}

fn generate(function: &ItemFn, args: &Args) -> TokenStream {
    let name = &function.sig.ident;
    // Attributes such as #[should_panic] or #[ignore] apply to each engine's
    // test; doc comments stay on the function.
    let (docs, test_attrs): (Vec<_>, Vec<_>) = function
        .attrs
        .iter()
        .partition(|a| a.path().is_ident("doc"));
    let mut function = function.clone();
    function.attrs = docs.into_iter().cloned().collect();
    let option = |value: Option<TokenStream>| match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    };
    let id = |path: &Option<Path>| {
        path.as_ref()
            .map(|p| quote_spanned!(p.span()=> <#p as ::cofferdam::__private::RevisionRef>::ID))
    };
    let migrator = option(
        args.migrator
            .as_ref()
            .map(|p| quote_spanned!(p.span()=> #p as fn() -> ::cofferdam::Migrator)),
    );
    let to = option(id(&args.to));
    let before = option(id(&args.before));
    let tests = args.engines.iter().map(|(engine, variant)| {
        let test = format_ident!("{name}_{engine}", span = engine.span());
        let variant = syn::Ident::new(variant, Span::call_site());
        quote! {
            #[test]
            #(#test_attrs)*
            fn #test() {
                ::cofferdam::__private::testing::run(
                    ::cofferdam::Backend::#variant,
                    ::cofferdam::__private::testing::Setup { migrator: #migrator, to: #to, before: #before },
                    #name,
                )
            }
        }
    });
    quote! {
        #[allow(dead_code)]
        #function
        #(#tests)*
    }
}
