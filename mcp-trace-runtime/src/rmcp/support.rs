//! rmcp (the official Rust MCP SDK) support: outcomes of its result and error types,
//! and the request scope read from its `RequestContext`.

use crate::handler::outcome::{Outcome, ResultSize, SpecialError, SpecialOutcome};
use crate::scope::{RequestScope, Transport};
use rmcp::model::{
    CallToolResponse, CallToolResult, ErrorData, ReadResourceResponse, ReadResourceResult,
    ResourceContents,
};
use rmcp::service::{RequestContext, RoleServer};

impl SpecialOutcome for CallToolResult {
    /// `isError: true` is a failure reported in-band; otherwise the content count.
    fn outcome(&self) -> Outcome {
        if self.is_error == Some(true) {
            Outcome::ToolError
        } else {
            Outcome::Ok(Some(ResultSize::Count(self.content.len())))
        }
    }
}

/// Total text length (Unicode scalar values) or blob length of the contents.
pub(crate) fn content_length(result: &ReadResourceResult) -> usize {
    result
        .contents
        .iter()
        .map(|c| match c {
            ResourceContents::TextResourceContents { text, .. } => text.chars().count(),
            ResourceContents::BlobResourceContents { blob, .. } => blob.len(),
            #[allow(unreachable_patterns)]
            _ => 0,
        })
        .sum()
}

impl SpecialOutcome for ReadResourceResult {
    fn outcome(&self) -> Outcome {
        Outcome::Ok(Some(ResultSize::Length(content_length(self))))
    }
}

impl SpecialOutcome for CallToolResponse {
    fn outcome(&self) -> Outcome {
        match self {
            CallToolResponse::Complete(result) => result.outcome(),
            _ => Outcome::Ok(None),
        }
    }
}

impl SpecialOutcome for ReadResourceResponse {
    fn outcome(&self) -> Outcome {
        match self {
            ReadResourceResponse::Complete(result) => result.outcome(),
            _ => Outcome::Ok(None),
        }
    }
}

impl SpecialError for ErrorData {
    /// The JSON-RPC code: `error.type` and `rpc.response.status_code`.
    fn outcome(&self) -> Outcome {
        Outcome::rpc_error(i64::from(self.code.0))
    }
}

/// The `Mcp-Session-Id` header of a streamable HTTP request, if the context has one.
pub(crate) fn http_session(context: &RequestContext<RoleServer>) -> Option<(String, bool)> {
    let parts = context.extensions.get::<http::request::Parts>()?;
    let session = parts
        .headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Some((session.unwrap_or_default(), true))
}

/// A request scope from what rmcp knows about the request: its id, `_meta` trace
/// context, the negotiated protocol version, and over HTTP the session id. Transport is
/// `tcp` when the request came over HTTP, else `pipe` (stdio).
pub fn scope_from_context(context: &RequestContext<RoleServer>) -> RequestScope {
    let meta = serde_json::Value::Object((**context.meta).clone());
    let mut scope = RequestScope::new().request_id(&context.id).meta(&meta);
    if let Some(version) = context.protocol_version() {
        scope = scope.protocol_version(version.to_string());
    }
    match http_session(context) {
        Some((session, _)) => {
            scope = scope.transport(Transport::Tcp);
            if !session.is_empty() {
                scope = scope.session_id(session);
            }
        }
        None => scope = scope.transport(Transport::Pipe),
    }
    scope
}

/// Runs `f` (a traced handler's span start) inside a scope read from `context`, unless
/// a request scope is already set (by the adapter, which knows more).
pub fn with_context<R>(context: &RequestContext<RoleServer>, f: impl FnOnce() -> R) -> R {
    if crate::scope::is_set() {
        f()
    } else {
        scope_from_context(context).run_sync(f)
    }
}
