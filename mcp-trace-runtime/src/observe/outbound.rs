//! What a side sends its peer while it serves a request. Its own requests (a server
//! asking the client to sample, elicit, list roots, or ping) are CLIENT spans under the
//! span of the request being served, with their context in `_meta`, ended by the
//! peer's answer. Its notifications (progress, log messages) are bounded events on that
//! span and carry the same context.

use super::notification::TokenKind;
use super::{Connection, MetricBase, RequestKey};
use crate::bounds;
use crate::handler::jsonrpc;
use crate::keys;
use crate::scope::ActiveScope;
use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// Most requests of ours awaiting an answer that are traced at once; past it, new ones
/// go untraced until answers come (a peer that never answers must not grow us).
pub(crate) const MAX_SENT: usize = 4096;

/// A log message's payload is measured up to this many bytes; a larger one is recorded
/// as this size (measuring costs a walk over what is measured).
pub(crate) const MAX_MEASURED_PAYLOAD: usize = 1024 * 1024;

/// One request of ours awaiting its answer.
#[derive(Debug)]
struct Sent {
    cx: Context,
    start: SystemTime,
    method: &'static str,
    base: MetricBase,
}

/// Requests this side sent its peer, by id.
#[derive(Debug, Default)]
pub(crate) struct Outbound {
    sent: Mutex<HashMap<RequestKey, Sent>>,
}

impl Outbound {
    fn lock(&self) -> MutexGuard<'_, HashMap<RequestKey, Sent>> {
        self.sent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A span's context as `_meta` carries it (`traceparent`, `tracestate`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct MetaContext {
    pub(crate) traceparent: String,
    pub(crate) tracestate: Option<String>,
}

#[derive(Default)]
struct Carrier {
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl Injector for Carrier {
    fn set(&mut self, key: &str, value: String) {
        match key {
            "traceparent" => self.traceparent = Some(value),
            "tracestate" => self.tracestate = Some(value).filter(|s| !s.is_empty()),
            _ => {}
        }
    }
}

/// The `_meta` trace context of the span in `cx`, if it has a valid one.
pub(crate) fn meta_context(cx: &Context) -> Option<MetaContext> {
    let mut carrier = Carrier::default();
    opentelemetry_sdk::propagation::TraceContextPropagator::new().inject_context(cx, &mut carrier);
    Some(MetaContext {
        traceparent: carrier.traceparent?,
        tracestate: carrier.tracestate,
    })
}

/// How the peer answered one of our requests.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Answer {
    /// A result; for `elicitation/create`, the user's action (`accept`, `decline`,
    /// `cancel`).
    Result { action: Option<&'static str> },
    /// A JSON-RPC error with this code.
    Error { code: i64 },
}

/// `error.type` of a request of ours that got no answer.
pub(crate) const TIMEOUT: &str = "timeout";
pub(crate) const CANCELLED: &str = "cancelled";
pub(crate) const CLOSED: &str = "transport_closed";
pub(crate) const SEND_FAILED: &str = "transport_error";

/// A log message's level, as MCP names it (RFC 5424's eight).
pub(crate) fn known_level(level: &str) -> &'static str {
    const LEVELS: [&str; 8] = [
        "debug",
        "info",
        "notice",
        "warning",
        "error",
        "critical",
        "alert",
        "emergency",
    ];
    LEVELS
        .iter()
        .find(|known| **known == level)
        .copied()
        .unwrap_or(keys::OTHER)
}

impl Connection {
    /// A request this side sends its peer (`id` as text, for `jsonrpc.request.id`),
    /// while serving the request `originating` if it names one: starts its CLIENT span,
    /// the child of that request's span, and returns the context to put in its `_meta`.
    /// `None` when nothing is traced.
    pub(crate) fn request_sent(
        &self,
        key: RequestKey,
        id: &str,
        method: &str,
        originating: Option<RequestKey>,
    ) -> Option<MetaContext> {
        let scope = originating.and_then(|k| self.in_flight.scope_of(k));
        self.request_sent_in(key, id, method, scope)
    }

    /// Most requests of this side's awaiting answers at once.
    fn max_sent(&self) -> usize {
        self.sent_bound.unwrap_or(MAX_SENT).min(MAX_SENT)
    }

