//! `init()`: the global tracer provider, its exporter chosen from the standard
//! `OTEL_*` environment, and a guard that flushes on drop.
//!
//! Nothing here writes to stdout: on the stdio transport stdout is the protocol.

use crate::settings::{Overrides, SessionIdExport, UriMode};
use crate::signals::tracker::ReadTrackerLimits;
#[cfg(feature = "enable")]
use opentelemetry::KeyValue;
#[cfg(feature = "enable")]
use opentelemetry_sdk::Resource;
#[cfg(feature = "enable")]
use opentelemetry_sdk::error::OTelSdkResult;
#[cfg(feature = "enable")]
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter, SpanProcessor,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exporter {
    /// Decide from the environment (the default): `OTEL_SDK_DISABLED=true` or
    /// `OTEL_TRACES_EXPORTER=none` → none; `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_TRACES_EXPORTER=otlp`) → OTLP/HTTP;
    /// otherwise the embedded OTLP/JSON lines file.
    FromEnv,
    /// No exporter, no provider: spans are not recorded at all.
    None,
    /// OTLP/JSON lines appended to this file (`None`: `MCP_TRACE_FILE`, else the
    /// default path, see [`default_file_path`]).
    File(Option<PathBuf>),
    /// OTLP over HTTP with protobuf, configured by the standard `OTEL_EXPORTER_OTLP_*`
    /// variables (needs the `otlp` feature).
    Otlp,
}

/// Why [`Builder::install`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// The trace file could not be opened.
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The OTLP exporter could not be built.
    Otlp(String),
    /// The bucket boundaries given to `Builder::session_duration_boundaries` (with the
    /// `metrics` feature) were not finite and strictly increasing.
    Boundaries(&'static str),
}

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitError::File { path, source } => {
                write!(f, "cannot open trace file {}: {source}", path.display())
            }
            InitError::Otlp(reason) => write!(f, "cannot build the OTLP exporter: {reason}"),
            InitError::Boundaries(problem) => {
                write!(f, "invalid session-duration bucket boundaries: {problem}")
            }
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::File { source, .. } => Some(source),
            InitError::Otlp(_) | InitError::Boundaries(_) => None,
        }
    }
}

/// Code-side configuration of [`init`].
///
/// ```no_run
/// let _guard = mcp_trace_runtime::Builder::new()
///     .service_name("docs-server")
///     .server_name("docs")
///     .install()
///     .expect("tracing set up");
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    service_name: Option<String>,
    server_name: Option<String>,
    exporter: Exporter,
    #[cfg(all(feature = "enable", feature = "metrics"))]
    metrics_exporter: crate::export::meters::MetricsExporter,
    #[cfg(all(feature = "enable", feature = "metrics"))]
    session_boundaries: Option<Vec<f64>>,
    #[cfg(all(feature = "enable", feature = "logs"))]
    logs_exporter: crate::export::logs::LogsExporter,
    #[cfg(all(feature = "enable", feature = "logs"))]
    tracing_bridge: bool,
    shutdown_timeout: Duration,
    read_limits: Option<ReadTrackerLimits>,
    overrides: Overrides,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            service_name: None,
            server_name: None,
            exporter: Exporter::FromEnv,
            #[cfg(all(feature = "enable", feature = "metrics"))]
            metrics_exporter: crate::export::meters::MetricsExporter::FromEnv,
            #[cfg(all(feature = "enable", feature = "metrics"))]
            session_boundaries: None,
            #[cfg(all(feature = "enable", feature = "logs"))]
            logs_exporter: crate::export::logs::LogsExporter::FromEnv,
            #[cfg(all(feature = "enable", feature = "logs"))]
            tracing_bridge: true,
            shutdown_timeout: Duration::from_secs(5),
            read_limits: None,
            overrides: Overrides::default(),
        }
    }
}

/// Sets up tracing from the environment and returns the guard that flushes every span
/// when dropped. Never panics: a failure is reported once on stderr and tracing stays
/// off.
pub fn init() -> TelemetryGuard {
    Builder::new().install_or_warn()
}

