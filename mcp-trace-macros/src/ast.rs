//! The annotated function: its signature, parameters and parameter markers.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, Ident, ItemFn, Pat, Type};

/// One parameter as written, markers removed.
pub(crate) struct Param {
    pub(crate) receiver: bool,
    /// The binding when the pattern is a plain identifier.
    pub(crate) ident: Option<Ident>,
    pub(crate) ty: Option<Type>,
    /// A `#[session]` marker on it.
    pub(crate) session: Option<Attribute>,
    /// An `#[args]` marker on it.
    pub(crate) args: Option<Attribute>,
    /// The parameter as written, marker included, for error spans.
    pub(crate) tokens: TokenStream,
}

pub(crate) struct Handler {
    /// The function with `#[session]` / `#[args]` markers removed, otherwise as written.
    pub(crate) item: ItemFn,
    pub(crate) params: Vec<Param>,
}

impl Handler {
    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let mut item: ItemFn = syn::parse2(tokens.clone()).map_err(|error| {
            let span = if tokens.is_empty() {
                error.span()
            } else {
                tokens.span()
            };
            syn::Error::new(span, "expected a function or method with a body")
        })?;
        let params = item.sig.inputs.iter_mut().map(Param::take).collect();
        Ok(Self { item, params })
    }

    /// The item as the user wrote it, minus the markers (which are not real attributes).
    pub(crate) fn untouched(&self) -> TokenStream {
        self.item.to_token_stream()
    }

    /// Doc comment lines, the tool's description.
    #[allow(dead_code)]
    pub(crate) fn docs(&self) -> Vec<String> {
        self.item.attrs.iter().filter_map(doc_line).collect()
    }

    /// `name = "…"` of an rmcp `#[tool(…)]` attribute on the same function.
    pub(crate) fn rmcp_tool_name(&self) -> Option<String> {
        self.rmcp_tool_string("name")
    }

    /// `description = "…"` of an rmcp `#[tool(…)]` attribute on the same function: what
    /// rmcp advertises instead of the doc comment.
    #[allow(dead_code)]
    pub(crate) fn rmcp_tool_description(&self) -> Option<String> {
        self.rmcp_tool_string("description")
    }

    /// Whether rmcp's `#[tool(…)]` is on the same function.
    #[allow(dead_code)]
    pub(crate) fn has_rmcp_tool(&self) -> bool {
        self.rmcp_tool_attr().is_some()
    }

    fn rmcp_tool_attr(&self) -> Option<&Attribute> {
        self.item
            .attrs
            .iter()
            .find(|a| a.path().segments.last().is_some_and(|s| s.ident == "tool"))
    }

    /// The string literal `key = "…"` of an rmcp `#[tool(…)]` attribute, if any.
    fn rmcp_tool_string(&self, key: &str) -> Option<String> {
        let attr = self.rmcp_tool_attr()?;
        let mut found = None;
        // Anything we cannot read is rmcp's business, not ours.
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(key) {
                found = Some(meta.value()?.parse::<syn::LitStr>()?.value());
            } else if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<syn::Expr>()?;
            } else if meta.input.peek(syn::token::Paren) {
                let _ = meta.parse_nested_meta(|_| Ok(()));
            }
            Ok(())
        });
        found
    }
}

fn doc_line(attr: &Attribute) -> Option<String> {
    let syn::Meta::NameValue(nv) = &attr.meta else {
        return None;
    };
    if !nv.path.is_ident("doc") {
        return None;
    }
    match &nv.value {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    }
}

impl Param {
    fn take(arg: &mut FnArg) -> Self {
        let tokens = arg.to_token_stream();
        let attrs = match arg {
            FnArg::Receiver(r) => &mut r.attrs,
            FnArg::Typed(t) => &mut t.attrs,
        };
        let session = take_marker(attrs, "session");
        let args = take_marker(attrs, "args");
        match arg {
            FnArg::Receiver(_) => Param {
                receiver: true,
                ident: None,
                ty: None,
                session,
                args,
                tokens,
            },
            FnArg::Typed(t) => Param {
                receiver: false,
                ident: match &*t.pat {
                    Pat::Ident(p) if p.subpat.is_none() => Some(p.ident.clone()),
                    _ => None,
                },
                ty: Some((*t.ty).clone()),
                session,
                args,
                tokens,
            },
        }
    }
}

/// Removes `#[name]` from `attrs`, returning it.
fn take_marker(attrs: &mut Vec<Attribute>, name: &str) -> Option<Attribute> {
    let index = attrs.iter().position(|a| a.path().is_ident(name))?;
    Some(attrs.remove(index))
}
