//! Issue 7, "Collector down, stalling 30 s, answering 500/429": the stdio example
//! exports over OTLP/HTTP to a collector that misbehaves, and the server must not care.
//!
//! One healthy server and one server per fault run side by side, driven in lock step:
//! every round sends one `tools/call` to each of them in turn, so whatever load the
//! machine is under falls on all of them alike. For every fault:
//!
//! * every call is answered, the process exits 0 and nothing panicked;
//! * the p50 and p99 round trips stay within 1.1 × healthy + a small slack (see
//!   [`P50_SLACK`], [`P99_SLACK`]): export runs on the batch processor's thread, never
//!   on the handler's;
//! * stderr says `mcp-trace: N spans were not exported (…)` exactly once,
//!   N being the number of spans the healthy twin exported for the same requests;
//! * after stdin closes the process is gone within the guard's shutdown timeout
//!   ([`SHUTDOWN_TIMEOUT`]) + [`EXIT_SLACK`]; only the collector stalled past that
//!   timeout makes the guard say its flush failed.
//!
//! The faults: a collector that reads the request and never answers (with the export
//! timeout at 2 s, and at 60 s, longer than the guard waits), HTTP 500 (not retried),
//! 429 without and with `Retry-After: 1` (retried with back-off until the export
//! deadline), and a closed port. A 500 comes back at once, so for it the latency check
//! could not tell a waiting handler from a free one; the other checks still apply.
//!
//! The closed-port case is `e2e_faults::a_receiver_that_is_down_costs_the_handler_nothing`
//! (answers, clean exit, a drop report); it runs here once more only because this file
//! adds what that test does not check: latency against a healthy twin, the exact count
//! reported exactly once, and the exit deadline.
//!
//! Latency here is not a performance claim (those come from the benches): the test only
//! separates "the handler never waits on export" from "it does", and a handler waiting
//! on export would wait for a whole export attempt: [`EXPORT_TIMEOUT`] for a stalled
//! collector, ≥ 100 ms of retry back-off for 429 and a closed port.
#![cfg(all(feature = "rmcp", feature = "otlp"))]

mod common;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Round trips per server.
const CALLS: usize = 300;
/// The lock-step loop stops here even if unfinished (it takes 2-4 s on a 2-core box in
/// debug): a handler that waits on export would otherwise take minutes to fail. The
/// percentiles then compare what was measured; stopping is not a failure in itself.
const LOOP_BUDGET: Duration = Duration::from_secs(30);
/// `OTEL_EXPORTER_OTLP_TIMEOUT` given to the servers: the deadline of one export,
/// retries included (the default, 10 s, would make the test slow).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the example's `TelemetryGuard` waits for the last export: `init()` uses
/// `Builder`'s default, 5 s, which no environment variable changes.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Process teardown after the guard gives up: runtime shutdown, exit.
const EXIT_SLACK: Duration = Duration::from_secs(2);
/// `OTEL_BSP_SCHEDULE_DELAY`, in ms: the batch processor exports every 100 ms instead
/// of every 5 s, so exports (and their faults) overlap the calls being timed.
const SCHEDULE_DELAY_MS: &str = "100";
/// Added to 1.1 × the healthy p50. A debug round trip is about a millisecond; a
/// handler waiting on export would add at least 100 ms (a retry back-off) to the calls
/// that hit an export, and seconds for a stalled collector.
const P50_SLACK: Duration = Duration::from_millis(2);
/// Added to 1.1 × the healthy p99. The p99 of 300 is the third slowest call, and a few
/// preemptions move it independently per server: with three busy loops on the 2-core
/// box the healthy p99 ranged 7-31 ms and a faulty one exceeded it by up to 9 ms. 40 ms
/// keeps over 4× that margin yet stays under the 100 ms that each call waiting on a
/// back-off would add (and far under the 2 s of a stalled export).
const P99_SLACK: Duration = Duration::from_millis(40);

/// What the fake collector does with each export request it reads.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Never answers; the connection stays open until the test ends.
    Stall,
    /// Answers this status, with this `Retry-After` if any.
    Status(u16, Option<&'static str>),
}

