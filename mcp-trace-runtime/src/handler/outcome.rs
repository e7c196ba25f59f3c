//! How a handler call ended, classified from its return value.

use std::borrow::Cow;

/// The size of an `Ok` result worth recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultSize {
    /// Unicode scalar values of a string result.
    Length(usize),
    /// Elements or entries of a collection result.
    Count(usize),
}

/// What the span records when the call returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok(Option<ResultSize>),
    /// A tool result that reports failure in-band (`isError: true`).
    ToolError,
    /// A failure: `error.type`, plus the JSON-RPC code when there is one.
    Error {
        error_type: Cow<'static, str>,
        rpc_code: Option<i64>,
    },
    /// One round of a multi-round request (MCP 2026-07-28, MRTR): the server answered
    /// `input_required`, and the client retries the request with what it asked for.
    /// Not a call of its own: the rounds are counted once, when the last one answers.
    InputRequired,
}

impl Outcome {
    /// A JSON-RPC error: `error.type` and `rpc.response.status_code` are the code.
    pub fn rpc_error(code: i64) -> Self {
        Outcome::Error {
            error_type: Cow::Owned(code.to_string()),
            rpc_code: Some(code),
        }
    }

    /// A Rust error: `error.type` is the error type's short name.
    pub fn error_of_type<E: ?Sized>() -> Self {
        Outcome::Error {
            error_type: Cow::Owned(short_type_name(std::any::type_name::<E>())),
            rpc_code: None,
        }
    }
}

/// Types whose `Ok` value has a size worth recording (`mcp.tool.result.count` /
/// `.length`, `mcp.resource.content.length`).
pub trait ResultShape {
    fn result_size(&self) -> Option<ResultSize>;
}

macro_rules! length_result {
    ($($ty:ty),*) => {$(
        impl ResultShape for $ty {
            fn result_size(&self) -> Option<ResultSize> {
                let s: &str = self.as_ref();
                Some(ResultSize::Length(s.chars().count()))
            }
        }
    )*};
}
length_result!(str, String, Cow<'_, str>);

macro_rules! count_result {
    ($([$($gen:tt)*] $ty:ty),* $(,)?) => {$(
        impl<$($gen)*> ResultShape for $ty {
            fn result_size(&self) -> Option<ResultSize> {
                Some(ResultSize::Count(self.len()))
            }
        }
    )*};
}
count_result!(
    [T] [T],
    [T] Vec<T>,
    [T, const N: usize] [T; N],
    [T] std::collections::VecDeque<T>,
    [T, S] std::collections::HashSet<T, S>,
    [T] std::collections::BTreeSet<T>,
    [K, V, S] std::collections::HashMap<K, V, S>,
    [K, V] std::collections::BTreeMap<K, V>,
    [] serde_json::Map<String, serde_json::Value>,
);

impl ResultShape for serde_json::Value {
    fn result_size(&self) -> Option<ResultSize> {
        match self {
            serde_json::Value::String(s) => Some(ResultSize::Length(s.chars().count())),
            serde_json::Value::Array(a) => Some(ResultSize::Count(a.len())),
            serde_json::Value::Object(m) => Some(ResultSize::Count(m.len())),
            _ => None,
        }
    }
}

impl<T: ResultShape + ?Sized> ResultShape for &T {
    fn result_size(&self) -> Option<ResultSize> {
        (**self).result_size()
    }
}

impl<T: ResultShape + ?Sized> ResultShape for Box<T> {
    fn result_size(&self) -> Option<ResultSize> {
        (**self).result_size()
    }
}

impl<T: ResultShape + ?Sized> ResultShape for std::sync::Arc<T> {
    fn result_size(&self) -> Option<ResultSize> {
        (**self).result_size()
    }
}

/// Framework types whose outcome is more than success (an rmcp `CallToolResult` with
/// `isError`); implemented by the framework adapters.
pub trait SpecialOutcome {
    fn outcome(&self) -> Outcome;
}

/// Framework error types that carry a JSON-RPC code.
pub trait SpecialError {
    fn outcome(&self) -> Outcome;
}

/// `my_crate::errors::SearchError` → `SearchError`; module paths are dropped from
/// generic arguments too (`Box<dyn Error + Send + Sync>`).
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    let bytes = full.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b':' && bytes.get(i + 1) == Some(&b':') {
            // Forget the path written so far in this segment.
            out.truncate(segment_start);
            i += 2;
            continue;
        }
        let c = bytes[i];
        out.push(char::from(c));
        if !(c.is_ascii_alphanumeric() || c == b'_') {
            segment_start = out.len();
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_drop_module_paths() {
        assert_eq!(
            short_type_name("my_crate::errors::SearchError"),
            "SearchError"
        );
        assert_eq!(short_type_name("std::io::error::Error"), "Error");
        assert_eq!(
            short_type_name("alloc::boxed::Box<dyn core::error::Error + core::marker::Send>"),
            "Box<dyn Error + Send>"
        );
        assert_eq!(short_type_name("u8"), "u8");
    }
}
