//! `cargo run -p mcp-trace-tests --features client --example agent`: a scripted Rust
//! agent on rmcp's client, traced with `TracedClient`, against the example server in a
//! child process (`stdio_server`, or `--http URL` for a running `http_server`). Two
//! agent runs, each one trace from the agent's steps through the client's requests
//! into the server's spans, and through the server's question (`confirm_action`) back
//! to the agent's answer; then the report over both sides' span files.
//!
//! Spans go where the environment says (`OTEL_EXPORTER_OTLP_ENDPOINT`, …), the
//! server's too; with nothing set, each side appends to its own file and the report
//! reads both.

use mcp_trace::rmcp::client::{TracedClient, traced};
use opentelemetry::KeyValue;
use opentelemetry::trace::{FutureExt, Span, TraceContextExt, Tracer};
use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// One step of the scripted agent: a tool and its arguments.
const STEPS: [(&str, &str); 8] = [
    (
        "search_documents",
        r#"{"query": "intro setup", "limit": 2}"#,
    ),
    ("search_documents", r#"{"query": "api", "limit": 500}"#),
    (
        "create_issue",
        r#"{"title": "Docs typo", "body": "In the intro.", "priority": 3}"#,
    ),
    (
        "create_issue",
        r#"{"title": " ", "body": "No title.", "priority": 2}"#,
    ),
    ("run_query", r#"{"sql": "SELECT count(*) FROM docs"}"#),
    ("run_query", r#"{"sql": "DELETE FROM docs"}"#),
    // The server asks the user (`elicitation/create`): the agent answers.
    ("confirm_action", r#"{"action": "Publish the docs"}"#),
    // The server reports progress and logs while it works.
    ("build_report", r#"{"sections": 3}"#),
];

/// The agent's side of what the server asks: every confirmation is accepted.
#[derive(Clone)]
struct Agent;

impl rmcp::ClientHandler for Agent {
    async fn create_elicitation(
        &self,
        _request: rmcp::model::ElicitRequestParams,
        _context: rmcp::service::RequestContext<rmcp::service::RoleClient>,
    ) -> Result<rmcp::model::ElicitResult, rmcp::ErrorData> {
        Ok(rmcp::model::ElicitResult::new(
            rmcp::model::ElicitationAction::Accept,
        ))
    }

    fn get_info(&self) -> rmcp::model::ClientConfig {
        rmcp::model::ClientConfig::new(
            rmcp::model::ClientCapabilities::builder()
                .enable_elicitation()
                .build(),
            rmcp::model::Implementation::new("mcp-trace-agent", env!("CARGO_PKG_VERSION")),
        )
    }
}

fn args(text: &str) -> serde_json::Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => unreachable!("the script's arguments are objects"),
    }
}

/// The `http_server` URL given as `--http URL`, if any.
fn http_url() -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--http" {
            return args.next();
        }
    }
    None
}

/// An example binary next to this one (`target/<profile>/examples/`).
fn sibling(name: &str) -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
}

/// The steps of one agent run, each a span (under the run's) with the client's request
/// under it.
async fn steps<S: rmcp::service::Service<rmcp::service::RoleClient>>(
    client: &TracedClient<S>,
    number: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let tracer = opentelemetry::global::tracer("mcp-trace-agent");
    client.list_all_tools().await?;
    for (i, (tool, arguments)) in STEPS.iter().enumerate() {
        let mut step = tracer.start(format!("agent step {}", i + 1));
        step.set_attribute(KeyValue::new("agent.run", number as i64));
        let cx = opentelemetry::Context::current_with_span(step);
        let params = CallToolRequestParams::new(*tool).with_arguments(args(arguments));
        let outcome = match client.call_tool(params).with_context(cx.clone()).await {
            Ok(result) if result.is_error == Some(true) => "tool error",
            Ok(_) => "ok",
            Err(_) => "refused",
        };
        eprintln!("run {number}, step {}: {tool} → {outcome}", i + 1);
        cx.span().end();
    }
    let page = ReadResourceRequestParams::new("docs://intro");
    client.read_resource(page.clone()).await?;
    client.read_resource(page).await?;
    Ok(())
}

/// One agent run, one trace: the run's span is current while the client starts (its
/// session span is the run's child) and while the steps run.
async fn run(
    number: usize,
    server_file: Option<&Path>,
) -> Result<String, Box<dyn std::error::Error>> {
    let tracer = opentelemetry::global::tracer("mcp-trace-agent");
    let cx = opentelemetry::Context::current_with_span(tracer.start(format!("agent run {number}")));
    let trace = cx.span().span_context().trace_id().to_string();
    match http_url() {
        Some(url) => {
            let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(url.clone());
            async {
                let client = TracedClient::serve(Agent, traced(transport).server_uri(&url)).await?;
                steps(&client, number).await?;
                client.cancel().await?;
                Ok::<_, Box<dyn std::error::Error>>(())
            }
            .with_context(cx.clone())
            .await?;
        }
        None => {
            let mut command = tokio::process::Command::new(sibling("stdio_server")?);
            if let Some(file) = server_file {
                command.env("MCP_TRACE_FILE", file);
            }
            let mut server = command
                .env("OTEL_SERVICE_NAME", "mcp-trace-example")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()?;
            let (Some(stdin), Some(stdout)) = (server.stdin.take(), server.stdout.take()) else {
                return Err("the server's pipes".into());
            };
            async {
                let client = TracedClient::serve(Agent, traced((stdout, stdin))).await?;
                steps(&client, number).await?;
                // Closing the client closes the server's stdin: it exports and exits.
                client.cancel().await?;
                Ok::<_, Box<dyn std::error::Error>>(())
            }
            .with_context(cx.clone())
            .await?;
            server.wait().await?;
        }
    }
    cx.span().end();
    Ok(trace)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = mcp_trace::Builder::new()
        .service_name("mcp-trace-agent")
        .install()?;
    let agent_file = guard.file_path().map(Path::to_path_buf);
    // With the embedded file exporter, the server writes its own file beside ours.
    let server_file = agent_file
        .as_ref()
        .map(|file| file.with_file_name("mcp-trace-agent.server.jsonl"));
    // The files may hold earlier runs: this run's report starts where they end.
    let length = |file: &Option<PathBuf>| {
        file.as_ref()
            .and_then(|f| std::fs::metadata(f).ok())
            .map_or(0, |m| m.len())
    };
    let starts = [length(&server_file), length(&agent_file)];

    for number in 1..=2 {
        let trace = run(number, server_file.as_deref()).await?;
        eprintln!("run {number}: trace {trace}");
    }
    drop(guard);

    // Both sides' files, if spans went to files: the report over them.
    if let (Some(agent), Some(server)) = (agent_file, server_file) {
        let mut report = mcp_trace_cli::Report::default();
        for (file, start) in [&server, &agent].into_iter().zip(starts) {
            let mut lines = std::io::BufReader::new(std::fs::File::open(file)?);
            std::io::Seek::seek(&mut lines, std::io::SeekFrom::Start(start))?;
            report.read(lines)?;
        }
        report.finish();
        println!("{}", mcp_trace_cli::render::text(&report));
        println!("span files: {} and {}", server.display(), agent.display());
        println!(
            "the same, any time: cargo run -p mcp-trace-cli -- report {} {}",
            server.display(),
            agent.display()
        );
    }
    Ok(())
}
