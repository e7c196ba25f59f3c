//! rmcp (the official Rust MCP SDK) support: outcomes of its result and error types,
//! and the request scope read from its `RequestContext`.

use crate::handler::outcome::{Outcome, ResultSize, SpecialError, SpecialOutcome};
use crate::scope::{RequestScope, Transport};
use rmcp::model::{
    CallToolResponse, CallToolResult, ErrorData, GetPromptResponse, InputRequiredResult,
    ReadResourceResponse, ReadResourceResult, ResourceContents,
};
use rmcp::service::{RequestContext, RoleServer};
use std::net::{IpAddr, SocketAddr};

impl SpecialOutcome for CallToolResult {
    /// `isError: true` is a failure reported in-band; otherwise the content count.
    fn outcome(&self) -> Outcome {
        if self.is_error == Some(true) {
            Outcome::ToolError
        } else {
            Outcome::Ok(Some(ResultSize::Count(self.content.len())))
        }
    }
}

/// Total text length (Unicode scalar values) or blob length of the contents.
pub(crate) fn content_length(result: &ReadResourceResult) -> usize {
    result
        .contents
        .iter()
        .map(|c| match c {
            ResourceContents::TextResourceContents { text, .. } => text.chars().count(),
            ResourceContents::BlobResourceContents { blob, .. } => blob.len(),
            #[allow(unreachable_patterns)]
            _ => 0,
        })
        .sum()
}

impl SpecialOutcome for ReadResourceResult {
    fn outcome(&self) -> Outcome {
        Outcome::Ok(Some(ResultSize::Length(content_length(self))))
    }
}

impl SpecialOutcome for CallToolResponse {
    fn outcome(&self) -> Outcome {
        match self {
            CallToolResponse::Complete(result) => result.outcome(),
            CallToolResponse::InputRequired(_) => Outcome::InputRequired,
            _ => Outcome::Ok(None),
        }
    }
}

impl SpecialOutcome for ReadResourceResponse {
    fn outcome(&self) -> Outcome {
        match self {
            ReadResourceResponse::Complete(result) => result.outcome(),
            ReadResourceResponse::InputRequired(_) => Outcome::InputRequired,
            _ => Outcome::Ok(None),
        }
    }
}

impl SpecialOutcome for GetPromptResponse {
    fn outcome(&self) -> Outcome {
        match self {
            GetPromptResponse::InputRequired(_) => Outcome::InputRequired,
            _ => Outcome::Ok(None),
        }
    }
}

/// A handler that answers `input_required` itself (a `#[traced_tool]` returning it).
impl SpecialOutcome for InputRequiredResult {
    fn outcome(&self) -> Outcome {
        Outcome::InputRequired
    }
}

/// Answers that may ask the client for input (MCP 2026-07-28 multi-round requests).
pub(crate) trait AsksForInput {
    fn input_required(&self) -> Option<&InputRequiredResult>;
}

impl AsksForInput for CallToolResponse {
    fn input_required(&self) -> Option<&InputRequiredResult> {
        match self {
            CallToolResponse::InputRequired(result) => Some(result),
            _ => None,
        }
    }
}

impl AsksForInput for ReadResourceResponse {
    fn input_required(&self) -> Option<&InputRequiredResult> {
        match self {
            ReadResourceResponse::InputRequired(result) => Some(result),
            _ => None,
        }
    }
}

impl AsksForInput for GetPromptResponse {
    fn input_required(&self) -> Option<&InputRequiredResult> {
        match self {
            GetPromptResponse::InputRequired(result) => Some(result),
            _ => None,
        }
    }
}

/// The `requestState` an `input_required` answer asks the client to echo.
pub(crate) fn request_state_of<T: AsksForInput>(result: &Result<T, ErrorData>) -> Option<&str> {
    result
        .as_ref()
        .ok()?
        .input_required()?
        .request_state
        .as_deref()
}

impl SpecialError for ErrorData {
    /// The JSON-RPC code: `error.type` and `rpc.response.status_code`.
    fn outcome(&self) -> Outcome {
        Outcome::rpc_error(i64::from(self.code.0))
    }
}

/// The observer's key of a JSON-RPC id (or progress token) on `connection`, matched
/// exactly, as rmcp matches a request and its cancellation: `5` and `"5"` are two ids.
pub(crate) fn request_key(
    connection: &crate::observe::Connection,
    id: &rmcp::model::NumberOrString,
) -> crate::observe::RequestKey {
    use rmcp::model::NumberOrString;
    let in_flight = &connection.in_flight;
    match id {
        NumberOrString::Number(n) => in_flight.number(*n),
        NumberOrString::String(s) => in_flight.string(s),
    }
}

