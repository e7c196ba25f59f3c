//! Generated docs for the example handlers: `docs/TOOLS.md` must be what
//! `cargo run --example docs --features docs` prints, and the JSON form is snapshot-tested.
//! Regenerate with `MCP_TRACE_BLESS=1 cargo test --features docs --test docs_current`.
#![cfg(feature = "docs")]

#[allow(dead_code)]
#[path = "../examples/shared/handlers.rs"]
mod handlers;

/// The spans a call produces, read back from an in-memory exporter (the full harness,
/// with the heavier test dependencies, is `mcp-trace-tests/tests/common`).
#[cfg(all(feature = "enable", feature = "args-shape"))]
mod common {
    use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider as _};
    use opentelemetry::{Context, context::FutureExt};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
    use std::future::Future;
    use std::sync::OnceLock;

    fn exporter() -> &'static InMemorySpanExporter {
        static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
        EXPORTER.get_or_init(|| {
            let exporter = InMemorySpanExporter::default();
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(exporter.clone())
                .build();
            opentelemetry::global::set_tracer_provider(provider);
            exporter
        })
    }

    /// A fresh root span: the call's spans are those of its trace.
    fn root() -> Context {
        exporter();
        let span = opentelemetry::global::tracer_provider()
            .tracer("test")
            .start("test-root");
        Context::current_with_span(span)
    }

    fn spans_of(cx: &Context) -> Vec<SpanData> {
        let trace_id = cx.span().span_context().trace_id();
        exporter()
            .get_finished_spans()
            .expect("in-memory exporter readable")
            .into_iter()
            .filter(|s| s.span_context.trace_id() == trace_id && s.name != "test-root")
            .collect()
    }

    /// Runs `f` under a fresh root span; returns its value and the spans it produced.
    pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<SpanData>) {
        let cx = root();
        let value = {
            let _guard = cx.clone().attach();
            f()
        };
        (value, spans_of(&cx))
    }

    /// Async [`capture`].
    pub async fn capture_async<F: Future>(future: F) -> (F::Output, Vec<SpanData>) {
        let cx = root();
        let value = future.with_context(cx.clone()).await;
        (value, spans_of(&cx))
    }

    /// The single span `spans` must hold.
    pub fn only(spans: Vec<SpanData>) -> SpanData {
        assert_eq!(spans.len(), 1, "expected exactly one span, got {spans:#?}");
        spans.into_iter().next().unwrap()
    }
}

use std::path::Path;

/// A line diff, enough to show what changed.
fn diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("{:>4} - {x}\n", i + 1));
                }
                if let Some(y) = y {
                    out.push_str(&format!("{:>4} + {y}\n", i + 1));
                }
            }
        }
    }
    out
}

#[test]
fn tools_md_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/TOOLS.md");
    let generated = mcp_trace::docs::markdown();
    if std::env::var_os("MCP_TRACE_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/TOOLS.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/TOOLS.md is stale; regenerate it with \
         `MCP_TRACE_BLESS=1 cargo test --features docs --test docs_current` (or \
         `cargo run --example docs --features docs > docs/TOOLS.md`). \
         Differences (- committed, + generated):\n{}",
        diff(&committed, &generated)
    );
}

#[test]
fn json_docs_snapshot() {
    let json = serde_json::to_string_pretty(&mcp_trace::docs::json()).unwrap();
    insta::assert_snapshot!(json);
}

#[test]
fn json_tools_are_tools_list_entries() {
    let docs = mcp_trace::docs::json();
    let names: Vec<&str> = docs["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["create_issue", "run_query", "search_documents"],
        "sorted by name"
    );
    for tool in docs["tools"].as_array().unwrap() {
        assert_eq!(tool["inputSchema"]["type"], "object");
        assert!(tool["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let search = &docs["tools"][2];
    // The schema shown is the file the schema check uses.
    assert_eq!(search["inputSchema"]["properties"]["limit"]["maximum"], 100);
    let args = search["_meta"]["mcp-trace/arguments"].as_array().unwrap();
    let limit = args.iter().find(|a| a["name"] == "limit").unwrap();
    assert_eq!(limit["rustType"], "Option<u32>");
    assert_eq!(limit["required"], false);
    assert_eq!(
        limit["attributes"],
        serde_json::json!(["mcp.tool.args.limit.present", "mcp.tool.args.limit"])
    );
    assert_eq!(docs["resources"][0]["uriTemplate"], "docs://{page}");
}

/// Each tool's definition hash is the argument hash of its `tools/list` entry's
/// defining members, as the runtime computes `mcp.tool.definition.hash`.
#[cfg(feature = "args-hash")]
#[test]
fn json_tools_carry_their_definition_hash() {
    let docs = mcp_trace::docs::json();
    for tool in docs["tools"].as_array().unwrap() {
        let entry = serde_json::json!({
            "name": tool["name"],
            "description": tool["description"],
            "inputSchema": tool["inputSchema"],
        });
        assert_eq!(
            tool["_meta"]["mcp-trace/definition-hash"],
            serde_json::json!(mcp_trace::args_hash(&entry)),
            "{}",
            tool["name"]
        );
    }
}

/// Every attribute a handler's span actually carries is in its documented catalog.
#[cfg(all(feature = "enable", feature = "args-shape"))]
#[tokio::test]
async fn emitted_attributes_are_documented() {
    use serde_json::json;

    let documented = |kind: &str, name: &str| -> Vec<String> {
        let docs = mcp_trace::docs::json();
        let entry = docs[kind]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap();
        entry["_meta"]["mcp-trace/attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["key"].as_str().unwrap().to_owned())
            .collect()
    };
    let scope = |args: serde_json::Value| {
        mcp_trace::scope()
            .arguments(args)
            .session_id("docs-session")
            .request_id(1)
            .protocol_version("2025-06-18")
            .transport(mcp_trace::Transport::Pipe)
    };
    let calls: Vec<(&str, &str, Vec<opentelemetry_sdk::trace::SpanData>)> = vec![
        ("tools", "search_documents", {
            let args = json!({"query": "q", "limit": 500, "filters": ["a"]});
            let call = scope(args).run(handlers::search_documents(
                "q".into(),
                Some(500),
                vec!["a".into()],
            ));
            common::capture_async(call).await.1
        }),
        (
            "tools",
            "search_documents",
            common::capture_async(handlers::search_documents(String::new(), None, vec![]))
                .await
                .1,
        ),
        ("tools", "create_issue", {
            let call = scope(json!({"title": "t", "body": "b", "priority": 9}))
                .run(handlers::create_issue("t".into(), "b".into(), 9));
            common::capture_async(call).await.1
        }),
        (
            "tools",
            "run_query",
            common::capture(|| handlers::run_query("SELECT 1".into())).1,
        ),
        ("resources", "docs", {
            let call =
                scope(json!({})).run(handlers::read_docs_page("docs-session", "intro".into()));
            common::capture_async(call).await.1
        }),
    ];
    for (kind, name, spans) in calls {
        let catalog = documented(kind, name);
        let span = common::only(spans);
        for kv in &span.attributes {
            assert!(
                catalog.contains(&kv.key.to_string()),
                "{name} emitted `{}`, which its docs do not list",
                kv.key
            );
        }
    }
}
