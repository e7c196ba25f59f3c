//! The signals: what a span records about a call beyond its name and outcome. The
//! arguments' shape (lengths, counts, numbers, presence), their hash, the schema
//! verdict, and how often a session re-reads a resource, each computed here on its
//! own, behind its own feature; `call.rs` is the one place that composes them into a
//! span.

#[cfg(feature = "args-hash")]
#[cfg_attr(not(all(feature = "enable", feature = "wire")), allow(dead_code))]
pub(crate) mod definitions;
#[cfg(feature = "enable")]
pub(crate) mod depth;
#[cfg(feature = "enable")]
pub(crate) mod fields;
#[cfg(feature = "args-hash")]
pub(crate) mod hash;
#[cfg(all(feature = "enable", feature = "args-hash"))]
pub(crate) mod repeats;
#[cfg(all(feature = "enable", feature = "schema-check"))]
pub(crate) mod schema;
#[cfg(any(all(feature = "enable", feature = "schema-check"), feature = "docs"))]
pub(crate) mod schema_build;
#[cfg(feature = "enable")]
#[cfg_attr(not(feature = "args-shape"), allow(dead_code))]
pub(crate) mod shape;
// Its read counting is dead code without read tracking (the runs of identical calls
// use the map alone).
#[cfg_attr(
    not(all(feature = "enable", feature = "read-tracking")),
    allow(dead_code)
)]
pub(crate) mod tracker;
#[cfg(all(feature = "enable", feature = "schema-check"))]
pub(crate) mod type_guarantee;
