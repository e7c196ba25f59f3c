//! The signals of a request's raw arguments, taken while the adapter still owns the
//! request.
//!
//! rmcp's `Parameters<T>` consumes the arguments, so a traced handler can only see them
//! as sent if the adapter keeps a copy. Once the adapter knows that the tool's handler
//! would record exactly what its own span records (the handler's one parameter is the
//! whole arguments object, and its schema is the advertised one), it takes the shapes,
//! hash and verdict itself, before the request moves on, and keeps those instead of a
//! copy. Whoever records the call (the handler, or the adapter's span when no handler
//! claims it) takes them.

use crate::call::Compiled;
use crate::handler::meta::ToolMeta;
#[cfg(feature = "args-hash")]
use crate::keys;
use opentelemetry::KeyValue;
use serde_json::Value;
use std::sync::Mutex;

/// The raw arguments' signals as the adapter's own span records them: the shapes of the
/// fields the schema declares (other client keys counted), then the hash, then the
/// verdict and its error attributes.
#[derive(Debug, Default)]
pub(crate) struct RawSignals {
    attrs: Vec<KeyValue>,
    /// How many of `attrs` are shapes: they come first.
    shapes: usize,
    /// Whether the hash follows them.
    hash: bool,
}

impl RawSignals {
    /// Of `raw` against `compiled`; `within_budget`: its size was checked already
    /// against the schema check's budget.
    pub(crate) fn of(compiled: Option<&Compiled>, raw: &Value, within_budget: bool) -> Self {
        #[allow(unused_mut)] // with every signal off, nothing is pushed
        let mut attrs = Vec::with_capacity(12);
        #[cfg(feature = "args-shape")]
        if let Value::Object(map) = raw {
            use crate::signals::shape::{ArgsRecorder, KeySource, Rebuild};
            crate::signals::shape::shape_fields(
                &mut ArgsRecorder::new(&mut attrs, Rebuild::Nothing),
                map,
                &crate::call::field_info(compiled),
                KeySource::Client,
                |_| false,
            );
        }
        let shapes = attrs.len();
        #[cfg(feature = "args-hash")]
        attrs.push(KeyValue::new(
            keys::ARGS_HASH,
            crate::signals::hash::configured_hash(raw),
        ));
        let hash = attrs.len() > shapes;
        #[cfg(feature = "schema-check")]
        if let Some(compiled) = compiled {
            match within_budget {
                true => compiled.check_within_budget(raw, &[], &mut attrs),
                false => compiled.check(raw, false, &[], &mut attrs),
            }
        }
        let _ = (compiled, raw, within_budget);
        Self {
            attrs,
            shapes,
            hash,
        }
    }

    /// Into `attrs`: every one (`shapes`), or the hash and the verdict.
    pub(crate) fn record(self, attrs: &mut Vec<KeyValue>, shapes: bool) {
        let mut own = self.attrs;
        if !shapes {
            own.drain(..self.shapes);
        }
        attrs.extend(own);
    }

    /// Into `attrs`: the hash alone.
    pub(crate) fn record_hash(&self, attrs: &mut Vec<KeyValue>) {
        if self.hash {
            attrs.push(self.attrs[self.shapes].clone());
        }
    }

    /// The verdict: `None` with no schema, or arguments over the budget.
    #[cfg(feature = "metrics")]
    pub(crate) fn verdict(&self) -> Option<bool> {
        self.attrs[self.shapes..]
            .iter()
            .find_map(|kv| match kv.value {
                opentelemetry::Value::Bool(valid)
                    if kv.key.as_str() == crate::keys::SCHEMA_VALID =>
                {
                    Some(valid)
                }
                _ => None,
            })
    }
}

/// Whether a call's signals are wanted whether or not its span records: the verdict
/// for the metric, the hash for the run of identical calls. Otherwise the adapter keeps
/// the copy, so that a call whose span is sampled out computes nothing.
pub(crate) fn wanted_unsampled(scope: &crate::scope::RequestScope) -> bool {
    crate::call::metric_wanted() || scope.counts_runs()
}

/// [`RawSignals`] kept in a request's scope instead of its arguments, for the one that
/// records the call to take.
#[derive(Debug)]
pub(crate) struct Precomputed {
    /// The schema the verdict is of ([`Compiled::fingerprint`]); `None`: none.
    schema: Option<u64>,
    signals: Mutex<Option<RawSignals>>,
}

/// Signals taken by the adapter, and taken by a handler in turn (debug builds only: a
/// shared counter would cost every call of a busy server a contended cache line).
#[cfg(debug_assertions)]
static COUNTED: [std::sync::atomic::AtomicUsize; 2] = [
    std::sync::atomic::AtomicUsize::new(0),
    std::sync::atomic::AtomicUsize::new(0),
];

fn count(which: usize) {
    #[cfg(debug_assertions)]
    COUNTED[which].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let _ = which;
}

/// See `__private::taken_signals`.
pub(crate) fn counted() -> Option<(usize, usize)> {
    #[cfg(debug_assertions)]
    {
        use std::sync::atomic::Ordering::Relaxed;
        Some((COUNTED[0].load(Relaxed), COUNTED[1].load(Relaxed)))
    }
    #[cfg(not(debug_assertions))]
    None
}

impl Precomputed {
    pub(crate) fn new(compiled: Option<&Compiled>, signals: RawSignals) -> Self {
        count(0);
        Self {
            schema: fingerprint(compiled),
            signals: Mutex::new(Some(signals)),
        }
    }