impl Builder {
    pub fn new() -> Self {
        Self::default()
    }

    /// `service.name`, used when `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`
    /// do not set it (default: the executable's name).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// `mcp.server.name` (default: the service name).
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    pub fn exporter(mut self, exporter: Exporter) -> Self {
        self.exporter = exporter;
        self
    }

    /// Where metrics go (default: from the environment, see
    /// [`MetricsExporter::FromEnv`](crate::MetricsExporter::FromEnv)).
    #[cfg(all(feature = "enable", feature = "metrics"))]
    pub fn metrics_exporter(mut self, exporter: crate::export::meters::MetricsExporter) -> Self {
        self.metrics_exporter = exporter;
        self
    }

    /// Where logs go (default [`LogsExporter::FromEnv`](crate::LogsExporter::FromEnv)).
    #[cfg(all(feature = "enable", feature = "logs"))]
    pub fn logs_exporter(mut self, exporter: crate::export::logs::LogsExporter) -> Self {
        self.logs_exporter = exporter;
        self
    }

    /// Whether the log records mirroring the MCP log messages the server sends
    /// (`notifications/message`) carry the message's payload as their body, cut at
    /// [`MAX_LOG_BODY_BYTES`](crate::MAX_LOG_BODY_BYTES) (default: no, unless
    /// `MCP_TRACE_LOG_BODIES=true`). A payload is the server's own free text: it may
    /// quote what the user or the model sent.
    #[cfg(all(feature = "enable", feature = "logs"))]
    pub fn log_bodies(mut self, keep: bool) -> Self {
        self.overrides.log_bodies = Some(keep);
        self
    }

    /// Whether [`install`](Self::install) makes the `tracing` bridge the global
    /// `tracing` subscriber (default: yes, unless one is already set). Off, add
    /// [`logs::layer`](crate::logs::layer) to a subscriber of your own. A process sets
    /// its global subscriber once: install yours before this one, or turn this off;
    /// `tracing_subscriber::fmt().init()` after it would panic.
    #[cfg(all(feature = "enable", feature = "logs"))]
    pub fn tracing_bridge(mut self, install: bool) -> Self {
        self.tracing_bridge = install;
        self
    }

    /// Bucket boundaries, in seconds, of `mcp.server.session.duration` (default: the
    /// conventions', `0.01` to `300`). Sessions often last hours, past the last of
    /// those; for example `[1, 10, 60, 300, 900, 1800, 3600, 7200, 14400, 28800]`.
    /// They must be finite and strictly increasing, or [`install`](Self::install)
    /// fails with [`InitError::Boundaries`].
    #[cfg(all(feature = "enable", feature = "metrics"))]
    pub fn session_duration_boundaries(mut self, boundaries: impl Into<Vec<f64>>) -> Self {
        self.session_boundaries = Some(boundaries.into());
        self
    }

    /// How long dropping the guard may wait for the last spans to export (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Bounds of the duplicate-read tracker.
    pub fn read_tracking_limits(mut self, limits: ReadTrackerLimits) -> Self {
        self.read_limits = Some(limits);
        self
    }

    /// How `mcp.session.id` is exported (default: a keyed digest; environment:
    /// `MCP_TRACE_SESSION_ID=raw`). See [`SessionIdExport`].
    pub fn session_ids(mut self, export: SessionIdExport) -> Self {
        self.overrides.session_ids = Some(export);
        self
    }

