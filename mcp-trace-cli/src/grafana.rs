//! A Grafana dashboard over the library's metrics, one row per question the report
//! answers. It reads the names the rules in [`crate::prometheus`] read (see there for
//! the naming it assumes); the rate panels the alerts look at use the alerts' window
//! and show their threshold as a line, so the dashboard shows what pages.

use crate::prometheus::{OPERATION_BUCKET, OPERATION_COUNT, SESSION_BUCKET, SESSION_COUNT};
use crate::settings::Settings;
use serde_json::{Value, json};

/// The datasource every panel and query uses: the dashboard's own variable, so the
/// JSON imports as is into any Grafana.
const DATASOURCE: &str = "${datasource}";

/// The tool calls the selected tools make.
const TOOL_CALLS: &str = r#"mcp_method_name="tools/call",gen_ai_tool_name=~"$tool""#;

/// Grafana's grid is 24 columns wide.
const GRID_WIDTH: u64 = 24;

/// The dashboard, with `settings`' window and thresholds on the alert panels.
pub fn dashboard(settings: &Settings) -> Value {
    let w = crate::prometheus::duration(settings.window);
    let mut board = Board::default();

    board.row("Which tools fire");
    board.panel(
        Panel::timeseries("Calls per tool", "reqps")
            .describe("Tool calls per second, by tool.")
            .target(
                format!("sum by (gen_ai_tool_name) (rate({OPERATION_COUNT}{{{TOOL_CALLS}}}[$__rate_interval]))"),
                "{{gen_ai_tool_name}}",
            ),
    );
    board.panel(
        Panel::table("Calls per tool over the time range")
            .describe("How many times each tool was called over the dashboard's time range.")
            .instant_target(
                format!("sort_desc(sum by (gen_ai_tool_name) (increase({OPERATION_COUNT}{{{TOOL_CALLS}}}[$__range])))"),
                "{{gen_ai_tool_name}}",
            ),
    );
    board.panel(
        Panel::timeseries("Requests per method", "reqps")
            .describe("Every MCP request per second, by method (tools/call, resources/read, initialize, tools/list, …).")
            .target(
                format!("sum by (mcp_method_name) (rate({OPERATION_COUNT}[$__rate_interval]))"),
                "{{mcp_method_name}}",
            ),
    );

    board.row("How long do they take");
    let quantile = |q: &str, range: &str| {
        format!(
            "histogram_quantile({q}, sum by (gen_ai_tool_name, le) (rate({OPERATION_BUCKET}{{{TOOL_CALLS}}}{range})))"
        )
    };
    board.panel(
        Panel::timeseries("Latency per tool: p50, p95, p99", "s")
            .describe("Quantiles interpolated within the histogram's buckets (0.01 s to 300 s).")
            .target(
                quantile("0.5", "[$__rate_interval]"),
                "{{gen_ai_tool_name}} p50",
            )
            .target(
                quantile("0.95", "[$__rate_interval]"),
                "{{gen_ai_tool_name}} p95",
            )
            .target(
                quantile("0.99", "[$__rate_interval]"),
                "{{gen_ai_tool_name}} p99",
            ),
    );
    board.panel(
        Panel::timeseries("p95 against the latency alert's threshold", "s")
            .describe(&format!(
                "What the latency alert compares: each tool's p95 over {w} against {} times its p50 over the day before.",
                settings.latency_factor
            ))
            .target(quantile("0.95", &format!("[{w}]")), &format!("{{{{gen_ai_tool_name}}}} p95 over {w}"))
            .target(
                format!("{} * {}", settings.latency_factor, quantile("0.5", &format!("[1d] offset {w}"))),
                &format!("{{{{gen_ai_tool_name}}}} {} × p50 over 1d", settings.latency_factor),
            ),
    );

    board.row("How often do they fail");
    let calls =
        format!("sum by (gen_ai_tool_name) (increase({OPERATION_COUNT}{{{TOOL_CALLS}}}[{w}]))");
    let ok = format!(
        r#"sum by (gen_ai_tool_name) (increase({OPERATION_COUNT}{{{TOOL_CALLS},error_type="",rpc_response_status_code=""}}[{w}]))"#
    );
    board.panel(
        Panel::timeseries("Error rate per tool", "percentunit")
            .describe(&format!(
                "Share of each tool's calls over {w} that failed: with error.type, or answered with a JSON-RPC error. The line is the error-rate alert's threshold."
            ))
            .threshold(settings.error_rate)
            .target(format!("({calls} - ({ok} or {calls} * 0)) / {calls}"), "{{gen_ai_tool_name}}"),
    );
    board.panel(
        Panel::timeseries("Failed calls by error type", "reqps")
            .describe("Failed tool calls per second, by error.type (tool_error, an error type's name, a JSON-RPC code, panic).")
            .target(
                format!(r#"sum by (gen_ai_tool_name, error_type) (rate({OPERATION_COUNT}{{{TOOL_CALLS},error_type!=""}}[$__rate_interval]))"#),
                "{{gen_ai_tool_name}}: {{error_type}}",
            ),
    );
    board.panel(
        Panel::timeseries("JSON-RPC error answers by code", "reqps")
            .describe("Every request answered with a JSON-RPC error per second, by code (-32602 invalid params, -32601 method not found, …).")
            .target(
                format!(r#"sum by (rpc_response_status_code) (rate({OPERATION_COUNT}{{rpc_response_status_code!=""}}[$__rate_interval]))"#),
                "{{rpc_response_status_code}}",
            ),
    );
    board.panel(
        Panel::timeseries("Unknown tools and methods (-32601)", "percentunit")
            .describe(&format!(
                "Share of all MCP requests over {w} answered -32601 (method not found). The line is the unknown-tool alert's threshold."
            ))
            .threshold(settings.unknown_rate)
            .target(
                format!(r#"sum(increase({OPERATION_COUNT}{{rpc_response_status_code="-32601"}}[{w}])) / sum(increase({OPERATION_COUNT}[{w}]))"#),
                "-32601 share",
            ),
    );

    board.row("What argument shapes");
    board.panel(
        Panel::timeseries("Schema-mismatch rate per tool", "percentunit")
            .describe(&format!(
                "Share of each tool's schema-checked calls over {w} whose arguments broke its JSON Schema. The line is the schema-mismatch alert's threshold."
            ))
            .threshold(settings.schema_rate)
            .target(
                format!(r#"sum by (gen_ai_tool_name) (increase({OPERATION_COUNT}{{{TOOL_CALLS},mcp_tool_args_schema_valid="false"}}[{w}])) / sum by (gen_ai_tool_name) (increase({OPERATION_COUNT}{{{TOOL_CALLS},mcp_tool_args_schema_valid!=""}}[{w}]))"#),
                "{{gen_ai_tool_name}}",
            ),
    );
    board.panel(
        Panel::timeseries("Schema verdicts per tool", "reqps")
            .describe("Schema-checked tool calls per second, by verdict.")
            .target(
                format!(r#"sum by (gen_ai_tool_name, mcp_tool_args_schema_valid) (rate({OPERATION_COUNT}{{{TOOL_CALLS},mcp_tool_args_schema_valid!=""}}[$__rate_interval]))"#),
                "{{gen_ai_tool_name}} valid={{mcp_tool_args_schema_valid}}",
            ),
    );

    let repeats = |matcher: &str| {
        format!(
            "sum by (gen_ai_tool_name) (increase({OPERATION_COUNT}{{{TOOL_CALLS},{matcher}}}[{w}]))"
        )
    };
    board.panel(
        Panel::timeseries("Retry loops: repeated calls per tool", "percentunit")
            .describe(&format!(
                "Share of each tool's calls over {w} that repeated the tool's previous call in their session with the same arguments (mcp.tool.call.repeated): an agent retrying in a loop. The line is the retry-loop alert's threshold."
            ))
            .threshold(settings.repeat_rate)
            .target(
                format!(
                    "{} / {}",
                    repeats(r#"mcp_tool_call_repeated="true""#),
                    repeats(r#"mcp_tool_call_repeated!="""#)
                ),
                "{{gen_ai_tool_name}}",
            ),
    );

    board.row("Re-reads");
    let reads = |matcher: &str, range: &str| {
        format!(
            r#"sum(increase({OPERATION_COUNT}{{mcp_method_name="resources/read",{matcher}}}[{range}]))"#
        )
    };
    board.panel(
        Panel::timeseries("Duplicate-read rate", "percentunit")
            .describe(&format!(
                "Share of resource reads over {w} that repeated a read made earlier in the same session (server-wide: the metric has no resource name). The line is the duplicate-reads alert's threshold."
            ))
            .threshold(settings.duplicate_rate)
            .target(
                format!("{} / {}", reads(r#"mcp_resource_cache_hit="true""#, &w), reads(r#"mcp_resource_cache_hit!="""#, &w)),
                "repeated share",
            ),
    );
    board.panel(
        Panel::timeseries("Resource reads", "reqps")
            .describe("Resource reads per second: first reads in their session, repeats, and reads not tracked.")
            .target(
                format!(r#"sum by (mcp_resource_cache_hit) (rate({OPERATION_COUNT}{{mcp_method_name="resources/read"}}[$__rate_interval]))"#),
                "cache_hit={{mcp_resource_cache_hit}}",
            ),
    );

    board.row("Sessions");
    board.panel(
        Panel::timeseries("Session duration: p50, p95", "s")
            .describe("How long sessions lasted, from the sessions that ended in the interval.")
            .target(
                format!("histogram_quantile(0.5, sum by (le) (rate({SESSION_BUCKET}[$__rate_interval])))"),
                "p50",
            )
            .target(
                format!("histogram_quantile(0.95, sum by (le) (rate({SESSION_BUCKET}[$__rate_interval])))"),
                "p95",
            ),
    );
    board.panel(
        Panel::timeseries("Sessions per minute", "short")
            .describe("Sessions ended per minute, by transport.")
            .target(
                format!(
                    "sum by (network_transport) (rate({SESSION_COUNT}[$__rate_interval])) * 60"
                ),
                "{{network_transport}}",
            ),
    );

    json!({
        "title": "mcp-trace: MCP server",
        "uid": "mcp-trace-server",
        "description": "Tool calls, latency, failures, argument schemas, re-reads and sessions from mcp-trace's metrics (mcp.server.operation.duration, mcp.server.session.duration).",
        "tags": ["mcp", "mcp-trace", "opentelemetry"],
        "timezone": "browser",
        "editable": true,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": [{
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": true,
            "hide": true,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard"
        }]},
        "templating": {"list": [
            {
                "name": "datasource",
                "label": "Data source",
                "type": "datasource",
                "query": "prometheus",
                "current": {},
                "hide": 0,
                "includeAll": false,
                "multi": false,
                "options": [],
                "refresh": 1,
                "regex": ""
            },
            {
                "name": "tool",
                "label": "Tool",
                "type": "query",
                "datasource": {"type": "prometheus", "uid": DATASOURCE},
                "definition": format!("label_values({OPERATION_COUNT}, gen_ai_tool_name)"),
                "query": {
                    "query": format!("label_values({OPERATION_COUNT}, gen_ai_tool_name)"),
                    "refId": "StandardVariableQuery"
                },
                "current": {"selected": true, "text": ["All"], "value": ["$__all"]},
                "hide": 0,
                "includeAll": true,
                // Every tool, also those called after the variable was last refreshed.
                "allValue": ".*",
                "multi": true,
                "options": [],
                "refresh": 2,
                "regex": "",
                "sort": 1
            }
        ]},
        "panels": board.panels,
    })
}

/// The panels laid out so far: rows full width, the panels of a row two to a line.
#[derive(Default)]
struct Board {
    panels: Vec<Value>,
    /// The top of the next line, and how far along it the next panel goes.
    y: u64,
    x: u64,
}

/// Height of a panel, in grid units.
const PANEL_HEIGHT: u64 = 8;
const PANEL_WIDTH: u64 = 12;

impl Board {
    fn next_id(&self) -> u64 {
        self.panels.len() as u64 + 1
    }

    fn row(&mut self, title: &str) {
        if self.x > 0 {
            self.y += PANEL_HEIGHT;
            self.x = 0;
        }
        let id = self.next_id();
        self.panels.push(json!({
            "id": id,
            "type": "row",
            "title": title,
            "collapsed": false,
            "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": self.y},
            "panels": []
        }));
        self.y += 1;
    }

    fn panel(&mut self, panel: Panel) {
        if self.x + PANEL_WIDTH > GRID_WIDTH {
            self.y += PANEL_HEIGHT;
            self.x = 0;
        }
        let mut value = panel.value;
        value["id"] = json!(self.next_id());
        value["gridPos"] = json!({"h": PANEL_HEIGHT, "w": PANEL_WIDTH, "x": self.x, "y": self.y});
        self.panels.push(value);
        self.x += PANEL_WIDTH;
    }
}

/// One panel being built.
struct Panel {
    value: Value,
}

impl Panel {
    fn timeseries(title: &str, unit: &str) -> Self {
        Self {
            value: json!({
                "type": "timeseries",
                "title": title,
                "datasource": {"type": "prometheus", "uid": DATASOURCE},
                "fieldConfig": {
                    "defaults": {
                        "unit": unit,
                        "min": 0,
                        "custom": {
                            "drawStyle": "line",
                            "lineWidth": 1,
                            "fillOpacity": 10,
                            "showPoints": "never",
                            "spanNulls": false,
                            "thresholdsStyle": {"mode": "off"}
                        },
                        "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": null}]}
                    },
                    "overrides": []
                },
                "options": {
                    "legend": {"displayMode": "list", "placement": "bottom", "showLegend": true},
                    "tooltip": {"mode": "multi", "sort": "desc"}
                },
                "targets": []
            }),
        }
    }

    fn table(title: &str) -> Self {
        Self {
            value: json!({
                "type": "table",
                "title": title,
                "datasource": {"type": "prometheus", "uid": DATASOURCE},
                "fieldConfig": {"defaults": {"unit": "short"}, "overrides": []},
                "options": {"showHeader": true, "sortBy": [{"displayName": "calls", "desc": true}]},
                "transformations": [{
                    "id": "organize",
                    "options": {
                        "excludeByName": {"Time": true},
                        "renameByName": {"gen_ai_tool_name": "tool", "Value": "calls"}
                    }
                }],
                "targets": []
            }),
        }
    }

    fn describe(mut self, text: &str) -> Self {
        self.value["description"] = json!(text);
        self
    }

    /// A red line at `value`: the alert's threshold.
    fn threshold(mut self, value: f64) -> Self {
        let defaults = &mut self.value["fieldConfig"]["defaults"];
        defaults["custom"]["thresholdsStyle"] = json!({"mode": "line"});
        defaults["thresholds"]["steps"] = json!([
            {"color": "green", "value": null},
            {"color": "red", "value": value}
        ]);
        self
    }

    fn push_target(&mut self, mut target: Value) {
        let targets = &mut self.value["targets"];
        let count = targets.as_array().map_or(0, Vec::len);
        // refIds A, B, C, …: a panel has a handful of queries.
        let ref_id = char::from(b'A' + u8::try_from(count % 26).unwrap_or(0));
        target["refId"] = json!(ref_id.to_string());
        target["datasource"] = json!({"type": "prometheus", "uid": DATASOURCE});
        if let Some(list) = targets.as_array_mut() {
            list.push(target);
        }
    }

    fn target(mut self, expr: String, legend: &str) -> Self {
        self.push_target(json!({
            "expr": expr,
            "legendFormat": legend,
            "editorMode": "code",
            "range": true,
            "instant": false
        }));
        self
    }

    /// A query of one value per series at the range's end, as a table.
    fn instant_target(mut self, expr: String, legend: &str) -> Self {
        self.push_target(json!({
            "expr": expr,
            "legendFormat": legend,
            "editorMode": "code",
            "format": "table",
            "range": false,
            "instant": true
        }));
        self
    }
}
