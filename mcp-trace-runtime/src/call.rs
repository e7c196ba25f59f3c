//! One span per handler call: started by generated code, ended exactly once.
//!
//! The span ends on completion ([`Call::finish_with`]), on a panic inside the handler
//! ([`Entered`] sees the unwind: `error.type = panic`, and the panic keeps going), or
//! when the call is dropped unfinished (a cancelled future: `mcp.call.cancelled`).

use crate::bounds;
use crate::handler::meta::{ResourceMeta, ToolMeta};
use crate::handler::outcome::{Outcome, ResultSize};
use crate::keys;
use crate::scope::{self, ActiveScope};
use crate::settings::UriMode;
#[cfg(feature = "args-shape")]
use crate::signals::shape::KeySource;
use crate::signals::shape::{ArgsRecorder, Rebuild};
use opentelemetry::global::{self, BoxedSpan};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{Link, Span, SpanBuilder, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, ContextGuard, KeyValue};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Poll, ready};

/// A handler call's span, or nothing when no SDK would see it. Boxed, so that a call
/// with nothing to record moves a null pointer around and nothing else.
#[derive(Debug, Default)]
pub struct Call {
    active: Option<Box<Active>>,
}

#[derive(Debug)]
struct Active {
    cx: Context,
    recording: bool,
    /// The parent came from a valid trace context the request carried (`_meta`).
    #[cfg_attr(not(feature = "wire"), allow(dead_code))]
    meta_parent: bool,
    resource: bool,
    ended: AtomicBool,
    /// The call's `mcp.server.operation.duration` record, made by whoever ends it.
    #[cfg(feature = "metrics")]
    metric: Option<crate::metrics::Operation>,
    /// The request scope the span was made in: what the observer added to the span
    /// while it ran (events left out over their bound) is noted on it as it ends.
    #[cfg(feature = "wire")]
    scope: Option<Arc<ActiveScope>>,
    /// The span's start, when it was read here (for the metric, or for a request that
    /// may turn out the first round of a multi-round call).
    #[cfg(feature = "wire")]
    start: Option<std::time::SystemTime>,
}

/// What a call records on the operation-duration metric.
#[cfg(feature = "metrics")]
type Metric = Option<crate::metrics::Operation>;
#[cfg(not(feature = "metrics"))]
type Metric = ();

/// `_meta` trace context of the request scope, as a propagation carrier, each header
/// bounded as the W3C specifications bound it: a `traceparent` or `baggage` over its
/// bound is ignored, a long `tracestate` loses its trailing members.
struct MetaCarrier<'a> {
    traceparent: Option<&'a str>,
    tracestate: Option<String>,
    baggage: Option<&'a str>,
}

impl<'a> MetaCarrier<'a> {
    fn new(
        traceparent: Option<&'a str>,
        tracestate: Option<&'a str>,
        baggage: Option<&'a str>,
    ) -> Self {
        MetaCarrier {
            traceparent: traceparent.filter(|v| v.len() <= bounds::MAX_TRACEPARENT_BYTES),
            tracestate: tracestate.and_then(bounds::tracestate),
            baggage: baggage.filter(|v| v.len() <= bounds::MAX_BAGGAGE_BYTES),
        }
    }
}

impl Extractor for MetaCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => self.traceparent,
            "tracestate" => self.tracestate.as_deref(),
            "baggage" => self.baggage,
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent", "tracestate", "baggage"]
    }
}

/// The parent: the context extracted from `_meta` when its `traceparent` is valid,
/// else the ambient current context. When it came from `_meta`, also `Some` of the
/// ambient span to link to: the conventions keep the context the request arrived in
/// (an HTTP server span, say) as a link rather than drop it.
fn parent_context(scope: Option<&ActiveScope>) -> (Context, Option<Option<Link>>) {
    match scope {
        Some(scope) => {
            let data = &scope.data;
            parent_from(
                data.traceparent.as_deref(),
                data.tracestate.as_deref(),
                data.baggage.as_deref(),
            )
        }
        None => (Context::current(), None),
    }
}

/// [`parent_context`] of the three `_meta` fields.
fn parent_from(
    traceparent: Option<&str>,
    tracestate: Option<&str>,
    baggage: Option<&str>,
) -> (Context, Option<Option<Link>>) {
    if traceparent.is_some() {
        let carrier = MetaCarrier::new(traceparent, tracestate, baggage);
        let cx = opentelemetry_sdk::propagation::TraceContextPropagator::new().extract(&carrier);
        if cx.span().span_context().is_valid() {
            let ambient = Context::map_current(|current| {
                let ambient = current.span().span_context().clone();
                ambient.is_valid().then(|| Link::with_context(ambient))
            });
            let parent = opentelemetry_sdk::propagation::BaggagePropagator::new()
                .extract_with_context(&cx, &carrier);
            return (parent, Some(ambient));
        }
    }
    (Context::current(), None)
}

/// A started span, before its call-specific attributes.
struct Begun {
    scope: Option<Arc<ActiveScope>>,
    parent: Context,
    /// Whether `parent` came from the request's `_meta`.
    #[cfg_attr(not(feature = "read-tracking"), allow(dead_code))]
    meta_parent: bool,
    span: BoxedSpan,
    recording: bool,
    /// The start time, read once for the span and the metric; read only for the
    /// metric (else the SDK reads it when the span records), or given by an adapter.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    start: Option<std::time::SystemTime>,
    /// Whether the call goes on the operation-duration metric.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    metric: bool,
}

/// Starts the span in `scope`'s context. `None` when the span is neither recording nor
/// carries a valid context (no SDK installed): nothing to do at all. The attributes and
/// the scope are taken only when a tracer is installed, so a call with no SDK builds
/// nothing. (Handlers fetch the tracer first themselves; adapters start here.)
#[cfg(feature = "wire")]
fn begin(
    name: impl Into<std::borrow::Cow<'static, str>>,
    attributes: impl FnOnce(&mut Vec<KeyValue>),
    scope: impl FnOnce() -> Option<Arc<ActiveScope>>,
    start_time: Option<std::time::SystemTime>,
) -> Option<Begun> {
    let tracer = crate::tracer::current()?;
    begin_with(&tracer, name, attributes, scope, start_time)
}

/// Room for the attributes of a handler's span without a request scope (base, session,
/// shapes, hash, verdict, run, result: 11 for three parameters). 18 `KeyValue`s are
/// 1 008 bytes, within glibc's per-thread cache of freed blocks (up to 1 032 bytes):
/// one more and every span's vector goes through `malloc`'s slower bins, about 250
/// instructions a call. A span with more regrows once.
const SPAN_ATTRIBUTES: usize = 18;

/// Room for the attributes of a span in a request scope, which adds where the request
/// arrived (request id, session, protocol, transport, network, client, definition):
/// at most 20 today.
const SCOPED_SPAN_ATTRIBUTES: usize = 24;

/// [`begin`] with the tracer already in hand.
fn begin_with(
    tracer: &global::BoxedTracer,
    name: impl Into<std::borrow::Cow<'static, str>>,
    attributes: impl FnOnce(&mut Vec<KeyValue>),
    scope: impl FnOnce() -> Option<Arc<ActiveScope>>,
    start_time: Option<std::time::SystemTime>,
) -> Option<Begun> {
    let scope = scope();
    let (parent, from_meta) = parent_context(scope.as_deref());
    // The SDK keeps this vector as the span's attributes: sized for all of them, so
    // that the attributes added once the span records do not regrow it.
    let mut all = Vec::with_capacity(match scope {
        Some(_) => SCOPED_SPAN_ATTRIBUTES,
        None => SPAN_ATTRIBUTES,
    });
    attributes(&mut all);
    let metric = metric_wanted();
    // The start is read here for the metric, and for a request that may be the first
    // round of a multi-round call (its span's start is the call's).
    #[cfg(feature = "wire")]
    let timed = metric || scope.as_deref().is_some_and(|s| s.rounds.may_ask());
    #[cfg(not(feature = "wire"))]
    let timed = metric;
    let start = start_time.or_else(|| timed.then(std::time::SystemTime::now));
    let meta_parent = from_meta.is_some();
    #[cfg_attr(not(feature = "wire"), allow(unused_mut))]
    let mut links = from_meta.flatten().map(|link| vec![link]);
    // A later round of a multi-round call: its number, and a link to the first round.
    #[cfg(feature = "wire")]
    if let Some(later) = scope.as_deref().and_then(|s| s.rounds.later()) {
        all.push(KeyValue::new(keys::REQUEST_ROUND, i64::from(later.number)));
        if later.first.is_valid() {
            links
                .get_or_insert_with(Vec::new)
                .push(Link::with_context(later.first.clone()));
        }
    }
    // Fields set in place: `with_*` rebuilds the builder (a 300-byte move) each time.
    let mut builder = SpanBuilder::from_name(name);
    builder.span_kind = Some(SpanKind::Server);
    builder.attributes = Some(all);
    builder.start_time = start;
    builder.links = links;
    let span = tracer.build_with_context(builder, &parent);
    let recording = span.is_recording();
    if !recording && !span.span_context().is_valid() {
        // A no-op or shut-down provider, unless only this context suppresses telemetry.
        if !parent.is_telemetry_suppressed() {
            crate::tracer::found_inert();
        }
        return None;
    }
    Some(Begun {
        scope,
        parent,
        meta_parent,
        span,
        recording,
        start,
        metric,
    })
}