/// The key of the request an answer is for: a string that parses as an integer (`"5"`,
/// `"05"`) is that number, as rmcp matches answers to the requests it sent (with
/// numeric ids).
pub(crate) fn answer_key(
    connection: &crate::observe::Connection,
    id: &rmcp::model::NumberOrString,
) -> crate::observe::RequestKey {
    use rmcp::model::NumberOrString;
    match id {
        NumberOrString::String(s) => match s.parse::<i64>() {
            Ok(n) => connection.in_flight.number(n),
            Err(_) => connection.in_flight.string(s),
        },
        NumberOrString::Number(n) => connection.in_flight.number(*n),
    }
}

/// The user's answer to an elicitation, as `mcp.elicitation.action` says it.
pub(crate) fn elicitation_action(action: &rmcp::model::ElicitationAction) -> &'static str {
    use rmcp::model::ElicitationAction;
    match action {
        ElicitationAction::Accept => "accept",
        ElicitationAction::Decline => "decline",
        ElicitationAction::Cancel => "cancel",
        _ => crate::keys::OTHER,
    }
}

/// Writes `context` into a `_meta` object, over any trace context there; other keys
/// stay.
pub(crate) fn write_trace_context(
    meta: &mut rmcp::model::MetaObject,
    context: crate::observe::outbound::MetaContext,
) {
    meta.set_traceparent(context.traceparent);
    match context.tracestate {
        Some(state) => meta.set_tracestate(state),
        None => {
            meta.0.remove("tracestate");
        }
    }
}

/// The method of a request a server sends its client.
pub(crate) fn server_request_method(request: &rmcp::model::ServerRequest) -> &str {
    use rmcp::model::{ConstString, ServerRequest};
    match request {
        ServerRequest::PingRequest(r) => r.method.as_str(),
        ServerRequest::CreateMessageRequest(r) => r.method.as_str(),
        ServerRequest::ListRootsRequest(r) => r.method.as_str(),
        ServerRequest::ElicitRequest(r) => r.method.as_str(),
        ServerRequest::CustomRequest(r) => &r.method,
        _ => crate::keys::OTHER,
    }
}

/// The `Mcp-Session-Id` header of a streamable HTTP request, if the context has one.
pub(crate) fn http_session(context: &RequestContext<RoleServer>) -> Option<(String, bool)> {
    let parts = context.extensions.get::<http::request::Parts>()?;
    Some((session_header(parts).unwrap_or_default(), true))
}

/// The non-empty `Mcp-Session-Id` header of an HTTP request.
fn session_header(parts: &http::request::Parts) -> Option<String> {
    session_header_text(parts).map(str::to_owned)
}

fn session_header_text(parts: &http::request::Parts) -> Option<&str> {
    parts
        .headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// Where a message with `_meta` `meta` and rmcp's `extensions` arrived: over HTTP, its
/// session header, HTTP version and client address; else on a pipe, in
/// `process_session`. `protocol`: the connection's protocol version.
pub(crate) fn arrival<'a>(
    meta: &'a rmcp::model::JsonObject,
    extensions: &'a rmcp::model::Extensions,
    protocol: Option<&'a str>,
    process_session: &'a str,
) -> crate::call::Arrival<'a> {
    let mut arrival = crate::call::Arrival {
        meta: Some(meta),
        protocol,
        ..Default::default()
    };
    match extensions.get::<http::request::Parts>() {
        Some(parts) => {
            arrival.session = session_header_text(parts);
            arrival.transport = Some(Transport::Tcp);
            arrival.network = http_version(parts.version).map(|version| ("http", version));
            arrival.client = client_of(parts);
        }
        None => {
            arrival.session = Some(process_session);
            arrival.transport = Some(Transport::Pipe);
        }
    }
    arrival
}

/// A request scope from what rmcp knows about the request: its id, `_meta` trace
/// context, the negotiated protocol version, and over HTTP the session id. Transport is
/// `tcp` when the request came over HTTP, else `pipe` (stdio).
pub fn scope_from_context(context: &RequestContext<RoleServer>) -> RequestScope {
    let mut scope = scope_from_parts(&context.meta.0.0, &context.extensions).request_id_text(
        match &context.id {
            // The integer's own `to_string`, not the enum's `Display`.
            rmcp::model::NumberOrString::Number(n) => n.to_string(),
            rmcp::model::NumberOrString::String(s) => s.to_string(),
        },
    );
    if let Some(version) = context.protocol_version() {
        scope = scope.protocol_version(version.to_string());
    }
    scope
}

/// The scope any message carries (a request's or a notification's): its `_meta` trace
/// context, and over HTTP the session id, HTTP version and client address (`tcp`);
/// else the transport is `pipe` (stdio).
pub(crate) fn scope_from_parts(
    meta: &rmcp::model::JsonObject,
    extensions: &rmcp::model::Extensions,
) -> RequestScope {
    let mut scope = RequestScope::new().meta_object(meta);
    let Some(parts) = extensions.get::<http::request::Parts>() else {
        return scope.transport(Transport::Pipe);
    };
    if let Some(version) = http_version(parts.version) {
        scope = scope.network_protocol("http", version);
    }
    if let Some((address, port)) = client_of(parts) {
        scope = scope.client_address(address, port);
    }
    scope = scope.transport(Transport::Tcp);
    match session_header(parts) {
        Some(session) => scope.session_id(session),
        None => scope,
    }
}

