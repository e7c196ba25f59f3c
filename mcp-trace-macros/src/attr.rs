//! The attribute's own arguments: `#[traced_tool(name = "…", schema = "…", skip(a), crate = p)]`,
//! `#[traced_resource(uri = …, name = "…", uri_mode = "…", skip(a), crate = p)]`.

use crate::ctxt::Errors;
use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Meta, Path, Token};

/// Which attribute is being expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Tool,
    Resource,
}

/// Where a resource's URI comes from.
pub(crate) enum UriArg {
    /// `uri = "docs://{page}"`: filled from parameters.
    Template(LitStr),
    /// `uri = <expression>`.
    Expr(Box<Expr>),
}

/// `uri_mode = "full" | "template" | "digest"`: what the resource's spans export of the URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UriModeArg {
    Full,
    Template,
    Digest,
}

#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<LitStr>,
    pub(crate) schema: Option<LitStr>,
    pub(crate) uri: Option<UriArg>,
    pub(crate) uri_mode: Option<UriModeArg>,
    pub(crate) skip: Vec<Ident>,
    pub(crate) krate: Option<Path>,
}

fn valid_keys(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Tool => &["name", "schema", "skip", "crate"],
        Kind::Resource => &["uri", "name", "uri_mode", "skip", "crate"],
    }
}

pub(crate) fn parse(kind: Kind, tokens: TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(metas) => metas,
        Err(error) => {
            errors.push(error);
            return args;
        }
    };
    let mut seen: Vec<String> = Vec::new();
    for meta in metas {
        let key = meta
            .path()
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_else(|| quote::ToTokens::to_token_stream(meta.path()).to_string());
        if !valid_keys(kind).contains(&key.as_str()) {
            let list = valid_keys(kind)
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            errors.error(
                meta.path(),
                format!("unknown key `{key}`; expected one of {list}"),
            );
            continue;
        }
        if seen.contains(&key) {
            errors.error(meta.path(), format!("duplicate key `{key}`"));
            continue;
        }
        seen.push(key.clone());
        match key.as_str() {
            "name" => args.name = string_value(&meta, errors),
            "schema" => args.schema = string_value(&meta, errors),
            "uri" => args.uri = uri_value(&meta, errors),
            "uri_mode" => args.uri_mode = uri_mode_value(&meta, errors),
            "skip" => args.skip = skip_list(&meta, errors),
            "crate" => args.krate = path_value(&meta, errors),
            _ => {}
        }
    }
    args
}

fn name_value<'a>(meta: &'a Meta, errors: &mut Errors, expected: &str) -> Option<&'a Expr> {
    match meta {
        Meta::NameValue(nv) => Some(&nv.value),
        _ => {
            let key = quote::ToTokens::to_token_stream(meta.path()).to_string();
            errors.error(meta, format!("expected `{key} = {expected}`"));
            None
        }
    }
}

fn string_value(meta: &Meta, errors: &mut Errors) -> Option<LitStr> {
    match name_value(meta, errors, "\"…\"")? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) if !s.value().is_empty() => Some(s.clone()),
        other => {
            errors.error(other, "expected a non-empty string literal");
            None
        }
    }
}

fn uri_value(meta: &Meta, errors: &mut Errors) -> Option<UriArg> {
    match name_value(meta, errors, "\"scheme://{param}\" or an expression")? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(UriArg::Template(s.clone())),
        other => Some(UriArg::Expr(Box::new(other.clone()))),
    }
}

fn uri_mode_value(meta: &Meta, errors: &mut Errors) -> Option<UriModeArg> {
    let lit = string_value(meta, errors)?;
    match lit.value().as_str() {
        "full" => Some(UriModeArg::Full),
        "template" => Some(UriModeArg::Template),
        "digest" => Some(UriModeArg::Digest),
        other => {
            errors.error(
                &lit,
                format!(
                    "unknown URI mode `{other}`; expected \"full\", \"template\" or \"digest\""
                ),
            );
            None
        }
    }
}

fn path_value(meta: &Meta, errors: &mut Errors) -> Option<Path> {
    match name_value(meta, errors, "path")? {
        Expr::Path(p) if p.qself.is_none() => Some(p.path.clone()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => match s.parse::<Path>() {
            Ok(path) => Some(path),
            Err(error) => {
                errors.push(error);
                None
            }
        },
        other => {
            errors.error(other, "expected a path, like `crate = ::mcp_trace`");
            None
        }
    }
}

fn skip_list(meta: &Meta, errors: &mut Errors) -> Vec<Ident> {
    let Meta::List(list) = meta else {
        errors.error(meta, "expected `skip(param, …)`");
        return Vec::new();
    };
    match list.parse_args_with(Punctuated::<Ident, Token![,]>::parse_terminated) {
        Ok(idents) => idents.into_iter().collect(),
        Err(error) => {
            errors.push(error);
            Vec::new()
        }
    }
}
