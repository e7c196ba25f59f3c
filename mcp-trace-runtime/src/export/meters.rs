//! `init()`'s meter provider: where `mcp.server.operation.duration` goes, chosen from
//! the standard `OTEL_*` environment as the span exporter is, and by default an
//! OTLP/JSON lines file beside the span file.

use crate::export::setup::InitError;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where metrics go.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricsExporter {
    /// Decide from the environment (the default): `OTEL_SDK_DISABLED=true` or
    /// `OTEL_METRICS_EXPORTER=none` → none; `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` or
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_METRICS_EXPORTER=otlp`) → OTLP/HTTP;
    /// otherwise the embedded OTLP/JSON lines file.
    FromEnv,
    /// No meter provider, and no metric work on the call path at all, until
    /// [`provider_changed`](crate::provider_changed) says a provider was installed.
    None,
    /// OTLP/JSON lines (one `ExportMetricsServiceRequest` per export) appended to this
    /// file (`None`: `MCP_TRACE_METRICS_FILE`, else beside the span file, see
    /// [`default_metrics_path`]).
    File(Option<PathBuf>),
    /// OTLP over HTTP with protobuf to `/v1/metrics`, configured by the standard
    /// `OTEL_EXPORTER_OTLP_*` variables (needs the `otlp` feature).
    Otlp,
}

/// The metrics file beside a span file: `demo.jsonl` → `demo.metrics.jsonl`.
pub fn default_metrics_path(span_file: &Path) -> PathBuf {
    crate::export::file::beside(span_file, "metrics")
}

/// The exporter choice for environment `env` (a lookup of non-empty values).
pub(crate) fn from_env(env: impl Fn(&str) -> Option<String>) -> MetricsExporter {
    use crate::export::setup::{Chosen, chosen_by};
    match chosen_by(env, "METRICS") {
        Chosen::None => MetricsExporter::None,
        Chosen::Otlp => MetricsExporter::Otlp,
        Chosen::File => MetricsExporter::File(None),
    }
}

/// The installed meter provider, and the file it writes when that is its exporter.
pub(crate) struct Installed {
    pub(crate) provider: SdkMeterProvider,
    pub(crate) file: Option<PathBuf>,
}

/// Builds the meter provider for `exporter` (never `FromEnv`), `None` for no metrics.
/// `span_file` is where spans go, when to a file: the default metrics file sits beside.
pub(crate) fn provider(
    exporter: MetricsExporter,
    resource: Resource,
    span_file: &Path,
) -> Result<Option<Installed>, InitError> {
    // The export interval comes from `OTEL_METRIC_EXPORT_INTERVAL` (60 s by default).
    let builder = SdkMeterProvider::builder();
    let (builder, file) = match exporter {
        MetricsExporter::None | MetricsExporter::FromEnv => return Ok(None),
        MetricsExporter::Otlp => (
            builder.with_reader(PeriodicReader::builder(otlp_exporter()?).build()),
            None,
        ),
        MetricsExporter::File(path) => {
            let path = path
                .or_else(|| {
                    crate::export::setup::env_nonempty("MCP_TRACE_METRICS_FILE").map(PathBuf::from)
                })
                .unwrap_or_else(|| default_metrics_path(span_file));
            let exporter =
                JsonLinesMetricExporter::create(&path).map_err(|source| InitError::File {
                    path: path.clone(),
                    source,
                })?;
            eprintln!(
                "mcp-trace: writing metrics as OTLP/JSON lines to {}",
                path.display()
            );
            (
                builder.with_reader(PeriodicReader::builder(exporter).build()),
                Some(path),
            )
        }
    };
    let provider = builder.with_resource(resource).build();
    Ok(Some(Installed { provider, file }))
}

#[cfg(feature = "otlp")]
fn otlp_exporter()
-> Result<crate::export::setup::OnTokio<opentelemetry_otlp::MetricExporter>, InitError> {
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    // The crate reads OTEL_EXPORTER_OTLP_METRICS_ENDPOINT verbatim and appends
    // /v1/metrics to OTEL_EXPORTER_OTLP_ENDPOINT, plus headers, timeout, compression.
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()
        .map_err(|e| InitError::Otlp(e.to_string()))?;
    crate::export::setup::OnTokio::new(exporter).map_err(|e| InitError::Otlp(e.to_string()))
}

#[cfg(not(feature = "otlp"))]
fn otlp_exporter() -> Result<JsonLinesMetricExporter, InitError> {
    Err(InitError::Otlp(
        "OTLP export was asked for but mcp-trace was built without the `otlp` feature".into(),
    ))
}

/// The embedded metrics exporter: OTLP/JSON lines, cumulative, the format of the
/// OpenTelemetry Collector's file exporter.
#[derive(Debug)]
pub(crate) struct JsonLinesMetricExporter {
    lines: crate::export::file::JsonLines,
}

impl JsonLinesMetricExporter {
    pub(crate) fn create(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            lines: crate::export::file::JsonLines::create(path)?,
        })
    }

    fn write(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        self.lines
            .append("metrics", &ExportMetricsServiceRequest::from(metrics))
    }
}

impl PushMetricExporter for JsonLinesMetricExporter {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.write(metrics))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.lines.flush()
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.force_flush()
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(vars: &[(&str, &str)]) -> MetricsExporter {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        from_env(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn the_environment_chooses_the_metrics_exporter() {
        assert_eq!(choice(&[]), MetricsExporter::File(None));
        assert_eq!(
            choice(&[("OTEL_SDK_DISABLED", "true")]),
            MetricsExporter::None
        );
        assert_eq!(
            choice(&[("OTEL_METRICS_EXPORTER", "none")]),
            MetricsExporter::None
        );
        assert_eq!(
            choice(&[("OTEL_METRICS_EXPORTER", "otlp")]),
            MetricsExporter::Otlp
        );
        assert_eq!(
            choice(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")]),
            MetricsExporter::Otlp
        );
        assert_eq!(
            choice(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://h/v1/metrics")]),
            MetricsExporter::Otlp
        );
        // Traces off does not turn metrics off.
        assert_eq!(
            choice(&[("OTEL_TRACES_EXPORTER", "none")]),
            MetricsExporter::File(None)
        );
        assert_eq!(
            choice(&[
                ("OTEL_SDK_DISABLED", "true"),
                ("OTEL_METRICS_EXPORTER", "otlp")
            ]),
            MetricsExporter::None
        );
    }

    #[test]
    fn the_metrics_file_sits_beside_the_span_file() {
        assert_eq!(
            default_metrics_path(Path::new("/tmp/mcp-trace/demo.jsonl")),
            PathBuf::from("/tmp/mcp-trace/demo.metrics.jsonl")
        );
        assert_eq!(
            default_metrics_path(Path::new("spans")),
            PathBuf::from("spans.metrics.jsonl")
        );
    }
}
