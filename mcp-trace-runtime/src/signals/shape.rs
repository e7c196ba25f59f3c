//! Argument shapes: lengths, counts, numbers and booleans, never string content.
//!
//! Typed parameters are shaped through [`TypedShape`] with no serialization; JSON
//! (raw scope arguments, `serde_json::Value` parameters, the `Serialize` fallback and
//! flattened `#[args]` objects) through [`shape_json`].

use crate::signals::fields::{DeclaredField, FieldInfo, ParamMeta, is_key_safe};
use opentelemetry::{Key, KeyValue};
use serde_json::Value;

/// Most top-level keys shaped from one flattened object whose schema is unknown, and
/// the longest key accepted: client-chosen keys must not explode attribute cardinality.
const MAX_FLATTENED_KEYS: usize = 64;

/// Most declared properties shaped for one call: each may take two attributes, and a
/// span keeps 128 (the SDK's default limit), which must leave room for the hash, the
/// verdict and the outcome recorded after them.
const MAX_DECLARED_FIELDS: usize = 48;

/// Where a parameter's attribute keys come from.
#[derive(Clone, Copy)]
pub(crate) enum Keys<'a> {
    /// Built by the macro at compile time.
    Static(&'static ParamMeta),
    /// A declared top-level field of a flattened arguments object, keys prebuilt.
    Declared(&'a [Key; 4]),
    /// A top-level field of the server's own serialization, with no schema.
    Field(&'a str),
}

/// Which of a parameter's attributes a shape is: its value, or its `.length`,
/// `.count` or `.present`.
#[derive(Clone, Copy)]
pub(crate) enum Suffix {
    Value,
    Length,
    Count,
    Present,
}

impl Suffix {
    fn as_str(self) -> &'static str {
        match self {
            Suffix::Value => "",
            Suffix::Length => ".length",
            Suffix::Count => ".count",
            Suffix::Present => ".present",
        }
    }
}

impl Keys<'_> {
    fn key(self, suffix: Suffix) -> Key {
        match self {
            Keys::Static(p) => Key::from_static_str(match suffix {
                Suffix::Value => p.value_key,
                Suffix::Length => p.length_key,
                Suffix::Count => p.count_key,
                Suffix::Present => p.present_key,
            }),
            Keys::Declared([value, length, count, present]) => match suffix {
                Suffix::Value => value.clone(),
                Suffix::Length => length.clone(),
                Suffix::Count => count.clone(),
                Suffix::Present => present.clone(),
            },
            Keys::Field(name) => Key::new(format!(
                "{}{name}{}",
                crate::keys::ARGS_PREFIX,
                suffix.as_str()
            )),
        }
    }
}

/// Handed to the macro-generated recording closure: collects shape attributes and,
/// when the hash or the schema check needs them, the arguments rebuilt from the
/// parameters: as a JSON object when it must be validated, else only as the canonical
/// bytes the hash reads.
#[derive(Debug)]
pub struct ArgsRecorder<'a> {
    pub(crate) attrs: &'a mut Vec<KeyValue>,
    /// `Some` when the arguments object must be rebuilt as JSON from typed parameters.
    pub(crate) json: Option<serde_json::Map<String, Value>>,
    /// `Some` when only the hash reads the arguments: their canonical bytes.
    #[cfg(feature = "args-hash")]
    pub(crate) canonical: Option<CanonicalArgs>,
    /// The JSON of a parameter that *is* the arguments object.
    pub(crate) flattened: Option<Value>,
    /// Parameters whose JSON could not be produced (no `Serialize`): absent from the
    /// rebuilt object, so "required" errors about them are not the client's.
    pub(crate) unseen: Vec<&'static str>,
    /// The arguments-object parameter could not be serialized.
    pub(crate) flattened_unseen: bool,
    /// Shape attributes are wanted (not when only a metric's verdict is).
    pub(crate) shapes: bool,
}

/// What the typed parameters are rebuilt into, when anything reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rebuild {
    Nothing,
    /// A JSON object: the validator (or a flattened `#[args]` object) needs it.
    Json,
    /// Canonical bytes per parameter, for the hash alone.
    #[cfg(feature = "args-hash")]
    Canonical,
}

