//! Runtime of [mcp-trace](https://docs.rs/mcp-trace): what `#[traced_tool]` and
//! `#[traced_resource]` expand to call, the request scope, and exporter setup.
//!
//! Depend on the `mcp-trace` facade instead of this crate; everything public here is
//! re-exported there, and `__private` is not a stable API.

#![warn(missing_debug_implementations, unreachable_pub)]
#![cfg_attr(not(feature = "enable"), allow(dead_code, unused_imports))]
// The parts of the observer only the rmcp integration uses (tasks, the typed adapter's
// helpers) are dead code for the wire observer alone (`mcp-trace proxy`).
#![cfg_attr(all(feature = "wire", not(feature = "rmcp")), allow(dead_code))]

#[cfg(feature = "enable")]
mod bounds;
#[cfg(feature = "enable")]
mod call;
#[cfg(feature = "enable")]
mod digest;
#[cfg(feature = "docs")]
pub mod docs;
mod export;
#[cfg(feature = "enable")]
mod handler;
#[cfg(feature = "enable")]
mod keys;
#[cfg(all(feature = "enable", feature = "metrics"))]
mod metrics;
#[cfg(all(feature = "enable", feature = "wire"))]
mod observe;
#[cfg(all(feature = "enable", feature = "rmcp"))]
pub mod rmcp;
/// The observer of JSON-RPC messages as they cross the wire, for code that relays or
/// speaks JSON-RPC itself (`mcp-trace proxy`): messages in, spans and metrics out.
#[cfg(all(feature = "enable", feature = "wire"))]
pub mod wire {
    pub use crate::observe::wire::{Http, Observer, Sender};
}
#[cfg(all(feature = "enable", feature = "wire"))]
mod raw_signals;
mod scope;
#[cfg(all(feature = "enable", feature = "metrics"))]
mod session_duration;
mod settings;
mod signals;
#[cfg(feature = "enable")]
mod tracer;

#[cfg(feature = "enable")]
pub use bounds::{MAX_NAME_BYTES, MAX_URI_BYTES, TRUNCATED_KEY};
#[cfg(all(feature = "enable", feature = "logs"))]
pub use export::logs::{LogsExporter, default_logs_path};
#[cfg(all(feature = "enable", feature = "metrics"))]
pub use export::meters::{MetricsExporter, default_metrics_path};

/// Logs, the third signal: the `tracing` layer that makes events log records carrying
/// their span's ids, and the logger provider mcp-trace logs through.
#[cfg(all(feature = "enable", feature = "logs"))]
pub mod logs {
    pub use crate::export::logs::{layer, set_provider};
}
pub use export::setup::{
    Builder, Exporter, InitError, TelemetryGuard, default_file_path, dropped_spans, init,
};
pub use scope::{ClaimedFlag, RequestScope, Scoped, Transport, scope};
pub use settings::{DEFAULT_SCHEMA_CHECK_MAX_BYTES, MAX_LOG_BODY_BYTES, SessionIdExport, UriMode};
#[cfg(feature = "args-hash")]
pub use signals::hash::args_hash;
#[cfg(all(feature = "enable", feature = "schema-check"))]
pub use signals::schema::MAX_COUNTED_BYTES;
#[cfg(feature = "enable")]
pub use tracer::provider_changed;

/// Tells traced calls to read the global tracer provider again (with the `enable`
/// feature off: does nothing).
#[cfg(not(feature = "enable"))]
pub fn provider_changed() {}

/// What `mcp.resource.uri_digest` carries for `uri` when a resource exports
/// [`UriMode::TemplateDigest`]: a keyed digest (the session key, see
/// [`Builder::session_key`]). Use it to find the reads of a URI you know.
///
/// ```
/// let digest = mcp_trace_runtime::resource_uri_digest("users://ada@example.com/profile");
/// assert_eq!(digest.len(), 32);
/// // Hex digits only: nothing of the address (whose "ada" a digest may spell by chance).
/// assert!(digest.chars().all(|c| c.is_ascii_hexdigit()));
/// assert!(!digest.contains("example"));
/// ```
#[cfg(feature = "enable")]
pub fn resource_uri_digest(uri: &str) -> String {
    digest::keyed(uri)
}

