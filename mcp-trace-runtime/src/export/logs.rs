//! Logs, the third signal: `init()`'s logger provider, chosen from the standard
//! `OTEL_*` environment as the span and metric exporters are (by default an OTLP/JSON
//! lines file beside the span file), and the `tracing` bridge that turns a `tracing`
//! event into a log record carrying the ids of the span it was written in.

use crate::export::setup::InitError;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{BatchLogProcessor, LogBatch, LogExporter, SdkLoggerProvider};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// Where logs go.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogsExporter {
    /// Decide from the environment (the default): `OTEL_SDK_DISABLED=true` or
    /// `OTEL_LOGS_EXPORTER=none` → none; `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` or
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_LOGS_EXPORTER=otlp`) → OTLP/HTTP;
    /// otherwise the embedded OTLP/JSON lines file.
    FromEnv,
    /// No logger provider and no `tracing` bridge.
    None,
    /// OTLP/JSON lines (one `ExportLogsServiceRequest` per export) appended to this file
    /// (`None`: `MCP_TRACE_LOGS_FILE`, else beside the span file, see
    /// [`default_logs_path`]).
    File(Option<PathBuf>),
    /// OTLP over HTTP with protobuf to `/v1/logs`, configured by the standard
    /// `OTEL_EXPORTER_OTLP_*` variables (needs the `otlp` feature).
    Otlp,
}

/// The logs file beside a span file: `demo.jsonl` → `demo.logs.jsonl`.
pub fn default_logs_path(span_file: &Path) -> PathBuf {
    crate::export::file::beside(span_file, "logs")
}

/// The exporter choice for environment `env` (a lookup of non-empty values).
pub(crate) fn from_env(env: impl Fn(&str) -> Option<String>) -> LogsExporter {
    use crate::export::setup::{Chosen, chosen_by};
    match chosen_by(env, "LOGS") {
        Chosen::None => LogsExporter::None,
        Chosen::Otlp => LogsExporter::Otlp,
        Chosen::File => LogsExporter::File(None),
    }
}

/// The installed logger provider, and the file it writes when that is its exporter.
pub(crate) struct Installed {
    pub(crate) provider: SdkLoggerProvider,
    pub(crate) file: Option<PathBuf>,
}

/// Builds the logger provider for `exporter` (never `FromEnv`), `None` for no logs.
/// `span_file` is where spans go, when to a file: the default logs file sits beside.
pub(crate) fn provider(
    exporter: LogsExporter,
    resource: Resource,
    span_file: &Path,
) -> Result<Option<Installed>, InitError> {
    let builder = SdkLoggerProvider::builder();
    let (builder, file) = match exporter {
        LogsExporter::None | LogsExporter::FromEnv => return Ok(None),
        LogsExporter::Otlp => (
            builder.with_log_processor(BatchLogProcessor::builder(otlp_exporter()?).build()),
            None,
        ),
        LogsExporter::File(path) => {
            let path = path
                .or_else(|| {
                    crate::export::setup::env_nonempty("MCP_TRACE_LOGS_FILE").map(PathBuf::from)
                })
                .unwrap_or_else(|| default_logs_path(span_file));
            let exporter =
                JsonLinesLogExporter::create(&path).map_err(|source| InitError::File {
                    path: path.clone(),
                    source,
                })?;
            eprintln!(
                "mcp-trace: writing logs as OTLP/JSON lines to {}",
                path.display()
            );
            (
                builder.with_log_processor(BatchLogProcessor::builder(exporter).build()),
                Some(path),
            )
        }
    };
    let provider = builder.with_resource(resource).build();
    Ok(Some(Installed { provider, file }))
}

#[cfg(feature = "otlp")]
fn otlp_exporter()
-> Result<crate::export::setup::OnTokio<opentelemetry_otlp::LogExporter>, InitError> {
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    // The crate reads OTEL_EXPORTER_OTLP_LOGS_ENDPOINT verbatim and appends /v1/logs to
    // OTEL_EXPORTER_OTLP_ENDPOINT, plus headers, timeout, compression.
    let exporter = opentelemetry_otlp::LogExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()
        .map_err(|e| InitError::Otlp(e.to_string()))?;
    crate::export::setup::OnTokio::new(exporter).map_err(|e| InitError::Otlp(e.to_string()))
}

#[cfg(not(feature = "otlp"))]
fn otlp_exporter() -> Result<JsonLinesLogExporter, InitError> {
    Err(InitError::Otlp(
        "OTLP export was asked for but mcp-trace was built without the `otlp` feature".into(),
    ))
}

/// The embedded logs exporter: OTLP/JSON lines, the format of the OpenTelemetry
/// Collector's file exporter.
#[derive(Debug)]
pub(crate) struct JsonLinesLogExporter {
    lines: crate::export::file::JsonLines,
    resource: ResourceAttributesWithSchema,
}

impl JsonLinesLogExporter {
    pub(crate) fn create(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            lines: crate::export::file::JsonLines::create(path)?,
            resource: ResourceAttributesWithSchema::default(),
        })
    }

    fn write(&self, batch: &LogBatch<'_>) -> OTelSdkResult {
        let request = ExportLogsServiceRequest {
            resource_logs: group_logs_by_resource_and_scope(batch, &self.resource),
        };
        self.lines.append("logs", &request)
    }
}

impl LogExporter for JsonLinesLogExporter {
    fn export(&self, batch: LogBatch<'_>) -> impl Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.write(&batch))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// The logger provider mcp-trace logs through: `init()`'s, or one set with
/// [`set_provider`]. Read on each mirrored MCP log message and by [`layer`].
static PROVIDER: RwLock<Option<SdkLoggerProvider>> = RwLock::new(None);

/// Makes `provider` the one mcp-trace logs through: the log records it writes itself
/// (the MCP log messages a server sends, mirrored) and the `tracing` bridge of
/// [`layer`]. `init()` sets its own; a server that builds its own logger provider sets
/// that one here.
pub fn set_provider(provider: SdkLoggerProvider) {
    *PROVIDER.write().unwrap_or_else(|p| p.into_inner()) = Some(provider);
}

/// The provider mcp-trace logs through, if one is set.
pub(crate) fn current() -> Option<SdkLoggerProvider> {
    PROVIDER.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The `tracing` layer that makes each `tracing` event a log record through the logger
/// provider mcp-trace logs through, with the trace and span ids of the span current
/// where it was written (a traced handler's). `None` when no provider is set (logs off,
/// or `init()` not called yet).
///
/// It keeps events at INFO and above, and none from rmcp or OpenTelemetry's own crates:
/// rmcp logs the messages it receives (argument values included) and the exporters'
/// own events would feed back into the exporter. To choose otherwise, build the bridge
/// yourself (`opentelemetry_appender_tracing`) over the same provider.
///
/// `init()` installs it as the global `tracing` subscriber unless told not to
/// ([`Builder::tracing_bridge`](crate::Builder::tracing_bridge)) or one is already set.
/// A server with a subscriber of its own adds this one layer to it:
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt;
/// let _guard = mcp_trace_runtime::Builder::new().tracing_bridge(false).install()?;
/// let subscriber = tracing_subscriber::registry().with(mcp_trace_runtime::logs::layer());
/// tracing::subscriber::set_global_default(subscriber)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn layer<S>() -> Option<impl tracing_subscriber::Layer<S>>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let provider = current()?;
    let bridge = opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&provider);
    let mut targets = Targets::new().with_default(LevelFilter::INFO);
    for quiet in QUIET_TARGETS {
        targets = targets.with_target(quiet, LevelFilter::OFF);
    }
    Some(bridge.with_filter(targets))
}

/// Crates whose `tracing` events never become log records: rmcp logs message contents;
/// the OpenTelemetry crates and the HTTP stack under the OTLP exporter would log about
/// their own exports.
const QUIET_TARGETS: [&str; 8] = [
    "rmcp",
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
    "opentelemetry-otlp",
    "hyper",
    "hyper_util",
    "h2",
];

/// Makes `provider` the one mcp-trace logs through and, with `bridge`, installs
/// [`layer`] as the global `tracing` subscriber.
pub(crate) fn activate(provider: &SdkLoggerProvider, bridge: bool) {
    set_provider(provider.clone());
    if bridge {
        install_bridge();
    }
}

/// Installs [`layer`] as the global `tracing` subscriber, unless one is set already
/// (then that one is kept, and told about on stderr once).
fn install_bridge() {
    use tracing_subscriber::layer::SubscriberExt;
    let Some(layer) = layer() else { return };
    let subscriber = tracing_subscriber::registry().with(layer);
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        eprintln!(
            "mcp-trace: a tracing subscriber is already installed; add \
             mcp_trace::logs::layer() to it for tracing events to become log records"
        );
    }
}

/// The log record of an MCP log message (`notifications/message`) a server sends: the
/// severity of its level, its logger name, the trace context of the request it is
/// about when known, and its payload as the body only when opted in (cut). Goes
/// through the logger provider mcp-trace logs through, if one is set.
#[cfg(feature = "wire")]
pub(crate) fn mirror_mcp_log(
    level: &'static str,
    logger: Option<&str>,
    span: Option<&opentelemetry::trace::SpanContext>,
    payload: &serde_json::Value,
) {
    use opentelemetry::logs::{AnyValue, LogRecord, Logger, LoggerProvider};
    let Some(provider) = current() else { return };
    let emitter = provider.logger("mcp-trace");
    let mut record = emitter.create_log_record();
    record.set_event_name(crate::keys::LOG_EVENT);
    record.set_severity_number(severity_of(level));
    record.set_severity_text(level);
    if let Some(logger) = logger {
        let limit = crate::bounds::limit_for(crate::bounds::MAX_NAME_BYTES);
        let bounded = crate::bounds::bounded(logger, limit);
        record.add_attribute(crate::keys::LOG_LOGGER, bounded.into_owned());
    }
    if let Some(span) = span.filter(|s| s.is_valid()) {
        record.set_trace_context(span.trace_id(), span.span_id(), Some(span.trace_flags()));
    }
    if crate::settings::get().log_bodies {
        let body = crate::bounds::json_text(payload, crate::settings::MAX_LOG_BODY_BYTES);
        record.set_body(AnyValue::String(body.into()));
    }
    emitter.emit(record);
}

/// The OpenTelemetry severity of an MCP (syslog) level: debug, info, notice, warning,
/// error, critical, alert, emergency → DEBUG, INFO, INFO2, WARN, ERROR, FATAL, FATAL2,
/// FATAL3; an unknown level is INFO.
#[cfg(feature = "wire")]
fn severity_of(level: &str) -> opentelemetry::logs::Severity {
    use opentelemetry::logs::Severity;
    match level {
        "debug" => Severity::Debug,
        "notice" => Severity::Info2,
        "warning" => Severity::Warn,
        "error" => Severity::Error,
        "critical" => Severity::Fatal,
        "alert" => Severity::Fatal2,
        "emergency" => Severity::Fatal3,
        _ => Severity::Info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(vars: &[(&str, &str)]) -> LogsExporter {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        from_env(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn the_environment_chooses_the_logs_exporter() {
        assert_eq!(choice(&[]), LogsExporter::File(None));
        assert_eq!(choice(&[("OTEL_SDK_DISABLED", "true")]), LogsExporter::None);
        assert_eq!(
            choice(&[("OTEL_LOGS_EXPORTER", "none")]),
            LogsExporter::None
        );
        assert_eq!(
            choice(&[("OTEL_LOGS_EXPORTER", "otlp")]),
            LogsExporter::Otlp
        );
        assert_eq!(
            choice(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")]),
            LogsExporter::Otlp
        );
        assert_eq!(
            choice(&[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://h/v1/logs")]),
            LogsExporter::Otlp
        );
        // Traces or metrics off do not turn logs off.
        assert_eq!(
            choice(&[
                ("OTEL_TRACES_EXPORTER", "none"),
                ("OTEL_METRICS_EXPORTER", "none")
            ]),
            LogsExporter::File(None)
        );
    }

    #[test]
    fn the_logs_file_sits_beside_the_span_file() {
        assert_eq!(
            default_logs_path(Path::new("/tmp/mcp-trace/demo.jsonl")),
            PathBuf::from("/tmp/mcp-trace/demo.logs.jsonl")
        );
    }
}
