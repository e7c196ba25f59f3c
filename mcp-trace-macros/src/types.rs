//! What the macro can tell from a parameter's type by syntax alone.

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

/// Framework context extractors: never arguments.
pub(crate) fn is_context(ty: &Type) -> bool {
    const CONTEXT: [&str; 6] = [
        "RequestContext",
        "Peer",
        "Extension",
        "CancellationToken",
        "RequestId",
        "Meta",
    ];
    last_segment(ty).is_some_and(|(name, _)| CONTEXT.contains(&name.as_str()))
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
    }
}
