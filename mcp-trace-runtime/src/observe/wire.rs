//! The observer fed whole JSON-RPC messages as they crossed the wire, both ways: for a
//! caller that relays bytes rather than serving them (`mcp-trace proxy`), or that
//! speaks JSON-RPC with code of its own. It reads each message once, never changes or
//! keeps it, and records what the rmcp adapter records for a server of ours, by the
//! same rules: one span per request the client sends, ended by the server's answer
//! (its outcome: the JSON-RPC code, `isError`, a multi-round answer); one per
//! notification; a `tools/call`'s argument shapes, hash and verdict against the input
//! schema the server advertised in its latest `tools/list` answer; the server's own
//! requests to the client as CLIENT spans, and its progress and log notifications as
//! events on the span of the request they are about.

use super::Connection;
use super::in_flight::MAX_IN_FLIGHT;
use super::notification::TokenKind;
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

/// What the HTTP request that carried a client's message says of it (streamable
/// HTTP): its W3C trace context, the parent of the spans of the requests in it that
/// carry none in `_meta` (which, as the conventions say, comes first), and the
/// address it came from (`client.address` and `client.port` on spans).
#[derive(Debug, Default, Clone, Copy)]
pub struct Http<'a> {
    /// The `traceparent` header.
    pub traceparent: Option<&'a str>,
    /// The `tracestate` header.
    pub tracestate: Option<&'a str>,
    /// The peer the request came from.
    pub client: Option<std::net::SocketAddr>,
}

/// Most tools remembered from `tools/list` answers (their schemas and definitions).
const MAX_TOOLS: usize = 4096;

/// Over HTTP, most of the server's requests awaiting the client's answers per session
/// (a server has a few at once: a question to the user, a sampling request); past it,
/// one gets no span. 4,096 sessions of them hold at most about 300 MiB.
const MAX_SENT_PER_SESSION: usize = 64;

/// Most bytes of a resource's URI a request in flight keeps (the span exports 2 KiB).
const MAX_KEPT_URI: usize = 8 << 10;

/// A client's name (a tool's, a prompt's) as a request in flight keeps it: cut at the
/// bound it is exported with.
fn name_kept(name: &str) -> String {
    crate::bounds::bounded(
        name,
        crate::bounds::limit_for(crate::bounds::MAX_NAME_BYTES),
    )
    .into_owned()
}

/// Most messages of one batch observed; the rest of it is relayed unobserved.
const MAX_BATCH: usize = 1024;

/// Most bytes of argument text the requests awaiting answers keep parsed, together:
/// past it, a call's arguments are not parsed (as past the schema-check budget).
const MAX_HELD_ARGUMENTS: usize = 32 << 20;

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
    /// The conversation's `mcp.server.session.duration`: from the observer's start, once
    /// the server has answered `initialize`, to [`Observer::closed`].
    #[cfg(feature = "metrics")]
    timer: SessionTimer,
    /// The session the spans carry (digested as everywhere): on stdio, the process's;
    /// over HTTP, the `Mcp-Session-Id` the server gave, once it has.
    session: std::sync::OnceLock<String>,
    transport: Transport,
    /// Over HTTP, `network.protocol.name` and `.version`.
    network: Option<(&'static str, &'static str)>,
    state: Mutex<State>,
    /// What the server advertised: shared by every conversation with it.
    catalog: Arc<Mutex<Catalog>>,
}

/// One conversation's own state.
#[derive(Debug, Default)]
struct State {
    /// The protocol version `initialize` negotiated.
    protocol: Option<String>,
    pending: HashMap<RequestKey, Pending>,
    /// Bytes of argument text the pending requests keep parsed.
    held: usize,
}

/// What a server said of itself, in whichever conversation it said it: the proxy of
/// a streamable-HTTP server sees many, and a tool listed in one is the same tool in
/// the next.
#[derive(Debug, Default)]
struct Catalog {
    /// `serverInfo.name` from the `initialize` answer.
    server_name: Option<String>,
    /// The tools of the server's latest `tools/list` answers, by name.
    tools: HashMap<String, Advertised>,
    /// Whether a complete tool list has been seen: then a tool is known only if listed.
    listed: bool,
    /// The tools of a paginated list so far, from its first page on.
    paging: Option<std::collections::HashSet<String>>,
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
    /// Bytes of argument text it keeps parsed.
    held: usize,
}

/// The session a conversation is, timed on `mcp.server.session.duration` as the rmcp
/// adapter times one: under a key of the observer's own, never a client's id.
#[cfg(feature = "metrics")]
#[derive(Debug)]
struct SessionTimer {
    key: crate::session_duration::Key,
    created: SystemTime,
    started: std::sync::atomic::AtomicBool,
}

/// How a request ended, when not by an answer.
#[derive(Debug, Clone)]
enum Unanswered {
    /// The client cancelled it, reused its id, or it was let go past the bound.
    Cancelled,
    /// The conversation (or the HTTP exchange that carried it) ended first: its
    /// `error.type`, `transport_closed` or the HTTP status the exchange ended with;
    /// `None` when the answer came but went by unread (too large to observe).
    Closed(Option<Cow<'static, str>>),
}

impl Unanswered {
    fn closed() -> Self {
        Unanswered::Closed(Some(Cow::Borrowed(super::outbound::CLOSED)))
    }
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
        /// `tasks/get`, `tasks/update`, `tasks/cancel`: the task it is about.
        task: Option<String>,
    },
}

