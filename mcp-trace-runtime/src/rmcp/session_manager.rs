//! [`TracedSessionManager`]: rmcp's streamable HTTP sessions, each served over a traced
//! transport.

use super::server_transport::TracedServerTransport;
use futures_core::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::ServerSseMessage;
use rmcp::transport::streamable_http_server::{RestoreOutcome, SessionId, SessionManager};
use std::future::Future;

/// Wraps an rmcp [`SessionManager`] (rmcp's `LocalSessionManager`, or your own) so that
/// every session's transport is a [`TracedServerTransport`]: over streamable HTTP, the
/// server's requests to the client are CLIENT spans under the span of the request being
/// served, and its progress and log notifications events on that span, as over
/// [`stdio`](super::stdio::stdio).
///
/// ```no_run
/// # #[derive(Clone, Default)] struct MyServer;
/// # impl rmcp::ServerHandler for MyServer {}
/// use mcp_trace_runtime::rmcp::adapter::TracedServer;
/// use mcp_trace_runtime::rmcp::session_manager::TracedSessionManager;
/// use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
/// use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
///
/// let service = StreamableHttpService::new(
///     || Ok(TracedServer::new(MyServer::default())),
///     TracedSessionManager::new(LocalSessionManager::default()).into(),
///     StreamableHttpServerConfig::default(),
/// );
/// # let _ = service;
/// ```
#[derive(Debug, Default)]
pub struct TracedSessionManager<M> {
    inner: M,
}

impl<M> TracedSessionManager<M> {
    pub fn new(inner: M) -> Self {
        Self { inner }
    }

    /// The wrapped session manager.
    pub fn inner(&self) -> &M {
        &self.inner
    }
}

impl<M: SessionManager> SessionManager for TracedSessionManager<M> {
    type Error = M::Error;
    type Transport = TracedServerTransport<M::Transport>;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let (id, transport) = self.inner.create_session().await?;
        Ok((id, TracedServerTransport::wrap(transport)))
    }

    fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> impl Future<Output = Result<ServerJsonRpcMessage, Self::Error>> + Send {
        self.inner.initialize_session(id, message)
    }

    fn has_session(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        self.inner.has_session(id)
    }

    fn close_session(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close_session(id)
    }

    fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> impl Future<
        Output = Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error>,
    > + Send {
        self.inner.create_stream(id, message)
    }

    fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.accept_message(id, message)
    }

    fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> impl Future<
        Output = Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error>,
    > + Send {
        self.inner.create_standalone_stream(id)
    }

    fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> impl Future<
        Output = Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error>,
    > + Send {
        self.inner.resume(id, last_event_id)
    }

    async fn restore_session(
        &self,
        id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        Ok(match self.inner.restore_session(id).await? {
            RestoreOutcome::Restored(transport) => {
                RestoreOutcome::Restored(TracedServerTransport::wrap(transport))
            }
            RestoreOutcome::AlreadyPresent => RestoreOutcome::AlreadyPresent,
            _ => RestoreOutcome::NotSupported,
        })
    }

    fn event_store(
        &self,
    ) -> Option<std::sync::Arc<dyn rmcp::transport::streamable_http_server::session::EventStore>>
    {
        self.inner.event_store()
    }
}
