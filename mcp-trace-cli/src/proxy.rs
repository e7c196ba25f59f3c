//! `mcp-trace proxy -- COMMAND [ARGS…]`: traces an MCP server over stdio, in any
//! language, with no change to it. The proxy spawns the server and relays the host's
//! stdin to the server's stdin and the server's stdout to the host's stdout, byte for
//! byte and line by line as each line completes; the server's stderr passes through.
//! Each line is shown to the observer (`mcp_trace_runtime::wire`) before it is passed
//! on, so the spans are the library's own, by the library's rules; the proxy never
//! writes a byte of its own to stdout, and never adds, drops or changes a message.

use mcp_trace_runtime::wire::{Observer, Sender};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// What to run, and how long to wait for it to go once the host has hung up.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's program and its arguments.
    pub command: Vec<OsString>,
    /// After the host closes stdin, how long the server has to exit on its own before
    /// it is sent SIGTERM, and again before SIGKILL.
    pub grace: Duration,
}

/// Messages kept before telemetry is installed (waiting for the server's name), at most.
const MAX_WAITING_MESSAGES: usize = 64;
/// Bytes kept before telemetry is installed, at most.
const MAX_WAITING_BYTES: usize = 4 << 20;

/// Runs the proxy until the server exits; returns the status the proxy exits with
/// (the server's: its code, or 128 + the signal that ended it).
pub fn run(options: &Options) -> Result<u8, String> {
    let Some((program, args)) = options.command.split_first() else {
        return Err("no server command given (mcp-trace proxy -- COMMAND [ARGS…])".into());
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.to_string_lossy()))?;
    signals::forward_from_now();
    let telemetry = Arc::new(Telemetry::new(fallback_name(program)));
    let (Some(to_server), Some(from_server)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("the server's stdin and stdout could not be opened".into());
    };
    let host_gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let telemetry = telemetry.clone();
        let host_gone = host_gone.clone();
        std::thread::spawn(move || {
            pump_host(to_server, &telemetry);
            host_gone.store(true, std::sync::atomic::Ordering::Release);
        });
    }
    let answers = {
        let telemetry = telemetry.clone();
        std::thread::spawn(move || pump_server(from_server, &telemetry))
    };
    let status = wait(&mut child, &host_gone, options.grace);
    // What the server wrote before it exited is relayed and observed to the end.
    let _ = answers.join();
    telemetry.finish();
    Ok(status.map_or(1, exit_code))
}

/// The host's lines to the server, until the host hangs up (or the server does).
fn pump_host(mut to_server: ChildStdin, telemetry: &Telemetry) {
    let mut host = std::io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        match host.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        telemetry.observe(Sender::Client, &line, SystemTime::now());
        if to_server
            .write_all(&line)
            .and_then(|()| to_server.flush())
            .is_err()
        {
            break;
        }
    }
    // Dropped: the server's stdin closes, as the host's did.
}

/// The server's lines to the host, until the server closes its stdout.
fn pump_server(from_server: impl Read, telemetry: &Telemetry) {
    let mut server = BufReader::new(from_server);
    let mut host = std::io::stdout().lock();
    let mut line = Vec::new();
    let mut host_open = true;
    loop {
        line.clear();
        match server.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        telemetry.observe(Sender::Server, &line, SystemTime::now());
        // A host that hung up reads nothing more; the server's lines are still
        // observed until it exits.
        if host_open && host.write_all(&line).and_then(|()| host.flush()).is_err() {
            host_open = false;
        }
    }
}

/// Waits for the server to exit, forwarding the signals the proxy receives; once the
/// host has hung up, gives the server `grace` to go, then SIGTERM, then SIGKILL.
fn wait(
    child: &mut Child,
    host_gone: &std::sync::atomic::AtomicBool,
    grace: Duration,
) -> Option<ExitStatus> {
    let tick = Duration::from_millis(20);
    let mut since_hangup: Option<std::time::Instant> = None;
    let mut terminated = false;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(_) => return child.wait().ok(),
        }
        signals::forward_pending(child.id());
        if host_gone.load(std::sync::atomic::Ordering::Acquire) {
            let since = *since_hangup.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() >= grace * 2 {
                let _ = child.kill();
                return child.wait().ok();
            }
            if since.elapsed() >= grace && !terminated {
                terminated = true;
                signals::terminate(child.id());
            }
        }
        std::thread::sleep(tick);
    }
}

/// The proxy's exit status for the server's: its code, or 128 + the signal that
/// ended it, as a shell reports it.
fn exit_code(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code & 0xff).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + (signal & 0x7f)).unwrap_or(1);
        }
    }
    1
}

/// `service.name` when neither `OTEL_SERVICE_NAME` nor the server's `serverInfo.name`
/// gives one: the server program's file name.
fn fallback_name(program: &std::ffi::OsStr) -> String {
    std::path::Path::new(program)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mcp-server".to_owned())
}

/// Whether the environment names the service (then there is nothing to wait for).
fn service_named_by_environment() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    set("OTEL_SERVICE_NAME")
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|a| a.contains("service.name="))
}