/// The members of a message the observer reads; the rest is skipped unread.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    jsonrpc: Option<Cow<'a, str>>,
    /// `Some` whenever the member is there, `null` included.
    #[serde(borrow, default, deserialize_with = "present")]
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

/// The first `most` elements of the JSON array `json`, the rest skipped unread (a
/// batch or a list of a million costs no more than `most`); `None` if it is no array.
fn first_of<'a, T: Deserialize<'a>>(json: &'a [u8], most: usize) -> Option<Vec<T>> {
    struct First<T>(usize, std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for First<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut kept = Vec::new();
            while kept.len() < self.0 {
                match seq.next_element()? {
                    Some(element) => kept.push(element),
                    None => return Ok(kept),
                }
            }
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(kept)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    serde::Deserializer::deserialize_seq(&mut deserializer, First(most, std::marker::PhantomData))
        .ok()
}

/// The total length of a resource's contents (text in characters, a blob in bytes),
/// summed as they are read: none of them kept.
fn contents_length<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    struct Sum;
    impl<'de> serde::de::Visitor<'de> for Sum {
        type Value = Option<usize>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of contents")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Option<usize>, A::Error> {
            let mut total = 0usize;
            while let Some(one) = seq.next_element::<Contents<'de>>()? {
                total = total.saturating_add(match (&one.text, &one.blob) {
                    (Some(text), _) => text.chars().count(),
                    (None, Some(blob)) => blob.len(),
                    (None, None) => 0,
                });
            }
            Ok(Some(total))
        }
        fn visit_unit<E>(self) -> Result<Option<usize>, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Sum)
}

/// A member's raw JSON whenever it is there (`null` too, which `Option` would read as
/// absent).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// `raw` read as `T` if it is a JSON object (a derived struct would also take an array
/// by position); else `None`.
fn object<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>) -> Option<T> {
    let raw = raw?;
    if !raw.get().trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
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
    #[serde(borrow, default)]
    task_id: Option<Cow<'a, str>>,
    #[serde(rename = "_meta", default)]
    meta: Option<Map<String, Value>>,
}

/// A task as the server reports it (the tasks extension): in the result that created
/// it, a `tasks/get` answer, a `notifications/tasks`. Its result and error are read for
/// `isError` and the code alone.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskSeen<'a> {
    #[serde(borrow)]
    task_id: Cow<'a, str>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(default)]
    ttl_ms: Option<u64>,
    #[serde(default)]
    result: Option<TaskOutcome>,
    #[serde(default)]
    error: Option<TaskOutcome>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskOutcome {
    #[serde(default)]
    is_error: Option<bool>,
    #[serde(default)]
    code: Option<i64>,
}

impl TaskSeen<'_> {
    fn status(&self) -> super::tasks::Status {
        use super::tasks::Status;
        match self.status.as_deref() {
            Some("completed") => Status::Completed {
                tool_error: self.result.as_ref().and_then(|r| r.is_error) == Some(true),
            },
            Some("failed") => Status::Failed {
                code: self.error.as_ref().and_then(|e| e.code),
            },
            Some("cancelled") => Status::Cancelled,
            Some("input_required") => Status::InputRequired,
            _ => Status::Working,
        }
    }
}

/// Most bytes of a task id a request about it keeps (the ids are the server's).
const MAX_TASK_ID: usize = 1024;

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
    /// A resource's contents, their length summed.
    #[serde(default, deserialize_with = "contents_length")]
    contents: Option<usize>,
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

/// A JSON-RPC id: an integer, a string, or another number (`1.5`, `1e3`, past
/// `i64`), kept as its text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id<'a> {
    Number(i64),
    String(#[serde(borrow)] Cow<'a, str>),
    Other(serde_json::Number),
}

impl Observer {
    /// An observer of a conversation over stdio: one session, the process's.
    pub fn stdio() -> Self {
        let observer = Self::conversation(Transport::Pipe, None, Arc::default());
        let _ = observer.session.set(super::listed::process_session_id());
        observer
    }

    /// An observer of one conversation over streamable HTTP (HTTP/1.1): no session
    /// until [`Observer::in_session`] gives it the one the server assigned. Further
    /// conversations with the same server come from [`Observer::same_server`].
    ///
    /// ```no_run
    /// use mcp_trace_runtime::wire::{Observer, Sender};
    /// let first = Observer::http();
    /// // The server answered `initialize` with `Mcp-Session-Id: 3f2a…`:
    /// first.in_session("3f2a");
    /// // A host without a session (MCP 2026-07-28), with what `first` learnt of the
    /// // server's tools:
    /// let stateless = first.same_server();
    /// # let _ = stateless;
    /// ```
    pub fn http() -> Self {
        Self::conversation(Transport::Tcp, Some(("http", "1.1")), Arc::default())
    }

    /// An observer of another conversation with the server this one observes, over
    /// the same transport: the server's name and the tools it advertised (their
    /// schemas and definitions) are shared; its requests, session and session timer
    /// are its own.
    pub fn same_server(&self) -> Self {
        Self::conversation(self.transport, self.network, self.catalog.clone())
    }

