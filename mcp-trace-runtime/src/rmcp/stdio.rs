//! [`stdio`]: rmcp's stdio transport, with every line that is not JSON answered and
//! recorded instead of silently dropped.
//!
//! rmcp's newline-delimited transport (`rmcp::transport::async_rw`, 3.9) drops three
//! kinds of input without a word to the client: a line over its 16 MiB limit, a line
//! serde_json cannot parse (invalid JSON or UTF-8, a lone surrogate escape, `NaN`, a
//! number out of `f64` range, nesting past serde_json's depth limit), and an
//! unterminated tail at end of input. A client that sent such a line waits forever and
//! the operator sees nothing. The wrapper here reads the lines before rmcp does: lines
//! rmcp can parse reach it byte for byte; the others never do, and instead get one span
//! and the JSON-RPC parse error reply.

use super::server_transport::{TracedServerTransport, traced_transport};
use crate::call::adapter;
use rmcp::service::RoleServer;
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest line accepted, its `\n` included, in bytes: rmcp's own limit for the
/// transport [`stdio`] feeds (`rmcp::transport::async_rw::DEFAULT_MAX_LINE_LENGTH`,
/// 16 MiB). A longer line is answered and recorded here; rmcp never sees any of it.
pub const MAX_LINE_LENGTH: usize = 16 * 1024 * 1024;

/// The JSON-RPC 2.0 reply to a message that is not JSON: `id` is `null`, since no id
/// can be read from it.
const PARSE_ERROR_REPLY: &[u8] =
    b"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}\n";

/// Bytes asked of stdin per read.
const CHUNK: usize = 64 * 1024;
/// A line buffer grown past this is given back once it is empty.
const SHRINK_ABOVE: usize = 1024 * 1024;
/// Rejected lines handled in one poll before the reader yields to the rest of the task.
const REJECTS_PER_POLL: usize = 64;

/// Replies owed at once before stdin is read further: a flood of bad lines into a slow
/// stdout waits for the replies to drain instead of queueing without end.
const MAX_OWED_REPLIES: u64 = 64;

/// rmcp's stdio transport (`rmcp::transport::stdio()`), answering and recording every
/// line that is not JSON. A drop-in replacement:
///
/// ```no_run
/// # #[derive(Clone)] struct MyServer;
/// # impl rmcp::ServerHandler for MyServer {}
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// use rmcp::ServiceExt;
/// let _guard = mcp_trace_runtime::init();
/// let server = mcp_trace_runtime::rmcp::adapter::TracedServer::new(MyServer)
///     .serve(mcp_trace_runtime::rmcp::stdio::stdio())
///     .await?;
/// server.waiting().await?;
/// # Ok(()) }
/// ```
///
/// # What changes
///
/// Every `\n`-terminated line on stdin is checked before rmcp reads it:
///
/// * A line serde_json can parse as a JSON value (after a UTF-8 byte order mark and a
///   `\r` before the `\n`, both of which rmcp strips too), and a blank line, reaches
///   rmcp unchanged. JSON that is not a JSON-RPC message is still rmcp's to answer
///   (`-32600`).
/// * Any other line — invalid JSON or UTF-8, a lone surrogate escape such as
///   `"\ud800"`, `NaN`, `1e400` (out of `f64` range, unless serde_json's
///   `arbitrary_precision` is on, for rmcp as well), nesting past serde_json's limit of
///   128 levels, a line
///   longer than [`MAX_LINE_LENGTH`] — never reaches rmcp (which would drop it without a
///   reply). Instead the client is answered
///   `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`
///   and one span is recorded.
///
/// When stdin closes, end of input reaches rmcp only once every owed reply is written;
/// while more than 64 replies are owed (a flood of bad lines into a slow stdout), stdin
/// is not read further.
///
/// Bytes after the last `\n` when stdin closes are passed on unchanged (rmcp drops an
/// unterminated tail), or dropped when they are already over the limit: there is no
/// one left to answer.
///
/// # The span
///
/// Kind SERVER, status unset (the conventions count `-32700` as the client's mistake,
/// not the server's failure, so there is no `error.type` either), parent the ambient
/// context. The MCP semantic conventions name a server span
/// `{mcp.method.name}` when there is no low-cardinality target, and make
/// `mcp.method.name` required; a line that is not JSON has no method. As the RPC
/// conventions do for a method the server does not recognise, the method is `_OTHER`,
/// so the span is named `_OTHER` — the name this crate already gives requests for
/// unknown methods. (The RPC conventions' other fallback, `{rpc.system.name}`, has no
/// MCP counterpart.) Its attributes, exactly:
///
/// | key | value |
/// |---|---|
/// | `mcp.method.name` | `_OTHER` |
/// | `rpc.response.status_code` | `-32700` |
/// | `network.transport` | `pipe` |
/// | `mcp.request.size` | the line's length in bytes, without its `\n` or `\r\n` |
///
/// No byte of the line is recorded, not even a prefix. The conventions define no
/// per-request size attribute; `mcp.request.size` follows the RPC convention's
/// `rpc.server.request.size` (the uncompressed size of a request message, in bytes).
/// There is no `jsonrpc.request.id` (the reply's id is `null`, which the conventions
/// say not to record) and no session id (the transport does not know it).
///
/// # The reply
///
/// The reply is written to stdout only between two of rmcp's messages, never inside
/// one: stdout is wrapped too, and a reply waits until the last byte rmcp wrote is a
/// `\n` (rmcp writes one compact JSON message per line, so a `\n` only ever ends a
/// message), and rmcp's next write waits until a reply that was started is complete.
/// The reader writes the reply itself as soon as stdout is at such a boundary, so it
/// goes out at once even when rmcp has nothing to write; a reply that had to wait goes
/// out with rmcp's next flush. A waiting reply costs a counter, not memory.
///
/// # Cost
///
/// A valid line costs one extra parse that allocates nothing beyond the escapes in its
/// strings (serde_json's `IgnoredAny` would not do: it accepts lone surrogates, numbers
/// out of range and any depth, all of which rmcp's parse rejects), and one extra copy.
/// A line is held whole until its `\n` (at most [`MAX_LINE_LENGTH`] bytes); past the
/// limit the rest of the line is read and counted, never kept. stdin is read in 64 KiB
/// chunks.
///
/// # The whole conversation
///
/// The transport is also a [`traced_transport`]: the server's own requests to the
/// client (elicitation, sampling, roots, ping) are CLIENT spans under the span of the
/// request being served, and the progress and log notifications it sends while serving
/// a request are events on that request's span.
pub fn stdio() -> TracedServerTransport<impl Transport<RoleServer, Error = io::Error> + 'static> {
    stdio_with(tokio::io::stdin(), tokio::io::stdout())
}

