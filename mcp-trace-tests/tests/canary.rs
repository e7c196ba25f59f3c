//! In-process canary: a value the client sent, echoed by the handler's own error
//! `Display` or panic message, never reaches the span (attributes, status, events, name).
//! The examples are driven the same way over the wire in `e2e_canary.rs`.
#![cfg(all(
    feature = "enable",
    feature = "args-shape",
    feature = "args-hash",
    feature = "schema-check"
))]

mod common;

use common::{capture, capture_async, only};
use mcp_trace::traced_tool;
use opentelemetry::trace::Status;
use opentelemetry_sdk::trace::SpanData;

const CANARY: &str = "CANARYqzvkrtwpxm";

/// An error whose text quotes the client's input, as many do.
#[derive(Debug)]
pub struct EchoError(String);

impl std::fmt::Display for EchoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no document matches {:?}", self.0)
    }
}

impl std::error::Error for EchoError {}

#[traced_tool]
async fn lookup(query: String, #[session] session: &str) -> Result<String, EchoError> {
    let _ = session;
    Err(EchoError(query))
}

#[traced_tool]
fn explode(query: String) -> usize {
    panic!("cannot handle {query}");
}

/// Everything a span carries, as text.
fn everything(span: &SpanData) -> String {
    let status = match &span.status {
        Status::Error { description } => description.to_string(),
        other => format!("{other:?}"),
    };
    format!(
        "{} {:?} {status} {:?} {:?} {:?}",
        span.name,
        span.attributes,
        span.events.events,
        span.links.links,
        span.span_context.trace_state()
    )
}

#[tokio::test]
async fn an_error_display_that_echoes_the_input_is_not_exported() {
    let session = format!("{CANARY}-session");
    let (result, spans) = capture_async(lookup(format!("{CANARY}-query"), &session)).await;
    assert!(
        result.unwrap_err().to_string().contains(CANARY),
        "the echo is real"
    );
    let span = only(spans);
    assert_eq!(span.status, Status::error("EchoError"));
    let text = everything(&span);
    assert!(!text.contains(CANARY), "{text}");
}

#[test]
fn a_panic_message_that_echoes_the_input_is_not_exported() {
    let (caught, spans) =
        capture(|| std::panic::catch_unwind(|| explode(format!("{CANARY}-panic"))));
    let payload = caught.expect_err("the panic reaches the caller");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains(CANARY), "the echo is real: {message}");
    let span = only(spans);
    assert_eq!(span.status, Status::error("panic"));
    let text = everything(&span);
    assert!(!text.contains(CANARY), "{text}");
}
