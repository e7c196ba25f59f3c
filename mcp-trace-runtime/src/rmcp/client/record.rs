//! What the traced transport records, message by message: a CLIENT span per outbound
//! request, started when rmcp hands the request to the transport and ended by the
//! answer (or the cancellation, the send failure, the closed transport), with the
//! trace context injected into the request's `_meta`; the session span around them;
//! and the client-side metrics. Plain state behind one lock, no I/O: the transport
//! calls in, the tests too.

use super::options::ClientOptions;
use crate::call::Compiled;
use crate::keys;
use crate::observe::MetricBase;
use crate::{bounds, handler::jsonrpc};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use rmcp::model::{
    ClientJsonRpcMessage, ClientNotification, ClientRequest, ClientResult, GetMeta, JsonObject,
    JsonRpcMessage, NumberOrString, RequestMetaObject, ServerJsonRpcMessage, ServerResult,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

/// Most requests awaiting an answer that are traced at once; past it, new requests go
/// untraced until answers come (a server that never answers must not grow us).
const MAX_PENDING: usize = 4096;

/// Most tools whose advertised schema is kept (from `tools/list`).
const MAX_TOOLS: usize = 1024;

/// The session span's name: our own, INTERNAL, around one client's lifetime.
pub(crate) const SESSION_SPAN: &str = "mcp.client.session";

/// The data key rmcp's HTTP client puts on the error it answers a request with when the
/// stream carrying the answer broke: a transport failure, not the server's answer.
const TRANSPORT_CLOSED: &str = "io.modelcontextprotocol/transportClosed";

/// The `_meta` key by which [`TracedClient`](super::TracedClient) names the caller's
/// context a tool call is merged into; taken off before the request leaves.
pub(crate) const MERGE_KEY: &str = "mcp-trace/merge";

/// The `_meta` key carrying a request's protocol version where there is no
/// `initialize` (2026-07-28).
const PROTOCOL_META_KEY: &str = "io.modelcontextprotocol/protocolVersion";

/// `error.type` of a request that got no answer.
pub(crate) const CLOSED: &str = "transport_closed";
pub(crate) const SEND_FAILED: &str = "transport_error";
pub(crate) const TIMEOUT: &str = "timeout";
pub(crate) const CANCELLED: &str = "cancelled";

/// One request awaiting its answer.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) struct Pending {
    /// The context holding the request's span.
    cx: Context,
    /// The span is the caller's (merged into): not ours to end.
    merged: bool,
    start: SystemTime,
    method: String,
    /// The tool of a `tools/call`, for the metric: the name if the server listed it,
    /// else `_OTHER` (the agent's choice).
    tool: Option<String>,
    schema_valid: Option<bool>,
    /// Whether the call repeated the tool's previous one, for the metric.
    repeated: Option<bool>,
}

/// The client's lifetime: its span, and what the metric needs.
pub(crate) struct Session {
    cx: Context,
    start: SystemTime,
}

/// A tool the server advertised: its input schema, compiled on first use.
struct Advertised {
    #[cfg_attr(not(feature = "schema-check"), allow(dead_code))]
    schema: Arc<JsonObject>,
    #[cfg_attr(not(feature = "schema-check"), allow(dead_code))]
    compiled: Option<Option<Arc<Compiled>>>,
}

/// Everything the transport's two halves share.
pub(crate) struct Recorder {
    options: ClientOptions,
    pending: HashMap<String, Pending>,
    session: Option<Session>,
    /// The negotiated protocol version, from the `initialize` answer.
    protocol: Option<String>,
    tools: HashMap<String, Advertised>,
    /// Per tool (listed, else `_OTHER`), its last call's run of identical calls: the
    /// client's connection is the scope. At most one entry per listed tool, plus one.
    #[cfg(feature = "args-hash")]
    runs: HashMap<String, crate::signals::repeats::Run>,
    /// Callers' contexts lent for tool calls merged into their spans, by token.
    lent: HashMap<u64, Context>,
    next_token: u64,
    /// Requests the server sent the client, being answered: a SERVER span each.
    served: HashMap<String, crate::call::Call>,
    /// Spans to end once the lock is let go (a simple processor exports as a span
    /// ends: not while rmcp's loop and the callers wait on this lock).
    done: Vec<Finish>,
}