/// Sessions of the duplicate-read tracker.
pub mod session {
    pub use crate::signals::tracker::ReadTrackerLimits;

    /// What `mcp.session.id` carries for session `id`: its keyed digest (the default)
    /// or, when raw ids were opted in to, the id itself. Use it to find a session's
    /// spans in a backend from the id in your own logs.
    ///
    /// ```
    /// let exported = mcp_trace_runtime::session::exported_id("0b5c…");
    /// # #[cfg(feature = "enable")]
    /// assert_eq!(exported.len(), 32);
    /// ```
    pub fn exported_id(id: &str) -> String {
        #[cfg(feature = "enable")]
        return crate::digest::session_attribute(id);
        #[cfg(not(feature = "enable"))]
        id.to_owned()
    }

    /// Session `id` starts now: with the `metrics` feature, its duration goes on
    /// `mcp.server.session.duration` when it ends ([`end`], [`end_with_error`], or the
    /// telemetry guard dropped at exit). The protocol version and transport come from
    /// the current request scope, if one is set. The rmcp adapter calls this itself;
    /// a server of your own calls it where a session begins, before or inside its
    /// first request's scope.
    ///
    /// ```
    /// mcp_trace_runtime::scope()
    ///     .protocol_version("2025-06-18")
    ///     .transport(mcp_trace_runtime::Transport::Tcp)
    ///     .run_sync(|| mcp_trace_runtime::session::start("a-session-id"));
    /// // … the session's requests …
    /// mcp_trace_runtime::session::end("a-session-id");
    /// ```
    pub fn start(id: &str) {
        #[cfg(all(feature = "enable", feature = "metrics"))]
        {
            let now = std::time::SystemTime::now();
            let key = crate::session_duration::Key::of(id);
            let in_scope = crate::scope::peek(|data| {
                crate::session_duration::start(key, now, crate::session_duration::Carried::of(data))
            });
            if in_scope.is_none() {
                crate::session_duration::start(key, now, Default::default());
            }
        }
        let _ = id;
    }

    /// Session `id` ended: its reads are forgotten now, instead of waiting for them to
    /// expire, and its duration is recorded if [`start`] saw it begin.
    pub fn end(id: &str) {
        #[cfg(all(feature = "enable", feature = "read-tracking"))]
        crate::signals::tracker::global().end(id);
        #[cfg(all(feature = "enable", feature = "args-hash"))]
        crate::signals::repeats::end(id);
        #[cfg(all(feature = "enable", feature = "metrics"))]
        crate::session_duration::end(crate::session_duration::Key::of(id), None);
        let _ = id;
    }

    /// As [`end`], for a session that ended in error: `error_type` (a low-cardinality
    /// name of yours, such as `timeout` or `transport_closed`, never a message) goes on
    /// the duration as `error.type`.
    pub fn end_with_error(id: &str, error_type: &'static str) {
        #[cfg(all(feature = "enable", feature = "read-tracking"))]
        crate::signals::tracker::global().end(id);
        #[cfg(all(feature = "enable", feature = "args-hash"))]
        crate::signals::repeats::end(id);
        #[cfg(all(feature = "enable", feature = "metrics"))]
        crate::session_duration::end(crate::session_duration::Key::of(id), Some(error_type));
        let _ = (id, error_type);
    }

    /// Changes the bounds of the read trackers (the sessions' and the traces', each its
    /// own), and of the runs of identical tool calls kept the same way; pairs over the
    /// new cap are evicted at once.
    pub fn set_limits(limits: ReadTrackerLimits) {
        #[cfg(all(feature = "enable", feature = "read-tracking"))]
        crate::signals::tracker::set_limits(limits);
        #[cfg(all(feature = "enable", feature = "args-hash"))]
        crate::signals::repeats::set_limits(limits);
        let _ = limits;
    }
}