    /// [`Self::request_sent`] while serving the request of `scope`, when known.
    pub(crate) fn request_sent_in(
        &self,
        key: RequestKey,
        id: &str,
        method: &str,
        scope: Option<Arc<ActiveScope>>,
    ) -> Option<MetaContext> {
        let tracer = crate::tracer::current()?;
        {
            let sent = self.outbound.lock();
            if sent.len() >= self.max_sent() || sent.contains_key(&key) {
                return None;
            }
        }
        let parent = scope
            .as_ref()
            .and_then(super::request_context)
            .unwrap_or_else(Context::current);
        let method = super::methods::known_method(method);
        let mut attrs = Vec::with_capacity(8);
        attrs.push(KeyValue::new(keys::METHOD, method));
        bounds::push_bounded(&mut attrs, keys::REQUEST_ID, id, bounds::MAX_NAME_BYTES);
        if let Some(scope) = &scope {
            crate::call::connection_attributes(&scope.data, &mut attrs);
        }
        let start = SystemTime::now();
        let mut builder = SpanBuilder::from_name(method)
            .with_kind(SpanKind::Client)
            .with_attributes(attrs);
        builder.start_time = Some(start);
        let span = tracer.build_with_context(builder, &parent);
        let cx = parent.with_span(span);
        let meta = meta_context(&cx);
        let base = metric_base(scope.as_deref());
        let sent = Sent {
            cx,
            start,
            method,
            base,
        };
        // Checked again under the lock that inserts: a request sent meanwhile may have
        // filled the table or taken the id. Then this span is let go outside the lock.
        let refused = {
            let mut table = self.outbound.lock();
            if table.len() >= self.max_sent() || table.contains_key(&key) {
                Some(sent)
            } else {
                table.insert(key, sent);
                None
            }
        };
        drop(refused);
        meta
    }

    /// The peer answered our request `key`: its span ends with the outcome.
    pub(crate) fn answer_received(&self, key: RequestKey, answer: Answer) {
        let Some(sent) = self.outbound.lock().remove(&key) else {
            return;
        };
        match answer {
            Answer::Result { action } => {
                let attrs = action
                    .map(|action| vec![KeyValue::new(keys::ELICITATION_ACTION, action)])
                    .unwrap_or_default();
                end(sent, None, None, attrs);
            }
            // Our request failed, whoever's mistake it was: named by its code.
            Answer::Error { code } => end(sent, Some(code.to_string()), Some(code), Vec::new()),
        }
    }

    /// Our request `key` will get no answer: given up (`cancelled`, `timeout`) or not
    /// sent (`transport_error`).
    pub(crate) fn request_abandoned(&self, key: RequestKey, error_type: &str) {
        let Some(sent) = self.outbound.lock().remove(&key) else {
            return;
        };
        let mut attrs = Vec::new();
        if error_type == CANCELLED {
            attrs.push(KeyValue::new(keys::CANCELLED, true));
        }
        end(sent, Some(error_type.to_owned()), None, attrs);
    }

    /// The connection closed: every request of ours still waiting ends unanswered.
    pub(crate) fn closed(&self) {
        let waiting: Vec<Sent> = self.outbound.lock().drain().map(|(_, s)| s).collect();
        for sent in waiting {
            end(sent, Some(CLOSED.to_owned()), None, Vec::new());
        }
    }

    /// A progress notification this side sends with `token`: an event on the span of
    /// the request that was given the token. Returns that span's context for the
    /// notification's `_meta`.
    pub(crate) fn progress_sent(
        &self,
        token: RequestKey,
        progress: f64,
        total: Option<f64>,
        kind: TokenKind,
    ) -> Option<MetaContext> {
        let scope = self.in_flight.scope_of_token(token)?;
        let cx = super::request_context(&scope)?;
        if cx.span().is_recording() && scope.events.admit() {
            let mut attrs = Vec::with_capacity(3);
            attrs.push(KeyValue::new(keys::PROGRESS_VALUE, progress));
            if let Some(total) = total {
                attrs.push(KeyValue::new(keys::PROGRESS_TOTAL, total));
            }
            attrs.push(KeyValue::new(keys::PROGRESS_TOKEN_TYPE, kind.as_str()));
            cx.span().add_event(keys::PROGRESS_EVENT, attrs);
        }
        meta_context(&cx)
    }