    /// For the adapter's own span, whose rules they were taken by.
    pub(crate) fn take(&self) -> Option<RawSignals> {
        self.signals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    /// For a traced handler: only when `claimant` would have recorded the same.
    pub(crate) fn take_for(&self, claimant: Claimant) -> Option<RawSignals> {
        match claimant.records_as_adapter(self.schema) {
            true => {
                let taken = self.take();
                if taken.is_some() {
                    count(1);
                }
                taken
            }
            false => None,
        }
    }
}

/// What a traced handler that claims a request tells the adapter: whether it records
/// the raw arguments by the adapter's rules, and against which schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Claimant {
    /// Its one parameter is the whole arguments object (`Parameters<T>`, `#[args]`):
    /// it shapes the declared fields and counts the rest, as the adapter does.
    same_as_adapter: bool,
    /// Its schema's [`Compiled::fingerprint`].
    schema: Option<u64>,
}

impl Claimant {
    pub(crate) fn of(meta: &ToolMeta, compiled: Option<&Compiled>) -> Self {
        Self {
            same_as_adapter: meta.flattened && meta.params.is_empty(),
            schema: fingerprint(compiled),
        }
    }

    /// Whether [`RawSignals`] taken against `advertised` are what this handler records.
    pub(crate) fn takes(self, advertised: Option<&Compiled>) -> bool {
        self.records_as_adapter(fingerprint(advertised))
    }

    /// Whether it records what the adapter's rules give against the schema `schema`.
    fn records_as_adapter(self, schema: Option<u64>) -> bool {
        self.same_as_adapter && self.schema == schema
    }
}

fn fingerprint(compiled: Option<&Compiled>) -> Option<u64> {
    #[cfg(feature = "schema-check")]
    return compiled.map(Compiled::fingerprint);
    #[cfg(not(feature = "schema-check"))]
    compiled.map(|never| match *never {})
}

#[cfg(all(
    test,
    feature = "args-shape",
    feature = "args-hash",
    feature = "schema-check"
))]
mod tests {
    use super::*;
    use serde_json::json;

    fn compiled() -> Compiled {
        Compiled::new(&json!({
            "type": "object",
            "properties": {"q": {"type": "string"}, "n": {"type": "integer", "maximum": 9}},
            "required": ["q"]
        }))
        .expect("a schema")
    }

    #[test]
    fn each_consumer_takes_its_part_in_order() {
        let schema = compiled();
        let raw = json!({"q": "abc", "n": 12, "x": true});
        let hash = KeyValue::new(keys::ARGS_HASH, crate::signals::hash::configured_hash(&raw));
        let signals = RawSignals::of(Some(&schema), &raw, true);
        assert_eq!(signals.verdict(), Some(false));
        let mut only_hash = Vec::new();
        signals.record_hash(&mut only_hash);
        assert_eq!(only_hash, std::slice::from_ref(&hash));

        let mut all = vec![KeyValue::new("before", 1)];
        RawSignals::of(Some(&schema), &raw, true).record(&mut all, true);
        let keys: Vec<_> = all.iter().map(|kv| kv.key.as_str().to_owned()).collect();
        assert_eq!(
            keys,
            [
                "before",
                "mcp.tool.args.n.present",
                "mcp.tool.args.n",
                "mcp.tool.args.q.length",
                "mcp.tool.args.undeclared_count",
                "mcp.tool.args.hash",
                "mcp.tool.args.schema_valid",
                "mcp.tool.args.schema_error_path",
                "mcp.tool.args.schema_error_message",
                "mcp.tool.args.schema_error_count",
            ]
        );
        let mut without_shapes = Vec::new();
        RawSignals::of(Some(&schema), &raw, true).record(&mut without_shapes, false);
        assert_eq!(without_shapes[0], hash);
        assert_eq!(without_shapes.len(), 5, "the hash and the verdict's four");
    }

    #[test]
    fn within_the_budget_or_not_the_same() {
        let schema = compiled();
        let raw = json!({"q": 5});
        let mut measured = Vec::new();
        RawSignals::of(Some(&schema), &raw, false).record(&mut measured, true);
        let mut known = Vec::new();
        RawSignals::of(Some(&schema), &raw, true).record(&mut known, true);
        assert_eq!(measured, known);
    }

    #[test]
    fn a_handler_takes_them_only_by_the_same_rules_and_schema() {
        static PARAMS: [crate::signals::fields::ParamMeta; 0] = [];
        static FLAT: ToolMeta = ToolMeta::new("t", "tools/call t", &PARAMS, true);
        static NOT_FLAT: ToolMeta = ToolMeta::new("t", "tools/call t", &PARAMS, false);
        let advertised = compiled();
        let same = compiled();
        let titled = Compiled::new(&json!({
            "title": "Args", "description": "what the type's doc says",
            "type": "object",
            "properties": {"q": {"type": "string"}, "n": {"type": "integer", "maximum": 9}},
            "required": ["q"]
        }))
        .expect("a schema");
        let other = Compiled::new(&json!({"type": "object"})).expect("a schema");
        assert!(Claimant::of(&FLAT, Some(&same)).takes(Some(&advertised)));
        assert!(Claimant::of(&FLAT, Some(&titled)).takes(Some(&advertised)));
        assert!(!Claimant::of(&FLAT, Some(&other)).takes(Some(&advertised)));
        assert!(!Claimant::of(&FLAT, None).takes(Some(&advertised)));
        assert!(!Claimant::of(&NOT_FLAT, Some(&same)).takes(Some(&advertised)));

        let raw = json!({"q": "a"});
        let kept = Precomputed::new(
            Some(&advertised),
            RawSignals::of(Some(&advertised), &raw, true),
        );
        assert!(kept.take_for(Claimant::of(&FLAT, Some(&other))).is_none());
        assert!(kept.take_for(Claimant::of(&FLAT, Some(&same))).is_some());
        assert!(kept.take().is_none(), "taken once");
    }
}
