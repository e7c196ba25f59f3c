//! [`TracedClient`]: an rmcp client whose calls know the caller. rmcp sends requests
//! from a task of its own, where the caller's span is not current; the client's calls
//! run in the caller's task, so they hand the caller's context to the transport in the
//! request's `_meta`: the request's span becomes the child of the agent's step. Or,
//! with [`TracedClient::merge_into_current_span`], the agent framework's own
//! `execute_tool` span gets the MCP attributes and no second span is made, as the
//! conventions ask when an outer GenAI instrumentation already traces the call.

use super::record::{MERGE_KEY, Recorder};
use super::transport::{TracedTransport, lock};
use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, GetPromptRequestParams, GetPromptResult,
    ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResult,
    RequestMetaObject, Tool,
};
use rmcp::service::{
    ClientInitializeError, QuitReason, RoleClient, RunningService, Service, ServiceError,
};
use rmcp::transport::Transport;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

/// A running rmcp client, served over a [`TracedTransport`], whose requests are
/// traced as children of the span current where they are called.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use mcp_trace_runtime::rmcp::client::{TracedClient, traced};
/// use rmcp::model::CallToolRequestParams;
/// let _guard = mcp_trace_runtime::init();
/// # let (transport, _server) = tokio::io::duplex(4096);
/// let client = TracedClient::serve((), traced(transport)).await?;
/// let result = client.call_tool(CallToolRequestParams::new("search")).await?;
/// # let _ = result; Ok(()) }
/// ```
///
/// Everything else of rmcp's client is there through `Deref` (requests made that way,
/// or through a cloned `Peer`, are traced too, under the session span).
pub struct TracedClient<S: Service<RoleClient>> {
    service: RunningService<RoleClient, S>,
    recorder: Arc<Mutex<Recorder>>,
    merge: bool,
}

impl<S: Service<RoleClient>> std::fmt::Debug for TracedClient<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedClient")
            .field("merge", &self.merge)
            .finish_non_exhaustive()
    }
}

impl<S: Service<RoleClient>> TracedClient<S> {
    /// Serves `service` (`()` for a client that answers nothing) over `transport`:
    /// `initialize`, traced, then the client.
    pub async fn serve<T>(
        service: S,
        transport: TracedTransport<T>,
    ) -> Result<Self, ClientInitializeError>
    where
        T: Transport<RoleClient> + 'static,
    {
        let recorder = transport.recorder();
        let service = rmcp::serve_client(service, transport).await?;
        Ok(Self {
            service,
            recorder,
            merge: false,
        })
    }

    /// Tool calls made while a span is current add their MCP attributes to that span
    /// (the agent framework's `execute_tool` span) instead of starting their own; its
    /// context goes to the server. A call made with no span current gets its own.
    pub fn merge_into_current_span(mut self) -> Self {
        self.merge = true;
        self
    }

    /// `tools/call`, traced under the current span (or into it, when merging).
    pub async fn call_tool(
        &self,
        mut params: CallToolRequestParams,
    ) -> Result<CallToolResult, ServiceError> {
        let cx = Context::current();
        if !cx.span().span_context().is_valid() {
            return self.service.call_tool(params).await;
        }
        if !self.merge {
            stamp(&cx, &mut params.meta);
            return self.service.call_tool(params).await;
        }
        let lent = Lent {
            token: lock(&self.recorder).lend(cx),
            recorder: &self.recorder,
        };
        params
            .meta
            .get_or_insert_with(RequestMetaObject::new)
            .0
            .insert(MERGE_KEY.to_owned(), lent.token.into());
        self.service.call_tool(params).await
    }

    /// `resources/read`, traced under the current span.
    pub async fn read_resource(
        &self,
        mut params: ReadResourceRequestParams,
    ) -> Result<ReadResourceResult, ServiceError> {
        stamp(&Context::current(), &mut params.meta);
        self.service.read_resource(params).await
    }

    /// `prompts/get`, traced under the current span.
    pub async fn get_prompt(
        &self,
        mut params: GetPromptRequestParams,
    ) -> Result<GetPromptResult, ServiceError> {
        stamp(&Context::current(), &mut params.meta);
        self.service.get_prompt(params).await
    }

    /// `tools/list`, traced under the current span.
    pub async fn list_tools(
        &self,
        params: Option<PaginatedRequestParams>,
    ) -> Result<ListToolsResult, ServiceError> {
        let mut params = params.unwrap_or_default();
        stamp(&Context::current(), &mut params.meta);
        self.service.list_tools(Some(params)).await
    }

    /// Every page of `tools/list` (at most 1 000: a server that always answers with
    /// a cursor must not loop us forever), each traced under the current span.
    pub async fn list_all_tools(&self) -> Result<Vec<Tool>, ServiceError> {
        let mut tools = Vec::new();
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let mut params = PaginatedRequestParams::default();
            params.cursor = cursor;
            let page = self.list_tools(Some(params)).await?;
            tools.extend(page.tools);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(tools),
            }
        }
        Ok(tools)
    }

    /// Closes the client (and ends its session span).
    pub async fn cancel(self) -> Result<QuitReason, tokio::task::JoinError> {
        self.service.cancel().await
    }

    /// The rmcp client underneath.
    pub fn into_inner(self) -> RunningService<RoleClient, S> {
        self.service
    }
}

impl<S: Service<RoleClient>> Deref for TracedClient<S> {
    type Target = RunningService<RoleClient, S>;

    fn deref(&self) -> &Self::Target {
        &self.service
    }
}

/// Most `tools/list` pages [`TracedClient::list_all_tools`] asks for.
const MAX_PAGES: usize = 1000;

/// A context lent to the transport for one merged call; taken back however the call
/// ends (a caller that gives up drops the call's future mid-way).
struct Lent<'a> {
    token: u64,
    recorder: &'a Mutex<Recorder>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        lock(self.recorder).take_back(self.token);
    }
}

/// Writes the current span's context into `meta` (unless it names one already), for
/// the transport to take as the request's parent.
fn stamp(cx: &Context, meta: &mut Option<RequestMetaObject>) {
    if !cx.span().span_context().is_valid() {
        return;
    }
    if meta
        .as_ref()
        .is_some_and(|m| m.0.contains_key("traceparent"))
    {
        return;
    }
    let mut carrier = std::collections::HashMap::new();
    TraceContextPropagator::new().inject_context(cx, &mut carrier);
    let meta = meta.get_or_insert_with(RequestMetaObject::new);
    for (key, value) in carrier {
        meta.0.insert(key, value.into());
    }
}
