//! [`TracedServer`]: any rmcp `ServerHandler`, traced by delegation.

use crate::call::{Traced, adapter};
use crate::outcome::{Outcome, SpecialError, SpecialOutcome};
use crate::rmcp_support::scope_from_context;
use crate::scope::{self, Transport};
use rmcp::model::{ClientRequest, ServerResult};
use rmcp::service::{
    MaybeSendFuture, NotificationContext, RequestContext, RoleServer, Service, ServiceRole,
};
use rmcp::{ErrorData, ServerHandler};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::call::Compiled;

/// Wraps an rmcp server so every request gets its span, with no glue in the handlers.
///
/// For each request it sets the request scope (raw `arguments` as sent, session id,
/// JSON-RPC id, `_meta` trace context, protocol version, `network.transport`), so
/// `#[traced_tool]` / `#[traced_resource]` handlers record them. A tool call or resource
/// read that never reaches a traced handler (arguments that fail to deserialize, an
/// unknown or untraced tool) still gets its one span, from here, with the shapes, hash
/// and schema verdict of the raw arguments against the advertised schema, and the
/// JSON-RPC error code. Other requests get a `{method}` span (`prompts/get {name}`).
///
/// ```no_run
/// # #[derive(Clone)] struct MyServer;
/// # impl rmcp::ServerHandler for MyServer {}
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// use rmcp::ServiceExt;
/// let _guard = mcp_trace_runtime::init();
/// let server = mcp_trace_runtime::rmcp_adapter::TracedServer::new(MyServer)
///     .serve(rmcp::transport::stdio())
///     .await?;
/// server.waiting().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TracedServer<S> {
    inner: S,
    /// stdio serves one client per process: one session id for all of it.
    process_session: String,
    schemas: Mutex<HashMap<String, Option<Arc<Compiled>>>>,
}

impl<S> TracedServer<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            process_session: process_session_id(),
            schemas: Mutex::new(HashMap::new()),
        }
    }

    /// The wrapped server.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

/// 32 hex digits, different for every process start.
fn process_session_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut id = String::with_capacity(32);
    for salt in 0..2u64 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.write_u64(salt);
        if let Ok(since) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
            hasher.write_u128(since.as_nanos());
        }
        id.push_str(&format!("{:016x}", hasher.finish()));
    }
    id
}

fn outcome_of(result: &Result<ServerResult, ErrorData>) -> Outcome {
    match result {
        Err(error) => error.outcome(),
        Ok(ServerResult::CallToolResult(r)) => SpecialOutcome::outcome(r),
        Ok(ServerResult::ReadResourceResult(r)) => SpecialOutcome::outcome(r),
        Ok(_) => Outcome::Ok(None),
    }
}

/// rmcp's tool router answers arguments that fail to deserialize with an in-band tool
/// error starting with this text (it was `-32602` invalid params before the router
/// turned it into a result the model can read).
const DESERIALIZATION_ERROR_PREFIX: &str = "failed to deserialize parameters:";

/// The outcome of a tool call no traced handler claimed: arguments that failed to
/// deserialize are `-32602` (invalid params), as DESIGN §3 records them, though no
/// JSON-RPC error went out (so no `rpc.response.status_code`).
fn unclaimed_tool_outcome(result: &Result<ServerResult, ErrorData>) -> Outcome {
    if let Ok(ServerResult::CallToolResult(r)) = result {
        let undeserializable = r.is_error == Some(true)
            && r.content
                .first()
                .and_then(|c| c.as_text())
                .is_some_and(|t| t.text.starts_with(DESERIALIZATION_ERROR_PREFIX));
        if undeserializable {
            return Outcome::Error {
                error_type: Cow::Borrowed("-32602"),
                rpc_code: None,
            };
        }
    }
    outcome_of(result)
}

impl<S: ServerHandler> TracedServer<S> {
    /// The advertised input schema of `tool`, compiled once.
    fn schema_for(&self, tool: &str) -> Option<Arc<Compiled>> {
        let mut schemas = self.schemas.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cached) = schemas.get(tool) {
            return cached.clone();
        }
        let compiled = self.compile(tool);
        // Bounded by the number of distinct names asked for; unknown names are not kept.
        if compiled.is_some() {
            schemas.insert(tool.to_owned(), compiled.clone());
        }
        compiled
    }

    #[cfg(feature = "schema-check")]
    fn compile(&self, tool: &str) -> Option<Arc<Compiled>> {
        let tool = self.inner.get_tool(tool)?;
        let document = Value::Object((*tool.input_schema).clone());
        Compiled::new(&document).map(Arc::new)
    }

    #[cfg(not(feature = "schema-check"))]
    fn compile(&self, _tool: &str) -> Option<Arc<Compiled>> {
        None
    }

    fn scope(&self, context: &RequestContext<RoleServer>) -> crate::RequestScope {
        let over_http = crate::rmcp_support::http_session(context).is_some();
        let scope = scope_from_context(context);
        if over_http {
            scope
        } else {
            scope
                .session_id(self.process_session.clone())
                .transport(Transport::Pipe)
        }
    }
}

impl<S: ServerHandler> Service<RoleServer> for TracedServer<S> {
    async fn handle_request(
        &self,
        request: <RoleServer as ServiceRole>::PeerReq,
        context: RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        let scope = self.scope(&context);
        match &request {
            ClientRequest::CallToolRequest(call) => {
                let name = call.params.name.to_string();
                let arguments = Value::Object(call.params.arguments.clone().unwrap_or_default());
                let active = scope.arguments(arguments).activate();
                let start = SystemTime::now();
                let inner = Service::handle_request(&self.inner, request, context);
                let result = scope::run_active(active.clone(), inner).await;
                if !active.is_claimed() {
                    let compiled = self.schema_for(&name);
                    let outcome = unclaimed_tool_outcome(&result);
                    adapter::tool_span(&name, active, compiled.as_deref(), outcome, start);
                }
                result
            }
            ClientRequest::ReadResourceRequest(read) => {
                let uri = read.params.uri.clone();
                let active = scope.activate();
                let start = SystemTime::now();
                let inner = Service::handle_request(&self.inner, request, context);
                let result = scope::run_active(active.clone(), inner).await;
                if !active.is_claimed() {
                    adapter::resource_span(&uri, active, outcome_of(&result), start);
                }
                result
            }
            _ => {
                let method = request.method().to_owned();
                let target = match &request {
                    ClientRequest::GetPromptRequest(get) => {
                        Some(("gen_ai.prompt.name", get.params.name.to_string()))
                    }
                    _ => None,
                };
                let active = scope.activate();
                let target = target.as_ref().map(|(key, name)| (*key, name.as_str()));
                let call = adapter::request_span(&method, target, active.clone());
                let inner = scope::run_active(
                    active,
                    Service::handle_request(&self.inner, request, context),
                );
                let (result, call) = Traced::new(call, inner).await;
                let outcome = outcome_of(&result);
                call.finish(|| outcome);
                result
            }
        }
    }

    fn handle_notification(
        &self,
        notification: <RoleServer as ServiceRole>::PeerNot,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = Result<(), ErrorData>> + MaybeSendFuture + '_ {
        Service::handle_notification(&self.inner, notification, context)
    }

    fn get_info(&self) -> <RoleServer as ServiceRole>::Info {
        Service::get_info(&self.inner)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [rmcp::model::ProtocolVersion]> {
        Service::supported_protocol_versions(&self.inner)
    }
}