/// Each parameter's canonical JSON (`hash::canonical`), in one buffer, for the hash.
#[cfg(feature = "args-hash")]
#[derive(Debug)]
pub(crate) struct CanonicalArgs {
    pub(crate) bytes: Vec<u8>,
    /// The parameter and its bytes' range in `bytes`.
    pub(crate) members: Vec<(&'static ParamMeta, std::ops::Range<usize>)>,
}

#[cfg(feature = "args-hash")]
impl CanonicalArgs {
    /// Sized for a typical call's arguments, so that they are written without regrowing.
    fn new() -> Self {
        Self {
            bytes: Vec::with_capacity(256),
            members: Vec::with_capacity(4),
        }
    }
}

impl<'a> ArgsRecorder<'a> {
    pub(crate) fn new(attrs: &'a mut Vec<KeyValue>, rebuild: Rebuild) -> Self {
        Self {
            attrs,
            json: (rebuild == Rebuild::Json).then(serde_json::Map::new),
            #[cfg(feature = "args-hash")]
            canonical: (rebuild == Rebuild::Canonical).then(CanonicalArgs::new),
            flattened: None,
            unseen: Vec::new(),
            flattened_unseen: false,
            shapes: true,
        }
    }

    /// The same recorder, rebuilding the arguments only: no shape attribute is kept.
    #[cfg_attr(
        not(all(feature = "metrics", feature = "schema-check")),
        allow(dead_code)
    )]
    pub(crate) fn without_shapes(mut self) -> Self {
        self.shapes = false;
        self
    }

    /// Whether [`ArgsRecorder::serialized`] is worth calling.
    pub fn wants_json(&self) -> bool {
        #[cfg(feature = "args-hash")]
        if self.canonical.is_some() {
            return true;
        }
        self.json.is_some()
    }

    /// Adds a parameter's value to the rebuilt arguments. An optional parameter's
    /// `null` (absent) is left out as a client would leave it out; a required
    /// parameter's `null` is a value the client sent.
    pub fn serialized<T: serde::Serialize + ?Sized>(&mut self, p: &'static ParamMeta, value: &T) {
        #[cfg(feature = "args-hash")]
        if let Some(canonical) = self.canonical.as_mut() {
            let start = canonical.bytes.len();
            match crate::signals::hash::canonical::write(value, &mut canonical.bytes) {
                Ok(()) if p.optional && &canonical.bytes[start..] == b"null" => {
                    canonical.bytes.truncate(start);
                }
                Ok(()) => {
                    let end = canonical.bytes.len();
                    canonical.members.push((p, start..end));
                }
                Err(_) => {
                    canonical.bytes.truncate(start);
                    self.unseen.push(p.name);
                }
            }
            return;
        }
        if self.json.is_some() {
            self.insert_json(p, crate::signals::depth::to_value(value));
        }
    }

    /// A parameter with no JSON form (no `Serialize`).
    pub fn unseen(&mut self, p: &'static ParamMeta) {
        if self.wants_json() {
            self.unseen.push(p.name);
        }
    }

    fn insert_json(&mut self, p: &'static ParamMeta, value: Option<Value>) {
        let Some(map) = self.json.as_mut() else {
            return;
        };
        match value {
            Some(Value::Null) if p.optional => {}
            Some(value) => {
                map.insert(p.name.to_owned(), value);
            }
            None => self.unseen.push(p.name),
        }
    }

    /// The JSON of an `#[args]` / `Parameters<T>` parameter: its fields are arguments.
    pub fn flatten(&mut self, value: Option<Value>) {
        self.flattened_unseen = value.is_none();
        self.flattened = value;
    }

    pub(crate) fn push(
        &mut self,
        keys: Keys<'_>,
        suffix: Suffix,
        value: impl Into<opentelemetry::Value>,
    ) {
        if self.shapes {
            self.attrs.push(KeyValue::new(keys.key(suffix), value));
        }
    }

    /// `.length` in Unicode scalar values.
    pub fn length(&mut self, p: &'static ParamMeta, chars: usize) {
        self.push(Keys::Static(p), Suffix::Length, saturating_i64(chars));
    }

    /// `.count` of elements or entries.
    pub fn count(&mut self, p: &'static ParamMeta, n: usize) {
        self.push(Keys::Static(p), Suffix::Count, saturating_i64(n));
    }

    pub fn int(&mut self, p: &'static ParamMeta, value: i128) {
        match i64::try_from(value) {
            Ok(v) => self.push(Keys::Static(p), Suffix::Value, v),
            // Outside the 64-bit attribute range: keep the magnitude as a float.
            Err(_) => self.push(Keys::Static(p), Suffix::Value, value as f64),
        }
    }

    pub fn float(&mut self, p: &'static ParamMeta, value: f64) {
        self.push(Keys::Static(p), Suffix::Value, value);
    }

    pub fn boolean(&mut self, p: &'static ParamMeta, value: bool) {
        self.push(Keys::Static(p), Suffix::Value, value);
    }

    /// `.present` of an `Option` parameter.
    pub fn present(&mut self, p: &'static ParamMeta, present: bool) {
        self.push(Keys::Static(p), Suffix::Present, present);
    }

    /// The shape of a JSON value under the parameter's keys.
    pub fn json(&mut self, p: &'static ParamMeta, value: &Value) {
        shape_json(self, Keys::Static(p), value);
    }
}

