//! Link-time registration of a handler's description for generated docs (`docs`).

use crate::ast::Handler;
use crate::attr::Kind;
use crate::template::Part;
use crate::types;
use crate::valid::{Model, Role, UriSource};
use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;

/// What the server advertises as the description. Under rmcp's `#[tool]`, as rmcp
/// builds it: its `description = "…"`, else the doc comment's lines trimmed, blank ones
/// dropped. Otherwise the doc comment, one line per `///` line, without rustdoc's
/// leading space.
fn description(handler: &Handler) -> String {
    if let Some(description) = handler.rmcp_tool_description() {
        return description;
    }
    if handler.has_rmcp_tool() {
        let lines: Vec<String> = handler
            .docs()
            .iter()
            .map(|line| line.trim())
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect();
        return lines.join("\n");
    }
    let lines: Vec<String> = handler
        .docs()
        .into_iter()
        .map(|line| line.strip_prefix(' ').map(str::to_owned).unwrap_or(line))
        .collect();
    lines.join("\n").trim().to_owned()
}

/// `const _: () = { … submit! … };`, placed inside the function body (an `impl` block
/// cannot hold it next to a method). `schema` is the derived-schema function's name
/// when one was emitted, or the schema file's embedding.
pub(crate) fn registration(
    model: &Model,
    handler: &Handler,
    p: &TokenStream,
    schema: TokenStream,
) -> TokenStream {
    let params = model.params.iter().filter_map(|param| {
        let (role, ty) = match &param.role {
            Role::Plain { optional } => (
                quote!(#p::ParamRole::Argument { optional: #optional }),
                param.ty.as_ref()?.clone(),
            ),
            Role::Args { ty, .. } => (quote!(#p::ParamRole::Object), (**ty).clone()),
            Role::Session => (quote!(#p::ParamRole::Session), param.ty.as_ref()?.clone()),
            Role::Ignored => return None,
        };
        let name = &param.name;
        let rust_type = types::type_text(&ty);
        Some(quote!(#p::ParamDoc::new(#name, #rust_type, #role)))
    });
    let params: Vec<TokenStream> = params.collect();
    let count = params.len();
    let description = description(handler);
    let doc = match model.kind {
        Kind::Tool => {
            let name = model.name.as_deref().unwrap_or_default();
            quote!(#p::HandlerDoc::tool(#name, #description, &__MCP_TRACE_DOC_PARAMS, #schema))
        }
        Kind::Resource => {
            let fn_name = handler.item.sig.ident.unraw().to_string();
            let name = model.name.clone().unwrap_or(fn_name);
            let named = model.name.is_some();
            let template = match &model.uri {
                Some(UriSource::Template { lit, parts })
                    if parts.iter().any(|p| matches!(p, Part::Var { .. })) =>
                {
                    quote!(::core::option::Option::Some(#lit))
                }
                _ => quote!(::core::option::Option::None),
            };
            quote!(#p::HandlerDoc::resource(#name, #description, &__MCP_TRACE_DOC_PARAMS, #template, #named))
        }
    };
    quote! {
        const _: () = {
            static __MCP_TRACE_DOC_PARAMS: [#p::ParamDoc; #count] = [#(#params),*];
            #p::inventory::submit! { #doc }
        };
    }
}