    fn conversation(
        transport: Transport,
        network: Option<(&'static str, &'static str)>,
        catalog: Arc<Mutex<Catalog>>,
    ) -> Self {
        // Over HTTP, one observer per session, thousands of them: the server's own
        // requests awaiting the client's answers are bounded lower in each.
        let connection = Connection {
            sent_bound: (transport == Transport::Tcp).then_some(MAX_SENT_PER_SESSION),
            ..Connection::default()
        };
        Self {
            connection: Arc::new(connection),
            #[cfg(feature = "metrics")]
            timer: SessionTimer {
                key: crate::session_duration::Key::unique(),
                created: SystemTime::now(),
                started: std::sync::atomic::AtomicBool::new(false),
            },
            session: std::sync::OnceLock::new(),
            transport,
            network,
            state: Mutex::default(),
            catalog,
        }
    }

    /// The session this conversation is (over HTTP, the server's `Mcp-Session-Id`),
    /// carried by the spans from now on as `mcp.session.id`, digested as everywhere.
    /// The first one given stays.
    pub fn in_session(&self, id: &str) {
        let limit = crate::bounds::limit_for(crate::bounds::MAX_NAME_BYTES);
        let _ = self
            .session
            .set(crate::bounds::bounded(id, limit).into_owned());
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn catalog(&self) -> MutexGuard<'_, Catalog> {
        self.catalog.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// For a client observing its own conversation (`mcp-trace probe`): a request it
    /// sends, as one JSON-RPC message. Its CLIENT span starts now, the child of the
    /// current context, and ends with [`Observer::received`]'s answer to it (or
    /// [`Observer::gave_up`]), counted on `mcp.client.operation.duration`.
    /// Returns the W3C `traceparent` of that span, for the request's `_meta`, when one
    /// was started.
    pub fn sent(&self, message: &[u8]) -> Option<String> {
        #[derive(Deserialize)]
        struct Request<'a> {
            #[serde(borrow)]
            method: Cow<'a, str>,
            id: i64,
        }
        let request: Request<'_> = serde_json::from_slice(message).ok()?;
        if !crate::tracer::live() {
            return None;
        }
        let key = self.connection.in_flight.number(request.id);
        let serving = self.connection.in_flight.sole();
        self.connection
            .request_sent_in(key, &request.id.to_string(), &request.method, serving)
            .map(|meta| meta.traceparent)
    }

    /// For a client observing its own conversation: a message it received (the answer
    /// to a request it sent ends that request's span).
    pub fn received(&self, message: &[u8]) {
        self.observe(Sender::Client, message, SystemTime::now());
    }

    /// For a client observing its own conversation: it gave up on the answer to its
    /// request `id`, for `reason` (`timeout`, `transport_closed`, `invalid_json`, an
    /// HTTP status such as `503`, …: a fixed word of the caller's, never a peer's
    /// text); the span ends with it as `error.type`.
    pub fn gave_up(&self, id: i64, reason: &str) {
        let key = self.connection.in_flight.number(id);
        self.connection.request_abandoned(key, reason);
    }

    /// `serverInfo.name` of the server, once it has answered `initialize` (bounded).
    pub fn server_name(&self) -> Option<String> {
        self.catalog().server_name.clone()
    }

    /// Observes one message (or batch) `message`, sent by `from`, read at `at`. Not
    /// JSON from the client: a parse error's span, as a server records one. Never
    /// fails: what it cannot read, it leaves.
    pub fn observe(&self, from: Sender, message: &[u8], at: SystemTime) {
        self.observe_http(from, message, at, &Http::default());
    }

    /// [`Observer::observe`] for a message that came in an HTTP request (streamable
    /// HTTP), with what that request says of it.
    pub fn observe_http(&self, from: Sender, message: &[u8], at: SystemTime, http: &Http<'_>) {
        if !crate::tracer::live() {
            return;
        }
        let message = message.trim_ascii();
        if message.is_empty() {
            return;
        }
        if message[0] == b'[' {
            match first_of::<&RawValue>(message, MAX_BATCH) {
                Some(batch) => {
                    for one in batch {
                        self.one(from, one.get().as_bytes(), at, http);
                    }
                }
                None => self.unreadable(from, message.len()),
            }
            return;
        }
        self.one(from, message, at, http);
    }

    fn unreadable(&self, from: Sender, size: usize) {
        if from == Sender::Client {
            adapter::parse_error_span(u64::try_from(size).unwrap_or(u64::MAX), self.transport);
        }
    }

    fn one(&self, from: Sender, message: &[u8], at: SystemTime, http: &Http<'_>) {
        // A message is an object; anything else is no request a server would run.
        if message.first() != Some(&b'{') {
            return self.unreadable(from, message.len());
        }
        let Ok(envelope) = serde_json::from_slice::<Envelope<'_>>(message) else {
            return self.unreadable(from, message.len());
        };
        if envelope.jsonrpc.as_deref() != Some("2.0") {
            return;
        }
        let id = envelope
            .id
            .and_then(|id| serde_json::from_str::<Id<'_>>(id.get()).ok());
        match (from, envelope.method, id) {
            (Sender::Client, Some(method), Some(id)) => {
                self.request(&method, &id, envelope.params, at, http)
            }
            (Sender::Client, Some(method), None) if envelope.id.is_none() => {
                self.notification(&method, envelope.params, at)
            }
            (Sender::Server, None, Some(id)) => {
                self.answered(&id, envelope.result, envelope.error, at)
            }
            (Sender::Server, Some(method), Some(id)) => self.server_request(&method, &id),
            (Sender::Server, Some(method), None) if envelope.id.is_none() => {
                self.server_notification(&method, envelope.params)
            }
            (Sender::Client, None, Some(id)) => {
                self.client_answered(&id, envelope.result, envelope.error)
            }
            _ => {}
        }
    }

