//! Not published: the part of the `mcp-trace` workspace that needs heavy
//! dev-dependencies (rmcp, axum, criterion, trybuild, proptest, the OTLP protobuf
//! types), kept out of the facade so that `cargo run --example demo` builds only the
//! library's own graph.
//!
//! * `tests/`: the integration and end-to-end tests, the compile-fail (`trybuild`)
//!   cases in `tests/ui`, and the property tests;
//! * `examples/`: the rmcp servers the end-to-end tests drive
//!   (`cargo run -p mcp-trace-tests --features rmcp --example stdio_server`, and
//!   `http_server`), and the traced agent that drives them (`--features client
//!   --example agent`);
//! * `benches/overhead.rs`: `cargo bench -p mcp-trace-tests --bench overhead`;
//! * the code blocks of the README and of the pages it links (`docs/`), compiled (and
//!   run) as doctests of this crate.
//!
//! Its features are the facade's, one to one (`enable` turns on `mcp-trace/enable`, …),
//! so `cargo test --workspace --all-features` or `--no-default-features` means here
//! what it means for `mcp-trace`.

/// The code blocks of the README and of the pages it links (`docs/`), compiled (and
/// run, unless marked `no_run`) as doctests, so they cannot drift from the API. Paths in
/// them (`schema = "tests/schemas/…"`) are relative to this crate.
#[cfg(all(
    doctest,
    feature = "enable",
    feature = "args-shape",
    feature = "args-hash",
    feature = "schema-check",
    feature = "read-tracking",
    feature = "client"
))]
pub mod pages {
    #[doc = include_str!("../../README.md")]
    pub struct Readme;
    #[doc = include_str!("../../docs/library.md")]
    pub struct Library;
    #[doc = include_str!("../../docs/reference.md")]
    pub struct Reference;
    #[doc = include_str!("../../docs/proxy.md")]
    pub struct Proxy;
    #[doc = include_str!("../../docs/report.md")]
    pub struct Report;
    #[doc = include_str!("../../docs/cost.md")]
    pub struct Cost;
}