/// A span to end, and its metric to record, outside the lock.
pub(crate) enum Finish {
    Request {
        base: MetricBase,
        pending: Pending,
        error_type: Option<String>,
        rpc_code: Option<i64>,
        attrs: Vec<KeyValue>,
    },
    Session {
        base: MetricBase,
        session: Session,
        error_type: Option<&'static str>,
    },
    /// A request of the server's, answered (or, `None`, given up: cancelled).
    Served {
        call: crate::call::Call,
        outcome: Option<crate::handler::outcome::Outcome>,
        action: Option<&'static str>,
    },
}

impl Finish {
    /// Ends the span (unless it is a caller's, merged into) and records the metric.
    pub(crate) fn end(self) {
        match self {
            Finish::Request {
                base,
                pending,
                error_type,
                rpc_code,
                attrs,
            } => end(base, pending, error_type, rpc_code, attrs),
            Finish::Session {
                base,
                session,
                error_type,
            } => {
                let span = session.cx.span();
                if let Some(error_type) = error_type {
                    span.set_attribute(KeyValue::new(keys::ERROR_TYPE, error_type));
                    span.set_status(Status::error(error_type));
                }
                let now = SystemTime::now();
                span.end_with_timestamp(now);
                #[cfg(feature = "metrics")]
                crate::observe::client_metrics::session(&base, session.start, now, error_type);
                #[cfg(not(feature = "metrics"))]
                let _ = (base, session.start);
            }
            Finish::Served {
                call,
                outcome,
                action,
            } => {
                if let Some(action) = action {
                    call.add_attributes(vec![KeyValue::new(keys::ELICITATION_ACTION, action)]);
                }
                match outcome {
                    Some(outcome) => call.finish_at(|| outcome, None),
                    // Dropped unfinished: `mcp.call.cancelled`.
                    None => drop(call),
                }
            }
        }
    }
}

/// A request id as text, the key of the pending map: rmcp matches a string that parses
/// as an integer (`"5"`, `"05"`, `"+5"`) to that number, so do we.
fn id_key(id: &NumberOrString) -> String {
    match id {
        NumberOrString::Number(n) => n.to_string(),
        NumberOrString::String(s) => match s.parse::<i64>() {
            Ok(n) => n.to_string(),
            Err(_) => s.to_string(),
        },
    }
}

/// `_meta` as a propagation carrier: the envelope's keys over the params' (as rmcp
/// merges them on the wire).
struct MetaExtractor<'a> {
    envelope: &'a RequestMetaObject,
    params: Option<&'a RequestMetaObject>,
}

impl Extractor for MetaExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let bound = match key {
            "traceparent" => bounds::MAX_TRACEPARENT_BYTES,
            "tracestate" => bounds::MAX_TRACESTATE_BYTES,
            _ => return None,
        };
        [Some(self.envelope), self.params]
            .into_iter()
            .flatten()
            .find_map(|meta| meta.0.get(key)?.as_str())
            .filter(|value| value.len() <= bound)
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent", "tracestate"]
    }
}

/// The `_meta` object of a request's params, where it has one.
fn params_meta(request: &ClientRequest) -> Option<&RequestMetaObject> {
    match request {
        ClientRequest::CallToolRequest(r) => r.params.meta.as_ref(),
        ClientRequest::ReadResourceRequest(r) => r.params.meta.as_ref(),
        ClientRequest::GetPromptRequest(r) => r.params.meta.as_ref(),
        ClientRequest::InitializeRequest(r) => r.params.meta.as_ref(),
        ClientRequest::ListToolsRequest(r) => r.params.as_ref()?.meta.as_ref(),
        ClientRequest::ListResourcesRequest(r) => r.params.as_ref()?.meta.as_ref(),
        ClientRequest::ListPromptsRequest(r) => r.params.as_ref()?.meta.as_ref(),
        _ => None,
    }
}

