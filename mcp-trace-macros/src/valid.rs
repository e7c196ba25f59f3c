//! Cross-cutting checks, and the resolved model the expansion works from.

use crate::ast::{Handler, Param};
use crate::attr::Kind;
use crate::attr::{Args, UriArg};
use crate::ctxt::Errors;
use crate::template::{self, Part};
use crate::types;
use quote::format_ident;
use syn::ext::IdentExt;
use syn::{Expr, Ident, LitStr, Path, Type};

/// What a parameter is to the span.
pub(crate) enum Role {
    /// `self`, context extractors, `skip(...)`ed and unnamed parameters: not arguments.
    Ignored,
    /// `#[session]`: the session id.
    Session,
    /// The arguments object itself (`#[args]`, `Parameters<T>`, `Json<T>`); `field`
    /// is `true` when the value sits in `.0`.
    Args { ty: Box<Type>, field: bool },
    /// A named argument.
    Plain { optional: bool },
}

pub(crate) struct ModelParam {
    pub(crate) role: Role,
    /// How generated code refers to the parameter.
    pub(crate) binding: Option<Ident>,
    /// The argument's JSON name (`r#type` → `type`).
    pub(crate) name: String,
    /// The destructuring pattern was replaced by `binding` and is re-bound in the body.
    pub(crate) renamed: bool,
    pub(crate) ty: Option<Type>,
}

pub(crate) enum UriSource {
    Template { lit: LitStr, parts: Vec<Part> },
    Expr(Box<Expr>),
    Param(Ident),
}

pub(crate) struct Model {
    pub(crate) kind: Kind,
    pub(crate) krate: Path,
    /// Tool name, or the resource's `name = "…"`.
    pub(crate) name: Option<String>,
    pub(crate) params: Vec<ModelParam>,
    pub(crate) schema_file: Option<LitStr>,
    pub(crate) uri: Option<UriSource>,
    pub(crate) uri_mode: Option<crate::attr::UriModeArg>,
}

impl Model {
    pub(crate) fn session(&self) -> Option<&ModelParam> {
        self.params.iter().find(|p| matches!(p.role, Role::Session))
    }
}

pub(crate) fn validate(
    kind: Kind,
    args: Args,
    handler: &Handler,
    errors: &mut Errors,
) -> Option<Model> {
    let sig = &handler.item.sig;
    if let Some(constness) = &sig.constness {
        errors.error(
            constness,
            "a `const fn` cannot be traced: spans start at run time",
        );
    }
    for skipped in &args.skip {
        let found = handler.params.iter().any(|p| {
            p.ident
                .as_ref()
                .is_some_and(|i| i.unraw() == skipped.unraw())
        });
        if !found {
            errors.error(
                skipped,
                format!(
                    "`skip` names `{}`, but there is no such parameter",
                    skipped.unraw()
                ),
            );
        }
    }
    let mut params = Vec::with_capacity(handler.params.len());
    let (mut session_seen, mut args_seen) = (false, false);
    for (index, param) in handler.params.iter().enumerate() {
        let model = classify(index, param, &args.skip, errors);
        match &model.role {
            Role::Session if session_seen => errors.error(&param.tokens, "only one parameter can be `#[session]`"),
            Role::Session => session_seen = true,
            Role::Args { .. } if args_seen => {
                errors.error(&param.tokens, "only one parameter can be the arguments object (`#[args]`, `Parameters<T>`, `Json<T>`)")
            }
            Role::Args { .. } => args_seen = true,
            _ => {}
        }
        params.push(model);
    }

    let name = match kind {
        Kind::Tool => Some(
            args.name
                .as_ref()
                .map(LitStr::value)
                .or_else(|| handler.rmcp_tool_name())
                .unwrap_or_else(|| sig.ident.unraw().to_string()),
        ),
        Kind::Resource => args.name.as_ref().map(LitStr::value),
    };

    if let Some(lit) = &args.schema {
        check_schema_file(lit, &params, errors);
    }

    let uri = match kind {
        Kind::Tool => None,
        Kind::Resource => uri_source(args.uri, &params, sig, errors),
    };

    Some(Model {
        kind,
        krate: args.krate.unwrap_or_else(|| syn::parse_quote!(::mcp_trace)),
        name,
        params,
        schema_file: args.schema,
        uri,
        uri_mode: args.uri_mode,
    })
}

