//! `mcp-trace probe -- COMMAND [ARGS…]` and `mcp-trace probe --url URL`: synthetic
//! monitoring of an MCP server, over stdio or streamable HTTP, from outside it. A server that is down emits nothing, so the absence of its
//! spans never alerts; a probe run does: it starts the server, runs the protocol's
//! opening (`initialize`, or `server/discover` under 2026-07-28), `tools/list`,
//! optionally `ping` and one named tool call, each step under a timeout, and records the
//! run as one trace (a root span, a CLIENT span per step through the library's observer,
//! `mcp.client.operation.duration`) and the gauge `mcp.probe.up`. Once, its exit status
//! says whether the server is up (usable from cron, CI or a Kubernetes probe); with
//! `--interval`, it runs until stopped.

mod http;

use crate::signals;
use mcp_trace_runtime::wire::Observer;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use serde_json::{Value, json};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

/// What to probe, and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's program and its arguments (over stdio).
    pub command: Vec<OsString>,
    /// Or the server's MCP endpoint (over streamable HTTP), `http://host:port/mcp`.
    pub url: Option<String>,
    /// Run every this long (until stopped); `None`: once.
    pub interval: Option<Duration>,
    /// How long each step may take.
    pub timeout: Duration,
    /// Whether to send `ping`.
    pub ping: bool,
    /// A tool to call, with its arguments (a JSON object).
    pub call: Option<(String, Value)>,
    /// The protocol revision to speak: `2026-07-28` opens with `server/discover`.
    pub protocol: String,
    /// What the spans and the gauge call the server (`mcp.probe.target`); default: its
    /// program's file name, or its URL's host.
    pub name: Option<String>,
}

/// The revision that has no `initialize`.
const STATELESS: &str = "2026-07-28";

/// How a run went: `Ok` with the server's name, or the step that failed and why.
pub type Verdict = Result<Option<String>, Failure>;

/// The step a run failed at, and why (a fixed word or a JSON-RPC code; never the
/// server's message).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub step: String,
    pub reason: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.reason)
    }
}

