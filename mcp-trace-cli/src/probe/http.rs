//! The probe over streamable HTTP: each message the probe sends is POSTed to the
//! server's endpoint, and what comes back (a JSON answer, or the messages of an event
//! stream, as they come) is handed to the probe as the stdio reader hands it lines.
//! The session the server assigns is carried on every request after, and deleted
//! when the probe is done.

use super::{Failure, Line, MAX_LINE, failure};
use crate::proxy::sse::Events;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Whether `url` is one the probe can speak to (a usage error otherwise).
pub(super) fn check(url: &str) -> Result<(), String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("--url {url}: not a URL ({e})"))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http"), Some(_)) => Ok(()),
        (Some("https"), _) => Err(format!(
            "--url {url}: https is not supported; probe the server's plain-HTTP address"
        )),
        _ => Err(format!("--url {url}: an http:// URL is needed")),
    }
}

/// What the spans call a server known by its URL: its host and port.
pub(super) fn target_name(url: &str) -> String {
    url.parse::<Uri>()
        .ok()
        .and_then(|uri| {
            uri.authority()
                .map(|a| a.as_str().chars().take(128).collect())
        })
        .unwrap_or_else(|| "mcp-server".to_owned())
}

/// What the probe holds of its HTTP link: the sender of its messages, the receiver
/// of the server's, and the thread that speaks HTTP (done once the session is ended).
pub(super) type Link = (
    tokio::sync::mpsc::Sender<Vec<u8>>,
    Receiver<Line>,
    std::thread::JoinHandle<()>,
);

/// Starts the thread that speaks HTTP to `url`.
pub(super) fn start(url: &str, protocol: &str) -> Result<Link, Failure> {
    let uri: Uri = url.parse().map_err(|_| failure("start", "invalid_url"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|_| failure("start", "cannot_start"))?;
    let (to, writes) = tokio::sync::mpsc::channel::<Vec<u8>>(256);
    let (send, lines) = std::sync::mpsc::sync_channel(256);
    let endpoint = Endpoint {
        uri,
        protocol: HeaderValue::from_str(protocol)
            .map_err(|_| failure("start", "invalid_protocol"))?,
        session: Arc::default(),
        client: Client::builder(TokioExecutor::new()).build_http(),
    };
    let link = std::thread::spawn(move || runtime.block_on(speak(endpoint, writes, send)));
    Ok((to, lines, link))
}

#[derive(Clone)]
struct Endpoint {
    uri: Uri,
    protocol: HeaderValue,
    /// The `Mcp-Session-Id` the server assigned, once it has.
    session: Arc<Mutex<Option<HeaderValue>>>,
    client: HttpClient,
}

impl Endpoint {
    fn session(&self) -> Option<HeaderValue> {
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn request(&self, method: Method, body: Vec<u8>) -> Request<Full<Bytes>> {
        let routing = routing(&body);
        let mut request = Request::new(Full::new(Bytes::from(body)));
        *request.method_mut() = method;
        *request.uri_mut() = self.uri.clone();
        let headers = request.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        headers.insert("mcp-protocol-version", self.protocol.clone());
        if let Some(session) = self.session() {
            headers.insert("mcp-session-id", session);
        }
        for (name, value) in routing {
            headers.insert(name, value);
        }
        request
    }
}

/// The headers that repeat a request's method and what it names (2026-07-28's
/// `Mcp-Method` and `Mcp-Name`, which a server checks against the body); a name no
/// header can carry as it is goes without.
fn routing(body: &[u8]) -> Vec<(&'static str, HeaderValue)> {
    #[derive(serde::Deserialize)]
    struct Message {
        method: Option<String>,
        #[serde(default)]
        params: Option<serde_json::Map<String, serde_json::Value>>,
    }
    let Ok(Message {
        method: Some(method),
        params,
    }) = serde_json::from_slice(body)
    else {
        return Vec::new();
    };
    let mut headers = Vec::new();
    let named = match method.as_str() {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    };
    let name = named.and_then(|key| params.as_ref()?.get(key)?.as_str().map(str::to_owned));
    if let Ok(value) = HeaderValue::from_str(&method) {
        headers.push(("mcp-method", value));
    }
    if let Some(value) = name
        .filter(|n| n.bytes().all(|b| (0x20..0x7f).contains(&b)))
        .and_then(|n| HeaderValue::from_str(&n).ok())
    {
        headers.push(("mcp-name", value));
    }
    headers
}

/// Posts each message as it comes, each exchange on its own (so that an answer the
/// probe sends while a request's stream is open is not held up by it); once the probe
/// is done, ends the session.
async fn speak(
    endpoint: Endpoint,
    mut writes: tokio::sync::mpsc::Receiver<Vec<u8>>,
    lines: SyncSender<Line>,
) {
    let mut exchanges = Vec::new();
    while let Some(message) = writes.recv().await {
        exchanges.push(tokio::spawn(exchange(
            endpoint.clone(),
            message,
            lines.clone(),
        )));
        exchanges.retain(|e| !e.is_finished());
    }
    for exchange in exchanges {
        exchange.abort();
    }
    if endpoint.session().is_some() {
        let delete = endpoint
            .client
            .request(endpoint.request(Method::DELETE, Vec::new()));
        let _ = tokio::time::timeout(Duration::from_secs(2), delete).await;
    }
}

/// One POST: the messages of its answer to the probe, or why there are none.
async fn exchange(endpoint: Endpoint, message: Vec<u8>, lines: SyncSender<Line>) {
    let request = endpoint.request(Method::POST, message);
    let Ok(response) = endpoint.client.request(request).await else {
        let _ = lines.send(Line::Failed("unreachable".into()));
        return;
    };
    if let Some(session) = response.headers().get("mcp-session-id") {
        let mut kept = endpoint.session.lock().unwrap_or_else(|p| p.into_inner());
        kept.get_or_insert_with(|| session.clone());
    }
    let status = response.status();
    // A notification or an answer of the probe's, taken.
    if status == StatusCode::ACCEPTED {
        return;
    }
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let mut body = response.into_body();
    match kind.as_deref() {
        Some("text/event-stream") => {
            let mut events = Events::default();
            while let Some(Ok(frame)) = body.frame().await {
                if let Some(data) = frame.data_ref() {
                    events.feed(data, |message| {
                        // An event with no data (a stream's first, to resume from) is
                        // no message.
                        if !message.trim_ascii().is_empty() {
                            let _ = lines.send(Line::Text(message.to_vec()));
                        }
                    });
                }
            }
        }
        Some("application/json") => {
            let mut answer = Vec::new();
            while let Some(Ok(frame)) = body.frame().await {
                if let Some(data) = frame.data_ref() {
                    answer.extend_from_slice(data);
                    if answer.len() > MAX_LINE {
                        let _ = lines.send(Line::TooLong);
                        return;
                    }
                }
            }
            let _ = lines.send(Line::Text(answer));
        }
        _ if status.is_success() => {
            let _ = lines.send(Line::Failed("invalid_response".into()));
            return;
        }
        _ => {}
    }
    // An HTTP error, after what its body said (a JSON-RPC error answers first).
    if !status.is_success() {
        let _ = lines.send(Line::Failed(status.as_u16().to_string()));
    }
}
