//! Autoref specialization for generated code.
//!
//! Generated code calls `(&&&Probe(&value)).__mcp_trace_shape(..)`; method lookup picks
//! the impl with the most references that applies, so the best available strategy for
//! a *concrete* type is chosen at compile time and a type with none of the traits
//! silently gets the last fallback instead of a compile error. Each level is a trait
//! implemented for exactly one reference depth of [`Probe`], so levels never overlap.

#![allow(missing_debug_implementations)]

use crate::handler::outcome::{Outcome, ResultShape, SpecialError, SpecialOutcome};
use crate::signals::fields::ParamMeta;
use crate::signals::shape::ArgsRecorder;
use std::borrow::Cow;
use std::convert::Infallible;

/// Wraps a borrowed value for probing.
pub struct Probe<'a, T: ?Sized>(pub &'a T);

// ---- argument shapes: typed, else via serde JSON, else nothing --------------------

#[cfg(feature = "args-shape")]
mod shape_levels {
    use super::Probe;
    use crate::signals::fields::ParamMeta;
    use crate::signals::shape::{ArgsRecorder, TypedShape};

    pub trait ShapeTyped {
        fn __mcp_trace_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta);
    }
    impl<T: TypedShape + ?Sized> ShapeTyped for &&Probe<'_, T> {
        fn __mcp_trace_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta) {
            self.0.record_shape(rec, p);
        }
    }

    pub trait ShapeSerde {
        fn __mcp_trace_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta);
    }
    impl<T: serde::Serialize + ?Sized> ShapeSerde for &Probe<'_, T> {
        fn __mcp_trace_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta) {
            if let Some(value) = crate::signals::depth::to_value(self.0) {
                rec.json(p, &value);
            }
        }
    }

    pub trait ShapeNone {
        fn __mcp_trace_shape(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta);
    }
    impl<T: ?Sized> ShapeNone for Probe<'_, T> {
        fn __mcp_trace_shape(&self, _: &mut ArgsRecorder<'_>, _: &'static ParamMeta) {}
    }
}
#[cfg(feature = "args-shape")]
pub use shape_levels::{ShapeNone, ShapeSerde, ShapeTyped};

// ---- JSON form of a parameter: via serde, else none -------------------------------

pub trait JsonSerde {
    fn __mcp_trace_json(&self) -> Option<serde_json::Value>;
    /// Hands the value to the recorder, which serializes it in the form it needs.
    fn __mcp_trace_args(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta);
}
impl<T: serde::Serialize + ?Sized> JsonSerde for &Probe<'_, T> {
    fn __mcp_trace_json(&self) -> Option<serde_json::Value> {
        crate::signals::depth::to_value(self.0)
    }
    fn __mcp_trace_args(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta) {
        rec.serialized(p, self.0);
    }
}

pub trait JsonNone {
    fn __mcp_trace_json(&self) -> Option<serde_json::Value>;
    fn __mcp_trace_args(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta);
}
impl<T: ?Sized> JsonNone for Probe<'_, T> {
    fn __mcp_trace_json(&self) -> Option<serde_json::Value> {
        None
    }
    fn __mcp_trace_args(&self, rec: &mut ArgsRecorder<'_>, p: &'static ParamMeta) {
        rec.unseen(p);
    }
}

// ---- splitting a return value into Ok / Err ---------------------------------------

/// A return value seen as success or failure; a non-`Result` is always `Ok`.
pub enum Split<'a, T, E> {
    Ok(&'a T),
    Err(&'a E),
}

pub trait SplitResult<'a> {
    type Ok;
    type Err;
    fn __mcp_trace_split(&self) -> Split<'a, Self::Ok, Self::Err>;
}
impl<'a, T, E> SplitResult<'a> for &Probe<'a, Result<T, E>> {
    type Ok = T;
    type Err = E;
    fn __mcp_trace_split(&self) -> Split<'a, T, E> {
        match self.0 {
            Ok(v) => Split::Ok(v),
            Err(e) => Split::Err(e),
        }
    }
}

pub trait SplitValue<'a> {
    type Ok;
    fn __mcp_trace_split(&self) -> Split<'a, Self::Ok, Infallible>;
}
impl<'a, T> SplitValue<'a> for Probe<'a, T> {
    type Ok = T;
    fn __mcp_trace_split(&self) -> Split<'a, T, Infallible> {
        Split::Ok(self.0)
    }
}

// ---- outcome of an Ok value: framework-specific, sized, plain ---------------------

pub trait OkSpecial {
    fn __mcp_trace_ok(&self) -> Outcome;
}
impl<T: SpecialOutcome + ?Sized> OkSpecial for &&Probe<'_, T> {
    fn __mcp_trace_ok(&self) -> Outcome {
        self.0.outcome()
    }
}

