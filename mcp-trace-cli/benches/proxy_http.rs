//! Benchmark 15: what `mcp-trace proxy --listen --upstream` costs over streamable HTTP,
//! against the same server reached directly, in one run. The server is a hyper server
//! in this process answering each POSTed `ping` with its JSON answer (no work of its
//! own, so all that differs is the proxy); the client is a keep-alive HTTP/1.1
//! connection written by hand, in a session (`Mcp-Session-Id`):
//!
//! * latency: one request at a time, in alternating blocks direct and through the
//!   proxy; p50 and p99 of each, and what the proxy adds;
//! * throughput: four connections each sending requests one after another; requests
//!   per second, direct and through the proxy;
//! * memory: the proxy's peak resident size after a thousand requests, after a tenth of
//!   the flood, after the whole of it and after four more, and after one 16 MiB request
//!   more (echoed back, so both directions carry it);
//!
//! with every span recorded for the latency, and one in a hundred for the flood. Linux
//! only (`/proc`).
//!
//! `cargo bench -p mcp-trace-cli --bench proxy_http` (under `cargo test`, a short run
//! that only checks it works).

mod shared;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use shared::{micros, peak, percentile};
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROXY: &str = env!("CARGO_BIN_EXE_mcp-trace");

/// The server: answers a POSTed `{"jsonrpc":"2.0","id":N,"method":"ping"}` with
/// `{…,"id":N,"result":{}}` (anything else, echoed).
fn upstream() -> SocketAddr {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bound");
    let address = listener.local_addr().expect("an address");
    std::thread::spawn(move || {
        runtime.block_on(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(answer);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        })
    });
    address
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let ping = br#""method":"ping""#;
    let answered = match body.windows(ping.len()).position(|w| w == ping) {
        Some(at) => [&body[..at], br#""result":{}"#, &body[at + ping.len()..]].concat(),
        None => body.to_vec(),
    };
    let mut response = Response::new(Full::new(Bytes::from(answered)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// The proxy in front of `upstream`, and the address it listens on.
fn proxy(
    upstream: SocketAddr,
    sampled: Option<&str>,
    folder: &std::path::Path,
) -> (Child, SocketAddr) {
    let mut command = Command::new(PROXY);
    command
        .args(["proxy", "--listen", "127.0.0.1:0", "--upstream"])
        .arg(format!("http://{upstream}/mcp"));
    shared::telemetry(&mut command, folder, sampled);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the proxy starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    stderr
        .read_line(&mut first)
        .expect("the proxy's first line");
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let address = first
        .split("listening on http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {first:?}"));
    (child, address)
}

/// A keep-alive HTTP/1.1 connection, requests written and answers read by hand.
struct Connection {
    to: TcpStream,
    from: BufReader<TcpStream>,
    body: Vec<u8>,
}

impl Connection {
    fn open(address: SocketAddr) -> Connection {
        let to = TcpStream::connect(address).expect("connected");
        to.set_nodelay(true).expect("nodelay");
        let from = BufReader::new(to.try_clone().expect("cloned"));
        Connection {
            to,
            from,
            body: Vec::new(),
        }
    }

    /// POSTs `message`; the answer's body is in `self.body`.
    fn post(&mut self, message: &str) -> Duration {
        let started = Instant::now();
        write!(
            self.to,
            "POST /mcp HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: bench-session\r\nContent-Length: {}\r\n\r\n{message}",
            message.len()
        )
        .expect("written");
        let mut length = 0;
        let mut line = String::new();
        loop {
            line.clear();
            self.from.read_line(&mut line).expect("a header");
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("a length");
            }
        }
        self.body.resize(length, 0);
        self.from.read_exact(&mut self.body).expect("the body");
        started.elapsed()
    }

    fn ping(&mut self, id: u64) -> Duration {
        let took = self.post(&format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#));
        debug_assert!(self.body.ends_with(br#""result":{}}"#));
        took
    }
}

/// `n` pings over four connections at once: requests per second.
fn flood(address: SocketAddr, first: u64, n: u64) -> f64 {
    let started = Instant::now();
    let per = n / 4;
    let workers: Vec<_> = (0..4)
        .map(|w| {
            std::thread::spawn(move || {
                let mut connection = Connection::open(address);
                for id in 0..per {
                    connection.ping(first + w * per + id);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a worker");
    }
    (per * 4) as f64 / started.elapsed().as_secs_f64()
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: a short run.
    let full = std::env::args().any(|a| a == "--bench");
    let (blocks, per_block, n) = if full {
        (10, 2_000, 200_000)
    } else {
        (2, 50, 2_000)
    };
    let folder =
        std::env::temp_dir().join(format!("mcp-trace-bench-proxy-http-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("a scratch folder");
    let server = upstream();

    // Latency, every span recorded.
    let (child, address) = proxy(server, None, &folder);
    let mut direct = Connection::open(server);
    let mut proxied = Connection::open(address);
    let (mut d, mut p) = (Vec::new(), Vec::new());
    let mut id = 0;
    for _ in 0..blocks {
        for _ in 0..per_block {
            id += 1;
            d.push(direct.ping(id));
        }
        for _ in 0..per_block {
            id += 1;
            p.push(proxied.ping(id));
            assert!(
                proxied.body.ends_with(br#""result":{}}"#),
                "answered through the proxy"
            );
        }
    }
    drop(proxied);
    stop(child);
    d.sort();
    p.sort();
    println!(
        "benchmark 15: mcp-trace proxy over streamable HTTP against the server directly ({} requests each)",
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
    let direct_rate = flood(server, 0, n);
    let (child, address) = proxy(server, Some("0.01"), &folder);
    flood(address, 0, 1_000);
    let after_thousand = peak(child.id());
    flood(address, 1_000, n / 10);
    let after_tenth = peak(child.id());
    let proxied_rate = flood(address, 1_000 + n / 10, n);
    let after_flood = peak(child.id());
    // Past the warm-up (the connection pools, the exporter's first batches), flat.
    for round in 1..=4 {
        flood(address, round * 10_000_000, n);
    }
    let after_more = peak(child.id());
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":"big","method":"tools/call","params":{{"name":"t","arguments":{{"text":"{}"}}}}}}"#,
        "x".repeat(16 << 20)
    );
    let mut connection = Connection::open(address);
    connection.post(&big);
    assert_eq!(connection.body.len(), big.len(), "relayed whole");
    let after_big = peak(child.id());
    stop(child);
    println!();
    println!("| {n} pings, four connections | requests/s |");
    println!("|---|---|");
    println!("| direct | {direct_rate:.0} |");
    println!("| proxied | {proxied_rate:.0} |");
    println!();
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!("| proxy peak resident size | MiB |");
    println!("|---|---|");
    println!("| after 1,000 requests | {:.1} |", mib(after_thousand));
    println!("| after {} more | {:.1} |", n / 10, mib(after_tenth));
    println!("| after {n} more | {:.1} |", mib(after_flood));
    println!("| after {} more | {:.1} |", 4 * n, mib(after_more));
    println!(
        "| after one 16 MiB request more, both ways | {:.1} (+{:.1}) |",
        mib(after_big),
        mib(after_big.saturating_sub(after_more))
    );
    let _ = std::fs::remove_dir_all(&folder);
}