    /// The text of an id, for `jsonrpc.request.id`.
    fn id_text(id: &Id<'_>) -> String {
        let limit = crate::bounds::limit_for(crate::bounds::MAX_NAME_BYTES);
        match id {
            Id::Number(n) => n.to_string(),
            Id::String(s) => crate::bounds::bounded(s, limit).into_owned(),
            Id::Other(n) => n.to_string(),
        }
    }

    /// A request the server sends the client (`elicitation/create`, `sampling/…`,
    /// `roots/list`, `ping`): its CLIENT span, the child of the request being served
    /// when exactly one is (no message names it), ended by the client's answer.
    fn server_request(&self, method: &str, id: &Id<'_>) {
        let key = self.key(id);
        let serving = self.connection.in_flight.sole();
        let _ = self
            .connection
            .request_sent_in(key, &Self::id_text(id), method, serving);
    }

    /// The client answered the server's request `id`: for an elicitation, the user's
    /// action (a fixed set; never what the user wrote).
    fn client_answered(&self, id: &Id<'_>, result: Option<&RawValue>, error: Option<&RawValue>) {
        #[derive(Deserialize)]
        struct Elicited<'a> {
            #[serde(borrow, default)]
            action: Option<Cow<'a, str>>,
        }
        let answer = match error.and_then(|e| serde_json::from_str::<ErrorObject<'_>>(e.get()).ok())
        {
            Some(error) => super::outbound::Answer::Error {
                code: error.code.unwrap_or(-32603),
            },
            None => {
                let action = result
                    .and_then(|r| serde_json::from_str::<Elicited<'_>>(r.get()).ok())
                    .and_then(|e| e.action)
                    .map(|action| match &*action {
                        "accept" => "accept",
                        "decline" => "decline",
                        "cancel" => "cancel",
                        _ => keys::OTHER,
                    });
                super::outbound::Answer::Result { action }
            }
        };
        self.connection.answer_received(self.key(id), answer);
    }

    /// A notification the server sends: progress and log messages become events on
    /// the span of the request they are about (progress by its token; a log message
    /// when exactly one request is being served), never their text.
    fn server_notification(&self, method: &str, params: Option<&RawValue>) {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Sent<'a> {
            #[serde(default)]
            progress_token: Option<Value>,
            #[serde(default)]
            progress: Option<f64>,
            #[serde(default)]
            total: Option<f64>,
            #[serde(borrow, default)]
            level: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            logger: Option<Cow<'a, str>>,
            #[serde(default)]
            data: Option<Value>,
        }
        if method == "notifications/tasks" {
            // A task's status pushed to the client: a terminal one ends its span.
            if let Some(task) =
                params.and_then(|p| serde_json::from_str::<TaskSeen<'_>>(p.get()).ok())
                && task.task_id.len() <= MAX_TASK_ID
            {
                super::tasks::reported(&task.task_id, task.status());
            }
            return;
        }
        if !matches!(method, "notifications/progress" | "notifications/message") {
            return;
        }
        let Some(sent) = params.and_then(|p| serde_json::from_str::<Sent<'_>>(p.get()).ok()) else {
            return;
        };
        if method == "notifications/progress" {
            let in_flight = &self.connection.in_flight;
            let token = match &sent.progress_token {
                Some(Value::String(s)) => Some((in_flight.string(s), TokenKind::String)),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .map(|n| (in_flight.number(n), TokenKind::Integer)),
                _ => None,
            };
            if let (Some((token, kind)), Some(progress)) = (token, sent.progress) {
                let _ = self
                    .connection
                    .progress_sent(token, progress, sent.total, kind);
            }
            return;
        }
        let level = sent.level.as_deref().unwrap_or_default();
        let data = sent.data.unwrap_or(Value::Null);
        let _ = self
            .connection
            .log_sent(level, sent.logger.as_deref(), &data);
    }

    fn key(&self, id: &Id<'_>) -> RequestKey {
        let in_flight = &self.connection.in_flight;
        match id {
            Id::Number(n) => in_flight.number(*n),
            Id::String(s) => in_flight.string(s),
            // Set apart from string ids by a prefix no id text starts with.
            Id::Other(n) => in_flight.string(&format!("\u{0}{n}")),
        }
    }

    /// The key an answer's id may also stand for: many peers answer `"1"` for `1`
    /// (and the other way), so an answer that matches nothing tries it.
    fn other_key(&self, id: &Id<'_>) -> Option<RequestKey> {
        let in_flight = &self.connection.in_flight;
        match id {
            Id::Number(n) => Some(in_flight.string(&n.to_string())),
            Id::String(s) => s.parse::<i64>().ok().map(|n| in_flight.number(n)),
            Id::Other(_) => None,
        }
    }

    fn notification(&self, method: &str, params: Option<&RawValue>, at: SystemTime) {
        let params: Option<Map<String, Value>> = object(params);
        let protocol = self.state().protocol.clone();
        self.connection.notification_received(
            method,
            params.as_ref(),
            self.session.get().map(String::as_str),
            protocol.as_deref(),
            self.transport,
            Some(at),
        );
        // A cancelled request gets no answer: its span ends now, as cancelled.
        if method == "notifications/cancelled"
            && let Some(id) = params
                .as_ref()
                .and_then(|p| p.get("requestId"))
                .and_then(|id| Id::deserialize(id).ok())
        {
            let key = self.key(&id);
            let cancelled = self.take_pending(key);
            if let Some(pending) = cancelled {
                self.unanswered(pending, Unanswered::Cancelled, at);
            }
        }
    }

    /// Takes the request `key` out of those awaiting answers.
    fn take_pending(&self, key: RequestKey) -> Option<Pending> {
        let mut state = self.state();
        let pending = state.pending.remove(&key)?;
        state.held = state.held.saturating_sub(pending.held);
        Some(pending)
    }

    fn request(
        &self,
        method: &str,
        id: &Id<'_>,
        params: Option<&RawValue>,
        at: SystemTime,
        http: &Http<'_>,
    ) {
        let params: Params<'_> = object(params).unwrap_or_default();
        let key = self.key(id);
        // A reused id: the request it replaces gets no answer of its own.
        if let Some(replaced) = self.take_pending(key) {
            self.unanswered(replaced, Unanswered::Cancelled, at);
        }
        // Past the bound, the longest waiting is let go (as given up), so that requests
        // a server never answers cannot keep the ones to come from being traced.
        let oldest = {
            let state = self.state();
            (state.pending.len() >= MAX_IN_FLIGHT)
                .then(|| {
                    state
                        .pending
                        .iter()
                        .min_by_key(|(_, p)| p.start)
                        .map(|(k, _)| *k)
                })
                .flatten()
        };
        if let Some(pending) = oldest.and_then(|key| self.take_pending(key)) {
            self.unanswered(pending, Unanswered::Cancelled, at);
        }
        let mut state = self.state();
        let protocol = params
            .meta
            .as_ref()
            .and_then(|meta| meta.get(META_PROTOCOL))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| state.protocol.clone());
        let mut scope = RequestScope::new()
            .transport(self.transport)
            .request_id(Self::id_text(id));
        if let Some(session) = self.session.get() {
            scope = scope.session_id(session.clone());
        }
        if let Some((name, version)) = self.network {
            scope = scope.network_protocol(name, version);
        }
        if let Some(client) = http.client {
            scope = scope.client_address(client.ip(), Some(client.port()));
        }
        // The HTTP request's context, unless `_meta` carries one (read next, it wins).
        let header =
            |value: Option<&str>, most: usize| value.filter(|v| v.len() <= most).map(str::to_owned);
        if let Some(traceparent) = header(http.traceparent, 128) {
            scope = scope.traceparent(traceparent);
        }
        if let Some(tracestate) = header(http.tracestate, 64 << 10) {
            scope = scope.tracestate(tracestate);
        }
        if let Some(meta) = &params.meta {
            scope = scope.meta_object(meta);
        }
        if let Some(protocol) = protocol {
            scope = scope.protocol_version(protocol);
        }
        let known = super::methods::known_method(method);
        let multi_round = matches!(known, keys::TOOLS_CALL | keys::RESOURCES_READ | PROMPTS_GET);
        let state_of_round = params.request_state.as_deref();
        let mut held = 0;
        let (scope, kind) = match known {
            keys::TOOLS_CALL => {
                let name = params.name.as_deref().unwrap_or_default().to_owned();
                let (scope, advertised, bytes) =
                    Self::tool_scope(&self.catalog(), state.held, scope, &name, params.arguments);
                held = bytes;
                // Kept as exported: cut at its bound (looked up whole).
                let name = name_kept(&name);
                let active = scope.activate();
                rounds::arrive(&active, known, state_of_round, at);
                // The span waits for the result's size.
                active.held_end.want();
                super::defer_tool(&active, name.clone(), at, advertised);
                (active, Kind::Tool { name, advertised })
            }
            keys::RESOURCES_READ => {
                // The read tracker and the exported URI need no more than this.
                let uri = params.uri.as_deref().unwrap_or_default();
                let uri = crate::bounds::bounded(uri, MAX_KEPT_URI).into_owned();
                let active = scope.activate();
                rounds::arrive(&active, known, state_of_round, at);
                (active, Kind::Resource { uri })
            }
            _ => {
                let active = scope.activate();
                if multi_round {
                    rounds::arrive(&active, known, state_of_round, at);
                }
                let target = match (known, &params.name) {
                    (PROMPTS_GET, Some(name)) => Some((keys::GEN_AI_PROMPT, name_kept(name))),
                    _ => None,
                };
                let call = adapter::request_span_at(
                    method,
                    target.as_ref().map(|(key, name)| (*key, name.as_str())),
                    active.clone(),
                    Some(at),
                );
                let first_page = params.cursor.is_none();
                // A request about a task links to the task's span, when it is followed.
                let task = params
                    .task_id
                    .as_deref()
                    .filter(|_| known.starts_with("tasks/"))
                    .filter(|id| id.len() <= MAX_TASK_ID)
                    .map(str::to_owned);
                if let Some(task_id) = &task {
                    let followed = super::tasks::about(task_id);
                    call.add_attributes(vec![opentelemetry::KeyValue::new(
                        keys::TASK_KNOWN,
                        followed.is_some(),
                    )]);
                    if let Some(followed) = followed.filter(|t| t.is_valid()) {
                        call.add_link(followed);
                    }
                }
                let kind = Kind::Other {
                    call,
                    target,
                    first_page,
                    task,
                };
                (active, kind)
            }
        };
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
        state.held += held;
        let pending = Pending {
            kind,
            method: known,
            scope,
            _in_flight: in_flight,
            start: at,
            held,
        };
        let earlier = state.pending.insert(key, pending);
        if let Some(earlier) = &earlier {
            state.held = state.held.saturating_sub(earlier.held);
        }
        drop(state);
        // Two threads gave one id at once: the one replaced ends as the reused ids do.
        if let Some(earlier) = earlier {
            self.unanswered(earlier, Unanswered::Cancelled, at);
        }
    }

