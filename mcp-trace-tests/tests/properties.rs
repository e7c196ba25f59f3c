//! Properties over random input (proptest):
//!
//! * `mcp.tool.args.hash` agrees with CPython's
//!   `hashlib.sha256(json.dumps(v, sort_keys=True).encode()).hexdigest()[:16]` on random
//!   JSON, all of a batch hashed by one `python3` process (skipped loudly without it);
//! * the shape attributes a traced tool exports equal what the JSON form of its
//!   arguments says, computed here independently of `shape.rs`, for typed parameters,
//!   a flattened `#[args]` map, a flattened `#[args]` struct with a schema, and raw
//!   arguments from the request scope.
//!
//! The read tracker's model test lives beside the tracker (`tracker.rs`): it is
//! crate-private.
#![cfg(feature = "args-hash")]

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
use serde_json::{Number, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

// ---- strategies ------------------------------------------------------------------

/// Characters with short or special escapes, and the edges of the planes.
const SPECIAL: [char; 23] = [
    '"',
    '\\',
    '/',
    '\n',
    '\r',
    '\t',
    '\u{8}',
    '\u{c}',
    '\0',
    '\u{1f}',
    '\u{7f}',
    '\u{80}',
    'é',
    '中',
    '\u{2028}',
    '\u{d7ff}',
    '\u{e000}',
    '\u{fffd}',
    '\u{ffff}',
    '\u{10000}',
    '😀',
    '\u{1d11e}',
    '\u{10ffff}',
];

/// Any Unicode scalar value: ASCII (controls, quotes and backslashes included), the
/// characters with short or special escapes, and every plane, supplementary ones too.
/// One `u32` drawn and mapped (the low 3 bits pick the kind): an order of magnitude
/// cheaper in a debug build than a union of char strategies, and it shrinks towards
/// `'\0'`.
fn any_char() -> impl Strategy<Value = char> {
    any::<u32>().prop_map(|bits| {
        let pick = bits >> 3;
        match bits & 7 {
            0..=2 => char::from(pick as u8 & 0x7f),
            3 | 4 => SPECIAL[pick as usize % SPECIAL.len()],
            // Plane 0 to 16, any offset; a surrogate becomes U+FFFD.
            _ => char::from_u32(((pick >> 16) % 17) << 16 | (pick & 0xffff)).unwrap_or('\u{fffd}'),
        }
    })
}

fn string(max_len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any_char(), 0..=max_len).prop_map(|c| c.into_iter().collect())
}

/// Floats at the edges of Python's `repr`: the exponent switches at 1e16 and 1e-4,
/// subnormals, the extremes, shortest round trips.
const FLOAT_EDGES: [f64; 17] = [
    0.0,
    1.0,
    0.1,
    1e-5,
    1e-4,
    0.0001234,
    1e15,
    1e16,
    1.5e16,
    123456789.0,
    9007199254740993.0,
    0.30000000000000004,
    5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -2.5e-7,
    1.5e300,
];