pub trait OkSized {
    fn __mcp_trace_ok(&self) -> Outcome;
}
impl<T: ResultShape + ?Sized> OkSized for &Probe<'_, T> {
    fn __mcp_trace_ok(&self) -> Outcome {
        Outcome::Ok(self.0.result_size())
    }
}

pub trait OkPlain {
    fn __mcp_trace_ok(&self) -> Outcome;
}
impl<T: ?Sized> OkPlain for Probe<'_, T> {
    fn __mcp_trace_ok(&self) -> Outcome {
        Outcome::Ok(None)
    }
}

// ---- outcome of an Err value: JSON-RPC code, else the type's short name -----------

pub trait ErrSpecial {
    fn __mcp_trace_err(&self) -> Outcome;
}
impl<E: SpecialError + ?Sized> ErrSpecial for &Probe<'_, E> {
    fn __mcp_trace_err(&self) -> Outcome {
        self.0.outcome()
    }
}

pub trait ErrTyped {
    fn __mcp_trace_err(&self) -> Outcome;
}
impl<E: ?Sized> ErrTyped for Probe<'_, E> {
    fn __mcp_trace_err(&self) -> Outcome {
        Outcome::error_of_type::<E>()
    }
}

// ---- a `#[session]` parameter: string-like, else Display --------------------------

/// String-like session values, borrowed without allocating.
pub trait SessionStr {
    fn session_str(&self) -> Option<&str>;
}
impl SessionStr for str {
    fn session_str(&self) -> Option<&str> {
        Some(self)
    }
}
impl SessionStr for String {
    fn session_str(&self) -> Option<&str> {
        Some(self)
    }
}
impl SessionStr for Cow<'_, str> {
    fn session_str(&self) -> Option<&str> {
        Some(self)
    }
}
impl SessionStr for std::sync::Arc<str> {
    fn session_str(&self) -> Option<&str> {
        Some(self)
    }
}
impl<T: SessionStr + ?Sized> SessionStr for &T {
    fn session_str(&self) -> Option<&str> {
        (**self).session_str()
    }
}
impl<T: SessionStr> SessionStr for Option<T> {
    fn session_str(&self) -> Option<&str> {
        self.as_ref().and_then(SessionStr::session_str)
    }
}

pub trait SessionBorrowed<'a> {
    fn __mcp_trace_session(&self) -> Option<Cow<'a, str>>;
}
impl<'a, T: SessionStr + ?Sized> SessionBorrowed<'a> for &Probe<'a, T> {
    fn __mcp_trace_session(&self) -> Option<Cow<'a, str>> {
        self.0.session_str().map(Cow::Borrowed)
    }
}

pub trait SessionDisplay<'a> {
    fn __mcp_trace_session(&self) -> Option<Cow<'a, str>>;
}
impl<'a, T: std::fmt::Display + ?Sized> SessionDisplay<'a> for Probe<'a, T> {
    fn __mcp_trace_session(&self) -> Option<Cow<'a, str>> {
        Some(Cow::Owned(self.0.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::needless_borrow)]
mod tests {
    use super::*;

    struct Opaque;
    #[derive(Debug)]
    struct MyError;

    #[test]
    fn levels_pick_the_most_specific_impl() {
        let r: Result<Vec<u8>, MyError> = Ok(vec![1, 2]);
        let outcome = match (&&Probe(&r)).__mcp_trace_split() {
            Split::Ok(v) => (&&&Probe(v)).__mcp_trace_ok(),
            Split::Err(e) => (&&Probe(e)).__mcp_trace_err(),
        };
        assert_eq!(
            outcome,
            Outcome::Ok(Some(crate::handler::outcome::ResultSize::Count(2)))
        );

        let r: Result<Opaque, MyError> = Err(MyError);
        let outcome = match (&&Probe(&r)).__mcp_trace_split() {
            Split::Ok(v) => (&&&Probe(v)).__mcp_trace_ok(),
            Split::Err(e) => (&&Probe(e)).__mcp_trace_err(),
        };
        assert_eq!(outcome, Outcome::error_of_type::<MyError>());
        assert!(
            matches!(outcome, Outcome::Error { ref error_type, .. } if error_type == "MyError")
        );

        assert_eq!((&&Probe(&Opaque)).__mcp_trace_json(), None);
        assert_eq!(
            (&&Probe(&3u8)).__mcp_trace_json(),
            Some(serde_json::json!(3))
        );
        assert_eq!(
            (&&Probe(&Some("s1"))).__mcp_trace_session().as_deref(),
            Some("s1")
        );
        assert_eq!(
            (&&Probe(&42u32)).__mcp_trace_session().as_deref(),
            Some("42")
        );
    }
}