    /// A log message (`notifications/message`) this side sends: an event on the span
    /// of the request it is about. No MCP message names that request, so it is the one
    /// request in flight when exactly one is; otherwise no event is recorded. With the
    /// `logs` feature it is also a log record (see `export::logs`), about that request
    /// when known. Returns that request's context for the message's `_meta`.
    pub(crate) fn log_sent(
        &self,
        level: &str,
        logger: Option<&str>,
        payload: &serde_json::Value,
    ) -> Option<MetaContext> {
        let level = known_level(level);
        let scope = self.in_flight.sole();
        let cx = scope.as_ref().and_then(super::request_context);
        if let (Some(scope), Some(cx)) = (&scope, &cx)
            && cx.span().is_recording()
            && scope.events.admit()
        {
            let mut attrs = Vec::with_capacity(4);
            attrs.push(KeyValue::new(keys::LOG_LEVEL, level));
            if let Some(logger) = logger {
                bounds::push_bounded(&mut attrs, keys::LOG_LOGGER, logger, bounds::MAX_NAME_BYTES);
            }
            let size = bounds::json_size(payload, MAX_MEASURED_PAYLOAD);
            attrs.push(KeyValue::new(
                keys::LOG_DATA_SIZE,
                i64::try_from(size).unwrap_or(i64::MAX),
            ));
            cx.span().add_event(keys::LOG_EVENT, attrs);
        }
        #[cfg(feature = "logs")]
        crate::export::logs::mirror_mcp_log(
            level,
            logger,
            cx.as_ref()
                .map(|cx| cx.span().span_context().clone())
                .as_ref(),
            payload,
        );
        cx.as_ref().and_then(meta_context)
    }
}

/// The metric's connection attributes, from the scope of the request being served.
fn metric_base(scope: Option<&ActiveScope>) -> MetricBase {
    let data = scope.map(|s| &s.data);
    MetricBase {
        transport: data
            .and_then(|d| d.transport)
            .unwrap_or(crate::scope::Transport::Pipe)
            .as_str(),
        server: None,
        protocol: data.and_then(|d| d.protocol_version.clone()),
    }
}

/// Ends a request's span with its outcome, and records it on
/// `mcp.client.operation.duration`.
fn end(sent: Sent, error_type: Option<String>, rpc_code: Option<i64>, mut attrs: Vec<KeyValue>) {
    let now = SystemTime::now();
    let span = sent.cx.span();
    if let Some(code) = rpc_code {
        attrs.push(KeyValue::new(keys::RPC_STATUS, code.to_string()));
    }
    if let Some(error_type) = &error_type {
        attrs.push(KeyValue::new(keys::ERROR_TYPE, error_type.clone()));
        // Never the peer's message (it may quote what the user typed): the code's
        // standard text, else the error type.
        let description = rpc_code
            .and_then(jsonrpc::standard_text)
            .map_or_else(|| error_type.clone(), str::to_owned);
        span.set_status(Status::error(description));
    }
    if !attrs.is_empty() {
        span.set_attributes(attrs);
    }
    span.end_with_timestamp(now);
    #[cfg(feature = "metrics")]
    super::client_metrics::operation(
        &sent.base,
        sent.method,
        None,
        None,
        None,
        error_type.as_deref(),
        rpc_code,
        sent.start,
        now,
    );
    #[cfg(not(feature = "metrics"))]
    let _ = (sent.base, sent.start, sent.method);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_the_specifications_eight_or_other() {
        assert_eq!(known_level("warning"), "warning");
        assert_eq!(known_level("emergency"), "emergency");
        assert_eq!(known_level("WARN"), "_OTHER");
        assert_eq!(known_level(&"x".repeat(1000)), "_OTHER");
    }

    #[test]
    fn nothing_is_traced_without_an_sdk() {
        let connection = Connection::default();
        let key = connection.in_flight.number(1);
        assert!(
            connection
                .request_sent(key, "1", "elicitation/create", None)
                .is_none()
        );
        connection.answer_received(key, Answer::Result { action: None });
        connection.closed();
    }
}
