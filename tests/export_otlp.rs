//! OTLP/HTTP: a loopback receiver decodes the protobuf `POST /v1/traces` requests of a
//! child process configured only through the standard environment.
#![cfg(all(feature = "enable", feature = "otlp"))]

use mcp_trace::traced_tool;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use prost::Message;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const CHILD: &str = "MCP_TRACE_OTLP_CHILD";
const CALLS: i64 = 20;

#[traced_tool]
fn numbered(i: i64) -> i64 {
    i
}

/// Reads HTTP/1.1 requests on one connection; answers 200 to each.
fn serve(stream: TcpStream, received: &Mutex<Vec<(String, ExportTraceServiceRequest)>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
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
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let decoded = ExportTraceServiceRequest::decode(body.as_slice()).expect("protobuf body");
        received.lock().unwrap().push((path, decoded));
        let response =
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn otlp_http_receives_every_span_as_protobuf() {
    if std::env::var_os(CHILD).is_some() {
        // The child: configured from the environment alone, like a real server.
        let guard = mcp_trace::init();
        assert!(guard.is_active());
        for i in 0..CALLS {
            numbered(i);
        }
        return; // the guard's drop exports everything
    }

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let address = listener.local_addr().unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (received, stop) = (received.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    serve(stream, &received);
                }
            }
        })
    };

    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "otlp_http_receives_every_span_as_protobuf",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .stdout(std::process::Stdio::null())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{address}"))
        .env("OTEL_SERVICE_NAME", "otlp-child")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .status()
        .expect("child runs");
    assert!(status.success());

    // Stop the receiver: raise the flag, then wake its accept.
    stop.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect(address);
    server.join().unwrap();

    let received = received.lock().unwrap();
    assert!(!received.is_empty(), "the receiver got requests");
    let mut seen = Vec::new();
    for (path, request) in received.iter() {
        assert_eq!(
            path, "/v1/traces",
            "/v1/traces appended to the generic endpoint"
        );
        for resource_spans in &request.resource_spans {
            let resource = resource_spans.resource.as_ref().unwrap();
            let service = resource
                .attributes
                .iter()
                .find(|kv| kv.key == "service.name")
                .unwrap();
            let value = service.value.as_ref().and_then(|v| v.value.clone());
            assert_eq!(
                value,
                Some(any_value::Value::StringValue("otlp-child".into()))
            );
            for span in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
                assert_eq!(span.name, "tools/call numbered");
                let i = span
                    .attributes
                    .iter()
                    .find(|kv| kv.key == "mcp.tool.args.i")
                    .unwrap();
                match i.value.as_ref().and_then(|v| v.value.clone()) {
                    Some(any_value::Value::IntValue(i)) => seen.push(i),
                    other => panic!("unexpected value {other:?}"),
                }
            }
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..CALLS).collect::<Vec<_>>());
}