impl Recorder {
    pub(crate) fn new(options: ClientOptions) -> Self {
        Self {
            options,
            pending: HashMap::new(),
            session: None,
            protocol: None,
            tools: HashMap::new(),
            #[cfg(feature = "args-hash")]
            runs: HashMap::new(),
            lent: HashMap::new(),
            next_token: 0,
            served: HashMap::new(),
            done: Vec::new(),
        }
    }

    /// The spans finished by the last calls, to end once the lock is let go.
    pub(crate) fn take_done(&mut self) -> Vec<Finish> {
        std::mem::take(&mut self.done)
    }

    /// Lends the caller's context for a tool call to merge into; returns the token
    /// the call carries in `_meta`.
    pub(crate) fn lend(&mut self, cx: Context) -> u64 {
        self.next_token = self.next_token.wrapping_add(1);
        self.lent.insert(self.next_token, cx);
        self.next_token
    }

    /// The call is over: its context is not needed any more.
    pub(crate) fn take_back(&mut self, token: u64) {
        self.lent.remove(&token);
    }

    /// The context a tool call is to merge into, its token taken off the request.
    fn merge_target(&self, request: &mut ClientRequest) -> Option<Context> {
        let ClientRequest::CallToolRequest(call) = request else {
            return None;
        };
        let meta = call.params.meta.as_mut()?;
        let token = meta.0.remove(MERGE_KEY)?.as_u64()?;
        if meta.0.is_empty() {
            call.params.meta = None;
        }
        self.lent.get(&token).cloned()
    }

    /// The options, to change before the client is served.
    pub(crate) fn options_mut(&mut self) -> &mut ClientOptions {
        &mut self.options
    }

    /// An outbound message: a request starts its span and carries its context; a
    /// cancellation ends the span of the request it cancels. Returns the key of a
    /// request now pending, for [`Self::send_failed`].
    pub(crate) fn on_send(&mut self, message: &mut ClientJsonRpcMessage) -> Option<String> {
        match message {
            JsonRpcMessage::Request(request) => {
                let key = id_key(&request.id);
                // The merge token never leaves, whether or not the request is traced.
                let merged = self.merge_target(&mut request.request);
                if self.start(&key, &mut request.request, merged.clone()) {
                    return Some(key);
                }
                if let Some(outer) = merged {
                    inject(&outer, &mut request.request);
                }
                None
            }
            JsonRpcMessage::Notification(notification) => {
                if let ClientNotification::CancelledNotification(cancelled) =
                    &notification.notification
                {
                    let params = &cancelled.params;
                    if let Some(id) = &params.request_id {
                        // rmcp's reasons: "request timeout", "maximum total timeout
                        // exceeded", "request abandoned by the caller".
                        let timeout = params
                            .reason
                            .as_deref()
                            .is_some_and(|r| r.contains("timeout"));
                        let kind = if timeout { TIMEOUT } else { CANCELLED };
                        self.end_unanswered(&id_key(id), kind, true);
                    }
                }
                None
            }
            JsonRpcMessage::Response(response) => {
                let action = match &response.result {
                    ClientResult::ElicitResult(result) => {
                        Some(crate::rmcp::support::elicitation_action(&result.action))
                    }
                    _ => None,
                };
                let outcome = crate::handler::outcome::Outcome::Ok(None);
                self.served_answered(&id_key(&response.id), Some(outcome), action);
                None
            }
            JsonRpcMessage::Error(error) => {
                if let Some(id) = &error.id {
                    let code = i64::from(error.error.code.0);
                    let outcome = crate::handler::outcome::Outcome::rpc_error(code);
                    self.served_answered(&id_key(id), Some(outcome), None);
                }
                None
            }
        }
    }

    /// The transport failed to send the request `key`.
    pub(crate) fn send_failed(&mut self, key: &str) {
        self.end_unanswered(key, SEND_FAILED, false);
    }

