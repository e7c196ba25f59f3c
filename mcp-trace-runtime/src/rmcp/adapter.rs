//! [`TracedServer`]: any rmcp `ServerHandler`, traced by delegation.

use crate::call::{Traced, adapter};
use crate::handler::outcome::{Outcome, SpecialError, SpecialOutcome};
use crate::keys;
use crate::observe::notification::{CancelTarget, Notification, TokenKind};
use crate::observe::tasks::{self, Status as TaskStatusSeen};
use crate::observe::{Connection, ConnectionHandle, InFlightGuard};
use crate::observe::{context_cost, rounds};
use crate::raw_signals::{self, Precomputed, RawSignals};
use crate::rmcp::support::scope_from_context;
use crate::rmcp::support::{request_key, request_state_of};
use crate::rmcp::tools::{ToolEntry, Tools};
use crate::scope::{self, ActiveScope, Transport};
use opentelemetry::KeyValue;
use rmcp::model::*;
use rmcp::service::{NotificationContext, RequestContext, RoleServer, SubscriptionContext};
use rmcp::{ErrorData, ServerHandler};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

/// The method of a prompt request (its rounds are matched by it).
const PROMPTS_GET: &str = "prompts/get";

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
/// let server = mcp_trace_runtime::rmcp::adapter::TracedServer::new(MyServer)
///     .serve(mcp_trace_runtime::rmcp::stdio::stdio())
///     .await?;
/// server.waiting().await?;
/// # Ok(()) }
/// ```
pub struct TracedServer<S> {
    inner: S,
    /// What the observer keeps of this connection (the requests in flight), unless a
    /// traced transport hands its own over with each message.
    connection: Arc<Connection>,
    /// stdio serves one client per process: one session id for all of it.
    process_session: String,
    /// What is kept of each advertised tool: its definition's hash, its schema
    /// compiled, how its calls' arguments reach the signals.
    tools: Tools,
    /// The session this server serves, timed on `mcp.server.session.duration`.
    #[cfg(feature = "metrics")]
    session: SessionTimer,
}

/// One server per session (rmcp's stateful HTTP transport builds one for each, stdio
/// one per process): the session starts when the server is built, counts once the
/// server answers `initialize`, and ends when the server is dropped. Kept under the
/// server's own key, never under a session id a client could choose; a server that
/// never sees `initialize` (stateless HTTP serves each request on a fresh one) times
/// nothing.
#[cfg(feature = "metrics")]
#[derive(Debug)]
struct SessionTimer {
    created: SystemTime,
    key: crate::session_duration::Key,
    started: std::sync::atomic::AtomicBool,
    protocol_known: std::sync::atomic::AtomicBool,
}

#[cfg(feature = "metrics")]
impl SessionTimer {
    fn new() -> Self {
        Self {
            created: SystemTime::now(),
            key: crate::session_duration::Key::unique(),
            started: std::sync::atomic::AtomicBool::new(false),
            protocol_known: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Notes what a request tells of the session: that it began (`initialize`), and
    /// the negotiated protocol version the first time a later request carries it. Two
    /// atomic loads per request once both are known. (The version an `initialize`
    /// request's scope carries is not yet the negotiated one.)
    fn note(&self, scope: &scope::ScopeData, initialize: bool) {
        use crate::session_duration::{self, Carried};
        use std::sync::atomic::Ordering;
        if initialize {
            if !self.started.swap(true, Ordering::AcqRel) {
                let carried = Carried {
                    protocol: None,
                    ..Carried::of(scope)
                };
                session_duration::start(self.key, self.created, carried);
            }
            return;
        }
        if self.started.load(Ordering::Acquire)
            && !self.protocol_known.load(Ordering::Relaxed)
            && let Some(version) = &scope.protocol_version
        {
            self.protocol_known.store(true, Ordering::Relaxed);
            session_duration::negotiated(self.key, version);
        }
    }
}

#[cfg(feature = "metrics")]
impl Drop for SessionTimer {
    fn drop(&mut self) {
        if *self.started.get_mut() {
            crate::session_duration::end(self.key, None);
        }
    }
}

/// The wrapped server only: the process session id is a credential.
impl<S: std::fmt::Debug> std::fmt::Debug for TracedServer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedServer")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S> TracedServer<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            connection: Arc::default(),
            process_session: crate::observe::listed::process_session_id(),
            tools: Tools::default(),
            #[cfg(feature = "metrics")]
            session: SessionTimer::new(),
        }
    }

    /// The wrapped server.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