/// Runs the probe; returns the exit status (once: 0 up, 1 down).
pub fn run(options: &Options) -> Result<u8, String> {
    match &options.url {
        Some(url) => http::check(url)?,
        None if options.command.is_empty() => {
            return Err(
                "no server given (mcp-trace probe -- COMMAND [ARGS…], or --url URL)".into(),
            );
        }
        None => {}
    }
    // A signal ends the probe between steps, its server ended with it.
    signals::forward_from_now();
    let guard = mcp_trace_runtime::Builder::new()
        .service_name("mcp-trace-probe")
        .install_or_warn();
    let up = opentelemetry::global::meter("mcp-trace-probe")
        .u64_gauge("mcp.probe.up")
        .with_description("1 when the last probe run of the server succeeded, else 0")
        .build();
    let target = options.name.clone().unwrap_or_else(|| match &options.url {
        Some(url) => http::target_name(url),
        None => target_name(&options.command[0]),
    });
    loop {
        let started = Instant::now();
        let verdict = once(options, &target);
        let attributes = [KeyValue::new("mcp.probe.target", target.clone())];
        up.record(u64::from(verdict.is_ok()), &attributes);
        let took = started.elapsed();
        match &verdict {
            Ok(Some(server)) => eprintln!(
                "mcp-trace probe: {target} up ({server}, {} ms)",
                took.as_millis()
            ),
            Ok(None) => eprintln!("mcp-trace probe: {target} up ({} ms)", took.as_millis()),
            Err(failure) => eprintln!("mcp-trace probe: {target} down at {failure}"),
        }
        let Some(interval) = options.interval.filter(|_| !signals::received()) else {
            drop(guard);
            return Ok(if verdict.is_ok() { 0 } else { 1 });
        };
        let next = Instant::now() + interval.saturating_sub(took);
        while Instant::now() < next {
            if signals::received() {
                drop(guard);
                return Ok(if verdict.is_ok() { 0 } else { 1 });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The name a probe's spans give the server: its program's file name.
fn target_name(program: &OsString) -> String {
    std::path::Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().chars().take(128).collect())
        .unwrap_or_else(|| "mcp-server".to_owned())
}

/// One run: a trace of its own.
pub fn once(options: &Options, target: &str) -> Verdict {
    let tracer = opentelemetry::global::tracer("mcp-trace-probe");
    let root = tracer
        .span_builder(format!("probe {target}"))
        .with_kind(SpanKind::Internal)
        .with_attributes([KeyValue::new("mcp.probe.target", target.to_owned())])
        .start_with_context(&tracer, &Context::new());
    // A trace of its own, whatever the process's context.
    let cx = Context::new().with_span(root);
    let verdict = {
        let _current = cx.clone().attach();
        conversation(options)
    };
    let root = cx.span();
    match &verdict {
        Ok(_) => root.set_attribute(KeyValue::new("mcp.probe.up", true)),
        Err(failure) => {
            root.set_attribute(KeyValue::new("mcp.probe.up", false));
            root.set_attribute(KeyValue::new("mcp.probe.failed_step", failure.step.clone()));
            root.set_attribute(KeyValue::new("error.type", failure.reason.clone()));
            root.set_status(Status::error(format!(
                "{}: {}",
                failure.step, failure.reason
            )));
        }
    }
    root.end();
    verdict
}

/// The server, spoken to line by line: what it writes comes through a channel and
/// what is written to it goes through one, so that no wait, read or write of the probe
/// outlasts a step's deadline.
struct Server {
    /// Over stdio, the server's process.
    child: Option<Child>,
    /// Messages to send, to the writer; dropped to close the server's stdin (over
    /// HTTP, to end the session).
    to: Option<Writer>,
    lines: Receiver<Line>,
    /// Over HTTP, the thread that speaks it: done once the session is ended.
    link: Option<std::thread::JoinHandle<()>>,
    observer: Observer,
    next_id: i64,
    timeout: Duration,
}

/// What the reader thread saw.
enum Line {
    Text(Vec<u8>),
    /// A line past [`MAX_LINE`]: not read on.
    TooLong,
    End,
    /// An HTTP exchange failed, for this reason (an HTTP status such as `503`, or a
    /// fixed word: `unreachable`, `invalid_response`).
    Failed(String),
}

/// Where the probe's messages go.
enum Writer {
    /// To the thread writing the server's stdin.
    Pipe(SyncSender<Vec<u8>>),
    /// To the thread posting them to the server's endpoint.
    Http(tokio::sync::mpsc::Sender<Vec<u8>>),
}

/// The longest line the probe reads from a server (an answer, a notification).
const MAX_LINE: usize = 8 << 20;
/// Most of the server's own requests one step answers: a server flooding the probe with
/// requests fails the step rather than keep it busy.
const MAX_ANSWERED: usize = 64;

fn failure(step: &str, reason: &str) -> Failure {
    Failure {
        step: step.to_owned(),
        reason: reason.to_owned(),
    }
}

impl Server {
    fn start(options: &Options) -> Result<Server, Failure> {
        if let Some(url) = &options.url {
            let (to, lines, link) = http::start(url, &options.protocol)?;
            return Ok(Server {
                child: None,
                to: Some(Writer::Http(to)),
                lines,
                link: Some(link),
                observer: Observer::http(),
                next_id: 0,
                timeout: options.timeout,
            });
        }
        let Some((program, args)) = options.command.split_first() else {
            return Err(failure("start", "cannot_start"));
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        // Its own process group: whatever it starts is ended with it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .map_err(|_| failure("start", "cannot_start"))?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            signals::kill(child.id());
            let _ = child.kill();
            let _ = child.wait();
            return Err(failure("start", "cannot_start"));
        };
        let (send, lines) = std::sync::mpsc::sync_channel(256);
        std::thread::spawn(move || read_lines(stdout, &send));
        let (to, writes) = std::sync::mpsc::sync_channel::<Vec<u8>>(256);
        std::thread::spawn(move || {
            for line in writes {
                if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
                    return;
                }
            }
        });
        Ok(Server {
            child: Some(child),
            to: Some(Writer::Pipe(to)),
            lines,
            link: None,
            observer: Observer::stdio(),
            next_id: 0,
            timeout: options.timeout,
        })
    }

    /// Hands `message` to the writer; `Err` once the server's stdin is gone, or if a
    /// server that reads nothing has let the writes pile up.
    fn write(&mut self, message: &Value) -> Result<(), &'static str> {
        let line = format!("{message}\n").into_bytes();
        use tokio::sync::mpsc::error::TrySendError as Queue;
        match &self.to {
            Some(Writer::Pipe(to)) => match to.try_send(line) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(_)) => Err("timeout"),
                Err(TrySendError::Disconnected(_)) => Err("transport_closed"),
            },
            Some(Writer::Http(to)) => match to.try_send(line) {
                Ok(()) => Ok(()),
                Err(Queue::Full(_)) => Err("timeout"),
                Err(Queue::Closed(_)) => Err("transport_closed"),
            },
            None => Err("transport_closed"),
        }
    }

    /// Sends request `method` with `params` and waits for its answer's result; the
    /// failure names the step `step`.
    fn request(&mut self, step: &str, method: &str, params: Value) -> Result<Value, Failure> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        // The step's span, and its context in `_meta`, so that a traced server's span
        // of the request is part of the probe's trace.
        let meta = self.observer.sent(message.to_string().as_bytes());
        if let (Some(traceparent), Some(params)) = (meta, message["params"].as_object_mut()) {
            let meta = params.entry("_meta").or_insert_with(|| json!({}));
            if let Some(meta) = meta.as_object_mut() {
                meta.insert("traceparent".into(), Value::String(traceparent));
            }
        }
        let given_up = |observer: &Observer, reason: &str| {
            observer.gave_up(id, reason);
            failure(step, reason)
        };
        if let Err(reason) = self.write(&message) {
            return Err(given_up(&self.observer, reason));
        }
        let deadline = Instant::now() + self.timeout;
        let mut answered = 0;
        loop {
            if signals::received() {
                return Err(given_up(&self.observer, "interrupted"));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(given_up(&self.observer, "timeout"));
            }
            // In slices, so that a signal is seen soon.
            let wait = (deadline - now).min(Duration::from_millis(100));
            let line = match self.lines.recv_timeout(wait) {
                Ok(Line::Text(line)) => line,
                Ok(Line::TooLong) => return Err(given_up(&self.observer, "invalid_response")),
                Ok(Line::End) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(given_up(&self.observer, "transport_closed"));
                }
                Ok(Line::Failed(reason)) => return Err(given_up(&self.observer, &reason)),
                Err(RecvTimeoutError::Timeout) => continue,
            };
            let Ok(answer) = serde_json::from_slice::<Value>(&line) else {
                return Err(given_up(&self.observer, "invalid_json"));
            };
            // The server's own requests: a ping is answered, anything else refused.
            if let (Some(method), Some(their_id)) = (answer.get("method"), answer.get("id")) {
                answered += 1;
                if answered > MAX_ANSWERED {
                    return Err(given_up(&self.observer, "flooded"));
                }
                let reply = match method.as_str() {
                    Some("ping") => json!({"jsonrpc": "2.0", "id": their_id, "result": {}}),
                    _ => json!({"jsonrpc": "2.0", "id": their_id,
                        "error": {"code": -32601, "message": "not supported by the probe"}}),
                };
                if let Err(reason) = self.write(&reply) {
                    return Err(given_up(&self.observer, reason));
                }
                continue;
            }
            if answer.get("id") != Some(&json!(id)) {
                continue;
            }
            self.observer.received(&line);
            if let Some(error) = answer.get("error") {
                // The code, when it is one; never the server's text.
                let reason = match error.get("code").and_then(Value::as_i64) {
                    Some(code) => code.to_string(),
                    None => "invalid_response".to_owned(),
                };
                return Err(failure(step, &reason));
            }
            return match answer.get("result") {
                Some(result) => Ok(result.clone()),
                None => Err(failure(step, "invalid_response")),
            };
        }
    }

    fn notify(&mut self, method: &str) {
        let _ = self.write(&json!({"jsonrpc": "2.0", "method": method}));
    }

    /// Closes the server's stdin, gives it a second to go, then asks its process group
    /// to (SIGTERM) and at last ends it (SIGKILL): nothing it started outlives the run.
    /// Over HTTP, ends the session.
    fn stop(mut self) {
        drop(self.to.take());
        if let Some(link) = self.link.take() {
            let _ = link.join();
        }
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id();
        let exited = |child: &mut Child, within: Duration| {
            let deadline = Instant::now() + within;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            false
        };
        if !exited(&mut child, Duration::from_secs(1)) {
            signals::terminate(pid);
            if !exited(&mut child, Duration::from_secs(1)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        signals::kill(pid);
    }
}

/// The server's stdout, line by line, to `send`, until it ends; a line past
/// [`MAX_LINE`] ends the reading.
fn read_lines(stdout: impl std::io::Read, send: &SyncSender<Line>) {
    let mut from = BufReader::new(stdout);
    loop {
        let mut line = Vec::new();
        let read = (&mut from)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line);
        let message = match read {
            Ok(0) | Err(_) => Line::End,
            Ok(_) if line.len() > MAX_LINE => Line::TooLong,
            Ok(_) => Line::Text(line),
        };
        let last = !matches!(message, Line::Text(_));
        if send.send(message).is_err() || last {
            return;
        }
    }
}