/// A loopback OTLP/HTTP collector that reads each request (line, headers,
/// `content-length` body) and misbehaves as told.
struct FakeCollector {
    address: SocketAddr,
    requests: Arc<AtomicUsize>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl FakeCollector {
    fn start(fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (count, hold) = (requests.clone(), held.clone());
        // Lives as long as the test binary: nothing to join.
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (count, hold) = (count.clone(), hold.clone());
                std::thread::spawn(move || misbehave(stream, fault, &count, &hold));
            }
        });
        Self {
            address,
            requests,
            held,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FakeCollector {
    /// The end of the stall: held connections close with the test.
    fn drop(&mut self) {
        self.held.lock().unwrap().clear();
    }
}

/// Serves one connection: reads requests and answers each with `fault`.
fn misbehave(stream: TcpStream, fault: Fault, count: &AtomicUsize, held: &Mutex<Vec<TcpStream>>) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while common::otlp::read_request(&mut reader).is_some() {
        count.fetch_add(1, Ordering::SeqCst);
        match fault {
            Fault::Stall => {
                held.lock().unwrap().push(writer);
                return;
            }
            Fault::Status(code, retry_after) => {
                let reason = if code == 429 {
                    "Too Many Requests"
                } else {
                    "Internal Server Error"
                };
                let retry_after = retry_after
                    .map(|seconds| format!("retry-after: {seconds}\r\n"))
                    .unwrap_or_default();
                let response = format!(
                    "HTTP/1.1 {code} {reason}\r\ncontent-type: text/plain\r\n\
                     {retry_after}content-length: 0\r\n\r\n"
                );
                if writer.write_all(response.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}

/// A loopback port with nothing listening.
fn closed_port_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

/// The stdio example, driven over raw pipes.
struct Server {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    /// Round trips of `tools/call`, in order.
    samples: Vec<Duration>,
}

impl Server {
    fn start(name: &'static str, endpoint: &str, export_timeout: Duration) -> Self {
        let mut command = Command::new(common::example_binary("stdio_server"));
        let mut child = common::export_to(&mut command, endpoint)
            .env(
                "OTEL_EXPORTER_OTLP_TIMEOUT",
                export_timeout.as_millis().to_string(),
            )
            .env("OTEL_BSP_SCHEDULE_DELAY", SCHEDULE_DELAY_MS)
            .env("OTEL_SERVICE_NAME", format!("e2e-collector-{name}"))
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
            .env_remove("OTEL_EXPORTER_OTLP_COMPRESSION")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION")
            .env_remove("OTEL_BSP_MAX_QUEUE_SIZE")
            .env_remove("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
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
        // Drained all along: a full stderr pipe would block the server.
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let stdin = child.stdin.take();
        Self {
            name,
            child,
            stdin,
            lines,
            stderr: Some(stderr),
            samples: Vec::with_capacity(CALLS),
        }
    }

    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().unwrap();
        let mut line = message.to_string();
        line.push('\n');
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// The response to request `id`, skipping anything else.
    fn response(&self, id: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!("{}: no response to request {id} within 30 s", self.name)
            });
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
            "clientInfo": {"name": "e2e-collector", "version": "1"}}}),
        );
        assert!(self.response(0)["result"].is_object(), "{}", self.name);
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    }

    /// One timed `tools/call` round trip.
    fn call(&mut self, id: u64) {
        let started = Instant::now();
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "run_query", "arguments": {"sql": "SELECT 1"}}}));
        let response = self.response(id);
        self.samples.push(started.elapsed());
        assert_eq!(
            response["result"]["isError"],
            json!(false),
            "{}: {response}",
            self.name
        );
    }

    /// Whether enough calls took a whole export deadline that the p99 is decided:
    /// driving this server further would only make a failing test slow.
    fn plainly_blocked(&self) -> bool {
        self.samples
            .iter()
            .filter(|d| **d >= EXPORT_TIMEOUT)
            .count()
            > CALLS / 100
    }

    /// Closes stdin; the returned thread waits for the exit and yields the status,
    /// the time from closing stdin to exit, and stderr.
    fn close(mut self) -> JoinHandle<Exited> {
        let closed = Instant::now();
        drop(self.stdin.take());
        std::thread::spawn(move || {
            let status = self.child.wait().expect("server exits");
            let exit = closed.elapsed();
            let stderr = self.stderr.take().unwrap().join().unwrap();
            Exited {
                name: self.name,
                samples: self.samples,
                status,
                exit,
                stderr,
            }
        })
    }
}

struct Exited {
    name: &'static str,
    samples: Vec<Duration>,
    status: ExitStatus,
    exit: Duration,
    stderr: String,
}

/// Nearest-rank percentile `p` (0 < p ≤ 1) of `samples`.
fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn within(faulty: Duration, healthy: Duration, slack: Duration) -> bool {
    faulty <= healthy.mul_f64(1.1) + slack
}

