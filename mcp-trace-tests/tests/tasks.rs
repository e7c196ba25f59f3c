//! Tasks (the MCP tasks extension) in process, over 2026-07-28: a `tools/call`
//! answered with a task gets a `task {tool}` span from its creation to the terminal
//! status the server reports, the child of the call's span, which links to it; every
//! `tasks/get` and `tasks/cancel` about it links to it too. Each terminal status ends
//! the span by the tool's rules; an id the process does not follow is recorded as
//! unknown.
#![cfg(all(feature = "rmcp", feature = "enable"))]

mod common;

#[global_allocator]
static ALLOCATOR: common::counting::Counting = common::counting::Counting;

/// The allocation counts are process-wide: one test at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

use opentelemetry::Value;
use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ClientCapabilities,
    ClientConfig, ContentBlock, GetTaskParams, GetTaskResult, Implementation, ProtocolVersion,
    ServerCapabilities, ServerConfig, TaskStatus, Tool,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RequestContext, RoleServer};
use rmcp::task_manager::{TaskExit, TaskManager, TaskOptions};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use std::collections::BTreeMap;
use std::time::Duration;

const TOOLS: [&str; 4] = ["work", "broken", "flaky", "waiting"];

#[derive(Clone, Default)]
struct Tasking {
    tasks: TaskManager,
}

impl ServerHandler for Tasking {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tasks()
                .build(),
        )
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        let schema = serde_json::json!({"type": "object"});
        let schema = std::sync::Arc::new(schema.as_object().unwrap().clone());
        TOOLS
            .contains(&name)
            .then(|| Tool::new(name.to_owned(), "a task", schema))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let tool = request.name.to_string();
        let task = self.tasks.spawn(TaskOptions::new(), move |context| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                match tool.as_str() {
                    "work" => Ok(CallToolResult::success(vec![ContentBlock::text(
                        "SECRET-result",
                    )])),
                    "flaky" => Ok(CallToolResult::error(vec![ContentBlock::text(
                        "SECRET-failure",
                    )])),
                    "waiting" => {
                        context.cancelled().await;
                        Err(TaskExit::Cancelled)
                    }
                    _ => Err(TaskExit::Error(ErrorData::internal_error(
                        "SECRET-broken",
                        None,
                    ))),
                }
            })
        });
        Ok(CallToolResponse::Task(rmcp::model::CreateTaskResult::new(
            task,
        )))
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        self.tasks
            .get_task(&request.task_id)
            .map(GetTaskResult::new)
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.tasks.cancel_task(&request.task_id)
    }
}

/// A tool, the attributes its task ends with, and the task span's status.
type Ending<'a> = (&'a str, &'a [(&'a str, Value)], Status);

fn attrs(span: &SpanData) -> BTreeMap<String, Value> {
    common::attrs(span)
}

