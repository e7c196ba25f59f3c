//! `serde_json::to_value` with a nesting limit.
//!
//! Serializing recurses once per level of nesting, and so do cloning and dropping the
//! `Value` it builds: a parameter nested 10 000 deep (a `serde_json::Value` the server
//! built or parsed with the depth limit off) would overflow the thread's stack inside
//! the telemetry. This adapter counts containers as serde enters them and gives up past
//! [`MAX_DEPTH`], the depth `serde_json` itself accepts when parsing, so anything a
//! JSON-RPC request can carry still serializes.

use serde::ser::{self, Serialize, Serializer};
use serde_json::Value;

/// Deepest nesting serialized: `serde_json`'s own parsing limit.
pub(crate) const MAX_DEPTH: usize = 128;

/// The JSON form of `value`, or `None` when it cannot be serialized or nests deeper
/// than [`MAX_DEPTH`].
pub(crate) fn to_value<T: Serialize + ?Sized>(value: &T) -> Option<Value> {
    serde_json::to_value(Bounded { value, depth: 0 }).ok()
}

/// `value` about to be serialized `depth` containers deep.
struct Bounded<'a, T: ?Sized> {
    value: &'a T,
    depth: usize,
}

impl<T: Serialize + ?Sized> Serialize for Bounded<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(Guard {
            inner: serializer,
            depth: self.depth,
        })
    }
}

/// A serializer (or one of its compound states) that knows how deep it is.
struct Guard<S> {
    inner: S,
    depth: usize,
}

impl<S> Guard<S> {
    /// The serializer for a container's contents, or an error past the limit.
    fn enter<E: ser::Error, C>(
        depth: usize,
        open: impl FnOnce() -> Result<C, E>,
    ) -> Result<Guard<C>, E> {
        if depth >= MAX_DEPTH {
            return Err(E::custom("nesting deeper than the telemetry serializes"));
        }
        Ok(Guard {
            inner: open()?,
            depth: depth + 1,
        })
    }

    /// `value` as one level below this container.
    fn child<'a, T: ?Sized>(&self, value: &'a T) -> Bounded<'a, T> {
        Bounded {
            value,
            depth: self.depth,
        }
    }
}

/// Forwards scalar serializer methods unchanged.
macro_rules! forward_scalars {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<S::Ok, S::Error> {
            self.inner.$method(v)
        })*
    };
}

impl<S: Serializer> Serializer for Guard<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Guard<S::SerializeSeq>;
    type SerializeTuple = Guard<S::SerializeTuple>;
    type SerializeTupleStruct = Guard<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Guard<S::SerializeTupleVariant>;
    type SerializeMap = Guard<S::SerializeMap>;
    type SerializeStruct = Guard<S::SerializeStruct>;
    type SerializeStructVariant = Guard<S::SerializeStructVariant>;

    forward_scalars!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    );

    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_none()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        let value = self.child(value);
        self.inner.serialize_some(&value)
    }

    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_variant(name, index, variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let value = self.child(value);
        self.inner.serialize_newtype_struct(name, &value)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        // `{"variant": value}`: one level.
        if self.depth >= MAX_DEPTH {
            return Err(ser::Error::custom(
                "nesting deeper than the telemetry serializes",
            ));
        }
        let value = Bounded {
            value,
            depth: self.depth + 1,
        };
        self.inner
            .serialize_newtype_variant(name, index, variant, &value)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        let inner = self.inner;
        Guard::<S>::enter(self.depth, || inner.serialize_seq(len))
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        let inner = self.inner;
        Guard::<S>::enter(self.depth, || inner.serialize_tuple(len))
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        let inner = self.inner;
        Guard::<S>::enter(self.depth, || inner.serialize_tuple_struct(name, len))
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        let inner = self.inner;
        // `{"variant": [...]}`: two levels.
        Guard::<S>::enter(self.depth + 1, || {
            inner.serialize_tuple_variant(name, index, variant, len)
        })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        let inner = self.inner;
        Guard::<S>::enter(self.depth, || inner.serialize_map(len))
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        let inner = self.inner;
        Guard::<S>::enter(self.depth, || inner.serialize_struct(name, len))
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        let inner = self.inner;
        Guard::<S>::enter(self.depth + 1, || {
            inner.serialize_struct_variant(name, index, variant, len)
        })
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Implements a compound state whose items are serialized by `$item`.
macro_rules! compound {
    ($trait:ident, $item:ident) => {
        impl<S: ser::$trait> ser::$trait for Guard<S> {
            type Ok = S::Ok;
            type Error = S::Error;

            fn $item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
                let value = self.child(value);
                self.inner.$item(&value)
            }

            fn end(self) -> Result<S::Ok, S::Error> {
                self.inner.end()
            }
        }
    };
}

