//! `mcp-trace proxy -- COMMAND [ARGS…]`: traces an MCP server over stdio, in any
//! language, with no change to it. The proxy spawns the server and relays the host's
//! stdin to the server's stdin and the server's stdout to the host's stdout, byte for
//! byte and line by line as each line completes; the server's stderr passes through.
//! Each line is shown to the observer (`mcp_trace_runtime::wire`) before it is passed
//! on, so the spans are the library's own, by the library's rules; the proxy never
//! writes a byte of its own to stdout, and never adds, drops or changes a message.

mod http;
pub(crate) mod sse;
mod telemetry;

pub use http::{HttpOptions, run_http};

use crate::signals;
use mcp_trace_runtime::wire::{Observer, Sender};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use telemetry::Telemetry;

/// What to run, and how long to wait for it to go once the host has hung up.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's program and its arguments.
    pub command: Vec<OsString>,
    /// After the host closes stdin, how long the server has to exit on its own before
    /// it is sent SIGTERM, and again before SIGKILL.
    pub grace: Duration,
}

/// A line buffer grown past this by one long line is let go of after it, so that a
/// 16 MiB line is not kept in memory for the rest of the conversation.
const KEPT_BUFFER: usize = 1 << 20;

/// Empties `line` for the next one, letting go of the memory a long one took.
fn next_line(line: &mut Vec<u8>) {
    if line.capacity() > KEPT_BUFFER {
        *line = Vec::new();
    } else {
        line.clear();
    }
}

/// Runs the proxy until the server exits; returns the status the proxy exits with
/// (the server's: its code, or 128 + the signal that ended it).
pub fn run(options: &Options) -> Result<u8, String> {
    let Some((program, args)) = options.command.split_first() else {
        return Err("no server command given (mcp-trace proxy -- COMMAND [ARGS…])".into());
    };
    // Noted from before the server starts, so that none ends the proxy and orphans it.
    signals::forward_from_now();
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // Its own process group: a signal passed on reaches what it started too (`npx`,
    // `uv run` and shells start the real server as a child), and a terminal's Ctrl-C
    // reaches it once, through the proxy.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.to_string_lossy()))?;
    let telemetry = Arc::new(Telemetry::new(fallback_name(program)));
    let observer = Arc::new(Observer::stdio());
    let (Some(to_server), Some(from_server)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err("the server's stdin and stdout could not be opened".into());
    };
    let host_gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let watch = (telemetry.clone(), observer.clone());
        let host_gone = host_gone.clone();
        std::thread::spawn(move || {
            pump_host(to_server, &watch);
            host_gone.store(true, std::sync::atomic::Ordering::Release);
        });
    }
    let answers = {
        let watch = (telemetry.clone(), observer.clone());
        std::thread::spawn(move || pump_server(from_server, &watch))
    };
    let status = wait(&mut child, &host_gone, options.grace);
    // What the server wrote before it exited is relayed and observed to the end, unless
    // something it started keeps its stdout open: then not past the grace period.
    let deadline = std::time::Instant::now() + options.grace.max(Duration::from_millis(100));
    while !answers.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // What the server started and left behind goes with it.
    signals::kill(child.id());
    telemetry.finish(|| observer.closed());
    Ok(status.map_or(1, exit_code))
}

/// The host's lines to the server, until the host hangs up (or the server does).
/// The telemetry and the observer a relay shows each line to.
type Watch = (Arc<Telemetry>, Arc<Observer>);

fn pump_host(to_server: ChildStdin, watch: &Watch) {
    let host = std::io::stdin().lock();
    relay(
        host,
        to_server,
        Sender::Client,
        watch,
        AfterWriteError::Stop,
    );
    // Dropped: the server's stdin closes, as the host's did.
}

/// The server's lines to the host, until the server closes its stdout. A host that
/// hung up reads nothing more; the server's lines are still observed until it exits.
fn pump_server(from_server: impl Read, watch: &Watch) {
    let server = BufReader::new(from_server);
    let host = std::io::stdout().lock();
    relay(
        server,
        host,
        Sender::Server,
        watch,
        AfterWriteError::KeepReading,
    );
}

/// What a relay does once the other side can no longer be written to.
#[derive(Clone, Copy, PartialEq)]
enum AfterWriteError {
    Stop,
    KeepReading,
}

/// The longest line observed: a longer one (or one that never ends) is passed on as
/// it arrives, in pieces, and not observed, so that no line costs more memory than this.
const MAX_OBSERVED_LINE: usize = 32 << 20;

/// Relays `from` to `to` line by line: each line, once complete, is shown to the
/// observer and then written and flushed whole. The bytes are never changed.
fn relay(
    mut from: impl BufRead,
    mut to: impl Write,
    sender: Sender,
    (telemetry, observer): &Watch,
    after_error: AfterWriteError,
) {
    let mut line = Vec::new();
    // The current line is past the bound: passed on as it comes.
    let mut streaming = false;
    let mut open = true;
    let mut write = |bytes: &[u8], open: &mut bool| {
        if *open && to.write_all(bytes).and_then(|()| to.flush()).is_err() {
            *open = false;
        }
    };
    loop {
        let chunk = match from.fill_buf() {
            Ok([]) => break,
            Ok(chunk) => chunk,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let (piece, ends) = match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => (&chunk[..=at], true),
            None => (chunk, false),
        };
        let taken = piece.len();
        if streaming {
            write(piece, &mut open);
        } else if line.len() + piece.len() > MAX_OBSERVED_LINE {
            streaming = true;
            write(&line, &mut open);
            write(piece, &mut open);
            line = Vec::new();
        } else {
            line.extend_from_slice(piece);
        }
        from.consume(taken);
        if ends {
            if !streaming {
                telemetry.observe(observer, sender, &line, SystemTime::now(), None);
                write(&line, &mut open);
            }
            streaming = false;
            next_line(&mut line);
        }
        if !open && after_error == AfterWriteError::Stop {
            return;
        }
    }
    // A last line without its newline, observed and passed on as it is.
    if !line.is_empty() && !streaming {
        telemetry.observe(observer, sender, &line, SystemTime::now(), None);
        write(&line, &mut open);
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
    // Since when the server has been asked to go: the host hung up, or a signal came.
    let mut asked: Option<std::time::Instant> = None;
    let mut terminated = false;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(_) => return child.wait().ok(),
        }
        if signals::forward_pending(child.id()) {
            asked.get_or_insert_with(std::time::Instant::now);
            terminated = true;
        }
        if host_gone.load(std::sync::atomic::Ordering::Acquire) {
            asked.get_or_insert_with(std::time::Instant::now);
        }
        if let Some(since) = asked {
            let waited = since.elapsed();
            if waited >= grace && !terminated {
                terminated = true;
                signals::terminate(child.id());
            } else if waited >= grace.saturating_mul(2) {
                signals::kill(child.id());
                let _ = child.kill();
                return child.wait().ok();
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
