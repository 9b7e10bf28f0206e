//! A checksum of a function's tokens that formatting cannot change.
//!
//! Each token is written with its kind and its text, never the spacing
//! between tokens (not even punctuation's joint spacing), so rustfmt and comment edits leave it alone while any
//! change to the code changes it.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use sha2::{Digest, Sha256};

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
}
