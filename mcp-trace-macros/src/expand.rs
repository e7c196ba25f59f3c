//! Code generation: the span wrapper around the user's body.
//!
//! Generated locals are `__mcp_trace_*`; runtime paths are absolute through
//! `<crate>::__private`. The user's statements are moved, untouched, into an
//! `async move` block (async) or an immediately called `move` closure (sync), whose
//! return type is pinned to the declared one so `?` and type errors behave as written.

use crate::ast::Handler;
use crate::attr::{Kind, UriModeArg};
use crate::template::Part;
use crate::types;
use crate::valid::{Model, ModelParam, Role, UriSource};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{AttrStyle, FnArg, Pat, PatIdent, ReturnType, Type};

/// The crate features, as seen by the expansion (a value, so tests can expand every
/// combination in one run).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Switches {
    pub(crate) enable: bool,
    pub(crate) shape: bool,
    pub(crate) hash: bool,
    pub(crate) schema: bool,
    pub(crate) docs: bool,
    pub(crate) rmcp: bool,
}

impl Switches {
    pub(crate) fn from_features() -> Self {
        Self {
            enable: cfg!(feature = "enable"),
            shape: cfg!(feature = "args-shape"),
            hash: cfg!(feature = "args-hash"),
            schema: cfg!(feature = "schema-check"),
            docs: cfg!(feature = "docs"),
            rmcp: cfg!(feature = "rmcp"),
        }
    }
}