    /// The key of the session-id and URI digests, shared by replicas so they agree
    /// (default: `MCP_TRACE_SESSION_KEY`, else random per process). Use 32 random bytes
    /// or more.
    pub fn session_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.overrides.session_key = Some(key.into());
        self
    }

    /// Makes `mcp.tool.args.hash` an HMAC-SHA-256 under `key` instead of the
    /// CPython-compatible plain SHA-256 (default: `MCP_TRACE_ARGS_HASH_KEY`, else
    /// unkeyed). Low-entropy arguments cannot then be recovered by guessing, at the price
    /// of the cross-language agreement.
    pub fn args_hash_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.overrides.args_hash_key = Some(key.into());
        self
    }

    /// What resource spans export of the URI (default: the full URI, bounded;
    /// environment: `MCP_TRACE_RESOURCE_URI=full|template|digest`). A handler's
    /// `#[traced_resource(uri_mode = "…")]` takes precedence. See [`UriMode`].
    pub fn resource_uri_mode(mut self, mode: UriMode) -> Self {
        self.overrides.uri_mode = Some(mode);
        self
    }

    /// Arguments whose JSON is larger than this are not schema-checked
    /// (`mcp.tool.args.schema_skipped = "too_large"`); default 1 MiB, environment:
    /// `MCP_TRACE_SCHEMA_CHECK_MAX_BYTES`.
    pub fn schema_check_max_bytes(mut self, bytes: usize) -> Self {
        self.overrides.schema_check_max_bytes = Some(bytes);
        self
    }

    /// Like [`Builder::install`], reporting a failure on stderr instead.
    pub fn install_or_warn(self) -> TelemetryGuard {
        self.install().unwrap_or_else(|error| {
            eprintln!("mcp-trace: tracing is off: {error}");
            TelemetryGuard::inactive()
        })
    }

    /// Installs the global tracer provider (with the `enable` feature off: does nothing).
    pub fn install(self) -> Result<TelemetryGuard, InitError> {
        #[cfg(feature = "enable")]
        return self.install_provider();
        #[cfg(not(feature = "enable"))]
        Ok(TelemetryGuard::inactive())
    }

    #[cfg(feature = "enable")]
    fn install_provider(self) -> Result<TelemetryGuard, InitError> {
        #[cfg(feature = "metrics")]
        if let Some(problem) = self
            .session_boundaries
            .as_deref()
            .and_then(crate::session_duration::boundaries_problem)
        {
            return Err(InitError::Boundaries(problem));
        }
        #[cfg(feature = "metrics")]
        crate::session_duration::set_boundaries(self.session_boundaries.clone());
        if !crate::settings::configure(self.overrides.clone()) {
            eprintln!(
                "mcp-trace: the builder's privacy settings were ignored: they were already \
                 fixed from the environment (by an earlier install(), a traced call, or \
                 session::exported_id / resource_uri_digest); call install() first"
            );
        }
        #[cfg(feature = "read-tracking")]
        if let Some(limits) = self.read_limits {
            crate::signals::tracker::set_limits(limits);
        }
        // The runs of identical tool calls are kept as reads are, within the same bounds.
        #[cfg(feature = "args-hash")]
        if let Some(limits) = self.read_limits {
            crate::signals::repeats::set_limits(limits);
        }
        let exporter = match self.exporter.clone() {
            Exporter::FromEnv => exporter_from_env(),
            chosen => chosen,
        };
        let resource = self.resource();
        let span_file = |path: Option<PathBuf>| {
            path.or_else(|| env_nonempty("MCP_TRACE_FILE").map(PathBuf::from))
                .unwrap_or_else(|| default_file_path(&service_name_of(&resource)))
        };
        #[cfg(feature = "metrics")]
        let meters = {
            use crate::export::meters::{self, MetricsExporter};
            let chosen = match self.metrics_exporter.clone() {
                MetricsExporter::FromEnv => meters::from_env(env_nonempty),
                chosen => chosen,
            };
            let beside = match &exporter {
                Exporter::File(path) => span_file(path.clone()),
                _ => span_file(None),
            };
            meters::provider(chosen, resource.clone(), &beside)?
        };
        #[cfg(feature = "logs")]
        let logs = {
            use crate::export::logs::{self, LogsExporter};
            let chosen = match self.logs_exporter.clone() {
                LogsExporter::FromEnv => logs::from_env(env_nonempty),
                chosen => chosen,
            };
            let beside = match &exporter {
                Exporter::File(path) => span_file(path.clone()),
                _ => span_file(None),
            };
            // Made the one mcp-trace logs through only once nothing below can fail.
            logs::provider(chosen, resource.clone(), &beside)?
        };
        #[cfg(feature = "metrics")]
        let metrics_only = meters.is_some();
        #[cfg(not(feature = "metrics"))]
        let metrics_only = false;
        let (processor, file) = match exporter {
            // Metrics without spans still need a tracer provider: its spans are never
            // sampled, but they carry the calls the histogram records.
            Exporter::None | Exporter::FromEnv if metrics_only => (None, None),
            Exporter::None | Exporter::FromEnv => {
                #[cfg(feature = "metrics")]
                crate::metrics::switch_off();
                #[cfg_attr(not(feature = "logs"), allow(unused_mut))]
                let mut guard = TelemetryGuard::inactive();
                #[cfg(feature = "logs")]
                if let Some(logs) = logs {
                    crate::export::logs::activate(&logs.provider, self.tracing_bridge);
                    guard.logs_file = logs.file;
                    guard.loggers = Some(logs.provider);
                    guard.timeout = self.shutdown_timeout;
                }
                return Ok(guard);
            }
            Exporter::Otlp => (Some(otlp_processor()?), None),
            Exporter::File(path) => {
                let path = span_file(path);
                let exporter =
                    crate::export::file::JsonLinesExporter::create(&path).map_err(|source| {
                        InitError::File {
                            path: path.clone(),
                            source,
                        }
                    })?;
                eprintln!(
                    "mcp-trace: writing spans as OTLP/JSON lines to {}",
                    path.display()
                );
                (
                    Some(BatchSpanProcessor::builder(Counted(exporter)).build()),
                    Some(path),
                )
            }
        };
        let provider = match processor {
            Some(processor) => SdkTracerProvider::builder().with_span_processor(Handed(processor)),
            None => SdkTracerProvider::builder()
                .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOff),
        }
        .with_resource(resource)
        .build();
        opentelemetry::global::set_tracer_provider(provider.clone());
        #[cfg(feature = "logs")]
        if let Some(logs) = &logs {
            crate::export::logs::activate(&logs.provider, self.tracing_bridge);
        }
        #[cfg(feature = "metrics")]
        if let Some(meters) = &meters {
            opentelemetry::global::set_meter_provider(meters.provider.clone());
        }
        crate::tracer::provider_changed();
        #[cfg(feature = "metrics")]
        if meters.is_none() {
            crate::metrics::switch_off();
        }
        Ok(TelemetryGuard {
            provider: Some(provider),
            #[cfg(feature = "metrics")]
            metrics_file: meters.as_ref().and_then(|m| m.file.clone()),
            #[cfg(feature = "metrics")]
            meters: meters.map(|m| m.provider),
            #[cfg(feature = "logs")]
            logs_file: logs.as_ref().and_then(|l| l.file.clone()),
            #[cfg(feature = "logs")]
            loggers: logs.map(|l| l.provider),
            file,
            timeout: self.shutdown_timeout,
        })
    }

    #[cfg(feature = "enable")]
    fn resource(&self) -> Resource {
        let from_env = Resource::builder().build();
        let service = service_name_of(&from_env);
        let service = if service.starts_with("unknown_service") {
            self.service_name.clone().unwrap_or_else(executable_name)
        } else {
            service
        };
        let server = self.server_name.clone().unwrap_or_else(|| service.clone());
        Resource::builder()
            .with_service_name(service)
            .with_attribute(KeyValue::new("mcp.server.name", server))
            .build()
    }
}