/// `s.chars().count()`, eight bytes at a time: every byte that does not continue a
/// character (`0b10xx_xxxx`) starts one. Several times faster than the standard
/// library's count on the short strings arguments mostly are.
pub(crate) fn char_count(s: &str) -> usize {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let bytes = s.as_bytes();
    let mut words = bytes.chunks_exact(8);
    let mut continuations = 0;
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        // Bit 7 of each byte set and bit 6 clear, moved down to bit 0, then summed
        // into the top byte (at most 8: no carry).
        let marks = (w & !(w << 1) & HIGH) >> 7;
        continuations += (marks.wrapping_mul(ONES) >> 56) as usize;
    }
    continuations += words
        .remainder()
        .iter()
        .filter(|&&b| b & 0xc0 == 0x80)
        .count();
    bytes.len() - continuations
}

fn saturating_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Shape of one JSON value: strings by length, arrays and objects by count, numbers
/// and booleans as themselves, `null` as nothing.
pub(crate) fn shape_json(rec: &mut ArgsRecorder<'_>, keys: Keys<'_>, value: &Value) {
    match value {
        Value::Null => {}
        Value::Bool(b) => rec.push(keys, Suffix::Value, *b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                rec.push(keys, Suffix::Value, i);
            } else if let Some(f) = n.as_f64() {
                rec.push(keys, Suffix::Value, f);
            }
        }
        Value::String(s) => rec.push(keys, Suffix::Length, saturating_i64(char_count(s))),
        Value::Array(items) => rec.push(keys, Suffix::Count, saturating_i64(items.len())),
        Value::Object(map) => rec.push(keys, Suffix::Count, saturating_i64(map.len())),
    }
}

/// Shapes the raw arguments object as sent, guided by the handler's parameters.
/// Keys that are neither a parameter nor a declared field are counted, never named.
pub(crate) fn shape_raw(
    rec: &mut ArgsRecorder<'_>,
    params: &'static [ParamMeta],
    flattened: Option<&FieldInfo<'_>>,
    raw: &Value,
) {
    let Value::Object(map) = raw else { return };
    for p in params {
        let value = map.get(p.name).filter(|v| !v.is_null());
        if p.optional {
            rec.present(p, value.is_some());
        }
        if let Some(value) = value {
            rec.json(p, value);
        }
    }
    let named = |k: &str| params.iter().any(|p| p.name == k);
    match flattened {
        Some(fields) => shape_fields(rec, map, fields, KeySource::Client, named),
        None => count_undeclared(rec, map.keys().filter(|k| !named(k)).count()),
    }
}

/// Who chose the keys of an object being shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// The server's own `Serialize` output: its field names may name attributes.
    Server,
    /// The client, as sent: only names the schema declares may name attributes.
    Client,
}

