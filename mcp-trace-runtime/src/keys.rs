//! Attribute keys, one place: DESIGN §4 and the OpenTelemetry MCP conventions.

pub(crate) const METHOD: &str = "mcp.method.name";
pub(crate) const OPERATION: &str = "gen_ai.operation.name";
pub(crate) const GEN_AI_TOOL: &str = "gen_ai.tool.name";
/// The prompt of a `prompts/get`.
#[cfg(any(feature = "wire", feature = "metrics"))]
pub(crate) const GEN_AI_PROMPT: &str = "gen_ai.prompt.name";
pub(crate) const MCP_TOOL: &str = "mcp.tool.name";
pub(crate) const SESSION: &str = "mcp.session.id";
pub(crate) const REQUEST_ID: &str = "jsonrpc.request.id";
pub(crate) const PROTOCOL: &str = "mcp.protocol.version";
/// Protocol revisions published so far: on the metric any other version string is
/// `_OTHER` (the string is the client's); on a span, a known one costs no copy.
pub(crate) const KNOWN_PROTOCOLS: [&str; 5] = [
    "2024-11-05",
    "2025-03-26",
    "2025-06-18",
    "2025-11-25",
    "2026-07-28",
];
pub(crate) const TRANSPORT: &str = "network.transport";
pub(crate) const NETWORK_PROTOCOL: &str = "network.protocol.name";
pub(crate) const NETWORK_PROTOCOL_VERSION: &str = "network.protocol.version";
pub(crate) const CLIENT_ADDRESS: &str = "client.address";
pub(crate) const CLIENT_PORT: &str = "client.port";
/// The server a client talks to (client spans and metrics, and the requester-side
/// metric a server records for its own requests).
#[cfg(any(feature = "client", all(feature = "wire", feature = "metrics")))]
pub(crate) const SERVER_ADDRESS: &str = "server.address";
#[cfg(any(feature = "client", all(feature = "wire", feature = "metrics")))]
pub(crate) const SERVER_PORT: &str = "server.port";
/// The server's `initialize` answer, on the client's session span.
#[cfg(feature = "client")]
pub(crate) const SERVER_NAME: &str = "mcp.server.name";
#[cfg(feature = "client")]
pub(crate) const SERVER_VERSION: &str = "mcp.server.version";
#[cfg(feature = "client")]
pub(crate) const SERVER_TITLE: &str = "mcp.server.title";
pub(crate) const ERROR_TYPE: &str = "error.type";
pub(crate) const RPC_STATUS: &str = "rpc.response.status_code";
pub(crate) const CANCELLED: &str = "mcp.call.cancelled";
/// On a `notifications/cancelled` span: whether the request it names was in flight
/// (then the span also links to that request's span).
#[cfg(feature = "wire")]
pub(crate) const CANCELLED_IN_FLIGHT: &str = "mcp.cancelled.in_flight";
/// A progress notification's numbers and the JSON type of its token; never its message.
#[cfg(feature = "wire")]
pub(crate) const PROGRESS_VALUE: &str = "mcp.progress.value";
#[cfg(feature = "wire")]
pub(crate) const PROGRESS_TOTAL: &str = "mcp.progress.total";
#[cfg(feature = "wire")]
pub(crate) const PROGRESS_TOKEN_TYPE: &str = "mcp.progress.token_type";
/// The user's answer to a server's `elicitation/create`: `accept`, `decline` or
/// `cancel`; never the content.
#[cfg(feature = "wire")]
pub(crate) const ELICITATION_ACTION: &str = "mcp.elicitation.action";
/// Events on a request's span for what the server told the client while serving it.
#[cfg(feature = "wire")]
pub(crate) const PROGRESS_EVENT: &str = "notifications/progress";
#[cfg(feature = "wire")]
pub(crate) const LOG_EVENT: &str = "notifications/message";
/// A log message's level, logger name, and payload size in bytes; never the payload.
#[cfg(feature = "wire")]
pub(crate) const LOG_LEVEL: &str = "mcp.logging.level";
#[cfg(feature = "wire")]
pub(crate) const LOG_LOGGER: &str = "mcp.logging.logger";
#[cfg(feature = "wire")]
pub(crate) const LOG_DATA_SIZE: &str = "mcp.logging.data_size";
/// A multi-round request's round (MCP 2026-07-28): 1 for a first round that answered
/// `input_required`, 2 for its first retry, and so on.
#[cfg(feature = "wire")]
pub(crate) const REQUEST_ROUND: &str = "mcp.request.round";
/// `true` on a round the server answered `input_required` (the call goes on).
#[cfg(feature = "wire")]
pub(crate) const REQUEST_INPUT_REQUIRED: &str = "mcp.request.input_required";
/// On the round that ends a multi-round call: how many rounds it took.
#[cfg(feature = "wire")]
pub(crate) const REQUEST_ROUNDS: &str = "mcp.request.rounds";
/// On the round that ends a multi-round call: seconds from the first round's start to
/// this round's end (what the operation-duration metric records for the call).
#[cfg(feature = "wire")]
pub(crate) const REQUEST_ROUNDS_DURATION: &str = "mcp.request.rounds_duration";
/// A task's status as its span ends (`completed`, `failed`, `cancelled`, `expired`);
/// on a `tasks/get` span, the status answered.
#[cfg(feature = "wire")]
pub(crate) const TASK_STATUS: &str = "mcp.task.status";
/// Whether the process follows the task a `tasks/*` request names.
#[cfg(feature = "wire")]
pub(crate) const TASK_KNOWN: &str = "mcp.task.known";
/// Notifications delivered on a `subscriptions/listen` stream.
#[cfg(feature = "wire")]
pub(crate) const SUBSCRIPTION_NOTIFICATIONS: &str = "mcp.subscription.notifications";
/// Events the observer left out of a span over its bound.
#[cfg(feature = "wire")]
pub(crate) const EVENTS_DROPPED: &str = "mcp.events.dropped";