compound!(SerializeSeq, serialize_element);
compound!(SerializeTuple, serialize_element);
compound!(SerializeTupleStruct, serialize_field);
compound!(SerializeTupleVariant, serialize_field);

impl<S: ser::SerializeMap> ser::SerializeMap for Guard<S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), S::Error> {
        let key = self.child(key);
        self.inner.serialize_key(&key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        let value = self.child(value);
        self.inner.serialize_value(&value)
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}

/// Implements a struct-like compound state (named fields).
macro_rules! fields {
    ($trait:ident) => {
        impl<S: ser::$trait> ser::$trait for Guard<S> {
            type Ok = S::Ok;
            type Error = S::Error;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), S::Error> {
                let value = self.child(value);
                self.inner.serialize_field(key, &value)
            }

            fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
                self.inner.skip_field(key)
            }

            fn end(self) -> Result<S::Ok, S::Error> {
                self.inner.end()
            }
        }
    };
}

fields!(SerializeStruct);
fields!(SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(depth: usize) -> Value {
        let mut value = json!(1);
        for _ in 0..depth {
            value = Value::Array(vec![value]);
        }
        value
    }

    #[derive(serde::Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(u8, u8),
        Struct { side: u8 },
    }

    #[test]
    fn same_json_as_serde_json_within_the_limit() {
        let samples = [
            json!({"a": [1, 2, {"b": null}], "c": "d", "e": 1.5, "f": true}),
            nested(MAX_DEPTH),
        ];
        for sample in samples {
            assert_eq!(to_value(&sample), Some(sample.clone()));
        }
        let shapes = [
            Shape::Unit,
            Shape::Newtype(1),
            Shape::Tuple(1, 2),
            Shape::Struct { side: 3 },
        ];
        assert_eq!(to_value(&shapes), serde_json::to_value(&shapes).ok());
        assert_eq!(to_value(&Some(vec![(1, "x")])), Some(json!([[1, "x"]])));
    }

    #[test]
    fn deeper_than_the_limit_is_refused_without_recursing_further() {
        assert_eq!(to_value(&nested(MAX_DEPTH + 1)), None);
        // Serde's own recursion would overflow a 256 KiB stack long before 100 000
        // levels; the limit stops it at 128.
        let deep = nested(100_000);
        let refused = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let refused = to_value(&deep).is_none();
                std::mem::forget(deep); // its own drop would recurse 100 000 deep
                refused
            })
            .expect("thread")
            .join()
            .expect("no overflow");
        assert!(refused);
    }

    #[test]
    fn a_variant_counts_its_wrapping_object() {
        /// `{"Wrap": {"Wrap": … "Leaf"}}`: one object per `Wrap`.
        #[derive(serde::Serialize)]
        enum Node {
            Leaf,
            Wrap(Box<Node>),
        }
        let chain = |n: usize| (0..n).fold(Node::Leaf, |node, _| Node::Wrap(Box::new(node)));
        let at_limit = chain(MAX_DEPTH);
        assert_eq!(to_value(&at_limit), serde_json::to_value(&at_limit).ok());
        assert!(to_value(&at_limit).is_some());
        assert_eq!(to_value(&chain(MAX_DEPTH + 1)), None);
    }
}
