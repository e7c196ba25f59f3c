//! The embedded default exporter: OTLP/JSON lines, one `ExportTraceServiceRequest` per
//! line — the format of the OpenTelemetry Collector's file exporter, so the file can be
//! replayed into any collector or read with `jq`.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Opens (creating it and its directory) `path` for appending. On Unix what it creates
/// is private to the user (directory 0700, file 0600): spans may carry resource URIs,
/// and the default path is in the shared temporary directory.
pub(crate) fn open_private(path: &Path) -> std::io::Result<File> {
    let mut dirs = std::fs::DirBuilder::new();
    dirs.recursive(true);
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        dirs.mode(0o700);
        options.mode(0o600);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        dirs.create(dir)?;
    }
    options.open(path)
}

/// A file written one JSON line per export: what the three embedded exporters (spans,
/// metrics, logs) share.
#[derive(Debug)]
pub(crate) struct JsonLines {
    path: PathBuf,
    file: Mutex<File>,
}

impl JsonLines {
    /// Opens `path` for appending, see [`open_private`].
    pub(crate) fn create(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            path: path.to_owned(),
            file: Mutex::new(open_private(path)?),
        })
    }

    /// Appends `request` as one line (`what` it holds names an encoding failure).
    pub(crate) fn append(&self, what: &str, request: &impl serde::Serialize) -> OTelSdkResult {
        let mut line = serde_json::to_vec(request)
            .map_err(|e| OTelSdkError::InternalFailure(format!("encoding {what}: {e}")))?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // One write per batch: concurrent writers appending to the same file keep
        // whole lines.
        file.write_all(&line).map_err(|e| {
            OTelSdkError::InternalFailure(format!("writing {}: {e}", self.path.display()))
        })
    }

    pub(crate) fn flush(&self) -> OTelSdkResult {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.flush()
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }
}

/// The file of another signal beside a span file: `demo.jsonl` → `demo.{signal}.jsonl`.
#[cfg(any(feature = "metrics", feature = "logs"))]
pub(crate) fn beside(span_file: &Path, signal: &str) -> PathBuf {
    let stem = span_file
        .file_stem()
        .map_or_else(|| "mcp-trace".into(), |s| s.to_string_lossy().into_owned());
    span_file.with_file_name(format!("{stem}.{signal}.jsonl"))
}

#[derive(Debug)]
pub(crate) struct JsonLinesExporter {
    lines: JsonLines,
    resource: ResourceAttributesWithSchema,
}

impl JsonLinesExporter {
    /// Opens `path` for appending, see [`open_private`].
    pub(crate) fn create(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            lines: JsonLines::create(path)?,
            resource: ResourceAttributesWithSchema::default(),
        })
    }

    fn write(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        self.lines.append("spans", &request)
    }
}

impl SpanExporter for JsonLinesExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.write(batch))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.lines.flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}
