//! [`TracedTransport`]: any rmcp client transport, traced. The transport is the one
//! place that sees every request a client sends (`initialize` included, which rmcp
//! sends before any `Peer` exists) and every answer.

use super::options::ClientOptions;
use super::record::{CLOSED, Recorder};
use rmcp::service::{RoleClient, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::{IntoTransport, Transport};
use std::borrow::Cow;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

/// An rmcp client transport whose every request becomes a CLIENT span, with its trace
/// context in the request's `_meta` so the server's span is its child. Made by
/// [`traced`].
pub struct TracedTransport<T> {
    inner: T,
    recorder: Arc<Mutex<Recorder>>,
}

/// Wraps any transport rmcp's client accepts (a child process, streamable HTTP, a
/// `(reader, writer)` pair, a sink and stream): serve the client over the result
/// instead.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use rmcp::ServiceExt;
/// let _guard = mcp_trace_runtime::init();
/// # let (transport, _server) = tokio::io::duplex(4096);
/// let client = ().serve(mcp_trace_runtime::rmcp::client::traced(transport)).await?;
/// let tools = client.list_tools(None).await?;
/// # let _ = tools; Ok(()) }
/// ```
pub fn traced<T, E, A>(
    transport: T,
) -> TracedTransport<impl Transport<RoleClient, Error = E> + 'static>
where
    T: IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    TracedTransport {
        inner: transport.into_transport(),
        recorder: Arc::new(Mutex::new(Recorder::new(ClientOptions::default()))),
    }
}

impl<T> std::fmt::Debug for TracedTransport<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedTransport").finish_non_exhaustive()
    }
}

impl<T> TracedTransport<T> {
    /// The server's URI, for `server.address` and `server.port` (and
    /// `network.transport = tcp`): an HTTP transport does not tell its own.
    pub fn server_uri(self, uri: &str) -> Self {
        self.lock().options_mut().server = ClientOptions::server_of(uri);
        self
    }

    /// No `mcp.client.session` span around the client's requests: each request's
    /// span is then the child of the context it is sent in.
    pub fn without_session_span(self) -> Self {
        self.lock().options_mut().session_span = false;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Recorder> {
        lock(&self.recorder)
    }

    /// What records, shared with a [`TracedClient`](super::TracedClient).
    pub(crate) fn recorder(&self) -> Arc<Mutex<Recorder>> {
        Arc::clone(&self.recorder)
    }
}

pub(crate) fn lock(recorder: &Mutex<Recorder>) -> MutexGuard<'_, Recorder> {
    recorder
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `f` on the recorder, then ends what it finished once the lock is let go.
pub(crate) fn record<R>(recorder: &Mutex<Recorder>, f: impl FnOnce(&mut Recorder) -> R) -> R {
    let (result, done) = {
        let mut recorder = lock(recorder);
        let result = f(&mut recorder);
        (result, recorder.take_done())
    };
    for finish in done {
        finish.end();
    }
    result
}

impl<T: Transport<RoleClient> + 'static> Transport<RoleClient> for TracedTransport<T> {
    type Error = T::Error;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn send(
        &mut self,
        mut item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        // Synchronously, before the inner send: the span starts when rmcp hands the
        // request over, and the message leaves with its context.
        let key = record(&self.recorder, |r| r.on_send(&mut item));
        let sent = self.inner.send(item);
        let recorder = Arc::clone(&self.recorder);
        async move {
            let result = sent.await;
            if result.is_err()
                && let Some(key) = key
            {
                record(&recorder, |r| r.send_failed(&key));
            }
            result
        }
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleClient>>> + Send {
        // rmcp drops and makes again this future at every turn of its loop: the
        // message is looked at only once it has arrived.
        let recorder = Arc::clone(&self.recorder);
        let received = self.inner.receive();
        async move {
            let message = received.await;
            record(&recorder, |r| match &message {
                Some(message) => r.on_receive(message),
                // The server hung up before the client closed.
                None => r.on_closed(Some(CLOSED)),
            });
            message
        }
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        record(&self.recorder, |r| r.on_closed(None));
        self.inner.close()
    }
}

impl<T> Drop for TracedTransport<T> {
    fn drop(&mut self) {
        // A transport dropped without `close`: what is still open ends now.
        record(&self.recorder, |r| r.on_closed(None));
    }
}