fn outcome_of<T: SpecialOutcome>(result: &Result<T, ErrorData>) -> Outcome {
    match result {
        Err(error) => error.outcome(),
        Ok(value) => value.outcome(),
    }
}

/// Results with nothing to record beyond success.
macro_rules! plain_outcome {
    ($($ty:ty),*) => {$(
        impl SpecialOutcome for $ty {
            fn outcome(&self) -> Outcome {
                Outcome::Ok(None)
            }
        }
    )*};
}
plain_outcome!(
    (),
    InitializeResult,
    DiscoverResult,
    CompleteResult,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    CustomResult,
    GetTaskResult,
    ListSkillsResult,
    GetSkillResult
);

/// Whether `arguments` are over the schema-check budget: then they are not copied
/// into the request scope (a copy of a huge object would cost more than the call).
fn oversized(arguments: &JsonObject) -> bool {
    crate::bounds::object_exceeds(arguments, crate::settings::get().schema_check_max_bytes)
}

#[cfg(feature = "args-hash")]
fn hash_of(arguments: &JsonObject) -> Option<String> {
    Some(crate::signals::hash::configured_hash_object(arguments))
}

#[cfg(not(feature = "args-hash"))]
fn hash_of(_arguments: &JsonObject) -> Option<String> {
    None
}

/// Ends a span started early for a tool call whose future is dropped unfinished (the
/// call is cancelled): dropping it marks it cancelled.
struct DeferredGuard<'a>(&'a ActiveScope);

impl Drop for DeferredGuard<'_> {
    fn drop(&mut self) {
        drop(crate::observe::take_deferred(self.0));
    }
}

/// What a task's status says, without its payload.
fn basic_status(status: TaskStatus) -> TaskStatusSeen {
    match status {
        TaskStatus::InputRequired => TaskStatusSeen::InputRequired,
        TaskStatus::Completed => TaskStatusSeen::Completed { tool_error: false },
        TaskStatus::Failed => TaskStatusSeen::Failed { code: None },
        TaskStatus::Cancelled => TaskStatusSeen::Cancelled,
        _ => TaskStatusSeen::Working,
    }
}

/// What a task's status and payload say: whether its result is `isError`, the code of
/// its error.
pub(crate) fn task_status(task: &DetailedTask) -> TaskStatusSeen {
    match &task.payload {
        TaskPayload::Completed { result } => TaskStatusSeen::Completed {
            tool_error: result.get("isError") == Some(&Value::Bool(true)),
        },
        TaskPayload::Failed { error } => TaskStatusSeen::Failed {
            code: error.get("code").and_then(Value::as_i64),
        },
        _ => basic_status(task.status()),
    }
}

/// Whether the call failed because the tool does not exist: rmcp's tool router answers
/// an unknown name with `-32602` "tool not found".
fn unknown_tool(result: &Result<CallToolResponse, ErrorData>) -> bool {
    matches!(result, Err(e) if e.code == ErrorCode::METHOD_NOT_FOUND
        || (e.code == ErrorCode::INVALID_PARAMS && e.message == "tool not found"))
}

impl<S: ServerHandler> TracedServer<S> {
    /// What is kept of `tool`, if the server advertises it.
    fn tool(&self, tool: &str) -> Option<Arc<ToolEntry>> {
        self.tools.get(tool, || self.inner.get_tool(tool))
    }

    /// Forgets what was kept of tools listed with a different definition. A tool the
    /// list leaves out is kept: it may be on another page.
    #[cfg(feature = "args-hash")]
    fn forget_changed(&self, served: &crate::signals::definitions::Served) {
        self.tools.forget(|name, entry| {
            served
                .by_name
                .get(name)
                .is_some_and(|listed| listed.as_str() != entry.definition.hash.as_str())
        });
    }

    fn scope(&self, context: &RequestContext<RoleServer>) -> scope::RequestScope {
        self.scope_of(context, false)
    }

