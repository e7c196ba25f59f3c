//! Prometheus alerting rules that raise the report's alerts (see [`crate::alerts`])
//! over the library's metrics instead of span files, with the same thresholds and
//! windows ([`Settings`]), so one set of flags tunes both.
//!
//! # Metric and label names
//!
//! The rules assume the OpenTelemetry Collector's default translation of OTLP names to
//! Prometheus names, `translation_strategy: UnderscoreEscapingWithSuffixes` (the
//! default of the collector's `prometheus` exporter and of Prometheus' own OTLP
//! receiver; the `prometheusremotewrite` exporter does the same with its default
//! `add_metric_suffixes: true`). It is specified in the collector-contrib README of
//! `pkg/translator/prometheus` and `exporter/prometheusexporter`, and in
//! `prometheus/otlptranslator`, whose README gives
//! `http.server.request.duration` with unit `s` as
//! `http_server_request_duration_seconds`:
//!
//! - characters outside `[a-zA-Z0-9_:]` become `_`, in metric and label names alike:
//!   `gen_ai.tool.name` is the label `gen_ai_tool_name`;
//! - the UCUM unit `s` is appended as `_seconds`;
//! - a histogram becomes `<name>_bucket` (with `le`), `<name>_sum` and `<name>_count`;
//! - boolean attribute values become the label values `"true"` and `"false"`.
//!
//! So `mcp.server.operation.duration` is read as
//! `mcp_server_operation_duration_seconds_{bucket,count,sum}` and
//! `mcp.server.session.duration` as `mcp_server_session_duration_seconds_*`.
//!
//! Other settings give other names, and these rules then match nothing:
//! `UnderscoreEscapingWithoutSuffixes` (or the deprecated `add_metric_suffixes:
//! false`) drops `_seconds`; `NoUTF8EscapingWithSuffixes` keeps the dots
//! (`{"mcp.server.operation.duration_seconds_count", "gen_ai.tool.name"="…"}`);
//! `NoTranslation` keeps the OTel names as they are; the exporter's `namespace` adds a
//! prefix; and turning off the collector's `pkg.translator.prometheus.NormalizeName`
//! feature gate (in the versions that have it) drops the unit suffix.
//!
//! # What differs from the report
//!
//! - The metric has no resource name (a URI or template per series would be
//!   unbounded), so duplicate reads are server-wide over `resources/read`, not per
//!   resource.
//! - Tools the server does not know are `_OTHER` on the metric; they are left out of
//!   the per-tool rules (the unknown-tool rule is about them).
//! - The latency baseline is each tool's p50 over the day before the window, not its
//!   first calls (see [`rules`]); quantiles are interpolated within the metric's
//!   buckets, so they are only as fine as the buckets.
//! - The rules sum over every series of the metric, that is every server reporting it
//!   to this Prometheus; add `job` to the `by` clauses to tell servers apart.

use crate::alerts::Kind;
use crate::settings::{SLOTS_PER_WINDOW, Settings};
use serde_json::Value;
use std::fmt::Write as _;
use std::time::Duration;

/// The operation-duration histogram's series, as the rules read them.
pub const OPERATION_BUCKET: &str = "mcp_server_operation_duration_seconds_bucket";
pub const OPERATION_COUNT: &str = "mcp_server_operation_duration_seconds_count";
/// The session-duration histogram's series.
pub const SESSION_BUCKET: &str = "mcp_server_session_duration_seconds_bucket";
pub const SESSION_COUNT: &str = "mcp_server_session_duration_seconds_count";
/// The probe's gauge (`mcp-trace probe`).
pub const PROBE_UP: &str = "mcp_probe_up";

/// The alert's name in Prometheus for each of the report's alerts (whose own name is
/// the rule's `mcp_trace_alert` label): an alert name must be a valid metric name.
pub fn alert_name(kind: Kind) -> &'static str {
    match kind {
        Kind::ErrorRate => "McpToolErrorRate",
        Kind::Latency => "McpToolLatency",
        Kind::Silent => "McpToolSilent",
        Kind::SchemaMismatch => "McpToolSchemaMismatch",
        Kind::UnknownTool => "McpUnknownTool",
        Kind::DuplicateReads => "McpDuplicateReads",
        Kind::ProbeDown => "McpProbeDown",
        Kind::ServerSilent => "McpServerSilent",
        Kind::RetryLoop => "McpToolRetryLoop",
    }
}

