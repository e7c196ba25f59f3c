//! Tool-definition drift: a tool whose description, input or output schema or
//! annotations change silently changes what the model does. Each definition gets the
//! CPython-compatible 16-hex hash (the argument hash's writer, never keyed: a
//! definition is no secret, and the same hash must come out of the generated docs), a
//! served list gets the hash of all of them, and a list that differs from the last one
//! the process served is told apart tool by tool.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The members of a tool that define what the model sees, as `tools/list` names them.
const DEFINING: [&str; 5] = [
    "name",
    "description",
    "inputSchema",
    "outputSchema",
    "annotations",
];

/// Most names an `mcp.tools.changed` event lists per kind of change; the counts are
/// always whole.
pub(crate) const MAX_NAMED: usize = 64;

/// The defining members of a `tools/list` entry (as JSON), in a new object: whatever
/// else the entry carries (`_meta`, a title, icons) is left out.
pub(crate) fn definition(tool: &Value) -> Value {
    let mut kept = Map::new();
    if let Value::Object(entry) = tool {
        for key in DEFINING {
            if let Some(value) = entry.get(key).filter(|v| !v.is_null()) {
                kept.insert(key.to_owned(), value.clone());
            }
        }
    }
    Value::Object(kept)
}

/// `mcp.tool.definition.hash` of a `tools/list` entry.
pub(crate) fn definition_hash(tool: &Value) -> String {
    crate::signals::hash::args_hash(&definition(tool))
}

/// What one served list comes to: its tools' definition hashes by name, and the hash of
/// the canonical list (definitions sorted by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Served {
    pub(crate) by_name: BTreeMap<String, String>,
    pub(crate) hash: String,
}

impl Served {
    pub(crate) fn of(tools: &[Value]) -> Self {
        let mut definitions: Vec<(String, Value)> = tools
            .iter()
            .map(|tool| {
                let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
                (name.to_owned(), definition(tool))
            })
            .collect();
        definitions.sort_by(|a, b| a.0.cmp(&b.0));
        let by_name = definitions
            .iter()
            .map(|(name, definition)| (name.clone(), crate::signals::hash::args_hash(definition)))
            .collect();
        let list = Value::Array(definitions.into_iter().map(|(_, d)| d).collect());
        Self {
            by_name,
            hash: crate::signals::hash::args_hash(&list),
        }
    }
}

/// How a served list differs from the one before: tool names, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    pub(crate) added: Vec<String>,
    pub(crate) removed: Vec<String>,
    pub(crate) changed: Vec<String>,
}

impl Changes {
    fn between(before: &Served, now: &Served) -> Self {
        let mut changes = Self::default();
        for (name, hash) in &now.by_name {
            match before.by_name.get(name) {
                None => changes.added.push(name.clone()),
                Some(old) if old != hash => changes.changed.push(name.clone()),
                Some(_) => {}
            }
        }
        for name in before.by_name.keys() {
            if !now.by_name.contains_key(name) {
                changes.removed.push(name.clone());
            }
        }
        changes
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Notes the complete list the process now serves (on a recorded span), and how it
/// differs from the last one noted: `None` for the first list, or one the same as the
/// last.
pub(crate) fn observe(now: &Served) -> Option<Changes> {
    static LAST: Mutex<Option<Served>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let changes = last
        .as_ref()
        .map(|before| Changes::between(before, now))
        .filter(|c| !c.is_empty());
    if last.as_ref().is_none_or(|before| before.hash != now.hash) {
        *last = Some(now.clone());
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_defining_members_count() {
        let tool = json!({
            "name": "search",
            "description": "Search",
            "inputSchema": {"type": "object"},
            "title": "Search!",
            "_meta": {"x": 1},
            "outputSchema": null,
        });
        assert_eq!(
            definition(&tool),
            json!({"name": "search", "description": "Search", "inputSchema": {"type": "object"}})
        );
        assert_eq!(
            definition_hash(&tool),
            crate::signals::hash::args_hash(&json!({
                "description": "Search", "inputSchema": {"type": "object"}, "name": "search"
            }))
        );
    }

    #[test]
    fn the_list_hash_ignores_order_and_changes_with_any_definition() {
        let a = json!({"name": "a", "inputSchema": {"type": "object"}});
        let b = json!({"name": "b", "inputSchema": {"type": "object"}});
        let b2 = json!({"name": "b", "description": "new", "inputSchema": {"type": "object"}});
        let one = Served::of(&[a.clone(), b.clone()]);
        assert_eq!(one, Served::of(&[b.clone(), a.clone()]));
        assert_eq!(
            one.hash,
            crate::signals::hash::args_hash(&json!([definition(&a), definition(&b)]))
        );
        let two = Served::of(&[a.clone(), b2]);
        assert_ne!(one.hash, two.hash);
        assert_eq!(
            Changes::between(&one, &two),
            Changes {
                changed: vec!["b".into()],
                ..Changes::default()
            }
        );
        let c = json!({"name": "c", "inputSchema": {"type": "object"}});
        assert_eq!(
            Changes::between(&one, &Served::of(&[b, c])),
            Changes {
                added: vec!["c".into()],
                removed: vec!["a".into()],
                changed: vec![],
            }
        );
    }
}
