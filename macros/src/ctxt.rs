//! Collects every error of one expansion, so one compile reports them all.

use std::cell::RefCell;

#[derive(Default)]
pub(crate) struct Ctxt {
    errors: RefCell<Vec<syn::Error>>,
}

impl Ctxt {
    pub(crate) fn error(&self, error: syn::Error) {
        self.errors.borrow_mut().push(error);
    }

    pub(crate) fn error_at(&self, tokens: impl quote::ToTokens, message: impl std::fmt::Display) {
        self.error(syn::Error::new_spanned(tokens, message));
    }

    /// All errors combined into one, or None.
    pub(crate) fn finish(self) -> Option<syn::Error> {
        self.errors
            .into_inner()
            .into_iter()
            .reduce(|mut all, next| {
                all.combine(next);
                all
            })
    }
}