    /// An inbound message: an answer ends its request's span.
    pub(crate) fn on_receive(&mut self, message: &ServerJsonRpcMessage) {
        match message {
            JsonRpcMessage::Request(request) => self.serve(request),
            // The server gave up a request of its own: its span ends, cancelled.
            JsonRpcMessage::Notification(notification) => {
                if let rmcp::model::ServerNotification::CancelledNotification(cancelled) =
                    &notification.notification
                    && let Some(id) = &cancelled.params.request_id
                {
                    self.served_answered(&id_key(id), None, None);
                }
            }
            JsonRpcMessage::Response(response) => {
                let Some(pending) = self.pending.remove(&id_key(&response.id)) else {
                    return;
                };
                self.answered(pending, &response.result);
            }
            JsonRpcMessage::Error(error) => {
                let Some(pending) = error
                    .id
                    .as_ref()
                    .and_then(|id| self.pending.remove(&id_key(id)))
                else {
                    return;
                };
                let closed = error
                    .error
                    .data
                    .as_ref()
                    .and_then(|d| d.get(TRANSPORT_CLOSED))
                    .is_some();
                let base = self.metric_base();
                let finish = if closed {
                    Finish::Request {
                        base,
                        pending,
                        error_type: Some(CLOSED.into()),
                        rpc_code: None,
                        attrs: Vec::new(),
                    }
                } else {
                    // The client's request failed, whoever's mistake it was: the
                    // conventions name it by its code on the client's span.
                    let code = i64::from(error.error.code.0);
                    Finish::Request {
                        base,
                        pending,
                        error_type: Some(code.to_string()),
                        rpc_code: Some(code),
                        attrs: Vec::new(),
                    }
                };
                self.done.push(finish);
            }
        }
    }

    /// A request of the server's (sampling, elicitation, roots, ping): a SERVER span,
    /// its parent the context in its `_meta` (the server's CLIENT span, when the
    /// server is traced), as the server side names and attributes a request.
    fn serve(&mut self, request: &rmcp::model::JsonRpcRequest<rmcp::model::ServerRequest>) {
        if !crate::tracer::live() || self.served.len() >= MAX_PENDING {
            return;
        }
        let mut scope = crate::scope::RequestScope::new()
            .request_id(&request.id)
            .meta_object(&request.request.get_meta().0.0)
            .transport(match self.options.server {
                Some(_) => crate::scope::Transport::Tcp,
                None => crate::scope::Transport::Pipe,
            });
        if let Some(version) = &self.protocol {
            scope = scope.protocol_version(version.clone());
        }
        // The conventions' name or `_OTHER`: the method is the server's choice.
        let method = crate::observe::methods::known_method(
            crate::rmcp::support::server_request_method(&request.request),
        );
        let call = crate::call::adapter::request_span(method, None, scope.activate());
        if let Some(replaced) = self.served.insert(id_key(&request.id), call) {
            // An id the server reused while the first was unanswered: that one is over.
            self.done.push(Finish::Served {
                call: replaced,
                outcome: None,
                action: None,
            });
        }
    }

    /// The client answered the server's request `key`.
    fn served_answered(
        &mut self,
        key: &str,
        outcome: Option<crate::handler::outcome::Outcome>,
        action: Option<&'static str>,
    ) {
        if let Some(call) = self.served.remove(key) {
            self.done.push(Finish::Served {
                call,
                outcome,
                action,
            });
        }
    }

    /// The transport closed (or the server hung up): every request still waiting ends
    /// unanswered, and so does the session.
    pub(crate) fn on_closed(&mut self, error_type: Option<&'static str>) {
        // Requests of the server's still unanswered end with the connection.
        for (_, call) in self.served.drain() {
            self.done.push(Finish::Served {
                call,
                outcome: Some(crate::handler::outcome::Outcome::Error {
                    error_type: CLOSED.into(),
                    rpc_code: None,
                }),
                action: None,
            });
        }
        let keys: Vec<String> = self.pending.keys().cloned().collect();
        for key in keys {
            self.end_unanswered(&key, CLOSED, false);
        }
        if let Some(session) = self.session.take() {
            self.done.push(Finish::Session {
                base: self.metric_base(),
                session,
                error_type,
            });
        }
    }