pub(crate) const ARGS_PREFIX: &str = "mcp.tool.args.";
#[cfg(feature = "args-hash")]
pub(crate) const ARGS_HASH: &str = "mcp.tool.args.hash";
/// The call's place in the run of identical calls of its tool in its scope (≥ 1).
#[cfg_attr(not(feature = "args-hash"), allow(dead_code))]
pub(crate) const REPEAT_RUN: &str = "mcp.tool.call.repeat_run";
/// On the metric: whether the call repeated the one before it (`repeat_run` ≥ 2).
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) const REPEATED: &str = "mcp.tool.call.repeated";
#[cfg(any(feature = "schema-check", feature = "metrics"))]
pub(crate) const SCHEMA_VALID: &str = "mcp.tool.args.schema_valid";
#[cfg(feature = "schema-check")]
pub(crate) const SCHEMA_ERROR_PATH: &str = "mcp.tool.args.schema_error_path";
#[cfg(feature = "schema-check")]
pub(crate) const SCHEMA_ERROR_MESSAGE: &str = "mcp.tool.args.schema_error_message";
#[cfg(feature = "schema-check")]
pub(crate) const SCHEMA_ERROR_COUNT: &str = "mcp.tool.args.schema_error_count";
#[cfg(feature = "schema-check")]
pub(crate) const SCHEMA_SKIPPED: &str = "mcp.tool.args.schema_skipped";
/// Top-level argument keys the schema does not declare: counted, never named.
pub(crate) const UNDECLARED_COUNT: &str = "mcp.tool.args.undeclared_count";
pub(crate) const RESULT_COUNT: &str = "mcp.tool.result.count";
pub(crate) const RESULT_LENGTH: &str = "mcp.tool.result.length";

pub(crate) const RESOURCE_URI: &str = "mcp.resource.uri";
pub(crate) const RESOURCE_NAME: &str = "mcp.resource.name";
pub(crate) const RESOURCE_TEMPLATE: &str = "mcp.resource.template";
pub(crate) const RESOURCE_URI_DIGEST: &str = "mcp.resource.uri_digest";
#[cfg(any(feature = "read-tracking", feature = "metrics"))]
pub(crate) const CACHE_HIT: &str = "mcp.resource.cache_hit";
#[cfg(feature = "read-tracking")]
pub(crate) const READ_COUNT: &str = "mcp.resource.read_count";
/// What reads are counted within: `session`, or `trace` (one agent run) when the
/// request has no session but a `_meta` trace context.
#[cfg(feature = "read-tracking")]
pub(crate) const READ_SCOPE: &str = "mcp.resource.read_scope";
pub(crate) const CONTENT_LENGTH: &str = "mcp.resource.content.length";

pub(crate) const TOOLS_CALL: &str = "tools/call";
pub(crate) const RESOURCES_READ: &str = "resources/read";
pub(crate) const EXECUTE_TOOL: &str = "execute_tool";
/// The convention's stand-in for a name outside the known set (cardinality).
#[cfg(any(feature = "wire", feature = "metrics"))]
pub(crate) const OTHER: &str = "_OTHER";
/// Bytes of a message as received, without its line end (as `rpc.server.request.size`).
#[cfg(feature = "wire")]
pub(crate) const REQUEST_SIZE: &str = "mcp.request.size";

/// Tool-definition drift (`signals::definitions`).
#[cfg(all(feature = "wire", feature = "args-hash"))]
pub(crate) const TOOL_DEFINITION_HASH: &str = "mcp.tool.definition.hash";
/// Bytes of the called tool's definition as JSON (what listing it costs a model's
/// context on every turn).
#[cfg(all(feature = "wire", feature = "args-hash"))]
pub(crate) const TOOL_DEFINITION_SIZE: &str = "mcp.tool.definition.size";
/// Bytes of the tool list's definitions as JSON, on a `tools/list` span.
#[cfg(feature = "wire")]
pub(crate) const TOOLS_DEFINITIONS_SIZE: &str = "mcp.tools.definitions.size";
/// Bytes of a tool call's result as JSON (what the client receives; its context cost).
#[cfg(feature = "wire")]
pub(crate) const TOOL_RESULT_SIZE: &str = "mcp.tool.result.size";
/// `too_large`: the result's JSON reached the measuring budget, and was not measured on.
#[cfg(feature = "wire")]
pub(crate) const TOOL_RESULT_SIZE_SKIPPED: &str = "mcp.tool.result.size_skipped";
#[cfg(all(feature = "wire", feature = "args-hash"))]
pub(crate) const TOOLS_COUNT: &str = "mcp.tools.count";
#[cfg(all(feature = "wire", feature = "args-hash"))]
pub(crate) const TOOLS_DEFINITIONS_HASH: &str = "mcp.tools.definitions.hash";
#[cfg(all(feature = "wire", feature = "args-hash"))]
pub(crate) const TOOLS_CHANGED: &str = "mcp.tools.changed";