#[test]
fn a_misbehaving_collector_costs_the_handler_nothing_and_is_reported_once() {
    let started = Instant::now();
    let healthy_receiver = common::otlp::Receiver::start();
    let stalled = FakeCollector::start(Fault::Stall);
    let stalled_long = FakeCollector::start(Fault::Stall);
    let failing = FakeCollector::start(Fault::Status(500, None));
    let throttling = FakeCollector::start(Fault::Status(429, None));
    let throttling_after = FakeCollector::start(Fault::Status(429, Some("1")));
    let fakes = [
        ("stalled", &stalled),
        ("stalled past the shutdown timeout", &stalled_long),
        ("500", &failing),
        ("429", &throttling),
        ("429 + Retry-After: 1", &throttling_after),
    ];

    let mut servers = vec![Server::start(
        "healthy",
        &healthy_receiver.endpoint(),
        EXPORT_TIMEOUT,
    )];
    servers.push(Server::start(
        "stalled",
        &stalled.endpoint(),
        EXPORT_TIMEOUT,
    ));
    // An export that outlives the guard: the guard's timeout, not the export's, must
    // bound the exit.
    servers.push(Server::start(
        "stalled past the shutdown timeout",
        &stalled_long.endpoint(),
        Duration::from_secs(60),
    ));
    servers.push(Server::start("500", &failing.endpoint(), EXPORT_TIMEOUT));
    servers.push(Server::start("429", &throttling.endpoint(), EXPORT_TIMEOUT));
    servers.push(Server::start(
        "429 + Retry-After: 1",
        &throttling_after.endpoint(),
        EXPORT_TIMEOUT,
    ));
    servers.push(Server::start(
        "down",
        &closed_port_endpoint(),
        EXPORT_TIMEOUT,
    ));
    for server in &mut servers {
        server.initialize();
    }

    // Lock step, starting each round one server further so none is always first.
    let loop_started = Instant::now();
    let count = servers.len();
    let mut rounds = 0;
    for round in 0..CALLS {
        if loop_started.elapsed() > LOOP_BUDGET {
            break;
        }
        rounds += 1;
        for k in 0..count {
            let server = &mut servers[(round + k) % count];
            if !server.plainly_blocked() {
                server.call(1 + round as u64);
            }
        }
    }
    let loop_time = loop_started.elapsed();
    for (name, fake) in fakes {
        assert!(
            fake.requests() > 0,
            "{name}: no export reached the collector while calls were served"
        );
    }

    let waiting: Vec<_> = servers.into_iter().map(Server::close).collect();
    let exited: Vec<Exited> = waiting.into_iter().map(|t| t.join().unwrap()).collect();
    let received = healthy_receiver.stop();
    let exported = common::otlp::spans(&received).len();

    eprintln!(
        "{rounds} rounds in {loop_time:?}; healthy exported {exported} spans; \
         export timeout {EXPORT_TIMEOUT:?}, shutdown timeout {SHUTDOWN_TIMEOUT:?}"
    );
    for (name, fake) in fakes {
        eprintln!("{name}: collector read {} requests", fake.requests());
    }
    for e in &exited {
        eprintln!(
            "{:<34} p50 {:>9.3?}  p99 {:>9.3?}  max {:>9.3?}  exit {:>9.3?}  stderr {:?}",
            e.name,
            percentile(&e.samples, 0.5),
            percentile(&e.samples, 0.99),
            percentile(&e.samples, 1.0),
            e.exit,
            e.stderr.trim_end()
        );
    }

    let healthy = &exited[0];
    // One span per tools/call, plus the same few for the rest of the session.
    assert!(
        exported > healthy.samples.len(),
        "{exported} spans for {} calls",
        healthy.samples.len()
    );
    let per_session = exported - healthy.samples.len();
    let (healthy_p50, healthy_p99) = (
        percentile(&healthy.samples, 0.5),
        percentile(&healthy.samples, 0.99),
    );
    let mut failures = Vec::new();
    for e in &exited {
        let mut fail = |what: String| failures.push(format!("{}: {what}", e.name));
        if !e.status.success() {
            fail(format!("exit status {:?}", e.status));
        }
        if e.stderr.contains("panicked") {
            fail("panicked".into());
        }
        if e.exit > SHUTDOWN_TIMEOUT + EXIT_SLACK {
            fail(format!(
                "exited {:?} after stdin closed, over {SHUTDOWN_TIMEOUT:?} + {EXIT_SLACK:?}",
                e.exit
            ));
        }
        let timed_out = e.stderr.contains("flushing spans at shutdown failed");
        if timed_out != (e.name == "stalled past the shutdown timeout") {
            fail(format!("the guard's flush timed out: {timed_out}"));
        }
        let reports: Vec<&str> = e
            .stderr
            .lines()
            .filter(|line| line.contains("spans were not exported"))
            .collect();
        if e.name == "healthy" {
            if !reports.is_empty() {
                fail(format!("a healthy collector dropped spans: {reports:?}"));
            }
            continue;
        }
        let spans = per_session + e.samples.len();
        let expected = format!(
            "mcp-trace: {spans} spans were not exported (failed exports, a full queue, or \
             still pending at the shutdown timeout)"
        );
        if reports != [expected.as_str()] {
            fail(format!(
                "drop reports {reports:?}, want exactly [{expected:?}]"
            ));
        }
        let (p50, p99) = (percentile(&e.samples, 0.5), percentile(&e.samples, 0.99));
        let calls = e.samples.len();
        if !within(p50, healthy_p50, P50_SLACK) {
            fail(format!(
                "p50 {p50:?} over 1.1 × healthy {healthy_p50:?} + {P50_SLACK:?} ({calls} calls)"
            ));
        }
        if !within(p99, healthy_p99, P99_SLACK) {
            fail(format!(
                "p99 {p99:?} over 1.1 × healthy {healthy_p99:?} + {P99_SLACK:?} ({calls} calls)"
            ));
        }
    }
    eprintln!("test body took {:?}", started.elapsed());
    assert!(failures.is_empty(), "{failures:#?}");
}
