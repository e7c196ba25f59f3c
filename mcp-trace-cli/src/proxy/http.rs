//! `mcp-trace proxy --listen ADDR --upstream URL`: traces an MCP server over
//! streamable HTTP with no change to it. The proxy listens on `ADDR` and forwards every
//! request (POST, GET, DELETE, and anything else: OAuth metadata, health checks) to
//! the upstream server's host, path and query unchanged, headers intact but for the
//! hop-by-hop ones and `Host` (the upstream's); answers come back as they stream (a
//! server-sent event stream is relayed event by event, never held to its end).
//!
//! Requests to the upstream URL's own path are MCP's endpoint, and observed: the body
//! of each POST (a message or a batch) before it goes on, and the answer as it comes
//! back (JSON whole; each event of an event stream as it completes). One observer per
//! session (`Mcp-Session-Id`, as the server assigned it in its `initialize` answer);
//! a request with no session (MCP 2026-07-28, or a server that keeps none) is a
//! conversation of its own. All of them share what the server advertised (its tools'
//! schemas). An exchange that ends without the answer to a request in it (the upstream
//! closed, answered an HTTP error, or the host went away) ends that request's span.

use super::sse::{Events, MAX_EVENT};
use super::telemetry::{HttpOwned, Telemetry};
use crate::signals;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use mcp_trace_runtime::wire::{Observer, Sender};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

/// Where to listen, and the server to relay to.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The address to listen on, `127.0.0.1:8080` (port 0: any free one, said on stderr).
    pub listen: String,
    /// The server's MCP endpoint, `http://127.0.0.1:3000/mcp`.
    pub upstream: String,
}

/// Sessions observed at once, at most: past it, the one idle longest is let go.
const MAX_SESSIONS: usize = 4096;
/// A session idle this long is let go (its requests still in flight end).
const SESSION_IDLE: Duration = Duration::from_secs(3600);
/// The longest request body observed: a longer one is relayed, not observed.
const MAX_OBSERVED_BODY: usize = MAX_EVENT;

/// The upstream server: where requests go.
#[derive(Debug)]
struct Upstream {
    /// `http://host:port`.
    origin: String,
    /// Its authority, the `Host` the requests carry.
    host: HeaderValue,
    /// Its MCP endpoint's path.
    path: String,
}

impl Upstream {
    fn parse(url: &str) -> Result<Upstream, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("--upstream {url}: not a URL ({e})"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "--upstream {url}: https is not supported; run the proxy beside the server and relay to its plain-HTTP address"
                ));
            }
            _ => return Err(format!("--upstream {url}: an http:// URL is needed")),
        }
        let Some(authority) = uri.authority() else {
            return Err(format!("--upstream {url}: no host"));
        };
        Ok(Upstream {
            origin: format!("http://{authority}"),
            host: HeaderValue::from_str(authority.as_str())
                .map_err(|_| format!("--upstream {url}: not a valid host"))?,
            path: uri.path().to_owned(),
        })
    }

    /// Where a request for `uri` goes: the same path and query, upstream.
    fn uri_for(&self, uri: &Uri) -> Option<Uri> {
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        format!("{}{path}", self.origin).parse().ok()
    }
}

/// Runs the proxy until SIGTERM or SIGINT; returns the exit status.
pub fn run_http(options: &HttpOptions) -> Result<u8, String> {
    let upstream = Upstream::parse(&options.upstream)?;
    signals::forward_from_now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    runtime.block_on(serve(&options.listen, upstream))
}

