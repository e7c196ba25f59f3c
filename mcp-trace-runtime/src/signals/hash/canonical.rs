//! Python's canonical JSON written straight from a typed value through `serde`, with
//! no `serde_json::Value` in between.
//!
//! The bytes are exactly those [`super::py_json::write_value`] prints for
//! `serde_json::to_value(value)`: the same number forms, escapes and sorted keys, and
//! the same failures (a map key that is not a string or a number, an integer outside
//! 64 bits, nesting past [`crate::signals::depth::MAX_DEPTH`]), so the typed path and the JSON
//! path agree on every hash. Maps and structs are buffered per level to sort their
//! keys; everything else is written in order.

use super::py_json::{self, Sink};
use crate::signals::depth::MAX_DEPTH;
use serde::ser::{self, Serialize};
use std::fmt;

/// Why a value has no canonical form (it then has no JSON form either).
#[derive(Debug)]
pub(crate) struct Unrepresentable;

impl fmt::Display for Unrepresentable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("value has no JSON form")
    }
}

impl std::error::Error for Unrepresentable {}

impl ser::Error for Unrepresentable {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unrepresentable
    }
}

type Result<T = ()> = std::result::Result<T, Unrepresentable>;

/// Appends the canonical form of `value` to `out`; on failure `out` may hold a partial
/// write, which the caller discards.
pub(crate) fn write<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result {
    value.serialize(Canonical { out, depth: 0 })
}

struct Canonical<'a> {
    out: &'a mut Vec<u8>,
    depth: usize,
}

impl Canonical<'_> {
    /// The depth of a container's contents: one level (`levels = 1`), or two for
    /// `{"Variant": [..]}` and `{"Variant": {..}}`; an error past [`MAX_DEPTH`], counted
    /// exactly as [`crate::signals::depth::to_value`] counts.
    fn nested(&self, levels: usize) -> Result<usize> {
        if self.depth + levels > MAX_DEPTH {
            return Err(Unrepresentable);
        }
        Ok(self.depth + levels)
    }

    fn int(self, n: impl itoa::Integer) -> Result {
        py_json::put_integer(n, self.out);
        Ok(())
    }
}

impl<'a> ser::Serializer for Canonical<'a> {
    type Ok = ();
    type Error = Unrepresentable;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Members<'a>;
    type SerializeStruct = Members<'a>;
    type SerializeStructVariant = Members<'a>;

