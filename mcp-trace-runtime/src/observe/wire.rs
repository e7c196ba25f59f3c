//! The observer fed whole JSON-RPC messages as they crossed the wire, both ways: for a
//! caller that relays bytes rather than serving them (`mcp-trace proxy`), or that
//! speaks JSON-RPC with code of its own. It reads each message once, never changes or
//! keeps it, and records what the rmcp adapter records for a server of ours, by the
//! same rules: one span per request the client sends, ended by the server's answer
//! (its outcome: the JSON-RPC code, `isError`, a multi-round answer); one per
//! notification; a `tools/call`'s argument shapes, hash and verdict against the input
//! schema the server advertised in its latest `tools/list` answer.

use super::Connection;
use super::in_flight::MAX_IN_FLIGHT;
use super::{InFlightGuard, RequestKey, rounds};
use crate::call::{Call, Compiled, adapter};
use crate::handler::outcome::{Outcome, ResultSize};
use crate::keys;
use crate::scope::{ActiveScope, RequestScope, Transport};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// Who sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The client (the host, the agent): its requests are what the spans are of.
    Client,
    /// The server: its answers end those spans.
    Server,
}

/// Most tools remembered from `tools/list` answers (their schemas and definitions).
const MAX_TOOLS: usize = 4096;

const PROMPTS_GET: &str = "prompts/get";

/// The `_meta` key that carries a request's protocol version (MCP 2026-07-28, where
/// there is no `initialize` to negotiate one).
const META_PROTOCOL: &str = "io.modelcontextprotocol/protocolVersion";

/// Observes one MCP conversation from its JSON-RPC messages: the messages in, spans and
/// metrics out. Sans-IO: it reads no stream and owns no transport; the caller hands it
/// every message, from either side, before passing the message on (so that an answer
/// never arrives before the request it answers was seen).
///
/// ```no_run
/// use mcp_trace_runtime::wire::{Observer, Sender};
/// # fn relay(line: &[u8]) {}
/// let observer = Observer::stdio();
/// let line = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
/// observer.observe(Sender::Client, line, std::time::SystemTime::now());
/// relay(line);
/// ```
#[derive(Debug)]
pub struct Observer {
    connection: Arc<Connection>,
    /// The session the spans carry (digested as everywhere): on stdio, the process's.
    session: String,
    transport: Transport,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The protocol version `initialize` negotiated.
    protocol: Option<String>,
    /// `serverInfo.name` from the `initialize` answer.
    server_name: Option<String>,
    pending: HashMap<RequestKey, Pending>,
    /// The tools of the server's latest `tools/list` answers, by name.
    tools: HashMap<String, Advertised>,
}

/// A tool as the server advertised it.
#[derive(Debug)]
struct Advertised {
    /// Its `inputSchema`, compiled on the first call that needs it.
    #[cfg(feature = "schema-check")]
    schema: Value,
    #[cfg(feature = "schema-check")]
    compiled: Option<Option<Arc<Compiled>>>,
    #[cfg(feature = "args-hash")]
    definition: Arc<crate::scope::Definition>,
}

/// A request the client sent, awaiting the server's answer.
#[derive(Debug)]
struct Pending {
    kind: Kind,
    method: &'static str,
    scope: Arc<ActiveScope>,
    _in_flight: Option<InFlightGuard>,
    start: SystemTime,
}

#[derive(Debug)]
enum Kind {
    /// `tools/call`: the tool, and whether the server advertised it.
    Tool { name: String, advertised: bool },
    /// `resources/read` of `uri`.
    Resource { uri: String },
    /// Any other request, its span started; `target` as the span names it.
    Other {
        call: Call,
        target: Option<(&'static str, String)>,
        /// `tools/list`: whether it asked for the first page.
        first_page: bool,
    },
}

/// The members of a message the observer reads; the rest is skipped unread.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

/// What the observer reads of a request's parameters, whatever the method.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Params<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uri: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
    #[serde(default)]
    cursor: Option<IgnoredAny>,
    #[serde(borrow, default)]
    request_state: Option<Cow<'a, str>>,
    #[serde(rename = "_meta", default)]
    meta: Option<Map<String, Value>>,
}