    /// The scope of a `tools/call` of `name`: its arguments (not parsed past the
    /// schema-check budget, nor past what the requests awaiting answers may keep) and
    /// what the server advertised of the tool; whether it did, and the argument bytes
    /// kept.
    fn tool_scope(
        catalog: &Catalog,
        held: usize,
        scope: RequestScope,
        name: &str,
        arguments: Option<&RawValue>,
    ) -> (RequestScope, bool, usize) {
        let advertised = catalog.tools.get(name);
        #[cfg(feature = "args-hash")]
        let scope = match advertised {
            Some(tool) => scope.tool_definition(tool.definition.clone()),
            None => scope,
        };
        let known = advertised.is_some();
        let budget = crate::settings::get().schema_check_max_bytes;
        match arguments {
            None => (scope.arguments(Value::Object(Map::new())), known, 0),
            Some(raw)
                if raw.get().len() > budget || held + raw.get().len() > MAX_HELD_ARGUMENTS =>
            {
                (scope.oversized_arguments(None), known, 0)
            }
            Some(raw) => match serde_json::from_str::<Value>(raw.get()) {
                Ok(value) => (scope.arguments(value), known, raw.get().len()),
                Err(_) => (scope.oversized_arguments(None), known, 0),
            },
        }
    }

    fn answered(
        &self,
        id: &Id<'_>,
        result: Option<&RawValue>,
        error: Option<&RawValue>,
        at: SystemTime,
    ) {
        let key = self.key(id);
        let Some(pending) = self
            .take_pending(key)
            .or_else(|| self.other_key(id).and_then(|key| self.take_pending(key)))
        else {
            return;
        };
        // An error is an error whatever its shape; its code, when it has one.
        let failed = error.is_some();
        let error: Option<ErrorObject<'_>> = object(error);
        let code = error.as_ref().and_then(|e| e.code);
        let answer: Answer<'_> = if failed {
            Answer::default()
        } else {
            object(result).unwrap_or_default()
        };
        let asked = answer.result_type.as_deref() == Some("input_required");
        let outcome = match pending.method {
            _ if failed => match code {
                Some(code) => Outcome::rpc_error(code),
                None => Outcome::Error {
                    error_type: Cow::Borrowed(keys::OTHER),
                    rpc_code: None,
                },
            },
            _ if asked => Outcome::InputRequired,
            keys::TOOLS_CALL if answer.is_error == Some(true) => Outcome::ToolError,
            keys::TOOLS_CALL => Outcome::Ok(
                answer
                    .content
                    .as_ref()
                    .map(|content| ResultSize::Count(content.len())),
            ),
            keys::RESOURCES_READ => Outcome::Ok(answer.contents.map(ResultSize::Length)),
            _ => Outcome::Ok(None),
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
                let refused = code == Some(-32601)
                    || (code == Some(-32602)
                        && error.as_ref().and_then(|e| e.message.as_deref())
                            == Some("tool not found"));
                let compiled = self.schema_for(&name);
                let known = self.tool_known(&name, advertised || compiled.is_some(), refused);
                let undeferred = super::take_deferred(&scope);
                let (call, started_known) = match undeferred.started {
                    Some(call) => (call, undeferred.known),
                    None => (
                        adapter::tool_span_start(&name, known, scope.clone(), start),
                        known,
                    ),
                };
                // A task the call created: a span of its own, from now to its end.
                if !failed && answer.result_type.as_deref() == Some("task") {
                    let task =
                        result.and_then(|r| serde_json::from_str::<TaskSeen<'_>>(r.get()).ok());
                    if let Some(task) = task {
                        Self::task_created(&call, &name, known, &scope, &task);
                    }
                }
                adapter::tool_span_finish(
                    call,
                    scope.clone(),
                    &name,
                    started_known,
                    known,
                    compiled.as_deref(),
                    outcome,
                    at,
                );
                rounds::answered(&scope, method, state_of_round);
                // Measured as the client receives it: the result's own bytes.
                let measured = result.filter(|_| !failed && !asked);
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
                task,
            } => {
                let refused = method == keys::OTHER
                    || code == Some(-32601)
                    || (target.is_some() && code == Some(-32602));
                super::listed::name_after_answer(
                    &mut call,
                    method,
                    target.as_ref().map(|(k, n)| (*k, n.as_str())),
                    refused,
                );
                // What a `tasks/get` answer says of the task: a terminal status ends
                // its span.
                if let (false, "tasks/get", Some(task_id)) = (failed, method, &task)
                    && let Some(seen) =
                        result.and_then(|r| serde_json::from_str::<TaskSeen<'_>>(r.get()).ok())
                {
                    let status = seen.status();
                    call.add_attributes(vec![opentelemetry::KeyValue::new(
                        keys::TASK_STATUS,
                        status.name(),
                    )]);
                    super::tasks::reported(task_id, status);
                }
                if !failed {
                    match method {
                        "initialize" => self.initialized(&answer, &call),
                        "tools/list" => self.tools_listed(
                            &answer,
                            first_page,
                            answer.next_cursor.is_none(),
                            &call,
                        ),
                        _ => {}
                    }
                }
                call.finish_at(|| outcome, Some(at));
                if method == PROMPTS_GET {
                    rounds::answered(&scope, method, state_of_round);
                }
            }
        }
    }