/// [`stdio`] over any pair of byte streams carrying newline-delimited JSON-RPC, such as
/// `rmcp::transport::stdio_pipes()` or a child process's pipes. Spans record
/// `network.transport = pipe`.
pub fn stdio_with<R, W>(
    read: R,
    write: W,
) -> TracedServerTransport<impl Transport<RoleServer, Error = io::Error> + 'static>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let (read, write) = pair(read, write, MAX_LINE_LENGTH);
    traced_transport(AsyncRwTransport::new_server(read, write))
}

fn pair<R, W>(read: R, write: W, max_line: usize) -> (TracedStdin<R, W>, TracedStdout<W>) {
    let wakers = Arc::new(Wakers::default());
    let out = Arc::new(Shared {
        state: Mutex::new(Output {
            inner: write,
            at_boundary: true,
            queued: 0,
            current: None,
            unflushed: false,
        }),
        waker: Waker::from(wakers.clone()),
        wakers,
    });
    let reader = TracedStdin {
        inner: read,
        lines: Lines::new(max_line),
        eof: false,
        backlogged: false,
        out: out.clone(),
    };
    (reader, TracedStdout { out })
}

/// The read half of [`stdio`]: stdin with the lines rmcp could not parse taken out.
pub struct TracedStdin<R = tokio::io::Stdin, W = tokio::io::Stdout> {
    inner: R,
    lines: Lines,
    eof: bool,
    /// `poll_lines` stopped because [`MAX_OWED_REPLIES`] replies are owed.
    backlogged: bool,
    out: Arc<Shared<W>>,
}

/// The write half of [`stdio`]: stdout, with parse error replies put between rmcp's
/// messages.
pub struct TracedStdout<W = tokio::io::Stdout> {
    out: Arc<Shared<W>>,
}

impl<R, W> fmt::Debug for TracedStdin<R, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sizes only: the buffer holds what the client sent.
        f.debug_struct("TracedStdin")
            .field("lines", &self.lines)
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

