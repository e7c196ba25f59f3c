//! What the rmcp adapter keeps of each tool the server advertises: the hash and size of
//! its definition, its input schema compiled, and whether a call's argument signals
//! can be taken before the request moves on (see `raw_signals`).
//!
//! Kept only for names the server's `get_tool` knows, so a client cannot grow the table
//! with names of its choosing; a `tools/list` that shows a tool changed drops its entry.

use crate::call::Compiled;
use crate::raw_signals::Claimant;
use rmcp::model::JsonObject;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The advertised tools seen so far, by name.
#[derive(Debug, Default)]
pub(crate) struct Tools(Mutex<HashMap<String, Arc<ToolEntry>>>);

impl Tools {
    /// The entry of `name`, made from `advertised` (the server's `get_tool`, asked only
    /// the first time) when the server knows the tool.
    pub(crate) fn get(
        &self,
        name: &str,
        advertised: impl FnOnce() -> Option<rmcp::model::Tool>,
    ) -> Option<Arc<ToolEntry>> {
        if let Some(entry) = lock(&self.0).get(name) {
            return Some(entry.clone());
        }
        // Built outside the lock: `get_tool` is the server's code.
        let entry = Arc::new(ToolEntry::new(advertised()?));
        Some(
            lock(&self.0)
                .entry(name.to_owned())
                .or_insert(entry)
                .clone(),
        )
    }

    /// Drops the entries `changed` picks (a tool listed with another definition).
    #[cfg(feature = "args-hash")]
    pub(crate) fn forget(&self, mut changed: impl FnMut(&str, &ToolEntry) -> bool) {
        lock(&self.0).retain(|name, entry| !changed(name, entry));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How a call's arguments reach the signals.
const LEARNING: u8 = 0;
/// Taken by the adapter from the request itself: whoever records the call records
/// what the adapter's rules give.
const TAKEN: u8 = 1;
/// Copied into the scope for the handler, whose rules differ from the adapter's.
const COPIED: u8 = 2;

#[derive(Debug)]
pub(crate) struct ToolEntry {
    /// `mcp.tool.definition.hash` and `.size` of the tool as advertised.
    #[cfg(feature = "args-hash")]
    pub(crate) definition: Arc<crate::scope::Definition>,
    #[cfg_attr(not(feature = "schema-check"), allow(dead_code))]
    input_schema: Arc<JsonObject>,
    schema: OnceLock<Option<Compiled>>,
    arguments: AtomicU8,
}

impl ToolEntry {
    fn new(tool: rmcp::model::Tool) -> Self {
        #[cfg(feature = "args-hash")]
        let definition = {
            let advertised = serde_json::to_value(&tool).unwrap_or_default();
            Arc::new(crate::scope::Definition {
                hash: crate::signals::definitions::definition_hash(&advertised).into(),
                size: crate::bounds::json_size(&advertised, usize::MAX),
            })
        };
        Self {
            #[cfg(feature = "args-hash")]
            definition,
            input_schema: tool.input_schema,
            schema: OnceLock::new(),
            arguments: AtomicU8::new(LEARNING),
        }
    }

    /// The advertised input schema, compiled on first use.
    pub(crate) fn schema(&self) -> Option<&Compiled> {
        self.schema
            .get_or_init(|| {
                #[cfg(feature = "schema-check")]
                return Compiled::new(&serde_json::Value::Object((*self.input_schema).clone()));
                #[cfg(not(feature = "schema-check"))]
                None
            })
            .as_ref()
    }

    /// Whether the adapter takes a call's argument signals itself, instead of copying
    /// the arguments for the handler.
    pub(crate) fn takes_signals(&self) -> bool {
        self.arguments.load(Ordering::Relaxed) == TAKEN
    }

    /// Learns from a call that has ended: the traced handler that claimed it
    /// (`claimant`), or, when none did, whether the tool answered without error (then
    /// its handler ran untraced, and the adapter's span records every call).
    /// Compiles the schema when a claimant must be compared with it: once per tool.
    ///
    /// A claimant decides for itself; a call no handler claimed decides only for a tool
    /// nothing is known of yet: a server may answer some calls of a tool itself and
    /// hand the rest to a traced handler with rules of its own, whose calls must keep
    /// the copy.
    pub(crate) fn learn(&self, claimant: Option<Claimant>, answered: bool) {
        match claimant {
            Some(claimant) => {
                let path = match claimant.takes(self.schema()) {
                    true => TAKEN,
                    false => COPIED,
                };
                self.arguments.store(path, Ordering::Relaxed);
            }
            None if answered => {
                let _ = self.arguments.compare_exchange(
                    LEARNING,
                    TAKEN,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            None => {}
        }
    }
}

#[cfg(all(test, feature = "schema-check"))]
mod tests {
    use super::*;
    use crate::handler::meta::ToolMeta;
    use serde_json::json;

    static PARAMS: [crate::signals::fields::ParamMeta; 0] = [];
    static WHOLE: ToolMeta = ToolMeta::new("t", "tools/call t", &PARAMS, true);

    fn entry() -> ToolEntry {
        let serde_json::Value::Object(schema) = json!({
            "type": "object", "properties": {"q": {"type": "string"}}
        }) else {
            unreachable!()
        };
        ToolEntry::new(rmcp::model::Tool::new("t", "a tool", Arc::new(schema)))
    }

    #[test]
    fn a_claimant_decides_and_an_unclaimed_answer_only_for_a_new_tool() {
        let advertised = entry();
        let same = Claimant::of(&WHOLE, advertised.schema());
        let own_schema = Compiled::new(&json!({"type": "object"})).expect("a schema");
        let other = Claimant::of(&WHOLE, Some(&own_schema));

        let untraced = entry();
        assert!(!untraced.takes_signals(), "the first call is copied");
        untraced.learn(None, false);
        assert!(!untraced.takes_signals(), "an error says nothing");
        untraced.learn(None, true);
        assert!(untraced.takes_signals(), "answered by no handler");

        let traced = entry();
        traced.learn(Some(other), false);
        assert!(!traced.takes_signals());
        traced.learn(None, true);
        assert!(
            !traced.takes_signals(),
            "a call the server answered itself does not undo a claimant's rules"
        );
        traced.learn(Some(same), true);
        assert!(traced.takes_signals());
        traced.learn(Some(other), true);
        assert!(!traced.takes_signals(), "a new claimant decides again");
    }
}