    /// Starts the span of the task a `tools/call` of `tool` created, the child of the
    /// call's span, which links to it; followed until the server reports its end.
    fn task_created(
        call: &Call,
        tool: &str,
        known: bool,
        scope: &Arc<ActiveScope>,
        task: &TaskSeen<'_>,
    ) {
        use opentelemetry::trace::TraceContextExt;
        if task.task_id.len() > MAX_TASK_ID {
            return;
        }
        let parent = match call.span_context().filter(|c| c.is_valid()) {
            Some(context) => opentelemetry::Context::new().with_remote_span_context(context),
            None => opentelemetry::Context::current(),
        };
        let span = adapter::task_span(tool, known, &parent, &scope.data);
        if let Some(context) = span.span_context().filter(|c| c.is_valid()) {
            call.add_link(context);
        }
        super::tasks::created(&task.task_id, task.ttl_ms, span, task.status());
    }

    /// Whether the tool `name` may be named (else `_OTHER`): advertised; or, before any
    /// complete list was seen, answered without a protocol error (the server vouches
    /// for it) while few such names were seen.
    fn tool_known(&self, name: &str, advertised: bool, refused: bool) -> bool {
        if advertised {
            return true;
        }
        let listed = self.catalog().listed;
        !listed && !refused && super::listed::answered_name(name)
    }

