//! What the macro can tell from a parameter's type by syntax alone.

use quote::ToTokens;
use syn::{GenericArgument, PathArguments, Type};

/// The last path segment's name and its generic type arguments.
fn last_segment(ty: &Type) -> Option<(String, Vec<&Type>)> {
    let Type::Path(path) = strip(ty) else {
        return None;
    };
    let segment = path.path.segments.last()?;
    let args = match &segment.arguments {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some((segment.ident.to_string(), args))
}

/// Without references and parentheses.
pub(crate) fn strip(ty: &Type) -> &Type {
    match ty {
        Type::Reference(r) => strip(&r.elem),
        Type::Paren(p) => strip(&p.elem),
        Type::Group(g) => strip(&g.elem),
        _ => ty,
    }
}

/// `Option<T>` → `T`.
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Path(_) => match last_segment(ty)? {
            (name, args) if name == "Option" && args.len() == 1 => Some(args[0]),
            _ => None,
        },
        _ => None,
    }
}

/// Framework context extractors: never arguments. (`InputResponses`, `RequestState`
/// and `ToolName` are rmcp's, for multi-round requests and the called name.)
pub(crate) fn is_context(ty: &Type) -> bool {
    const CONTEXT: [&str; 9] = [
        "RequestContext",
        "Peer",
        "Extension",
        "CancellationToken",
        "RequestId",
        "Meta",
        "InputResponses",
        "RequestState",
        "ToolName",
    ];
    last_segment(ty).is_some_and(|(name, _)| CONTEXT.contains(&name.as_str()))
}

/// How a synchronous function hands back a future (rmcp's `#[tool]` turns `async fn`s
/// into the boxed form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReturnedFuture {
    /// `Pin<Box<dyn Future<Output = T> + …>>`
    Boxed,
    /// `impl Future<Output = T> + …`
    Impl,
}

