//! Where spans go: `init()` and its [`Builder`](crate::Builder) install the global
//! tracer provider with the exporter the `OTEL_*` environment chooses (OTLP/HTTP, the
//! console, nothing, or by default the embedded OTLP/JSON-lines file exporter), and the
//! guard that flushes it on drop.

#[cfg(feature = "enable")]
pub(crate) mod file;
#[cfg(all(feature = "enable", feature = "logs"))]
pub(crate) mod logs;
#[cfg(all(feature = "enable", feature = "metrics"))]
pub(crate) mod meters;
pub(crate) mod setup;
