//! Exit paths of the stdio example: when the client closes stdin every span is exported,
//! and on SIGTERM the server flushes within its shutdown timeout before it exits.
#![cfg(all(feature = "rmcp", feature = "otlp", unix))]

mod common;

use common::otlp::{self, Receiver};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver as Lines, channel};
use std::time::{Duration, Instant};

const CALLS: u64 = 200;

struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Lines<String>,
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
        let stdout = child.stdout.take().expect("stdout piped");
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

    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{message}").expect("written");
        stdin.flush().expect("flushed");
    }

    fn response(&self, id: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).expect("a response in time");
            let message: Value = serde_json::from_str(&line).expect("stdout is JSON-RPC");
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    /// initialize, then `CALLS` answered tool calls.
    fn session(&mut self) {
        self.send(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "exit", "version": "1"}}}),
        );
        assert!(self.response(0)["result"].is_object());
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        for id in 1..=CALLS {
            self.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": "search_documents", "arguments": {"query": "intro"}}}));
            assert!(
                self.response(id)["result"].is_object(),
                "call {id} answered"
            );
        }
    }

    /// Waits for the process to exit, at most `limit`; returns how long it took.
    fn exits_within(&mut self, limit: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("waitable") {
                let stderr = self.child.stderr.take().map(|mut e| {
                    let mut text = String::new();
                    let _ = std::io::Read::read_to_string(&mut e, &mut text);
                    text
                });
                let stderr = stderr.unwrap_or_default();
                assert!(!stderr.contains("panicked"), "{stderr}");
                let _ = status;
                return start.elapsed();
            }
            assert!(start.elapsed() < limit, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn tool_spans(received: &[otlp::Received]) -> usize {
    otlp::spans(received)
        .iter()
        .filter(|span| span.name == "tools/call search_documents")
        .count()
}

#[test]
fn closing_stdin_exports_every_span() {
    let receiver = Receiver::start();
    let mut server = Server::start(&receiver.endpoint());
    server.session();
    drop(server.stdin.take());
    let took = server.exits_within(Duration::from_secs(15));
    eprintln!("exit after stdin closed: {took:?}");
    assert_eq!(
        tool_spans(&receiver.stop()),
        CALLS as usize,
        "100 % exported"
    );
}

#[test]
fn sigterm_flushes_before_exit() {
    let receiver = Receiver::start();
    let mut server = Server::start(&receiver.endpoint());
    server.session();
    // stdin stays open: only the signal ends the server.
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let took = server.exits_within(Duration::from_secs(15));
    eprintln!("exit after SIGTERM: {took:?}");
    assert_eq!(
        tool_spans(&receiver.stop()),
        CALLS as usize,
        "flushed on SIGTERM"
    );
}