/// Shapes the top-level fields of a flattened object: declared properties when the
/// schema is known (with `.present` for optional ones); without a schema, the
/// identifier-like keys of the server's own serialization. Client keys the schema does
/// not declare are only counted (`mcp.tool.args.undeclared_count`).
pub(crate) fn shape_fields(
    rec: &mut ArgsRecorder<'_>,
    map: &serde_json::Map<String, Value>,
    fields: &FieldInfo<'_>,
    source: KeySource,
    skip: impl Fn(&str) -> bool,
) {
    match (&fields.properties, source) {
        (Some(properties), _) => {
            for field in properties.iter().take(MAX_DECLARED_FIELDS) {
                let DeclaredField {
                    name,
                    optional,
                    keys: Some(keys),
                } = field
                else {
                    continue;
                };
                if skip(name) {
                    continue;
                }
                let value = map.get(name).filter(|v| !v.is_null());
                if *optional {
                    rec.push(Keys::Declared(keys), Suffix::Present, value.is_some());
                }
                if let Some(value) = value {
                    shape_json(rec, Keys::Declared(keys), value);
                }
            }
            if source == KeySource::Client {
                let undeclared = map
                    .keys()
                    .filter(|k| !skip(k) && !properties.iter().any(|p| p.name == **k))
                    .count();
                count_undeclared(rec, undeclared);
            }
        }
        (None, KeySource::Server) => {
            let keys = map.iter().filter(|(k, _)| !skip(k) && is_key_safe(k));
            for (name, value) in keys.take(MAX_FLATTENED_KEYS) {
                if value.is_null() {
                    rec.push(Keys::Field(name), Suffix::Present, false);
                } else {
                    shape_json(rec, Keys::Field(name), value);
                }
            }
        }
        (None, KeySource::Client) => {
            count_undeclared(rec, map.keys().filter(|k| !skip(k)).count());
        }
    }
}

fn count_undeclared(rec: &mut ArgsRecorder<'_>, n: usize) {
    if n > 0 {
        rec.attrs.push(KeyValue::new(
            crate::keys::UNDECLARED_COUNT,
            saturating_i64(n),
        ));
    }
}

/// Keys that may become part of an attribute name.
/// Types whose shape is known from the type itself, with no serialization.
pub trait TypedShape {
    fn record_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta);
}

macro_rules! length_shape {
    ($($ty:ty),*) => {$(
        impl TypedShape for $ty {
            fn record_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta) {
                let s: &str = self.as_ref();
                rec.length(p, char_count(s));
            }
        }
    )*};
}
length_shape!(str, String, std::borrow::Cow<'_, str>);

impl TypedShape for char {
    fn record_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta) {
        rec.length(p, 1);
    }
}

macro_rules! count_shape {
    ($([$($gen:tt)*] $ty:ty),* $(,)?) => {$(
        impl<$($gen)*> TypedShape for $ty {
            fn record_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta) {
                rec.count(p, self.len());
            }
        }
    )*};
}
count_shape!(
    [T] [T],
    [T] Vec<T>,
    [T, const N: usize] [T; N],
    [T] std::collections::VecDeque<T>,
    [T] std::collections::LinkedList<T>,
    [T] std::collections::BinaryHeap<T>,
    [T, S] std::collections::HashSet<T, S>,
    [T] std::collections::BTreeSet<T>,
    [K, V, S] std::collections::HashMap<K, V, S>,
    [K, V] std::collections::BTreeMap<K, V>,
    [] serde_json::Map<String, Value>,
);

macro_rules! int_shape {
    ($($ty:ty),*) => {$(
        impl TypedShape for $ty {
            fn record_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta) {
                rec.int(p, *self as i128);
            }
        }
    )*};
}
int_shape!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, usize);

impl TypedShape for u128 {
    fn record_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta) {
        match i128::try_from(*self) {
            Ok(v) => rec.int(p, v),
            Err(_) => rec.float(p, *self as f64),
        }
    }
}

impl TypedShape for f32 {
    fn record_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta) {
        rec.float(p, f64::from(*self));
    }
}

impl TypedShape for f64 {
    fn record_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta) {
        rec.float(p, *self);
    }
}

impl TypedShape for bool {
    fn record_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta) {
        rec.boolean(p, *self);
    }
}

impl TypedShape for Value {
    fn record_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta) {
        rec.json(p, self);
    }
}