/// What the observer reads of an answer's result.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Answer<'a> {
    #[serde(default)]
    is_error: Option<bool>,
    #[serde(borrow, default)]
    result_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    request_state: Option<Cow<'a, str>>,
    /// A tool result's content blocks, counted.
    #[serde(default)]
    content: Option<Vec<IgnoredAny>>,
    /// A resource's contents.
    #[serde(borrow, default)]
    contents: Option<Vec<Contents<'a>>>,
    #[serde(borrow, default)]
    protocol_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    server_info: Option<ServerInfo<'a>>,
    #[serde(borrow, default)]
    tools: Option<&'a RawValue>,
    #[serde(default)]
    next_cursor: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Contents<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    blob: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ServerInfo<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

/// What the observer reads of an answer's error.
#[derive(Deserialize)]
struct ErrorObject<'a> {
    #[serde(default)]
    code: Option<i64>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

/// A JSON-RPC id: a number or a string (any other is no id a request can have).
#[derive(Deserialize)]
#[serde(untagged)]
enum Id<'a> {
    Number(i64),
    String(#[serde(borrow)] Cow<'a, str>),
}

impl Observer {
    /// An observer of a conversation over stdio: one session, the process's.
    pub fn stdio() -> Self {
        Self {
            connection: Arc::default(),
            session: super::listed::process_session_id(),
            transport: Transport::Pipe,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `serverInfo.name` of the server, once it has answered `initialize` (bounded).
    pub fn server_name(&self) -> Option<String> {
        self.state().server_name.clone()
    }

    /// Observes one message (or batch) `message`, sent by `from`, read at `at`. Not
    /// JSON from the client: a parse error's span, as a server records one. Never
    /// fails: what it cannot read, it leaves.
    pub fn observe(&self, from: Sender, message: &[u8], at: SystemTime) {
        if !crate::tracer::live() {
            return;
        }
        let message = message.trim_ascii();
        if message.is_empty() {
            return;
        }
        if message[0] == b'[' {
            match serde_json::from_slice::<Vec<&RawValue>>(message) {
                Ok(batch) => {
                    for one in batch {
                        self.one(from, one.get().as_bytes(), at);
                    }
                }
                Err(_) => self.unreadable(from, message.len()),
            }
            return;
        }
        self.one(from, message, at);
    }

    fn unreadable(&self, from: Sender, size: usize) {
        if from == Sender::Client {
            adapter::parse_error_span(u64::try_from(size).unwrap_or(u64::MAX));
        }
    }

    fn one(&self, from: Sender, message: &[u8], at: SystemTime) {
        let Ok(envelope) = serde_json::from_slice::<Envelope<'_>>(message) else {
            return self.unreadable(from, message.len());
        };
        let id = envelope
            .id
            .and_then(|id| serde_json::from_str::<Id<'_>>(id.get()).ok());
        match (from, envelope.method, id) {
            (Sender::Client, Some(method), Some(id)) => {
                self.request(&method, &id, envelope.params, at)
            }
            (Sender::Client, Some(method), None) if envelope.id.is_none() => {
                self.notification(&method, envelope.params)
            }
            (Sender::Server, None, Some(id)) => {
                self.answered(&id, envelope.result, envelope.error, at)
            }
            // The server's own requests and notifications, and the client's answers
            // to them, are not observed here yet.
            _ => {}
        }
    }

    fn key(&self, id: &Id<'_>) -> RequestKey {
        match id {
            Id::Number(n) => self.connection.in_flight.number(*n),
            Id::String(s) => self.connection.in_flight.string(s),
        }
    }

    fn notification(&self, method: &str, params: Option<&RawValue>) {
        let params = params.and_then(|p| serde_json::from_str::<Map<String, Value>>(p.get()).ok());
        let protocol = self.state().protocol.clone();
        self.connection.notification_received(
            method,
            params.as_ref(),
            Some(&self.session),
            protocol.as_deref(),
            self.transport,
        );
    }

    fn request(&self, method: &str, id: &Id<'_>, params: Option<&RawValue>, at: SystemTime) {
        let params: Params<'_> = params
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or_default();
        let key = self.key(id);
        let mut state = self.state();
        if state.pending.len() >= MAX_IN_FLIGHT && !state.pending.contains_key(&key) {
            return;
        }
        let protocol = params
            .meta
            .as_ref()
            .and_then(|meta| meta.get(META_PROTOCOL))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| state.protocol.clone());
        let mut scope = RequestScope::new()
            .session_id(self.session.clone())
            .transport(self.transport);
        scope = match id {
            Id::Number(n) => scope.request_id(n),
            Id::String(s) => scope.request_id(s),
        };
        if let Some(meta) = &params.meta {
            scope = scope.meta_object(meta);
        }
        if let Some(protocol) = protocol {
            scope = scope.protocol_version(protocol);
        }
        let (scope, kind) = match method {
            keys::TOOLS_CALL => {
                let name = params.name.as_deref().unwrap_or_default().to_owned();
                let (scope, advertised) = self.tool_scope(&state, scope, &name, params.arguments);
                let active = scope.activate();
                // The span waits for the result's size.
                active.held_end.want();
                super::defer_tool(&active, name.clone(), at, advertised);
                (active, Kind::Tool { name, advertised })
            }
            keys::RESOURCES_READ => {
                let uri = params.uri.as_deref().unwrap_or_default().to_owned();
                (scope.activate(), Kind::Resource { uri })
            }
            _ => {
                let active = scope.activate();
                let target = match (method, &params.name) {
                    (PROMPTS_GET, Some(name)) => Some((keys::GEN_AI_PROMPT, name.to_string())),
                    _ => None,
                };
                let call = adapter::request_span(
                    method,
                    target.as_ref().map(|(key, name)| (*key, name.as_str())),
                    active.clone(),
                );
                let first_page = params.cursor.is_none();
                let kind = Kind::Other {
                    call,
                    target,
                    first_page,
                };
                (active, kind)
            }
        };
        if matches!(
            method,
            keys::TOOLS_CALL | keys::RESOURCES_READ | PROMPTS_GET
        ) {
            rounds::arrive(&scope, method, params.request_state.as_deref(), at);
        }
        let progress = params
            .meta
            .as_ref()
            .and_then(|meta| meta.get("progressToken"))
            .and_then(|token| match token {
                Value::Number(n) => n.as_i64().map(|n| self.connection.in_flight.number(n)),
                Value::String(s) => Some(self.connection.in_flight.string(s)),
                _ => None,
            });
        let in_flight = self.connection.enter(key, progress, &scope);
        let method = super::methods::known_method(method);
        let pending = Pending {
            kind,
            method,
            scope,
            _in_flight: in_flight,
            start: at,
        };
        // A reused id: the request it replaces is left unanswered (cancelled).
        drop(state.pending.insert(key, pending));
    }

    /// The scope of a `tools/call` of `name`: its arguments (not copied past the
    /// schema-check budget) and what the server advertised of the tool.
    fn tool_scope(
        &self,
        state: &State,
        scope: RequestScope,
        name: &str,
        arguments: Option<&RawValue>,
    ) -> (RequestScope, bool) {
        let advertised = state.tools.get(name);
        #[cfg(feature = "args-hash")]
        let scope = match advertised {
            Some(tool) => scope.tool_definition(tool.definition.clone()),
            None => scope,
        };
        let known = advertised.is_some();
        let budget = crate::settings::get().schema_check_max_bytes;
        let scope = match arguments {
            None => scope.arguments(Value::Object(Map::new())),
            Some(raw) if raw.get().len() > budget => scope.oversized_arguments(None),
            Some(raw) => match serde_json::from_str::<Value>(raw.get()) {
                Ok(value) => scope.arguments(value),
                Err(_) => scope.oversized_arguments(None),
            },
        };
        (scope, known)
    }

    fn answered(
        &self,
        id: &Id<'_>,
        result: Option<&RawValue>,
        error: Option<&RawValue>,
        at: SystemTime,
    ) {
        let key = self.key(id);
        let Some(pending) = self.state().pending.remove(&key) else {
            return;
        };
        let error: Option<ErrorObject<'_>> = error.and_then(|e| serde_json::from_str(e.get()).ok());
        let answer: Answer<'_> = result
            .and_then(|r| serde_json::from_str(r.get()).ok())
            .unwrap_or_default();
        let asked = answer.result_type.as_deref() == Some("input_required");
        let outcome = match (&error, pending.method) {
            (Some(error), _) => match error.code {
                Some(code) => Outcome::rpc_error(code),
                None => Outcome::Error {
                    error_type: Cow::Borrowed(keys::OTHER),
                    rpc_code: None,
                },
            },
            _ if asked => Outcome::InputRequired,
            (None, keys::TOOLS_CALL) if answer.is_error == Some(true) => Outcome::ToolError,
            (None, keys::TOOLS_CALL) => Outcome::Ok(
                answer
                    .content
                    .as_ref()
                    .map(|content| ResultSize::Count(content.len())),
            ),
            (None, keys::RESOURCES_READ) => Outcome::Ok(answer.contents.as_ref().map(|c| {
                ResultSize::Length(
                    c.iter()
                        .map(|c| match (&c.text, &c.blob) {
                            (Some(text), _) => text.chars().count(),
                            (None, Some(blob)) => blob.len(),
                            (None, None) => 0,
                        })
                        .sum(),
                )
            })),
            (None, _) => Outcome::Ok(None),
        };
        let Pending {
            kind,
            method,
            scope,
            start,
            ..
        } = pending;
        let state_of_round = answer.request_state.as_deref().filter(|_| asked);
        match kind {
            Kind::Tool { name, advertised } => {
                let refused = error.as_ref().is_some_and(|e| {
                    e.code == Some(-32601)
                        || (e.code == Some(-32602)
                            && e.message.as_deref() == Some("tool not found"))
                });
                let compiled = self.schema_for(&name);
                let known = advertised
                    || compiled.is_some()
                    || (!refused && super::listed::answered_name(&name));
                let undeferred = super::take_deferred(&scope);
                match undeferred.started {
                    Some(call) => adapter::tool_span_finish(
                        call,
                        scope.clone(),
                        &name,
                        undeferred.known,
                        known,
                        compiled.as_deref(),
                        outcome,
                        at,
                    ),
                    None => adapter::tool_span(
                        &name,
                        known,
                        scope.clone(),
                        compiled.as_deref(),
                        outcome,
                        start,
                        at,
                    ),
                }
                rounds::answered(&scope, method, state_of_round);
                // Measured as the client receives it: the result's own bytes.
                let measured = result.filter(|_| error.is_none() && !asked);
                super::context_cost::result_measured(&scope, measured);
            }
            Kind::Resource { uri } => {
                adapter::resource_span(&uri, scope.clone(), outcome, start, at);
                rounds::answered(&scope, method, state_of_round);
            }
            Kind::Other {
                mut call,
                target,
                first_page,
            } => {
                let refused = error.as_ref().is_some_and(|e| {
                    e.code == Some(-32601) || (target.is_some() && e.code == Some(-32602))
                });
                super::listed::name_after_answer(
                    &mut call,
                    method,
                    target.as_ref().map(|(k, n)| (*k, n.as_str())),
                    refused,
                );
                if error.is_none() {
                    match method {
                        "initialize" => self.initialized(&answer),
                        "tools/list" => self.tools_listed(
                            &answer,
                            first_page && answer.next_cursor.is_none(),
                            &call,
                        ),
                        _ => {}
                    }
                }
                if method == PROMPTS_GET {
                    rounds::answered(&scope, method, state_of_round);
                }
                call.finish_at(|| outcome, Some(at));
            }
        }
    }

    fn initialized(&self, answer: &Answer<'_>) {
        let mut state = self.state();
        if let Some(version) = &answer.protocol_version {
            let limit = crate::bounds::limit_for(crate::bounds::MAX_NAME_BYTES);
            state.protocol = Some(crate::bounds::bounded(version, limit).into_owned());
        }
        if let Some(name) = answer.server_info.as_ref().and_then(|i| i.name.as_deref()) {
            let limit = crate::bounds::limit_for(crate::bounds::MAX_NAME_BYTES);
            state.server_name = Some(crate::bounds::bounded(name, limit).into_owned());
        }
    }

    /// A `tools/list` answer: its span's attributes, and each tool remembered for the
    /// calls to come (a changed definition replaces the old one).
    fn tools_listed(&self, answer: &Answer<'_>, complete: bool, call: &Call) {
        let Some(tools) = answer
            .tools
            .and_then(|t| serde_json::from_str::<Vec<Value>>(t.get()).ok())
        else {
            return;
        };
        #[cfg_attr(not(feature = "args-hash"), allow(clippy::let_unit_value))]
        let _served = super::listed::tools_listed(&tools, complete, call);
        let mut state = self.state();
        for tool in tools {
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                continue;
            };
            if state.tools.len() >= MAX_TOOLS && !state.tools.contains_key(name) {
                continue;
            }
            let advertised = Advertised {
                #[cfg(feature = "args-hash")]
                definition: Arc::new(crate::scope::Definition {
                    hash: crate::signals::definitions::definition_hash(&tool).into(),
                    size: crate::bounds::json_size(&tool, usize::MAX),
                }),
                #[cfg(feature = "schema-check")]
                schema: tool.get("inputSchema").cloned().unwrap_or(Value::Null),
                #[cfg(feature = "schema-check")]
                compiled: None,
            };
            state.tools.insert(name.to_owned(), advertised);
        }
    }