/// How far back the latency baseline looks: a day smooths out daily traffic patterns.
const BASELINE_RANGE: Duration = Duration::from_secs(24 * 60 * 60);

/// How much earlier traffic the silent-tool rule looks at, in silence windows: long
/// enough to tell regular calls from a burst.
const SILENT_LOOKBACK_WINDOWS: u32 = 4;

/// "Regularly" in the report: a call every third of the silence window, on average.
const CALLS_PER_SILENCE_WINDOW: u64 = 3;

/// The label a tool call carries on the metric and its method.
const TOOL_CALLS: &str = r#"mcp_method_name="tools/call""#;

/// The Prometheus rule file (YAML) raising the report's alerts with `settings`'
/// thresholds and windows.
///
/// With `tool_docs` (the JSON of `mcp_trace::docs::json()`), the per-tool rules are
/// limited to the documented tools, and the silent-tool alert is one rule per tool.
/// `Err` says what is wrong with the settings or the docs.
///
/// The latency baseline is the tool's p50 over the day before the window
/// (`[1d] offset <window>`): a day of traffic smooths daily patterns, and ending where
/// the window starts keeps a slowdown out of its own baseline until it has lasted for
/// hours. A tool with no call in that day has no baseline and no latency alert, as the
/// report skips tools without one.
pub fn rules(settings: &Settings, tool_docs: Option<&Value>) -> Result<String, String> {
    check(settings)?;
    let tools = match tool_docs {
        Some(docs) => Some(documented_tools(docs)?),
        None => None,
    };
    let q = Queries::new(settings, tools.as_deref());
    let mut rules = vec![
        q.error_rate(),
        q.latency(),
        q.schema_mismatch(),
        q.unknown_tool(),
        q.duplicate_reads(),
        q.retry_loop(),
    ];
    match &tools {
        Some(tools) => rules.extend(tools.iter().map(|tool| q.silent(Some(tool)))),
        None => rules.push(q.silent(None)),
    }
    rules.push(q.probe_down());
    rules.push(q.server_silent());
    let mut out = String::new();
    header(&mut out, settings, tools.as_deref());
    out.push_str("groups:\n  - name: mcp-trace\n    rules:\n");
    for rule in &rules {
        rule.write(&mut out);
    }
    Ok(out)
}

/// Settings the rules cannot be written with.
fn check(s: &Settings) -> Result<(), String> {
    if s.window < Duration::from_millis(1) {
        return Err("the window must be at least 1ms".to_owned());
    }
    if s.silence < Duration::from_millis(1) {
        return Err("the silence window must be at least 1ms".to_owned());
    }
    // Prometheus durations end near 292 years; the rules look back four silences and a
    // day before a window.
    for (name, length) in [("window", s.window), ("silence window", s.silence)] {
        if length > MAX_WINDOW {
            return Err(format!("the {name} must be at most 366 days"));
        }
    }
    let rates = [
        ("error rate", s.error_rate),
        ("schema rate", s.schema_rate),
        ("unknown rate", s.unknown_rate),
        ("duplicate rate", s.duplicate_rate),
        ("repeat rate", s.repeat_rate),
    ];
    for (name, rate) in rates {
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!(
                "the {name} must be a share from 0 to 1, not {rate}"
            ));
        }
    }
    if !(s.latency_factor.is_finite() && s.latency_factor > 0.0) {
        return Err(format!(
            "the latency factor must be a positive number, not {}",
            s.latency_factor
        ));
    }
    Ok(())
}

/// Longest window or silence the rules are written for.
pub const MAX_WINDOW: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// Most documented tools the rules name one by one (each gets a rule of its own).
const MAX_DOCUMENTED_TOOLS: usize = 1000;

