//! Method names: the conventions' set, and `_OTHER` for anything else.

use crate::keys;

/// `mcp.method.name` values the conventions know, and the tasks extension's (which the
/// rmcp adapter names from rmcp's typed requests). Any other method is `_OTHER` in span
/// names and on metrics, for the string is the peer's to choose (cardinality).
const KNOWN_METHODS: [&str; 32] = [
    "completion/complete",
    "elicitation/create",
    "initialize",
    "logging/setLevel",
    "notifications/cancelled",
    "notifications/initialized",
    "notifications/message",
    "notifications/progress",
    "notifications/prompts/list_changed",
    "notifications/resources/list_changed",
    "notifications/resources/updated",
    "notifications/roots/list_changed",
    "notifications/subscriptions/acknowledged",
    "notifications/tasks",
    "notifications/tools/list_changed",
    "ping",
    "prompts/get",
    "prompts/list",
    "resources/list",
    "resources/read",
    "resources/subscribe",
    "resources/templates/list",
    "resources/unsubscribe",
    "roots/list",
    "sampling/createMessage",
    "server/discover",
    "subscriptions/listen",
    "tasks/cancel",
    "tasks/get",
    "tasks/update",
    "tools/call",
    "tools/list",
];

/// `method` if the conventions know it, else `_OTHER`. A method longer than any known
/// one is refused before it is compared (a 1 MB method costs one length check).
pub(crate) fn known_method(method: &str) -> &'static str {
    if method.len() > MAX_KNOWN_LEN {
        return keys::OTHER;
    }
    KNOWN_METHODS
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or(keys::OTHER)
}

/// The longest known method, in bytes.
const MAX_KNOWN_LEN: usize = 40;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_methods_keep_their_name_and_others_are_other() {
        assert_eq!(known_method("tools/list"), "tools/list");
        assert_eq!(
            known_method("notifications/roots/list_changed"),
            "notifications/roots/list_changed"
        );
        assert_eq!(known_method("tools/list/../x"), "_OTHER");
        assert_eq!(known_method("vendor/custom"), "_OTHER");
        assert_eq!(known_method(&"x".repeat(1 << 20)), "_OTHER");
    }

    #[test]
    fn the_length_bound_covers_every_known_method() {
        let longest = KNOWN_METHODS.iter().map(|m| m.len()).max().unwrap();
        assert_eq!(longest, MAX_KNOWN_LEN);
    }
}
