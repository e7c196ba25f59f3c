//! What a served tool list says, whoever saw it (the rmcp adapter from the server's
//! answer, the proxy from the bytes): its size in the model's context, its count, the
//! hash of its definitions, and how it differs from the last complete list.

use crate::call::Call;
use crate::keys;
use opentelemetry::KeyValue;
use serde_json::Value;

/// Records a `tools/list` answer's `tools` on its span `call`: `mcp.tools.definitions.size`
/// (when the span records), `mcp.tools.count` and `mcp.tools.definitions.hash`, and for
/// a `complete` list (the first page, with no next cursor) that differs from the last
/// one the process recorded, the `mcp.tools.changed` event naming the tools added,
/// removed and changed. Returns the definition hash of each tool listed.
pub(crate) fn tools_listed(tools: &[Value], complete: bool, call: &Call) -> Served {
    if call.is_recording() {
        let size = crate::bounds::json_size(tools, usize::MAX);
        call.add_attributes(vec![KeyValue::new(
            keys::TOOLS_DEFINITIONS_SIZE,
            i64::try_from(size).unwrap_or(i64::MAX),
        )]);
    }
    served(tools, complete, call)
}

/// What the definitions come to (nothing without `args-hash`, which hashes them).
#[cfg(feature = "args-hash")]
pub(crate) type Served = crate::signals::definitions::Served;
#[cfg(not(feature = "args-hash"))]
pub(crate) type Served = ();

#[cfg(not(feature = "args-hash"))]
fn served(_tools: &[Value], _complete: bool, _call: &Call) -> Served {}

#[cfg(feature = "args-hash")]
fn served(tools: &[Value], complete: bool, call: &Call) -> Served {
    use crate::signals::definitions::{self, MAX_NAMED};
    let served = Served::of(tools);
    call.add_attributes(vec![
        KeyValue::new(
            keys::TOOLS_COUNT,
            i64::try_from(tools.len()).unwrap_or(i64::MAX),
        ),
        KeyValue::new(keys::TOOLS_DEFINITIONS_HASH, served.hash.clone()),
    ]);
    // Only a whole list can be compared with the last; and only a list whose span
    // records moves the comparison on, so that under sampling the change shows on the
    // next recorded list instead of vanishing with an unrecorded one.
    if !(complete && call.is_recording()) {
        return served;
    }
    let Some(changes) = definitions::observe(&served) else {
        return served;
    };
    let mut attributes = Vec::with_capacity(6);
    for (kind, names) in [
        ("added", &changes.added),
        ("removed", &changes.removed),
        ("changed", &changes.changed),
    ] {
        let listed: Vec<opentelemetry::StringValue> = names
            .iter()
            .take(MAX_NAMED)
            .map(|name| {
                crate::bounds::bounded(
                    name,
                    crate::bounds::limit_for(crate::bounds::MAX_NAME_BYTES),
                )
                .into_owned()
                .into()
            })
            .collect();
        attributes.push(KeyValue::new(
            format!("mcp.tools.{kind}"),
            opentelemetry::Value::Array(listed.into()),
        ));
        attributes.push(KeyValue::new(
            format!("mcp.tools.{kind}_count"),
            i64::try_from(names.len()).unwrap_or(i64::MAX),
        ));
    }
    call.add_event(keys::TOOLS_CHANGED, attributes);
    served
}

/// Names a server vouches for by answering alone (a tool it does not advertise, a
/// prompt), at most [`MAX_ANSWERED_NAMES`]: past them a name is `_OTHER` in span names
/// and on the metric, for the name is the client's and a server that answers anything
/// would let a client make a series per call.
const MAX_ANSWERED_NAMES: usize = 256;

/// Whether `name`, which the server answered for without advertising it, may be used as
/// a name: one of the first [`MAX_ANSWERED_NAMES`] such names the process saw.
pub(crate) fn answered_name(name: &str) -> bool {
    use std::sync::Mutex;
    static SEEN: Mutex<Option<std::collections::HashSet<String>>> = Mutex::new(None);
    let name = crate::bounds::bounded(
        name,
        crate::bounds::limit_for(crate::bounds::MAX_NAME_BYTES),
    );
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    let seen = seen.get_or_insert_with(Default::default);
    if seen.contains(name.as_ref()) {
        return true;
    }
    if seen.len() >= MAX_ANSWERED_NAMES {
        return false;
    }
    seen.insert(name.into_owned());
    true
}

/// 32 hex digits, different for every process start: the session of a connection
/// that has no id of its own (stdio, where the process is the session).
pub(crate) fn process_session_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut id = String::with_capacity(32);
    for salt in 0..2u64 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.write_u64(salt);
        if let Ok(since) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            hasher.write_u128(since.as_nanos());
        }
        id.push_str(&format!("{:016x}", hasher.finish()));
    }
    id
}

/// Names the span `call` of a request `method` about `target` (a prompt) once the
/// server has answered: a target the server refused (`refused`: an unknown method or
/// name) or one past the names it may vouch for is `_OTHER` in the span's name and on
/// the metric, for the name is the client's (cardinality); the bounded name stays in
/// its attribute.
pub(crate) fn name_after_answer(
    call: &mut Call,
    method: &str,
    target: Option<(&'static str, &str)>,
    refused: bool,
) {
    let unknown = refused || target.is_some_and(|(_, name)| !answered_name(name));
    if unknown {
        let name = match target {
            Some(_) => format!("{method} {}", keys::OTHER),
            None => keys::OTHER.to_owned(),
        };
        call.rename(name);
    }
    // A prompt the server knows goes on the metric by name; another is the client's.
    #[cfg(feature = "metrics")]
    if let Some((keys::GEN_AI_PROMPT, prompt)) = target {
        let prompt = if unknown {
            keys::OTHER.into()
        } else {
            crate::bounds::bounded(
                prompt,
                crate::bounds::limit_for(crate::bounds::MAX_NAME_BYTES),
            )
            .into_owned()
            .into()
        };
        call.metric_prompt(prompt);
    }
}
