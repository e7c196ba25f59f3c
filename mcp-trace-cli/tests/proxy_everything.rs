//! `mcp-trace proxy` in front of the reference TypeScript server,
//! `@modelcontextprotocol/server-everything` from npm (pinned; `.ci/run` installs it into
//! a cache folder): a server nobody here wrote, in another language, with tools that
//! report progress, resources and prompts. Exact attributes where the server's answers
//! fix them, the schema verdict against its own advertised schemas, duplicate reads,
//! progress events, and no argument value in any exported byte.
//!
//! Without node or the package (`MCP_TRACE_EVERYTHING` names the `mcp-server-everything`
//! binary, else the cache folder `.ci/run` fills), the test says so loudly and skips.
#![cfg(all(feature = "proxy", unix))]

mod proxy_support;

use proxy_support::{
    Client, Running, Scratch, exited, free_port, http_proxy, listening, metric_points, named,
    probe_url, spans, spawn, stop,
};
use serde_json::{Value, json};
use std::path::PathBuf;

/// The pinned version `.ci/run` installs.
const VERSION: &str = "2026.8.31";

fn everything() -> Option<PathBuf> {
    let binary = std::env::var_os("MCP_TRACE_EVERYTHING")
        .map(PathBuf::from)
        .or_else(|| {
            let cache = std::env::var_os("MCP_TRACE_CACHE")
                .map(PathBuf::from)
                .or_else(|| {
                    Some(PathBuf::from(std::env::var_os("HOME")?).join(".cache/mcp-trace"))
                })?;
            Some(cache.join(format!(
                "npm-everything-{VERSION}/node_modules/.bin/mcp-server-everything"
            )))
        })?;
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node || !binary.exists() {
        eprintln!(
            "\n*** SKIPPED: no node, or no @modelcontextprotocol/server-everything@{VERSION} at {} (set MCP_TRACE_EVERYTHING, or run .ci/run to install it) ***\n",
            binary.display()
        );
        return None;
    }
    Some(binary)
}

