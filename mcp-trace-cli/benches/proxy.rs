//! Benchmark 14: what `mcp-trace proxy` costs, against a direct pipe, in one run. The
//! server is `sed`, answering each `ping` as it reads it (no work of its own, so all
//! that differs is the proxy), driven by a client in this process:
//!
//! * latency: one request at a time, answered, in alternating blocks direct and through
//!   the proxy; p50 and p99 of each, and what the proxy adds;
//! * throughput: a flood of pings written as fast as the pipe takes them, every answer
//!   read; messages per second, direct and through the proxy;
//! * memory: the proxy's peak resident size after a thousand messages, after a tenth
//!   of the flood and after the whole of it (flat: the last two the same), and after
//!   one 16 MiB line more;
//!
//! with every span recorded for the latency, and one in a hundred for the flood (its
//! span file would be hundreds of megabytes otherwise; the observer's work is the same
//! for a span sampled out). Linux only (`/proc`, GNU `sed -u`).
//!
//! `cargo bench -p mcp-trace-cli --bench proxy` (under `cargo test`, a short run that
//! only checks it works).

mod shared;

use shared::{micros, percentile};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const PROXY: &str = env!("CARGO_BIN_EXE_mcp-trace");
/// Answers `{"jsonrpc":"2.0","id":N,"method":"ping"}` with `{…,"id":N,"result":{}}`.
const SED: [&str; 3] = ["sed", "-u", r#"s/"method":"ping"/"result":{}/"#];

struct Peer {
    child: Child,
    /// Taken by the flood's writer while it writes.
    to: Option<ChildStdin>,
    from: BufReader<ChildStdout>,
}

impl Peer {
    fn start(proxied: bool, sampled: Option<&str>, folder: &std::path::Path) -> Peer {
        let mut command = if proxied {
            let mut c = Command::new(PROXY);
            c.args(["proxy", "--"]).args(SED);
            c
        } else {
            let mut c = Command::new(SED[0]);
            c.args(&SED[1..]);
            c
        };
        shared::telemetry(&mut command, folder, sampled);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sed and the proxy start");
        let to = child.stdin.take();
        let from = BufReader::new(child.stdout.take().expect("stdout"));
        Peer { child, to, from }
    }

    /// One ping, answered: the round trip.
    fn round_trip(&mut self, id: u64, line: &mut String) -> Duration {
        let started = Instant::now();
        let to = self.to.as_mut().expect("stdin");
        writeln!(to, r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#).expect("written");
        to.flush().expect("flushed");
        line.clear();
        self.from.read_line(line).expect("answered");
        started.elapsed()
    }

    /// `n` pings written by one thread while this one reads the answers: messages per
    /// second, each way.
    fn flood(&mut self, first: u64, n: u64) -> f64 {
        let started = Instant::now();
        let mut to = self.to.take().expect("stdin");
        let writer = std::thread::spawn(move || {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, &mut to);
            for id in first..first + n {
                writeln!(out, r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#).expect("written");
            }
            out.flush().expect("flushed");
            drop(out);
            to
        });
        let mut line = String::new();
        for _ in 0..n {
            line.clear();
            self.from.read_line(&mut line).expect("answered");
        }
        self.to = Some(writer.join().expect("the writer"));
        n as f64 / started.elapsed().as_secs_f64()
    }

    /// The peak resident size of the proxy (or of `sed`), in bytes.
    fn peak(&self) -> u64 {
        shared::peak(self.child.id())
    }

    fn stop(mut self) {
        drop(self.to);
        let _ = self.child.wait();
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: a short run.
    let full = std::env::args().any(|a| a == "--bench");
    let (blocks, per_block, flood) = if full {
        (10, 2_000, 1_000_000)
    } else {
        (2, 50, 2_000)
    };
    let folder = std::env::temp_dir().join(format!("mcp-trace-bench-proxy-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("a scratch folder");

    // Latency, every span recorded.
    let mut direct = Peer::start(false, None, &folder);
    let mut proxied = Peer::start(true, None, &folder);
    let (mut d, mut p) = (Vec::new(), Vec::new());
    let mut line = String::new();
    let mut id = 0;
    for _ in 0..blocks {
        for _ in 0..per_block {
            id += 1;
            d.push(direct.round_trip(id, &mut line));
        }
        for _ in 0..per_block {
            id += 1;
            p.push(proxied.round_trip(id, &mut line));
            assert!(
                line.contains(r#""result":{}"#),
                "answered through the proxy: {line}"
            );
        }
    }
    d.sort();
    p.sort();
    direct.stop();
    proxied.stop();
    println!(
        "benchmark 14: mcp-trace proxy against a direct pipe ({} round trips each)",
        d.len()
    );
    println!("| | direct | proxied | added |");
    println!("|---|---|---|---|");
    for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
        let (a, b) = (percentile(&d, q), percentile(&p, q));
        println!(
            "| {name} | {:.1} µs | {:.1} µs | {:.1} µs |",
            micros(a),
            micros(b),
            micros(b) - micros(a)
        );
    }

    // Throughput and memory, one span in a hundred recorded.
    let mut direct = Peer::start(false, Some("0.01"), &folder);
    let direct_rate = direct.flood(0, flood);
    direct.stop();
    let mut proxied = Peer::start(true, Some("0.01"), &folder);
    proxied.flood(0, 1_000);
    let after_thousand = proxied.peak();
    let tenth = flood / 10;
    proxied.flood(1_000, tenth);
    let after_tenth = proxied.peak();
    let proxied_rate = proxied.flood(1_000 + tenth, flood);
    let after_flood = proxied.peak();
    // One 16 MiB line (a tool call whose argument is 16 MiB of text), echoed back by
    // `sed` as it is, so both directions carry it.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":"big","method":"tools/call","params":{{"name":"t","arguments":{{"text":"{}"}}}}}}"#,
        "x".repeat(16 << 20)
    );
    let to = proxied.to.as_mut().expect("stdin");
    writeln!(to, "{big}").expect("written");
    to.flush().expect("flushed");
    line.clear();
    proxied.from.read_line(&mut line).expect("relayed");
    assert_eq!(line.trim_end().len(), big.len(), "relayed whole");
    let after_big = proxied.peak();
    proxied.stop();
    println!();
    println!("| {flood} pings, pipelined | messages/s |");
    println!("|---|---|");
    println!("| direct | {direct_rate:.0} |");
    println!("| proxied | {proxied_rate:.0} |");
    println!();
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!("| proxy peak resident size | MiB |");
    println!("|---|---|");
    println!("| after 1,000 messages | {:.1} |", mib(after_thousand));
    println!("| after {} more | {:.1} |", tenth, mib(after_tenth));
    println!("| after {} more | {:.1} |", flood, mib(after_flood));
    println!(
        "| after one 16 MiB line more, both ways | {:.1} (+{:.1}) |",
        mib(after_big),
        mib(after_big.saturating_sub(after_flood))
    );
    let _ = std::fs::remove_dir_all(&folder);
}