    /// Ends the span of a request that got no answer.
    fn unanswered(&self, pending: Pending, how: Unanswered, at: SystemTime) {
        let Pending {
            kind,
            scope,
            start,
            method,
            ..
        } = pending;
        let error_type = match &how {
            Unanswered::Closed(error_type) => error_type.clone(),
            Unanswered::Cancelled => Some(Cow::Borrowed(super::outbound::CLOSED)),
        };
        let outcome = || match &error_type {
            Some(error_type) => Outcome::Error {
                error_type: error_type.clone(),
                rpc_code: None,
            },
            None => Outcome::Ok(None),
        };
        match (kind, how) {
            (Kind::Tool { name, advertised }, how) => {
                let known = advertised || self.tool_known(&name, false, true);
                let compiled = self.schema_for(&name);
                let undeferred = super::take_deferred(&scope);
                match how {
                    Unanswered::Closed(_) => match undeferred.started {
                        Some(call) => adapter::tool_span_finish(
                            call,
                            scope.clone(),
                            &name,
                            undeferred.known,
                            known,
                            compiled.as_deref(),
                            outcome(),
                            at,
                        ),
                        None => adapter::tool_span(
                            &name,
                            known,
                            scope.clone(),
                            compiled.as_deref(),
                            outcome(),
                            start,
                            at,
                        ),
                    },
                    // Dropped unfinished: ended as cancelled, as a cancelled call is.
                    Unanswered::Cancelled => drop(undeferred.started.unwrap_or_else(|| {
                        adapter::tool_span_start(&name, known, scope.clone(), start)
                    })),
                }
                super::context_cost::result_measured::<Value>(&scope, None);
            }
            (Kind::Resource { uri }, Unanswered::Closed(_)) => {
                adapter::resource_span(&uri, scope.clone(), outcome(), start, at)
            }
            // A read given up records nothing, as a dropped read through the adapter.
            (Kind::Resource { .. }, Unanswered::Cancelled) => {}
            (
                Kind::Other {
                    mut call, target, ..
                },
                how,
            ) => {
                // Unanswered, a method outside the conventions' set or a target the
                // server never vouched for is not named.
                super::listed::name_after_answer(
                    &mut call,
                    method,
                    target.as_ref().map(|(k, n)| (*k, n.as_str())),
                    method == keys::OTHER || target.is_some(),
                );
                match how {
                    Unanswered::Closed(_) => call.finish_at(outcome, Some(at)),
                    Unanswered::Cancelled => drop(call),
                }
            }
        }
    }