pub(crate) fn expand(model: &Model, handler: &Handler, switches: Switches) -> TokenStream {
    let krate = &model.krate;
    let p = quote!(#krate::__private);
    let item = &handler.item;
    let (schema_items, schema_arg, doc_schema) = schema_sources(model, handler, &p, switches);
    let registration = switches
        .docs
        .then(|| crate::docs::registration(model, handler, &p, doc_schema));
    if !switches.enable {
        // Telemetry off: the function as written, plus its docs registration.
        let mut item = item.clone();
        let items: syn::Block = syn::parse_quote!({ #schema_items #registration });
        item.block.stmts.splice(0..0, items.stmts);
        return quote!(#item);
    }
    let outer = item
        .attrs
        .iter()
        .filter(|a| matches!(a.style, AttrStyle::Outer));
    let inner = item
        .attrs
        .iter()
        .filter(|a| matches!(a.style, AttrStyle::Inner(_)));
    let vis = &item.vis;
    let (sig, rebinds) = rename_destructured(handler, model);
    let start = match model.kind {
        Kind::Tool => tool_start(model, &p, switches, schema_arg),
        Kind::Resource => resource_start(model, &p),
    };
    let start = with_request_context(model, &p, switches, start);
    // rmcp's `#[tool]` (when it ran first) rewrote `async fn` into a boxed future: undo
    // that view and trace it as the async fn it was.
    let boxed_async = match &item.sig.output {
        ReturnType::Type(_, ty) if item.sig.asyncness.is_none() => types::future_output(ty)
            .filter(|_| types::returned_future(ty) == Some(types::ReturnedFuture::Boxed))
            .zip(types::boxed_async_body(&item.block)),
        _ => None,
    };
    let is_async = item.sig.asyncness.is_some() || boxed_async.is_some();
    let stmts = match boxed_async {
        Some((_, block)) => &block.stmts,
        None => &item.block.stmts,
    };
    let ret = match (&item.sig.output, boxed_async) {
        (_, Some((output, _))) => Some(output).filter(|t| types::is_nameable(t)),
        (ReturnType::Type(_, ty), None) if types::is_nameable(ty) => Some(&**ty),
        _ => None,
    };
    let outcome = outcome(&p);
    // The result classified inline, not in a closure: one body less per handler to
    // check and compile.
    let finish = quote! {
        let __mcp_trace_outcome = if __mcp_trace_call.wants_outcome() {
            ::core::option::Option::Some(#outcome)
        } else {
            ::core::option::Option::None
        };
        __mcp_trace_call.finish_with(__mcp_trace_outcome);
    };
    let returned_future = match &item.sig.output {
        ReturnType::Type(_, ty) if !is_async => types::returned_future(ty),
        _ => None,
    };
    let run = if is_async {
        let fake_return = ret.map(|ty| {
            quote! {
                #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::needless_return)]
                if false {
                    let __mcp_trace_fake: #ty = loop {};
                    return __mcp_trace_fake;
                }
            }
        });
        quote! {
            let (__mcp_trace_out, __mcp_trace_call) = #p::Traced::new(__mcp_trace_call, async move {
                #fake_return
                #(#rebinds)*
                #(#stmts)*
            })
            .await;
        }
    } else if let Some(kind) = returned_future {
        // Another future-returning fn: the span starts at the call (the parameters are
        // moved into the future) and covers the future's execution.
        let arrow = ret.map(|ty| quote!(-> #ty));
        let traced = quote! {
            async move {
                let (__mcp_trace_out, __mcp_trace_call) =
                    #p::Traced::new(__mcp_trace_call, __mcp_trace_future).await;
                #finish
                __mcp_trace_out
            }
        };
        let wrapped = match kind {
            types::ReturnedFuture::Boxed => quote!(::std::boxed::Box::pin(#traced)),
            types::ReturnedFuture::Impl => traced,
        };
        return quote! {
            #(#outer)*
            #vis #sig {
                #(#inner)*
                #schema_items
                #registration
                #start
                #[allow(clippy::redundant_closure_call)]
                let __mcp_trace_future = (move || #arrow {
                    #(#rebinds)*
                    #(#stmts)*
                })();
                #wrapped
            }
        };
    } else {
        let arrow = ret.map(|ty| quote!(-> #ty));
        quote! {
            let __mcp_trace_out = {
                let __mcp_trace_entered = __mcp_trace_call.enter();
                #[allow(clippy::redundant_closure_call)]
                (move || #arrow {
                    #(#rebinds)*
                    #(#stmts)*
                })()
            };
        }
    };
    let body = quote! {
        #start
        #run
        #finish
        __mcp_trace_out
    };
    let body = match boxed_async {
        Some(_) => quote!(::std::boxed::Box::pin(async move { #body })),
        None => body,
    };
    quote! {
        #(#outer)*
        #vis #sig {
            #(#inner)*
            #schema_items
            #registration
            #body
        }
    }
}

/// With rmcp, a `RequestContext` parameter supplies the request scope (id, `_meta`,
/// session) when no adapter has set one: the span starts inside it.
fn with_request_context(
    model: &Model,
    p: &TokenStream,
    switches: Switches,
    start: TokenStream,
) -> TokenStream {
    let context = model
        .params
        .iter()
        .filter(|param| param.ty.as_ref().is_some_and(types::is_request_context))
        .find_map(|param| param.binding.as_ref());
    match context.filter(|_| switches.rmcp) {
        Some(context) => {
            let (statics, call) = split_start(start);
            quote! {
                #statics
                let __mcp_trace_call = #p::with_rmcp_context(&#context, || { #call });
            }
        }
        None => start,
    }
}

/// Separates the `static` items of a span start from its `let __mcp_trace_call = …;`.
fn split_start(start: TokenStream) -> (TokenStream, TokenStream) {
    let block: syn::Block = syn::parse_quote!({ #start });
    let mut statics = TokenStream::new();
    let mut call = TokenStream::new();
    for stmt in block.stmts {
        match stmt {
            syn::Stmt::Local(local) => {
                if let Some(init) = local.init {
                    let expr = init.expr;
                    call = quote!(#expr);
                }
            }
            other => statics.extend(quote!(#other)),
        }
    }
    (statics, call)
}

/// Replaces destructuring patterns of arguments-object parameters with a generated
/// name (the whole value is shaped) and re-binds the pattern inside the body.
fn rename_destructured(handler: &Handler, model: &Model) -> (syn::Signature, Vec<TokenStream>) {
    let mut sig = handler.item.sig.clone();
    let mut rebinds = Vec::new();
    for (arg, param) in sig.inputs.iter_mut().zip(&model.params) {
        let (FnArg::Typed(typed), true, Some(binding)) = (arg, param.renamed, &param.binding)
        else {
            continue;
        };
        let pattern = std::mem::replace(
            &mut *typed.pat,
            Pat::Ident(PatIdent {
                attrs: Vec::new(),
                by_ref: None,
                mutability: None,
                ident: binding.clone(),
                subpat: None,
            }),
        );
        rebinds.push(quote!(let #pattern = #binding;));
    }
    (sig, rebinds)
}

fn plain_params(model: &Model) -> impl Iterator<Item = (&ModelParam, bool)> {
    model.params.iter().filter_map(|p| match p.role {
        Role::Plain { optional } => Some((p, optional)),
        _ => None,
    })
}

fn args_param(model: &Model) -> Option<(&ModelParam, &Type, bool)> {
    model.params.iter().find_map(|p| match &p.role {
        Role::Args { ty, field } => Some((p, &**ty, *field)),
        _ => None,
    })
}

/// `Option<&str>` of a `#[session]` parameter, as a call argument (its temporaries
/// end with the statement, before the parameters move into the body).
fn session_arg(model: &Model, p: &TokenStream) -> TokenStream {
    match model.session().and_then(|s| s.binding.as_ref()) {
        Some(binding) => quote! {
            {
                #[allow(unused_imports)]
                use #p::probe::{SessionBorrowed as _, SessionDisplay as _};
                (&&#p::Probe(&#binding)).__mcp_trace_session()
            }
            .as_deref()
        },
        None => quote!(::core::option::Option::None),
    }
}

fn tool_start(
    model: &Model,
    p: &TokenStream,
    switches: Switches,
    schema: Option<TokenStream>,
) -> TokenStream {
    let name = model.name.as_deref().unwrap_or_default();
    let span_name = format!("tools/call {name}");
    let plain: Vec<_> = plain_params(model).collect();
    let metas = plain.iter().map(|(param, optional)| {
        let base = format!("mcp.tool.args.{}", param.name);
        let keys = [
            base.clone(),
            format!("{base}.length"),
            format!("{base}.count"),
            format!("{base}.present"),
        ];
        let name = &param.name;
        let member = match switches.hash {
            true => canonical_member(name),
            false => String::new(),
        };
        quote!(#p::ParamMeta::new(#name, #member, [#(#keys),*], #optional))
    });
    let count = plain.len();
    let args = args_param(model);
    let flattened = args.is_some();
    let schema_file = model
        .schema_file
        .as_ref()
        .filter(|_| switches.schema)
        .map(|lit| {
            quote! {
                .with_schema_file(::core::include_str!(::core::concat!(
                    ::core::env!("CARGO_MANIFEST_DIR"), "/", #lit
                )))
            }
        });
    let record = record_closure(model, p, switches);
    let session = session_arg(model, p);
    quote! {
        static __MCP_TRACE_PARAMS: [#p::ParamMeta; #count] = [#(#metas),*];
        static __MCP_TRACE_TOOL: #p::ToolMeta =
            #p::ToolMeta::new(#name, #span_name, &__MCP_TRACE_PARAMS, #flattened) #schema_file;
        let __mcp_trace_call = #p::start_tool(&__MCP_TRACE_TOOL, #session, #record, #schema);
    }
}

/// The parameter's name as the canonical argument text prints a member's start
/// (`"name": `), written once here so the hash copies it; empty when the name needs
/// escaping (not plain ASCII), which the runtime then does.
fn canonical_member(name: &str) -> String {
    let plain = name
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    match plain {
        true => format!("\"{name}\": "),
        false => String::new(),
    }
}

/// Where a parameter's generated code points errors: its type.
fn type_span(param: &ModelParam) -> proc_macro2::Span {
    param
        .ty
        .as_ref()
        .map_or_else(proc_macro2::Span::call_site, |t| t.span())
}

/// Shapes typed parameters (`args-shape`) and hands their JSON to the hash and schema
/// check (`args-hash`, `schema-check`). Runs only when the span records.
fn record_closure(model: &Model, p: &TokenStream, switches: Switches) -> TokenStream {
    let json = switches.hash || switches.schema;
    let mut body = Vec::new();
    // Shapes in parameter order, as the raw arguments' shapes are pushed (the order
    // decides which attributes an attribute limit keeps).
    for (index, (param, optional)) in plain_params(model).enumerate() {
        let Some(binding) = &param.binding else {
            continue;
        };
        let span = type_span(param);
        let meta = quote!(&__MCP_TRACE_PARAMS[#index]);
        if switches.shape && optional {
            body.push(quote_spanned! {span=>
                __mcp_trace_rec.present(#meta, ::core::option::Option::is_some(&#binding));
                if let ::core::option::Option::Some(__mcp_trace_v) = ::core::option::Option::as_ref(&#binding) {
                    (&&&#p::Probe(__mcp_trace_v)).__mcp_trace_shape(__mcp_trace_rec, #meta);
                }
            });
        } else if switches.shape {
            body.push(quote_spanned! {span=>
                (&&&#p::Probe(&#binding)).__mcp_trace_shape(__mcp_trace_rec, #meta);
            });
        }
    }
    // The arguments' JSON in the order of their names, the order the canonical text
    // (the hash) lists them in, so that it needs no sorting.
    let mut by_name: Vec<_> = plain_params(model).enumerate().collect();
    by_name.sort_by(|(_, (a, _)), (_, (b, _))| a.name.cmp(&b.name));
    for (index, (param, _)) in by_name.into_iter().filter(|_| json) {
        let Some(binding) = &param.binding else {
            continue;
        };
        let span = type_span(param);
        let meta = quote!(&__MCP_TRACE_PARAMS[#index]);
        body.push(quote_spanned! {span=>
            if __mcp_trace_rec.wants_json() {
                (&&#p::Probe(&#binding)).__mcp_trace_args(__mcp_trace_rec, #meta);
            }
        });
    }
    if let Some((param, _, field)) = args_param(model)
        && let Some(binding) = &param.binding.as_ref().filter(|_| switches.shape || json)
    {
        let value = if field {
            quote!(&#binding.0)
        } else {
            quote!(&#binding)
        };
        body.push(quote! {
            __mcp_trace_rec.flatten((&&#p::Probe(#value)).__mcp_trace_json());
        });
    }
    let shape_traits = switches
        .shape
        .then(|| quote!(ShapeNone as _, ShapeSerde as _, ShapeTyped as _,));
    quote! {
        &mut |__mcp_trace_rec: &mut #p::ArgsRecorder<'_>| {
            #[allow(unused_imports)]
            use #p::probe::{#shape_traits JsonNone as _, JsonSerde as _};
            #(#body)*
        }
    }
}

fn include_schema(lit: &syn::LitStr) -> TokenStream {
    quote!(::core::include_str!(
        ::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), "/", #lit)
    ))
}

/// How the tool's schema reaches the schema check and the docs: `(items, runtime
/// argument, docs source)`. A derived schema is one nested function shared by both when
/// the parameter types can be named from a nested item; otherwise the schema check gets
/// a closure (generics are in scope there) and the docs get no schema.
fn schema_sources(
    model: &Model,
    handler: &Handler,
    p: &TokenStream,
    switches: Switches,
) -> (TokenStream, Option<TokenStream>, TokenStream) {
    let runtime = switches.schema && switches.enable && model.kind == Kind::Tool;
    if let Some(lit) = &model.schema_file {
        let file = include_schema(lit);
        let arg = runtime.then(|| quote!(|_: &mut #p::SchemaBuilder| {}));
        return (quote!(), arg, quote!(#p::DocSchema::File(#file)));
    }
    if model.kind == Kind::Resource || !(runtime || switches.docs) {
        return (quote!(), None, quote!(#p::DocSchema::Unknown));
    }
    let generics = &handler.item.sig.generics;
    let closed = |ty: &Type| types::closed(ty, generics);
    let all_closed = model.params.iter().all(|param| match &param.role {
        Role::Plain { .. } => param.ty.as_ref().is_none_or(|t| closed(t).is_some()),
        Role::Args { ty, .. } => closed(ty).is_some(),
        _ => true,
    });
    if all_closed {
        let body = schema_body(model, p, |ty| closed(ty).map(|t| quote!(#t)));
        let items = quote! {
            #[allow(non_snake_case)]
            fn __mcp_trace_schema(__mcp_trace_s: &mut #p::SchemaBuilder) {
                #body
            }
        };
        let arg = runtime.then(|| quote!(__mcp_trace_schema));
        (
            items,
            arg,
            quote!(#p::DocSchema::Derived(__mcp_trace_schema)),
        )
    } else {
        let body = schema_body(model, p, |ty| {
            let ty = types::strip(ty);
            types::is_nameable(ty).then(|| quote!(#ty))
        });
        let arg = runtime.then(|| quote!(|__mcp_trace_s: &mut #p::SchemaBuilder| { #body }));
        (quote!(), arg, quote!(#p::DocSchema::Unknown))
    }
}

/// Statements describing each parameter type to a `SchemaBuilder`.
fn schema_body(
    model: &Model,
    p: &TokenStream,
    name_type: impl Fn(&Type) -> Option<TokenStream>,
) -> TokenStream {
    // A plain function per type (shared by every handler), not a closure per parameter.
    let probe = |ty: &Type, method: TokenStream| match name_type(ty) {
        Some(ty) => quote!((&&#p::TypeProbe::<#ty>::NEW).#method()),
        None => quote!(#p::probe::unnamed_type()),
    };
    let mut body = Vec::new();
    for (param, optional) in plain_params(model) {
        let Some(ty) = &param.ty else { continue };
        let name = &param.name;
        let required = !optional;
        let schema = probe(ty, quote!(__mcp_trace_schema));
        body.push(quote!(__mcp_trace_s.param(#name, #required, #schema);));
    }
    if let Some((_, ty, _)) = args_param(model) {
        let schema = probe(ty, quote!(__mcp_trace_root_schema));
        body.push(quote!(__mcp_trace_s.flatten(#schema);));
    }
    quote! {
        #[allow(unused_imports)]
        use #p::probe::{SchemaAny as _, SchemaOf as _};
        #(#body)*
    }
}

fn resource_start(model: &Model, p: &TokenStream) -> TokenStream {
    let name = match &model.name {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    };
    let template = match &model.uri {
        Some(UriSource::Template { lit, parts })
            if parts.iter().any(|p| matches!(p, Part::Var { .. })) =>
        {
            quote!(::core::option::Option::Some(#lit))
        }
        _ => quote!(::core::option::Option::None),
    };
    let uri = match &model.uri {
        Some(UriSource::Template { lit, parts }) => {
            let steps = parts.iter().map(|part| match part {
                Part::Literal(text) => quote!(__mcp_trace_uri.literal(#text);),
                Part::Var { name, reserved } => {
                    let binding = model
                        .params
                        .iter()
                        .find(|p| &p.name == name)
                        .and_then(|p| p.binding.as_ref());
                    quote_spanned!(lit.span()=> __mcp_trace_uri.value(&#binding, #reserved);)
                }
            });
            quote! {{
                let mut __mcp_trace_uri = #p::UriBuilder::new();
                #(#steps)*
                __mcp_trace_uri.finish()
            }}
        }
        Some(UriSource::Expr(expr)) => {
            // An expression may move what it uses: called once, through an `Option`
            // (the runtime takes an `FnMut`).
            let uri = quote_spanned!(expr.span()=> ::std::string::ToString::to_string(&(#expr)));
            return resource_start_with(
                model,
                p,
                name,
                template,
                quote! {
                    &mut {
                        let mut __mcp_trace_uri_of = ::core::option::Option::Some(|| #uri);
                        move || __mcp_trace_uri_of
                            .take()
                            .map_or_else(::std::string::String::new, |__mcp_trace_f| __mcp_trace_f())
                    }
                },
            );
        }
        Some(UriSource::Param(ident)) => quote!(::std::string::ToString::to_string(&#ident)),
        None => quote!(::std::string::String::new()),
    };
    resource_start_with(model, p, name, template, quote!(&mut || #uri))
}

/// The resource's start, with `uri` the `&mut dyn FnMut() -> String` of its URI.
fn resource_start_with(
    model: &Model,
    p: &TokenStream,
    name: TokenStream,
    template: TokenStream,
    uri: TokenStream,
) -> TokenStream {
    let session = session_arg(model, p);
    let mode = model.uri_mode.map(|mode| {
        let variant = match mode {
            UriModeArg::Full => quote!(Full),
            UriModeArg::Template => quote!(Template),
            UriModeArg::Digest => quote!(TemplateDigest),
        };
        quote!(.with_uri_mode(#p::UriMode::#variant))
    });
    quote! {
        static __MCP_TRACE_RESOURCE: #p::ResourceMeta =
            #p::ResourceMeta::new(#name, #template) #mode;
        let __mcp_trace_call = #p::start_resource(&__MCP_TRACE_RESOURCE, #session, #uri);
    }
}

/// Classifies `__mcp_trace_out` by its concrete type (see the runtime's `probe`).
fn outcome(p: &TokenStream) -> TokenStream {
    quote! {{
        #[allow(unused_imports)]
        use #p::probe::{
            ErrSpecial as _, ErrTyped as _, OkPlain as _, OkSized as _, OkSpecial as _,
            SplitResult as _, SplitValue as _,
        };
        match (&&#p::Probe(&__mcp_trace_out)).__mcp_trace_split() {
            #p::Split::Ok(__mcp_trace_v) => (&&&#p::Probe(__mcp_trace_v)).__mcp_trace_ok(),
            #p::Split::Err(__mcp_trace_e) => (&&#p::Probe(__mcp_trace_e)).__mcp_trace_err(),
        }
    }}
}
