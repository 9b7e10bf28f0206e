//! Emitting the registration of a revision.

use crate::attr::{self, DestructiveArgs};
use crate::ctxt::Ctxt;
use crate::scan::{self, Scan};
use crate::{checksum, valid};
use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, ItemFn};

pub(crate) fn migration(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::default();
    let mut function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new(
                Span::call_site(),
                "#[migration] goes on an `async fn name(m: &mut Migration<'_>) -> Result<()>`",
            );
            let error = error.to_compile_error();
            return quote!(#error #item);
        }
    };
    let args = attr::migration_args(&cx, args);
    let review = take_destructive(&cx, &mut function.attrs);
    valid::check_signature(&cx, &function);
    let scan = scan::scan(&function);
    check_review(&cx, &function, review.as_ref(), &scan);

    let marker = marker(&function, &args);
    // The function goes out as it came in, less its `#[destructive]`
    // attributes (read above): printing the parsed function again would
    // rebuild every one of its tokens.
    let written = without_destructive(item);
    match cx.finish() {
        // Keep the function and its marker so one mistake does not cascade
        // into errors at every `after = ...` that names it.
        Some(error) => {
            let error = error.to_compile_error();
            quote!(#written #marker #error)
        }
        None => {
            let checksum = checksum::of_function(written.clone());
            let registration = registration(&function, &args, review.as_ref(), &checksum, &scan);
            let warnings = warnings(&function, review.as_ref(), &scan);
            let mut out = written;
            out.extend([marker, registration, warnings]);
            out
        }
    }
}

/// `item` without its outer `#[destructive(...)]` attributes.
fn without_destructive(item: TokenStream) -> TokenStream {
    let mut kept = Vec::new();
    let mut tokens = item.into_iter().peekable();
    while let Some(token) = tokens.next() {
        if let TokenTree::Punct(pound) = &token
            && pound.as_char() == '#'
            && let Some(TokenTree::Group(group)) = tokens.peek()
            && group.delimiter() == Delimiter::Bracket
            && names_destructive(group.stream())
        {
            tokens.next();
            continue;
        }
        kept.push(token);
    }
    kept.into_iter().collect()
}

/// Whether an attribute's contents (`destructive(...)`,
/// `cofferdam::destructive(...)`) name `destructive`: the last identifier
/// of its path, which ends at its arguments.
fn names_destructive(attribute: TokenStream) -> bool {
    let mut last = None;
    for token in attribute {
        match token {
            TokenTree::Ident(ident) => last = Some(ident),
            TokenTree::Punct(punct) if punct.as_char() == ':' => {}
            _ => break,
        }
    }
    last.is_some_and(|ident| ident == "destructive")
}

