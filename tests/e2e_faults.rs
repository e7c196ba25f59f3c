//! Bad input and faults against the stdio example, over raw pipes: garbage on stdin,
//! `arguments` that are not an object, a 10 MB argument, and an OTLP receiver that is
//! down. The server keeps serving, never panics, and answers without waiting on export.
#![cfg(all(feature = "rmcp", feature = "otlp"))]

mod common;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Server {
    fn start(endpoint: &str) -> Self {
        let mut command = Command::new(common::example_binary("stdio_server"));
        let mut child = common::export_to(&mut command, endpoint)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            lines,
        }
    }

    fn send(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// The response to request `id`, skipping notifications and other responses.
    fn response(&self, id: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .expect("a response before the deadline");
            let Ok(message) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    fn initialize(&mut self) {
        self.send(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "faults", "version": "1"}}})
            .to_string(),
        );
        assert!(self.response(0)["result"].is_object());
        self.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    }

    /// Closes stdin and returns the exit status and everything written to stderr.
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        drop(self.stdin.take());
        let output = self.child.wait_with_output().expect("server exits");
        (
            output.status,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

fn call(id: u64, name: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": name, "arguments": arguments}})
    .to_string()
}

/// A loopback port with nothing listening.
fn closed_port_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

#[test]
fn garbage_non_objects_and_huge_arguments_do_not_stop_the_server() {
    let mut server = Server::start(&closed_port_endpoint());
    server.send("this is not JSON at all {{{");
    server.send(r#"{"jsonrpc":"2.0","id":"x","method":42}"#);
    server.initialize();

    server.send(&call(1, "search_documents", json!(["not", "an", "object"])));
    let response = server.response(1);
    assert!(
        response.get("error").is_some() || response["result"]["isError"] == json!(true),
        "{response}"
    );

    let huge = "x".repeat(10 * 1024 * 1024);
    let started = Instant::now();
    server.send(&call(
        2,
        "search_documents",
        json!({"query": huge, "limit": 3}),
    ));
    let response = server.response(2);
    assert_eq!(
        response["result"]["isError"],
        json!(false),
        "huge argument served"
    );
    eprintln!("10 MB argument answered in {:?}", started.elapsed());

    // Still serving after all of that.
    server.send(&call(3, "run_query", json!({"sql": "SELECT 1"})));
    assert_eq!(server.response(3)["result"]["isError"], json!(false));

    let (status, stderr) = server.finish();
    assert!(status.success(), "clean exit: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_receiver_that_is_down_costs_the_handler_nothing() {
    let mut server = Server::start(&closed_port_endpoint());
    server.initialize();
    let mut slowest = Duration::ZERO;
    for id in 1..=50 {
        let started = Instant::now();
        server.send(&call(id, "run_query", json!({"sql": "SELECT 1"})));
        assert_eq!(server.response(id)["result"]["isError"], json!(false));
        slowest = slowest.max(started.elapsed());
    }
    // Export happens on a background thread: no request waits on the dead receiver.
    assert!(
        slowest < Duration::from_secs(2),
        "slowest round trip {slowest:?}"
    );
    let started = Instant::now();
    let (status, stderr) = server.finish();
    assert!(status.success(), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "shutdown is bounded"
    );
    assert!(
        stderr.contains("spans dropped because their export failed"),
        "dropped spans are counted: {stderr}"
    );
}