/// `mcp.session.id`: the keyed digest of `session`, or the id itself (bounded) when raw
/// ids were opted in to.
fn push_session(session: &str, attrs: &mut Vec<KeyValue>) {
    match crate::settings::get().session_ids {
        crate::settings::SessionIdExport::Raw => {
            bounds::push_bounded(attrs, keys::SESSION, session, bounds::MAX_NAME_BYTES);
        }
        _ => bounds::push_in_place(attrs, keys::SESSION, crate::digest::keyed_session(session)),
    }
}

/// Where a message arrived, as far as its span says: its `_meta`, the session and
/// protocol version of the connection, the transport, and over HTTP the network
/// protocol and the client's address.
#[cfg(feature = "wire")]
#[derive(Debug, Default)]
pub(crate) struct Arrival<'a> {
    pub(crate) meta: Option<&'a serde_json::Map<String, Value>>,
    pub(crate) session: Option<&'a str>,
    pub(crate) protocol: Option<&'a str>,
    pub(crate) transport: Option<scope::Transport>,
    pub(crate) network: Option<(&'static str, &'static str)>,
    pub(crate) client: Option<(std::net::IpAddr, Option<u16>)>,
    /// When the message was read, if earlier than it is observed.
    pub(crate) at: Option<std::time::SystemTime>,
}

/// What a span about a request carries of its connection, without being that request's
/// own span: session, protocol version and transport.
#[cfg(feature = "wire")]
pub(crate) fn connection_attributes(data: &scope::ScopeData, attrs: &mut Vec<KeyValue>) {
    if let Some(session) = &data.session_id {
        push_session(session, attrs);
    }
    if let Some(version) = &data.protocol_version {
        bounds::push_protocol(attrs, version);
    }
    if let Some(transport) = data.transport {
        bounds::push_in_place(attrs, keys::TRANSPORT, transport.as_str());
    }
}

/// Whether calls record the operation-duration metric (the feature on, and `init`
/// did not choose to go without).
#[inline]
pub(crate) fn metric_wanted() -> bool {
    #[cfg(feature = "metrics")]
    return crate::metrics::enabled();
    #[cfg(not(feature = "metrics"))]
    false
}

/// What a span carries of its request scope: request id, protocol version, transport,
/// network protocol, the called tool's definition, the client's address; the
/// client-chosen ones bounded.
fn scope_attributes(data: &scope::ScopeData, attrs: &mut Vec<KeyValue>) {
    if let Some(id) = &data.request_id {
        bounds::push_bounded(attrs, keys::REQUEST_ID, id, bounds::MAX_NAME_BYTES);
    }
    if let Some(version) = &data.protocol_version {
        bounds::push_protocol(attrs, version);
    }
    if let Some(transport) = data.transport {
        bounds::push_in_place(attrs, keys::TRANSPORT, transport.as_str());
    }
    if let Some((name, version)) = data.network_protocol {
        bounds::push_in_place(attrs, keys::NETWORK_PROTOCOL, name);
        bounds::push_in_place(attrs, keys::NETWORK_PROTOCOL_VERSION, version);
    }
    #[cfg(all(feature = "wire", feature = "args-hash"))]
    if let Some(definition) = &data.tool_definition {
        bounds::push_in_place(attrs, keys::TOOL_DEFINITION_HASH, definition.hash.clone());
        bounds::push_in_place(
            attrs,
            keys::TOOL_DEFINITION_SIZE,
            i64::try_from(definition.size).unwrap_or(i64::MAX),
        );
    }
    if let Some((address, port)) = data.client {
        bounds::push_in_place(attrs, keys::CLIENT_ADDRESS, address.to_string());
        if let Some(port) = port {
            bounds::push_in_place(attrs, keys::CLIENT_PORT, i64::from(port));
        }
    }
}

impl Begun {
    fn session<'a>(&'a self, from_param: Option<&'a str>) -> Option<&'a str> {
        from_param.or_else(|| self.scope.as_ref()?.data.session_id.as_deref())
    }

    /// What a read is counted within: its session, else the trace its `_meta` names
    /// (one agent run), so the duplicate-read signal survives protocol revisions
    /// without sessions.
    fn read_scope<'a>(&self, session: Option<&'a str>) -> Option<ReadScope<'a>> {
        if let Some(session) = session {
            return Some(ReadScope::Session(session));
        }
        self.meta_parent
            .then(|| ReadScope::Trace(self.parent.span().span_context().trace_id()))
    }

    /// Session (its keyed digest by default), request id, protocol version and
    /// transport, when known; the client-chosen ones bounded.
    fn common_attributes(&self, session: Option<&str>, attrs: &mut Vec<KeyValue>) {
        if let Some(session) = session {
            push_session(session, attrs);
        }
        if let Some(scope) = &self.scope {
            scope_attributes(&scope.data, attrs);
        }
    }

    fn into_call(self, resource: bool, metric: Metric) -> Call {
        #[cfg(not(feature = "metrics"))]
        let () = metric;
        let cx = self.parent.with_span(self.span);
        if let Some(scope) = &self.scope {
            scope.note_span(&cx);
        }
        Call {
            active: Some(Box::new(Active {
                cx,
                recording: self.recording,
                meta_parent: self.meta_parent,
                resource,
                ended: AtomicBool::new(false),
                #[cfg(feature = "metrics")]
                metric,
                #[cfg(feature = "wire")]
                scope: self.scope,
                #[cfg(feature = "wire")]
                start: self.start,
            })),
        }
    }

    /// The metric record of an operation `method` in this span's scope: the protocol
    /// version and transport when known. `None` when metrics are off.
    #[cfg(feature = "metrics")]
    fn operation(&self, method: &'static str) -> Option<crate::metrics::Operation> {
        if !self.metric {
            return None;
        }
        let mut operation = crate::metrics::Operation::new(method, self.start?);
        if let Some(scope) = &self.scope {
            let data = &scope.data;
            if let Some(version) = data.protocol_version.as_deref() {
                operation.protocol(version);
            }
            if let Some(transport) = data.transport {
                operation.transport(transport.as_str());
            }
            if let Some(protocol) = data.network_protocol {
                operation.network_protocol(protocol);
            }
        }
        Some(operation)
    }
}

#[cfg(feature = "schema-check")]
pub(crate) type Compiled = crate::signals::schema::Compiled;
/// Without the schema check there is never a compiled schema.
#[cfg(not(feature = "schema-check"))]
#[derive(Debug)]
pub(crate) enum Compiled {}

/// Describes a handler's parameter types to the schema builder: a plain function, so
/// that the code compiling the schema exists once, not once per handler.
#[cfg(feature = "schema-check")]
pub(crate) type DescribeSchema = fn(&mut crate::signals::schema_build::SchemaBuilder);

