//! OpenTelemetry tracing for MCP (Model Context Protocol) servers.
//!
//! Put [`#[traced_tool]`](traced_tool) on tool handlers and
//! [`#[traced_resource]`](traced_resource) on resource handlers, call [`init`] once,
//! and every call becomes a span following the OpenTelemetry MCP semantic conventions:
//! which tools fire, how long they take, how often they fail, the *shape* of the
//! arguments the agent sends (lengths, counts, a JSON-Schema verdict, a truncated
//! SHA-256 hash to spot repeats), and how often a session re-reads the same resource.
//! Argument values never leave the process, with one exception stated plainly: resource
//! URIs are exported in full by default, and a URI such as `users://{email}/profile`
//! carries a value; `uri_mode` (per resource) or [`UriMode`] (per process) keeps only
//! the template or a keyed digest. SECURITY.md lists everything that leaves and every
//! switch.
//!
//! ```
//! use mcp_trace::traced_tool;
//!
//! #[derive(Debug)]
//! struct SearchError;
//!
//! /// Search documents by query string.
//! #[traced_tool]
//! async fn search_documents(query: String, limit: Option<u32>) -> Result<Vec<String>, SearchError> {
//!     Ok(vec![query; limit.unwrap_or(1) as usize])
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! # // Run as a test: export nowhere rather than into the default files.
//! # unsafe { std::env::set_var("OTEL_TRACES_EXPORTER", "none") };
//! # unsafe { std::env::set_var("OTEL_METRICS_EXPORTER", "none") };
//! # unsafe { std::env::set_var("OTEL_LOGS_EXPORTER", "none") };
//! let _guard = mcp_trace::init(); // exports on drop; reads OTEL_* from the environment
//! let docs = search_documents("rust".into(), Some(2)).await.unwrap();
//! assert_eq!(docs.len(), 2);
//! # }
//! ```
//!
//! A framework adapter (or your own JSON-RPC code, through [`scope`]) can run the
//! handler inside a [`RequestScope`] carrying what the handler cannot see: the raw
//! `arguments` as sent, the session id, the JSON-RPC request id, the `_meta` trace
//! context, the protocol version and the transport.
//!
//! # Features
//!
//! Libraries should depend with `default-features = false` and let the application
//! choose.
//!
#![doc = document_features::document_features!()]
#![warn(missing_docs, missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// Traces an MCP tool handler: one `tools/call {tool}` span per call.
///
/// ```
/// # use mcp_trace::traced_tool;
/// # pub struct Pool;
/// # #[derive(Debug)] pub struct QueryError;
/// #[traced_tool(name = "run_query", skip(pool))]
/// fn run_query(pool: &Pool, sql: &str) -> Result<usize, QueryError> {
///     Ok(sql.len())
/// }
/// # assert_eq!(run_query(&Pool, "SELECT 1").unwrap(), 8);
/// ```
///
/// Works on free functions and methods (`&self`, `&mut self`, `self: Arc<Self>`), sync
/// and async, with generics, lifetimes and `impl Trait` arguments. An async handler's
/// span is current on every poll and ends exactly once: on completion, on a panic
/// (`error.type = "panic"`, then the panic continues), or when the future is dropped
/// (`mcp.call.cancelled = true`). The handler's behaviour and return value never change.
///
/// # Arguments
///
/// * `name = "…"`: the tool name (default: rmcp's `#[tool(name = "…")]`, else the
///   function's name).
/// * `schema = "path.json"`: a JSON Schema for the arguments, relative to the crate's
///   `Cargo.toml`; read and checked at compile time and embedded. Without it the schema
///   is derived from the parameter types (`schemars` where implemented).
/// * `skip(a, b)`: parameters that are not arguments.
/// * `crate = path`: where `mcp_trace` is, when re-exported under another name.
///
/// # Parameters
///
/// Each named parameter is an argument. `#[session] id: &str` marks the session id
/// (not an argument); `#[args] args: MyArgs` marks a parameter that *is* the arguments
/// object, whose fields are recorded as the arguments (as rmcp's `Parameters<T>` and
/// `Json<T>` are, without a marker). Receivers and framework context extractors
/// (`RequestContext`, `Peer`, `Extension`, `CancellationToken`, `RequestId`, `Meta`)
/// are not arguments.
///
/// # Attributes
///
/// `mcp.method.name`, `gen_ai.operation.name`, `gen_ai.tool.name`, `mcp.tool.name`;
/// `mcp.session.id`, `jsonrpc.request.id`, `mcp.protocol.version`, `network.transport`
/// when known; per argument `mcp.tool.args.<p>.length` (strings, in Unicode scalar
/// values), `.count` (collections, JSON arrays and objects), `mcp.tool.args.<p>`
/// (numbers and booleans), `.present` (`Option`s); `mcp.tool.args.hash`;
/// `mcp.tool.args.schema_valid` with `schema_error_path`, `schema_error_message`
/// (never the value) and `schema_error_count`; `mcp.tool.result.count` / `.length`;
/// `error.type` on failure.
pub use mcp_trace_macros::traced_tool;

