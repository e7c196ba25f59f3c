//! Exit paths of the stdio example: when the client closes stdin every span is exported,
//! and on SIGTERM the server flushes within its shutdown timeout before it exits.
#![cfg(all(feature = "rmcp", feature = "otlp", unix))]

mod common;

use common::otlp::{self, Receiver};
use common::pipes::{PipeServer, call};
use serde_json::json;
use std::process::Command;
use std::time::Duration;

const CALLS: u64 = 200;

/// initialize, then `CALLS` answered tool calls.
fn session(server: &mut PipeServer) {
    server.initialize();
    for id in 1..=CALLS {
        server.send(&call(id, "search_documents", json!({"query": "intro"})));
        assert!(
            server.response(id)["result"].is_object(),
            "call {id} answered"
        );
    }
}

fn tool_spans(received: &[otlp::Received]) -> usize {
    otlp::spans(received)
        .iter()
        .filter(|span| span.name == "tools/call search_documents")
        .count()
}

#[test]
fn closing_stdin_exports_every_span() {
    let receiver = Receiver::start();
    let mut server = PipeServer::start(&receiver.endpoint(), |_| {});
    session(&mut server);
    server.close_stdin();
    let (status, stderr, took) = server.exit_within(Duration::from_secs(15));
    eprintln!("exit after stdin closed: {took:?}");
    assert!(status.success(), "{stderr}");
    assert_eq!(
        tool_spans(&receiver.stop()),
        CALLS as usize,
        "100 % exported"
    );
}

#[test]
fn sigterm_flushes_before_exit() {
    let receiver = Receiver::start();
    let mut server = PipeServer::start(&receiver.endpoint(), |_| {});
    session(&mut server);
    // stdin stays open: only the signal ends the server.
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let (status, stderr, took) = server.exit_within(Duration::from_secs(15));
    eprintln!("exit after SIGTERM: {took:?}");
    assert!(status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        tool_spans(&receiver.stop()),
        CALLS as usize,
        "flushed on SIGTERM"
    );
}