/// Starts a `tools/call {tool}` span. `record` shapes the typed parameters; it runs
/// (once) only when the span records and the request scope has no raw arguments, or
/// for the metric's verdict. `schema` (with the schema check) describes the parameter
/// types; it runs once per handler, when the schema is built. Nothing here is generic,
/// so that its code exists once however many handlers there are.
#[inline(always)]
pub fn start_tool(
    meta: &'static ToolMeta,
    session: Option<&str>,
    record: &mut dyn FnMut(&mut ArgsRecorder<'_>),
    #[cfg(feature = "schema-check")] schema: DescribeSchema,
) -> Call {
    // Nothing installed: nothing at all to do.
    match crate::tracer::current() {
        None => Call::default(),
        Some(tracer) => start_tool_traced(
            &tracer,
            meta,
            session,
            record,
            #[cfg(feature = "schema-check")]
            schema,
        ),
    }
}

/// [`start_tool`] once a tracer is installed; out of line, so that a call with nothing
/// installed stays a few instructions, and not generic, so that its code exists once
/// however many handlers there are.
#[inline(never)]
fn start_tool_traced(
    tracer: &global::BoxedTracer,
    meta: &'static ToolMeta,
    session: Option<&str>,
    record: &mut dyn FnMut(&mut ArgsRecorder<'_>),
    #[cfg(feature = "schema-check")] schema: DescribeSchema,
) -> Call {
    // Compiled (once per handler) before the span starts: the first call's span must
    // not carry the validator's compilation, which the handler did not cause.
    #[cfg(feature = "schema-check")]
    let compiled = meta.schema.compiled(schema);
    #[cfg(not(feature = "schema-check"))]
    let compiled: Option<&'static Compiled> = None;
    let base = |attrs: &mut Vec<KeyValue>| {
        attrs.extend([
            KeyValue::new(keys::METHOD, keys::TOOLS_CALL),
            KeyValue::new(keys::OPERATION, keys::EXECUTE_TOOL),
            KeyValue::new(keys::GEN_AI_TOOL, meta.name),
            KeyValue::new(keys::MCP_TOOL, meta.name),
        ]);
    };
    let Some(mut begun) = begin_with(tracer, meta.span_name, base, scope::claim, None) else {
        return Call::default();
    };
    #[cfg(feature = "wire")]
    if let Some(scope) = &begun.scope {
        scope.note_claimant(crate::raw_signals::Claimant::of(meta, compiled));
    }
    let data = begun.scope.as_ref().map(|s| &s.data);
    // Runs are counted where the call is: not here when an adapter's span of the
    // request already holds the scope (it counts the call as it ends).
    let run_scope = match begun.scope.is_none() && adapter_owns_the_request() {
        true => None,
        false => begun.read_scope(begun.session(session)),
    };
    if begun.recording {
        let mut attrs = Vec::with_capacity(16);
        begun.common_attributes(begun.session(session), &mut attrs);
        argument_signals(meta, compiled, data, record, true, &mut attrs);
        let repeated = repeat_run(
            run_scope,
            meta.name,
            None,
            begun.scope.as_deref(),
            &mut attrs,
        );
        #[cfg(feature = "metrics")]
        let verdict = bool_attribute(&attrs, keys::SCHEMA_VALID);
        begun.span.set_attributes(attrs);
        #[cfg(feature = "metrics")]
        return begun_tool_call(begun, meta.name, verdict, repeated);
        #[cfg(not(feature = "metrics"))]
        {
            let _ = repeated;
            return begun.into_call(false, ());
        }
    }
    // Not recording: within a session or trace the hash is taken all the same, so
    // that the run goes on for the calls that are sampled, and the metric says
    // whether the call repeats the one before; no shapes are computed.
    if cfg!(feature = "args-hash") && run_scope.is_some() {
        let mut scratch = Vec::new();
        argument_signals(meta, compiled, data, record, false, &mut scratch);
        let repeated = repeat_run(
            run_scope,
            meta.name,
            None,
            begun.scope.as_deref(),
            &mut scratch,
        );
        #[cfg(feature = "metrics")]
        {
            if !begun.metric {
                return begun.into_call(false, None);
            }
            let verdict = bool_attribute(&scratch, keys::SCHEMA_VALID);
            return begun_tool_call(begun, meta.name, verdict, repeated);
        }
        #[cfg(not(feature = "metrics"))]
        {
            let _ = repeated;
            return begun.into_call(false, ());
        }
    }
    #[cfg(feature = "metrics")]
    {
        if !begun.metric {
            return begun.into_call(false, None);
        }
        // The metric still carries the verdict.
        let verdict = unsampled_verdict(meta, compiled, begun.scope.as_deref(), record);
        begun_tool_call(begun, meta.name, verdict, None)
    }
    #[cfg(not(feature = "metrics"))]
    begun.into_call(false, ())
}

/// Whether the current request scope is held by an adapter's own span of the request
/// (started before the traced handler ran), which records the call's signals.
fn adapter_owns_the_request() -> bool {
    #[cfg(feature = "wire")]
    return scope::adapter_claimed();
    #[cfg(not(feature = "wire"))]
    false
}

/// The arguments' signals, into `attrs`: their shapes when `shapes`, the hash, the
/// verdict; from the request scope's raw arguments when it has them, else from the
/// typed parameters `record` is given.
fn argument_signals(
    meta: &'static ToolMeta,
    compiled: Option<&'static Compiled>,
    data: Option<&scope::ScopeData>,
    record: &mut dyn FnMut(&mut ArgsRecorder<'_>),
    shapes: bool,
    attrs: &mut Vec<KeyValue>,
) {
    #[cfg(feature = "wire")]
    if let Some(signals) = precomputed_for(data, meta, compiled) {
        signals.record(attrs, shapes);
        return;
    }
    let raw = data.and_then(|d| d.arguments.as_ref());
    let oversized = data.and_then(|d| d.oversized.as_ref());
    match (raw, oversized) {
        (Some(raw), _) if shapes => args_from_raw(meta, compiled, raw, attrs),
        (Some(raw), _) => hash_and_check(compiled, raw, false, &[], attrs),
        (None, Some(oversized)) => {
            // Typed shapes cost no serialization; the hash was taken from the
            // request; a verdict would cost more than the call.
            if shapes {
                record(&mut ArgsRecorder::new(attrs, Rebuild::Nothing));
            }
            oversized_signals(compiled, oversized, attrs);
        }
        (None, None) => {
            let mut rec = ArgsRecorder::new(attrs, rebuild_for(meta, compiled));
            if !shapes {
                rec = rec.without_shapes();
            }
            record(&mut rec);
            match finish_rebuilt(meta, compiled, rec) {
                Typed::Json(rebuilt, unseen) => {
                    hash_and_check(compiled, &rebuilt, true, &unseen, attrs);
                }
                Typed::Guaranteed(canonical) => typed_signals(compiled, canonical, attrs),
                Typed::Unknown => {}
            }
        }
    }
}

/// The signals the adapter took from the request, when this handler (`meta`, checking
/// against `compiled`) records what they are.
#[cfg(feature = "wire")]
fn precomputed_for(
    data: Option<&scope::ScopeData>,
    meta: &'static ToolMeta,
    compiled: Option<&Compiled>,
) -> Option<crate::raw_signals::RawSignals> {
    let precomputed = data?.precomputed.as_ref()?;
    precomputed.take_for(crate::raw_signals::Claimant::of(meta, compiled))
}

/// The call of a begun `tools/call` span, with its metric record.
#[cfg(feature = "metrics")]
fn begun_tool_call(
    begun: Begun,
    tool: &'static str,
    verdict: Option<bool>,
    repeated: Option<bool>,
) -> Call {
    let operation = begun.operation(keys::TOOLS_CALL).map(|operation| {
        let mut operation = operation.tool(tool);
        operation.schema_valid(verdict);
        operation.repeated(repeated);
        operation
    });
    begun.into_call(false, operation)
}

/// The call's place in the run of identical calls of `tool` in `scope`, from the hash
/// among `attrs` (none: no run), pushed as `mcp.tool.call.repeat_run`; returns whether
/// it repeats the call before it, for the metric.
/// A later round of a multi-round call (`request`) keeps its first round's place.
/// `alias`: for a call counted under `_OTHER`, the name it was called by.
fn repeat_run(
    scope: Option<ReadScope<'_>>,
    tool: &str,
    alias: Option<&str>,
    request: Option<&ActiveScope>,
    attrs: &mut Vec<KeyValue>,
) -> Option<bool> {
    #[cfg(feature = "args-hash")]
    {
        use crate::signals::repeats;
        let scope = match scope? {
            ReadScope::Session(session) => repeats::Scope::Session(session),
            ReadScope::Trace(trace) => repeats::Scope::Trace(trace),
        };
        #[cfg(feature = "wire")]
        let continues = request.is_some_and(|r| r.rounds.later().is_some());
        #[cfg(not(feature = "wire"))]
        let continues = {
            let _ = request;
            false
        };
        let hash = string_attribute(attrs, keys::ARGS_HASH)?;
        let run = repeats::run(scope, tool, repeats::Call { hash, alias }, continues);
        attrs.push(KeyValue::new(keys::REPEAT_RUN, i64::from(run)));
        Some(run >= 2)
    }
    #[cfg(not(feature = "args-hash"))]
    {
        let _ = (scope, tool, alias, request, attrs);
        None
    }
}

/// The schema verdict of a call whose span does not record, for the metric alone: the
/// raw arguments validated, or the typed ones rebuilt (shapes skipped, no hash) and
/// validated unless the types guarantee them. `None` with no schema, or arguments over
/// the schema-check budget.
#[cfg(feature = "metrics")]
fn unsampled_verdict(
    meta: &'static ToolMeta,
    compiled: Option<&'static Compiled>,
    scope: Option<&ActiveScope>,
    record: &mut dyn FnMut(&mut ArgsRecorder<'_>),
) -> Option<bool> {
    #[cfg(feature = "schema-check")]
    {
        let compiled = compiled?;
        let data = scope.map(|s| &s.data);
        if data.is_some_and(|d| d.oversized.is_some()) {
            return None;
        }
        #[cfg(feature = "wire")]
        if let Some(signals) = precomputed_for(data, meta, Some(compiled)) {
            return signals.verdict();
        }
        if data.is_some_and(|d| d.arguments.is_some()) {
            return raw_verdict(Some(compiled), scope);
        }
        let mut scratch = Vec::new();
        if compiled.guaranteed() {
            return Some(true);
        }
        let mut rec = ArgsRecorder::new(&mut scratch, Rebuild::Json).without_shapes();
        record(&mut rec);
        match finish_rebuilt(meta, Some(compiled), rec) {
            Typed::Json(rebuilt, unseen) => {
                scratch.clear();
                compiled.check(&rebuilt, true, &unseen, &mut scratch);
                bool_attribute(&scratch, keys::SCHEMA_VALID)
            }
            Typed::Guaranteed(_) => Some(true),
            Typed::Unknown => None,
        }
    }
    #[cfg(not(feature = "schema-check"))]
    {
        let _ = (meta, compiled, scope, record);
        None
    }
}

/// The schema verdict of the request scope's raw arguments, for the metric of a call
/// whose span does not record. `None` with no schema, no raw arguments, or arguments
/// over the schema-check budget.
#[cfg(all(feature = "metrics", any(feature = "schema-check", feature = "wire")))]
fn raw_verdict(compiled: Option<&Compiled>, scope: Option<&ActiveScope>) -> Option<bool> {
    #[cfg(feature = "schema-check")]
    {
        let compiled = compiled?;
        let raw = scope?.data.arguments.as_ref()?;
        let mut scratch = Vec::new();
        compiled.check(raw, false, &[], &mut scratch);
        bool_attribute(&scratch, keys::SCHEMA_VALID)
    }
    #[cfg(not(feature = "schema-check"))]
    {
        let _ = (compiled, scope);
        None
    }
}

/// The string attribute `key` among `attrs`, if there is one.
#[cfg(feature = "args-hash")]
pub(crate) fn string_attribute<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attrs.iter().find_map(|kv| match &kv.value {
        opentelemetry::Value::String(value) if kv.key.as_str() == key => Some(value.as_str()),
        _ => None,
    })
}

/// The boolean attribute `key` among `attrs`, if there is one.
#[cfg(feature = "metrics")]
fn bool_attribute(attrs: &[KeyValue], key: &str) -> Option<bool> {
    attrs.iter().find_map(|kv| match &kv.value {
        opentelemetry::Value::Bool(b) if kv.key.as_str() == key => Some(*b),
        _ => None,
    })
}

#[cfg(feature = "args-shape")]
pub(crate) fn field_info(compiled: Option<&Compiled>) -> crate::signals::fields::FieldInfo<'_> {
    #[cfg(feature = "schema-check")]
    if let Some(compiled) = compiled {
        return compiled.fields();
    }
    let _ = compiled;
    crate::signals::fields::FieldInfo::default()
}

/// Shapes, hash and verdict from the arguments exactly as sent.
fn args_from_raw(
    meta: &'static ToolMeta,
    compiled: Option<&'static Compiled>,
    raw: &Value,
    attrs: &mut Vec<KeyValue>,
) {
    #[cfg(feature = "args-shape")]
    {
        let fields = meta.flattened.then(|| field_info(compiled));
        crate::signals::shape::shape_raw(
            &mut ArgsRecorder::new(attrs, Rebuild::Nothing),
            meta.params,
            fields.as_ref(),
            raw,
        );
    }
    let _ = meta;
    hash_and_check(compiled, raw, false, &[], attrs);
}

/// What typed parameters are rebuilt into: JSON only when the validator must read it
/// (a schema the types do not guarantee) or a flattened `#[args]` object is shaped
/// from it; else canonical bytes for the hash alone, or nothing.
fn rebuild_for(meta: &'static ToolMeta, compiled: Option<&Compiled>) -> Rebuild {
    #[cfg(feature = "schema-check")]
    let validates = compiled.is_some_and(|c| !c.guaranteed());
    #[cfg(not(feature = "schema-check"))]
    let validates = {
        let _ = compiled;
        false
    };
    let json_needed = validates || meta.flattened;
    if cfg!(any(feature = "args-hash", feature = "schema-check")) && json_needed {
        return Rebuild::Json;
    }
    #[cfg(feature = "args-hash")]
    return Rebuild::Canonical;
    #[cfg(not(feature = "args-hash"))]
    Rebuild::Nothing
}

/// The typed parameters, rebuilt.
enum Typed {
    /// As a JSON object, with the parameters it could not include.
    Json(Value, Vec<&'static str>),
    /// Valid by their types; their canonical bytes when the hash reads them.
    Guaranteed(Option<CanonicalArgs>),
    /// The arguments object itself could not be serialized: no honest hash or verdict.
    Unknown,
}

#[cfg(feature = "args-hash")]
type CanonicalArgs = crate::signals::shape::CanonicalArgs;
#[cfg(not(feature = "args-hash"))]
type CanonicalArgs = std::convert::Infallible;

/// Shapes the flattened `#[args]` fields and returns the rebuilt arguments. Inlined, so
/// that the recorder is not copied into it.
#[inline(always)]
fn finish_rebuilt(
    meta: &'static ToolMeta,
    compiled: Option<&'static Compiled>,
    rec: ArgsRecorder<'_>,
) -> Typed {
    let ArgsRecorder {
        attrs,
        json,
        #[cfg(feature = "args-hash")]
        canonical,
        flattened,
        unseen,
        flattened_unseen,
        shapes: _,
    } = rec;
    #[cfg(feature = "args-shape")]
    if let Some(Value::Object(fields)) = &flattened {
        let named = |k: &str| meta.params.iter().any(|p| p.name == k);
        // With a schema, it decides which keys are names (a map's keys are the client's,
        // counted); without one, the serialized type's identifier-like keys are used.
        let source = if compiled.is_some() {
            KeySource::Client
        } else {
            KeySource::Server
        };
        crate::signals::shape::shape_fields(
            &mut ArgsRecorder::new(attrs, Rebuild::Nothing),
            fields,
            &field_info(compiled),
            source,
            named,
        );
    }
    let _ = (attrs, meta, compiled);
    if flattened_unseen {
        return Typed::Unknown;
    }
    let Some(mut json) = json else {
        #[cfg(feature = "args-hash")]
        return Typed::Guaranteed(canonical);
        #[cfg(not(feature = "args-hash"))]
        return Typed::Guaranteed(None);
    };
    if let Some(Value::Object(fields)) = flattened {
        // `null` is how an absent optional field serializes: left out, unless the schema
        // requires the field (then the client sent it).
        let required = |key: &str| {
            #[cfg(feature = "schema-check")]
            if let Some(compiled) = compiled {
                return compiled.requires(key);
            }
            let _ = key;
            false
        };
        for (key, value) in fields {
            if !value.is_null() || required(&key) {
                json.entry(key).or_insert(value);
            }
        }
    }
    Typed::Json(Value::Object(json), unseen)
}

/// The hash from canonical bytes and the verdict of arguments valid by their types.
fn typed_signals(
    compiled: Option<&Compiled>,
    canonical: Option<CanonicalArgs>,
    attrs: &mut Vec<KeyValue>,
) {
    #[cfg(feature = "args-hash")]
    if let Some(canonical) = canonical {
        attrs.push(KeyValue::new(
            keys::ARGS_HASH,
            crate::signals::hash::configured_hash_members(canonical),
        ));
    }
    #[cfg(feature = "schema-check")]
    if compiled.is_some() {
        attrs.push(KeyValue::new(keys::SCHEMA_VALID, true));
    }
    #[cfg(not(feature = "args-hash"))]
    let _ = canonical;
    let _ = (compiled, attrs);
}

/// The hash and the verdict of `arguments`; `typed`: rebuilt from typed parameters
/// (not the raw arguments as sent), whose types may already guarantee the schema.
fn hash_and_check(
    compiled: Option<&Compiled>,
    arguments: &Value,
    typed: bool,
    unseen: &[&str],
    attrs: &mut Vec<KeyValue>,
) {
    #[cfg(feature = "args-hash")]
    attrs.push(KeyValue::new(
        keys::ARGS_HASH,
        crate::signals::hash::configured_hash(arguments),
    ));
    #[cfg(feature = "schema-check")]
    if let Some(compiled) = compiled {
        compiled.check(arguments, typed, unseen, attrs);
    }
    let _ = (compiled, arguments, typed, unseen, attrs);
}

/// The hash and the skipped verdict of arguments too large to copy into the scope.
fn oversized_signals(
    compiled: Option<&Compiled>,
    oversized: &crate::scope::Oversized,
    attrs: &mut Vec<KeyValue>,
) {
    #[cfg(feature = "args-hash")]
    if let Some(hash) = &oversized.hash {
        attrs.push(KeyValue::new(keys::ARGS_HASH, hash.clone()));
    }
    #[cfg(feature = "schema-check")]
    if compiled.is_some() {
        attrs.push(KeyValue::new(keys::SCHEMA_SKIPPED, "too_large"));
    }
    let _ = (compiled, oversized, attrs);
}

/// Starts a `resources/read` span. `uri` is called (once) only when the span records
/// or the read is tracked. Not generic, so that its code exists once.
#[inline(always)]
pub fn start_resource(
    meta: &'static ResourceMeta,
    session: Option<&str>,
    uri: &mut dyn FnMut() -> String,
) -> Call {
    match crate::tracer::current() {
        None => Call::default(),
        Some(tracer) => start_resource_traced(&tracer, meta, session, uri),
    }
}

/// [`start_resource`] once a tracer is installed.
#[inline(never)]
fn start_resource_traced(
    tracer: &global::BoxedTracer,
    meta: &'static ResourceMeta,
    session: Option<&str>,
    uri: &mut dyn FnMut() -> String,
) -> Call {
    let base = |attrs: &mut Vec<KeyValue>| {
        attrs.push(KeyValue::new(keys::METHOD, keys::RESOURCES_READ));
    };
    let Some(mut begun) = begin_with(tracer, keys::RESOURCES_READ, base, scope::claim, None) else {
        return Call::default();
    };
    let session = begun.session(session);
    let read_scope = begun.read_scope(session);
    let tracked = cfg!(feature = "read-tracking") && read_scope.is_some();
    #[cfg_attr(not(feature = "metrics"), allow(unused_mut))]
    let mut cache_hit: Option<bool> = None;
    if begun.recording || tracked {
        let uri = uri();
        let mut attrs = Vec::with_capacity(10);
        track_read(read_scope, &uri, &mut attrs);
        #[cfg(feature = "metrics")]
        {
            cache_hit = bool_attribute(&attrs, keys::CACHE_HIT);
        }
        if begun.recording {
            begun.common_attributes(session, &mut attrs);
            uri_attributes(&uri, meta.uri_mode, &mut attrs);
            if let Some(name) = meta.name {
                attrs.push(KeyValue::new(keys::RESOURCE_NAME, name));
            }
            if let Some(template) = meta.template {
                attrs.push(KeyValue::new(keys::RESOURCE_TEMPLATE, template));
            }
            begun.span.set_attributes(attrs);
        }
    }
    #[cfg(feature = "metrics")]
    {
        let operation = begun.operation(keys::RESOURCES_READ).map(|mut operation| {
            operation.cache_hit(cache_hit);
            operation
        });
        begun.into_call(true, operation)
    }
    #[cfg(not(feature = "metrics"))]
    {
        let _ = cache_hit;
        begun.into_call(true, ())
    }
}

/// What the read's URI exports under `mode` (the handler's own, else the global one):
/// the bounded URI, nothing, or its keyed digest.
pub(crate) fn uri_attributes(uri: &str, mode: Option<UriMode>, attrs: &mut Vec<KeyValue>) {
    match mode.unwrap_or(crate::settings::get().uri_mode) {
        UriMode::Template => {}
        UriMode::TemplateDigest => attrs.push(KeyValue::new(
            keys::RESOURCE_URI_DIGEST,
            crate::digest::keyed(uri),
        )),
        _ => bounds::push_bounded(attrs, keys::RESOURCE_URI, uri, bounds::MAX_URI_BYTES),
    }
}

/// What reads are counted within.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "read-tracking"), allow(dead_code))]
enum ReadScope<'a> {
    Session(&'a str),
    /// One trace, named by the request's `_meta`, when there is no session.
    Trace(opentelemetry::trace::TraceId),
}

/// Counts a read of `uri` within `scope` and records `cache_hit`, `read_count` and
/// `read_scope`.
fn track_read(scope: Option<ReadScope<'_>>, uri: &str, attrs: &mut Vec<KeyValue>) {
    #[cfg(feature = "read-tracking")]
    if let Some(scope) = scope {
        use crate::signals::tracker;
        let now = std::time::Instant::now();
        let (count, name) = match scope {
            ReadScope::Session(session) => (tracker::global().record(session, uri, now), "session"),
            ReadScope::Trace(trace) => {
                let key = trace.to_string();
                (tracker::per_trace().record(&key, uri, now), "trace")
            }
        };
        attrs.push(KeyValue::new(keys::CACHE_HIT, count > 1));
        attrs.push(KeyValue::new(
            keys::READ_COUNT,
            i64::try_from(count).unwrap_or(i64::MAX),
        ));
        attrs.push(KeyValue::new(keys::READ_SCOPE, name));
    }
    let _ = (scope, uri, attrs);
}

impl Call {
    /// Makes the span current (parent of spans the handler starts) and watches for a
    /// panic until dropped.
    #[inline]
    pub fn enter(&self) -> Entered<'_> {
        Entered {
            call: self,
            _guard: self.active.as_ref().map(|a| a.cx.clone().attach()),
        }
    }

    /// Renames the span (a target found unknown only once the call answered).
    #[cfg(feature = "wire")]
    pub(crate) fn rename(&self, name: String) {
        if let Some(active) = self.active.as_ref().filter(|a| a.recording) {
            active.cx.span().update_name(name);
        }
    }

    /// The prompt of a `prompts/get` on the metric, once the call has answered
    /// whether the server knows it.
    #[cfg(all(feature = "wire", feature = "metrics"))]
    pub(crate) fn metric_prompt(&mut self, prompt: opentelemetry::StringValue) {
        if let Some(operation) = self.active.as_mut().and_then(|a| a.metric.as_mut()) {
            operation.prompt(prompt);
        }
    }

    /// Adds `attributes` to the span, if it records (what an adapter learns from the
    /// answer).
    #[cfg(feature = "wire")]
    pub(crate) fn add_attributes(&self, attributes: Vec<KeyValue>) {
        if let Some(active) = self.active.as_ref().filter(|a| a.recording) {
            active.cx.span().set_attributes(attributes);
        }
    }

    /// Links the span to `target` (a task it is about), if it records.
    #[cfg(feature = "wire")]
    pub(crate) fn add_link(&self, target: opentelemetry::trace::SpanContext) {
        if let Some(active) = self.active.as_ref().filter(|a| a.recording) {
            active.cx.span().add_link(target, Vec::new());
        }
    }

    /// The span's context, if there is a span.
    #[cfg(feature = "wire")]
    pub(crate) fn span_context(&self) -> Option<opentelemetry::trace::SpanContext> {
        let active = self.active.as_ref()?;
        Some(active.cx.span().span_context().clone())
    }

    /// Adds the event `name` to the span, if it records.
    #[cfg(all(feature = "wire", feature = "args-hash"))]
    pub(crate) fn add_event(&self, name: &'static str, attributes: Vec<KeyValue>) {
        if let Some(active) = self.active.as_ref().filter(|a| a.recording) {
            active.cx.span().add_event(name, attributes);
        }
    }

    /// The call without its request scope, to be kept inside that scope.
    #[cfg(feature = "wire")]
    pub(crate) fn without_scope(mut self) -> Self {
        if let Some(active) = self.active.as_mut() {
            active.scope = None;
        }
        self
    }

    /// Whether the span records, so the outcome is worth classifying.
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.active.as_ref().is_some_and(|a| a.recording)
    }

    /// Whether [`Call::finish_with`] wants the call's outcome: the span records, the
    /// metric is kept, or the call may be a round of a multi-round one. Generated code
    /// classifies the result only then.
    #[inline(always)]
    pub fn wants_outcome(&self) -> bool {
        self.active.as_ref().is_some_and(|a| a.wants_outcome())
    }

    /// Ends the span with the call's outcome (`Some` when [`Call::wants_outcome`]).
    #[inline(always)]
    pub fn finish_with(mut self, outcome: Option<Outcome>) {
        if let Some(active) = self.active.take() {
            active.finish(outcome, None);
        }
    }

    /// Ends the span with the outcome `outcome` gives (asked only when wanted), at
    /// `end` when given (a call measured before its span was built), else now.
    #[inline]
    #[cfg_attr(not(feature = "wire"), allow(dead_code))]
    pub(crate) fn finish_at(
        mut self,
        outcome: impl FnOnce() -> Outcome,
        end: Option<std::time::SystemTime>,
    ) {
        if let Some(active) = self.active.take() {
            let outcome = active.wants_outcome().then(outcome);
            active.finish(outcome, end);
        }
    }
}

impl Active {
    /// Ends the span with the call's outcome (unless it already ended), and records
    /// the call on the operation-duration metric. `outcome` is `Some` when the span
    /// records or the metric is kept.
    #[inline(never)]
    fn finish(self: Box<Self>, outcome: Option<Outcome>, end: Option<std::time::SystemTime>) {
        let mut active = self;
        // Owned, so no other thread can see the flag: a plain write, not an atomic
        // exchange (a locked instruction waits for every pending store to land).
        if std::mem::replace(active.ended.get_mut(), true) {
            return;
        }
        // One clock read for the span's end and the metric's duration, and none for a
        // span that does not record with no metric.
        let end = end
            .or_else(|| (active.recording || active.has_metric()).then(std::time::SystemTime::now));
        let span = active.cx.span();
        // The metric's error type and status code, from the same outcome.
        let mut failure: (Option<opentelemetry::StringValue>, Option<String>) = (None, None);
        #[cfg(feature = "wire")]
        let input_required = matches!(outcome, Some(Outcome::InputRequired));
        match outcome {
            None => {}
            Some(Outcome::Ok(size)) => {
                let attr = match (active.resource, size) {
                    // Text length, or the byte count of a blob.
                    (true, Some(ResultSize::Length(n) | ResultSize::Count(n))) => {
                        Some((keys::CONTENT_LENGTH, n))
                    }
                    (false, Some(ResultSize::Length(n))) => Some((keys::RESULT_LENGTH, n)),
                    (false, Some(ResultSize::Count(n))) => Some((keys::RESULT_COUNT, n)),
                    (false, None) | (true, None) => None,
                };
                if let (true, Some((key, n))) = (active.recording, attr) {
                    span.set_attribute(KeyValue::new(key, i64::try_from(n).unwrap_or(i64::MAX)));
                }
            }
            Some(Outcome::ToolError) => {
                if active.recording {
                    span.set_attribute(KeyValue::new(keys::ERROR_TYPE, "tool_error"));
                    span.set_status(Status::error("tool_error"));
                }
                failure.0 = Some("tool_error".into());
            }
            Some(Outcome::Error {
                error_type,
                rpc_code,
            }) => {
                use crate::handler::jsonrpc;
                let code = rpc_code.map(|code| code.to_string());
                // A code the conventions count as the client's mistake is no failure:
                // the code alone is recorded.
                let failed = rpc_code.is_none_or(jsonrpc::server_failed);
                if active.recording {
                    let mut attrs = Vec::with_capacity(2);
                    if let Some(code) = &code {
                        attrs.push(KeyValue::new(keys::RPC_STATUS, code.clone()));
                    }
                    if failed {
                        // Never the error's own message: it may quote argument values.
                        // A JSON-RPC code's standard text, or the Rust error's type.
                        let description = match rpc_code {
                            Some(code) => std::borrow::Cow::Borrowed(
                                jsonrpc::standard_text(code).unwrap_or(""),
                            ),
                            None => error_type.clone(),
                        };
                        span.set_status(Status::error(description));
                        attrs.push(KeyValue::new(keys::ERROR_TYPE, error_type.clone()));
                    }
                    span.set_attributes(attrs);
                }
                failure = (failed.then(|| error_type.into()), code);
            }
            // A round of a multi-round call: the rounds below say what it records.
            Some(Outcome::InputRequired) => {}
        }
        // Where the call stands in a multi-round call (most calls: a single atomic
        // load finds that it is none).
        #[cfg(feature = "wire")]
        if let Some(scope) = &active.scope
            && (input_required || scope.rounds.later().is_some())
        {
            let mut attrs = Vec::new();
            crate::observe::rounds::finishing(
                scope,
                span.span_context(),
                input_required,
                active.start,
                end,
                #[cfg(feature = "metrics")]
                &mut active.metric,
                &mut attrs,
            );
            if active.recording {
                span.set_attributes(attrs);
            }
        }
        #[cfg(feature = "wire")]
        if active.recording
            && let Some(scope) = &active.scope
        {
            scope.events.note_dropped(&span);
        }
        // A tool span whose result the adapter is about to measure ends once it has.
        #[cfg(feature = "wire")]
        let held = active.recording
            && active
                .scope
                .as_ref()
                .is_some_and(|scope| scope.held_end.hold(&active.cx, end));
        #[cfg(not(feature = "wire"))]
        let held = false;
        if !held {
            match end {
                Some(end) => span.end_with_timestamp(end),
                None => span.end(),
            }
        }
        #[cfg(feature = "metrics")]
        if let (Some(operation), Some(end)) = (active.metric.as_mut(), end) {
            operation.record(end, failure.0, failure.1);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = failure;
    }

    /// Whether the call's outcome is read: the span records, the metric is kept, or
    /// the call may be a round of a multi-round one.
    #[inline(always)]
    fn wants_outcome(&self) -> bool {
        self.recording || self.has_metric() || self.may_ask()
    }

    /// Whether the call may be a round of a multi-round call: its outcome (asked for
    /// input or not) is read even when nothing else records it, so a later round can
    /// link to it.
    #[inline]
    fn may_ask(&self) -> bool {
        #[cfg(feature = "wire")]
        return self.scope.as_ref().is_some_and(|s| s.rounds.may_ask());
        #[cfg(not(feature = "wire"))]
        false
    }

    /// Whether the call is recorded on the operation-duration metric.
    #[inline]
    fn has_metric(&self) -> bool {
        #[cfg(feature = "metrics")]
        return self.metric.is_some();
        #[cfg(not(feature = "metrics"))]
        false
    }
}

impl Drop for Call {
    #[inline]
    fn drop(&mut self) {
        if let Some(active) = self.active.take() {
            active.cancelled();
        }
    }
}

impl Active {
    /// Ends the span of a call dropped unfinished (unless it already ended).
    #[cold]
    fn cancelled(self: Box<Self>) {
        let mut active = self;
        if std::mem::replace(active.ended.get_mut(), true) {
            return;
        }
        let end = std::time::SystemTime::now();
        let span = active.cx.span();
        if active.recording {
            span.set_attribute(KeyValue::new(keys::CANCELLED, true));
        }
        span.end_with_timestamp(end);
        // A call the caller gave up on: its duration (from its first round's start, for
        // a later round of a multi-round call), with no error of the server's.
        #[cfg(feature = "metrics")]
        if let Some(mut operation) = active.metric {
            #[cfg(feature = "wire")]
            if let Some(later) = active.scope.as_ref().and_then(|s| s.rounds.later()) {
                operation.restart(later.started);
            }
            operation.record(end, None, None);
        }
    }
}

/// The span entered for one poll (or one sync call); see [`Call::enter`].
#[derive(Debug)]
pub struct Entered<'a> {
    call: &'a Call,
    _guard: Option<ContextGuard>,
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        let Some(active) = &self.call.active else {
            return;
        };
        if !std::thread::panicking() {
            return;
        }
        if active.ended.swap(true, Ordering::AcqRel) {
            return;
        }
        let end = std::time::SystemTime::now();
        let span = active.cx.span();
        if active.recording {
            span.set_attribute(KeyValue::new(keys::ERROR_TYPE, "panic"));
            span.set_status(Status::error("panic"));
        }
        span.end_with_timestamp(end);
        #[cfg(feature = "metrics")]
        // Only borrowed here: the operation's values are cloned, on a panic alone.
        if let Some(mut operation) = active.metric.clone() {
            // A later round of a multi-round call: the call's, from its first round.
            #[cfg(feature = "wire")]
            if let Some(later) = active.scope.as_ref().and_then(|s| s.rounds.later()) {
                operation.restart(later.started);
            }
            operation.record(end, Some("panic".into()), None);
        }
    }
}

