//! A checksum of a function's tokens that formatting cannot change.
//!
//! Each token is written with its kind and its text, never the spacing
//! between tokens (not even punctuation's joint spacing), so rustfmt and comment edits leave it alone while any
//! change to the code changes it.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use sha2::{Digest, Sha256};

/// The checksum of a function item as written: its signature and body,
/// past its outer attributes and visibility. The same value as [`of`] over
/// the parsed signature and block printed again, without printing them.
pub(crate) fn of_function(item: TokenStream) -> String {
    let mut tokens = item.into_iter().peekable();
    // Outer attributes: `#` and a bracketed group.
    while let Some(TokenTree::Punct(pound)) = tokens.peek() {
        if pound.as_char() != '#' {
            break;
        }
        tokens.next();
        tokens.next();
    }
    // Visibility: `pub`, `pub(crate)`, `pub(in path)`.
    if let Some(TokenTree::Ident(ident)) = tokens.peek()
        && ident == "pub"
    {
        tokens.next();
        if let Some(TokenTree::Group(group)) = tokens.peek()
            && group.delimiter() == Delimiter::Parenthesis
        {
            tokens.next();
        }
    }
    of(tokens.collect())
}

pub(crate) fn of(tokens: TokenStream) -> String {
    let mut hasher = Sha256::new();
    feed(&mut hasher, tokens);
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn feed(hasher: &mut Sha256, tokens: TokenStream) {
    for token in tokens {
        match token {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("\u{1}", "\u{2}"),
                };
                hasher.update(open);
                feed(hasher, group.stream());
                hasher.update(close);
            }
            TokenTree::Ident(ident) => {
                hasher.update(b"i");
                hasher.update(ident.to_string());
                hasher.update(b" ");
            }
            TokenTree::Punct(punct) => {
                hasher.update(b"p");
                // Spacing is left out: `m:&mut` and `m: &mut` are the same code.
                hasher.update(punct.as_char().to_string());
            }
            TokenTree::Literal(literal) => {
                hasher.update(b"l");
                hasher.update(literal.to_string());
                hasher.update(b" ");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    #[test]
    fn formatting_does_not_change_it_but_code_does() {
        let a = super::of(
            quote! { async fn f(m: &mut Migration<'_>) -> Result<()> { m.execute("x").await } },
        );
        let b = super::of("async fn f(m:&mut Migration<'_>)->Result<()>{\n    m.execute(\"x\")\n        .await\n}".parse().unwrap());
        let c = super::of(
            quote! { async fn f(m: &mut Migration<'_>) -> Result<()> { m.execute("y").await } },
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    /// Revisions already applied keep their checksum: the function as
    /// written hashes as its parsed signature and body did.
    #[test]
    fn the_item_as_written_hashes_as_its_signature_and_body() {
        let items = [
            quote! { async fn f(m: &mut Migration<'_>) -> Result<()> { m.execute("x").await } },
            quote! {
                /// Docs.
                #[migration(after = a::b)]
                #[destructive(reviewed, reason = "r")]
                pub async fn f(m: &mut Migration<'_>) -> Result<()> {
                    /// An inner doc.
                    let x = [1, 2];
                    m.exec(Table::drop().table("t")).await?;
                    m.execute(&format!("DROP TABLE {}", x[0])).await
                }
            },
            quote! { pub(crate) async fn g<'a>(m: &mut Migration<'a>) -> Result<()> where 'a: 'a { Ok(()) } },
            quote! { #[allow(unused)] pub(in crate::x) async fn h(m: &mut Migration<'_>) -> cofferdam::Result<()> { m.execute(r#"a"#).await } },
        ];
        for item in items {
            let parsed: syn::ItemFn = syn::parse2(item.clone()).unwrap();
            let (sig, block) = (&parsed.sig, &parsed.block);
            assert_eq!(super::of_function(item), super::of(quote!(#sig #block)));
        }
    }

    /// The same over every file of this workspace that holds migrations:
    /// each file as lexed hashes as the file parsed and printed again, so
    /// every function in it does too.
    #[test]
    fn printing_a_parsed_file_keeps_its_tokens() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        let mut dirs = vec![
            root.join("examples"),
            root.join("migrations"),
            root.join("tests"),
        ];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() && !path.ends_with("ui") && !path.ends_with("target") {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    if text.contains("#[migration") {
                        files.push((path, text));
                    }
                }
            }
        }
        assert!(files.len() > 10, "found {} files", files.len());
        for (path, text) in files {
            let lexed: proc_macro2::TokenStream = text.parse().unwrap();
            let parsed: syn::File = syn::parse_str(&text).unwrap();
            assert_eq!(
                super::of(lexed),
                super::of(quote!(#parsed)),
                "{}",
                path.display()
            );
        }
    }
}