/// `#[destructive]` placed above `#[migration]`: hand it to `#[migration]`,
/// which reads it; anywhere else it is a mistake.
pub(crate) fn destructive(args: TokenStream, item: TokenStream) -> TokenStream {
    let Ok(mut function) = syn::parse2::<ItemFn>(item.clone()) else {
        let error = syn::Error::new(
            Span::call_site(),
            "#[destructive] goes on a #[migration] async fn",
        );
        let error = error.to_compile_error();
        return quote!(#error #item);
    };
    let has_migration = function.attrs.iter().any(|a| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "migration")
    });
    if !has_migration {
        let error = syn::Error::new(
            Span::call_site(),
            "#[destructive] only works together with #[migration] on the same function; add #[migration] or remove #[destructive]",
        );
        let error = error.to_compile_error();
        return quote!(#error #function);
    }
    function
        .attrs
        .push(syn::parse_quote!(#[destructive(#args)]));
    function.into_token_stream()
}

/// Removes `#[destructive(...)]` attributes from the function and parses them.
fn take_destructive(cx: &Ctxt, attrs: &mut Vec<Attribute>) -> Option<DestructiveArgs> {
    let mut review: Option<DestructiveArgs> = None;
    let mut kept = Vec::with_capacity(attrs.len());
    for attribute in attrs.drain(..) {
        if attribute
            .path()
            .segments
            .last()
            .is_none_or(|s| s.ident != "destructive")
        {
            kept.push(attribute);
            continue;
        }
        let tokens = match &attribute.meta {
            syn::Meta::List(list) => list.tokens.clone(),
            _ => TokenStream::new(),
        };
        let parsed = attr::destructive_args(cx, attribute.to_token_stream(), tokens);
        if review.is_some() {
            cx.error_at(
                &attribute,
                "duplicate #[destructive] attribute; give it once",
            );
        } else {
            review = Some(parsed);
        }
    }
    *attrs = kept;
    review
}

fn check_review(cx: &Ctxt, function: &ItemFn, review: Option<&DestructiveArgs>, scan: &Scan) {
    let name = &function.sig.ident;
    match review {
        None => {
            for found in &scan.found {
                let statement = match &found.statement {
                    Some(statement) => format!(" (in the statement `{statement}`)"),
                    None => String::new(),
                };
                let fix = match found.finding.hint {
                    Some(hint) => format!("make the migration non-destructive ({hint})"),
                    None => "make the migration non-destructive".to_owned(),
                };
                cx.error(syn::Error::new_spanned(
                    &found.tokens,
                    format!(
                        "{}{statement}, but #[migration] `{name}` is not marked reviewed\n\
                         help: {fix}, or after a review and a backup add \
                         #[destructive(reviewed, reason = \"...\")] to `{name}`",
                        found.describe()
                    ),
                ));
            }
        }
        // Breaking changes need no marker, but one may record their review.
        Some(review) if scan.found.is_empty() && scan.warnings.is_empty() && !scan.dynamic => {
            cx.error(syn::Error::new_spanned(
                &review.tokens,
                format!(
                    "#[destructive(reviewed)] on `{name}`, but nothing destructive was found in it; \
                     remove the attribute (a review marker must not be copied blindly)"
                ),
            ));
        }
        Some(_) => {}
    }
}

/// Breaking-but-not-destructive operations as compiler warnings: stable Rust gives proc macros
/// no warning of their own, so each is the use of a deprecated constant, pointed at the code.
fn warnings(function: &ItemFn, review: Option<&DestructiveArgs>, scan: &Scan) -> TokenStream {
    if review.is_some() {
        return TokenStream::new();
    }
    let name = &function.sig.ident;
    let warnings = scan.warnings.iter().map(|found| {
        let note = format!(
            "{} (a warning, not an error: #[migration] `{name}` still builds)",
            found.describe()
        );
        let span = found
            .tokens
            .clone()
            .into_iter()
            .next()
            .map_or_else(Span::call_site, |t| t.span());
        let usage = quote_spanned!(span=> breaking_change);
        quote! {
            const _: () = {
                #[deprecated(note = #note)]
                #[allow(non_upper_case_globals)]
                const breaking_change: () = ();
                #usage
            };
        }
    });
    quote!(#(#warnings)*)
}

/// The type-namespace twin of the function that `after = path` resolves to.
fn marker(function: &ItemFn, args: &attr::MigrationArgs) -> TokenStream {
    let ident = &function.sig.ident;
    let vis = &function.vis;
    let id = revision_id(function, args);
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #ident {}
        impl ::cofferdam::__private::RevisionRef for #ident {
            const ID: &'static str = #id;
        }
    }
}

fn revision_id(function: &ItemFn, args: &attr::MigrationArgs) -> String {
    args.id
        .as_ref()
        .map_or_else(|| function.sig.ident.to_string(), syn::LitStr::value)
}

fn registration(
    function: &ItemFn,
    args: &attr::MigrationArgs,
    review: Option<&DestructiveArgs>,
    checksum: &str,
    scan: &Scan,
) -> TokenStream {
    let ident = &function.sig.ident;
    let id = revision_id(function, args);
    let set = match &args.set {
        Some(set) => quote!(#set),
        None => quote!(::core::env!("CARGO_CRATE_NAME")),
    };
    let parents = args.after.iter().map(
        |path| quote_spanned!(path.span()=> <#path as ::cofferdam::__private::RevisionRef>::ID),
    );
    let replaces = args.replaces.iter().map(|entry| match entry {
        attr::Replaced::Path(path) => {
            quote_spanned!(path.span()=> <#path as ::cofferdam::__private::RevisionRef>::ID)
        }
        attr::Replaced::Id(id) => quote!(#id),
    });
    // Precomputed so that a start-up at head sums constants instead of
    // hashing every revision (see the runtime's `digest` module).
    let entry = cofferdam_lint::history_entry_hash(&id, checksum, "applied");
    let output_span = function.sig.output.span();
    let up = quote_spanned! {output_span=>
        fn __cofferdam_up<'a, 'c>(m: &'a mut ::cofferdam::Migration<'c>) -> ::cofferdam::__private::BoxFuture<'a> {
            ::cofferdam::__private::Box::pin(#ident(m))
        }
    };
    let (down_fn, down) = match &args.down {
        Some(path) => (
            quote_spanned! {path.span()=>
                fn __cofferdam_down<'a, 'c>(m: &'a mut ::cofferdam::Migration<'c>) -> ::cofferdam::__private::BoxFuture<'a> {
                    ::cofferdam::__private::Box::pin(#path(m))
                }
            },
            quote!(::core::option::Option::Some(__cofferdam_down)),
        ),
        None => (TokenStream::new(), quote!(::core::option::Option::None)),
    };
    let transaction = args.transaction.as_ref().is_none_or(syn::LitBool::value);
    let review = match review {
        Some(review) => {
            let reason = match &review.reason {
                Some(reason) => quote!(::core::option::Option::Some(#reason)),
                None => quote!(::core::option::Option::None),
            };
            let operations = scan.found.iter().map(scan::Found::operation);
            quote!(::core::option::Option::Some(::cofferdam::__private::Review {
                reason: #reason,
                operations: &[#(#operations),*],
            }))
        }
        None => quote!(::core::option::Option::None),
    };
    let option = |value: Option<TokenStream>| match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    };
    let lock_timeout = option(args.lock_timeout_ms.map(|ms| quote!(#ms)));
    let statement_timeout = option(args.statement_timeout_ms.map(|ms| quote!(#ms)));
    let retries = option(args.retries.map(|n| quote!(#n)));
    let phase = if args.contract {
        quote!(::cofferdam::__private::Phase::Contract)
    } else {
        quote!(::cofferdam::__private::Phase::Expand)
    };
    let line = quote_spanned!(ident.span()=> ::core::line!());
    quote! {
        const _: () = {
            #up
            #down_fn
            ::cofferdam::__private::inventory::submit! {
                ::cofferdam::__private::Revision {
                    id: #id,
                    set: #set,
                    parents: &[#(#parents),*],
                    replaces: &[#(#replaces),*],
                    checksum: #checksum,
                    entry: #entry,
                    up: __cofferdam_up,
                    down: #down,
                    transaction: #transaction,
                    review: #review,
                    timeouts: ::cofferdam::__private::Timeouts::declared(#lock_timeout, #statement_timeout, #retries),
                    phase: #phase,
                    function: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#ident)),
                    file: ::core::file!(),
                    line: #line,
                }
            }
        };
    }
}