/// A finite float other than `-0.0` from 64 random bits (the low 3 pick the kind):
/// edges, integral floats, few digits at any decimal exponent, any bit pattern.
fn float_from(bits: u64) -> f64 {
    let pick = bits >> 3;
    let f = match bits & 7 {
        0 | 1 => FLOAT_EDGES[pick as usize % FLOAT_EDGES.len()],
        2 => f64::from(pick as i32),
        3 | 4 => {
            let digits = (pick % 20_000_001) as f64 - 10_000_000.0;
            digits * 10f64.powi(((pick >> 25) % 60) as i32 - 30)
        }
        _ => f64::from_bits(pick.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
    };
    if !f.is_finite() {
        2.5
    } else if f == 0.0 {
        0.0 // not -0.0
    } else {
        f
    }
}

/// A JSON number from 64 random bits: integers of any magnitude and sign up to
/// `u64::MAX`, the 64-bit edges, and floats.
fn number_from(bits: u64) -> Value {
    const EDGES: [i128; 6] = [
        i64::MIN as i128,
        i64::MAX as i128,
        i64::MAX as i128 + 1,
        u64::MAX as i128,
        -1,
        0,
    ];
    let pick = bits >> 3;
    match bits & 7 {
        0 | 1 => Value::from(bits as i64 >> (pick % 64)),
        2 => Value::from(bits),
        3 => match EDGES[pick as usize % EDGES.len()] {
            e if e < 0 => Value::from(e as i64),
            e => Value::from(e as u64),
        },
        _ => Value::Number(Number::from_f64(float_from(pick)).unwrap()),
    }
}

/// A scalar: null, a boolean, a number or a string. Drawn as bits plus a string and
/// mapped, like [`any_char`], which a debug build runs several times faster than a
/// `prop_oneof!`.
fn leaf() -> impl Strategy<Value = Value> {
    (any::<u64>(), string(12)).prop_map(|(bits, s)| match bits & 7 {
        0 => Value::Null,
        1 => Value::Bool(bits & 8 != 0),
        2..=4 => Value::String(s),
        _ => number_from(bits >> 3),
    })
}

/// Any JSON value, nested up to `depth` containers deep.
fn json(depth: u32) -> BoxedStrategy<Value> {
    if depth == 0 {
        return leaf().boxed();
    }
    let inner = json(depth - 1);
    (0u8..8)
        .prop_flat_map(move |kind| match kind {
            0..=4 => leaf().boxed(),
            5 | 6 => proptest::collection::vec(inner.clone(), 0..5)
                .prop_map(Value::Array)
                .boxed(),
            _ => proptest::collection::btree_map(string(6), inner.clone(), 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect()))
                .boxed(),
        })
        .boxed()
}

// ---- (a) hash parity with CPython -------------------------------------------------

const PYTHON: &str = r#"
import hashlib, json, sys
while True:
    line = sys.stdin.readline()
    if not line:
        break
    text = json.dumps(json.loads(line), sort_keys=True)
    sys.stdout.write(hashlib.sha256(text.encode()).hexdigest()[:16] + "\n")
    sys.stdout.flush()
"#;

/// One `python3` process answering one hash per input line.
struct Python {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Python {
    /// `None` (and a loud note) when there is no `python3`.
    fn start() -> Option<Self> {
        let child = Command::new("python3")
            .args(["-c", PYTHON])
            .env("PYTHONIOENCODING", "utf-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(error) => {
                eprintln!(
                    "\n!!!! SKIPPED: python3 is not available ({error}); the cross-language \
                     hash property did not run !!!!\n"
                );
                return None;
            }
        };
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Some(Self {
            child,
            stdin,
            stdout,
        })
    }

    fn read_hash(&mut self) -> String {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).expect("python3 answered");
        assert!(n > 0, "python3 exited early");
        line.trim_end().to_owned()
    }

    /// CPython's hashes of `values`, in order; written from a second thread so neither
    /// pipe can fill up and stall the other.
    fn hashes(&mut self, values: &[Value]) -> Vec<String> {
        let mut input = String::new();
        for v in values {
            input.push_str(&serde_json::to_string(v).unwrap());
            input.push('\n');
        }
        let mut stdin = self.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            stdin.write_all(input.as_bytes()).expect("batch written");
            stdin
        });
        let hashes = values.iter().map(|_| self.read_hash()).collect();
        self.stdin = Some(writer.join().unwrap());
        hashes
    }

    fn hash(&mut self, value: &Value) -> String {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{}", serde_json::to_string(value).unwrap()).unwrap();
        stdin.flush().unwrap();
        self.read_hash()
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// What CPython prints for `value`, to show in a failure.
fn python_text(value: &Value) -> String {
    let output = Command::new("python3")
        .args([
            "-c",
            "import json, sys; print(json.dumps(json.loads(sys.stdin.readline()), sort_keys=True))",
        ])
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            let mut stdin = child.stdin.take().unwrap();
            writeln!(stdin, "{}", serde_json::to_string(value).unwrap())?;
            drop(stdin);
            child.wait_with_output()
        });
    match output {
        Ok(output) => String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_owned(),
        Err(error) => format!("<python3 failed: {error}>"),
    }
}