pin_project_lite::pin_project! {
    /// An async handler body, entered on every poll. Yields the body's output and the
    /// call, so generated code can classify the output with its concrete type.
    #[derive(Debug)]
    pub struct Traced<F> {
        #[pin]
        future: F,
        call: Call,
    }
}

impl<F> Traced<F> {
    pub fn new(call: Call, future: F) -> Self {
        Traced { future, call }
    }
}

impl<F: Future> Future for Traced<F> {
    type Output = (F::Output, Call);

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = {
            let _entered = this.call.enter();
            ready!(this.future.poll(cx))
        };
        Poll::Ready((output, std::mem::take(this.call)))
    }
}

/// Spans an adapter emits itself, for calls no traced handler claimed (an unknown or
/// untraced tool, arguments that failed to deserialize) and for other requests.
#[cfg(feature = "wire")]
pub(crate) mod adapter {
    use super::*;
    use crate::bounds::push_in_place;
    use crate::raw_signals::RawSignals;
    use std::time::SystemTime;

    /// The one `tools/call {tool}` span of a call that never reached a traced handler:
    /// shapes, hash and verdict from the raw arguments against the advertised schema.
    /// A tool the server does not know is named `tools/call _OTHER` (cardinality); its
    /// name, bounded, stays in `gen_ai.tool.name` and `mcp.tool.name`.
    pub(crate) fn tool_span(
        name: &str,
        known: bool,
        scope: Arc<ActiveScope>,
        compiled: Option<&Compiled>,
        outcome: Outcome,
        start: SystemTime,
        end: SystemTime,
    ) {
        let call = tool_span_start(name, known, scope.clone(), start);
        tool_span_finish(call, scope, name, known, known, compiled, outcome, end);
    }

