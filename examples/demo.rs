//! `cargo run --example demo`: a small in-process MCP server (three traced tools, one
//! traced resource) driven by a scripted agent over two sessions. Spans go to the
//! embedded OTLP/JSON lines file; the report at the end is computed from that file
//! alone, the way an operator would compute it from exported telemetry.

use mcp_trace::{Exporter, Transport};
use serde::Deserialize;
use serde_json::{Value, json};
use std::io::{Seek, SeekFrom};
use std::path::Path;

// ---- the server's handlers (shared with the docs example) ------------------------

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

/// `mcp-trace report` over what this run appended to the span file: the same code
/// (the `mcp-trace-cli` crate), so the demo shows what the command shows.
fn report(path: &Path, from: u64) -> std::io::Result<()> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(from))?;
    let mut report = mcp_trace_cli::Report::default();
    report.read(std::io::BufReader::new(file))?;
    report.finish();
    println!("\n{}", mcp_trace_cli::render::text(&report));
    println!("spans file: {}", path.display());
    println!(
        "the same, any time: cargo run -p mcp-trace-cli -- report {}",
        path.display()
    );
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