#[cfg(feature = "enable")]
pub(crate) fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The exporter the standard environment asks for.
#[cfg(feature = "enable")]
fn exporter_from_env() -> Exporter {
    exporter_from(env_nonempty)
}

/// The exporter choice for environment `env` (a lookup of non-empty values).
#[cfg(feature = "enable")]
fn exporter_from(env: impl Fn(&str) -> Option<String>) -> Exporter {
    match chosen_by(env, "TRACES") {
        Chosen::None => Exporter::None,
        Chosen::Otlp => Exporter::Otlp,
        Chosen::File => Exporter::File(None),
    }
}

/// Where the standard environment sends one signal (`TRACES`, `METRICS`, `LOGS`).
#[cfg(feature = "enable")]
pub(crate) enum Chosen {
    None,
    Otlp,
    File,
}

/// `OTEL_SDK_DISABLED=true` or `OTEL_<SIGNAL>_EXPORTER=none` → none;
/// `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` (or
/// `OTEL_<SIGNAL>_EXPORTER=otlp`) → OTLP; otherwise the embedded file.
#[cfg(feature = "enable")]
pub(crate) fn chosen_by(env: impl Fn(&str) -> Option<String>, signal: &str) -> Chosen {
    let disabled = env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let kind = env(&format!("OTEL_{signal}_EXPORTER")).map(|v| v.trim().to_ascii_lowercase());
    if disabled || kind.as_deref() == Some("none") {
        return Chosen::None;
    }
    let endpoint = env(&format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"))
        .or_else(|| env("OTEL_EXPORTER_OTLP_ENDPOINT"));
    if endpoint.is_some() || kind.as_deref() == Some("otlp") {
        Chosen::Otlp
    } else {
        Chosen::File
    }
}

#[cfg(all(feature = "enable", feature = "otlp"))]
fn otlp_processor() -> Result<BatchSpanProcessor, InitError> {
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    // The crate reads OTEL_EXPORTER_OTLP_TRACES_ENDPOINT verbatim and appends
    // /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT, plus headers, timeout, compression.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()
        .map_err(|e| InitError::Otlp(e.to_string()))?;
    let exporter = OnTokio::new(exporter).map_err(|e| InitError::Otlp(e.to_string()))?;
    Ok(BatchSpanProcessor::builder(Counted(exporter)).build())
}

/// Runs an exporter's exports on a Tokio runtime of its own.
///
/// The OTLP exporter's HTTP client is hyper's (`hyper-client`: far fewer crates than
/// reqwest, which brings `url` and the ICU tables), and hyper needs a Tokio runtime for
/// its connections and timeouts. The batch processor exports on a plain thread of its
/// own, so each export runs to completion there on this single-threaded runtime: the
/// application needs no runtime (a plain `fn main` works) and its own runtime, if any,
/// is never used or blocked. Any other async client feature that dependency
/// unification may turn on in `opentelemetry-otlp` (`reqwest-client`) works the same.
#[cfg(all(feature = "enable", feature = "otlp"))]
#[derive(Debug)]
pub(crate) struct OnTokio<E> {
    exporter: E,
    runtime: tokio::runtime::Runtime,
}

#[cfg(all(feature = "enable", feature = "otlp"))]
impl<E> OnTokio<E> {
    pub(crate) fn new(exporter: E) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("mcp-trace-otlp")
            .build()?;
        Ok(Self { exporter, runtime })
    }
}

