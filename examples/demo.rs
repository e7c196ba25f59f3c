//! `cargo run --example demo`: a small in-process MCP server (three traced tools, one
//! traced resource) driven by a scripted agent over two sessions. Spans go to the
//! embedded OTLP/JSON lines file; the report at the end is computed from that file
//! alone, the way an operator would compute it from exported telemetry.

use mcp_trace::{Exporter, Transport};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Seek, SeekFrom};
use std::path::Path;

// ---- the server's handlers (shared with `cargo run --example docs`) ---------------

#[path = "shared/handlers.rs"]
mod handlers;

use handlers::{create_issue, read_docs_page, run_query, search_documents};

// ---- a minimal JSON-RPC dispatcher, as a framework would have ----------------------

#[derive(Deserialize)]
struct SearchArgs {
    query: String,
    limit: Option<u32>,
    #[serde(default)]
    filters: Vec<String>,
}

#[derive(Deserialize)]
struct IssueArgs {
    title: String,
    body: String,
    priority: u8,
}

#[derive(Deserialize)]
struct QueryArgs {
    sql: String,
}

/// Dispatches one `tools/call` inside the request scope; `false` if it failed.
async fn call_tool(session: &str, id: u64, tool: &str, arguments: Value) -> bool {
    let scope = || {
        mcp_trace::scope()
            .arguments(arguments.clone())
            .session_id(session)
            .request_id(id)
            .protocol_version("2025-06-18")
            .transport(Transport::Pipe)
    };
    match tool {
        "search_documents" => match serde_json::from_value::<SearchArgs>(arguments.clone()) {
            Ok(a) => scope()
                .run(search_documents(a.query, a.limit, a.filters))
                .await
                .is_ok(),
            Err(_) => false,
        },
        "create_issue" => match serde_json::from_value::<IssueArgs>(arguments.clone()) {
            Ok(a) => scope()
                .run(create_issue(a.title, a.body, a.priority))
                .await
                .is_ok(),
            Err(_) => false,
        },
        "run_query" => match serde_json::from_value::<QueryArgs>(arguments.clone()) {
            Ok(a) => scope().run_sync(|| run_query(a.sql)).is_ok(),
            Err(_) => false,
        },
        _ => false,
    }
}

async fn read_resource(session: &str, id: u64, page: &str) -> bool {
    mcp_trace::scope()
        .session_id(session)
        .request_id(id)
        .transport(Transport::Pipe)
        .run(read_docs_page(session, page.to_owned()))
        .await
        .is_ok()
}

// ---- the scripted agent -------------------------------------------------------------

/// A seeded generator: the same session every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
    fn pick<T: Copy, const N: usize>(&mut self, items: &[T; N]) -> T {
        items[self.below(N as u64) as usize]
    }
}

async fn agent_session(session: &str, seed: u64, steps: u64) {
    let mut rng = Rng(seed);
    let queries = [
        "rust tracing",
        "otel exporter",
        "mcp sessions",
        "schema check",
        "",
    ];
    let titles = ["Crash on start", "Slow search", "Docs typo", " "];
    let sqls = [
        "SELECT * FROM docs",
        "SELECT count(*) FROM users",
        "DELETE FROM users",
    ];
    let pages = ["intro", "setup", "api", "faq", "changelog"];
    for id in 0..steps {
        match rng.below(10) {
            0..=3 => {
                let mut args = json!({"query": rng.pick(&queries)});
                match rng.below(4) {
                    0 => {}
                    1 => args["limit"] = json!(10),
                    2 => args["limit"] = json!(rng.pick(&[5, 20, 500])),
                    _ => args["filters"] = json!(["lang:rust", "year:2026"]),
                }
                call_tool(session, id, "search_documents", args).await;
            }
            4..=5 => {
                let args = json!({
                    "title": rng.pick(&titles),
                    "body": "Steps to reproduce: run the server.",
                    "priority": rng.below(7) + 1,
                });
                call_tool(session, id, "create_issue", args).await;
            }
            6 => {
                call_tool(session, id, "run_query", json!({"sql": rng.pick(&sqls)})).await;
            }
            _ => {
                read_resource(session, id, rng.pick(&pages)).await;
            }
        }
    }
}

// ---- the report, computed from the exported file -----------------------------------

#[derive(Default)]
struct ToolStats {
    latencies_ms: Vec<f64>,
    errors: usize,
    schema_checked: usize,
    schema_invalid: usize,
    hashes: BTreeSet<String>,
}

#[derive(Default)]
struct ResourceStats {
    reads: usize,
    duplicate_reads: usize,
    errors: usize,
}