#[test]
fn the_reference_typescript_server_through_the_proxy() {
    let Some(server) = everything() else { return };
    let scratch = Scratch::new("everything");
    let server = server.to_str().expect("a path").to_owned();
    let mut proxied = spawn(&[&server, "stdio"], true, &scratch);
    let mut client = Client::of(&mut proxied);
    let mut seen = Vec::new();
    let mut ask = |client: &mut Client, request: Value| -> Value {
        client.send(&request);
        serde_json::from_str(&client.answer(&request["id"], &mut seen)).expect("JSON")
    };
    ask(
        &mut client,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}}),
    );
    client.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let listed = ask(
        &mut client,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    );
    let tools = listed["result"]["tools"].as_array().expect("tools").len();
    let echoed = ask(
        &mut client,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"message": "SECRET-echo"}}}),
    );
    assert!(
        echoed["result"]["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("SECRET-echo"))
    );
    ask(
        &mut client,
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "get-sum", "arguments": {"a": 2, "b": "SECRET-not-a-number"}}}),
    );
    ask(
        &mut client,
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "trigger-long-running-operation", "arguments": {"duration": 1, "steps": 3},
            "_meta": {"progressToken": "p-5"}}}),
    );
    let uri = "demo://resource/static/document/architecture.md";
    for id in [6, 7] {
        ask(
            &mut client,
            json!({"jsonrpc": "2.0", "id": id, "method": "resources/read",
            "params": {"uri": uri}}),
        );
    }
    ask(
        &mut client,
        json!({"jsonrpc": "2.0", "id": 8, "method": "prompts/get",
        "params": {"name": "args-prompt", "arguments": {"city": "SECRET-city"}}}),
    );
    ask(
        &mut client,
        json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}),
    );
    drop(client);
    assert_eq!(exited(proxied), 0, "the server's status");

    let mut exported = String::new();
    for entry in std::fs::read_dir(&scratch.0)
        .expect("the scratch folder")
        .flatten()
    {
        exported.push_str(&std::fs::read_to_string(entry.path()).expect("an exported file"));
    }
    assert!(
        !exported.contains("SECRET"),
        "an argument value was exported"
    );
    let (spans, services) = spans(&scratch.0.join("spans.jsonl"));
    assert!(
        services.iter().all(|s| s == "mcp-servers/everything"),
        "serverInfo.name: {services:?}"
    );

    let [list] = &named(&spans, "tools/list")[..] else {
        panic!("{spans:#?}")
    };
    assert_eq!(list.attributes["mcp.tools.count"], json!(tools));
    let [echo] = &named(&spans, "tools/call echo")[..] else {
        panic!("{spans:#?}")
    };
    let session = echo.attributes["mcp.session.id"].clone();
    let mut want: std::collections::BTreeMap<String, Value> = [
        ("mcp.method.name", json!("tools/call")),
        ("gen_ai.operation.name", json!("execute_tool")),
        ("gen_ai.tool.name", json!("echo")),
        ("mcp.tool.name", json!("echo")),
        ("jsonrpc.request.id", json!("3")),
        ("mcp.protocol.version", json!("2025-11-25")),
        ("network.transport", json!("pipe")),
        ("mcp.session.id", session),
        ("mcp.tool.args.message.length", json!(11)),
        ("mcp.tool.args.schema_valid", json!(true)),
        // The first call of echo with these arguments in the session.
        ("mcp.tool.call.repeat_run", json!(1)),
        ("mcp.tool.result.count", json!(1)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for key in [
        "mcp.tool.args.hash",
        "mcp.tool.definition.hash",
        "mcp.tool.definition.size",
        "mcp.tool.result.size",
    ] {
        want.insert(
            key.to_owned(),
            echo.attributes.get(key).cloned().unwrap_or(Value::Null),
        );
    }
    assert_eq!(echo.attributes, want);
    assert_eq!(
        echo.attributes["mcp.tool.args.hash"].as_str().map(str::len),
        Some(16)
    );

    let [sum] = &named(&spans, "tools/call get-sum")[..] else {
        panic!("{spans:#?}")
    };
    assert_eq!(
        sum.attributes["mcp.tool.args.schema_valid"],
        json!(false),
        "{sum:#?}"
    );
    assert_eq!(
        sum.attributes["mcp.tool.args.schema_error_path"],
        json!("/b")
    );
    assert_eq!(sum.status, 2, "the server's error, whatever its kind");

    let [long] = &named(&spans, "tools/call trigger-long-running-operation")[..] else {
        panic!("{spans:#?}")
    };
    let progress = long
        .events
        .iter()
        .filter(|e| e["name"] == "notifications/progress")
        .count();
    assert_eq!(progress, 3, "{:#?}", long.events);

    let reads = named(&spans, "resources/read");
    let [first, second] = &reads[..] else {
        panic!("{spans:#?}")
    };
    let (first, second) = match first.attributes["jsonrpc.request.id"] == json!("6") {
        true => (first, second),
        false => (second, first),
    };
    assert_eq!(first.attributes["mcp.resource.cache_hit"], json!(false));
    assert_eq!(second.attributes["mcp.resource.cache_hit"], json!(true));
    assert_eq!(second.attributes["mcp.resource.read_count"], json!(2));
    assert_eq!(second.attributes["mcp.resource.uri"], json!(uri));

    let [prompt] = &named(&spans, "prompts/get args-prompt")[..] else {
        panic!("{spans:#?}")
    };
    assert_eq!(
        prompt.attributes["gen_ai.prompt.name"],
        json!("args-prompt")
    );
    assert_eq!(named(&spans, "ping").len(), 1);
}

/// The same server over streamable HTTP (event streams, a session), the probe
/// through the proxy in front of it: one trace, the session's spans and its end.
#[test]
fn the_reference_typescript_server_over_streamable_http() {
    let Some(server) = everything() else { return };
    let scratch = Scratch::new("everything-http");
    let port = free_port();
    let child = std::process::Command::new(&server)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the server starts");
    let _server = Running(child);
    listening(port);
    let (proxy, address) = http_proxy(&format!("http://127.0.0.1:{port}/mcp"), &scratch);
    let call = [
        "--ping",
        "--call",
        "echo",
        "--arguments",
        r#"{"message": "SECRET-echo"}"#,
    ];
    let (status, probed) = probe_url(&format!("http://{address}/mcp"), &call, &scratch);
    assert_eq!(status, 0, "{probed:#?}");
    stop(proxy);

    let (spans, services) = spans(&scratch.0.join("spans.jsonl"));
    assert!(
        services.iter().all(|s| s == "mcp-servers/everything"),
        "{services:?}"
    );
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "initialize",
            "notifications/initialized",
            "tools/list",
            "ping",
            "tools/call echo"
        ]
    );
    let [echo] = &named(&spans, "tools/call echo")[..] else {
        panic!("{spans:#?}")
    };
    let step = probed
        .iter()
        .find(|s| s.kind == 3 && s.name == "tools/call")
        .expect("the probe's step");
    assert_eq!((&echo.trace, &echo.parent), (&step.trace, &step.id));
    assert_eq!(echo.attributes["mcp.tool.args.schema_valid"], json!(true));
    assert_eq!(echo.attributes["mcp.tool.args.message.length"], json!(11));
    assert_eq!(echo.attributes["network.transport"], json!("tcp"));
    assert_eq!(
        echo.attributes["mcp.session.id"].as_str().map(str::len),
        Some(32)
    );
    // The probe deleted its session at the end of the run.
    let sessions = metric_points(
        &scratch.0.join("spans.metrics.jsonl"),
        "mcp.server.session.duration",
    );
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let exported: String = ["spans.jsonl", "spans.metrics.jsonl", "probe.jsonl"]
        .iter()
        .map(|f| std::fs::read_to_string(scratch.0.join(f)).unwrap_or_default())
        .collect();
    assert!(
        !exported.contains("SECRET"),
        "an argument value was exported"
    );
}