#[cfg(all(feature = "enable", feature = "otlp"))]
impl<E: Sync> OnTokio<E> {
    /// Runs one export to completion on this runtime.
    fn run(&self, export: impl Future<Output = OTelSdkResult> + Send) -> OTelSdkResult {
        if tokio::runtime::Handle::try_current().is_err() {
            // The processor's or reader's own thread: the only caller.
            return self.runtime.block_on(export);
        }
        // Inside another runtime `block_on` would panic: block a scoped thread instead.
        std::thread::scope(|scope| {
            scope
                .spawn(|| self.runtime.block_on(export))
                .join()
                .unwrap_or_else(|_| {
                    Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure(
                        "the OTLP export panicked".into(),
                    ))
                })
        })
    }
}

#[cfg(all(feature = "enable", feature = "otlp", feature = "metrics"))]
impl<E: opentelemetry_sdk::metrics::exporter::PushMetricExporter>
    opentelemetry_sdk::metrics::exporter::PushMetricExporter for OnTokio<E>
{
    async fn export(
        &self,
        metrics: &opentelemetry_sdk::metrics::data::ResourceMetrics,
    ) -> OTelSdkResult {
        self.run(self.exporter.export(metrics))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.exporter.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.exporter.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> opentelemetry_sdk::metrics::Temporality {
        self.exporter.temporality()
    }
}

#[cfg(all(feature = "enable", feature = "otlp", feature = "logs"))]
impl<E: opentelemetry_sdk::logs::LogExporter> opentelemetry_sdk::logs::LogExporter for OnTokio<E> {
    async fn export(&self, batch: opentelemetry_sdk::logs::LogBatch<'_>) -> OTelSdkResult {
        self.run(self.exporter.export(batch))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.exporter.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.exporter.set_resource(resource);
    }
}

#[cfg(all(feature = "enable", feature = "otlp"))]
impl<E: SpanExporter> SpanExporter for OnTokio<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.run(self.exporter.export(batch))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.exporter.shutdown_with_timeout(timeout)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.exporter.shutdown()
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.exporter.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.exporter.set_resource(resource);
    }
}