    /// The input schema the server advertised for `tool`, compiled once.
    #[cfg(feature = "schema-check")]
    fn schema_for(&self, tool: &str) -> Option<Arc<Compiled>> {
        let mut state = self.state();
        let advertised = state.tools.get_mut(tool)?;
        if let Some(compiled) = &advertised.compiled {
            return compiled.clone();
        }
        let compiled = Compiled::new(&advertised.schema).map(Arc::new);
        advertised.compiled = Some(compiled.clone());
        compiled
    }

    #[cfg(not(feature = "schema-check"))]
    fn schema_for(&self, _tool: &str) -> Option<Arc<Compiled>> {
        None
    }

    /// The conversation is over (either side hung up): every request still awaiting
    /// its answer ends as `transport_closed`.
    pub fn closed(&self) {
        let pending: Vec<Pending> = self.state().pending.drain().map(|(_, p)| p).collect();
        let at = SystemTime::now();
        for pending in pending {
            let outcome = || Outcome::Error {
                error_type: Cow::Borrowed(super::outbound::CLOSED),
                rpc_code: None,
            };
            match pending.kind {
                Kind::Tool { name, advertised } => {
                    let undeferred = super::take_deferred(&pending.scope);
                    match undeferred.started {
                        Some(call) => adapter::tool_span_finish(
                            call,
                            pending.scope.clone(),
                            &name,
                            undeferred.known,
                            advertised,
                            None,
                            outcome(),
                            at,
                        ),
                        None => adapter::tool_span(
                            &name,
                            advertised,
                            pending.scope.clone(),
                            None,
                            outcome(),
                            pending.start,
                            at,
                        ),
                    }
                    super::context_cost::result_measured::<Value>(&pending.scope, None);
                }
                Kind::Resource { uri } => adapter::resource_span(
                    &uri,
                    pending.scope.clone(),
                    outcome(),
                    pending.start,
                    at,
                ),
                Kind::Other { call, .. } => call.finish_at(outcome, Some(at)),
            }
        }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.closed();
    }
}