    /// Starts the span of request `key`; `false` when nothing is traced (no SDK, or
    /// too many requests waiting).
    fn start(&mut self, key: &str, request: &mut ClientRequest, merged: Option<Context>) -> bool {
        let Some(tracer) = crate::tracer::current() else {
            return false;
        };
        if self.pending.len() >= MAX_PENDING || self.pending.contains_key(key) {
            return false;
        }
        let method = request.method().to_owned();
        // `initialize`, or from 2026-07-28 `server/discover`: the client's start.
        let first = matches!(
            request,
            ClientRequest::InitializeRequest(_) | ClientRequest::DiscoverRequest(_)
        );
        if first && self.options.session_span && self.session.is_none() {
            self.start_session(&tracer);
        }
        // Without `initialize`, each request names its version in `_meta`.
        if self.protocol.is_none()
            && let Some(version) = request
                .get_meta()
                .0
                .get(PROTOCOL_META_KEY)
                .and_then(|v| v.as_str())
        {
            self.protocol = Some(bounds::bounded(version, bounds::MAX_NAME_BYTES).into_owned());
        }
        let parent = self.parent(request);
        let start = SystemTime::now();
        let limit = bounds::limit_for(bounds::MAX_NAME_BYTES);
        let mut attrs = Vec::with_capacity(24);
        attrs.push(KeyValue::new(
            keys::METHOD,
            bounds::bounded(&method, limit).into_owned(),
        ));
        bounds::push_bounded(&mut attrs, keys::REQUEST_ID, key, bounds::MAX_NAME_BYTES);
        self.connection_attributes(&mut attrs);
        let mut pending = Pending {
            cx: Context::new(),
            merged: false,
            start,
            method: method.clone(),
            tool: None,
            schema_valid: None,
            repeated: None,
        };
        let name = match request {
            ClientRequest::CallToolRequest(call) => {
                let params = &mut call.params;
                let tool = params.name.as_ref();
                let bounded = bounds::bounded(tool, limit).into_owned();
                attrs.push(KeyValue::new(keys::OPERATION, keys::EXECUTE_TOOL));
                attrs.push(KeyValue::new(keys::GEN_AI_TOOL, bounded.clone()));
                attrs.push(KeyValue::new(keys::MCP_TOOL, bounded.clone()));
                pending.schema_valid =
                    self.argument_signals(tool, &mut params.arguments, &mut attrs);
                let listed = self.tools.contains_key(tool);
                let counted = if listed {
                    bounded.clone()
                } else {
                    keys::OTHER.to_owned()
                };
                // A later round of a multi-round call (2026-07-28) is the same call.
                let continues = params.request_state.is_some();
                let alias = (!listed).then_some(bounded.as_str());
                pending.repeated = self.repeat_run(&counted, alias, continues, &mut attrs);
                pending.tool = Some(counted);
                format!("{method} {bounded}")
            }
            ClientRequest::GetPromptRequest(get) => {
                let bounded = bounds::bounded(&get.params.name, limit).into_owned();
                attrs.push(KeyValue::new(keys::GEN_AI_PROMPT, bounded.clone()));
                format!("{method} {bounded}")
            }
            ClientRequest::ReadResourceRequest(read) => {
                crate::call::uri_attributes(&read.params.uri, None, &mut attrs);
                method.clone()
            }
            _ => bounds::bounded(&method, limit).into_owned(),
        };
        match merged {
            // The agent framework's own span: the attributes go on it, its name stays.
            Some(outer) => {
                outer.span().set_attributes(attrs);
                pending.cx = outer;
                pending.merged = true;
            }
            None => {
                let mut builder = SpanBuilder::from_name(name)
                    .with_kind(SpanKind::Client)
                    .with_attributes(attrs);
                builder.start_time = Some(start);
                let span = tracer.build_with_context(builder, &parent);
                pending.cx = parent.with_span(span);
            }
        }
        inject(&pending.cx, request);
        self.pending.insert(key.to_owned(), pending);
        true
    }