#[cfg(all(feature = "enable", not(feature = "otlp")))]
fn otlp_processor() -> Result<BatchSpanProcessor, InitError> {
    Err(InitError::Otlp(
        "OTLP export was asked for but mcp-trace was built without the `otlp` feature".into(),
    ))
}

#[cfg(feature = "enable")]
fn service_name_of(resource: &Resource) -> String {
    resource
        .get(&opentelemetry::Key::from_static_str("service.name"))
        .map(|v| v.to_string())
        .unwrap_or_default()
}

#[cfg(feature = "enable")]
fn executable_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "mcp-server".to_owned())
}

/// The default trace file: `<temp dir>/mcp-trace/<service.name>.jsonl`, with characters
/// other than `[A-Za-z0-9._-]` in the service name replaced by `_`.
pub fn default_file_path(service_name: &str) -> PathBuf {
    let safe: String = service_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    std::env::temp_dir()
        .join("mcp-trace")
        .join(format!("{safe}.jsonl"))
}

/// Spans whose export failed (exporter down, file unwritable), since start. The report
/// the guard prints at shutdown also counts spans a full queue turned away and spans
/// still pending when the shutdown timeout ran out.
pub fn dropped_spans() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Spans handed to the batch processor, and spans it exported. At shutdown the
/// difference is every span that never left: failed exports, spans the full queue
/// turned away, and those still queued or in an export when the timeout ran out.
#[cfg(feature = "enable")]
static HANDED: AtomicU64 = AtomicU64::new(0);
#[cfg(feature = "enable")]
static EXPORTED: AtomicU64 = AtomicU64::new(0);

/// The batch processor, counting the spans handed to it into `HANDED`.
#[cfg(feature = "enable")]
#[derive(Debug)]
struct Handed(BatchSpanProcessor);

