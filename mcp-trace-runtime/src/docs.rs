//! Generated docs: every annotated handler registers a [`HandlerDoc`] at link time;
//! [`markdown`] and [`json()`] render all of them, ordered by kind, then name.
//!
//! The input schema shown is the one the schema check validates against, and the JSON
//! tool entries are `tools/list` entries (`name`, `description`, `inputSchema`), with
//! the telemetry description under `_meta`.

use crate::signals::schema_build::SchemaBuilder;
use serde_json::{Map, Value, json};
use std::fmt::Write;

/// Tool or resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DocKind {
    Tool,
    Resource,
}

/// Where the input schema comes from.
#[derive(Debug, Clone, Copy)]
pub enum DocSchema {
    /// Not known statically (parameter types name generic parameters).
    Unknown,
    /// `schema = "…"`, embedded.
    File(&'static str),
    /// Derived from the parameter types.
    Derived(fn(&mut SchemaBuilder)),
}

/// What a parameter is to the handler's spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamRole {
    /// A named argument.
    Argument { optional: bool },
    /// The arguments object itself (`#[args]`, `Parameters<T>`): its fields are the
    /// arguments.
    Object,
    /// `#[session]`.
    Session,
}

/// A parameter as written in the handler's signature.
#[derive(Debug)]
pub struct ParamDoc {
    pub(crate) name: &'static str,
    pub(crate) rust_type: &'static str,
    pub(crate) role: ParamRole,
}

impl ParamDoc {
    pub const fn new(name: &'static str, rust_type: &'static str, role: ParamRole) -> Self {
        Self {
            name,
            rust_type,
            role,
        }
    }
}

/// The static description of one handler, registered by the attribute macros.
#[derive(Debug)]
pub struct HandlerDoc {
    pub(crate) kind: DocKind,
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) params: &'static [ParamDoc],
    pub(crate) schema: DocSchema,
    pub(crate) uri_template: Option<&'static str>,
    /// A resource's `name = "…"` was given (else `name` is the function's).
    pub(crate) named: bool,
}

impl HandlerDoc {
    pub const fn tool(
        name: &'static str,
        description: &'static str,
        params: &'static [ParamDoc],
        schema: DocSchema,
    ) -> Self {
        Self {
            kind: DocKind::Tool,
            name,
            description,
            params,
            schema,
            uri_template: None,
            named: true,
        }
    }

    pub const fn resource(
        name: &'static str,
        description: &'static str,
        params: &'static [ParamDoc],
        uri_template: Option<&'static str>,
        named: bool,
    ) -> Self {
        Self {
            kind: DocKind::Resource,
            name,
            description,
            params,
            schema: DocSchema::Unknown,
            uri_template,
            named,
        }
    }

    fn schema_document(&self) -> Option<Value> {
        let mut document = match self.schema {
            DocSchema::Unknown => return None,
            DocSchema::File(text) => serde_json::from_str(text).ok()?,
            DocSchema::Derived(describe) => SchemaBuilder::build(describe),
        };
        document.sort_all_objects();
        Some(document)
    }
}

inventory::collect!(HandlerDoc);

/// Every registered handler, tools first, each kind by name.
fn handlers() -> Vec<&'static HandlerDoc> {
    let mut all: Vec<&'static HandlerDoc> = inventory::iter::<HandlerDoc>.into_iter().collect();
    all.sort_by_key(|h| (h.kind, h.name));
    all
}

/// One argument of a tool, merged from its signature and its schema.
struct Argument {
    name: String,
    rust_type: String,
    json_type: String,
    required: bool,
    constraints: String,
    shape_keys: Vec<String>,
}

fn json_type(schema: &Value) -> String {
    match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ if schema.get("$ref").is_some() || schema.get("properties").is_some() => "object".into(),
        _ if schema.get("enum").is_some() => "enum".into(),
        _ => "any".into(),
    }
}