    /// The session span, current when `initialize` is sent (the caller's own task
    /// sends it, so an agent's span around `serve` is its parent).
    fn start_session(&mut self, tracer: &opentelemetry::global::BoxedTracer) {
        let start = SystemTime::now();
        let mut attrs = Vec::with_capacity(8);
        self.connection_attributes(&mut attrs);
        let mut builder = SpanBuilder::from_name(SESSION_SPAN)
            .with_kind(SpanKind::Internal)
            .with_attributes(attrs);
        builder.start_time = Some(start);
        let parent = Context::current();
        let span = tracer.build_with_context(builder, &parent);
        self.session = Some(Session {
            cx: parent.with_span(span),
            start,
        });
    }

    /// The request's parent: the context its `_meta` names (set by the caller from its
    /// own span), else the session span, else whatever is current (rmcp sends from its
    /// own task: usually nothing).
    fn parent(&self, request: &ClientRequest) -> Context {
        let extractor = MetaExtractor {
            envelope: request.get_meta(),
            params: params_meta(request),
        };
        let from_meta = TraceContextPropagator::new().extract(&extractor);
        if from_meta.span().span_context().is_valid() {
            return from_meta;
        }
        match &self.session {
            Some(session) => session.cx.clone(),
            None => Context::current(),
        }
    }

    /// `network.transport`, `network.protocol.*`, `server.address` / `.port`, and the
    /// negotiated protocol version once known.
    fn connection_attributes(&self, attrs: &mut Vec<KeyValue>) {
        let o = &self.options;
        attrs.push(KeyValue::new(keys::TRANSPORT, o.transport()));
        if let Some((address, port)) = &o.server {
            attrs.push(KeyValue::new(keys::NETWORK_PROTOCOL, "http"));
            attrs.push(KeyValue::new(keys::SERVER_ADDRESS, address.clone()));
            attrs.push(KeyValue::new(keys::SERVER_PORT, i64::from(*port)));
        }
        if let Some(version) = &self.protocol {
            bounds::push_bounded(attrs, keys::PROTOCOL, version, bounds::MAX_NAME_BYTES);
        }
    }