    /// The `tools/call` span name of `bounded`.
    fn tool_span_name(bounded: &str, known: bool) -> String {
        let target = if known { bounded } else { keys::OTHER };
        format!("{} {target}", keys::TOOLS_CALL)
    }

    /// Starts the `tools/call` span of a call no traced handler claimed, at `start`:
    /// at its end ([`tool_span`]), or while it runs when something needs the span (a
    /// request the server sends from the tool), named as `known` says so far.
    pub(crate) fn tool_span_start(
        name: &str,
        known: bool,
        scope: Arc<ActiveScope>,
        start: SystemTime,
    ) -> Call {
        let limit = bounds::limit_for(bounds::MAX_NAME_BYTES);
        let bounded = bounds::bounded(name, limit);
        let base = [
            KeyValue::new(keys::METHOD, keys::TOOLS_CALL),
            KeyValue::new(keys::OPERATION, keys::EXECUTE_TOOL),
            KeyValue::new(keys::GEN_AI_TOOL, bounded.clone().into_owned()),
            KeyValue::new(keys::MCP_TOOL, bounded.clone().into_owned()),
        ];
        // Marked with the later attributes: one `mcp.trace.truncated` list per span.
        let name_cut = bounded.len() < name.len();
        let span_name = tool_span_name(&bounded, known);
        let base = move |attrs: &mut Vec<KeyValue>| attrs.extend(base);
        let Some(mut begun) = begin(span_name, base, || Some(scope), Some(start)) else {
            return Call::default();
        };
        if begun.recording {
            let mut attrs = Vec::with_capacity(16);
            if name_cut {
                bounds::mark_truncated(&mut attrs, keys::GEN_AI_TOOL);
                bounds::mark_truncated(&mut attrs, keys::MCP_TOOL);
            }
            begun.common_attributes(begun.session(None), &mut attrs);
            begun.span.set_attributes(attrs);
        }
        #[cfg(feature = "metrics")]
        let metric = begun.operation(keys::TOOLS_CALL);
        #[cfg(not(feature = "metrics"))]
        let metric = ();
        begun.into_call(false, metric)
    }