impl<W> fmt::Debug for TracedStdout<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.out.lock();
        f.debug_struct("TracedStdout")
            .field("at_boundary", &state.at_boundary)
            .field("queued_replies", &state.queued)
            .finish_non_exhaustive()
    }
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> TracedStdin<R, W> {
    fn poll_lines(&mut self, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let mut rejected = 0;
        loop {
            if self.lines.has_released() {
                self.lines.take(out);
                return Poll::Ready(Ok(()));
            }
            if self.eof {
                return Poll::Ready(Ok(()));
            }
            match self.lines.next(parses) {
                Event::Released => continue,
                Event::Rejected { size } | Event::Oversized { size } => {
                    if self.reject(size) >= MAX_OWED_REPLIES {
                        self.backlogged = true;
                        return Poll::Pending;
                    }
                    rejected += 1;
                    if rejected >= REJECTS_PER_POLL {
                        // A flood of garbage must not hold the task: come back soon.
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    continue;
                }
                Event::NeedInput => {}
            }
            let spare = self.lines.spare();
            let mut read = ReadBuf::new(spare);
            match Pin::new(&mut self.inner).poll_read(cx, &mut read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    let n = read.filled().len();
                    if n == 0 {
                        self.lines.finish();
                        self.eof = true;
                    } else {
                        self.lines.advance(n);
                    }
                }
            }
        }
    }

    /// One line rmcp will never see: its span, and a reply for the client. Returns
    /// how many replies are now owed.
    fn reject(&mut self, size: u64) -> u64 {
        adapter::parse_error_span(size, crate::scope::Transport::Pipe);
        // metrics: issue 9
        let mut state = self.out.lock();
        state.queued = state.queued.saturating_add(1);
        state.queued
    }
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> AsyncRead for TracedStdin<R, W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let (result, drained) = loop {
            let result = this.poll_lines(cx, buf);
            // Replies go out from here too, so they never wait on rmcp writing something.
            let drained = this.out.write_replies_from_reader(cx);
            // Held back by owed replies that are now written: read on. Otherwise the
            // reader is woken when stdout drains them.
            if std::mem::take(&mut this.backlogged) && drained {
                continue;
            }
            break (result, drained);
        };
        if this.eof
            && !drained
            && buf.filled().len() == before
            && matches!(result, Poll::Ready(Ok(())))
        {
            return Poll::Pending;
        }
        result
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for TracedStdout<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let shared = &*self.out;
        let mut state = shared.lock();
        shared.wakers.register(WRITER, cx);
        let mut cx = Context::from_waker(&shared.waker);
        // A reply due at this boundary (or one already started) goes first, whole.
        std::task::ready!(state.poll_replies(&mut cx))?;
        let n = std::task::ready!(Pin::new(&mut state.inner).poll_write(&mut cx, buf))?;
        if let Some(&last) = n.checked_sub(1).and_then(|i| buf.get(i)) {
            state.at_boundary = last == b'\n';
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shared = &*self.out;
        let mut state = shared.lock();
        shared.wakers.register(WRITER, cx);
        let mut cx = Context::from_waker(&shared.waker);
        std::task::ready!(state.poll_replies(&mut cx))?;
        std::task::ready!(Pin::new(&mut state.inner).poll_flush(&mut cx))?;
        if std::mem::take(&mut state.unflushed) {
            // A reader holding back end of input for these replies can go on.
            shared.waker.wake_by_ref();
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shared = &*self.out;
        let mut state = shared.lock();
        shared.wakers.register(WRITER, cx);
        let mut cx = Context::from_waker(&shared.waker);
        std::task::ready!(state.poll_replies(&mut cx))?;
        Pin::new(&mut state.inner).poll_shutdown(&mut cx)
    }
}

/// stdout and what is owed to the client, shared by both halves.
struct Shared<W> {
    state: Mutex<Output<W>>,
    wakers: Arc<Wakers>,
    /// Wakes both halves: stdout is polled by either, and each must hear of progress.
    waker: Waker,
}

struct Output<W> {
    inner: W,
    /// Whether the last byte rmcp wrote ended a line (true before it wrote anything).
    at_boundary: bool,
    /// Replies owed, not started.
    queued: u64,
    /// Bytes written of the reply being written.
    current: Option<usize>,
    /// A reply was written and not flushed yet.
    unflushed: bool,
}

impl<W> Shared<W> {
    fn lock(&self) -> MutexGuard<'_, Output<W>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<W: AsyncWrite + Unpin> Shared<W> {
    /// Writes and flushes owed replies when stdout is between two of rmcp's messages.
    /// Never waits: what cannot be written now is written by a later poll of either
    /// half (both are woken when stdout can take more).
    fn write_replies_from_reader(&self, cx: &mut Context<'_>) -> bool {
        let mut state = self.lock();
        let owed = state.queued > 0 || state.current.is_some() || state.unflushed;
        if !owed {
            return true;
        }
        self.wakers.register(READER, cx);
        if !state.at_boundary {
            return false;
        }
        let mut cx = Context::from_waker(&self.waker);
        match state.poll_replies(&mut cx) {
            Poll::Pending => return false,
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) => {
                // stdout is gone: nobody is left to answer; rmcp sees the error itself.
                state.queued = 0;
                state.current = None;
                state.unflushed = false;
                return true;
            }
        }
        if state.unflushed {
            match Pin::new(&mut state.inner).poll_flush(&mut cx) {
                Poll::Pending => {}
                Poll::Ready(_) => state.unflushed = false,
            }
        }
        !state.unflushed
    }
}