    fn serialize_bool(self, v: bool) -> Result {
        self.out.put(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.int(v)
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.int(v)
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.int(v)
    }
    fn serialize_i64(self, v: i64) -> Result {
        self.int(v)
    }
    fn serialize_i128(self, v: i128) -> Result {
        // serde_json (without arbitrary precision) has no number past 64 bits.
        if i64::try_from(v).is_ok() || u64::try_from(v).is_ok() {
            self.int(v)
        } else {
            Err(Unrepresentable)
        }
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.int(v)
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.int(v)
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.int(v)
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.int(v)
    }
    fn serialize_u128(self, v: u128) -> Result {
        match u64::try_from(v) {
            Ok(v) => self.int(v),
            Err(_) => Err(Unrepresentable),
        }
    }
    fn serialize_f32(self, v: f32) -> Result {
        // As `serde_json::Value` holds it: the `f32` widened to `f64`.
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result {
        if v.is_finite() {
            self.out.put(py_json::float_repr(v).as_bytes());
        } else {
            // `serde_json::to_value` turns a non-finite float into `null`.
            self.out.put(b"null");
        }
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result {
        py_json::write_str(v.encode_utf8(&mut [0; 4]), self.out);
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result {
        py_json::write_str(v, self.out);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result {
        // An array of numbers, no deeper than where it is.
        let mut seq = Seq::open(self.out, self.depth);
        for byte in v {
            ser::SerializeSeq::serialize_element(&mut seq, byte)?;
        }
        ser::SerializeSeq::end(seq)
    }
    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.out.put(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        let depth = self.nested(1)?;
        let mut members = Members::open(self.out, depth, None);
        ser::SerializeStruct::serialize_field(&mut members, variant, value)?;
        ser::SerializeStruct::end(members)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>> {
        let depth = self.nested(1)?;
        Ok(Seq::open(self.out, depth))
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Seq<'a>> {
        // `{"Variant": [..]}`: the object's one key written here, closed in `end`.
        let depth = self.nested(2)?;
        self.out.put(b"{");
        py_json::write_str(variant, self.out);
        self.out.put(b": ");
        let mut seq = Seq::open(self.out, depth);
        seq.variant = true;
        Ok(seq)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Members<'a>> {
        let depth = self.nested(1)?;
        Ok(Members::open(self.out, depth, None))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Members<'a>> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Members<'a>> {
        let depth = self.nested(2)?;
        Ok(Members::open(self.out, depth, Some(variant)))
    }
}

/// An array being written in order.
pub(crate) struct Seq<'a> {
    out: &'a mut Vec<u8>,
    depth: usize,
    first: bool,
    /// Inside `{"Variant": …}`: one more brace to close.
    variant: bool,
}

impl<'a> Seq<'a> {
    fn open(out: &'a mut Vec<u8>, depth: usize) -> Self {
        out.put(b"[");
        Seq {
            out,
            depth,
            first: true,
            variant: false,
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        if !std::mem::take(&mut self.first) {
            self.out.put(b", ");
        }
        value.serialize(Canonical {
            out: self.out,
            depth: self.depth,
        })
    }

    fn close(self) -> Result {
        self.out.put(if self.variant { b"]}" } else { b"]" });
        Ok(())
    }
}

/// The four array-like compound states: every element is written in order.
macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Seq<'_> {
            type Ok = ();
            type Error = Unrepresentable;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
                self.element(value)
            }
            fn end(self) -> Result {
                self.close()
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// An object's members, buffered until `end` sorts them by key: `(key, value bytes)`.
pub(crate) struct Members<'a> {
    out: &'a mut Vec<u8>,
    depth: usize,
    members: Vec<(String, Vec<u8>)>,
    /// A map key waiting for its value.
    key: Option<String>,
    /// Inside `{"Variant": …}`.
    variant: Option<&'static str>,
}

impl<'a> Members<'a> {
    fn open(out: &'a mut Vec<u8>, depth: usize, variant: Option<&'static str>) -> Self {
        Members {
            out,
            depth,
            members: Vec::new(),
            key: None,
            variant,
        }
    }

    fn member<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result {
        let mut bytes = Vec::new();
        value.serialize(Canonical {
            out: &mut bytes,
            depth: self.depth,
        })?;
        self.members.push((key, bytes));
        Ok(())
    }

    fn close(mut self) -> Result {
        // Code-point order, as Python's `sort_keys`: UTF-8 byte order is the same. A
        // repeated key keeps its last value, as in a `serde_json::Map`: the sort is
        // stable, so the last of equal keys is the one `dedup` must keep.
        self.members.sort_by(|a, b| a.0.cmp(&b.0));
        self.members.reverse();
        self.members.dedup_by(|later, kept| later.0 == kept.0);
        self.members.reverse();
        if let Some(variant) = self.variant {
            self.out.put(b"{");
            py_json::write_str(variant, self.out);
            self.out.put(b": ");
        }
        self.out.put(b"{");
        for (i, (key, value)) in self.members.iter().enumerate() {
            if i > 0 {
                self.out.put(b", ");
            }
            py_json::write_str(key, self.out);
            self.out.put(b": ");
            self.out.put(value);
        }
        self.out
            .put(if self.variant.is_some() { b"}}" } else { b"}" });
        Ok(())
    }
}

impl ser::SerializeMap for Members<'_> {
    type Ok = ();
    type Error = Unrepresentable;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.key = Some(key.serialize(KeyText)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        let key = self.key.take().ok_or(Unrepresentable)?;
        self.member(key, value)
    }
    fn end(self) -> Result {
        self.close()
    }
}

/// Structs and struct variants: fields are members under their names.
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Members<'_> {
            type Ok = ();
            type Error = Unrepresentable;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result {
                self.member(key.to_owned(), value)
            }
            fn end(self) -> Result {
                self.close()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

/// A map key as `serde_json` turns it into an object key: strings as they are, numbers,
/// booleans and chars as their text, unit variants as their name; anything else fails.
struct KeyText;

impl ser::Serializer for KeyText {
    type Ok = String;
    type Error = Unrepresentable;
    type SerializeSeq = ser::Impossible<String, Unrepresentable>;
    type SerializeTuple = ser::Impossible<String, Unrepresentable>;
    type SerializeTupleStruct = ser::Impossible<String, Unrepresentable>;
    type SerializeTupleVariant = ser::Impossible<String, Unrepresentable>;
    type SerializeMap = ser::Impossible<String, Unrepresentable>;
    type SerializeStruct = ser::Impossible<String, Unrepresentable>;
    type SerializeStructVariant = ser::Impossible<String, Unrepresentable>;

    fn serialize_bool(self, v: bool) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<String> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<String> {
        // serde_json writes float keys with its own shortest form.
        if v.is_finite() {
            serde_json::to_string(&v).map_err(|_| Unrepresentable)
        } else {
            Err(Unrepresentable)
        }
    }
    fn serialize_char(self, v: char) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String> {
        Ok(v.to_owned())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String> {
        Err(Unrepresentable)
    }
    fn serialize_none(self) -> Result<String> {
        Err(Unrepresentable)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String> {
        Err(Unrepresentable)
    }
    fn serialize_unit(self) -> Result<String> {
        Err(Unrepresentable)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String> {
        Err(Unrepresentable)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<String> {
        Ok(v.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String> {
        Err(Unrepresentable)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(Unrepresentable)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(Unrepresentable)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(Unrepresentable)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unrepresentable)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(Unrepresentable)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(Unrepresentable)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unrepresentable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::{BTreeMap, HashMap};

    /// The canonical bytes through `serde_json::Value`, the reference.
    fn via_value<T: Serialize + ?Sized>(value: &T) -> Option<Vec<u8>> {
        let value = crate::signals::depth::to_value(value)?;
        let mut out = Vec::new();
        py_json::write_value(&value, &mut out);
        Some(out)
    }

    fn direct<T: Serialize + ?Sized>(value: &T) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        write(value, &mut out).ok().map(|()| out)
    }

    fn agree<T: Serialize + ?Sized + fmt::Debug>(value: &T) {
        let expected = via_value(value).map(|b| String::from_utf8(b).unwrap());
        let actual = direct(value).map(|b| String::from_utf8(b).unwrap());
        assert_eq!(actual, expected, "{value:?}");
    }

    #[derive(serde::Serialize, Debug)]
    enum Kind {
        Unit,
        Newtype(u8),
        Tuple(u8, String),
        Struct { z: bool, a: Option<f64> },
    }

    #[derive(serde::Serialize, Debug)]
    struct Nested {
        zeta: Vec<String>,
        alpha: (i32, f32),
        #[serde(skip_serializing_if = "Option::is_none")]
        maybe: Option<u64>,
        kinds: Vec<Kind>,
        unit: (),
    }

    #[test]
    fn typed_values_write_what_their_json_form_prints() {
        agree("q\"\\\n é😀");
        agree(&'é');
        agree(&-0.0f64);
        agree(&f64::NAN);
        agree(&0.1f32);
        agree(&1e16f64);
        agree(&u64::MAX);
        agree(&i64::MIN);
        agree(&(u64::MAX as u128));
        agree(&(u128::MAX));
        agree(&(i128::MIN));
        agree(&Some(3u32));
        agree(&None::<u32>);
        agree(&vec!["b".to_owned(), "a".to_owned()]);
        agree(b"bytes".as_slice());
        agree(&serde_bytes_like());
        agree(&Kind::Unit);
        agree(&Kind::Newtype(7));
        agree(&Kind::Tuple(1, "x".into()));
        agree(&Kind::Struct { z: true, a: None });
        agree(&Nested {
            zeta: vec!["é".into()],
            alpha: (-1, 2.5),
            maybe: None,
            kinds: vec![
                Kind::Unit,
                Kind::Struct {
                    z: false,
                    a: Some(1.0),
                },
            ],
            unit: (),
        });
        agree(&BTreeMap::from([(2, "two"), (10, "ten")]));
        agree(&HashMap::from([("b", 1), ("a", 2), ("é", 3), ("Z", 4)]));
        agree(&HashMap::from([(true, 1)]));
        agree(&HashMap::from([(vec![1], 1)]));
        agree(&json!({"b": [1, {"z": null, "a": 1.5}], "a": "x"}));
    }

    /// A map that repeats a key: the last value wins, as in a `serde_json::Map`.
    #[derive(Debug)]
    struct Repeated;

    impl Serialize for Repeated {
        fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            use ser::SerializeMap;
            let mut map = s.serialize_map(None)?;
            map.serialize_entry("b", &1)?;
            map.serialize_entry("a", &2)?;
            map.serialize_entry("b", &3)?;
            map.serialize_entry("a", &4)?;
            map.end()
        }
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        agree(&Repeated);
        assert_eq!(direct(&Repeated).unwrap(), br#"{"a": 4, "b": 3}"#);
    }

    #[test]
    fn a_hundred_thousand_keys_sort_in_n_log_n() {
        let map: HashMap<String, u32> = (0..100_000).map(|i| (format!("k{i}"), i)).collect();
        agree(&map);
    }

    fn serde_bytes_like() -> Vec<u8> {
        vec![0, 255]
    }

    #[test]
    fn nesting_past_the_limit_has_no_form() {
        let mut deep = json!(0);
        for _ in 0..MAX_DEPTH + 5 {
            deep = json!([deep]);
        }
        assert!(direct(&deep).is_none());
        assert!(via_value(&deep).is_none());
        let mut ok = json!(0);
        for _ in 0..MAX_DEPTH {
            ok = json!([ok]);
        }
        agree(&ok);
    }
}