/// The base seed: `MCP_TRACE_PROPTEST_SEED` (decimal) to replay a failure, else random.
fn base_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    match std::env::var("MCP_TRACE_PROPTEST_SEED") {
        Ok(seed) => seed
            .trim()
            .parse()
            .expect("MCP_TRACE_PROPTEST_SEED is a u64"),
        Err(_) => std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish(),
    }
}

/// The value tree of case `index`: each case has its own generator, so a failing case
/// can be rebuilt (and shrunk) without keeping every tree of the batch.
fn case_tree<S: Strategy>(strategy: &S, seed: u64, index: u64) -> S::Tree {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&index.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(ProptestConfig::default(), rng);
    strategy.new_tree(&mut runner).expect("strategy generates")
}

/// Shrinks a failing case the way proptest's runner does, asking `python` each step.
fn shrink<T: ValueTree<Value = Value>>(tree: &mut T, python: &mut Python) -> Value {
    let fails = |python: &mut Python, v: &Value| mcp_trace::args_hash(v) != python.hash(v);
    let mut smallest = tree.current();
    if !tree.simplify() {
        return smallest;
    }
    for _ in 0..2_000 {
        let candidate = tree.current();
        if fails(python, &candidate) {
            smallest = candidate;
            if !tree.simplify() {
                break;
            }
        } else if !tree.complicate() {
            break;
        }
    }
    smallest
}

/// Generates `cases` random JSON values, hashes them all in one `python3` process and
/// compares; the first mismatch is shrunk and reported with the seed that replays it.
fn hash_parity(cases: u64) {
    let Some(mut python) = Python::start() else {
        return;
    };
    let seed = base_seed();
    // Arguments objects, and bare values (json.dumps has a rule for each).
    let strategy = prop_oneof![
        3 => proptest::collection::btree_map(string(8), json(3), 0..6)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        1 => json(3),
    ];
    const BATCH: u64 = 5_000;
    let mut start = 0;
    while start < cases {
        let end = cases.min(start + BATCH);
        let values: Vec<Value> = (start..end)
            .map(|i| case_tree(&strategy, seed, i).current())
            .collect();
        let expected = python.hashes(&values);
        for (offset, (value, want)) in values.iter().zip(&expected).enumerate() {
            let got = mcp_trace::args_hash(value);
            if &got == want {
                continue;
            }
            let index = start + offset as u64;
            let minimal = shrink(&mut case_tree(&strategy, seed, index), &mut python);
            panic!(
                "args_hash differs from CPython (MCP_TRACE_PROPTEST_SEED={seed}, case \
                 {index})\n  case:    {value}\n  minimal: {minimal:?}\n  CPython prints: \
                 {}\n  CPython hash {}, args_hash {}",
                python_text(&minimal),
                python.hash(&minimal),
                mcp_trace::args_hash(&minimal),
            );
        }
        start = end;
    }
}

#[test]
fn hash_matches_cpython_on_random_json() {
    hash_parity(3_000);
}

#[test]
#[ignore = "long variant of hash_matches_cpython_on_random_json (about a minute in debug)"]
fn hash_matches_cpython_on_random_json_long() {
    hash_parity(200_000);
}

// ---- (b) shapes agree with the JSON form ------------------------------------------