fn expected(tool: &str, extra: &[(&str, Value)]) -> BTreeMap<String, Value> {
    let mut all: BTreeMap<String, Value> = [
        ("gen_ai.tool.name", Value::from(tool.to_owned())),
        ("mcp.tool.name", Value::from(tool.to_owned())),
        ("mcp.protocol.version", Value::from("2026-07-28")),
        ("network.transport", Value::from("pipe")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in extra {
        all.insert((*k).to_owned(), v.clone());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_task_is_a_span_from_creation_to_its_end() {
    let _one = ONE_AT_A_TIME.lock().await;
    common::exporter();
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        let running = mcp_trace::rmcp::TracedServer::new(Tasking::default())
            .serve(server_end)
            .await
            .expect("server starts");
        running.waiting().await.ok();
    });
    let info = ClientConfig::new(
        ClientCapabilities::builder().enable_tasks().build(),
        Implementation::new("poller", "1"),
    );
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    let client = info
        .serve_with_lifecycle(client_end, lifecycle)
        .await
        .expect("server/discover");
    for tool in TOOLS {
        let CallToolResponse::Task(created) = client
            .call_tool_once(CallToolRequestParams::new(tool))
            .await
            .expect(tool)
        else {
            panic!("{tool}: a task");
        };
        let id = created.task.task_id.clone();
        if tool == "waiting" {
            client
                .cancel_task(CancelTaskParams::new(id.clone()))
                .await
                .unwrap();
        }
        loop {
            let answer = client
                .get_task(GetTaskParams::new(id.clone()))
                .await
                .unwrap();
            if answer.task.status() != TaskStatus::Working {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    // An id the server never gave.
    assert!(
        client
            .get_task(GetTaskParams::new("SECRET-unknown"))
            .await
            .is_err()
    );
    client.cancel().await.unwrap();
    server.await.unwrap();

    let spans = common::exporter().get_finished_spans().unwrap();
    let span_named = |name: &str| -> &SpanData {
        let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
        let [span] = &found[..] else {
            panic!("one span {name:?}: {}", found.len());
        };
        span
    };
    let outcomes: [Ending; 4] = [
        (
            "work",
            &[("mcp.task.status", "completed".into())],
            Status::Unset,
        ),
        (
            "broken",
            &[
                ("mcp.task.status", "failed".into()),
                ("error.type", "-32603".into()),
                ("rpc.response.status_code", "-32603".into()),
            ],
            Status::error("Internal error"),
        ),
        (
            "flaky",
            &[
                ("mcp.task.status", "completed".into()),
                ("error.type", "tool_error".into()),
            ],
            Status::error("tool_error"),
        ),
        (
            "waiting",
            &[
                ("mcp.task.status", "cancelled".into()),
                ("mcp.call.cancelled", true.into()),
            ],
            Status::Unset,
        ),
    ];
    for (tool, extra, status) in outcomes {
        let task = span_named(&format!("task {tool}"));
        let call = span_named(&format!("tools/call {tool}"));
        assert_eq!(task.span_kind, SpanKind::Internal);
        // The process's session on a pipe, as on the call.
        let mut want = expected(tool, extra);
        want.insert(
            "mcp.session.id".to_owned(),
            attrs(call)["mcp.session.id"].clone(),
        );
        assert_eq!(attrs(task), want, "{tool}");
        assert_eq!(task.status, status, "{tool}");
        // The child of the call that created it, which links to it.
        assert_eq!(task.parent_span_id, call.span_context.span_id(), "{tool}");
        let linked: Vec<SpanId> = call
            .links
            .iter()
            .map(|l| l.span_context.span_id())
            .collect();
        assert_eq!(linked, vec![task.span_context.span_id()], "{tool}");
        assert!(
            task.end_time >= call.end_time,
            "{tool}: the task outlives its call"
        );
        // Every poll about it links to it, says it is known and what it answered.
        let task_id = task.span_context.span_id();
        let polls: Vec<&SpanData> = spans
            .iter()
            .filter(|s| {
                s.name == "tasks/get" && s.links.iter().any(|l| l.span_context.span_id() == task_id)
            })
            .collect();
        assert!(!polls.is_empty(), "{tool}");
        for poll in &polls {
            assert_eq!(attrs(poll)["mcp.task.known"], true.into());
            assert!(attrs(poll).contains_key("mcp.task.status"));
        }
    }
    let cancel = span_named("tasks/cancel");
    assert_eq!(attrs(cancel)["mcp.task.known"], true.into());
    assert_eq!(
        cancel.links[0].span_context.span_id(),
        span_named("task waiting").span_context.span_id()
    );
    // The unknown id: recorded as such, linked to nothing, never exported.
    let unknown: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == "tasks/get" && attrs(s)["mcp.task.known"] == false.into())
        .collect();
    let [unknown] = &unknown[..] else {
        panic!("one poll of an unknown task: {}", unknown.len());
    };
    assert!(unknown.links.is_empty());
    for span in &spans {
        assert!(!format!("{span:?}").contains("SECRET"), "{span:?}");
    }
}

/// A client of `server` over 2026-07-28 with the tasks capability.
async fn tasking_client(
    server: impl ServerHandler,
) -> rmcp::service::RunningService<rmcp::RoleClient, ClientConfig> {
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let running = server.serve(server_end).await.expect("server starts");
        running.waiting().await.ok();
    });
    let info = ClientConfig::new(
        ClientCapabilities::builder().enable_tasks().build(),
        Implementation::new("poller", "1"),
    );
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    info.serve_with_lifecycle(client_end, lifecycle)
        .await
        .expect("server/discover")
}

/// Bytes the process holds after `n` tasks of a server that never finish them, less
/// the finished spans the test's exporter keeps.
async fn held_after_open_tasks(server: impl ServerHandler, n: usize) -> isize {
    let client = tasking_client(server).await;
    common::exporter().reset();
    let before = common::counting::net();
    for _ in 0..n {
        client
            .call_tool_once(CallToolRequestParams::new("waiting"))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    common::exporter().reset();
    let held = common::counting::net() - before;
    client.cancel().await.unwrap();
    held
}

/// Hostile: 10 000 polls of ids the server never gave are recorded and never kept; an
/// open task costs the process a bounded amount (its recording span, its entry).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_are_never_kept_and_open_tasks_are_small() {
    let _one = ONE_AT_A_TIME.lock().await;
    common::exporter();
    let client = tasking_client(mcp_trace::rmcp::TracedServer::new(Tasking::default())).await;
    // Warm up: the first requests allocate what stays for the process's life, and the
    // test exporter's list of spans grows to hold 10 000 (it keeps its capacity).
    for i in 0..10_000 {
        let _ = client
            .get_task(GetTaskParams::new(format!("warm-{i}")))
            .await;
    }
    common::exporter().reset();
    let before = common::counting::net();
    for i in 0..10_000 {
        let unknown = client
            .get_task(GetTaskParams::new(format!("SECRET-{i}")))
            .await;
        assert!(unknown.is_err());
    }
    let unknown_spans = common::exporter()
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .filter(|s| s.name == "tasks/get" && attrs(s)["mcp.task.known"] == false.into())
        .count();
    assert_eq!(unknown_spans, 10_000);
    common::exporter().reset();
    let grown = common::counting::net() - before;
    assert!(
        grown < 64 << 10,
        "10 000 unknown ids left {grown} bytes behind"
    );
    client.cancel().await.unwrap();

    // What following an open task costs: the traced server over the plain one.
    const N: usize = 500;
    let plain = held_after_open_tasks(Tasking::default(), N).await;
    let traced =
        held_after_open_tasks(mcp_trace::rmcp::TracedServer::new(Tasking::default()), N).await;
    let per_task = (traced - plain) / N as isize;
    eprintln!("an open task costs {per_task} bytes ({traced} traced, {plain} plain, {N} tasks)");
    // The README's figure: about 2.5 KiB each (2 483 bytes measured; 4 096 tasks at
    // most: 10 MiB).
    assert!(per_task < 4 << 10, "{per_task} bytes per open task");
}