    /// Ends a span from [`tool_span_start`] at `end`: the shapes, hash and verdict of the
    /// raw arguments, the name as `known` says now (`started_known`: as it was named),
    /// the outcome; the metric carries the tool (`_OTHER` unless known) and the verdict.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn tool_span_finish(
        mut call: Call,
        scope: Arc<ActiveScope>,
        name: &str,
        started_known: bool,
        known: bool,
        compiled: Option<&Compiled>,
        outcome: Outcome,
        end: SystemTime,
    ) {
        let Some(active) = call.active.as_mut() else {
            return;
        };
        let limit = bounds::limit_for(bounds::MAX_NAME_BYTES);
        let bounded = bounds::bounded(name, limit);
        // The scope goes back on the call, for what is noted as it ends.
        active.scope = Some(scope.clone());
        let data = Some(&scope.data);
        #[cfg(feature = "metrics")]
        let mut verdict = None;
        // Runs are per tool the server knows, the rest together; within the session,
        // else the trace `_meta` named.
        let counted = if known { &*bounded } else { keys::OTHER };
        let alias = (!known).then_some(&*bounded);
        let within = match &scope.data.session_id {
            Some(session) => Some(ReadScope::Session(session)),
            // A valid trace context from `_meta` (or the request's headers) only.
            None if active.meta_parent => {
                Some(ReadScope::Trace(active.cx.span().span_context().trace_id()))
            }
            None => None,
        };
        let mut repeated = None;
        // Taken by the adapter before the request moved on, or from the copy kept.
        let mut precomputed = data
            .and_then(|d| d.precomputed.as_ref())
            .and_then(crate::raw_signals::Precomputed::take);
        if active.recording {
            let span = active.cx.span();
            if started_known != known {
                span.update_name(tool_span_name(&bounded, known));
            }
            let mut attrs = Vec::with_capacity(16);
            if let Some(signals) = precomputed.take() {
                signals.record(&mut attrs, true);
            } else if let Some(raw) = data.and_then(|d| d.arguments.as_ref()) {
                RawSignals::of(compiled, raw, false).record(&mut attrs, true);
            } else if let Some(oversized) = data.and_then(|d| d.oversized.as_ref()) {
                oversized_signals(compiled, oversized, &mut attrs);
            }
            repeated = repeat_run(within, counted, alias, Some(&scope), &mut attrs);
            #[cfg(feature = "metrics")]
            {
                verdict = bool_attribute(&attrs, keys::SCHEMA_VALID);
            }
            span.set_attributes(attrs);
        } else if within.is_some() {
            // Not recording: the hash alone, so that the run goes on and the metric
            // says whether the call repeats.
            let mut scratch = Vec::new();
            if let Some(signals) = &precomputed {
                signals.record_hash(&mut scratch);
            } else if let Some(raw) = data.and_then(|d| d.arguments.as_ref()) {
                hash_and_check(None, raw, false, &[], &mut scratch);
            } else if let Some(oversized) = data.and_then(|d| d.oversized.as_ref()) {
                oversized_signals(None, oversized, &mut scratch);
            }
            repeated = repeat_run(within, counted, alias, Some(&scope), &mut scratch);
        }
        // Only a name the server knows goes on the metric: an unknown one is the
        // client's (cardinality). Not recording, the metric still carries the verdict
        // of the raw arguments (a call whose arguments failed to deserialize never
        // reached a handler that would have checked them).
        #[cfg(feature = "metrics")]
        if let Some(operation) = active.metric.take() {
            if !active.recording {
                verdict = match &precomputed {
                    Some(signals) => signals.verdict(),
                    None => raw_verdict(compiled, Some(&scope)),
                };
            }
            let tool = if known {
                opentelemetry::StringValue::from(bounded.into_owned())
            } else {
                keys::OTHER.into()
            };
            let mut operation = operation.tool(tool);
            operation.schema_valid(verdict);
            operation.repeated(repeated);
            active.metric = Some(operation);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (bounded, repeated);
        drop(scope);
        call.finish_at(|| outcome, Some(end));
    }

    /// The span of a task a `tools/call` of `tool` created (`known`: a tool the server
    /// advertises, else `_OTHER`): `task {tool}`, the child of `parent` (the creating
    /// request's span), with the connection's attributes of `data`. No metric: the
    /// call that created it is counted.
    pub(crate) fn task_span(
        tool: &str,
        known: bool,
        parent: &opentelemetry::Context,
        data: &scope::ScopeData,
    ) -> Call {
        let Some(tracer) = crate::tracer::current() else {
            return Call::default();
        };
        let bounded = bounds::bounded(tool, bounds::limit_for(bounds::MAX_NAME_BYTES));
        let target = if known { &*bounded } else { keys::OTHER };
        let mut builder =
            SpanBuilder::from_name(format!("task {target}")).with_kind(SpanKind::Internal);
        let mut attrs = vec![
            KeyValue::new(keys::GEN_AI_TOOL, bounded.clone().into_owned()),
            KeyValue::new(keys::MCP_TOOL, bounded.clone().into_owned()),
        ];
        connection_attributes(data, &mut attrs);
        builder.attributes = Some(attrs);
        let span = tracer.build_with_context(builder, parent);
        let recording = span.is_recording();
        if !recording && !span.span_context().is_valid() {
            return Call::default();
        }
        Call {
            active: Some(Box::new(Active {
                cx: parent.with_span(span),
                recording,
                meta_parent: false,
                resource: false,
                ended: AtomicBool::new(false),
                #[cfg(feature = "metrics")]
                metric: None,
                scope: None,
                start: None,
            })),
        }
    }

    /// The `resources/read` span of a read no traced handler claimed.
    pub(crate) fn resource_span(
        uri: &str,
        scope: Arc<ActiveScope>,
        outcome: Outcome,
        start: SystemTime,
        end: SystemTime,
    ) {
        let base = |attrs: &mut Vec<KeyValue>| {
            attrs.push(KeyValue::new(keys::METHOD, keys::RESOURCES_READ));
        };
        let Some(mut begun) = begin(keys::RESOURCES_READ, base, || Some(scope), Some(start)) else {
            return;
        };
        let session = begun.session(None);
        let mut attrs = Vec::with_capacity(8);
        track_read(begun.read_scope(session), uri, &mut attrs);
        #[cfg(feature = "metrics")]
        let metric = {
            begun.operation(keys::RESOURCES_READ).map(|mut operation| {
                operation.cache_hit(bool_attribute(&attrs, keys::CACHE_HIT));
                operation
            })
        };
        #[cfg(not(feature = "metrics"))]
        let metric = ();
        if begun.recording {
            begun.common_attributes(session, &mut attrs);
            uri_attributes(uri, None, &mut attrs);
            begun.span.set_attributes(attrs);
        }
        begun
            .into_call(true, metric)
            .finish_at(|| outcome, Some(end));
    }

    /// A span `{method}` or `{method} {target}` around any other request, current while
    /// the inner handler runs; both bounded.
    pub(crate) fn request_span(
        method: &str,
        target: Option<(&'static str, &str)>,
        scope: Arc<ActiveScope>,
    ) -> Call {
        request_span_at(method, target, scope, None)
    }

    /// [`request_span`], started at `start` (a message read earlier than it is
    /// observed) rather than now.
    pub(crate) fn request_span_at(
        method: &str,
        target: Option<(&'static str, &str)>,
        scope: Arc<ActiveScope>,
        start: Option<SystemTime>,
    ) -> Call {
        // On the metric, a method outside the convention's set is `_OTHER`: the raw
        // string is the client's (cardinality).
        #[cfg(feature = "metrics")]
        let metric_method = crate::metrics::known_method(method);
        let method =
            bounds::bounded(method, bounds::limit_for(bounds::MAX_NAME_BYTES)).into_owned();
        let mut base = [Some(KeyValue::new(keys::METHOD, method.clone())), None];
        let mut target_cut = None;
        let name = match target {
            Some((key, target)) => {
                let bounded = bounds::bounded(target, bounds::limit_for(bounds::MAX_NAME_BYTES));
                if bounded.len() < target.len() {
                    target_cut = Some(key);
                }
                base[1] = Some(KeyValue::new(key, bounded.clone().into_owned()));
                format!("{method} {bounded}")
            }
            None => method,
        };
        let base = move |attrs: &mut Vec<KeyValue>| attrs.extend(base.into_iter().flatten());
        let Some(mut begun) = begin(name, base, || Some(scope), start) else {
            return Call::default();
        };
        if begun.recording {
            let mut attrs = Vec::with_capacity(6);
            // Marked with the later attributes: one `mcp.trace.truncated` list per span.
            if let Some(key) = target_cut {
                bounds::mark_truncated(&mut attrs, key);
            }
            begun.common_attributes(begun.session(None), &mut attrs);
            begun.span.set_attributes(attrs);
        }
        #[cfg(feature = "metrics")]
        let metric = begun.operation(metric_method);
        #[cfg(not(feature = "metrics"))]
        let metric = ();
        begun.into_call(false, metric)
    }

    /// The SERVER span of an inbound notification, current while its handler runs:
    /// named `name` (the conventions' method, or `_OTHER`: a notification's method is
    /// the client's choice, and none of it is exported outside the set), with
    /// `mcp.method.name` the same, where it arrived (`arrival`), `attributes`, and a
    /// link to `link` (the span of the request it is about). Counted on the
    /// operation-duration metric under `name`. No request scope is built: a
    /// notification needs none, and one would cost more than the span.
    pub(crate) fn notification_span(
        name: &'static str,
        attributes: impl FnOnce(&mut Vec<KeyValue>),
        link: impl FnOnce() -> Option<opentelemetry::trace::SpanContext>,
        arrival: &Arrival<'_>,
    ) -> Call {
        let Some(started) = start_notification(name, attributes, link, arrival) else {
            return Call::default();
        };
        // The box before its contents: they are then built in it, not on the stack
        // and copied in (a 256-byte copy read back before its writes had landed).
        let slot = Box::new_uninit();
        // The span in its parent's context: the current one, unless `_meta` named one.
        let cx = match started.parent {
            Some(parent) => parent.with_span(started.span),
            None => Context::map_current(|current| current.with_span(started.span)),
        };
        Call {
            active: Some(Box::write(
                slot,
                Active {
                    cx,
                    recording: started.recording,
                    meta_parent: false,
                    resource: false,
                    ended: AtomicBool::new(false),
                    #[cfg(feature = "metrics")]
                    metric: started
                        .metric_start
                        .map(|start| notification_operation(name, start, arrival)),
                    scope: None,
                    start: None,
                },
            )),
        }
    }

    /// The same span for a notification nothing runs inside (one a proxy relays):
    /// started and ended at once, never made current, so it needs neither a context
    /// nor a call of its own.
    pub(crate) fn notification_seen(
        name: &'static str,
        attributes: impl FnOnce(&mut Vec<KeyValue>),
        link: impl FnOnce() -> Option<opentelemetry::trace::SpanContext>,
        arrival: &Arrival<'_>,
    ) {
        let Some(mut started) = start_notification(name, attributes, link, arrival) else {
            return;
        };
        let span = &mut started.span;
        #[cfg(feature = "metrics")]
        let end = (started.recording || started.metric_start.is_some()).then(SystemTime::now);
        #[cfg(not(feature = "metrics"))]
        let end = started.recording.then(SystemTime::now);
        match end {
            Some(end) => span.end_with_timestamp(end),
            None => span.end(),
        }
        #[cfg(feature = "metrics")]
        if let (Some(start), Some(end)) = (started.metric_start, end) {
            notification_operation(name, start, arrival).record(end, None, None);
        }
    }

    /// A notification's span as it starts, and what ends it.
    struct StartedNotification {
        span: BoxedSpan,
        /// The context `_meta` named as its parent; `None`: the current one.
        parent: Option<Context>,
        recording: bool,
        /// When the metric's duration starts, if the call is counted: its operation is
        /// built where it is kept ([`notification_operation`]), not here and moved.
        #[cfg(feature = "metrics")]
        metric_start: Option<SystemTime>,
    }

    /// The operation-duration record of a notification `name` that arrived as
    /// `arrival` says, started at `start`.
    #[cfg(feature = "metrics")]
    #[inline(always)]
    fn notification_operation(
        name: &'static str,
        start: SystemTime,
        arrival: &Arrival<'_>,
    ) -> crate::metrics::Operation {
        let mut operation = crate::metrics::Operation::new(name, start);
        if let Some(version) = arrival.protocol {
            operation.protocol(version);
        }
        if let Some(transport) = arrival.transport {
            operation.transport(transport.as_str());
        }
        if let Some(protocol) = arrival.network {
            operation.network_protocol(protocol);
        }
        operation
    }

    /// Starts a notification's span (see [`notification_span`]); `None` when no span
    /// is made.
    fn start_notification(
        name: &'static str,
        attributes: impl FnOnce(&mut Vec<KeyValue>),
        link: impl FnOnce() -> Option<opentelemetry::trace::SpanContext>,
        arrival: &Arrival<'_>,
    ) -> Option<StartedNotification> {
        let tracer = crate::tracer::current()?;
        let meta = |key: &str| {
            arrival
                .meta
                .and_then(|meta| meta.get(key))
                .and_then(Value::as_str)
        };
        // Most notifications carry no trace context: one lookup finds that out.
        let (parent, from_meta) = match meta("traceparent") {
            Some(traceparent) => {
                let (parent, ambient) =
                    parent_from(Some(traceparent), meta("tracestate"), meta("baggage"));
                (Some(parent), ambient)
            }
            None => (None, None),
        };
        let mut all = Vec::with_capacity(12);
        push_in_place(&mut all, keys::METHOD, name);
        if let Some(session) = arrival.session {
            push_session(session, &mut all);
        }
        if let Some(version) = arrival.protocol {
            bounds::push_protocol(&mut all, version);
        }
        if let Some(transport) = arrival.transport {
            push_in_place(&mut all, keys::TRANSPORT, transport.as_str());
        }
        if let Some((protocol, version)) = arrival.network {
            push_in_place(&mut all, keys::NETWORK_PROTOCOL, protocol);
            push_in_place(&mut all, keys::NETWORK_PROTOCOL_VERSION, version);
        }
        if let Some((address, port)) = arrival.client {
            push_in_place(&mut all, keys::CLIENT_ADDRESS, address.to_string());
            if let Some(port) = port {
                push_in_place(&mut all, keys::CLIENT_PORT, i64::from(port));
            }
        }
        attributes(&mut all);
        let metric = metric_wanted();
        let start = arrival.at.or_else(|| metric.then(SystemTime::now));
        #[cfg(feature = "metrics")]
        let metric_start = start.filter(|_| metric);
        let mut builder = SpanBuilder::from_name(name);
        builder.span_kind = Some(SpanKind::Server);
        builder.attributes = Some(all);
        builder.start_time = start;
        builder.links = from_meta.flatten().map(|ambient| vec![ambient]);
        let (mut span, suppressed) = match &parent {
            Some(parent) => (
                tracer.build_with_context(builder, parent),
                parent.is_telemetry_suppressed(),
            ),
            None => Context::map_current(|current| {
                (
                    tracer.build_with_context(builder, current),
                    current.is_telemetry_suppressed(),
                )
            }),
        };
        let recording = span.is_recording();
        if !recording && !span.span_context().is_valid() {
            if !suppressed {
                crate::tracer::found_inert();
            }
            return None;
        }
        if recording && let Some(target) = link() {
            span.add_link(target, Vec::new());
        }
        Some(StartedNotification {
            span,
            parent,
            recording,
            #[cfg(feature = "metrics")]
            metric_start,
        })
    }

    /// The span of a line on stdin that is not JSON (answered `-32700`): `_OTHER`,
    /// with the line's size in bytes and nothing of its content. See
    /// `rmcp::stdio::stdio` for the choice of name and attributes.
    pub(crate) fn parse_error_span(size: u64, transport: scope::Transport) {
        // The conventions count a parse error as the client's mistake, not the
        // server's failure: the code alone, no `error.type`, no error status.
        let attributes = [
            KeyValue::new(keys::METHOD, keys::OTHER),
            KeyValue::new(keys::RPC_STATUS, "-32700"),
            KeyValue::new(keys::TRANSPORT, transport.as_str()),
            KeyValue::new(keys::REQUEST_SIZE, i64::try_from(size).unwrap_or(i64::MAX)),
        ];
        let attributes = move |attrs: &mut Vec<KeyValue>| attrs.extend(attributes);
        let Some(mut begun) = begin(keys::OTHER, attributes, || None, None) else {
            return;
        };
        let end = SystemTime::now();
        begun.span.end_with_timestamp(end);
        // Counted on the metric too: a client sending garbage shows by its code.
        #[cfg(feature = "metrics")]
        if let Some(mut operation) = begun.operation(keys::OTHER) {
            operation.transport(transport.as_str());
            operation.record(end, None, Some("-32700".to_owned()));
        }
    }
}