    /// The connection a message arrived on: the traced transport's, else our own.
    fn connection(&self, extensions: &Extensions) -> Arc<Connection> {
        match extensions.get::<ConnectionHandle>() {
            Some(ConnectionHandle(connection)) => connection.clone(),
            None => self.connection.clone(),
        }
    }

    /// Activates a request's scope and notes the request in flight until the guard
    /// drops, so later messages about it (a cancellation, what the server sends while
    /// serving it) find its span.
    fn activate(
        &self,
        scope: scope::RequestScope,
        context: &RequestContext<RoleServer>,
    ) -> (Arc<ActiveScope>, Option<InFlightGuard>) {
        let active = scope.activate();
        let connection = self.connection(&context.extensions);
        let key = request_key(&connection, &context.id);
        let progress = context
            .meta
            .get_progress_token()
            .map(|token| request_key(&connection, &token.0));
        let guard = connection.enter(key, progress, &active);
        (active, guard)
    }

    /// The span of a notification received with `context`, started now: its `_meta`
    /// trace context, the session (over HTTP the `Mcp-Session-Id`, on stdio the
    /// process's), the protocol version the session negotiated, and the transport.
    fn notification_call(
        &self,
        seen: &Notification<'_>,
        connection: &Connection,
        context: &NotificationContext<RoleServer>,
    ) -> crate::call::Call {
        // rmcp 3.9 moves a notification's extensions out before its `_meta`, so the
        // `_meta` it parsed is found among the context's extensions, not in `meta`.
        let meta = match context
            .extensions
            .get::<rmcp::model::NotificationMetaObject>()
        {
            Some(parsed) if context.meta.0.0.is_empty() => &parsed.0.0,
            _ => &context.meta.0.0,
        };
        let info = context.peer.peer_info();
        let protocol = info.as_ref().map(|info| info.protocol_version.as_str());
        let arrival = crate::rmcp::support::arrival(
            meta,
            &context.extensions,
            protocol,
            &self.process_session,
        );
        connection.notification(seen, &arrival)
    }

    /// Runs the wrapped server's handler of an inbound notification, `inner`, with the
    /// notification's span `call` current, and ends it.
    async fn traced_notification(&self, call: crate::call::Call, inner: impl Future<Output = ()>) {
        let ((), call) = Traced::new(call, inner).await;
        call.finish_at(|| Outcome::Ok(None), None);
    }

    /// [`Self::scope`] of an `initialize` request (`initialize`) or any other.
    fn scope_of(
        &self,
        context: &RequestContext<RoleServer>,
        initialize: bool,
    ) -> scope::RequestScope {
        let over_http = crate::rmcp::support::http_session(context).is_some();
        let scope = scope_from_context(context);
        let scope = if over_http {
            scope
        } else {
            scope
                .session_id(self.process_session.clone())
                .transport(Transport::Pipe)
        };
        #[cfg(feature = "metrics")]
        self.session.note(scope.data(), initialize);
        #[cfg(not(feature = "metrics"))]
        let _ = initialize;
        scope
    }
}