#[cfg(all(feature = "enable", feature = "args-shape", feature = "schema-check"))]
mod shapes {
    use super::*;
    use mcp_trace::traced_tool;
    use opentelemetry::Context;
    use opentelemetry::trace::{TraceContextExt, TraceId, Tracer, TracerProvider as _};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanProcessor};
    use serde_json::Map;
    use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
    use std::sync::{Arc, Mutex, OnceLock};

    // -- span capture: spans routed by trace id, so parallel cases never scan each
    // other's spans (the in-memory exporter would be quadratic over many cases).

    #[derive(Debug, Default)]
    struct Router(Mutex<HashMap<TraceId, Vec<SpanData>>>);

    #[derive(Debug)]
    struct Routing(Arc<Router>);

    impl SpanProcessor for Routing {
        fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &Context) {}

        fn on_end(&self, span: SpanData) {
            let mut spans = self.0.0.lock().unwrap();
            spans
                .entry(span.span_context.trace_id())
                .or_default()
                .push(span);
        }

        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }

        fn shutdown_with_timeout(&self, _: std::time::Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    fn router() -> &'static Arc<Router> {
        static ROUTER: OnceLock<Arc<Router>> = OnceLock::new();
        ROUTER.get_or_init(|| {
            let router = Arc::new(Router::default());
            let provider = SdkTracerProvider::builder()
                .with_span_processor(Routing(router.clone()))
                .build();
            opentelemetry::global::set_tracer_provider(provider);
            mcp_trace::provider_changed();
            router
        })
    }

    /// Runs `f` under a fresh root span and returns the one span it produced, with its
    /// attributes as a map (asserting no key was set twice).
    fn capture_one(f: impl FnOnce()) -> BTreeMap<String, opentelemetry::Value> {
        let router = router();
        let root = opentelemetry::global::tracer_provider()
            .tracer("properties")
            .start("properties-root");
        let cx = Context::current_with_span(root);
        let trace_id = cx.span().span_context().trace_id();
        {
            let _guard = cx.clone().attach();
            f();
        }
        cx.span().end();
        let spans = router.0.lock().unwrap().remove(&trace_id).unwrap();
        let mut spans: Vec<SpanData> = spans
            .into_iter()
            .filter(|s| s.name != "properties-root")
            .collect();
        assert_eq!(spans.len(), 1, "one span per call");
        let span = spans.pop().unwrap();
        let map: BTreeMap<String, opentelemetry::Value> = span
            .attributes
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.clone()))
            .collect();
        assert_eq!(map.len(), span.attributes.len(), "a key set twice: {map:?}");
        map
    }

    // -- the rules, written from the contract (DESIGN §4), not from shape.rs

    type Attrs = BTreeMap<String, opentelemetry::Value>;

    fn put(attrs: &mut Attrs, key: String, value: impl Into<opentelemetry::Value>) {
        let value = value.into();
        assert!(attrs.insert(key.clone(), value).is_none(), "{key} twice");
    }

    /// Shape of one JSON value under `mcp.tool.args.<name>`: strings by Python `len`
    /// (scalar values), arrays and objects by element count, integers that fit i64 as
    /// themselves, other numbers as floats, booleans as themselves, null as nothing.
    fn shape(attrs: &mut Attrs, name: &str, value: &Value) {
        let base = format!("mcp.tool.args.{name}");
        match value {
            Value::Null => {}
            Value::Bool(b) => put(attrs, base, *b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => put(attrs, base, i),
                None => put(attrs, base, n.as_f64().unwrap()),
            },
            Value::String(s) => put(attrs, format!("{base}.length"), s.chars().count() as i64),
            Value::Array(a) => put(attrs, format!("{base}.count"), a.len() as i64),
            Value::Object(o) => put(attrs, format!("{base}.count"), o.len() as i64),
        }
    }

    /// An optional argument: `.present`, and its shape when present (null is absent).
    fn optional(attrs: &mut Attrs, name: &str, value: Option<&Value>) {
        let value = value.filter(|v| !v.is_null());
        put(
            attrs,
            format!("mcp.tool.args.{name}.present"),
            value.is_some(),
        );
        if let Some(value) = value {
            shape(attrs, name, value);
        }
    }

    fn tool_base(attrs: &mut Attrs, name: &'static str) {
        put(attrs, "mcp.method.name".into(), "tools/call");
        put(attrs, "gen_ai.operation.name".into(), "execute_tool");
        put(attrs, "gen_ai.tool.name".into(), name);
        put(attrs, "mcp.tool.name".into(), name);
    }

    /// The arguments object as a client would send it: null members left out.
    fn without_nulls(map: &Map<String, Value>) -> Value {
        Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    fn hash_and_valid(attrs: &mut Attrs, arguments: &Value) {
        put(
            attrs,
            "mcp.tool.args.hash".into(),
            mcp_trace::args_hash(arguments),
        );
        put(attrs, "mcp.tool.args.schema_valid".into(), true);
    }

    // -- typed parameters

    #[derive(Debug, Clone, serde::Serialize)]
    pub struct Filter {
        pub field: String,
        pub values: Vec<u8>,
        pub note: Option<String>,
    }

    #[derive(Debug, Clone)]
    struct Typed {
        text: String,
        items: Vec<String>,
        n: i64,
        big: u64,
        x: f64,
        flag: bool,
        c: char,
        maybe: Option<String>,
        maybe_list: Option<Vec<u32>>,
        tags: HashSet<String>,
        map: BTreeMap<String, i32>,
        nested: Vec<Vec<u8>>,
        filter: Filter,
        raw: Value,
        maybe_raw: Option<Value>,
    }

    #[traced_tool]
    #[allow(clippy::too_many_arguments)]
    fn typed(
        text: String,
        items: Vec<String>,
        n: i64,
        big: u64,
        x: f64,
        flag: bool,
        c: char,
        maybe: Option<String>,
        maybe_list: Option<Vec<u32>>,
        tags: HashSet<String>,
        map: BTreeMap<String, i32>,
        nested: Vec<Vec<u8>>,
        filter: Filter,
        raw: Value,
        maybe_raw: Option<Value>,
    ) -> bool {
        let _ = (
            text, items, n, big, x, flag, c, maybe, maybe_list, tags, map, nested, filter, raw,
            maybe_raw,
        );
        true
    }

    fn float() -> impl Strategy<Value = f64> {
        any::<u64>().prop_map(float_from)
    }

    fn typed_strategy() -> impl Strategy<Value = Typed> {
        let strings = || proptest::collection::vec(string(6), 0..5);
        (
            (
                string(16),
                strings(),
                any::<i64>(),
                any::<u64>(),
                float(),
                any::<bool>(),
                any_char(),
                proptest::option::of(string(8)),
            ),
            (
                proptest::option::of(proptest::collection::vec(any::<u32>(), 0..5)),
                proptest::collection::hash_set(string(4), 0..5),
                proptest::collection::btree_map(string(4), any::<i32>(), 0..5),
                proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3), 0..4),
                (
                    string(6),
                    proptest::collection::vec(any::<u8>(), 0..4),
                    proptest::option::of(string(3)),
                ),
                json(3),
                proptest::option::of(
                    json(2).prop_filter("Some(null) is not an argument a client can send", |v| {
                        !v.is_null()
                    }),
                ),
            ),
        )
            .prop_map(
                |(
                    (text, items, n, big, x, flag, c, maybe),
                    (maybe_list, tags, map, nested, (field, values, note), raw, maybe_raw),
                )| Typed {
                    text,
                    items,
                    n,
                    big,
                    x,
                    flag,
                    c,
                    maybe,
                    maybe_list,
                    tags,
                    map,
                    nested,
                    filter: Filter {
                        field,
                        values,
                        note,
                    },
                    raw,
                    maybe_raw,
                },
            )
    }

    /// The expected attributes, and the arguments object a client would have sent.
    fn typed_expected(args: &Typed) -> (Attrs, Value) {
        fn json<T: serde::Serialize>(value: &T) -> Value {
            serde_json::to_value(value).unwrap()
        }
        let params: [(&str, bool, Value); 15] = [
            ("text", false, json(&args.text)),
            ("items", false, json(&args.items)),
            ("n", false, json(&args.n)),
            ("big", false, json(&args.big)),
            ("x", false, json(&args.x)),
            ("flag", false, json(&args.flag)),
            ("c", false, json(&args.c)),
            ("maybe", true, json(&args.maybe)),
            ("maybe_list", true, json(&args.maybe_list)),
            ("tags", false, json(&args.tags)),
            ("map", false, json(&args.map)),
            ("nested", false, json(&args.nested)),
            ("filter", false, json(&args.filter)),
            ("raw", false, json(&args.raw)),
            ("maybe_raw", true, json(&args.maybe_raw)),
        ];
        let mut attrs = Attrs::new();
        tool_base(&mut attrs, "typed");
        let mut object = Map::new();
        for (name, is_optional, value) in params {
            if is_optional {
                optional(&mut attrs, name, Some(&value));
            } else {
                shape(&mut attrs, name, &value);
            }
            // An absent optional is left out; a required parameter's `null` was sent.
            if !(is_optional && value.is_null()) {
                object.insert(name.to_owned(), value);
            }
        }
        let arguments = Value::Object(object);
        hash_and_valid(&mut attrs, &arguments);
        (attrs, arguments)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn typed_parameter_shapes_agree_with_their_json(args in typed_strategy()) {
            let (expected, arguments) = typed_expected(&args);
            let call = |a: Typed| {
                typed(
                    a.text, a.items, a.n, a.big, a.x, a.flag, a.c, a.maybe, a.maybe_list,
                    a.tags, a.map, a.nested, a.filter, a.raw, a.maybe_raw,
                )
            };
            let a = args.clone();
            let got = capture_one(|| {
                call(a);
            });
            prop_assert_eq!(&got, &expected, "typed parameters");
            // The same call arriving with its raw arguments (as through an adapter):
            // the same attributes.
            let got = capture_one(|| {
                mcp_trace::scope().arguments(arguments).run_sync(|| call(args));
            });
            prop_assert_eq!(&got, &expected, "raw arguments");
        }
    }

    #[traced_tool]
    fn takes_value(raw: Value, n: u8) -> bool {
        let _ = (raw, n);
        true
    }

    /// A client sending `{"raw": null, "n": 1}` to a handler whose `raw: Value` is a
    /// required parameter made a valid call, and Python hashes the object with the
    /// null member. Called with the typed parameters alone (no adapter), the rebuilt
    /// arguments leave the null out: the span says `schema_valid = false` (`"raw" is a
    /// required property`) and the hash is of `{"n": 1}`.
    #[test]
    fn required_null_parameter_is_an_argument() {
        let arguments = serde_json::json!({"raw": null, "n": 1});
        let mut expected = Attrs::new();
        tool_base(&mut expected, "takes_value");
        put(&mut expected, "mcp.tool.args.n".into(), 1);
        hash_and_valid(&mut expected, &arguments);
        let raw = capture_one(|| {
            mcp_trace::scope()
                .arguments(arguments)
                .run_sync(|| takes_value(Value::Null, 1));
        });
        assert_eq!(raw, expected, "raw arguments");
        let typed = capture_one(|| {
            takes_value(Value::Null, 1);
        });
        assert_eq!(typed, expected, "typed parameters");
    }

    // -- a flattened `#[args]` map: its keys counted (with a schema), else named when
    // identifier-like, at most 64

    #[traced_tool]
    fn flat_map(#[args] args: Map<String, Value>) -> bool {
        let _ = args;
        true
    }

    /// Keys: identifier-like ones (some longer than the 64-byte limit), and anything.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[A-Za-z0-9_-]{1,8}",
            1 => "[a-z_]{60,70}",
            2 => string(6),
        ]
    }

    fn flat_map_expected(args: &Map<String, Value>) -> Attrs {
        let mut attrs = Attrs::new();
        tool_base(&mut attrs, "flat_map");
        if cfg!(feature = "schema-check") {
            // The map's schema declares no property: every key is the client's, counted.
            if !args.is_empty() {
                put(
                    &mut attrs,
                    "mcp.tool.args.undeclared_count".into(),
                    args.len() as i64,
                );
            }
        } else {
            let identifier = |k: &str| {
                !k.is_empty()
                    && k.len() <= 64
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            };
            // Sorted (serde_json's map is ordered by key), the first 64 identifier-like.
            let keys: BTreeSet<&String> = args.keys().filter(|k| identifier(k)).collect();
            for name in keys.into_iter().take(64) {
                match &args[name] {
                    Value::Null => put(&mut attrs, format!("mcp.tool.args.{name}.present"), false),
                    value => shape(&mut attrs, name, value),
                }
            }
        }
        hash_and_valid(&mut attrs, &without_nulls(args));
        attrs
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn flattened_map_shapes_agree_with_its_json(
            args in prop_oneof![
                3 => proptest::collection::btree_map(key(), json(2), 0..10),
                1 => proptest::collection::btree_map(key(), leaf(), 60..90),
            ].prop_map(|m| m.into_iter().collect::<Map<String, Value>>())
        ) {
            let expected = flat_map_expected(&args);
            let a = args.clone();
            let got = capture_one(|| {
                flat_map(a);
            });
            prop_assert_eq!(got, expected);
        }
    }

    // -- a flattened `#[args]` struct: the schema's properties, `.present` for the
    // optional ones, plus a plain parameter

    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    pub struct Query {
        pub query: String,
        pub limit: Option<u32>,
        pub tags: Vec<String>,
        pub extra: Option<Value>,
    }

    #[traced_tool]
    fn flat_struct(#[args] args: Query, page: u8) -> bool {
        let _ = (args, page);
        true
    }

    fn flat_struct_expected(args: &Query, page: u8) -> Attrs {
        let json = serde_json::to_value(args).unwrap();
        let fields = json.as_object().unwrap();
        let mut attrs = Attrs::new();
        tool_base(&mut attrs, "flat_struct");
        shape(&mut attrs, "page", &Value::from(page));
        shape(&mut attrs, "query", &fields["query"]);
        shape(&mut attrs, "tags", &fields["tags"]);
        optional(&mut attrs, "limit", fields.get("limit"));
        optional(&mut attrs, "extra", fields.get("extra"));
        let mut object = fields.clone();
        object.insert("page".into(), Value::from(page));
        hash_and_valid(&mut attrs, &without_nulls(&object));
        attrs
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn flattened_struct_shapes_agree_with_its_json(
            query in string(12),
            limit in proptest::option::of(any::<u32>()),
            tags in proptest::collection::vec(string(4), 0..5),
            extra in proptest::option::of(json(2).prop_filter(
                "Some(null) is not an argument a client can send",
                |v| !v.is_null(),
            )),
            page in any::<u8>(),
        ) {
            let args = Query { query, limit, tags, extra };
            let expected = flat_struct_expected(&args, page);
            let got = capture_one(|| {
                flat_struct(args, page);
            });
            prop_assert_eq!(got, expected);
        }
    }

    // -- raw arguments from the request scope: shaped as sent, whatever their types;
    // keys that are not parameters only counted

    #[traced_tool]
    fn raw_args(query: String, limit: Option<i64>, tags: Vec<String>) -> bool {
        let _ = (query, limit, tags);
        true
    }

    /// One parameter's member in the raw object.
    #[derive(Debug, Clone)]
    enum Member {
        Absent,
        Null,
        /// Of the parameter's type.
        Good(Value),
        /// Of another JSON type.
        Wrong(Value),
    }

    impl Member {
        fn value(&self) -> Option<&Value> {
            match self {
                Member::Good(v) | Member::Wrong(v) => Some(v),
                Member::Absent | Member::Null => None,
            }
        }
    }

    fn member(
        good: impl Strategy<Value = Value> + 'static,
        wrong: impl Fn(&Value) -> bool + 'static,
    ) -> impl Strategy<Value = Member> {
        prop_oneof![
            1 => Just(Member::Absent),
            1 => Just(Member::Null),
            4 => good.prop_map(Member::Good),
            2 => json(2)
                .prop_filter("of another type", move |v| !v.is_null() && wrong(v))
                .prop_map(Member::Wrong),
        ]
    }

    #[derive(Debug, Clone)]
    struct Raw {
        query: Member,
        limit: Member,
        tags: Member,
        extra: BTreeMap<String, Value>,
    }

    impl Raw {
        fn object(&self) -> Value {
            let mut map: Map<String, Value> = self.extra.clone().into_iter().collect();
            for (name, member) in [
                ("query", &self.query),
                ("limit", &self.limit),
                ("tags", &self.tags),
            ] {
                match member {
                    Member::Absent => {}
                    Member::Null => {
                        map.insert(name.into(), Value::Null);
                    }
                    Member::Good(v) | Member::Wrong(v) => {
                        map.insert(name.into(), v.clone());
                    }
                }
            }
            Value::Object(map)
        }

        /// Valid against the schema derived from the parameter types.
        fn valid(&self) -> bool {
            matches!(self.query, Member::Good(_))
                && matches!(self.tags, Member::Good(_))
                && !matches!(self.limit, Member::Wrong(_))
        }

        /// Where the first schema error may point.
        fn error_may_point_at(&self, pointer: &str) -> bool {
            let at = |name: &str, member: &Member| match member {
                Member::Absent => pointer.is_empty(),
                Member::Null | Member::Wrong(_) => {
                    pointer == format!("/{name}") || pointer.starts_with(&format!("/{name}/"))
                }
                Member::Good(_) => false,
            };
            at("query", &self.query) || at("tags", &self.tags) || at("limit", &self.limit)
        }
    }

    fn raw_strategy() -> impl Strategy<Value = Raw> {
        let is_string_array =
            |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
        (
            member(string(12).prop_map(Value::String), |v| !v.is_string()),
            // Numbers are never "wrong" here: whether a float is an integer is the
            // validator's business, not this test's.
            member(any::<i64>().prop_map(Value::from), |v| !v.is_number()),
            member(
                proptest::collection::vec(string(4).prop_map(Value::String), 0..5)
                    .prop_map(Value::Array),
                move |v| !is_string_array(v),
            ),
            proptest::collection::btree_map(
                key().prop_filter("not a parameter", |k| {
                    !["query", "limit", "tags"].contains(&k.as_str())
                }),
                json(2),
                0..5,
            ),
        )
            .prop_map(|(query, limit, tags, extra)| Raw {
                query,
                limit,
                tags,
                extra,
            })
    }

    fn raw_expected(raw: &Raw) -> Attrs {
        let mut attrs = Attrs::new();
        tool_base(&mut attrs, "raw_args");
        if let Some(v) = raw.query.value() {
            shape(&mut attrs, "query", v);
        }
        optional(&mut attrs, "limit", raw.limit.value());
        if let Some(v) = raw.tags.value() {
            shape(&mut attrs, "tags", v);
        }
        if !raw.extra.is_empty() {
            put(
                &mut attrs,
                "mcp.tool.args.undeclared_count".into(),
                raw.extra.len() as i64,
            );
        }
        put(
            &mut attrs,
            "mcp.tool.args.hash".into(),
            mcp_trace::args_hash(&raw.object()),
        );
        put(&mut attrs, "mcp.tool.args.schema_valid".into(), raw.valid());
        attrs
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn raw_argument_shapes_agree_with_the_json_sent(raw in raw_strategy()) {
            let expected = raw_expected(&raw);
            let object = raw.object();
            let mut got = capture_one(|| {
                mcp_trace::scope()
                    .arguments(object)
                    .run_sync(|| raw_args("typed".into(), Some(1), vec![]));
            });
            if !raw.valid() {
                // The first error's pointer and masked message are the validator's;
                // here only where it points is checked.
                let pointer = got.remove("mcp.tool.args.schema_error_path");
                let message = got.remove("mcp.tool.args.schema_error_message");
                let count = got.remove("mcp.tool.args.schema_error_count");
                let Some(opentelemetry::Value::String(pointer)) = pointer else {
                    panic!("no error path: {pointer:?}");
                };
                prop_assert!(
                    raw.error_may_point_at(pointer.as_str()),
                    "error at {:?} for {:?}", pointer.as_str(), raw
                );
                prop_assert!(matches!(message, Some(opentelemetry::Value::String(_))));
                prop_assert!(
                    matches!(count, Some(opentelemetry::Value::I64(n)) if n >= 1),
                    "count {:?}", count
                );
            }
            prop_assert_eq!(got, expected);
        }
    }
}
