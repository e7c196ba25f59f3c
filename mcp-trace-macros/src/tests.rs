//! Expansion snapshots (prettyplease + insta): representative handlers, and one
//! expansion per feature switch showing exactly what that switch removes.

use crate::attr::Kind;
use crate::expand::Switches;
use crate::handler;
use proc_macro2::TokenStream;
use quote::quote;

const ALL: Switches = Switches {
    enable: true,
    shape: true,
    hash: true,
    schema: true,
    docs: false,
    rmcp: false,
};

fn expand(kind: Kind, attr: TokenStream, item: TokenStream, switches: Switches) -> String {
    let tokens = handler(kind, attr, item, switches);
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(_) => tokens.to_string(),
    }
}

fn search_documents() -> TokenStream {
    quote! {
        /// Search documents by query string.
        pub async fn search_documents(
            query: String,
            limit: Option<u32>,
            filters: Vec<String>,
        ) -> Result<Vec<Doc>, SearchError> {
            Ok(index().search(&query, limit, &filters)?)
        }
    }
}

#[test]
fn async_tool_all_signals() {
    insta::assert_snapshot!(expand(Kind::Tool, quote!(), search_documents(), ALL));
}

#[test]
fn switch_enable_off_emits_the_item_unchanged() {
    let off = Switches {
        enable: false,
        ..ALL
    };
    insta::assert_snapshot!(expand(Kind::Tool, quote!(), search_documents(), off));
}

#[test]
fn switch_args_shape_off() {
    let off = Switches {
        shape: false,
        ..ALL
    };
    insta::assert_snapshot!(expand(Kind::Tool, quote!(), search_documents(), off));
}

#[test]
fn switch_args_hash_off() {
    let off = Switches { hash: false, ..ALL };
    insta::assert_snapshot!(expand(Kind::Tool, quote!(), search_documents(), off));
}

#[test]
fn switch_schema_check_off() {
    let off = Switches {
        schema: false,
        ..ALL
    };
    insta::assert_snapshot!(expand(Kind::Tool, quote!(), search_documents(), off));
}

#[test]
fn switch_every_signal_off() {
    let off = Switches {
        enable: true,
        shape: false,
        hash: false,
        schema: false,
        docs: false,
        rmcp: false,
    };
    insta::assert_snapshot!(expand(Kind::Tool, quote!(), search_documents(), off));
}

#[test]
fn sync_tool_with_schema_file_and_skip() {
    let attr = quote!(
        name = "run_query",
        schema = "../mcp-trace-tests/tests/schemas/run_query.json",
        skip(pool)
    );
    let item = quote! {
        fn run_query(pool: &Pool, sql: &str) -> Result<Rows, QueryError> {
            pool.query(sql)
        }
    };
    insta::assert_snapshot!(expand(Kind::Tool, attr, item, ALL));
}

#[test]
fn rmcp_style_method_with_destructured_parameters() {
    let item = quote! {
        #[tool(name = "search", description = "Search the index")]
        async fn search(
            &self,
            Parameters(SearchArgs { query, limit }): Parameters<SearchArgs>,
            ctx: RequestContext<RoleServer>,
        ) -> Result<CallToolResult, McpError> {
            self.index.search(&query, limit, ctx).await
        }
    };
    insta::assert_snapshot!(expand(Kind::Tool, quote!(), item, ALL));
}

#[test]
fn resource_with_template_and_session() {
    let attr = quote!(uri = "docs://{page}", name = "docs");
    let item = quote! {
        async fn read_docs_page(#[session] session: &str, page: String) -> Result<String, DocsError> {
            load(session, &page).await
        }
    };
    insta::assert_snapshot!(expand(Kind::Resource, attr, item, ALL));
}

#[test]
fn errors_keep_the_item_without_markers() {
    let attr = quote!(nmae = "x");
    let item = quote! {
        fn read(#[session] session: &str) -> usize { session.len() }
    };
    insta::assert_snapshot!(expand(Kind::Tool, attr, item, ALL));
}

#[test]
fn switch_docs_on_registers_the_handler() {
    let on = Switches { docs: true, ..ALL };
    insta::assert_snapshot!(expand(Kind::Tool, quote!(), search_documents(), on));
}

#[test]
fn switch_docs_on_with_enable_off_registers_only() {
    let on = Switches {
        docs: true,
        enable: false,
        ..ALL
    };
    insta::assert_snapshot!(expand(Kind::Tool, quote!(), search_documents(), on));
}

#[test]
fn after_rmcp_tool_rewrote_the_async_fn() {
    // What rmcp's `#[tool]` leaves when it runs first: the span must start on first
    // poll, inside the request scope, as for the `async fn` it was.
    let item = quote! {
        #[doc = "Run a read-only query"]
        fn run_query(
            &self,
            Parameters(args): Parameters<QueryArgs>,
        ) -> ::std::pin::Pin<Box<dyn ::std::future::Future<Output = Result<CallToolResult, McpError>> + Send + '_>> {
            Box::pin(async move { self.db.query(&args.sql).await })
        }
    };
    insta::assert_snapshot!(expand(Kind::Tool, quote!(), item, ALL));
}

#[test]
fn docs_take_rmcps_description_over_the_doc_comment() {
    // What rmcp advertises is what the docs show (and hash).
    let item = quote! {
        /// The doc comment, which rmcp does not advertise here.
        #[tool(name = "search", description = "Search the index")]
        async fn search(&self, query: String) -> Result<CallToolResult, McpError> {
            self.index.search(&query).await
        }
    };
    assert_eq!(
        registered_tool(item),
        ("\"search\"".to_owned(), "\"Search the index\"".to_owned())
    );
}

/// The name and description a tool's docs registration passes, as source text.
fn registered_tool(item: TokenStream) -> (String, String) {
    let on = Switches { docs: true, ..ALL };
    let expanded = expand(Kind::Tool, quote!(), item, on);
    let registered = expanded
        .split("HandlerDoc::tool(")
        .nth(1)
        .expect("registered");
    let mut args = registered.split(',').map(|a| a.trim().to_owned());
    (args.next().unwrap(), args.next().unwrap())
}

#[test]
fn docs_take_rmcps_doc_comment_rule_under_its_tool_attribute() {
    // rmcp trims each doc line and drops blank ones.
    let item = quote! {
        ///   Search the index.
        ///
        ///   Results are ranked.
        #[tool]
        async fn search(&self, query: String) -> Result<CallToolResult, McpError> {
            self.index.search(&query).await
        }
    };
    let (_, description) = registered_tool(item);
    assert_eq!(description, "\"Search the index.\\nResults are ranked.\"");
}