fn constraints(schema: &Value) -> String {
    const KEYWORDS: [(&str, &str); 11] = [
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
        ("pattern", "pattern"),
        ("format", "format"),
        ("enum", "one of"),
    ];
    KEYWORDS
        .iter()
        .filter_map(|(key, label)| {
            let value = schema.get(*key)?;
            let shown = match value {
                Value::String(s) => format!("`{s}`"),
                Value::Array(items) => items
                    .iter()
                    .map(|i| format!("`{i}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            Some(format!("{label} {shown}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The shape attribute keys an argument's spans carry, from its JSON type; `present`
/// when the argument may be absent (an `Option` parameter, an optional field).
fn shape_keys(name: &str, json_type: &str, present: bool) -> Vec<String> {
    if !cfg!(feature = "args-shape") {
        return Vec::new();
    }
    let base = format!("mcp.tool.args.{name}");
    let mut keys = Vec::new();
    if present {
        keys.push(format!("{base}.present"));
    }
    let kinds: Vec<&str> = json_type.split(" | ").filter(|t| *t != "null").collect();
    for kind in kinds {
        let key = match kind {
            "string" => format!("{base}.length"),
            "array" | "object" => format!("{base}.count"),
            "integer" | "number" | "boolean" => base.clone(),
            _ => continue,
        };
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

fn arguments(handler: &HandlerDoc, schema: Option<&Value>) -> Vec<Argument> {
    let properties = schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object);
    let required: Vec<&str> = schema
        .and_then(|s| s.get("required"))
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let object = handler.params.iter().find(|p| p.role == ParamRole::Object);
    let mut out = Vec::new();
    let mut push = |name: &str,
                    rust_type: String,
                    property: Option<&Value>,
                    is_required: bool,
                    present: bool| {
        let empty = Value::Object(Map::new());
        let property = property.unwrap_or(&empty);
        let json_type = json_type(property);
        out.push(Argument {
            shape_keys: shape_keys(name, &json_type, present),
            name: name.to_owned(),
            rust_type,
            json_type,
            required: is_required,
            constraints: constraints(property),
        });
    };
    for param in handler.params {
        if let ParamRole::Argument { optional } = param.role {
            let property = properties.and_then(|p| p.get(param.name));
            let is_required = if properties.is_some() {
                required.contains(&param.name)
            } else {
                !optional
            };
            // `.present` follows the signature: only `Option` parameters record it.
            push(
                param.name,
                format!("`{}`", param.rust_type),
                property,
                is_required,
                optional,
            );
        }
    }
    if let (Some(object), Some(properties)) = (object, properties) {
        for (name, property) in properties {
            if handler.params.iter().any(|p| p.name == name) {
                continue;
            }
            let rust_type = format!("field of `{}`", object.rust_type);
            let is_required = required.contains(&name.as_str());
            push(name, rust_type, Some(property), is_required, !is_required);
        }
    }
    out
}

/// Every attribute key the handler's spans can carry, with when it is set.
fn attribute_catalog(handler: &HandlerDoc, arguments: &[Argument]) -> Vec<(String, &'static str)> {
    let mut keys: Vec<(String, &'static str)> = Vec::new();
    let mut add = |key: &str, when: &'static str| keys.push((key.to_owned(), when));
    match handler.kind {
        DocKind::Tool => {
            add("mcp.method.name", "always: `tools/call`");
            add("gen_ai.operation.name", "always: `execute_tool`");
            add("gen_ai.tool.name", "always");
            add("mcp.tool.name", "always");
        }
        DocKind::Resource => {
            add("mcp.method.name", "always: `resources/read`");
            add("mcp.resource.uri", "always");
            if handler.named {
                add("mcp.resource.name", "always");
            }
            if handler.uri_template.is_some() {
                add("mcp.resource.template", "always");
            }
        }
    }
    add("mcp.session.id", "when the session is known");
    add("jsonrpc.request.id", "inside a request scope");
    add("mcp.protocol.version", "inside a request scope");
    add("network.transport", "inside a request scope");
    add("network.protocol.name", "inside an HTTP request scope");
    add("network.protocol.version", "inside an HTTP request scope");
    add(
        "client.address",
        "inside an HTTP request scope, when the client's IP address is known",
    );
    add("client.port", "with `client.address`, when known");
    if handler.kind == DocKind::Tool {
        for argument in arguments {
            for key in &argument.shape_keys {
                keys.push((key.clone(), "argument shape"));
            }
        }
        if cfg!(feature = "args-hash") {
            keys.push(("mcp.tool.args.hash".into(), "always"));
        }
        if cfg!(feature = "schema-check") && !matches!(handler.schema, DocSchema::Unknown) {
            keys.push(("mcp.tool.args.schema_valid".into(), "always"));
            keys.push((
                "mcp.tool.args.schema_error_path".into(),
                "invalid arguments",
            ));
            keys.push((
                "mcp.tool.args.schema_error_message".into(),
                "invalid arguments",
            ));
            keys.push((
                "mcp.tool.args.schema_error_count".into(),
                "invalid arguments",
            ));
        }
        if cfg!(feature = "args-hash") {
            keys.push((
                "mcp.tool.call.repeat_run".into(),
                "when the session, or else a `_meta` trace, is known",
            ));
            keys.push((
                "mcp.tool.definition.hash".into(),
                "through the rmcp adapter, for a tool it advertises",
            ));
        }
        keys.push(("mcp.tool.result.count".into(), "`Ok` collection result"));
        keys.push(("mcp.tool.result.length".into(), "`Ok` string result"));
    } else {
        if cfg!(feature = "read-tracking") {
            const TRACKED: &str = "when the session, or else a `_meta` trace, is known";
            keys.push(("mcp.resource.cache_hit".into(), TRACKED));
            keys.push(("mcp.resource.read_count".into(), TRACKED));
            keys.push((
                "mcp.resource.read_scope".into(),
                "with the read count: `session` or `trace`",
            ));
        }
        keys.push((
            "mcp.resource.content.length".into(),
            "`Ok` text or bytes result",
        ));
    }
    keys.push(("error.type".into(), "failure"));
    keys.push(("rpc.response.status_code".into(), "JSON-RPC error"));
    keys.push((
        "mcp.call.cancelled".into(),
        "the call was dropped unfinished",
    ));
    keys
}

/// The attributes a handler's calls can carry on `mcp.server.operation.duration`, and
/// when: none with the `metrics` feature off.
fn metric_catalog(handler: &HandlerDoc) -> Vec<(&'static str, &'static str)> {
    if !cfg!(all(feature = "enable", feature = "metrics")) {
        return Vec::new();
    }
    let mut keys = Vec::new();
    match handler.kind {
        DocKind::Tool => {
            keys.push(("mcp.method.name", "always: `tools/call`"));
            keys.push(("gen_ai.operation.name", "always: `execute_tool`"));
            keys.push(("gen_ai.tool.name", "always"));
        }
        DocKind::Resource => keys.push(("mcp.method.name", "always: `resources/read`")),
    }
    keys.push((
        "mcp.protocol.version",
        "inside a request scope, a published revision (else `_OTHER`)",
    ));
    keys.push(("network.transport", "inside a request scope"));
    keys.push(("network.protocol.name", "inside an HTTP request scope"));
    keys.push(("network.protocol.version", "inside an HTTP request scope"));
    match handler.kind {
        DocKind::Tool => {
            if cfg!(feature = "schema-check") && !matches!(handler.schema, DocSchema::Unknown) {
                keys.push((
                    "mcp.tool.args.schema_valid",
                    "arguments under the schema-check budget",
                ));
            }
            if cfg!(feature = "args-hash") {
                keys.push((
                    "mcp.tool.call.repeated",
                    "when the session, or else a `_meta` trace, is known",
                ));
            }
        }
        DocKind::Resource => {
            if cfg!(feature = "read-tracking") {
                keys.push((
                    "mcp.resource.cache_hit",
                    "when the session, or else a `_meta` trace, is known",
                ));
            }
        }
    }
    keys.push(("error.type", "failure"));
    keys.push(("rpc.response.status_code", "JSON-RPC error"));
    keys
}

/// `mcp.tool.definition.hash` of the tool as this page shows it (name, description,
/// input schema): what the runtime records for a server that advertises exactly that,
/// with no output schema or annotations. `None` without the `args-hash` feature or a
/// known schema.
fn definition_hash(handler: &HandlerDoc, schema: Option<&Value>) -> Option<String> {
    #[cfg(feature = "args-hash")]
    {
        let mut entry = json!({"name": handler.name, "inputSchema": schema?});
        if !handler.description.is_empty() {
            entry["description"] = json!(handler.description);
        }
        Some(crate::signals::definitions::definition_hash(&entry))
    }
    #[cfg(not(feature = "args-hash"))]
    {
        let _ = (handler, schema);
        None
    }
}

fn anchor(handler: &HandlerDoc) -> String {
    let kind = match handler.kind {
        DocKind::Tool => "tool",
        DocKind::Resource => "resource",
    };
    let name: String = handler
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("{kind}-{name}")
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// One Markdown page describing every registered handler: a table of contents, then
/// per handler its description, arguments, span attributes, metric attributes (with
/// the `metrics` feature) and input schema.
pub fn markdown() -> String {
    let handlers = handlers();
    let mut out = String::new();
    out.push_str("# MCP tools and resources\n\n");
    out.push_str("Generated by mcp-trace from the annotated handlers; do not edit by hand.\n");
    for (kind, title) in [(DocKind::Tool, "Tools"), (DocKind::Resource, "Resources")] {
        let of_kind: Vec<_> = handlers.iter().filter(|h| h.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## {title}\n");
        for handler in &of_kind {
            let _ = writeln!(out, "- [`{}`](#{})", handler.name, anchor(handler));
        }
    }
    for handler in &handlers {
        let kind = match handler.kind {
            DocKind::Tool => "Tool",
            DocKind::Resource => "Resource",
        };
        let _ = writeln!(
            out,
            "\n<a id=\"{}\"></a>\n\n## {kind} `{}`\n",
            anchor(handler),
            handler.name
        );
        if !handler.description.is_empty() {
            let _ = writeln!(out, "{}\n", handler.description);
        }
        let schema = handler.schema_document();
        let arguments = arguments(handler, schema.as_ref());
        match handler.kind {
            DocKind::Tool => {
                let _ = writeln!(out, "Span: `tools/call {}` (kind SERVER).\n", handler.name);
                if let Some(hash) = definition_hash(handler, schema.as_ref()) {
                    let _ = writeln!(
                        out,
                        "Definition hash: `{hash}` (`mcp.tool.definition.hash` of the name, \
                         description and input schema on this page).\n"
                    );
                }
                out.push_str("### Arguments\n\n");
                if arguments.is_empty() {
                    out.push_str("None.\n\n");
                } else {
                    out.push_str("| argument | Rust type | JSON type | required | constraints | shape attributes |\n");
                    out.push_str("|---|---|---|---|---|---|\n");
                    for a in &arguments {
                        let keys = a
                            .shape_keys
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        let _ = writeln!(
                            out,
                            "| `{}` | {} | {} | {} | {} | {} |",
                            a.name,
                            cell(&a.rust_type),
                            a.json_type,
                            if a.required { "yes" } else { "no" },
                            cell(&a.constraints),
                            keys
                        );
                    }
                    out.push('\n');
                }
            }
            DocKind::Resource => {
                let uri = handler
                    .uri_template
                    .map_or("computed per read".to_owned(), |t| format!("`{t}`"));
                let _ = writeln!(out, "Span: `resources/read` (kind SERVER). URI: {uri}.\n");
            }
        }
        out.push_str("### Span attributes\n\n| attribute | set |\n|---|---|\n");
        for (key, when) in attribute_catalog(handler, &arguments) {
            let _ = writeln!(out, "| `{key}` | {when} |");
        }
        let metric = metric_catalog(handler);
        if !metric.is_empty() {
            out.push_str(
                "\n### Metric attributes\n\nEvery call, sampled or not, on \
                 `mcp.server.operation.duration` (never a session, request id, URI or \
                 hash).\n\n| attribute | set |\n|---|---|\n",
            );
            for (key, when) in metric {
                let _ = writeln!(out, "| `{key}` | {when} |");
            }
        }
        if handler.kind == DocKind::Tool {
            out.push_str("\n### Input schema\n\n");
            match &schema {
                Some(schema) => {
                    let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
                    let _ = writeln!(out, "```json\n{pretty}\n```");
                }
                None => out.push_str("Not known statically: the parameter types are generic.\n"),
            }
        }
    }
    out
}

/// The same as [`markdown`], as JSON: `{"tools": [...], "resources": [...]}`. Each tool
/// entry is usable as an entry of a `tools/list` response (`name`, `description`,
/// `inputSchema`); its arguments, span attributes and metric attributes are under
/// `_meta["mcp-trace/arguments"]`, `_meta["mcp-trace/attributes"]` and
/// `_meta["mcp-trace/metric-attributes"]` (with the `metrics` feature), and its
/// definition hash under `_meta["mcp-trace/definition-hash"]` (with `args-hash`).
pub fn json() -> Value {
    let mut tools = Vec::new();
    let mut resources = Vec::new();
    for handler in handlers() {
        let schema = handler.schema_document();
        let arguments = arguments(handler, schema.as_ref());
        let attributes: Vec<Value> = attribute_catalog(handler, &arguments)
            .into_iter()
            .map(|(key, when)| json!({"key": key, "set": when}))
            .collect();
        let mut meta = json!({"mcp-trace/attributes": attributes});
        let metric = metric_catalog(handler);
        if !metric.is_empty() {
            meta["mcp-trace/metric-attributes"] = metric
                .into_iter()
                .map(|(key, when)| json!({"key": key, "set": when}))
                .collect();
        }
        match handler.kind {
            DocKind::Tool => {
                let args: Vec<Value> = arguments
                    .iter()
                    .map(|a| {
                        json!({
                            "name": a.name,
                            "rustType": a.rust_type.trim_matches('`'),
                            "jsonType": a.json_type,
                            "required": a.required,
                            "constraints": a.constraints,
                            "attributes": a.shape_keys,
                        })
                    })
                    .collect();
                meta["mcp-trace/arguments"] = Value::Array(args);
                if let Some(hash) = definition_hash(handler, schema.as_ref()) {
                    meta["mcp-trace/definition-hash"] = json!(hash);
                }
                tools.push(json!({
                    "name": handler.name,
                    "description": handler.description,
                    "inputSchema": schema.unwrap_or_else(|| json!({"type": "object"})),
                    "_meta": meta,
                }));
            }
            DocKind::Resource => resources.push(json!({
                "name": handler.name,
                "description": handler.description,
                "uriTemplate": handler.uri_template,
                "_meta": meta,
            })),
        }
    }
    json!({"tools": tools, "resources": resources})
}