    /// Shapes, hash and verdict of a tool call's arguments, as the server records them
    /// (same recipe, same hash); the verdict against the schema the server advertised.
    fn argument_signals(
        &mut self,
        tool: &str,
        arguments: &mut Option<JsonObject>,
        attrs: &mut Vec<KeyValue>,
    ) -> Option<bool> {
        let compiled = self.compiled(tool);
        // No arguments are the empty object, as the server sees them (same hash).
        let empty = JsonObject::new();
        let map = arguments.as_ref().unwrap_or(&empty);
        #[cfg(feature = "args-shape")]
        {
            use crate::signals::shape::{ArgsRecorder, KeySource, Rebuild};
            let fields = crate::call::field_info(compiled.as_deref());
            crate::signals::shape::shape_fields(
                &mut ArgsRecorder::new(attrs, Rebuild::Nothing),
                map,
                &fields,
                KeySource::Client,
                |_| false,
            );
        }
        #[cfg(feature = "args-hash")]
        attrs.push(KeyValue::new(
            keys::ARGS_HASH,
            crate::signals::hash::configured_hash_object(map),
        ));
        #[cfg(feature = "schema-check")]
        if let Some(compiled) = compiled {
            // The validator takes a `Value`: the arguments are lent as one and put
            // back, never copied (they may be large).
            let had = arguments.is_some();
            let value = serde_json::Value::Object(arguments.take().unwrap_or_default());
            // The schema is the server's: a validator that panics on it costs the
            // verdict, not the client's loop.
            let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut verdict = Vec::new();
                compiled.check(&value, false, &[], &mut verdict);
                verdict
            }));
            if let (true, serde_json::Value::Object(map)) = (had, value) {
                *arguments = Some(map);
            }
            attrs.extend(checked.unwrap_or_default());
            return bool_attribute(attrs, keys::SCHEMA_VALID);
        }
        let _ = (compiled, map, attrs);
        None
    }

    /// The call's place in the run of identical calls of `tool` (listed, else
    /// `_OTHER`, told apart by `alias`, the name called) on this connection, from the
    /// hash among `attrs`, pushed as `mcp.tool.call.repeat_run`; whether it repeats the
    /// tool's previous call. `continues`: a later round of a multi-round call.
    fn repeat_run(
        &mut self,
        tool: &str,
        alias: Option<&str>,
        continues: bool,
        attrs: &mut Vec<KeyValue>,
    ) -> Option<bool> {
        #[cfg(feature = "args-hash")]
        {
            use crate::signals::repeats::{Call, Run};
            let hash = crate::call::string_attribute(attrs, keys::ARGS_HASH)?;
            let call = Call { hash, alias };
            let run = match self.runs.get_mut(tool) {
                Some(last) => {
                    *last = Run::after(Some(*last), call, continues);
                    *last
                }
                None => {
                    let run = Run::after(None, call, continues);
                    self.runs.insert(tool.to_owned(), run);
                    run
                }
            };
            attrs.push(KeyValue::new(keys::REPEAT_RUN, i64::from(run.length())));
            Some(run.length() >= 2)
        }
        #[cfg(not(feature = "args-hash"))]
        {
            let _ = (tool, alias, continues, attrs);
            None
        }
    }

    /// The compiled advertised schema of `tool`, compiled once.
    fn compiled(&mut self, tool: &str) -> Option<Arc<Compiled>> {
        let advertised = self.tools.get_mut(tool)?;
        #[cfg(feature = "schema-check")]
        {
            let schema = &advertised.schema;
            advertised
                .compiled
                .get_or_insert_with(|| {
                    let document = serde_json::Value::Object(schema.as_ref().clone());
                    std::panic::catch_unwind(|| Compiled::new(&document).map(Arc::new))
                        .ok()
                        .flatten()
                })
                .clone()
        }
        #[cfg(not(feature = "schema-check"))]
        {
            let _ = advertised;
            None
        }
    }

    /// A request answered with a result.
    fn answered(&mut self, pending: Pending, result: &ServerResult) {
        let mut attrs = Vec::new();
        let mut error_type = None;
        match result {
            ServerResult::CallToolResult(call) if call.is_error == Some(true) => {
                error_type = Some("tool_error".to_owned());
            }
            ServerResult::InitializeResult(init) => {
                let version = init.protocol_version.as_str().to_owned();
                bounds::push_bounded(&mut attrs, keys::PROTOCOL, &version, bounds::MAX_NAME_BYTES);
                let info = &init.server_info;
                let mut server = Vec::with_capacity(4);
                bounds::push_bounded(
                    &mut server,
                    keys::SERVER_NAME,
                    &info.name,
                    bounds::MAX_NAME_BYTES,
                );
                bounds::push_bounded(
                    &mut server,
                    keys::SERVER_VERSION,
                    &info.version,
                    bounds::MAX_NAME_BYTES,
                );
                if let Some(title) = &info.title {
                    bounds::push_bounded(
                        &mut server,
                        keys::SERVER_TITLE,
                        title,
                        bounds::MAX_NAME_BYTES,
                    );
                }
                if let Some(session) = &self.session {
                    let span = session.cx.span();
                    span.set_attributes(server.iter().cloned());
                    span.set_attribute(KeyValue::new(
                        keys::PROTOCOL,
                        bounds::bounded(&version, bounds::MAX_NAME_BYTES).into_owned(),
                    ));
                }
                attrs.extend(server);
                self.protocol = Some(version);
            }
            ServerResult::ListToolsResult(list) => {
                for tool in &list.tools {
                    let name = tool.name.as_ref();
                    // A schema over the schema check's budget is not kept: checking
                    // against it would cost the agent more than its call.
                    if crate::bounds::object_exceeds(
                        &tool.input_schema,
                        crate::settings::get().schema_check_max_bytes,
                    ) || name.len() > bounds::MAX_NAME_BYTES
                    {
                        continue;
                    }
                    let changed = self
                        .tools
                        .get(name)
                        .is_none_or(|known| known.schema != tool.input_schema);
                    if changed && (self.tools.len() < MAX_TOOLS || self.tools.contains_key(name)) {
                        self.tools.insert(
                            name.to_owned(),
                            Advertised {
                                schema: tool.input_schema.clone(),
                                compiled: None,
                            },
                        );
                    }
                }
            }
            _ => {}
        }
        self.done.push(Finish::Request {
            base: self.metric_base(),
            pending,
            error_type,
            rpc_code: None,
            attrs,
        });
    }

    /// Ends the span of request `key`, which got no answer.
    fn end_unanswered(&mut self, key: &str, error_type: &'static str, cancelled: bool) {
        if let Some(pending) = self.pending.remove(key) {
            let mut attrs = Vec::new();
            if cancelled {
                attrs.push(KeyValue::new(keys::CANCELLED, true));
            }
            self.done.push(Finish::Request {
                base: self.metric_base(),
                pending,
                error_type: Some(error_type.to_owned()),
                rpc_code: None,
                attrs,
            });
        }
    }

    /// What every client metric carries: transport, server, protocol version.
    fn metric_base(&self) -> MetricBase {
        MetricBase {
            transport: self.options.transport(),
            server: self.options.server.clone(),
            protocol: self.protocol.clone(),
        }
    }
}

