//! Inbound notifications: one SERVER span each, named by method.

use super::{Connection, RequestKey};
use crate::bounds::push_in_place;
use crate::call::{Call, adapter};
use crate::keys;
use opentelemetry::KeyValue;

/// What telemetry reads of a notification: its method and, for the kinds that carry
/// them, the numbers and the request it is about. Never a message text.
#[derive(Debug, Clone)]
pub(crate) enum Notification<'a> {
    /// `notifications/cancelled`: what became of the request it cancels.
    Cancelled(CancelTarget),
    /// `notifications/progress`: the numbers, and the kind of its token.
    Progress {
        progress: f64,
        total: Option<f64>,
        token: TokenKind,
    },
    /// Any other method, as the peer wrote it (`notifications/initialized`,
    /// `notifications/roots/list_changed`, a custom one).
    Other(&'a str),
}

/// The request a cancellation names, as it stood when the cancellation arrived: read
/// by the transport before the request's handler could see its cancellation and end.
#[derive(Debug, Clone, Default)]
pub(crate) struct CancelTarget {
    /// The request was still being served.
    pub(crate) in_flight: bool,
    /// Its span, when one had started: the cancellation's link.
    pub(crate) span: Option<opentelemetry::trace::SpanContext>,
}

impl Connection {
    /// What a cancellation of request `key` is about, now.
    pub(crate) fn cancel_target(&self, key: Option<RequestKey>) -> CancelTarget {
        let scope = key.and_then(|key| self.in_flight.scope_of(key));
        CancelTarget {
            in_flight: scope.is_some(),
            span: scope.and_then(|scope| scope.span_context()),
        }
    }
}

/// The JSON type of a progress token: a string or an integer (the specification's two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    String,
    Integer,
}

impl TokenKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TokenKind::String => "string",
            TokenKind::Integer => "integer",
        }
    }
}

impl Notification<'_> {
    /// The span's name and `mcp.method.name`: the method if the conventions know it,
    /// else `_OTHER`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Notification::Cancelled(_) => "notifications/cancelled",
            Notification::Progress { .. } => "notifications/progress",
            Notification::Other(method) => super::methods::known_method(method),
        }
    }

    /// What the span carries of the notification itself.
    fn attributes(&self, attrs: &mut Vec<KeyValue>) {
        match self {
            Notification::Cancelled(target) => {
                attrs.push(KeyValue::new(keys::CANCELLED_IN_FLIGHT, target.in_flight));
            }
            Notification::Progress {
                progress,
                total,
                token,
            } => {
                push_in_place(attrs, keys::PROGRESS_VALUE, *progress);
                if let Some(total) = total {
                    push_in_place(attrs, keys::PROGRESS_TOTAL, *total);
                }
                push_in_place(attrs, keys::PROGRESS_TOKEN_TYPE, token.as_str());
            }
            Notification::Other(_) => {}
        }
    }

    /// The span it links to: a cancellation's target's.
    fn link(&self) -> Option<opentelemetry::trace::SpanContext> {
        match self {
            Notification::Cancelled(target) => target.span.clone(),
            _ => None,
        }
    }
}

impl Connection {
    /// Starts the span of an inbound notification whose handler runs inside it (its
    /// `_meta` is the parent); the caller ends it once the notification is handled.
    pub(crate) fn notification(
        &self,
        notification: &Notification<'_>,
        arrival: &crate::call::Arrival<'_>,
    ) -> Call {
        adapter::notification_span(
            notification.name(),
            |attrs| notification.attributes(attrs),
            || notification.link(),
            arrival,
        )
    }

    /// The span of an inbound notification that nothing handles here (the proxy
    /// relays it): started and ended at once.
    pub(crate) fn notification_seen(
        &self,
        notification: &Notification<'_>,
        arrival: &crate::call::Arrival<'_>,
    ) {
        adapter::notification_seen(
            notification.name(),
            |attrs| notification.attributes(attrs),
            || notification.link(),
            arrival,
        )
    }
}