macro_rules! deref_shape {
    ($($ty:ty),*) => {$(
        impl<T: TypedShape + ?Sized> TypedShape for $ty {
            fn record_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta) {
                (**self).record_shape(rec, p);
            }
        }
    )*};
}
deref_shape!(&T, &mut T, Box<T>, std::rc::Rc<T>, std::sync::Arc<T>);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static P: ParamMeta = ParamMeta::new(
        "q",
        "\"q\": ",
        [
            "mcp.tool.args.q",
            "mcp.tool.args.q.length",
            "mcp.tool.args.q.count",
            "mcp.tool.args.q.present",
        ],
        true,
    );

    fn render(attrs: &[KeyValue]) -> Vec<String> {
        attrs
            .iter()
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect()
    }

    #[test]
    fn char_count_agrees_with_chars() {
        let samples = [
            "a",
            "é",
            "€",
            "😀",
            "\u{7ff}",
            "\u{800}",
            "\u{ffff}",
            "\u{10000}",
        ];
        // Every mix of up to three samples, at every offset of a word.
        for pad in 0..9 {
            for a in samples {
                for b in samples {
                    for c in samples {
                        let s = format!("{}{a}{b}{c}{}", "x".repeat(pad), "y".repeat(pad % 5));
                        assert_eq!(char_count(&s), s.chars().count(), "{s:?}");
                    }
                }
            }
        }
        assert_eq!(char_count(""), 0);
    }

    #[test]
    fn typed_shapes_count_scalars_not_bytes() {
        let mut attrs = Vec::new();
        let mut rec = ArgsRecorder::new(&mut attrs, Rebuild::Nothing);
        "héllo😀".record_shape(&mut rec, &P);
        vec![1, 2, 3].record_shape(&mut rec, &P);
        u64::MAX.record_shape(&mut rec, &P);
        (-3i8).record_shape(&mut rec, &P);
        true.record_shape(&mut rec, &P);
        assert_eq!(
            render(&attrs),
            [
                "mcp.tool.args.q.length=6",
                "mcp.tool.args.q.count=3",
                "mcp.tool.args.q=18446744073709552000",
                "mcp.tool.args.q=-3",
                "mcp.tool.args.q=true"
            ]
        );
    }

    #[test]
    fn raw_shapes_mark_absent_and_null_options() {
        static PARAMS: [ParamMeta; 1] = [ParamMeta::new(
            "limit",
            "\"limit\": ",
            [
                "mcp.tool.args.limit",
                "l.length",
                "l.count",
                "mcp.tool.args.limit.present",
            ],
            true,
        )];
        for raw in [json!({}), json!({"limit": null})] {
            let mut attrs = Vec::new();
            shape_raw(
                &mut ArgsRecorder::new(&mut attrs, Rebuild::Nothing),
                &PARAMS,
                None,
                &raw,
            );
            assert_eq!(render(&attrs), ["mcp.tool.args.limit.present=false"]);
        }
    }

    #[test]
    fn client_keys_never_name_attributes() {
        let raw = json!({"declared": "abc", "SENTINEL_KEY": 1, "other": [1, 2]});
        let map = raw.as_object().unwrap();
        let properties = [
            DeclaredField::new("declared".to_owned(), false),
            DeclaredField::new("missing".to_owned(), true),
        ];
        let with_schema = FieldInfo {
            properties: Some(&properties),
        };
        let mut attrs = Vec::new();
        let mut rec = ArgsRecorder::new(&mut attrs, Rebuild::Nothing);
        shape_fields(&mut rec, map, &with_schema, KeySource::Client, |_| false);
        assert_eq!(
            render(&attrs),
            [
                "mcp.tool.args.declared.length=3",
                "mcp.tool.args.missing.present=false",
                "mcp.tool.args.undeclared_count=2",
            ]
        );

        attrs.clear();
        let mut rec = ArgsRecorder::new(&mut attrs, Rebuild::Nothing);
        shape_fields(
            &mut rec,
            map,
            &FieldInfo::default(),
            KeySource::Client,
            |k| k == "declared",
        );
        assert_eq!(render(&attrs), ["mcp.tool.args.undeclared_count=2"]);
    }

    #[test]
    fn unknown_flattened_keys_are_filtered_and_capped() {
        let mut map = serde_json::Map::new();
        map.insert("ok_key".into(), json!("abc"));
        map.insert("bad key".into(), json!(1));
        map.insert("x".repeat(65), json!(1));
        for i in 0..100 {
            map.insert(format!("k{i:03}"), json!(i));
        }
        let mut attrs = Vec::new();
        let info = FieldInfo::default();
        shape_fields(
            &mut ArgsRecorder::new(&mut attrs, Rebuild::Nothing),
            &map,
            &info,
            KeySource::Server,
            |_| false,
        );
        assert_eq!(attrs.len(), MAX_FLATTENED_KEYS);
        assert!(
            render(&attrs)
                .iter()
                .all(|a| !a.contains("bad key") && !a.contains("xxx"))
        );
    }
}