/// Writes the span's context into the request's `_meta`, over any `traceparent` and
/// `tracestate` there; other `_meta` keys stay.
fn inject(cx: &Context, request: &mut ClientRequest) {
    if let Some(context) = crate::observe::outbound::meta_context(cx) {
        crate::rmcp::support::write_trace_context(request.get_meta_mut(), context);
    }
}

/// Ends a request's span, with its outcome, and records it on the metric.
fn end(
    base: MetricBase,
    pending: Pending,
    error_type: Option<String>,
    rpc_code: Option<i64>,
    mut attrs: Vec<KeyValue>,
) {
    let now = SystemTime::now();
    let span = pending.cx.span();
    if let Some(code) = rpc_code {
        attrs.push(KeyValue::new(keys::RPC_STATUS, code.to_string()));
    }
    if let Some(error_type) = &error_type {
        attrs.push(KeyValue::new(keys::ERROR_TYPE, error_type.clone()));
    }
    if !attrs.is_empty() {
        span.set_attributes(attrs);
    }
    if let Some(error_type) = &error_type {
        // The server's message is its own text (it may quote arguments): the
        // standard text of the code, else the error type.
        let description = rpc_code
            .and_then(jsonrpc::standard_text)
            .map_or_else(|| error_type.clone(), str::to_owned);
        span.set_status(Status::error(description));
    }
    if !pending.merged {
        span.end_with_timestamp(now);
    }
    #[cfg(feature = "metrics")]
    crate::observe::client_metrics::operation(
        &base,
        &pending.method,
        pending.tool.as_deref(),
        pending.schema_valid,
        pending.repeated,
        error_type.as_deref(),
        rpc_code,
        pending.start,
        now,
    );
    #[cfg(not(feature = "metrics"))]
    let _ = (base, pending.start);
}

#[cfg(feature = "schema-check")]
fn bool_attribute(attrs: &[KeyValue], key: &str) -> Option<bool> {
    attrs.iter().rev().find_map(|kv| match &kv.value {
        opentelemetry::Value::Bool(b) if kv.key.as_str() == key => Some(*b),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::id_key;
    use rmcp::model::NumberOrString;

    #[test]
    fn answer_ids_match_as_rmcp_matches_them() {
        let number = id_key(&NumberOrString::Number(5));
        for text in ["5", "05", "+5"] {
            assert_eq!(
                id_key(&NumberOrString::String(text.into())),
                number,
                "{text}"
            );
        }
        assert_eq!(id_key(&NumberOrString::String("req-5".into())), "req-5");
    }
}
