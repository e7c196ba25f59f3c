//! Whether a synchronous handler's body can run inline, in a block, instead of in a
//! closure called at once.
//!
//! The closure exists so that a `return` or `?` in the body leaves the body, not the
//! function, and the call is still finished. A body that cannot leave early needs no
//! closure: one function body less per handler for the compiler to check, collect and
//! generate code for. The parameters are re-bound inside the block, so that they drop
//! there, while the call's span is current, as they did inside the closure.

use proc_macro2::TokenStream;
use quote::quote;
use syn::visit::Visit;
use syn::{FnArg, Pat, Signature, Stmt};

/// The re-bindings of the parameters when `stmts` can run inline; `sig` loses the `mut`
/// of the parameters re-bound mutably. `None`: keep the closure.
pub(crate) fn inline_params(sig: &mut Signature, stmts: &[Stmt]) -> Option<Vec<TokenStream>> {
    if leaves_early(stmts) {
        return None;
    }
    let mut rebinds = Vec::new();
    for arg in &sig.inputs {
        match arg {
            // `self` cannot be re-bound: by value it would drop after the span.
            FnArg::Receiver(receiver) if receiver.reference.is_none() => return None,
            FnArg::Receiver(_) => {}
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {}
                Pat::Wild(_) => {}
                _ => return None,
            },
        }
    }
    for arg in sig.inputs.iter_mut() {
        let FnArg::Typed(typed) = arg else { continue };
        let Pat::Ident(ident) = &mut *typed.pat else {
            continue;
        };
        let mutability = ident.mutability.take();
        let name = &ident.ident;
        rebinds.push(quote! {
            #[allow(unused_variables, unused_mut, clippy::redundant_locals)]
            let #mutability #name = #name;
        });
    }
    Some(rebinds)
}

/// Whether the body, outside closures, async blocks and nested items, has a `return`,
/// a `?`, or a macro that may hide either (the standard library's and the logging
/// crates' never do).
fn leaves_early(stmts: &[Stmt]) -> bool {
    let mut find = FindExit(false);
    for stmt in stmts {
        find.visit_stmt(stmt);
    }
    find.0
}

struct FindExit(bool);

impl<'ast> Visit<'ast> for FindExit {
    fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
        self.0 = true;
    }
    fn visit_expr_try(&mut self, _: &'ast syn::ExprTry) {
        self.0 = true;
    }
    fn visit_expr_yield(&mut self, _: &'ast syn::ExprYield) {
        self.0 = true;
    }
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if !never_returns(&mac.path) {
            self.0 = true;
        }
    }
    // Their own bodies: a `return` or `?` in them leaves them, not the handler.
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
    fn visit_expr_const(&mut self, _: &'ast syn::ExprConst) {}
}

/// Macros that expand to no `return` or `?`: the standard library's, and the logging
/// macros of `tracing` and `log`, by their own name or path.
fn never_returns(path: &syn::Path) -> bool {
    const STD: &[&str] = &[
        "assert",
        "assert_eq",
        "assert_ne",
        "cfg",
        "column",
        "concat",
        "dbg",
        "debug_assert",
        "debug_assert_eq",
        "debug_assert_ne",
        "env",
        "eprint",
        "eprintln",
        "file",
        "format",
        "format_args",
        "include_bytes",
        "include_str",
        "line",
        "matches",
        "module_path",
        "option_env",
        "panic",
        "print",
        "println",
        "stringify",
        "todo",
        "unimplemented",
        "unreachable",
        "vec",
        "write",
        "writeln",
    ];
    const LOGGING: &[&str] = &["trace", "debug", "info", "warn", "error", "event", "span"];
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segments.as_slice() {
        [name] => STD.contains(&name.as_str()) || LOGGING.contains(&name.as_str()),
        [krate, name] if matches!(krate.as_str(), "std" | "core" | "alloc") => {
            STD.contains(&name.as_str())
        }
        [krate, name] if matches!(krate.as_str(), "tracing" | "log") => {
            LOGGING.contains(&name.as_str())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(tokens: TokenStream) -> Vec<Stmt> {
        syn::parse2::<syn::Block>(quote!({ #tokens }))
            .expect("a block")
            .stmts
    }

    #[test]
    fn early_exits_are_found_outside_closures_and_items() {
        assert!(!leaves_early(&body(quote!(let x = a + 1; x * 2))));
        assert!(leaves_early(&body(quote!(if a { return 1; } 2))));
        assert!(leaves_early(&body(quote!(let x = parse(a)?; x))));
        assert!(leaves_early(&body(quote!(bail!("no"); 1))));
        assert!(leaves_early(&body(quote!(my::format!("no")))));
        assert!(!leaves_early(&body(quote!(
            let f = |x: u8| -> Option<u8> { let y = x.checked_add(1)?; return Some(y); };
            let g = async { h().await? };
            fn inner() -> u8 { return 1; }
            tracing::info!("hello");
            println!("{}", format!("{a}"));
            vec![f(1)]
        ))));
    }

    #[test]
    fn parameters_are_rebound_and_lose_their_mut_in_the_signature() {
        let mut sig: Signature =
            syn::parse2(quote!(fn f(&self, mut a: u8, b: &str, _: u8))).expect("a signature");
        let rebinds = inline_params(&mut sig, &[]).expect("inline");
        assert_eq!(rebinds.len(), 2);
        assert!(rebinds[0].to_string().contains("let mut a = a"));
        assert_eq!(
            quote!(#sig).to_string(),
            quote!(fn f(&self, a: u8, b: &str, _: u8)).to_string()
        );
        let mut by_value: Signature = syn::parse2(quote!(fn f(self, a: u8))).expect("a signature");
        assert!(inline_params(&mut by_value, &[]).is_none());
        let mut pattern: Signature =
            syn::parse2(quote!(fn f((a, b): (u8, u8)))).expect("a signature");
        assert!(inline_params(&mut pattern, &[]).is_none());
    }
}