#[cfg(feature = "enable")]
impl SpanProcessor for Handed {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        HANDED.fetch_add(1, Ordering::Relaxed);
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// Counts the spans of failed exports into [`dropped_spans`], of the others into
/// `EXPORTED`.
#[cfg(feature = "enable")]
#[derive(Debug)]
struct Counted<E>(E);

#[cfg(feature = "enable")]
impl<E: SpanExporter> SpanExporter for Counted<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len() as u64;
        let result = self.0.export(batch).await;
        let counter = if result.is_err() { &DROPPED } else { &EXPORTED };
        counter.fetch_add(spans, Ordering::Relaxed);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    // The batch processor calls this one; the OTLP exporter implements only this one.
    fn shutdown(&self) -> OTelSdkResult {
        self.0.shutdown()
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// Keeps tracing installed; dropping it exports every finished span (waiting at most
/// the shutdown timeout), shuts the provider down and reports once on stderr how many
/// spans never left: failed exports, spans turned away by a full queue, and those
/// still waiting when the timeout ran out.
#[derive(Debug)]
#[must_use = "dropping the guard shuts tracing down"]
pub struct TelemetryGuard {
    #[cfg(feature = "enable")]
    provider: Option<SdkTracerProvider>,
    #[cfg(all(feature = "enable", feature = "metrics"))]
    meters: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
    #[cfg(all(feature = "enable", feature = "metrics"))]
    metrics_file: Option<PathBuf>,
    #[cfg(all(feature = "enable", feature = "logs"))]
    loggers: Option<opentelemetry_sdk::logs::SdkLoggerProvider>,
    #[cfg(all(feature = "enable", feature = "logs"))]
    logs_file: Option<PathBuf>,
    file: Option<PathBuf>,
    timeout: Duration,
}

impl TelemetryGuard {
    fn inactive() -> Self {
        Self {
            #[cfg(feature = "enable")]
            provider: None,
            #[cfg(all(feature = "enable", feature = "metrics"))]
            meters: None,
            #[cfg(all(feature = "enable", feature = "metrics"))]
            metrics_file: None,
            #[cfg(all(feature = "enable", feature = "logs"))]
            loggers: None,
            #[cfg(all(feature = "enable", feature = "logs"))]
            logs_file: None,
            file: None,
            timeout: Duration::ZERO,
        }
    }

    /// The OTLP/JSON lines file spans are written to, when that exporter is in use.
    pub fn file_path(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The OTLP/JSON lines file metrics are written to, when that exporter is in use.
    #[cfg(all(feature = "enable", feature = "metrics"))]
    pub fn metrics_file_path(&self) -> Option<&Path> {
        self.metrics_file.as_deref()
    }

    /// The OTLP/JSON lines file logs are written to, when that exporter is in use.
    #[cfg(all(feature = "enable", feature = "logs"))]
    pub fn logs_file_path(&self) -> Option<&Path> {
        self.logs_file.as_deref()
    }

    /// Whether a provider was installed.
    pub fn is_active(&self) -> bool {
        #[cfg(feature = "enable")]
        return self.provider.is_some();
        #[cfg(not(feature = "enable"))]
        false
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        // What the observer still holds (calls waiting for their next round, open
        // tasks) ends first: its records and spans are in the last exports.
        #[cfg(all(feature = "enable", feature = "wire"))]
        crate::observe::drain();
        // Metrics first: their last export includes the calls whose spans flush below,
        // and the sessions still open, which end with the process.
        #[cfg(all(feature = "enable", feature = "metrics"))]
        if self.meters.is_some() {
            crate::session_duration::end_all();
        }
        #[cfg(all(feature = "enable", feature = "metrics"))]
        if let Some(meters) = self.meters.take()
            && let Err(error) = meters.shutdown_with_timeout(self.timeout)
        {
            eprintln!("mcp-trace: flushing metrics at shutdown failed: {error}");
        }
        // Logs before spans: a record written as a span ends is in the last export.
        #[cfg(all(feature = "enable", feature = "logs"))]
        if let Some(loggers) = self.loggers.take()
            && let Err(error) = loggers.shutdown_with_timeout(self.timeout)
        {
            eprintln!("mcp-trace: flushing logs at shutdown failed: {error}");
        }
        #[cfg(feature = "enable")]
        if let Some(provider) = self.provider.take() {
            if let Err(error) = provider.shutdown_with_timeout(self.timeout) {
                eprintln!("mcp-trace: flushing spans at shutdown failed: {error}");
            }
            // Also counts what `dropped_spans` cannot: a stalled export outlives the
            // timeout, and the spans it holds are lost when the process exits.
            let handed = HANDED.load(Ordering::Relaxed);
            let dropped = handed.saturating_sub(EXPORTED.load(Ordering::Relaxed));
            if dropped > 0 {
                eprintln!(
                    "mcp-trace: {dropped} spans were not exported (failed exports, a full \
                     queue, or still pending at the shutdown timeout)"
                );
            }
        }
    }
}
