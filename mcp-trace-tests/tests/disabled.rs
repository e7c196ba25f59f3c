//! With `enable` off, the macros emit the function unchanged and the API is callable.
#![cfg(not(feature = "enable"))]

use mcp_trace::{traced_resource, traced_tool};

#[derive(Debug, PartialEq)]
pub struct Failure;

#[traced_tool(name = "divide", skip(verbose))]
fn divide(a: i64, b: i64, verbose: bool) -> Result<i64, Failure> {
    let _ = verbose;
    if b == 0 { Err(Failure) } else { Ok(a / b) }
}

#[traced_resource(uri = "docs://{page}")]
async fn page(#[session] session: &str, page: String) -> String {
    format!("{session}:{page}")
}

#[test]
fn handlers_behave_as_written_and_the_api_is_a_no_op() {
    let guard = mcp_trace::init();
    assert!(!guard.is_active());
    assert_eq!(guard.file_path(), None);
    assert_eq!(divide(7, 2, true), Ok(3));
    assert_eq!(divide(1, 0, false), Err(Failure));
    let scoped = mcp_trace::scope()
        .session_id("s")
        .arguments(serde_json::json!({"a": 1}))
        .run_sync(|| divide(9, 3, false));
    assert_eq!(scoped, Ok(3));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let text = runtime.block_on(mcp_trace::scope().run(page("s1", "intro".into())));
    assert_eq!(text, "s1:intro");
    mcp_trace::session::end("s1");
    assert_eq!(mcp_trace::dropped_spans(), 0);
}
