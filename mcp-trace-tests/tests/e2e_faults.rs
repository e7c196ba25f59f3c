//! Bad input and faults against the stdio example, over raw pipes: garbage on stdin,
//! `arguments` that are not an object, a 10 MB argument, and an OTLP receiver that is
//! down. The server keeps serving, never panics, and answers without waiting on export.
#![cfg(all(feature = "rmcp", feature = "otlp"))]

mod common;

use common::pipes::{PipeServer, call};
use serde_json::json;
use std::time::{Duration, Instant};

/// A loopback port with nothing listening.
fn closed_port_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

#[test]
fn garbage_non_objects_and_huge_arguments_do_not_stop_the_server() {
    let mut server = PipeServer::start(&closed_port_endpoint(), |_| {});
    server.send("this is not JSON at all {{{");
    server.send(r#"{"jsonrpc":"2.0","id":"x","method":42}"#);
    server.initialize();

    server.send(&call(1, "search_documents", json!(["not", "an", "object"])));
    let response = server.response(1);
    assert!(
        response.get("error").is_some() || response["result"]["isError"] == json!(true),
        "{response}"
    );

    let huge = "x".repeat(10 * 1024 * 1024);
    let started = Instant::now();
    server.send(&call(
        2,
        "search_documents",
        json!({"query": huge, "limit": 3}),
    ));
    let response = server.response(2);
    assert_eq!(
        response["result"]["isError"],
        json!(false),
        "huge argument served"
    );
    eprintln!("10 MB argument answered in {:?}", started.elapsed());

    // Still serving after all of that.
    server.send(&call(3, "run_query", json!({"sql": "SELECT 1"})));
    assert_eq!(server.response(3)["result"]["isError"], json!(false));

    let (status, stderr) = server.finish();
    assert!(status.success(), "clean exit: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_receiver_that_is_down_costs_the_handler_nothing() {
    let mut server = PipeServer::start(&closed_port_endpoint(), |_| {});
    server.initialize();
    let mut slowest = Duration::ZERO;
    for id in 1..=50 {
        let started = Instant::now();
        server.send(&call(id, "run_query", json!({"sql": "SELECT 1"})));
        assert_eq!(server.response(id)["result"]["isError"], json!(false));
        slowest = slowest.max(started.elapsed());
    }
    // Export happens on a background thread: no request waits on the dead receiver.
    assert!(
        slowest < Duration::from_secs(2),
        "slowest round trip {slowest:?}"
    );
    let started = Instant::now();
    let (status, stderr) = server.finish();
    assert!(status.success(), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "shutdown is bounded"
    );
    assert!(
        stderr.contains("spans were not exported (failed exports"),
        "dropped spans are counted: {stderr}"
    );
}