impl<S: ServerHandler> TracedServer<S> {
    /// Runs `inner` inside `scope` under a `{method}` span (`{method} {target}` with a
    /// target attribute), current while it runs.
    async fn traced_request<T: SpecialOutcome>(
        &self,
        method: &str,
        target: Option<(&'static str, &str)>,
        scope: Arc<ActiveScope>,
        inner: impl Future<Output = Result<T, ErrorData>>,
    ) -> Result<T, ErrorData> {
        let (result, call) = self.traced_call(method, target, scope, inner).await;
        let outcome = outcome_of(&result);
        call.finish_at(|| outcome, None);
        result
    }

    /// [`Self::traced_request`], with the span left open for what the answer tells.
    async fn traced_call<T>(
        &self,
        method: &str,
        target: Option<(&'static str, &str)>,
        scope: Arc<ActiveScope>,
        inner: impl Future<Output = Result<T, ErrorData>>,
    ) -> (Result<T, ErrorData>, crate::call::Call) {
        let call = adapter::request_span(method, target, scope.clone());
        #[cfg_attr(not(feature = "metrics"), allow(unused_mut))]
        let (result, mut call) = Traced::new(call, scope::run_active(scope, inner)).await;
        // An unknown prompt or custom method: the span name must not carry what the
        // client made up (cardinality); the bounded name stays in its attribute.
        let refused = matches!(&result, Err(e) if e.code == ErrorCode::METHOD_NOT_FOUND
            || (target.is_some() && e.code == ErrorCode::INVALID_PARAMS));
        crate::observe::listed::name_after_answer(&mut call, method, target, refused);
        (result, call)
    }

    /// `{method}` span around a request about the task `task_id`, linked to the task's
    /// span when this process follows it (`mcp.task.known`); left open.
    async fn about_task<T>(
        &self,
        method: &str,
        task_id: &str,
        context: &RequestContext<RoleServer>,
        inner: impl Future<Output = Result<T, ErrorData>>,
    ) -> (Result<T, ErrorData>, crate::call::Call) {
        let (scope, _in_flight) = self.activate(self.scope(context), context);
        let task = tasks::about(task_id);
        let (result, call) = self.traced_call(method, None, scope, inner).await;
        call.add_attributes(vec![KeyValue::new(keys::TASK_KNOWN, task.is_some())]);
        if let Some(task) = task.filter(|t| t.is_valid()) {
            call.add_link(task);
        }
        (result, call)
    }

    /// Starts the span of the task a `tools/call` of `tool` in `scope` created, the
    /// child of the call's span, which links to it.
    fn task_created(&self, scope: &ActiveScope, tool: &str, created: &CreateTaskResult) {
        let known = self.tool(tool).is_some();
        let parent = scope
            .span()
            .cloned()
            .unwrap_or_else(opentelemetry::Context::current);
        let span = adapter::task_span(tool, known, &parent, &scope.data);
        if let Some(task) = span.span_context().filter(|t| t.is_valid()) {
            use opentelemetry::trace::TraceContextExt;
            parent.span().add_link(task, Vec::new());
        }
        let task = &created.task;
        tasks::created(&task.task_id, task.ttl_ms, span, basic_status(task.status));
    }
}

/// `{method}` span around a delegated request; the scope is read from the context
/// before the context moves into the call.
macro_rules! traced {
    ($self:ident, $method:literal, $context:ident, $call:expr) => {{
        let (scope, _in_flight) = $self.activate($self.scope(&$context), &$context);
        $self.traced_request($method, None, scope, $call).await
    }};
}

// Every method is delegated, the legacy ones included: a wrapper must not change what
// the wrapped server answers.
#[allow(deprecated)]
impl<S: ServerHandler> ServerHandler for TracedServer<S> {
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if !crate::tracer::live() {
            return self.inner.call_tool(request, context).await;
        }
        let name = request.name.to_string();
        let scope = self.scope(&context);
        let tool = self.tool(&name);
        let advertised = tool.is_some();
        #[cfg(feature = "args-hash")]
        let scope = match &tool {
            Some(tool) => scope.tool_definition(tool.definition.clone()),
            None => scope,
        };
        let mut request = request;
        let scope = match (request.arguments.as_mut(), &tool) {
            (Some(arguments), _) if oversized(arguments) => {
                scope.oversized_arguments(hash_of(arguments))
            }
            // Taken now, while the request is ours: no copy of the arguments.
            (Some(arguments), Some(tool))
                if tool.takes_signals() && raw_signals::wanted_unsampled(&scope) =>
            {
                let compiled = tool.schema();
                let raw = Value::Object(std::mem::take(arguments));
                let signals = RawSignals::of(compiled, &raw, true);
                if let Value::Object(map) = raw {
                    *arguments = map;
                }
                scope.precomputed(Precomputed::new(compiled, signals))
            }
            (arguments, _) => {
                scope.arguments(Value::Object(arguments.cloned().unwrap_or_default()))
            }
        };
        let (active, _in_flight) = self.activate(scope, &context);
        let start = SystemTime::now();
        rounds::arrive(
            &active,
            keys::TOOLS_CALL,
            request.request_state.as_deref(),
            start,
        );
        // The span's end waits for the result's size (below).
        active.held_end.want();
        // Unless a traced handler claims the call, its span is ours: made at the end, or
        // earlier if the tool sends the client something that must be its child.
        crate::observe::defer_tool(&active, name, start, advertised);
        let deferred = DeferredGuard(&active);
        let result =
            scope::run_active(active.clone(), self.inner.call_tool(request, context)).await;
        // The span ends here: compiling the advertised schema below (once per tool) is
        // not the call's time.
        let end = SystemTime::now();
        std::mem::forget(deferred);
        let undeferred = crate::observe::take_deferred(&active);
        let name = undeferred.tool.unwrap_or_default();
        if let Some(call) = undeferred.started {
            let compiled = tool.as_ref().and_then(|t| t.schema());
            let known = tool.is_some()
                || self.inner.get_tool(&name).is_some()
                || (!unknown_tool(&result) && crate::observe::listed::answered_name(&name));
            let outcome = outcome_of(&result);
            adapter::tool_span_finish(
                call,
                active.clone(),
                &name,
                undeferred.known,
                known,
                compiled,
                outcome,
                end,
            );
        } else if !active.is_claimed() {
            let compiled = tool.as_ref().and_then(|t| t.schema());
            // Known: advertised, or answered without a protocol error (a server that
            // does not implement `get_tool`).
            let known = tool.is_some()
                || self.inner.get_tool(&name).is_some()
                || (!unknown_tool(&result) && crate::observe::listed::answered_name(&name));
            // Arguments that failed to deserialize come back from rmcp's router as an
            // in-band error result: recorded as what went out, `tool_error` (the schema
            // verdict on the same span says why).
            let outcome = outcome_of(&result);
            adapter::tool_span(&name, known, active.clone(), compiled, outcome, start, end);
        }
        rounds::answered(&active, keys::TOOLS_CALL, request_state_of(&result));
        if let Ok(CallToolResponse::Task(created)) = &result {
            self.task_created(&active, &name, created);
        }
        let mut result = result;
        if let Ok(CallToolResponse::Complete(complete)) = &mut result {
            // Measured as the client receives it: rmcp leaves `resultType: "complete"`
            // out for a peer of a revision before 2026-07-28 (a version string
            // compares as its date).
            let modern = active
                .data
                .protocol_version
                .as_deref()
                .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28.as_str());
            let left_out = if modern {
                None
            } else {
                complete.result_type.take()
            };
            context_cost::result_measured(&active, Some(&*complete));
            if left_out.is_some() {
                complete.result_type = left_out;
            }
        } else {
            context_cost::result_measured::<CallToolResult>(&active, None);
        }
        if let Some(tool) = &tool {
            let answered = matches!(&result,
                Ok(CallToolResponse::Complete(r)) if r.is_error != Some(true));
            tool.learn(active.claimant(), answered && !active.is_claimed());
        }
        result
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if !crate::tracer::live() {
            return self.inner.read_resource(request, context).await;
        }
        let uri = request.uri.clone();
        let (active, _in_flight) = self.activate(self.scope(&context), &context);
        let start = SystemTime::now();
        let state = request.request_state.as_deref();
        rounds::arrive(&active, keys::RESOURCES_READ, state, start);
        let result =
            scope::run_active(active.clone(), self.inner.read_resource(request, context)).await;
        if !active.is_claimed() {
            let end = SystemTime::now();
            adapter::resource_span(&uri, active.clone(), outcome_of(&result), start, end);
        }
        rounds::answered(&active, keys::RESOURCES_READ, request_state_of(&result));
        result
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let name = request.name.to_string();
        let (scope, _in_flight) = self.activate(self.scope(&context), &context);
        let state = request.request_state.as_deref();
        rounds::arrive(&scope, PROMPTS_GET, state, SystemTime::now());
        let target = Some((keys::GEN_AI_PROMPT, name.as_str()));
        let result = self
            .traced_request(
                PROMPTS_GET,
                target,
                scope.clone(),
                self.inner.get_prompt(request, context),
            )
            .await;
        rounds::answered(&scope, PROMPTS_GET, request_state_of(&result));
        result
    }