/// `network.protocol.version` of an HTTP version, as the conventions write it.
fn http_version(version: http::Version) -> Option<&'static str> {
    Some(match version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_11 => "1.1",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => return None,
    })
}

/// The client of an HTTP request: behind a proxy the original client, from the first
/// hop of `Forwarded` (`for=`) or `X-Forwarded-For`; else the peer address, when the
/// server stack put a `SocketAddr` in the request's extensions. Only an IP address is
/// taken, never another string the client chose.
fn client_of(parts: &http::request::Parts) -> Option<(IpAddr, Option<u16>)> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    // A `Forwarded` header is the proxy's word: one that hides the client (`for=_id`,
    // `unknown`) is not second-guessed with `X-Forwarded-For`.
    let forwarded = match header("forwarded") {
        Some(value) => forwarded_for(value),
        None => header("x-forwarded-for").and_then(|v| address(first_hop(v))),
    };
    forwarded.or_else(|| {
        let peer = parts.extensions.get::<SocketAddr>()?;
        Some((peer.ip(), Some(peer.port())))
    })
}

fn first_hop(list: &str) -> &str {
    list.split(',').next().unwrap_or_default().trim()
}

/// The `for=` of the first element of a `Forwarded` header (RFC 7239).
fn forwarded_for(value: &str) -> Option<(IpAddr, Option<u16>)> {
    first_hop(value)
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| key.eq_ignore_ascii_case("for"))
        .and_then(|(_, node)| address(node.trim_matches('"')))
}

/// An IP address with an optional port: `192.0.2.1`, `192.0.2.1:80`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:80`. Anything else (`unknown`, an obfuscated `_id`) is none.
fn address(node: &str) -> Option<(IpAddr, Option<u16>)> {
    let bare = node
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(node);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some((ip, None));
    }
    let peer = node.parse::<SocketAddr>().ok()?;
    Some((peer.ip(), Some(peer.port())))
}

/// Runs `f` (a traced handler's span start) inside a scope read from `context`, unless
/// a request scope is already set (by the adapter, which knows more).
pub fn with_context<R>(context: &RequestContext<RoleServer>, f: impl FnOnce() -> R) -> R {
    if crate::scope::is_set() {
        f()
    } else {
        scope_from_context(context).run_sync(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_an_ip_address_or_none() {
        let v4: IpAddr = "192.0.2.60".parse().unwrap();
        let v6: IpAddr = "2001:db8:cafe::17".parse().unwrap();
        assert_eq!(address("192.0.2.60"), Some((v4, None)));
        assert_eq!(address("192.0.2.60:4711"), Some((v4, Some(4711))));
        assert_eq!(address("2001:db8:cafe::17"), Some((v6, None)));
        assert_eq!(address("[2001:db8:cafe::17]:4711"), Some((v6, Some(4711))));
        assert_eq!(address("[2001:db8:cafe::17]"), Some((v6, None)));
        assert_eq!(address("unknown"), None);
        assert_eq!(address("_hidden"), None);
        assert_eq!(address("<script>"), None);
        assert_eq!(
            forwarded_for("for=192.0.2.60;proto=http;by=203.0.113.43, for=198.51.100.17"),
            Some((v4, None))
        );
        assert_eq!(
            forwarded_for("proto=https;For=\"[2001:db8:cafe::17]:4711\""),
            Some((v6, Some(4711)))
        );
        assert_eq!(forwarded_for("for=unknown"), None);
        assert_eq!(first_hop(" 192.0.2.60 , 198.51.100.17"), "192.0.2.60");
    }

    #[test]
    fn http_versions_as_the_conventions_write_them() {
        assert_eq!(http_version(http::Version::HTTP_11), Some("1.1"));
        assert_eq!(http_version(http::Version::HTTP_2), Some("2"));
    }

    #[test]
    fn the_client_comes_from_the_headers_first() {
        let request = http::Request::builder()
            .header("x-forwarded-for", "198.51.100.17, 10.0.0.1")
            .body(())
            .unwrap();
        let (mut parts, ()) = request.into_parts();
        parts
            .extensions
            .insert("10.0.0.2:5000".parse::<SocketAddr>().unwrap());
        assert_eq!(
            client_of(&parts),
            Some(("198.51.100.17".parse().unwrap(), None))
        );
        // A proxy that hides the client is believed: the peer, not the other header.
        parts
            .headers
            .insert("forwarded", "for=_hidden".parse().unwrap());
        assert_eq!(
            client_of(&parts),
            Some(("10.0.0.2".parse().unwrap(), Some(5000)))
        );
        parts.headers.clear();
        assert_eq!(
            client_of(&parts),
            Some(("10.0.0.2".parse().unwrap(), Some(5000)))
        );
    }
}
