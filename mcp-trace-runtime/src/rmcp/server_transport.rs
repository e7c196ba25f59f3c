//! [`TracedServerTransport`]: any rmcp server transport, with what the server sends
//! its client observed. The transport is the one place that sees the server's own
//! requests to the client (rmcp's `Peer` sends them from its own task) and the answers
//! to them.

use super::support::{answer_key, request_key};
use crate::observe::notification::TokenKind;
use crate::observe::outbound::{self, Answer, MetaContext};
use crate::observe::{Connection, ConnectionHandle, RequestKey};
use rmcp::model::{
    ClientJsonRpcMessage, ClientNotification, ClientResult, GetExtensions, GetMeta, JsonRpcMessage,
    NumberOrString, ServerJsonRpcMessage, ServerNotification,
};
use rmcp::service::{OriginatingRequestId, RequestHandle, RoleServer};
use rmcp::transport::{IntoTransport, Transport};
use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

/// An rmcp server transport that observes the conversation both ways: the server's
/// requests to the client (`elicitation/create`, `sampling/createMessage`,
/// `roots/list`, `ping`) become CLIENT spans under the span of the request being
/// served, with their context in `_meta` so a traced client continues the trace; the
/// progress and log notifications it sends while serving a request become events on
/// that request's span. Made by [`traced_transport`]; [`stdio`](super::stdio::stdio)
/// is one already.
pub struct TracedServerTransport<T> {
    inner: T,
    connection: Arc<Connection>,
}

/// Wraps any transport an rmcp server is served over. Serve a
/// [`TracedServer`](super::adapter::TracedServer) over the result:
///
/// ```no_run
/// # #[derive(Clone)] struct MyServer;
/// # impl rmcp::ServerHandler for MyServer {}
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// use rmcp::ServiceExt;
/// let _guard = mcp_trace_runtime::init();
/// # let (transport, _client) = tokio::io::duplex(4096);
/// let server = mcp_trace_runtime::rmcp::adapter::TracedServer::new(MyServer)
///     .serve(mcp_trace_runtime::rmcp::server_transport::traced_transport(transport))
///     .await?;
/// server.waiting().await?;
/// # Ok(()) }
/// ```
pub fn traced_transport<T, E, A>(
    transport: T,
) -> TracedServerTransport<impl Transport<RoleServer, Error = E> + 'static>
where
    T: IntoTransport<RoleServer, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    TracedServerTransport::wrap(transport.into_transport())
}

impl<T> TracedServerTransport<T> {
    /// `transport`, already an rmcp transport, traced.
    pub(crate) fn wrap(transport: T) -> Self {
        TracedServerTransport {
            inner: transport,
            connection: Arc::default(),
        }
    }
}

impl<T> std::fmt::Debug for TracedServerTransport<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedServerTransport")
            .finish_non_exhaustive()
    }
}

/// rmcp's reasons for the cancellation it sends when its own request times out.
fn timed_out(reason: Option<&str>) -> bool {
    matches!(
        reason,
        Some(RequestHandle::<RoleServer>::REQUEST_TIMEOUT_REASON)
            | Some(RequestHandle::<RoleServer>::REQUEST_MAX_TOTAL_TIMEOUT_REASON)
    )
}

/// A log level as the specification writes it.
#[allow(deprecated)]
fn level_name(level: rmcp::model::LoggingLevel) -> &'static str {
    use rmcp::model::LoggingLevel;
    match level {
        LoggingLevel::Debug => "debug",
        LoggingLevel::Info => "info",
        LoggingLevel::Notice => "notice",
        LoggingLevel::Warning => "warning",
        LoggingLevel::Error => "error",
        LoggingLevel::Critical => "critical",
        LoggingLevel::Alert => "alert",
        LoggingLevel::Emergency => "emergency",
    }
}

/// Writes `context` into a `_meta` object, over any trace context there.
fn inject(meta: &mut rmcp::model::MetaObject, context: MetaContext) {
    super::support::write_trace_context(meta, context);
}