/// The tool names in `docs`' `tools` array, in order, without repeats.
fn documented_tools(docs: &Value) -> Result<Vec<String>, String> {
    let Some(tools) = docs.get("tools").and_then(Value::as_array) else {
        return Err(
            "the tool docs have no `tools` array (expected the JSON of mcp_trace::docs::json())"
                .to_owned(),
        );
    };
    let mut names: Vec<String> = Vec::with_capacity(tools.len().min(MAX_DOCUMENTED_TOOLS));
    let mut seen = std::collections::HashSet::new();
    for (i, tool) in tools.iter().enumerate() {
        match tool.get("name").and_then(Value::as_str) {
            Some("") => return Err(format!("tool {i} of the tool docs has an empty name")),
            // Prometheus expands templates in rule labels: a name with `{{` would be
            // run as one.
            Some(name) if name.contains("{{") || name.contains("}}") => {
                return Err(format!(
                    "tool {i} of the tool docs has a name with `{{{{` or `}}}}`, which Prometheus would expand as a template"
                ));
            }
            Some(name) => {
                if seen.insert(name) {
                    names.push(name.to_owned());
                }
            }
            None => return Err(format!("tool {i} of the tool docs has no string `name`")),
        }
        if names.len() > MAX_DOCUMENTED_TOOLS {
            return Err(format!(
                "the tool docs list over {MAX_DOCUMENTED_TOOLS} tools: write the rules without docs (one rule per alert, by tool)"
            ));
        }
    }
    if names.is_empty() {
        return Err(
            "the tool docs list no tool: write the rules without docs for a server with none"
                .to_owned(),
        );
    }
    Ok(names)
}

/// The comment atop the file: where it came from and with which settings.
fn header(out: &mut String, s: &Settings, tools: Option<&[String]>) {
    out.push_str("# Prometheus alerting rules for mcp-trace's metrics: the alerts of\n");
    out.push_str("# `mcp-trace report`, over mcp_server_operation_duration_seconds_*\n");
    out.push_str(
        "# (OTel Collector naming, translation_strategy UnderscoreEscapingWithSuffixes).\n",
    );
    let _ = writeln!(
        out,
        "# window {}, silence {}, error rate {}, latency factor {}, schema rate {},",
        duration(s.window),
        duration(s.silence),
        percent(s.error_rate),
        s.latency_factor,
        percent(s.schema_rate),
    );
    let _ = writeln!(
        out,
        "# unknown rate {}, duplicate rate {}, repeat rate {}, min calls {}; latency baseline: p50 over [{}] offset {}.",
        percent(s.unknown_rate),
        percent(s.duplicate_rate),
        percent(s.repeat_rate),
        s.min_calls,
        duration(BASELINE_RANGE),
        duration(s.window),
    );
    if let Some(tools) = tools {
        let _ = writeln!(
            out,
            "# Per-tool rules limited to the {} documented tool(s).",
            tools.len()
        );
    }
}

/// One alerting rule.
struct Rule {
    kind: Kind,
    expr: String,
    for_: Duration,
    severity: &'static str,
    /// A label naming the one tool a rule is about, which keeps the per-tool rules
    /// of one alert apart.
    tool: Option<String>,
    summary: String,
    description: String,
}

impl Rule {
    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "      - alert: {}", alert_name(self.kind));
        out.push_str("        expr: |\n");
        for line in self.expr.lines() {
            let _ = writeln!(out, "          {line}");
        }
        let _ = writeln!(out, "        for: {}", duration(self.for_));
        out.push_str("        labels:\n");
        let _ = writeln!(out, "          severity: {}", self.severity);
        let _ = writeln!(out, "          mcp_trace_alert: {}", self.kind.name());
        if let Some(tool) = &self.tool {
            let _ = writeln!(out, "          gen_ai_tool_name: {}", promql_string(tool));
        }
        out.push_str("        annotations:\n");
        let _ = writeln!(out, "          summary: {}", yaml_quoted(&self.summary));
        let _ = writeln!(
            out,
            "          description: {}",
            yaml_quoted(&self.description)
        );
    }
}

/// The pieces the expressions are made of.
struct Queries<'a> {
    s: &'a Settings,
    window: String,
    /// Matchers of the tool calls the per-tool rules look at.
    tools: String,
    /// The same without the documented tools' names: for a rule about one tool.
    any_tool: String,
    /// The alert's `for`: one slot, the step the report's windows slide by, so that
    /// one evaluation's spike does not page.
    slot: Duration,
}

