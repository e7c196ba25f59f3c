//! Runs of identical tool calls (`mcp.tool.call.repeat_run`) through traced handlers,
//! against the in-memory exporter: a call's place in the run of calls of its tool with
//! the same arguments in its session (calls of other tools in between do not break a
//! run), failing calls counted as any other, sessions and traces apart.
#![cfg(all(feature = "enable", feature = "args-hash"))]

mod common;

use common::capture;
use mcp_trace::traced_tool;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;

#[traced_tool]
fn lookup(#[session] session: &str, query: &str) -> usize {
    let _ = session;
    query.len()
}

#[traced_tool]
fn other(#[session] session: &str, id: u32) -> u32 {
    let _ = session;
    id
}

#[derive(Debug)]
pub struct Refused;

#[traced_tool]
fn refuse(#[session] session: &str, reason: &str) -> Result<(), Refused> {
    let _ = (session, reason);
    Err(Refused)
}

fn run_of(spans: &[SpanData]) -> Option<i64> {
    let [span] = spans else {
        panic!("one span: {spans:#?}")
    };
    span.attributes.iter().find_map(|kv| match &kv.value {
        Value::I64(run) if kv.key.as_str() == "mcp.tool.call.repeat_run" => Some(*run),
        _ => None,
    })
}

#[test]
fn a_run_counts_identical_calls_of_one_tool_whatever_comes_between() {
    let session = "repeat-runs-1";
    let runs: Vec<Option<i64>> = [
        ("lookup", "a"),
        ("lookup", "a"),
        ("other", ""),
        ("lookup", "a"),
        ("lookup", "a"),
        ("lookup", "b"),
        ("lookup", "a"),
        ("lookup", "a"),
    ]
    .into_iter()
    .map(|(tool, query)| {
        let (_, spans) = capture(|| match tool {
            "lookup" => {
                lookup(session, query);
            }
            _ => {
                other(session, 7);
            }
        });
        run_of(&spans)
    })
    .collect();
    assert_eq!(
        runs,
        [1, 2, 1, 3, 4, 1, 1, 2].map(Some),
        "the other tool's call is a run of its own and breaks none"
    );
    // Another session keeps runs of its own.
    let (_, spans) = capture(|| lookup("repeat-runs-2", "a"));
    assert_eq!(run_of(&spans), Some(1));
}

#[test]
fn failing_calls_retried_unchanged_are_a_run() {
    let runs: Vec<Option<i64>> = (0..3)
        .map(|_| {
            let (_, spans) = capture(|| refuse("repeat-runs-3", "same"));
            run_of(&spans)
        })
        .collect();
    assert_eq!(runs, [Some(1), Some(2), Some(3)]);
}

#[test]
fn with_no_session_and_no_trace_from_meta_there_is_no_run() {
    // No scope at all: a call is not part of any conversation the run could be about.
    #[traced_tool]
    fn alone(query: &str) -> usize {
        query.len()
    }
    let (_, spans) = capture(|| alone("a"));
    assert_eq!(run_of(&spans), None);
}

#[tokio::test]
async fn without_a_session_the_meta_trace_is_the_scope() {
    #[traced_tool]
    async fn traced_search(query: String) -> usize {
        query.len()
    }
    let in_trace = |trace: &'static str| {
        mcp_trace::scope().traceparent(format!("00-{trace}-00f067aa0ba902b7-01"))
    };
    let one = "4bf92f3577b34da6a3ce929d0e0e4736";
    let two = "0af7651916cd43dd8448eb211c80319c";
    common::exporter();
    let mut runs = Vec::new();
    for trace in [one, one, two, one, two] {
        in_trace(trace).run(traced_search("q".to_owned())).await;
        // The call's span is in the `_meta` trace: the newest of that trace's.
        let id = opentelemetry::trace::TraceId::from_hex(trace).unwrap();
        let spans = common::spans_of(id);
        runs.push(run_of(&spans[spans.len() - 1..]));
    }
    // Each trace (one agent run) keeps its own runs.
    assert_eq!(runs, [1, 2, 1, 3, 2].map(Some));
}