    async fn ping(&self, context: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        traced!(self, "ping", context, self.inner.ping(context))
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        let (scope, _in_flight) = self.activate(self.scope_of(&context, true), &context);
        let inner = self.inner.initialize(request, context);
        self.traced_request("initialize", None, scope, inner).await
    }

    fn negotiate_initialize(
        &self,
        request: &InitializeRequestParams,
    ) -> Result<InitializeResult, ErrorData> {
        self.inner.negotiate_initialize(request)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        self.inner.supported_protocol_versions()
    }

    async fn discover(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, ErrorData> {
        traced!(
            self,
            "server/discover",
            context,
            self.inner.discover(context)
        )
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        traced!(
            self,
            "completion/complete",
            context,
            self.inner.complete(request, context)
        )
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        traced!(
            self,
            "logging/setLevel",
            context,
            self.inner.set_level(request, context)
        )
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        traced!(
            self,
            "prompts/list",
            context,
            self.inner.list_prompts(request, context)
        )
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        traced!(
            self,
            "resources/list",
            context,
            self.inner.list_resources(request, context)
        )
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        traced!(
            self,
            "resources/templates/list",
            context,
            self.inner.list_resource_templates(request, context)
        )
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        self.inner.accepted_subscription_filter(requested)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        if !crate::tracer::live() {
            return self.inner.listen(context).await;
        }
        let request = context.request_context();
        let (scope, _in_flight) = self.activate(self.scope(request), request);
        let inner = self.inner.listen(context);
        let (result, call) = self
            .traced_call("subscriptions/listen", None, scope.clone(), inner)
            .await;
        // What the stream delivered (the transport counts the notifications it sends
        // with this request's id as their subscription).
        let delivered = scope.delivered.load(std::sync::atomic::Ordering::Relaxed);
        call.add_attributes(vec![KeyValue::new(
            keys::SUBSCRIPTION_NOTIFICATIONS,
            i64::try_from(delivered).unwrap_or(i64::MAX),
        )]);
        let outcome = outcome_of(&result);
        call.finish_at(|| outcome, None);
        result
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        traced!(
            self,
            "resources/subscribe",
            context,
            self.inner.subscribe(request, context)
        )
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        traced!(
            self,
            "resources/unsubscribe",
            context,
            self.inner.unsubscribe(request, context)
        )
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        if !crate::tracer::live() {
            return self.inner.list_tools(request, context).await;
        }
        let (scope, _in_flight) = self.activate(self.scope(&context), &context);
        let first_page = request.as_ref().is_none_or(|r| r.cursor.is_none());
        let inner = self.inner.list_tools(request, context);
        let (result, call) = self.traced_call("tools/list", None, scope, inner).await;
        // Read as JSON only when something records it: the span, or the definitions'
        // hashes (which the tool calls to come need whether sampled or not).
        if let Ok(list) = &result
            && (call.is_recording() || cfg!(feature = "args-hash"))
        {
            let tools: Vec<Value> = list
                .tools
                .iter()
                .filter_map(|tool| serde_json::to_value(tool).ok())
                .collect();
            let complete = first_page && list.next_cursor.is_none();
            #[cfg_attr(not(feature = "args-hash"), allow(clippy::let_unit_value))]
            let served = crate::observe::listed::tools_listed(&tools, complete, &call);
            #[cfg(feature = "args-hash")]
            self.forget_changed(&served);
            #[cfg(not(feature = "args-hash"))]
            let () = served;
        }
        let outcome = outcome_of(&result);
        call.finish_at(|| outcome, None);
        result
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.inner.get_tool(name)
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        let method = request.method.clone();
        let (scope, _in_flight) = self.activate(self.scope(&context), &context);
        self.traced_request(
            &method,
            None,
            scope,
            self.inner.on_custom_request(request, context),
        )
        .await
    }

    async fn on_cancelled(
        &self,
        notification: CancelledNotificationParam,
        context: NotificationContext<RoleServer>,
    ) {
        if !crate::tracer::live() {
            return self.inner.on_cancelled(notification, context).await;
        }
        let connection = self.connection(&context.extensions);
        // As the traced transport saw it on arrival (rmcp cancels the request before
        // this handler runs, and it may be over by now); else as it stands.
        let target = match context.extensions.get::<CancelTarget>() {
            Some(target) => target.clone(),
            None => {
                let key = notification
                    .request_id
                    .as_ref()
                    .map(|id| request_key(&connection, id));
                connection.cancel_target(key)
            }
        };
        let seen = Notification::Cancelled(target);
        let call = self.notification_call(&seen, &connection, &context);
        self.traced_notification(call, self.inner.on_cancelled(notification, context))
            .await
    }

    async fn on_progress(
        &self,
        notification: ProgressNotificationParam,
        context: NotificationContext<RoleServer>,
    ) {
        if !crate::tracer::live() {
            return self.inner.on_progress(notification, context).await;
        }
        let seen = Notification::Progress {
            progress: notification.progress,
            total: notification.total,
            token: match notification.progress_token.0 {
                NumberOrString::Number(_) => TokenKind::Integer,
                NumberOrString::String(_) => TokenKind::String,
            },
        };
        let connection = self.connection(&context.extensions);
        let call = self.notification_call(&seen, &connection, &context);
        self.traced_notification(call, self.inner.on_progress(notification, context))
            .await
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        if !crate::tracer::live() {
            return self.inner.on_initialized(context).await;
        }
        let seen = Notification::Other("notifications/initialized");
        let connection = self.connection(&context.extensions);
        let call = self.notification_call(&seen, &connection, &context);
        self.traced_notification(call, self.inner.on_initialized(context))
            .await
    }

    async fn on_roots_list_changed(&self, context: NotificationContext<RoleServer>) {
        if !crate::tracer::live() {
            return self.inner.on_roots_list_changed(context).await;
        }
        let seen = Notification::Other("notifications/roots/list_changed");
        let connection = self.connection(&context.extensions);
        let call = self.notification_call(&seen, &connection, &context);
        self.traced_notification(call, self.inner.on_roots_list_changed(context))
            .await
    }

    async fn on_custom_notification(
        &self,
        notification: CustomNotification,
        context: NotificationContext<RoleServer>,
    ) {
        if !crate::tracer::live() {
            return self
                .inner
                .on_custom_notification(notification, context)
                .await;
        }
        // The conventions' name or `_OTHER`, without copying what the client sent.
        let method = crate::observe::methods::known_method(&notification.method);
        let seen = Notification::Other(method);
        let connection = self.connection(&context.extensions);
        let call = self.notification_call(&seen, &connection, &context);
        self.traced_notification(
            call,
            self.inner.on_custom_notification(notification, context),
        )
        .await
    }

    fn get_info(&self) -> ServerConfig {
        self.inner.get_info()
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        let task_id = request.task_id.clone();
        let inner = self.inner.get_task(request, context.clone());
        let (result, call) = self
            .about_task("tasks/get", &task_id, &context, inner)
            .await;
        if let Ok(answer) = &result {
            let status = task_status(&answer.task);
            call.add_attributes(vec![KeyValue::new(keys::TASK_STATUS, status.name())]);
            tasks::reported(&task_id, status);
        }
        let outcome = outcome_of(&result);
        call.finish_at(|| outcome, None);
        result
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let task_id = request.task_id.clone();
        let inner = self.inner.update_task(request, context.clone());
        let (result, call) = self
            .about_task("tasks/update", &task_id, &context, inner)
            .await;
        let outcome = outcome_of(&result);
        call.finish_at(|| outcome, None);
        result
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let task_id = request.task_id.clone();
        let inner = self.inner.cancel_task(request, context.clone());
        let (result, call) = self
            .about_task("tasks/cancel", &task_id, &context, inner)
            .await;
        let outcome = outcome_of(&result);
        call.finish_at(|| outcome, None);
        result
    }

    async fn list_skills(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListSkillsResult, ErrorData> {
        traced!(
            self,
            "skills/list",
            context,
            self.inner.list_skills(request, context)
        )
    }

    async fn get_skill(
        &self,
        request: GetSkillRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetSkillResult, ErrorData> {
        traced!(
            self,
            "skills/get",
            context,
            self.inner.get_skill(request, context)
        )
    }

    async fn read_resource_directory(
        &self,
        request: ReadResourceDirectoryRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceDirectoryResult, ErrorData> {
        traced!(
            self,
            "resources/directory/read",
            context,
            self.inner.read_resource_directory(request, context)
        )
    }
}