impl<'a> Queries<'a> {
    fn new(s: &'a Settings, documented: Option<&[String]>) -> Self {
        let any_tool = format!(r#"{TOOL_CALLS},gen_ai_tool_name!="_OTHER""#);
        let mut tools = any_tool.clone();
        if let Some(names) = documented {
            let pattern: Vec<String> = names.iter().map(|n| regex_escape(n)).collect();
            let _ = write!(
                tools,
                ",gen_ai_tool_name=~{}",
                promql_string(&pattern.join("|"))
            );
        }
        Self {
            s,
            window: duration(s.window),
            tools,
            any_tool,
            slot: s.window / u32::try_from(SLOTS_PER_WINDOW).unwrap_or(5),
        }
    }

    /// Each tool's calls over `range` (`[5m]`, or with an offset), with `extra`
    /// matchers.
    fn tool_calls(&self, extra: &str, range: &str) -> String {
        calls_by_tool(&self.tools, extra, range)
    }

    /// The `min_calls` guard on `calls`.
    fn enough(&self, calls: &str) -> String {
        format!("and\n{calls} >= {}", self.s.min_calls)
    }

    fn error_rate(&self) -> Rule {
        let w = &self.window;
        let range = format!("[{w}]");
        let calls = self.tool_calls("", &range);
        // Calls with neither an error type nor a JSON-RPC error code; a tool with
        // none of those still has its (zero) line, so that all-failing tools alert.
        let ok = self.tool_calls(r#",error_type="",rpc_response_status_code="""#, &range);
        Rule {
            kind: Kind::ErrorRate,
            expr: format!(
                "(\n  {calls}\n  -\n  ({ok} or {calls} * 0)\n)\n/\n{calls}\n> {}\n{}",
                self.s.error_rate,
                self.enough(&calls)
            ),
            for_: self.slot,
            severity: "warning",
            tool: None,
            summary: "MCP tool {{ $labels.gen_ai_tool_name }} fails often".to_owned(),
            description: format!(
                "{{{{ $value | humanizePercentage }}}} of the calls of {{{{ $labels.gen_ai_tool_name }}}} over {w} failed (error.type or a JSON-RPC error answer), above {}.",
                percent(self.s.error_rate)
            ),
        }
    }

    fn latency(&self) -> Rule {
        let w = &self.window;
        let range = format!("[{w}]");
        let base = duration(BASELINE_RANGE);
        let quantile = |q: &str, range: &str| {
            format!(
                "histogram_quantile({q}, sum by (gen_ai_tool_name, le) (rate({OPERATION_BUCKET}{{{}}}{range})))",
                self.tools
            )
        };
        let p95 = quantile("0.95", &range);
        let baseline = quantile("0.5", &format!("[{base}] offset {w}"));
        Rule {
            kind: Kind::Latency,
            expr: format!(
                "{p95}\n> {} * {baseline}\n{}",
                self.s.latency_factor,
                self.enough(&self.tool_calls("", &range))
            ),
            for_: self.slot,
            severity: "warning",
            tool: None,
            summary: "MCP tool {{ $labels.gen_ai_tool_name }} is slow".to_owned(),
            description: format!(
                "The p95 of {{{{ $labels.gen_ai_tool_name }}}} over {w} is {{{{ $value | humanizeDuration }}}}, above {} times its p50 over the {base} before.",
                self.s.latency_factor
            ),
        }
    }

    /// The silent-tool rule: for every tool, or for `tool` alone.
    fn silent(&self, tool: Option<&str>) -> Rule {
        let silence = duration(self.s.silence);
        let lookback_span = self.s.silence * SILENT_LOOKBACK_WINDOWS;
        let lookback = duration(lookback_span);
        let calls = |range: &str| match tool {
            Some(tool) => {
                let only = format!(",gen_ai_tool_name={}", promql_string(tool));
                calls_by_tool(&self.any_tool, &only, range)
            }
            None => self.tool_calls("", range),
        };
        // Regular: `min_calls`, and a call every third of the silence on average.
        let regular = self
            .s
            .min_calls
            .max(u64::from(SILENT_LOOKBACK_WINDOWS) * CALLS_PER_SILENCE_WINDOW);
        let before = calls(&format!("[{lookback}] offset {silence}"));
        let now = calls(&format!("[{silence}]"));
        let all = format!("sum(increase({OPERATION_COUNT}{{{TOOL_CALLS}}}[{silence}]))");
        let subject = match tool {
            Some(_) => "documented MCP tool {{ $labels.gen_ai_tool_name }}",
            None => "MCP tool {{ $labels.gen_ai_tool_name }}",
        };
        Rule {
            kind: Kind::Silent,
            expr: format!("{before} >= {regular}\nunless\n{now} > 0\nand on ()\n{all} > 0"),
            // The silence is in the expression already.
            for_: Duration::ZERO,
            severity: "warning",
            tool: tool.map(str::to_owned),
            summary: format!("{} went silent", capitalised(subject)),
            description: format!(
                "The {subject} had {{{{ $value | printf \"%.0f\" }}}} calls in the {lookback} before the last {silence}, and none since, while other tools were called."
            ),
        }
    }

    /// A server `mcp-trace probe` finds down: its last run failed, as one failed run
    /// raises the report's alert (any probe of it, wherever it runs).
    fn probe_down(&self) -> Rule {
        Rule {
            kind: Kind::ProbeDown,
            expr: format!("min by (mcp_probe_target) ({PROBE_UP}) == 0"),
            for_: Duration::ZERO,
            severity: "critical",
            tool: None,
            summary: "MCP server {{ $labels.mcp_probe_target }} is down".to_owned(),
            description: "mcp-trace probe found the MCP server {{ $labels.mcp_probe_target }} down: a step of its runs failed (the run's trace names it).".to_owned(),
        }
    }

    /// A server that answered requests in the day before and none in the silence
    /// window (tracing alone cannot raise this: a server that is down emits nothing).
    /// It holds until a day after the last request. By `job`, which a collector sets
    /// from the service's name. A server over stdio whose sessions simply end (the
    /// host closed it) looks the same: give such servers a probe instead.
    fn server_silent(&self) -> Rule {
        let silence = duration(self.s.silence);
        let lookback = duration(BASELINE_RANGE);
        let seen = |range: &str| format!("sum by (job) (increase({OPERATION_COUNT}{range}))");
        Rule {
            kind: Kind::ServerSilent,
            expr: format!(
                "{} > 0\nunless\n{} > 0",
                seen(&format!("[{lookback}]")),
                seen(&format!("[{silence}]"))
            ),
            for_: Duration::ZERO,
            severity: "warning",
            tool: None,
            summary: "MCP server {{ $labels.job }} went silent".to_owned(),
            description: format!(
                "The MCP server {{{{ $labels.job }}}} answered requests in the last {lookback}, and none in the last {silence}."
            ),
        }
    }

    fn schema_mismatch(&self) -> Rule {
        let w = &self.window;
        let range = format!("[{w}]");
        let invalid = self.tool_calls(r#",mcp_tool_args_schema_valid="false""#, &range);
        let checked = self.tool_calls(r#",mcp_tool_args_schema_valid!="""#, &range);
        Rule {
            kind: Kind::SchemaMismatch,
            expr: format!(
                "{invalid}\n/\n{checked}\n> {}\n{}",
                self.s.schema_rate,
                self.enough(&checked)
            ),
            for_: self.slot,
            severity: "warning",
            tool: None,
            summary: "MCP tool {{ $labels.gen_ai_tool_name }} gets arguments that break its schema"
                .to_owned(),
            description: format!(
                "{{{{ $value | humanizePercentage }}}} of the schema-checked calls of {{{{ $labels.gen_ai_tool_name }}}} over {w} had invalid arguments, above {}.",
                percent(self.s.schema_rate)
            ),
        }
    }

    fn unknown_tool(&self) -> Rule {
        let w = &self.window;
        let all = format!("sum(increase({OPERATION_COUNT}[{w}]))");
        let unknown = format!(
            r#"sum(increase({OPERATION_COUNT}{{rpc_response_status_code="-32601"}}[{w}]))"#
        );
        Rule {
            kind: Kind::UnknownTool,
            expr: format!(
                "{unknown}\n/\n{all}\n> {}\n{}",
                self.s.unknown_rate,
                self.enough(&all)
            ),
            for_: self.slot,
            severity: "warning",
            tool: None,
            summary: "MCP clients call tools or methods the server does not have".to_owned(),
            description: format!(
                "{{{{ $value | humanizePercentage }}}} of all MCP calls over {w} were answered -32601 (method not found), above {}: see gen_ai_tool_name=\"_OTHER\" and mcp_method_name on the metric, or the span names.",
                percent(self.s.unknown_rate)
            ),
        }
    }

    /// The retry-loop alert over the metric: the share of a tool's calls that repeated
    /// its previous call in their session (same arguments) over the window. The metric
    /// carries the bit, never the run's length: a run of `--retry-threshold` shows as
    /// a high share, not as a count.
    fn retry_loop(&self) -> Rule {
        let w = &self.window;
        let range = format!("[{w}]");
        let repeated = self.tool_calls(r#",mcp_tool_call_repeated="true""#, &range);
        let tracked = self.tool_calls(r#",mcp_tool_call_repeated!="""#, &range);
        Rule {
            kind: Kind::RetryLoop,
            expr: format!(
                "{repeated}\n/\n{tracked}\n> {}\n{}",
                self.s.repeat_rate,
                self.enough(&tracked)
            ),
            for_: self.slot,
            severity: "warning",
            tool: None,
            summary: "MCP tool {{ $labels.gen_ai_tool_name }} is called again and again with the same arguments".to_owned(),
            description: format!(
                "{{{{ $value | humanizePercentage }}}} of the calls of {{{{ $labels.gen_ai_tool_name }}}} over {w} repeated the tool's previous call in their session with the same arguments, above {}: an agent retrying in a loop.",
                percent(self.s.repeat_rate)
            ),
        }
    }

    fn duplicate_reads(&self) -> Rule {
        let w = &self.window;
        let reads = |matcher: &str| {
            format!(
                r#"sum(increase({OPERATION_COUNT}{{mcp_method_name="resources/read",{matcher}}}[{w}]))"#
            )
        };
        let repeated = reads(r#"mcp_resource_cache_hit="true""#);
        let tracked = reads(r#"mcp_resource_cache_hit!="""#);
        Rule {
            kind: Kind::DuplicateReads,
            expr: format!(
                "{repeated}\n/\n{tracked}\n> {}\n{}",
                self.s.duplicate_rate,
                self.enough(&tracked)
            ),
            for_: self.slot,
            severity: "info",
            tool: None,
            summary: "MCP clients re-read resources they already read in the session".to_owned(),
            description: format!(
                "{{{{ $value | humanizePercentage }}}} of resource reads over {w} repeated a read made earlier in the same session, above {} (server-wide: the metric has no resource name).",
                percent(self.s.duplicate_rate)
            ),
        }
    }
}

/// Each tool's calls matched by `matchers` and `extra` over `range`.
fn calls_by_tool(matchers: &str, extra: &str, range: &str) -> String {
    format!("sum by (gen_ai_tool_name) (increase({OPERATION_COUNT}{{{matchers}{extra}}}{range}))")
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A PromQL duration: the largest unit that divides it (`5m`, `90s`, `1d`), else
/// milliseconds.
pub fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    let units: [(u128, &str); 6] = [
        (7 * 24 * 3_600_000, "w"),
        (24 * 3_600_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
        (1, "ms"),
    ];
    for (size, unit) in units {
        if ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// A share as a percentage for people: `0.05` → `5%`.
fn percent(rate: f64) -> String {
    let text = format!("{:.4}", rate * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// `text` matched literally by an RE2 regular expression (Prometheus anchors it).
pub fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `text` as a double-quoted PromQL string. Control characters and the characters
/// YAML 1.1 reads as line breaks are escaped, so the string also fits on one line of
/// a YAML block scalar; and it reads the same as a double-quoted YAML scalar, whose
/// escapes these are too.
pub fn promql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push_str(r"\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` as a single-quoted YAML scalar.
fn yaml_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
