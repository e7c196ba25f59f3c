//! The observer fed JSON as it crossed the wire: for a caller that sees messages rather
//! than an SDK's types (a proxy relaying bytes, a benchmark). The same rules as the
//! rmcp adapter's, read from the JSON: a progress notification's numbers and token
//! kind, a cancellation's target, the `_meta` trace context.

use super::notification::{Notification, TokenKind};
use super::{Connection, RequestKey};
use crate::handler::outcome::Outcome;
use crate::scope::Transport;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The observer's key of a JSON-RPC id as JSON: a number or a string; `None` for any
/// other JSON (no request has it).
fn request_key(connection: &Connection, id: &Value) -> Option<RequestKey> {
    match id {
        Value::Number(n) => n.as_i64().map(|n| connection.in_flight.number(n)),
        Value::String(s) => Some(connection.in_flight.string(s)),
        _ => None,
    }
}

/// What a notification's `method` and `params` say, as the adapter reads them from
/// rmcp's types, and its `_meta`: a progress notification whose token is neither a
/// string nor an integer, or whose progress is not a number, is not read as progress.
/// The parameters are walked once, whatever the method.
fn read<'a, 'p>(
    connection: &Connection,
    method: &'a str,
    params: Option<&'p Map<String, Value>>,
) -> (Notification<'a>, Option<&'p Map<String, Value>>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Progress,
        Cancelled,
        Other,
    }
    let kind = match method {
        "notifications/progress" => Kind::Progress,
        "notifications/cancelled" => Kind::Cancelled,
        _ => Kind::Other,
    };
    let (mut meta, mut token, mut progress, mut total, mut request) =
        (None, None, None, None, None);
    for (key, value) in params.into_iter().flatten() {
        match (kind, key.as_str()) {
            (_, "_meta") => meta = value.as_object(),
            (Kind::Progress, "progressToken") => token = Some(value),
            (Kind::Progress, "progress") => progress = value.as_f64(),
            (Kind::Progress, "total") => total = value.as_f64(),
            (Kind::Cancelled, "requestId") => request = Some(value),
            _ => {}
        }
    }
    let seen = match kind {
        Kind::Progress => {
            let token = match token {
                Some(Value::String(_)) => Some(TokenKind::String),
                Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(TokenKind::Integer),
                _ => None,
            };
            match (progress, token) {
                (Some(progress), Some(token)) => Notification::Progress {
                    progress,
                    total,
                    token,
                },
                _ => Notification::Other(method),
            }
        }
        Kind::Cancelled => {
            let key = request.and_then(|id| request_key(connection, id));
            Notification::Cancelled(connection.cancel_target(key))
        }
        Kind::Other => Notification::Other(method),
    };
    (seen, meta)
}

impl Connection {
    /// An inbound notification that nothing handles here (a proxy relays it): its span,
    /// started and ended at once. `session` and `protocol` are what the connection
    /// knows; `transport` how it arrived; `at` when it was read, if earlier than now.
    pub(crate) fn notification_received(
        &self,
        method: &str,
        params: Option<&Map<String, Value>>,
        session: Option<&str>,
        protocol: Option<&str>,
        transport: Transport,
        at: Option<std::time::SystemTime>,
    ) {
        let (seen, mut arrival) = self.arrived(method, params, session, protocol, transport);
        arrival.at = at;
        self.notification_seen(&seen, &arrival);
    }

    /// The span of the same notification with a handler to run inside it (see
    /// [`handled`]), started now, apart from the handler, as the rmcp adapter starts it.
    pub(crate) fn notification_started(
        &self,
        method: &str,
        params: Option<&Map<String, Value>>,
        session: Option<&str>,
        protocol: Option<&str>,
        transport: Transport,
    ) -> crate::call::Call {
        let (seen, arrival) = self.arrived(method, params, session, protocol, transport);
        self.notification(&seen, &arrival)
    }

    /// What a notification says, and where it arrived.
    #[inline]
    fn arrived<'a>(
        &self,
        method: &'a str,
        params: Option<&'a Map<String, Value>>,
        session: Option<&'a str>,
        protocol: Option<&'a str>,
        transport: Transport,
    ) -> (Notification<'a>, crate::call::Arrival<'a>) {
        let (seen, meta) = read(self, method, params);
        let arrival = crate::call::Arrival {
            meta,
            session,
            protocol,
            transport: Some(transport),
            ..Default::default()
        };
        (seen, arrival)
    }
}

/// Runs `handle` inside a notification's span `call` and ends it, as the rmcp adapter
/// runs a notification's handler.
pub(crate) fn handled(call: crate::call::Call, handle: impl FnOnce()) {
    {
        let _entered = call.enter();
        handle();
    }
    call.finish_at(|| Outcome::Ok(None), None);
}

/// The process's connection for JSON fed to it without one.
pub(crate) fn connection() -> &'static Arc<Connection> {
    static CONNECTION: std::sync::OnceLock<Arc<Connection>> = std::sync::OnceLock::new();
    CONNECTION.get_or_init(Arc::default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(value: Value) -> Map<String, Value> {
        let Value::Object(map) = value else {
            unreachable!()
        };
        map
    }

    #[test]
    fn progress_is_read_only_with_a_string_or_integer_token() {
        let connection = Connection::default();
        let read_progress = |token: Value| {
            let p = params(json!({"progressToken": token, "progress": 2, "total": 4}));
            matches!(
                read(&connection, "notifications/progress", Some(&p)).0,
                Notification::Progress { progress, total: Some(total), .. }
                    if progress == 2.0 && total == 4.0
            )
        };
        assert!(read_progress(json!("t")));
        assert!(read_progress(json!(7)));
        for token in [json!(1.5), json!(null), json!(true), json!({}), json!([])] {
            assert!(!read_progress(token));
        }
    }

    #[test]
    fn a_cancellation_of_nothing_in_flight_is_read_as_such() {
        let connection = Connection::default();
        let p = params(json!({"requestId": 5}));
        let (Notification::Cancelled(target), None) =
            read(&connection, "notifications/cancelled", Some(&p))
        else {
            panic!("a cancellation")
        };
        assert!(!target.in_flight && target.span.is_none());
    }
}