impl<W: AsyncWrite + Unpin> Output<W> {
    /// Writes owed replies, whole, if rmcp's output is at a line boundary. Ready when
    /// none is left half-written; nothing is started when not at a boundary.
    fn poll_replies(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A reply is started only at a boundary, and rmcp writes nothing until it is
        // complete, so `current` is never set away from one.
        while self.at_boundary {
            let done = match self.current {
                Some(done) => done,
                None if self.queued > 0 => {
                    self.queued -= 1;
                    0
                }
                None => break,
            };
            self.current = Some(done);
            let rest = PARSE_ERROR_REPLY.get(done..).unwrap_or_default();
            let n = std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, rest))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            let done = done.saturating_add(n);
            if done >= PARSE_ERROR_REPLY.len() {
                self.current = None;
                self.unflushed = true;
            } else {
                self.current = Some(done);
            }
        }
        Poll::Ready(Ok(()))
    }
}

const READER: usize = 0;
const WRITER: usize = 1;

/// The wakers of the reader's and the writer's last polls of stdout.
#[derive(Default)]
struct Wakers {
    slots: Mutex<[Option<Waker>; 2]>,
}

impl Wakers {
    fn register(&self, slot: usize, cx: &Context<'_>) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = slots.get_mut(slot) {
            match entry {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => *entry = Some(cx.waker().clone()),
            }
        }
    }
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let taken = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            [slots[0].take(), slots[1].take()]
        };
        for waker in taken.into_iter().flatten() {
            waker.wake();
        }
    }
}

/// Whether rmcp can parse the line (`\n` included) as JSON: it strips the `\n`, a `\r`
/// before it and a UTF-8 byte order mark, skips a line that is then empty, and parses
/// the rest with serde_json. A line of JSON whitespace only is passed on as blank
/// (rmcp ignores it without a reply).
fn parses(line: &[u8]) -> bool {
    let body = content(line);
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    if body
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        return true;
    }
    serde_json::from_slice::<Json>(body).is_ok()
}

