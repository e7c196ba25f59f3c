//! The proxy's telemetry, installed once the service's name is known: from the
//! environment at once, else from the server's first message (`serverInfo.name` of its
//! `initialize` answer). What the observers are shown before that is kept, with the
//! times it was read, and shown to them then, in order.

use mcp_trace_runtime::wire::{Http, Observer, Sender};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// Messages kept before telemetry is installed (waiting for the server's name), at most.
const MAX_WAITING_MESSAGES: usize = 64;
/// Bytes kept before telemetry is installed, at most.
const MAX_WAITING_BYTES: usize = 4 << 20;

/// An observer's step kept until telemetry is installed.
type Kept = Box<dyn FnOnce() + Send>;

pub(crate) struct Telemetry {
    state: Mutex<Install>,
    fallback: String,
    /// Set once the proxy is closing: a message read after that is relayed only.
    closing: AtomicBool,
}

enum Install {
    Waiting { kept: Vec<Kept>, bytes: usize },
    Installed(Option<mcp_trace_runtime::TelemetryGuard>),
}

/// A message's HTTP context, owned, for a message kept until telemetry is installed.
#[derive(Default)]
pub(crate) struct HttpOwned {
    pub(crate) traceparent: Option<String>,
    pub(crate) tracestate: Option<String>,
    pub(crate) client: Option<std::net::SocketAddr>,
}

impl HttpOwned {
    fn borrowed(&self) -> Http<'_> {
        Http {
            traceparent: self.traceparent.as_deref(),
            tracestate: self.tracestate.as_deref(),
            client: self.client,
        }
    }
}

impl Telemetry {
    /// Telemetry for a server that the environment does not name and that says no name
    /// of its own is called `fallback`.
    pub(crate) fn new(fallback: String) -> Self {
        let telemetry = Telemetry {
            state: Mutex::new(Install::Waiting {
                kept: Vec::new(),
                bytes: 0,
            }),
            fallback,
            closing: AtomicBool::new(false),
        };
        if service_named_by_environment() {
            let mut state = telemetry.lock();
            telemetry.install(&mut state, None);
        }
        telemetry
    }

    fn lock(&self) -> MutexGuard<'_, Install> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Shows `message`, sent by `from` and read at `at`, to `observer` (or keeps it until
    /// telemetry is installed). A fault of the observer's never stops the relay.
    pub(crate) fn observe(
        &self,
        observer: &Arc<Observer>,
        from: Sender,
        message: &[u8],
        at: SystemTime,
        http: Option<HttpOwned>,
    ) {
        let mut state = self.lock();
        if self.closing.load(Ordering::Acquire) {
            return;
        }
        // Observed under the lock: in the order read, and never after `finish`.
        let Install::Waiting { kept, bytes } = &mut *state else {
            let http = http.unwrap_or_default();
            return guarded(|| observer.observe_http(from, message, at, &http.borrowed()));
        };
        *bytes += message.len();
        let full = kept.len() + 1 >= MAX_WAITING_MESSAGES || *bytes >= MAX_WAITING_BYTES;
        {
            let observer = observer.clone();
            let message = message.to_vec();
            let http = http.unwrap_or_default();
            kept.push(Box::new(move || {
                observer.observe_http(from, &message, at, &http.borrowed())
            }));
        }
        if from == Sender::Server || full {
            let name = (from == Sender::Server)
                .then(|| server_name(message))
                .flatten();
            self.install(&mut state, name);
        }
    }

    /// Runs `step` on an observer, in order with the messages shown to them: now once
    /// telemetry is installed, else then.
    pub(crate) fn then(&self, step: impl FnOnce() + Send + 'static) {
        let mut state = self.lock();
        if self.closing.load(Ordering::Acquire) {
            return;
        }
        match &mut *state {
            Install::Waiting { kept, .. } => kept.push(Box::new(step)),
            Install::Installed(_) => guarded(step),
        }
    }

    /// Installs telemetry named `name` (else the fallback), and runs what was kept.
    fn install(&self, state: &mut Install, name: Option<String>) {
        let Install::Waiting { kept, .. } = state else {
            return;
        };
        let kept = std::mem::take(kept);
        let guard = mcp_trace_runtime::Builder::new()
            .service_name(name.unwrap_or_else(|| self.fallback.clone()))
            .install_or_warn();
        *state = Install::Installed(Some(guard));
        for step in kept {
            guarded(step);
        }
    }

    /// The proxy is closing: `last` ends what is still open (requests left unanswered
    /// end `transport_closed`), and every span is exported before the proxy exits.
    pub(crate) fn finish(&self, last: impl FnOnce()) {
        let mut state = self.lock();
        self.closing.store(true, Ordering::Release);
        self.install(&mut state, None);
        guarded(last);
        if let Install::Installed(guard) = &mut *state {
            drop(guard.take());
        }
    }
}

/// Runs an observer's step; a panic in it is said on stderr, and the relay goes on.
fn guarded(step: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).is_err() {
        eprintln!("mcp-trace proxy: the observer failed on a message; relaying goes on");
    }
}

/// Whether the environment names the service (then there is nothing to wait for).
fn service_named_by_environment() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    set("OTEL_SERVICE_NAME")
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|attributes| {
            attributes
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .any(|(key, value)| key.trim() == "service.name" && !value.trim().is_empty())
        })
}

/// `result.serverInfo.name` of an `initialize` answer (under 2026-07-28, of a
/// `server/discover` answer's `_meta`), if `message` is one.
fn server_name(message: &[u8]) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_slice(message).ok()?;
    let result = answer.get("result")?;
    let name = result
        .pointer("/serverInfo/name")
        .or_else(|| result.pointer("/_meta/io.modelcontextprotocol~1serverInfo/name"))?
        .as_str()?;
    // A service name, not a message: short and printable.
    let name: String = name.chars().filter(|c| !c.is_control()).take(128).collect();
    (!name.is_empty()).then_some(name)
}
