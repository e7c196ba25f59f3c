//! The error collector every stage reports into: parsing, validation and the expansion
//! all push here, and every error is reported at once (as serde_derive's `Ctxt`).

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

/// Every error found, combined into one.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn error(&mut self, at: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(at, message));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The errors, then the item, so the item still exists for the rest of the crate.
    pub(crate) fn with_item(self, item: TokenStream) -> TokenStream {
        let errors = self.0.map(|e| e.to_compile_error());
        quote!(#errors #item)
    }
}