/// What generated code calls. Not a stable API.
#[cfg(any(feature = "enable", feature = "docs"))]
#[doc(hidden)]
pub mod __private {
    /// Counts a read in the global read tracker, as a traced resource read does, and
    /// returns the reads so far: for measuring the tracker alone (benchmark 10).
    #[cfg(all(feature = "enable", feature = "read-tracking"))]
    pub fn record_read(session: &str, uri: &str) -> u64 {
        crate::signals::tracker::global().record(session, uri, std::time::Instant::now())
    }
    /// An inbound notification as JSON (`method`, `params`), observed as a proxy
    /// observes one, on a pipe in `session` speaking `protocol`: its span, started and
    /// ended. For measuring a notification span against a bare one.
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub fn observe_notification(
        method: &str,
        params: Option<&serde_json::Map<String, serde_json::Value>>,
        session: Option<&str>,
        protocol: Option<&str>,
    ) {
        crate::observe::raw::connection().notification_received(
            method,
            params,
            session,
            protocol,
            crate::scope::Transport::Pipe,
            None,
        );
    }
    /// The same, with `handle` run inside the span (current), as the rmcp adapter runs
    /// a notification's handler.
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub fn observe_notification_handled(
        method: &str,
        params: Option<&serde_json::Map<String, serde_json::Value>>,
        session: Option<&str>,
        protocol: Option<&str>,
        handle: impl FnOnce(),
    ) {
        let call = crate::observe::raw::connection().notification_started(
            method,
            params,
            session,
            protocol,
            crate::scope::Transport::Pipe,
        );
        crate::observe::raw::handled(call, handle);
    }
    /// How many tool calls had their argument signals taken by the rmcp adapter from
    /// the request itself, and how many of those a traced handler then recorded:
    /// counted in debug builds only (`None` in release), for tests that prove the path.
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub fn taken_signals() -> Option<(usize, usize)> {
        crate::raw_signals::counted()
    }
    #[cfg(feature = "enable")]
    pub use crate::call::{Call, Entered, Traced, start_resource, start_tool};
    #[cfg(feature = "docs")]
    pub use crate::docs::{DocSchema, HandlerDoc, ParamDoc, ParamRole};
    #[cfg(feature = "enable")]
    pub use crate::handler::meta::{ResourceMeta, ToolMeta};
    #[cfg(feature = "enable")]
    pub use crate::handler::outcome::{
        Outcome, ResultShape, ResultSize, SpecialError, SpecialOutcome,
    };
    #[cfg(feature = "enable")]
    pub use crate::handler::probe::{Probe, Split};
    #[cfg(feature = "enable")]
    pub use crate::handler::uri::UriBuilder;
    #[cfg(all(feature = "enable", feature = "rmcp"))]
    pub use crate::rmcp::support::with_context as with_rmcp_context;
    #[cfg(feature = "enable")]
    pub use crate::settings::UriMode;
    #[cfg(feature = "enable")]
    pub use crate::signals::fields::ParamMeta;
    #[cfg(any(all(feature = "enable", feature = "schema-check"), feature = "docs"))]
    pub use crate::signals::schema_build::{SchemaBuilder, TypeProbe};
    #[cfg(feature = "enable")]
    pub use crate::signals::shape::{ArgsRecorder, TypedShape};
    #[cfg(feature = "docs")]
    pub use inventory;

    /// The autoref-specialization traits, imported as `_` by generated code.
    pub mod probe {
        #[cfg(feature = "enable")]
        pub use crate::handler::probe::{
            ErrSpecial, ErrTyped, JsonNone, JsonSerde, OkPlain, OkSized, OkSpecial,
            SessionBorrowed, SessionDisplay, SplitResult, SplitValue,
        };
        #[cfg(all(feature = "enable", feature = "args-shape"))]
        pub use crate::handler::probe::{ShapeNone, ShapeSerde, ShapeTyped};
        #[cfg(any(all(feature = "enable", feature = "schema-check"), feature = "docs"))]
        pub use crate::signals::schema_build::{SchemaAny, SchemaOf, unnamed_type};
    }
}