/// The observer, and the telemetry it records into, installed once the service's name
/// is known: from the environment at once, else from the server's first message
/// (`serverInfo.name` of its `initialize` answer). Messages seen before are kept, with
/// the times they were read, and observed then.
struct Telemetry {
    observer: Observer,
    state: Mutex<Install>,
    fallback: String,
}

enum Install {
    Waiting {
        kept: Vec<(Sender, Vec<u8>, SystemTime)>,
        bytes: usize,
    },
    Installed(Option<mcp_trace_runtime::TelemetryGuard>),
}

impl Telemetry {
    fn new(fallback: String) -> Self {
        let telemetry = Telemetry {
            observer: Observer::stdio(),
            state: Mutex::new(Install::Waiting {
                kept: Vec::new(),
                bytes: 0,
            }),
            fallback,
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

    /// Shows `message` to the observer (or keeps it until telemetry is installed). A
    /// fault of the observer's never stops the relay.
    fn observe(&self, from: Sender, message: &[u8], at: SystemTime) {
        let mut state = self.lock();
        let Install::Waiting { kept, bytes } = &mut *state else {
            drop(state);
            return self.observe_now(from, message, at);
        };
        kept.push((from, message.to_vec(), at));
        *bytes += message.len();
        if from == Sender::Server
            || kept.len() >= MAX_WAITING_MESSAGES
            || *bytes >= MAX_WAITING_BYTES
        {
            let name = (from == Sender::Server)
                .then(|| server_name(message))
                .flatten();
            self.install(&mut state, name);
        }
    }

    fn observe_now(&self, from: Sender, message: &[u8], at: SystemTime) {
        let observed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.observer.observe(from, message, at)
        }));
        if observed.is_err() {
            eprintln!("mcp-trace proxy: the observer failed on a message; relaying goes on");
        }
    }

    /// Installs telemetry named `name` (else the fallback), and observes what was kept.
    fn install(&self, state: &mut Install, name: Option<String>) {
        let Install::Waiting { kept, .. } = state else {
            return;
        };
        let kept = std::mem::take(kept);
        let guard = mcp_trace_runtime::Builder::new()
            .service_name(name.unwrap_or_else(|| self.fallback.clone()))
            .install_or_warn();
        *state = Install::Installed(Some(guard));
        for (from, message, at) in kept {
            self.observe_now(from, &message, at);
        }
    }

    /// The conversation is over: requests left unanswered end `transport_closed`, and
    /// every span is exported before the proxy exits.
    fn finish(&self) {
        let mut state = self.lock();
        self.install(&mut state, None);
        self.observer.closed();
        if let Install::Installed(guard) = &mut *state {
            drop(guard.take());
        }
    }
}

/// `result.serverInfo.name` of an `initialize` answer, if `message` is one.
fn server_name(message: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        result: Option<Result>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Result {
        server_info: Option<Info>,
    }
    #[derive(serde::Deserialize)]
    struct Info {
        name: Option<String>,
    }
    let answer: Answer = serde_json::from_slice(message).ok()?;
    let name = answer.result?.server_info?.name?;
    // A service name, not a message: short and printable.
    let name: String = name.chars().filter(|c| !c.is_control()).take(128).collect();
    (!name.is_empty()).then_some(name)
}

/// Signals the proxy receives (SIGTERM, SIGINT, SIGHUP) go on to the server. The only
/// unsafe code of the crate: two system calls, `signal` with a handler that stores to
/// an atomic (async-signal-safe) and `kill` of the server's own process id.
#[cfg(unix)]
#[allow(unsafe_code)]
mod signals {
    use std::sync::atomic::{AtomicI32, Ordering};

    /// The last signal received and not yet forwarded (0: none).
    static PENDING: AtomicI32 = AtomicI32::new(0);

    extern "C" fn note(signal: libc::c_int) {
        PENDING.store(signal, Ordering::SeqCst);
    }

    /// From now on, SIGTERM, SIGINT and SIGHUP are noted instead of ending the proxy.
    pub(super) fn forward_from_now() {
        for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            // SAFETY: `note` only stores to an atomic, which is async-signal-safe.
            unsafe {
                libc::signal(signal, note as *const () as libc::sighandler_t);
            }
        }
    }

    /// Sends the server the signal the proxy received, if any.
    pub(super) fn forward_pending(child: u32) {
        let signal = PENDING.swap(0, Ordering::SeqCst);
        if signal != 0 {
            send(child, signal);
        }
    }

    /// Asks the server to go.
    pub(super) fn terminate(child: u32) {
        send(child, libc::SIGTERM);
    }

    fn send(child: u32, signal: libc::c_int) {
        if let Ok(pid) = libc::pid_t::try_from(child) {
            // SAFETY: a plain system call on the server's own process id.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }
}

#[cfg(not(unix))]
mod signals {
    pub(super) fn forward_from_now() {}
    pub(super) fn forward_pending(_child: u32) {}
    pub(super) fn terminate(_child: u32) {}
}