fn classify(index: usize, param: &Param, skip: &[Ident], errors: &mut Errors) -> ModelParam {
    let name = param
        .ident
        .as_ref()
        .map(|i| i.unraw().to_string())
        .unwrap_or_default();
    let mut model = ModelParam {
        role: Role::Ignored,
        binding: param.ident.clone(),
        name,
        renamed: false,
        ty: param.ty.clone(),
    };
    if param.receiver {
        for marker in [&param.session, &param.args].into_iter().flatten() {
            errors.error(
                marker,
                "`self` cannot be a session id or the arguments object",
            );
        }
        return model;
    }
    let Some(ty) = &param.ty else { return model };
    if let (Some(_), Some(args)) = (&param.session, &param.args) {
        errors.error(
            args,
            "a parameter cannot be both `#[session]` and `#[args]`",
        );
        return model;
    }
    if let Some(marker) = &param.session {
        if param.ident.is_none() {
            errors.error(
                marker,
                "`#[session]` needs a parameter bound to a plain name",
            );
        }
        model.role = Role::Session;
        return model;
    }
    let skipped = param
        .ident
        .as_ref()
        .is_some_and(|i| skip.iter().any(|s| s.unraw() == i.unraw()));
    if skipped {
        return model;
    }
    let wrapped = types::args_wrapper(ty);
    if param.args.is_some() || wrapped.is_some() {
        model.role = Role::Args {
            ty: Box::new(wrapped.unwrap_or(ty).clone()),
            field: param.args.is_none(),
        };
        if param.ident.is_none() {
            model.binding = Some(format_ident!("__mcp_trace_arg_{}", index));
            model.renamed = true;
        }
        return model;
    }
    if types::is_context(ty) || param.ident.is_none() {
        return model;
    }
    model.role = Role::Plain {
        optional: types::option_inner(ty).is_some(),
    };
    model
}

fn check_schema_file(lit: &LitStr, params: &[ModelParam], errors: &mut Errors) {
    let document = match crate::schema_file::load(lit) {
        Ok(document) => document,
        Err(message) => return errors.error(lit, message),
    };
    // With an arguments object, its fields are not visible to the macro.
    if params.iter().any(|p| matches!(p.role, Role::Args { .. })) {
        return;
    }
    let plain = || {
        params
            .iter()
            .filter(|p| matches!(p.role, Role::Plain { .. }))
    };
    let missing: Vec<String> = crate::schema_file::required(&document)
        .into_iter()
        .filter(|r| !plain().any(|p| &p.name == r))
        .map(|r| format!("`{r}`"))
        .collect();
    if !missing.is_empty() {
        errors.error(
            lit,
            format!(
                "the schema requires {}, which no parameter provides",
                missing.join(", ")
            ),
        );
    }
    let properties = document
        .get("properties")
        .and_then(serde_json::Value::as_object);
    let closed = document.get("additionalProperties") == Some(&serde_json::Value::Bool(false));
    for param in plain() {
        let property = properties.and_then(|p| p.get(&param.name));
        let Some(property) = property else {
            if closed && let Some(binding) = &param.binding {
                errors.error(
                        binding,
                        format!(
                            "parameter `{}` is not declared in `{}`, which forbids additional properties",
                            param.name,
                            lit.value()
                        ),
                    );
            }
            continue;
        };
        let (Some(ty), Some(declared)) = (&param.ty, crate::schema_file::declared_types(property))
        else {
            continue;
        };
        let Some(accepted) = types::json_types(ty) else {
            continue;
        };
        if !declared.iter().any(|d| accepted.contains(&d.as_str())) {
            errors.error(
                ty,
                format!(
                    "`{}` is `{}` here, but `{}` declares it as {}",
                    param.name,
                    types::type_text(ty),
                    lit.value(),
                    declared
                        .iter()
                        .map(|d| format!("`{d}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            );
        }
    }
}

fn uri_source(
    uri: Option<UriArg>,
    params: &[ModelParam],
    sig: &syn::Signature,
    errors: &mut Errors,
) -> Option<UriSource> {
    match uri {
        Some(UriArg::Expr(expr)) => Some(UriSource::Expr(expr)),
        Some(UriArg::Template(lit)) => {
            let parts = match template::parse(&lit.value()) {
                Ok(parts) => parts,
                Err(message) => {
                    errors.error(&lit, message);
                    return None;
                }
            };
            for part in &parts {
                if let Part::Var { name, .. } = part
                    && !params
                        .iter()
                        .any(|p| p.binding.is_some() && !p.renamed && &p.name == name)
                {
                    errors.error(&lit, format!("the URI template names `{{{name}}}`, but there is no parameter `{name}`"));
                }
            }
            Some(UriSource::Template { lit, parts })
        }
        None => match params.iter().find(|p| p.name == "uri" && !p.renamed) {
            Some(p) => p.binding.clone().map(UriSource::Param),
            None => {
                errors.error(
                    &sig.ident,
                    "#[traced_resource] needs the resource URI: add `uri = \"scheme://{param}\"`, `uri = <expression>`, or a parameter named `uri`",
                );
                None
            }
        },
    }
}