    fn initialized(&self, answer: &Answer<'_>, call: &Call) {
        let limit = crate::bounds::limit_for(crate::bounds::MAX_NAME_BYTES);
        #[cfg(feature = "metrics")]
        if !self
            .timer
            .started
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            use crate::session_duration::{self, Carried};
            let carried = Carried {
                transport: Some(self.transport.as_str()),
                ..Carried::default()
            };
            session_duration::start(self.timer.key, self.timer.created, carried);
            if let Some(version) = &answer.protocol_version {
                session_duration::negotiated(self.timer.key, version);
            }
        }
        if let Some(version) = &answer.protocol_version {
            let version = crate::bounds::bounded(version, limit).into_owned();
            // The version the server chose, on the span of the request that chose it.
            call.add_attributes(vec![opentelemetry::KeyValue::new(
                keys::PROTOCOL,
                version.clone(),
            )]);
            self.state().protocol = Some(version);
        }
        if let Some(name) = answer.server_info.as_ref().and_then(|i| i.name.as_deref()) {
            self.catalog().server_name = Some(crate::bounds::bounded(name, limit).into_owned());
        }
    }

    /// A `tools/list` answer: its span's attributes, and each tool remembered for the
    /// calls to come.
    fn tools_listed(&self, answer: &Answer<'_>, first_page: bool, last_page: bool, call: &Call) {
        let Some(tools) = answer
            .tools
            .and_then(|t| first_of::<Value>(t.get().as_bytes(), MAX_TOOLS))
        else {
            return;
        };
        #[cfg_attr(not(feature = "args-hash"), allow(clippy::let_unit_value))]
        let _served = super::listed::tools_listed(&tools, first_page && last_page, call);
        let mut remembered = HashMap::new();
        for mut tool in tools.into_iter().take(MAX_TOOLS) {
            let Some(name) = tool.get("name").and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            #[cfg(feature = "args-hash")]
            let definition = Arc::new(crate::scope::Definition {
                hash: _served
                    .by_name
                    .get(&name)
                    .cloned()
                    .unwrap_or_else(|| crate::signals::definitions::definition_hash(&tool))
                    .into(),
                size: crate::bounds::json_size(&tool, usize::MAX),
            });
            let advertised = Advertised {
                #[cfg(feature = "args-hash")]
                definition,
                #[cfg(feature = "schema-check")]
                schema: tool
                    .as_object_mut()
                    .and_then(|t| t.remove("inputSchema"))
                    .unwrap_or(Value::Null),
                #[cfg(feature = "schema-check")]
                compiled: None,
            };
            #[cfg(not(feature = "schema-check"))]
            let _ = &mut tool;
            remembered.insert(name, advertised);
        }
        let mut state = self.catalog();
        // A page's tools are known at once; the list the pages make up, from the first
        // to the last, replaces what was known once it is whole.
        let names = remembered.keys().cloned();
        if first_page {
            state.paging = Some(names.collect());
        } else if let Some(paging) = state.paging.as_mut() {
            paging.extend(names.take(MAX_TOOLS.saturating_sub(paging.len())));
        }
        for (name, tool) in remembered {
            if state.tools.len() < MAX_TOOLS || state.tools.contains_key(&name) {
                state.tools.insert(name, tool);
            }
        }
        if last_page && let Some(listed) = state.paging.take() {
            state.tools.retain(|name, _| listed.contains(name));
            state.listed = true;
        }
    }

    /// The input schema the server advertised for `tool`, compiled once.
    #[cfg(feature = "schema-check")]
    fn schema_for(&self, tool: &str) -> Option<Arc<Compiled>> {
        let mut catalog = self.catalog();
        let advertised = catalog.tools.get_mut(tool)?;
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

    /// For a transport that carries requests in exchanges of their own (a streamable
    /// HTTP POST): the exchange that carried `request` (one message or a batch, as
    /// observed) is over, and each of its requests still awaiting an answer ends now,
    /// as `transport_closed`, or with `status` as its `error.type` when the server
    /// answered the exchange with an HTTP error status (`"503"`).
    pub fn exchange_ended(&self, request: &[u8], status: Option<u16>) {
        let error_type = match status {
            Some(status) if status >= 400 => Cow::Owned(status.to_string()),
            _ => Cow::Borrowed(super::outbound::CLOSED),
        };
        self.exchange_over(request, Some(error_type));
    }

    /// For a transport of exchanges: the exchange that carried `request` was answered
    /// with a success, but the answer went by unread (past what is observed): each of
    /// its requests still awaiting an answer ends now, with no error and nothing more
    /// known of its outcome.
    pub fn exchange_answered_unread(&self, request: &[u8]) {
        self.exchange_over(request, None);
    }

    fn exchange_over(&self, request: &[u8], error_type: Option<Cow<'static, str>>) {
        #[derive(Deserialize)]
        struct Request<'a> {
            #[serde(borrow, default)]
            method: Option<Cow<'a, str>>,
            #[serde(borrow, default, deserialize_with = "present")]
            id: Option<&'a RawValue>,
        }
        let request = request.trim_ascii();
        let messages: Vec<&RawValue> = match request.first() {
            Some(b'[') => first_of(request, MAX_BATCH).unwrap_or_default(),
            Some(b'{') => serde_json::from_slice(request).into_iter().collect(),
            _ => Vec::new(),
        };
        let at = SystemTime::now();
        for message in messages {
            let Ok(Request {
                method: Some(_),
                id: Some(id),
            }) = serde_json::from_str::<Request<'_>>(message.get())
            else {
                continue;
            };
            let Ok(id) = serde_json::from_str::<Id<'_>>(id.get()) else {
                continue;
            };
            if let Some(pending) = self.take_pending(self.key(&id)) {
                self.unanswered(pending, Unanswered::Closed(error_type.clone()), at);
            }
        }
    }

    /// The conversation is over (either side hung up): every request still awaiting
    /// its answer ends as `transport_closed`, and so does every request of the
    /// server's the client never answered.
    pub fn closed(&self) {
        #[cfg(feature = "metrics")]
        if self
            .timer
            .started
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            crate::session_duration::end(self.timer.key, None);
        }
        self.connection.closed();
        let pending: Vec<Pending> = {
            let mut state = self.state();
            state.held = 0;
            state.pending.drain().map(|(_, p)| p).collect()
        };
        let at = SystemTime::now();
        for pending in pending {
            self.unanswered(pending, Unanswered::closed(), at);
        }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.closed();
    }
}