/// An OTLP/JSON attribute value as a plain JSON value.
fn any_value(value: &Value) -> Value {
    for key in ["stringValue", "boolValue", "doubleValue"] {
        if let Some(v) = value.get(key) {
            return v.clone();
        }
    }
    match value.get("intValue") {
        Some(Value::String(s)) => s.parse::<i64>().map_or(Value::Null, Value::from),
        Some(v) => v.clone(),
        None => Value::Null,
    }
}

fn nanos(span: &Value, key: &str) -> f64 {
    match &span[key] {
        Value::String(s) => s.parse().unwrap_or(0.0),
        v => v.as_f64().unwrap_or(0.0),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(path: &Path, from: u64) -> std::io::Result<()> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(from))?;
    let mut tools: BTreeMap<String, ToolStats> = BTreeMap::new();
    let mut resources: BTreeMap<String, ResourceStats> = BTreeMap::new();
    let mut spans_read = 0;
    for line in std::io::BufReader::new(file).lines() {
        let request: Value = serde_json::from_str(&line?)?;
        let spans = request["resourceSpans"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|rs| rs["scopeSpans"].as_array().into_iter().flatten())
            .flat_map(|ss| ss["spans"].as_array().into_iter().flatten());
        for span in spans {
            spans_read += 1;
            let attrs: BTreeMap<&str, Value> = span["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|kv| Some((kv["key"].as_str()?, any_value(&kv["value"]))))
                .collect();
            let failed = span["status"]["code"].as_i64() == Some(2);
            if let Some(Value::String(tool)) = attrs.get("gen_ai.tool.name") {
                let stats = tools.entry(tool.clone()).or_default();
                stats.latencies_ms.push(
                    (nanos(span, "endTimeUnixNano") - nanos(span, "startTimeUnixNano")) / 1e6,
                );
                stats.errors += usize::from(failed);
                if let Some(Value::Bool(valid)) = attrs.get("mcp.tool.args.schema_valid") {
                    stats.schema_checked += 1;
                    stats.schema_invalid += usize::from(!valid);
                }
                if let Some(Value::String(hash)) = attrs.get("mcp.tool.args.hash") {
                    stats.hashes.insert(hash.clone());
                }
            } else if attrs.get("mcp.method.name") == Some(&json!("resources/read")) {
                let name = attrs
                    .get("mcp.resource.name")
                    .and_then(Value::as_str)
                    .unwrap_or("(unnamed)");
                let stats = resources.entry(name.to_owned()).or_default();
                stats.reads += 1;
                stats.errors += usize::from(failed);
                stats.duplicate_reads +=
                    usize::from(attrs.get("mcp.resource.cache_hit") == Some(&json!(true)));
            }
        }
    }

    println!(
        "\nmcp-trace demo: {spans_read} spans read back from {}\n",
        path.display()
    );
    println!(
        "{:<18} {:>6} {:>7} {:>9} {:>9} {:>15} {:>15}",
        "tool", "calls", "errors", "p50 ms", "p95 ms", "schema-invalid", "distinct args"
    );
    for (name, stats) in &mut tools {
        stats.latencies_ms.sort_by(f64::total_cmp);
        let invalid = if stats.schema_checked == 0 {
            "n/a".to_owned()
        } else {
            format!(
                "{:.1}%",
                100.0 * stats.schema_invalid as f64 / stats.schema_checked as f64
            )
        };
        println!(
            "{:<18} {:>6} {:>7} {:>9.2} {:>9.2} {:>15} {:>15}",
            name,
            stats.latencies_ms.len(),
            stats.errors,
            percentile(&stats.latencies_ms, 50.0),
            percentile(&stats.latencies_ms, 95.0),
            invalid,
            stats.hashes.len(),
        );
    }
    println!(
        "\n{:<18} {:>6} {:>7} {:>20}",
        "resource", "reads", "errors", "duplicate-read rate"
    );
    for (name, stats) in &resources {
        let rate = 100.0 * stats.duplicate_reads as f64 / stats.reads.max(1) as f64;
        println!(
            "{:<18} {:>6} {:>7} {:>19.1}%",
            name, stats.reads, stats.errors, rate
        );
    }
    println!("\nspans file: {}", path.display());
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The embedded file exporter whatever OTEL_* says, so the report has a file to read.
    let guard = mcp_trace::Builder::new()
        .service_name("mcp-trace-demo")
        .exporter(Exporter::File(None))
        .install()?;
    let path = guard
        .file_path()
        .map(Path::to_path_buf)
        .ok_or("the demo needs the `enable` feature: build it with default features")?;
    let start = std::fs::metadata(&path)?.len();

    // Two agents, interleaved on one executor.
    tokio::join!(
        agent_session("agent-A", 0x9e37_79b9, 160),
        agent_session("agent-B", 0x7f4a_7c15, 140)
    );

    // Dropping the guard exports every span before we read the file.
    drop(guard);
    report(&path, start)?;
    Ok(())
}
