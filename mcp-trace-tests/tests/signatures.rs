//! Signatures an attribute macro commonly breaks: each must compile, behave as written,
//! and keep its attributes, visibility and docs.
#![cfg(feature = "enable")]
#![deny(unused_must_use)]

mod common;

use common::{attrs, capture, capture_async, only};
use mcp_trace::traced_tool;
use std::borrow::Cow;
use std::fmt::Display;

pub struct Server {
    name: String,
}

impl Server {
    /// Returns a borrow of `self`: the elided lifetime must survive the wrapper.
    #[traced_tool]
    pub fn name(&self, upper: bool) -> &str {
        if upper { "SERVER" } else { &self.name }
    }

    #[traced_tool]
    pub(crate) async fn greet<'a>(&'a self, who: &'a str) -> Cow<'a, str> {
        if who.is_empty() {
            Cow::Borrowed(&self.name)
        } else {
            Cow::Owned(format!("{} greets {who}", self.name))
        }
    }

    #[traced_tool]
    pub fn consume(self, extra: String) -> String {
        self.name + &extra
    }
}

#[traced_tool]
#[must_use]
#[inline]
fn where_clause<T>(items: &[T], (a, b): (u8, u8)) -> usize
where
    T: Clone + Display,
{
    items.iter().map(|i| i.to_string().len()).sum::<usize>() + usize::from(a + b)
}

#[traced_tool]
fn mutable_parameter(mut count: u32, _ignored: ()) -> u32 {
    count += 1;
    count
}

#[traced_tool]
fn early_return_and_question_mark(input: &str) -> Result<i64, std::num::ParseIntError> {
    if input.is_empty() {
        return Ok(0);
    }
    let n: i64 = input.trim().parse()?;
    Ok(n * 2)
}

#[traced_tool]
async fn async_question_mark(
    input: String,
) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    tokio::task::yield_now().await;
    Ok(input.parse::<u8>()?)
}

#[traced_tool]
fn returns_impl_trait(n: usize) -> impl Iterator<Item = usize> {
    0..n
}

#[traced_tool]
fn unit_return(_n: u8) {}

#[traced_tool]
fn r#type(r#match: bool) -> bool {
    #![allow(clippy::needless_bool)]
    if r#match { true } else { false }
}

/// The crate under another name, as a framework re-exporting it would have it.
mod framework {
    pub use mcp_trace as telemetry;
}

#[traced_tool(crate = crate::framework::telemetry, name = "renamed_crate")]
fn through_reexport(n: u8) -> u8 {
    n
}

#[test]
fn crate_path_override() {
    let (value, spans) = capture(|| through_reexport(4));
    assert_eq!(value, 4);
    let span = only(spans);
    assert_eq!(span.name, "tools/call renamed_crate");
    assert_eq!(attrs(&span)["mcp.tool.args.n"], 4.into());
}

#[test]
fn borrowed_returns_and_receivers() {
    let server = Server {
        name: "docs".into(),
    };
    let (name, spans) = capture(|| server.name(false));
    assert_eq!(name, "docs");
    assert_eq!(attrs(&only(spans))["mcp.tool.args.upper"], false.into());
    assert_eq!(server.consume("!".into()), "docs!");
}

#[tokio::test]
async fn async_borrowed_return() {
    let server = Server {
        name: "docs".into(),
    };
    let (greeting, spans) = capture_async(server.greet("ann")).await;
    assert_eq!(greeting, "docs greets ann");
    let attributes = attrs(&only(spans));
    assert_eq!(attributes["mcp.tool.args.who.length"], 3.into());
    assert_eq!(attributes["mcp.tool.result.length"], 15.into());
}

#[test]
fn destructured_generic_and_mutable_parameters() {
    let (n, spans) = capture(|| where_clause(&["ab", "c"], (1, 2)));
    assert_eq!(n, 6);
    let attributes = attrs(&only(spans));
    assert_eq!(attributes["mcp.tool.args.items.count"], 2.into());
    let destructured =
        |k: &String| k.starts_with("mcp.tool.args.a") && !k.starts_with("mcp.tool.args.args");
    assert!(
        !attributes
            .keys()
            .any(|k| destructured(k) || k.starts_with("mcp.tool.args.b")),
        "a destructured tuple is not a named argument: {attributes:?}"
    );
    assert_eq!(mutable_parameter(1, ()), 2);
}

#[test]
fn early_return_and_try_operator_keep_their_meaning() {
    assert_eq!(early_return_and_question_mark(""), Ok(0));
    assert_eq!(early_return_and_question_mark(" 21 "), Ok(42));
    let (result, spans) = capture(|| early_return_and_question_mark("x"));
    assert!(result.is_err());
    assert_eq!(attrs(&only(spans))["error.type"], "ParseIntError".into());
}

#[tokio::test]
async fn async_try_operator_converts_errors() {
    let (result, spans) = capture_async(async_question_mark("300".into())).await;
    assert!(result.is_err());
    assert_eq!(
        attrs(&only(spans))["error.type"],
        "Box<dyn Error + Send + Sync>".into()
    );
    assert_eq!(async_question_mark("7".into()).await.unwrap(), 7);
}

#[test]
fn impl_trait_unit_and_raw_identifiers() {
    assert_eq!(returns_impl_trait(3).sum::<usize>(), 3);
    unit_return(1);
    let (value, spans) = capture(|| r#type(true));
    assert!(value);
    let span = only(spans);
    assert_eq!(span.name, "tools/call type");
    assert_eq!(attrs(&span)["mcp.tool.args.match"], true.into());
}

/// Parameters out of name order, one of them named outside ASCII: the typed hash
/// writes the names in code-point order, the non-ASCII one escaped as Python does.
#[cfg(feature = "args-hash")]
#[traced_tool]
fn unicode_and_unsorted(zeta: u8, größe: &str, alpha: Option<bool>) -> usize {
    usize::from(zeta) + größe.len() + usize::from(alpha.unwrap_or(false))
}

#[cfg(feature = "args-hash")]
#[test]
fn typed_hash_sorts_and_escapes_parameter_names() {
    for alpha in [Some(true), None] {
        let (_, spans) = capture(|| unicode_and_unsorted(3, "groß", alpha));
        let span = only(spans);
        let mut sent = serde_json::json!({"zeta": 3, "größe": "groß"});
        if let Some(alpha) = alpha {
            sent["alpha"] = alpha.into();
        }
        assert_eq!(
            attrs(&span)["mcp.tool.args.hash"],
            mcp_trace::args_hash(&sent).into(),
            "alpha {alpha:?}"
        );
    }
}

/// Builds the URI from a parameter it takes by value.
fn owned_uri(key: String) -> String {
    format!("docs://{key}")
}

/// A URI expression that moves a parameter the body does not use: the expression is
/// evaluated at most once.
#[mcp_trace::traced_resource(uri = owned_uri(key))]
fn uri_from_a_moved_parameter(key: String) -> String {
    "contents".to_owned()
}

#[test]
fn a_uri_expression_may_move_a_parameter() {
    let (value, spans) = capture(|| uri_from_a_moved_parameter("intro".into()));
    assert_eq!(value, "contents");
    let span = only(spans);
    assert_eq!(attrs(&span)["mcp.resource.uri"], "docs://intro".into());
}