/// What the server sends: its requests start their spans (the returned key, for a
/// send that fails), its notifications become events. Nothing is changed but the trace
/// context in the `_meta` of what is observed.
#[allow(deprecated)]
fn on_send(connection: &Connection, message: &mut ServerJsonRpcMessage) -> Option<RequestKey> {
    match message {
        JsonRpcMessage::Request(request) => {
            // rmcp's own ids for what it sends are numbers: the key answers find.
            let key = answer_key(connection, &request.id);
            let originating = request
                .request
                .extensions()
                .get::<OriginatingRequestId>()
                .map(|origin| request_key(connection, &origin.0));
            let id = request.id.to_string();
            let method = super::support::server_request_method(&request.request).to_owned();
            let context = connection.request_sent(key, &id, &method, originating)?;
            inject(request.request.get_meta_mut(), context);
            Some(key)
        }
        JsonRpcMessage::Notification(notification) => {
            // Delivered on a subscription stream: counted on the `subscriptions/listen`
            // request it belongs to. Not its acknowledgement, which rmcp sends before the
            // request's handler starts (whether it goes out before would be a race).
            let acknowledged = matches!(
                notification.notification,
                ServerNotification::SubscriptionsAcknowledgedNotification(_)
            );
            if !acknowledged
                && let Some(id) = notification.notification.get_meta().subscription_id()
            {
                connection.delivered_on(request_key(connection, &id));
            }
            match &mut notification.notification {
                ServerNotification::ProgressNotification(progress) => {
                    let params = &mut progress.params;
                    let token = &params.progress_token.0;
                    let kind = match token {
                        NumberOrString::Number(_) => TokenKind::Integer,
                        NumberOrString::String(_) => TokenKind::String,
                    };
                    let key = request_key(connection, token);
                    if let Some(context) =
                        connection.progress_sent(key, params.progress, params.total, kind)
                    {
                        inject(params.meta.get_or_insert_default(), context);
                    }
                }
                ServerNotification::LoggingMessageNotification(log) => {
                    let params = &mut log.params;
                    let level = level_name(params.level);
                    if let Some(context) =
                        connection.log_sent(level, params.logger.as_deref(), &params.data)
                    {
                        inject(params.meta.get_or_insert_default(), context);
                    }
                }
                // A task's status pushed to the client: a terminal one ends its span.
                ServerNotification::TaskStatusNotification(status) => {
                    let task = &status.params.task;
                    crate::observe::tasks::reported(
                        &task.task.task_id,
                        super::adapter::task_status(task),
                    );
                }
                // rmcp cancels a request of ours it gave up on (a timeout, a dropped
                // handle): that request will get no answer.
                ServerNotification::CancelledNotification(cancelled) => {
                    let params = &cancelled.params;
                    if let Some(id) = &params.request_id {
                        let error_type = if timed_out(params.reason.as_deref()) {
                            outbound::TIMEOUT
                        } else {
                            outbound::CANCELLED
                        };
                        connection.request_abandoned(answer_key(connection, id), error_type);
                    }
                }
                _ => {}
            }
            None
        }
        _ => None,
    }
}

/// What the client sends: its requests and notifications carry the connection to the
/// handler side; its answers end the spans of the server's requests.
fn on_receive(connection: &Arc<Connection>, message: &mut ClientJsonRpcMessage) {
    let handle = || ConnectionHandle(connection.clone());
    match message {
        JsonRpcMessage::Request(request) => {
            request.request.extensions_mut().insert(handle());
        }
        JsonRpcMessage::Notification(notification) => {
            // A cancellation is read now, before rmcp cancels the request it names.
            if let ClientNotification::CancelledNotification(cancelled) = &notification.notification
            {
                let key = cancelled
                    .params
                    .request_id
                    .as_ref()
                    .map(|id| request_key(connection, id));
                let target = connection.cancel_target(key);
                notification.notification.extensions_mut().insert(target);
            }
            notification.notification.extensions_mut().insert(handle());
        }
        JsonRpcMessage::Response(response) => {
            let action = match &response.result {
                ClientResult::ElicitResult(result) => {
                    Some(super::support::elicitation_action(&result.action))
                }
                _ => None,
            };
            let key = answer_key(connection, &response.id);
            connection.answer_received(key, Answer::Result { action });
        }
        JsonRpcMessage::Error(error) => {
            if let Some(id) = &error.id {
                let code = i64::from(error.error.code.0);
                connection.answer_received(answer_key(connection, id), Answer::Error { code });
            }
        }
    }
}

impl<T: Transport<RoleServer> + 'static> Transport<RoleServer> for TracedServerTransport<T> {
    type Error = T::Error;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn send(
        &mut self,
        mut item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        // Synchronously, before the inner send: a request's span starts when rmcp
        // hands it over, and it leaves with its context.
        let key = if crate::tracer::live() {
            on_send(&self.connection, &mut item)
        } else {
            None
        };
        let sent = self.inner.send(item);
        let connection = Arc::clone(&self.connection);
        async move {
            let result = sent.await;
            if result.is_err()
                && let Some(key) = key
            {
                connection.request_abandoned(key, outbound::SEND_FAILED);
            }
            result
        }
    }

    fn receive(&mut self) -> impl Future<Output = Option<ClientJsonRpcMessage>> + Send {
        let connection = Arc::clone(&self.connection);
        let received = self.inner.receive();
        async move {
            let mut message = received.await;
            match &mut message {
                Some(message) => on_receive(&connection, message),
                // The client hung up: what the server asked it is never answered.
                None => connection.closed(),
            }
            message
        }
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.connection.closed();
        self.inner.close()
    }
}

impl<T> Drop for TracedServerTransport<T> {
    fn drop(&mut self) {
        self.connection.closed();
    }
}