/// The line without its `\n` or `\r\n`.
fn content(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Any JSON value, checked as serde_json checks a `Value` (strings decoded and
/// UTF-8-checked, numbers in range, depth limited) without building one.
struct Json;

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Json, E> {
        Ok(Json)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Json, E> {
        Ok(Json)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Json, E> {
        Ok(Json)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Json, E> {
        Ok(Json)
    }

    fn visit_str<E>(self, _: &str) -> Result<Json, E> {
        Ok(Json)
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        while seq.next_element::<Json>()?.is_some() {}
        Ok(Json)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        while map.next_entry::<Json, Json>()?.is_some() {}
        Ok(Json)
    }
}

/// What [`Lines::next`] found in the buffered input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// A whole line was kept: [`Lines::take`] hands it out.
    Released,
    /// A whole line was refused and dropped; `size` is its length without `\n`/`\r\n`.
    Rejected { size: u64 },
    /// The rest of a line over the limit has been read past and dropped.
    Oversized { size: u64 },
    /// Nothing more to decide: read into [`Lines::spare`].
    NeedInput,
}

/// Splits input into `\n`-terminated lines, holding at most one line (at most `max`
/// bytes, its `\n` included) plus one read: a longer line is read past and counted.
struct Lines {
    /// Initialized storage; the input is `buf[head..filled]`.
    buf: Vec<u8>,
    head: usize,
    filled: usize,
    /// `buf[head..scanned]` holds no `\n`.
    scanned: usize,
    /// `buf[head..released]` is a kept line not yet handed out.
    released: usize,
    max: usize,
    discard: Option<Discard>,
}

/// A line over the limit being read past.
#[derive(Debug, Clone, Copy)]
struct Discard {
    /// Bytes so far, excluding the `\n`.
    size: u64,
    /// Whether the last byte so far was `\r`.
    cr: bool,
}

impl fmt::Debug for Lines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines")
            .field("buffered", &(self.filled - self.head))
            .field("capacity", &self.buf.len())
            .field("max", &self.max)
            .field("discarding", &self.discard.map(|d| d.size))
            .finish()
    }
}

impl Lines {
    fn new(max: usize) -> Self {
        Lines {
            buf: Vec::new(),
            head: 0,
            filled: 0,
            scanned: 0,
            released: 0,
            max,
            discard: None,
        }
    }

    fn has_released(&self) -> bool {
        self.released > self.head
    }

    /// Hands out as much of the kept line as fits.
    fn take(&mut self, out: &mut ReadBuf<'_>) {
        let n = (self.released - self.head).min(out.remaining());
        out.put_slice(&self.buf[self.head..self.head + n]);
        self.head += n;
    }

    /// Looks at the buffered input: the next whole line, kept when `keep` says so,
    /// else dropped; or the end of a line over the limit; or nothing decidable.
    fn next(&mut self, keep: impl FnOnce(&[u8]) -> bool) -> Event {
        debug_assert!(!self.has_released());
        if let Some(discard) = &mut self.discard {
            let window = &self.buf[self.head..self.filled];
            let newline = window.iter().position(|&b| b == b'\n');
            let before = &window[..newline.unwrap_or(window.len())];
            discard.size = discard.size.saturating_add(before.len() as u64);
            if let Some(&last) = before.last() {
                discard.cr = last == b'\r';
            }
            let Some(i) = newline else {
                self.head = self.filled;
                self.scanned = self.filled;
                return Event::NeedInput;
            };
            let size = discard.size.saturating_sub(u64::from(discard.cr));
            self.discard = None;
            self.head += i + 1;
            self.scanned = self.head;
            return Event::Oversized { size };
        }
        let newline = self.buf[self.scanned..self.filled]
            .iter()
            .position(|&b| b == b'\n');
        let Some(i) = newline else {
            self.scanned = self.filled;
            let partial = &self.buf[self.head..self.filled];
            // Even a `\n` next would make the line longer than the limit.
            if partial.len() >= self.max {
                self.discard = Some(Discard {
                    size: partial.len() as u64,
                    cr: partial.last() == Some(&b'\r'),
                });
                self.head = self.filled;
            }
            return Event::NeedInput;
        };
        let end = self.scanned + i + 1;
        self.scanned = end;
        let line = &self.buf[self.head..end];
        let size = content(line).len() as u64;
        if line.len() > self.max {
            // Reads are capped so this cannot happen; if it did, the line is still over.
            self.head = end;
            return Event::Oversized { size };
        }
        if keep(line) {
            self.released = end;
            Event::Released
        } else {
            self.head = end;
            Event::Rejected { size }
        }
    }

    /// Room to read into, after everything buffered was decided on: at most one read,
    /// and never more than the limit of the line being read.
    fn spare(&mut self) -> &mut [u8] {
        debug_assert!(!self.has_released());
        if self.head == self.filled {
            self.head = 0;
            self.filled = 0;
            if self.buf.len() > SHRINK_ABOVE {
                self.buf.truncate(CHUNK);
                self.buf.shrink_to_fit();
            }
        } else if self.head > 0 {
            self.buf.copy_within(self.head..self.filled, 0);
            self.filled -= self.head;
            self.head = 0;
        }
        self.scanned = self.filled;
        self.released = 0;
        let room = if self.discard.is_some() {
            CHUNK
        } else {
            CHUNK.min(self.max.saturating_sub(self.filled)).max(1)
        };
        let end = self.filled + room;
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        &mut self.buf[self.filled..end]
    }

    /// `n` bytes were read into [`Lines::spare`].
    fn advance(&mut self, n: usize) {
        self.filled = (self.filled + n).min(self.buf.len());
    }

    /// End of input: an unterminated tail is handed out as it is (rmcp drops it), or
    /// dropped when it is over the limit already.
    fn finish(&mut self) {
        if self.discard.take().is_some() {
            self.head = self.filled;
        } else {
            self.released = self.filled;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Hands out what is kept, and decides on the rest of what is buffered.
    fn drain(
        lines: &mut Lines,
        keep: fn(&[u8]) -> bool,
        kept: &mut Vec<u8>,
        events: &mut Vec<Event>,
    ) {
        loop {
            while lines.has_released() {
                let mut out = [0u8; 7];
                let mut buf = ReadBuf::new(&mut out);
                lines.take(&mut buf);
                kept.extend_from_slice(buf.filled());
            }
            match lines.next(keep) {
                Event::Released => {}
                Event::NeedInput => return,
                event => events.push(event),
            }
        }
    }

    /// Feeds `chunks` through a splitter as the reader does, keeping what `keep`
    /// keeps: the kept bytes, and the events other than `Released`, in order. Checks
    /// that the buffer never holds more than one read or one line's limit.
    fn split(max: usize, chunks: &[&[u8]], keep: fn(&[u8]) -> bool) -> (Vec<u8>, Vec<Event>) {
        let mut lines = Lines::new(max);
        let (mut kept, mut events) = (Vec::new(), Vec::new());
        for chunk in chunks {
            let mut rest = *chunk;
            while !rest.is_empty() {
                let spare = lines.spare();
                assert!(!spare.is_empty());
                let n = spare.len().min(rest.len());
                spare[..n].copy_from_slice(&rest[..n]);
                lines.advance(n);
                rest = &rest[n..];
                assert!(lines.buf.len() <= CHUNK.max(max), "{}", lines.buf.len());
                drain(&mut lines, keep, &mut kept, &mut events);
            }
        }
        lines.finish();
        drain(&mut lines, keep, &mut kept, &mut events);
        (kept, events)
    }

    fn all(_: &[u8]) -> bool {
        true
    }

    fn no_x(line: &[u8]) -> bool {
        !line.contains(&b'x')
    }

    #[test]
    fn lines_split_across_reads_byte_by_byte() {
        let input = b"{\"a\":1}\n[2]\r\n\n3\n";
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let (kept, events) = split(1024, &bytes, all);
        assert_eq!(kept, input);
        assert!(events.is_empty());
        let (kept, _) = split(1024, &[&input[..5], &input[5..12], &input[12..]], all);
        assert_eq!(kept, input);
    }

    #[test]
    fn rejected_lines_are_dropped_with_their_size_crlf_excluded() {
        let input: &[&[u8]] = &[b"ok\nxx\nalso ok\r\nxxx\r\n\n\r\nx", b"y\nlast\n"];
        let (kept, events) = split(1024, input, no_x);
        assert_eq!(kept, b"ok\nalso ok\r\n\n\r\nlast\n");
        assert_eq!(
            events,
            [
                Event::Rejected { size: 2 },
                Event::Rejected { size: 3 },
                Event::Rejected { size: 2 },
            ]
        );
    }

    #[test]
    fn empty_lines_pass_through() {
        let (kept, events) = split(4, &[b"\n\n\r\n", b"\n"], no_x);
        assert_eq!(kept, b"\n\n\r\n\n");
        assert!(events.is_empty());
    }

    #[test]
    fn the_limit_counts_the_newline_as_rmcp_does() {
        // max 8: 7 bytes + `\n` fit; 8 bytes + `\n` do not.
        let (kept, events) = split(8, &[b"1234567\n12345678\nabc\n"], all);
        assert_eq!(kept, b"1234567\nabc\n");
        assert_eq!(events, [Event::Oversized { size: 8 }]);
    }

    #[test]
    fn over_long_lines_are_counted_across_reads_in_bounded_memory() {
        let mut long = vec![b'a'; 10_000];
        long.extend_from_slice(b"\r\nnext\n");
        let chunks: Vec<&[u8]> = long.chunks(333).collect();
        let (kept, events) = split(100, &chunks, all);
        assert_eq!(kept, b"next\n");
        assert_eq!(events, [Event::Oversized { size: 10_000 }]);
        // A `\r` that ends one read and a `\n` that starts the next.
        let (_, events) = split(4, &[b"abcdef\r", b"\nok\n"], all);
        assert_eq!(events, [Event::Oversized { size: 6 }]);
        // A line over the limit that ends at the end of the input is dropped.
        let (kept, events) = split(4, &[b"ok\nabcdef"], all);
        assert_eq!(
            (kept.as_slice(), events.as_slice()),
            (&b"ok\n"[..], &[][..])
        );
    }

    #[test]
    fn an_unterminated_tail_is_passed_on_as_is() {
        let (kept, events) = split(64, &[b"{\"a\":1}\n{\"b\""], no_x);
        assert_eq!(kept, b"{\"a\":1}\n{\"b\"");
        assert!(events.is_empty());
    }

    #[test]
    fn what_parses_is_what_serde_json_parses_as_a_value() {
        for ok in [
            &b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n"[..],
            b"\xEF\xBB\xBF{\"a\":[1,2.5,-3,true,null,\"\\ud83d\\ude00\"]}\r\n",
            b"  42  \n",
            b"\n",
            b"   \t\r\n",
            b"\xEF\xBB\xBF\n",
            b"{\"a\":1e308}\n",
        ] {
            assert!(parses(ok), "{}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b"not json {{{\n"[..],
            b"{\"a\":\"\xff\xfe\"}\n",
            b"\xff\n",
            b"{\"a\":\"\\ud800\"}\n",
            b"\"\\udc00x\"\n",
            b"{\"a\":NaN}\n",
            b"NaN\n",
            b"{\"a\":1e400}\n",
            b"-1e400\n",
            b"{\"a\":1}{\"b\":2}\n",
            b"{\"a\":1,}\n",
            b"\"unterminated\n",
        ] {
            assert!(!parses(bad), "{}", String::from_utf8_lossy(bad));
            assert!(serde_json::from_slice::<serde_json::Value>(content(bad)).is_err());
        }
        // Depth: the same verdict as serde_json's `Value`, either side of its limit.
        for depth in 120..136 {
            let line = format!("{}{}\n", "[".repeat(depth), "]".repeat(depth));
            let value = serde_json::from_str::<serde_json::Value>(line.trim_end()).is_ok();
            assert_eq!(parses(line.as_bytes()), value, "depth {depth}");
        }
        assert!(!parses(
            format!("{}{}\n", "[".repeat(129), "]".repeat(129)).as_bytes()
        ));
        // Why not `IgnoredAny`: it accepts what rmcp's parse rejects.
        for lax in [&b"\"\\ud800\""[..], b"1e400", &[b'['; 200][..]] {
            let mut line = lax.to_vec();
            if lax[0] == b'[' {
                line.extend_from_slice(&[b']'; 200]);
            }
            assert!(serde_json::from_slice::<serde::de::IgnoredAny>(&line).is_ok());
            assert!(!parses(&line));
        }
    }

    // ---- the two halves over mock streams, polled by hand ----

    /// Input in chunks, then `Pending` (or the end, once `closed`).
    struct MockIn {
        chunks: VecDeque<Vec<u8>>,
        closed: bool,
    }

    impl AsyncRead for MockIn {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let Some(mut chunk) = self.chunks.pop_front() else {
                return if self.closed {
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Pending
                };
            };
            let n = chunk.len().min(buf.remaining());
            buf.put_slice(&chunk[..n]);
            if n < chunk.len() {
                self.chunks.push_front(chunk.split_off(n));
            }
            Poll::Ready(Ok(()))
        }
    }

    /// Output taking at most `per_write` bytes a call, and answering every other call
    /// with `Pending` when `stall` is set (waking at once).
    struct MockOut {
        written: Arc<Mutex<Vec<u8>>>,
        per_write: usize,
        stall: bool,
        calls: Arc<AtomicUsize>,
    }

    impl AsyncWrite for MockOut {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            if self.stall && call.is_multiple_of(2) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let n = buf.len().min(self.per_write);
            self.written.lock().unwrap().extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    type Mocked = (
        TracedStdin<MockIn, MockOut>,
        TracedStdout<MockOut>,
        Arc<Mutex<Vec<u8>>>,
    );

    fn mock(chunks: &[&[u8]], per_write: usize, stall: bool) -> Mocked {
        let written = Arc::new(Mutex::new(Vec::new()));
        let input = MockIn {
            chunks: chunks.iter().map(|c| c.to_vec()).collect(),
            closed: false,
        };
        let output = MockOut {
            written: written.clone(),
            per_write,
            stall,
            calls: Arc::new(AtomicUsize::new(0)),
        };
        let (r, w) = pair(input, output, 64);
        (r, w, written)
    }

    /// Reads until the reader has nothing more right now.
    fn read_available(reader: &mut TracedStdin<MockIn, MockOut>) -> Vec<u8> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut got = Vec::new();
        for _ in 0..1000 {
            let mut out = [0u8; 5];
            let mut buf = ReadBuf::new(&mut out);
            match Pin::new(&mut *reader).poll_read(&mut cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => break,
                Poll::Ready(Ok(())) => got.extend_from_slice(buf.filled()),
                Poll::Ready(Err(e)) => panic!("{e}"),
                // Pending with input left is the reader yielding after a flood.
                Poll::Pending
                    if reader.inner.chunks.is_empty()
                        && reader.lines.filled == reader.lines.head =>
                {
                    break;
                }
                Poll::Pending => {}
            }
        }
        got
    }

    /// Writes all of `bytes` as rmcp would (retrying on `Pending`), then flushes.
    fn write_all(writer: &mut TracedStdout<MockOut>, mut bytes: &[u8], flush: bool) {
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..10_000 {
            if bytes.is_empty() {
                break;
            }
            if let Poll::Ready(result) = Pin::new(&mut *writer).poll_write(&mut cx, bytes) {
                bytes = &bytes[result.unwrap()..];
            }
        }
        assert!(bytes.is_empty());
        while flush && Pin::new(&mut *writer).poll_flush(&mut cx).is_pending() {}
    }

    const REPLY: &str = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}\n";

    #[test]
    fn a_reply_goes_out_from_the_reader_when_rmcp_writes_nothing() {
        let (mut reader, _writer, written) = mock(&[b"{\"ok\":1}\nnot json\n[2]\n"], 1000, false);
        assert_eq!(read_available(&mut reader), b"{\"ok\":1}\n[2]\n");
        assert_eq!(
            String::from_utf8(written.lock().unwrap().clone()).unwrap(),
            REPLY
        );
    }

    #[test]
    fn a_reply_waits_for_the_end_of_rmcp_s_message_and_never_splits_one() {
        for (per_write, stall) in [(1000, false), (3, false), (7, true), (1, true)] {
            let (mut reader, mut writer, written) =
                mock(&[b"bad 1\n", b"bad 2\n"], per_write, stall);
            // rmcp is half-way through a message.
            write_all(&mut writer, b"{\"jsonrpc\":\"2.0\",", false);
            // Two bad lines arrive: nothing may be injected mid-message.
            read_available(&mut reader);
            read_available(&mut reader);
            assert_eq!(written.lock().unwrap().as_slice(), b"{\"jsonrpc\":\"2.0\",");
            // rmcp ends its message and flushes: the replies follow it, whole.
            write_all(&mut writer, b"\"id\":1,\"result\":{}}\n", true);
            // And rmcp's next message comes after them.
            write_all(
                &mut writer,
                b"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}\n",
                true,
            );
            let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
            let expected = format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{{}}}}\n{REPLY}{REPLY}{{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{{}}}}\n"
            );
            assert_eq!(text, expected, "per_write {per_write}, stall {stall}");
        }
    }

    #[test]
    fn a_reply_started_by_the_reader_is_finished_before_rmcp_writes() {
        // One byte a write, stalling every other call: the reader gets a reply going
        // and cannot finish it; rmcp's write must finish it first.
        let (mut reader, mut writer, written) = mock(&[b"bad\n"], 1, true);
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..4 {
            let mut out = [0u8; 8];
            let _ = Pin::new(&mut reader).poll_read(&mut cx, &mut ReadBuf::new(&mut out));
        }
        let partial = written.lock().unwrap().len();
        assert!(partial > 0 && partial < REPLY.len(), "{partial}");
        write_all(&mut writer, b"{\"id\":1}\n", true);
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        assert_eq!(text, format!("{REPLY}{{\"id\":1}}\n"));
    }

    #[test]
    fn over_long_lines_get_one_reply_and_the_next_line_passes() {
        let long = vec![b'7'; 1000];
        let (mut reader, _writer, written) = mock(&[&long, b"\n{\"ok\":true}\n"], 1000, false);
        assert_eq!(read_available(&mut reader), b"{\"ok\":true}\n");
        assert_eq!(
            String::from_utf8(written.lock().unwrap().clone()).unwrap(),
            REPLY
        );
    }

    #[test]
    fn a_flood_of_bad_lines_yields_and_is_answered_in_full() {
        let flood = "x\n".repeat(1000);
        let (mut reader, mut writer, written) = mock(&[flood.as_bytes()], 1 << 20, false);
        read_available(&mut reader);
        write_all(&mut writer, b"", true);
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        assert_eq!(text, REPLY.repeat(1000));
    }

    #[test]
    fn end_of_input_is_end_of_input() {
        let (mut reader, _writer, _) = mock(&[b"[1]\n[2"], 1000, false);
        reader.inner.closed = true;
        assert_eq!(read_available(&mut reader), b"[1]\n[2");
        let mut cx = Context::from_waker(Waker::noop());
        let mut out = [0u8; 4];
        let mut buf = ReadBuf::new(&mut out);
        assert!(matches!(
            Pin::new(&mut reader).poll_read(&mut cx, &mut buf),
            Poll::Ready(Ok(()))
        ));
        assert!(buf.filled().is_empty());
    }
}
