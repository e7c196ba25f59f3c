//! A loopback OTLP/HTTP receiver: decodes `POST /v1/traces`, `POST /v1/metrics` and
//! `POST /v1/logs` protobuf bodies. Started and stopped by the test that uses it.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One received request: its path, raw body and decoded form (`request` is empty for
/// a metrics or logs export, which is in `metrics` or `logs`).
pub struct Received {
    pub path: String,
    pub body: Vec<u8>,
    pub request: ExportTraceServiceRequest,
    pub metrics: Option<ExportMetricsServiceRequest>,
    pub logs: Option<ExportLogsServiceRequest>,
}

pub struct Receiver {
    pub address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let address = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (received, stop) = (received.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        let received = received.clone();
                        std::thread::spawn(move || serve(stream, &received));
                    }
                }
            })
        };
        Self {
            address,
            received,
            stop,
            thread: Some(thread),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops accepting and returns everything received.
    pub fn stop(mut self) -> Vec<Received> {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

/// Reads one HTTP/1.1 request: its path and body; `None` when the connection ends.
pub fn read_request(reader: &mut impl BufRead) -> Option<(String, Vec<u8>)> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return None;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((path, body))
}

/// Reads HTTP/1.1 requests on one connection; answers 200 to each.
fn serve(stream: TcpStream, received: &Mutex<Vec<Received>>) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while let Some((path, body)) = read_request(&mut reader) {
        let (mut request, mut metrics, mut logs) =
            (ExportTraceServiceRequest::default(), None, None);
        match path.as_str() {
            "/v1/metrics" => {
                metrics =
                    Some(ExportMetricsServiceRequest::decode(body.as_slice()).expect("protobuf"));
            }
            "/v1/logs" => {
                logs = Some(ExportLogsServiceRequest::decode(body.as_slice()).expect("protobuf"));
            }
            _ => request = ExportTraceServiceRequest::decode(body.as_slice()).expect("protobuf"),
        }
        received.lock().unwrap().push(Received {
            path,
            body,
            request,
            metrics,
            logs,
        });
        let response =
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// Every span received, in arrival order.
pub fn spans(received: &[Received]) -> Vec<&Span> {
    received
        .iter()
        .flat_map(|r| &r.request.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .collect()
}

/// Every log record received, in arrival order.
pub fn log_records(received: &[Received]) -> Vec<&opentelemetry_proto::tonic::logs::v1::LogRecord> {
    received
        .iter()
        .filter_map(|r| r.logs.as_ref())
        .flat_map(|l| &l.resource_logs)
        .flat_map(|rl| &rl.scope_logs)
        .flat_map(|sl| &sl.log_records)
        .collect()
}

/// An attribute value as plain JSON, for readable comparisons.
pub fn value(v: &Option<AnyValue>) -> serde_json::Value {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone().into(),
        Some(any_value::Value::BoolValue(b)) => (*b).into(),
        Some(any_value::Value::IntValue(i)) => (*i).into(),
        Some(any_value::Value::DoubleValue(d)) => (*d).into(),
        Some(any_value::Value::ArrayValue(array)) => array
            .values
            .iter()
            .map(|item| value(&Some(item.clone())))
            .collect(),
        _ => serde_json::Value::Null,
    }
}

pub fn attributes(attributes: &[KeyValue]) -> BTreeMap<String, serde_json::Value> {
    attributes
        .iter()
        .map(|kv| (kv.key.clone(), value(&kv.value)))
        .collect()
}

/// Checks the two rounds of a 2026-07-28 multi-round call, as exported: the first
/// answered `input_required`, the last ends the call with the whole duration and links
/// to the first.
pub fn assert_two_rounds(first: &Span, last: &Span) {
    let keys = |span: &Span| {
        attributes(&span.attributes)
            .into_iter()
            .filter(|(k, _)| k.starts_with("mcp.request.") || k == "mcp.protocol.version")
            .collect::<BTreeMap<_, _>>()
    };
    let json = |pairs: &[(&str, serde_json::Value)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let version = ("mcp.protocol.version", serde_json::json!("2026-07-28"));
    assert_eq!(
        keys(first),
        json(&[
            version.clone(),
            ("mcp.request.input_required", serde_json::json!(true)),
            ("mcp.request.round", serde_json::json!(1)),
        ])
    );
    let mut last_keys = keys(last);
    let duration = last_keys
        .remove("mcp.request.rounds_duration")
        .and_then(|v| v.as_f64())
        .expect("the call's whole duration");
    let whole = (last.end_time_unix_nano - first.start_time_unix_nano) as f64 / 1e9;
    assert!((duration - whole).abs() < 1e-6, "{duration} vs {whole}");
    assert_eq!(
        last_keys,
        json(&[
            version,
            ("mcp.request.round", serde_json::json!(2)),
            ("mcp.request.rounds", serde_json::json!(2)),
        ])
    );
    assert_eq!(last.links.len(), 1);
    assert_eq!(last.links[0].span_id, first.span_id);
}
