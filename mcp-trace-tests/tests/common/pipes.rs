//! The stdio example driven over raw pipes: what a client writes, byte for byte, and
//! each stdout line as it arrives.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

pub struct PipeServer {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl PipeServer {
    /// Starts the stdio example exporting over OTLP to `endpoint`; `configure` adds
    /// environment of its own.
    pub fn start(endpoint: &str, configure: impl FnOnce(&mut Command)) -> Self {
        let mut command = Command::new(super::example_binary("stdio_server"));
        super::export_to(&mut command, endpoint);
        configure(&mut command);
        let mut child = command
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

    /// Writes `text` and a newline.
    pub fn send(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(text.as_bytes()).expect("written");
        stdin.write_all(b"\n").expect("written");
        stdin.flush().expect("flushed");
    }

    /// The response to request `id`, skipping notifications and other responses.
    pub fn response(&self, id: impl Into<Value>) -> Value {
        let id = id.into();
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
            if message["id"] == id {
                return message;
            }
        }
    }

    pub fn initialize(&mut self) {
        self.send(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "pipes", "version": "1"}}})
            .to_string(),
        );
        assert!(self.response(0)["result"].is_object());
        self.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    }

    /// Closes stdin (the client is gone), keeping the process running.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// Waits at most `limit` for the process to exit; its status, everything it wrote
    /// to stderr, and how long the wait took.
    pub fn exit_within(mut self, limit: Duration) -> (ExitStatus, String, Duration) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waitable") {
                break status;
            }
            assert!(start.elapsed() < limit, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = start.elapsed();
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        (status, stderr, took)
    }

    /// Closes stdin and waits for the exit (at most 20 s).
    pub fn finish(mut self) -> (ExitStatus, String) {
        self.close_stdin();
        let (status, stderr, _) = self.exit_within(Duration::from_secs(20));
        (status, stderr)
    }
}

/// A `tools/call` request.
pub fn call(id: u64, name: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": name, "arguments": arguments}})
    .to_string()
}
