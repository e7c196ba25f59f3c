//! placeholder
pub use mcp_trace_macros::{traced_resource, traced_tool};
#[cfg(feature = "args-hash")]
pub use mcp_trace_runtime::args_hash;
pub use mcp_trace_runtime::{
    Builder, ClaimedFlag, Exporter, InitError, RequestScope, Scoped, TelemetryGuard, Transport,
    default_file_path, dropped_spans, init, scope, session,
};
#[cfg(feature = "enable")]
#[doc(hidden)]
pub use mcp_trace_runtime::__private;