/// `Some` when the return type is a future whose execution is the call.
pub(crate) fn returned_future(ty: &Type) -> Option<ReturnedFuture> {
    fn bounds_are_future(
        bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
    ) -> bool {
        bounds.iter().any(|b| match b {
            syn::TypeParamBound::Trait(t) => {
                t.path.segments.last().is_some_and(|s| s.ident == "Future")
            }
            _ => false,
        })
    }
    match ty {
        Type::ImplTrait(i) if bounds_are_future(&i.bounds) => Some(ReturnedFuture::Impl),
        Type::Path(_) => {
            let (name, args) = last_segment(ty)?;
            if name != "Pin" || args.len() != 1 {
                return None;
            }
            let (boxed, inner) = last_segment(args[0])?;
            match inner.first() {
                Some(Type::TraitObject(o)) if boxed == "Box" && bounds_are_future(&o.bounds) => {
                    Some(ReturnedFuture::Boxed)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// `T` of a returned `Future<Output = T>`.
pub(crate) fn future_output(ty: &Type) -> Option<&Type> {
    fn from_bounds(
        bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
    ) -> Option<&Type> {
        bounds.iter().find_map(|b| match b {
            syn::TypeParamBound::Trait(t) => match &t.path.segments.last()?.arguments {
                PathArguments::AngleBracketed(a) => a.args.iter().find_map(|arg| match arg {
                    GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
                    _ => None,
                }),
                _ => None,
            },
            _ => None,
        })
    }
    match ty {
        Type::ImplTrait(i) => from_bounds(&i.bounds),
        Type::Path(_) => match last_segment(ty)? {
            (_, args) if args.len() == 1 => match last_segment(args[0])?.1.first()? {
                Type::TraitObject(o) => from_bounds(&o.bounds),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// The statements of `async move { … }` when `block` is exactly rmcp's rewrite of an
/// `async fn` body: `{ Box::pin(async move { … }) }`.
pub(crate) fn boxed_async_body(block: &syn::Block) -> Option<&syn::Block> {
    let [syn::Stmt::Expr(syn::Expr::Call(call), None)] = block.stmts.as_slice() else {
        return None;
    };
    let syn::Expr::Path(func) = &*call.func else {
        return None;
    };
    let segments: Vec<String> = func
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    if !segments.ends_with(&["Box".to_owned(), "pin".to_owned()]) || call.args.len() != 1 {
        return None;
    }
    match call.args.first()? {
        syn::Expr::Async(a) if a.capture.is_some() => Some(&a.block),
        _ => None,
    }
}

/// rmcp's `RequestContext<RoleServer>`: the request's id, `_meta` and session.
pub(crate) fn is_request_context(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|(name, _)| name == "RequestContext")
}

/// rmcp's `Parameters<T>` / `Json<T>`: the arguments object itself, `T` inside `.0`.
pub(crate) fn args_wrapper(ty: &Type) -> Option<&Type> {
    match last_segment(ty)? {
        (name, args) if (name == "Parameters" || name == "Json") && args.len() == 1 => {
            Some(args[0])
        }
        _ => None,
    }
}

/// Whether the type can be named in a turbofish at the call site (`impl Trait` cannot).
pub(crate) fn is_nameable(ty: &Type) -> bool {
    struct FindImpl(bool);
    impl<'ast> syn::visit::Visit<'ast> for FindImpl {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
        fn visit_type_infer(&mut self, _: &'ast syn::TypeInfer) {
            self.0 = true;
        }
        fn visit_type_macro(&mut self, _: &'ast syn::TypeMacro) {
            self.0 = true;
        }
    }
    let mut find = FindImpl(false);
    syn::visit::visit_type(&mut find, ty);
    !find.0
}

/// The JSON types a value of this Rust type can arrive as, when the signature tells
/// (`None`: unknown, or anything).
pub(crate) fn json_types(ty: &Type) -> Option<Vec<&'static str>> {
    let ty = strip(ty);
    if let Some(inner) = option_inner(ty) {
        let mut types = json_types(inner)?;
        types.push("null");
        return Some(types);
    }
    match ty {
        Type::Slice(_) | Type::Array(_) => return Some(vec!["array"]),
        Type::Path(_) => {}
        _ => return None,
    }
    let (name, _) = last_segment(ty)?;
    let types: &[&'static str] = match name.as_str() {
        "String" | "str" | "char" | "Cow" | "PathBuf" | "Path" => &["string"],
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "usize" => &["integer", "number"],
        "f32" | "f64" => &["number", "integer"],
        "bool" => &["boolean"],
        "Vec" | "VecDeque" | "HashSet" | "BTreeSet" | "LinkedList" => &["array"],
        "HashMap" | "BTreeMap" | "Map" => &["object"],
        _ => return None,
    };
    Some(types.to_vec())
}

/// The type with every lifetime made `'static`, for use in a nested item, or `None`
/// when a nested item cannot name it: it mentions a generic parameter of the function
/// (or, by the usual single-capital-letter naming, of an enclosing `impl`), `Self`, or
/// `impl Trait`.
pub(crate) fn closed(ty: &Type, generics: &syn::Generics) -> Option<Type> {
    use syn::visit_mut::VisitMut;
    struct Close<'g> {
        generics: &'g syn::Generics,
        open: bool,
    }
    impl VisitMut for Close<'_> {
        fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
            *lifetime = syn::Lifetime::new("'static", lifetime.span());
        }
        fn visit_type_impl_trait_mut(&mut self, _: &mut syn::TypeImplTrait) {
            self.open = true;
        }
        fn visit_type_infer_mut(&mut self, _: &mut syn::TypeInfer) {
            self.open = true;
        }
        fn visit_type_macro_mut(&mut self, _: &mut syn::TypeMacro) {
            self.open = true;
        }
        fn visit_path_mut(&mut self, path: &mut syn::Path) {
            if let Some(first) = path.segments.first() {
                let name = first.ident.to_string();
                let generic = self.generics.params.iter().any(|p| match p {
                    syn::GenericParam::Type(t) => t.ident == name,
                    syn::GenericParam::Const(c) => c.ident == name,
                    syn::GenericParam::Lifetime(_) => false,
                });
                let single_capital =
                    name.len() == 1 && name.chars().all(|c| c.is_ascii_uppercase());
                if generic || single_capital || name == "Self" {
                    self.open = true;
                }
            }
            syn::visit_mut::visit_path_mut(self, path);
        }
    }
    let mut ty = strip(ty).clone();
    let mut close = Close {
        generics,
        open: false,
    };
    close.visit_type_mut(&mut ty);
    (!close.open).then_some(ty)
}

/// A type as a reader writes it: `Option<Vec<String>>`, `&'a str`.
pub(crate) fn type_text(ty: &impl ToTokens) -> String {
    let raw = ty.to_token_stream().to_string();
    let mut text = raw;
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" :: ", "::"),
        (":: ", "::"),
        (" ::", "::"),
        ("& ", "&"),
        (" ,", ","),
        (" ;", ";"),
        ("[ ", "["),
        (" ]", "]"),
        ("( ", "("),
        (" )", ")"),
    ] {
        text = text.replace(from, to);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn classifies_by_syntax() {
        let ty: Type = parse_quote!(Option<u32>);
        assert!(option_inner(&ty).is_some());
        assert!(option_inner(&parse_quote!(Vec<u32>)).is_none());
        assert!(is_context(&parse_quote!(RequestContext<RoleServer>)));
        assert!(is_context(&parse_quote!(&rmcp::service::Peer<RoleServer>)));
        assert!(args_wrapper(&parse_quote!(Parameters<SearchArgs>)).is_some());
        assert!(!is_nameable(&parse_quote!(impl AsRef<str>)));
        assert!(is_nameable(&parse_quote!(&'a str)));
        let generics: syn::Generics = parse_quote!(<'a, Item>);
        let closed_ty = closed(&parse_quote!(&'a Cow<'a, str>), &generics).unwrap();
        assert_eq!(
            quote::quote!(#closed_ty).to_string(),
            "Cow < 'static , str >"
        );
        assert!(closed(&parse_quote!(Vec<Item>), &generics).is_none());
        assert!(closed(&parse_quote!(T::Key), &generics).is_none());
        assert!(closed(&parse_quote!(Option<Self>), &generics).is_none());
        assert!(closed(&parse_quote!(HashMap<String, u8>), &generics).is_some());
        assert_eq!(json_types(&parse_quote!(&str)), Some(vec!["string"]));
        assert_eq!(
            json_types(&parse_quote!(Option<u8>)),
            Some(vec!["integer", "number", "null"])
        );
        assert_eq!(json_types(&parse_quote!(serde_json::Value)), None);
        let boxed: Type =
            parse_quote!(::std::pin::Pin<Box<dyn ::std::future::Future<Output = u8> + Send + '_>>);
        assert_eq!(returned_future(&boxed), Some(ReturnedFuture::Boxed));
        assert_eq!(
            returned_future(&parse_quote!(impl Future<Output = ()> + Send)),
            Some(ReturnedFuture::Impl)
        );
        assert_eq!(returned_future(&parse_quote!(Pin<&mut u8>)), None);
        let output = future_output(&boxed).unwrap();
        assert_eq!(quote::quote!(#output).to_string(), "u8");
        let body: syn::Block = parse_quote!({
            Box::pin(async move {
                let x = 1;
                x
            })
        });
        assert_eq!(boxed_async_body(&body).unwrap().stmts.len(), 2);
    }
}