/// Traces an MCP resource handler: one `resources/read` span per read.
///
/// ```
/// # use mcp_trace::traced_resource;
/// # #[derive(Debug)] pub struct DocsError;
/// #[traced_resource(uri = "docs://{page}", name = "docs")]
/// async fn read_docs_page(#[session] session: &str, page: String) -> Result<String, DocsError> {
///     Ok(format!("# {page}"))
/// }
/// ```
///
/// # Arguments
///
/// * `uri = "scheme://{param}"`: a URI template filled from parameters (`{p}` is
///   percent-encoded, `{+p}` keeps reserved characters), only when the span records;
///   or `uri = <expression>`; default: a parameter named `uri`.
/// * `name = "…"`: `mcp.resource.name`.
/// * `uri_mode = "full" | "template" | "digest"`: what this resource's spans export of
///   the URI: all of it (cut at `MAX_URI_BYTES`, 2048), nothing beyond the template, or
///   `mcp.resource.uri_digest` (see `resource_uri_digest`). Without it, the process-wide
///   [`UriMode`] applies (`full` by default).
/// * `skip(…)`, `crate = path`: as for [`traced_tool`].
///
/// # Attributes
///
/// `mcp.method.name = resources/read`, `mcp.resource.uri` or `mcp.resource.uri_digest`
/// per the URI mode, `mcp.resource.name`, `mcp.resource.template`; `mcp.session.id` (a
/// keyed digest unless raw ids are opted in to), `jsonrpc.request.id` when known;
/// `mcp.resource.cache_hit` and `mcp.resource.read_count` (reads of this URI by this
/// session, this one included) when a session id is known;
/// `mcp.resource.content.length` of an `Ok` text or bytes result; `error.type`.
pub use mcp_trace_macros::traced_resource;

#[cfg(all(feature = "enable", feature = "schema-check"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "enable", feature = "schema-check"))))]
pub use mcp_trace_runtime::MAX_COUNTED_BYTES;
#[cfg(feature = "args-hash")]
#[cfg_attr(docsrs, doc(cfg(feature = "args-hash")))]
pub use mcp_trace_runtime::args_hash;
pub use mcp_trace_runtime::{
    Builder, ClaimedFlag, DEFAULT_SCHEMA_CHECK_MAX_BYTES, Exporter, InitError, RequestScope,
    Scoped, SessionIdExport, TelemetryGuard, Transport, UriMode, default_file_path, dropped_spans,
    init, provider_changed, scope, session,
};
#[cfg(all(feature = "enable", feature = "logs"))]
#[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
pub use mcp_trace_runtime::{LogsExporter, MAX_LOG_BODY_BYTES, default_logs_path, logs};
#[cfg(feature = "enable")]
#[cfg_attr(docsrs, doc(cfg(feature = "enable")))]
pub use mcp_trace_runtime::{MAX_NAME_BYTES, MAX_URI_BYTES, TRUNCATED_KEY, resource_uri_digest};
#[cfg(all(feature = "enable", feature = "metrics"))]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use mcp_trace_runtime::{MetricsExporter, default_metrics_path};

/// Generated documentation of every annotated handler linked into the program: what
/// each tool does, its arguments and constraints, the span attributes it emits, and the
/// input schema the schema check validates against.
///
/// ```
/// /// Add two numbers.
/// #[mcp_trace::traced_tool]
/// fn add(a: i64, b: i64) -> i64 {
///     a + b
/// }
///
/// let page = mcp_trace::docs::markdown();
/// assert!(page.contains("## Tool `add`"));
/// assert!(page.contains("`mcp.tool.args.a`"));
///
/// let tools = &mcp_trace::docs::json()["tools"];
/// assert_eq!(tools[0]["name"], "add");
/// assert_eq!(tools[0]["inputSchema"]["required"], serde_json::json!(["a", "b"]));
/// ```
#[cfg(feature = "docs")]
#[cfg_attr(docsrs, doc(cfg(feature = "docs")))]
pub mod docs {
    pub use mcp_trace_runtime::docs::{json, markdown};
}

/// rmcp (the official Rust MCP SDK) integration: wrap a server in [`rmcp::TracedServer`]
/// where it is served, and serve it over [`rmcp::stdio()`] to answer and record lines
/// that are not JSON (`-32700`) rather than drop them silently.
#[cfg(all(feature = "rmcp", feature = "enable"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "rmcp", feature = "enable"))))]
pub mod rmcp {
    pub use mcp_trace_runtime::rmcp::adapter::TracedServer;
    pub use mcp_trace_runtime::rmcp::server_transport::{TracedServerTransport, traced_transport};
    #[cfg(feature = "rmcp-http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rmcp-http")))]
    pub use mcp_trace_runtime::rmcp::session_manager::TracedSessionManager;
    pub use mcp_trace_runtime::rmcp::stdio::{
        MAX_LINE_LENGTH, TracedStdin, TracedStdout, stdio, stdio_with,
    };
    pub use mcp_trace_runtime::rmcp::support::scope_from_context;

    #[cfg(feature = "client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "client")))]
    pub use mcp_trace_runtime::rmcp::client::TracedClient;

    /// The client side: [`traced`](client::traced) wraps the transport an rmcp client
    /// is served over; every request gets a CLIENT span, and the server's span is its
    /// child.
    #[cfg(feature = "client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "client")))]
    pub mod client {
        pub use mcp_trace_runtime::rmcp::client::{TracedClient, TracedTransport, traced};
    }
}

/// What generated code calls. Not a stable API: use the macros.
#[cfg(any(feature = "enable", feature = "docs"))]
#[doc(hidden)]
pub use mcp_trace_runtime::__private;
