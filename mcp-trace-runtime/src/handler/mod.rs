//! The handler as generated code describes it: the static descriptors the macros emit
//! once per handler (`meta`), the autoref probes that pick how each argument, result
//! and session value is read (`probe`), how a call ended (`outcome`) and what a
//! JSON-RPC error code means for it (`jsonrpc`), and resource URI templates filled from
//! parameters (`uri`). Everything here is reached only through
//! `__private`.

pub(crate) mod jsonrpc;
pub(crate) mod meta;
pub(crate) mod outcome;
pub(crate) mod probe;
pub(crate) mod uri;