async fn serve(listen: &str, upstream: Upstream) -> Result<u8, String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    eprintln!(
        "mcp-trace proxy: listening on http://{address}{}, relaying to {}{}",
        upstream.path, upstream.origin, upstream.path
    );
    let fallback = upstream
        .host
        .to_str()
        .unwrap_or("mcp-server")
        .chars()
        .take(128)
        .collect();
    let proxy = Arc::new(Proxy {
        client: Client::builder(TokioExecutor::new()).build_http(),
        telemetry: Arc::new(Telemetry::new(fallback)),
        server: Observer::http(),
        sessions: Mutex::default(),
        exchanges: Mutex::default(),
        upstream,
    });
    while !signals::received() {
        // In slices, so that a signal is seen soon.
        let Ok(accepted) =
            tokio::time::timeout(Duration::from_millis(100), listener.accept()).await
        else {
            continue;
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let proxy = proxy.clone();
                async move { Ok::<_, Infallible>(proxy.handle(request, peer).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
    // Every conversation ends with the proxy (its requests still awaiting answers end
    // `transport_closed`); the spans are exported before it exits.
    let mut sessions: Vec<Arc<Observer>> = proxy
        .sessions()
        .drain()
        .map(|(_, session)| session.observer)
        .collect();
    let exchanges = std::mem::take(&mut *proxy.exchanges.lock().unwrap_or_else(|p| p.into_inner()));
    sessions.extend(exchanges.iter().filter_map(std::sync::Weak::upgrade));
    proxy.telemetry.finish(|| {
        for observer in sessions {
            observer.closed();
        }
    });
    Ok(0)
}

struct Proxy {
    upstream: Upstream,
    client: Client<HttpConnector, Relayed>,
    telemetry: Arc<Telemetry>,
    /// Holds what the server advertised, for every conversation with it; observes
    /// nothing itself.
    server: Observer,
    /// The conversations in a session, by the server's `Mcp-Session-Id`.
    sessions: Mutex<HashMap<String, Session>>,
    /// The conversations of one exchange each (no session) still open, for the proxy
    /// to end as it stops.
    exchanges: Mutex<Vec<std::sync::Weak<Observer>>>,
}

struct Session {
    observer: Arc<Observer>,
    used: Instant,
}

impl Proxy {
    fn sessions(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The conversation of session `id`; one this proxy did not see begin (it
    /// started since) is observed from here on.
    fn session(&self, id: &str) -> Arc<Observer> {
        let mut sessions = self.sessions();
        if let Some(session) = sessions.get_mut(id) {
            session.used = Instant::now();
            return session.observer.clone();
        }
        let observer = Arc::new(self.server.same_server());
        observer.in_session(id);
        self.begin(&mut sessions, id, observer.clone());
        observer
    }

    /// The conversation of an exchange with no session, noted so that the proxy can
    /// end it should it stop first.
    fn exchange(&self) -> Arc<Observer> {
        let observer = Arc::new(self.server.same_server());
        let mut open = self.exchanges.lock().unwrap_or_else(|p| p.into_inner());
        // The ones over since are let go of as the list doubles.
        if open.len() >= 64 && open.len().is_power_of_two() {
            open.retain(|o| o.strong_count() > 0);
        }
        open.push(Arc::downgrade(&observer));
        observer
    }

    /// Keeps `observer` as session `id`'s, letting go of idle sessions, and of the one
    /// idle longest when there are too many.
    fn begin(&self, sessions: &mut HashMap<String, Session>, id: &str, observer: Arc<Observer>) {
        let now = Instant::now();
        let idle: Vec<String> = sessions
            .iter()
            .filter(|(_, s)| now.duration_since(s.used) > SESSION_IDLE)
            .map(|(id, _)| id.clone())
            .collect();
        for id in idle {
            self.let_go(sessions.remove(&id));
        }
        if sessions.len() >= MAX_SESSIONS {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, s)| s.used)
                .map(|(id, _)| id.clone());
            if let Some(id) = oldest {
                self.let_go(sessions.remove(&id));
            }
        }
        sessions.insert(
            id.to_owned(),
            Session {
                observer,
                used: now,
            },
        );
    }

    fn let_go(&self, session: Option<Session>) {
        if let Some(session) = session {
            self.telemetry.then(move || session.observer.closed());
        }
    }

    async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Relayed> {
        let (mut parts, body) = request.into_parts();
        let Some(uri) = self.upstream.uri_for(&parts.uri) else {
            return plain(
                StatusCode::BAD_REQUEST,
                "mcp-trace proxy: not a valid path\n",
            );
        };
        let endpoint = parts.uri.path() == self.upstream.path;
        let session_id = text(&parts.headers, "mcp-session-id").map(str::to_owned);
        let method = parts.method.clone();
        let http = HttpOwned {
            traceparent: text(&parts.headers, "traceparent").map(str::to_owned),
            tracestate: text(&parts.headers, "tracestate")
                .filter(|v| v.len() <= 64 << 10)
                .map(str::to_owned),
            client: Some(peer),
        };
        parts.uri = uri;
        parts.version = hyper::Version::HTTP_11;
        without_hop_by_hop(&mut parts.headers);
        parts
            .headers
            .insert(header::HOST, self.upstream.host.clone());
        // The conversation this exchange is part of: its session's, else its own.
        let observer = endpoint.then(|| match &session_id {
            Some(id) => self.session(id),
            None => self.exchange(),
        });
        let mut own = endpoint && session_id.is_none();
        let mut carried = None;
        let body = match &observer {
            Some(observer) if method == Method::POST => match gather(body).await {
                Ok(Gathered::Whole(bytes)) => {
                    let at = SystemTime::now();
                    self.telemetry
                        .observe(observer, Sender::Client, &bytes, at, Some(http));
                    carried = Some(bytes.clone());
                    Relayed::whole(bytes)
                }
                Ok(Gathered::TooLong(first, rest)) => Relayed::chained(first, rest),
                Err(_) => {
                    return plain(
                        StatusCode::BAD_REQUEST,
                        "mcp-trace proxy: the request body broke off\n",
                    );
                }
            },
            _ => Relayed::stream(body, None),
        };
        let response = match self.client.request(Request::from_parts(parts, body)).await {
            Ok(response) => response,
            Err(_) => {
                if let Some(observer) = observer {
                    self.telemetry.then(move || {
                        if let Some(request) = carried {
                            observer.exchange_ended(&request, None);
                        }
                        if own {
                            observer.closed();
                        }
                    });
                }
                return plain(
                    StatusCode::BAD_GATEWAY,
                    "mcp-trace proxy: the upstream server could not be reached\n",
                );
            }
        };
        let (mut parts, body) = response.into_parts();
        let status = parts.status;
        let mut ended = None;
        if let Some(observer) = &observer {
            // The server gave the conversation a session: it lives on past this exchange.
            if own && let Some(assigned) = text(&parts.headers, "mcp-session-id") {
                observer.in_session(assigned);
                self.begin(&mut self.sessions(), assigned, observer.clone());
                own = false;
            }
            // The session is over (deleted, or unknown to the server): no request
            // joins it any more, and it ends with this exchange.
            if let Some(id) = &session_id
                && ((method == Method::DELETE && status.is_success())
                    || status == StatusCode::NOT_FOUND)
            {
                ended = self.sessions().remove(id).map(|s| s.observer);
            }
        }
        without_hop_by_hop(&mut parts.headers);
        let watch = observer.map(|observer| Watch {
            reading: Reading::of(&parts.headers),
            telemetry: self.telemetry.clone(),
            observer,
            carried,
            status: status.as_u16(),
            own: own || ended.is_some(),
            ended: false,
        });
        Response::from_parts(parts, Relayed::stream(body, watch))
    }
}

/// A header's value as text, when it is.
fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Headers about one hop (RFC 9110 §7.6.1), and those the `Connection` header names,
/// are not passed on.
fn without_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

/// An answer of the proxy's own (the upstream could not be reached).
fn plain(status: StatusCode, text: &'static str) -> Response<Relayed> {
    let mut response = Response::new(Relayed::whole(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A request body, read for observing.
enum Gathered {
    Whole(Bytes),
    /// Past [`MAX_OBSERVED_BODY`]: what was read, and the rest, to relay unobserved.
    TooLong(Bytes, Incoming),
}

async fn gather(mut body: Incoming) -> Result<Gathered, hyper::Error> {
    let mut kept = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            kept.extend_from_slice(&data);
            if kept.len() > MAX_OBSERVED_BODY {
                return Ok(Gathered::TooLong(kept.into(), body));
            }
        }
    }
    Ok(Gathered::Whole(kept.into()))
}

/// A body the proxy relays: bytes already read, then the rest as it streams, watched
/// when it is an answer of the MCP endpoint.
pub(crate) struct Relayed {
    first: Option<Bytes>,
    rest: Option<Incoming>,
    watch: Option<Watch>,
}

impl Relayed {
    fn whole(bytes: Bytes) -> Self {
        Relayed {
            first: Some(bytes),
            rest: None,
            watch: None,
        }
    }

    fn chained(first: Bytes, rest: Incoming) -> Self {
        Relayed {
            first: Some(first),
            rest: Some(rest),
            watch: None,
        }
    }

    fn stream(body: Incoming, watch: Option<Watch>) -> Self {
        Relayed {
            first: None,
            rest: Some(body),
            watch,
        }
    }

    fn ended(&mut self) {
        self.rest = None;
        if let Some(watch) = &mut self.watch {
            watch.end();
        }
    }
}

impl Body for Relayed {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        let Some(rest) = this.rest.as_mut() else {
            this.ended();
            return Poll::Ready(None);
        };
        match Pin::new(rest).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(watch)) = (frame.data_ref(), &mut this.watch) {
                    watch.chunk(data);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                this.ended();
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(None) => {
                this.ended();
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let first = self.first.as_ref().map_or(0, |b| b.len() as u64);
        match &self.rest {
            None => SizeHint::with_exact(first),
            Some(rest) => {
                let hint = rest.size_hint();
                let mut sum = SizeHint::new();
                sum.set_lower(hint.lower().saturating_add(first));
                if let Some(upper) = hint.upper() {
                    sum.set_upper(upper.saturating_add(first));
                }
                sum
            }
        }
    }
}

/// Watches an answer of the MCP endpoint go by, showing its messages to the observer.
struct Watch {
    reading: Reading,
    telemetry: Arc<Telemetry>,
    observer: Arc<Observer>,
    /// The request the exchange carried, as observed.
    carried: Option<Bytes>,
    status: u16,
    /// The conversation is this exchange alone (no session): it ends with it.
    own: bool,
    ended: bool,
}

/// How an answer's body is read.
enum Reading {
    /// `text/event-stream`: event by event.
    Events(Events),
    /// `application/json`: whole, up to [`MAX_OBSERVED_BODY`].
    Json {
        body: Vec<u8>,
        /// Its `Content-Length`: observed as soon as that much has come.
        length: Option<usize>,
        /// Shown to the observer, or too long to be.
        done: bool,
        /// Too long to be: it went by unread.
        unread: bool,
    },
    /// Anything else (an empty `202 Accepted`, an HTML error page): not read.
    Nothing,
}

impl Reading {
    fn of(headers: &HeaderMap) -> Reading {
        let kind = text(headers, "content-type").map(|t| {
            t.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
        match kind.as_deref() {
            Some("text/event-stream") => Reading::Events(Events::default()),
            Some("application/json") => Reading::Json {
                body: Vec::new(),
                length: text(headers, "content-length").and_then(|l| l.parse().ok()),
                done: false,
                unread: false,
            },
            _ => Reading::Nothing,
        }
    }
}

impl Watch {
    fn chunk(&mut self, data: &[u8]) {
        let (telemetry, observer) = (&self.telemetry, &self.observer);
        match &mut self.reading {
            Reading::Events(events) => events.feed(data, |message| {
                // An event with no data (a stream's first, to resume from) is no message.
                if !message.trim_ascii().is_empty() {
                    telemetry.observe(observer, Sender::Server, message, SystemTime::now(), None)
                }
            }),
            Reading::Json {
                body,
                length,
                done,
                unread,
            } if !*done => {
                if body.len() + data.len() > MAX_OBSERVED_BODY {
                    (*done, *unread) = (true, true);
                    *body = Vec::new();
                    return;
                }
                body.extend_from_slice(data);
                if *length == Some(body.len()) {
                    *done = true;
                    telemetry.observe(observer, Sender::Server, body, SystemTime::now(), None);
                    *body = Vec::new();
                }
            }
            _ => {}
        }
    }

    /// The answer is over (or the host went away before its end).
    fn end(&mut self) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let mut unread_answer = false;
        if let Reading::Json {
            body, done, unread, ..
        } = &mut self.reading
        {
            if !*done && !body.is_empty() {
                let body = std::mem::take(body);
                let at = SystemTime::now();
                self.telemetry
                    .observe(&self.observer, Sender::Server, &body, at, None);
            }
            unread_answer = *unread && (200..300).contains(&self.status);
        }
        let observer = self.observer.clone();
        let carried = self.carried.take();
        let (status, own) = (self.status, self.own);
        self.telemetry.then(move || {
            if let Some(request) = carried {
                // An answer too large to read came all the same: not a failure.
                match unread_answer {
                    true => observer.exchange_answered_unread(&request),
                    false => observer.exchange_ended(&request, Some(status)),
                }
            }
            if own {
                observer.closed();
            }
        });
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.end();
    }
}