/// The probe's conversation with the server.
fn conversation(options: &Options) -> Verdict {
    let mut server = Server::start(options)?;
    let verdict = steps(&mut server, options);
    server.stop();
    verdict
}

fn steps(server: &mut Server, options: &Options) -> Verdict {
    let client = json!({"name": "mcp-trace-probe", "version": env!("CARGO_PKG_VERSION")});
    let stateless = options.protocol == STATELESS;
    // Under 2026-07-28 every request says its revision in `_meta`.
    let meta = |params: Value| -> Value {
        let mut params = params;
        if stateless && let Some(object) = params.as_object_mut() {
            object.insert(
                "_meta".into(),
                json!({"io.modelcontextprotocol/protocolVersion": STATELESS,
                       "io.modelcontextprotocol/clientInfo": client,
                       "io.modelcontextprotocol/clientCapabilities": {}}),
            );
        }
        params
    };
    let opened = if stateless {
        server.request("server/discover", "server/discover", meta(json!({})))?
    } else {
        let opened = server.request(
            "initialize",
            "initialize",
            json!({"protocolVersion": options.protocol, "capabilities": {},
                   "clientInfo": client}),
        )?;
        server.notify("notifications/initialized");
        opened
    };
    // `serverInfo` of `initialize`; under 2026-07-28, in the discovery result's `_meta`.
    let name = opened
        .pointer("/serverInfo/name")
        .or_else(|| opened.pointer("/_meta/io.modelcontextprotocol~1serverInfo/name"))
        .and_then(Value::as_str)
        .map(|n| n.chars().filter(|c| !c.is_control()).take(128).collect());
    let listed = server.request("tools/list", "tools/list", meta(json!({})))?;
    if !listed.get("tools").is_some_and(Value::is_array) {
        return Err(Failure {
            step: "tools/list".into(),
            reason: "invalid_response".into(),
        });
    }
    if options.ping {
        server.request("ping", "ping", meta(json!({})))?;
    }
    if let Some((tool, arguments)) = &options.call {
        let step = format!("tools/call {tool}");
        let result = server.request(
            &step,
            "tools/call",
            meta(json!({"name": tool, "arguments": arguments})),
        )?;
        if result.get("isError") == Some(&Value::Bool(true)) {
            return Err(Failure {
                step,
                reason: "tool_error".into(),
            });
        }
    }
    Ok(name)
}
