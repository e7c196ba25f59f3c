//! `mcp.client.operation.duration` and `mcp.client.session.duration`, as the MCP
//! conventions give them: the requester's view of each request (transport included) and
//! of its whole session — a client's requests, and a server's requests to its client.
//! Requests cross the network, so a plain record per request (no bound handles, unlike
//! the server's per-call path) costs nothing next to them.

use super::MetricBase;
use crate::keys;
use crate::metrics::{DURATION_BOUNDARIES, known_method, known_protocol, meter};
use opentelemetry::KeyValue;
use std::time::SystemTime;

pub(crate) const OPERATION_DURATION: &str = "mcp.client.operation.duration";
#[cfg(feature = "client")]
pub(crate) const SESSION_DURATION: &str = "mcp.client.session.duration";

fn seconds(start: SystemTime, end: SystemTime) -> f64 {
    end.duration_since(start).unwrap_or_default().as_secs_f64()
}

fn histogram(name: &'static str) -> opentelemetry::metrics::Histogram<f64> {
    meter()
        .f64_histogram(name)
        .with_unit("s")
        .with_boundaries(DURATION_BOUNDARIES.to_vec())
        .build()
}

/// The attributes every client metric carries.
fn connection(base: &MetricBase, attrs: &mut Vec<KeyValue>) {
    attrs.push(KeyValue::new(keys::TRANSPORT, base.transport));
    if let Some((address, port)) = &base.server {
        attrs.push(KeyValue::new(keys::NETWORK_PROTOCOL, "http"));
        attrs.push(KeyValue::new(keys::SERVER_ADDRESS, address.clone()));
        attrs.push(KeyValue::new(keys::SERVER_PORT, i64::from(*port)));
    }
    if let Some(version) = &base.protocol {
        attrs.push(KeyValue::new(keys::PROTOCOL, known_protocol(version)));
    }
}

/// One request, from its send to its answer. Never its id, session, URI or hash.
#[allow(clippy::too_many_arguments)]
pub(crate) fn operation(
    base: &MetricBase,
    method: &str,
    tool: Option<&str>,
    schema_valid: Option<bool>,
    repeated: Option<bool>,
    error_type: Option<&str>,
    rpc_code: Option<i64>,
    start: SystemTime,
    end: SystemTime,
) {
    if !crate::metrics::enabled() {
        return;
    }
    let mut attrs = Vec::with_capacity(12);
    attrs.push(KeyValue::new(keys::METHOD, known_method(method)));
    if let Some(tool) = tool {
        attrs.push(KeyValue::new(keys::OPERATION, keys::EXECUTE_TOOL));
        attrs.push(KeyValue::new(keys::GEN_AI_TOOL, tool.to_owned()));
    }
    connection(base, &mut attrs);
    if let Some(valid) = schema_valid {
        attrs.push(KeyValue::new(keys::SCHEMA_VALID, valid));
    }
    if let Some(repeated) = repeated {
        attrs.push(KeyValue::new(keys::REPEATED, repeated));
    }
    if let Some(error_type) = error_type {
        attrs.push(KeyValue::new(keys::ERROR_TYPE, error_type.to_owned()));
    }
    if let Some(code) = rpc_code {
        attrs.push(KeyValue::new(keys::RPC_STATUS, code.to_string()));
    }
    histogram(OPERATION_DURATION).record(seconds(start, end), &attrs);
}

/// One session, from `initialize` to the transport's close.
#[cfg(feature = "client")]
pub(crate) fn session(
    base: &MetricBase,
    start: SystemTime,
    end: SystemTime,
    error_type: Option<&str>,
) {
    if !crate::metrics::enabled() {
        return;
    }
    let mut attrs = Vec::with_capacity(8);
    connection(base, &mut attrs);
    if let Some(error_type) = error_type {
        attrs.push(KeyValue::new(keys::ERROR_TYPE, error_type.to_owned()));
    }
    histogram(SESSION_DURATION).record(seconds(start, end), &attrs);
}
