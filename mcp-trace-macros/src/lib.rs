//! Attribute macros of [mcp-trace](https://docs.rs/mcp-trace). Use them through the
//! `mcp-trace` crate, which documents them.
//!
//! Parse (`attr`, `ast`) → validate (`valid`) → expand (`expand`, `docs`), each stage
//! depending only on the ones before it and on the leaves they share (`ctxt`, `types`,
//! `template`, `schema_file`). Every error is collected in `ctxt` and reported at once,
//! spanned on the offending token; on error the item is emitted untouched (but for the
//! parameter markers) so no follow-on errors appear.

mod ast;
mod attr;
mod ctxt;
mod docs;
mod expand;
mod schema_file;
mod template;
#[cfg(test)]
mod tests;
mod types;
mod valid;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;

use attr::Kind;
use expand::Switches;

/// Traces an MCP tool handler: one `tools/call {tool}` span per call.
#[proc_macro_attribute]
pub fn traced_tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    handler(
        Kind::Tool,
        attr.into(),
        item.into(),
        Switches::from_features(),
    )
    .into()
}

/// Traces an MCP resource handler: one `resources/read` span per read.
#[proc_macro_attribute]
pub fn traced_resource(attr: TokenStream, item: TokenStream) -> TokenStream {
    handler(
        Kind::Resource,
        attr.into(),
        item.into(),
        Switches::from_features(),
    )
    .into()
}

fn handler(kind: Kind, attr: TokenStream2, item: TokenStream2, switches: Switches) -> TokenStream2 {
    let mut errors = ctxt::Errors::default();
    let args = attr::parse(kind, attr, &mut errors);
    let handler = match ast::Handler::parse(item.clone()) {
        Ok(handler) => handler,
        Err(error) => {
            errors.push(error);
            return errors.with_item(item);
        }
    };
    let model = valid::validate(kind, args, &handler, &mut errors);
    match model {
        Some(model) if errors.is_empty() => {
            if switches.enable || switches.docs {
                expand::expand(&model, &handler, switches)
            } else {
                handler.untouched()
            }
        }
        _ => errors.with_item(handler.untouched()),
    }
}
