//! The Prometheus rules and the Grafana dashboard: that they read only the series and
//! labels the library emits (under the OTel Collector's default Prometheus naming),
//! follow the settings, reject bad tool docs, and, where `promtool` is installed,
//! load in Prometheus and fire on synthetic series as the report's alerts do.

use mcp_trace_cli::settings::Settings;
use mcp_trace_cli::{grafana, prometheus};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The series the library's two histograms become in Prometheus, written out here
/// rather than taken from the crate, so a renamed constant shows up as a failure.
const OPERATION_SERIES: [&str; 3] = [
    "mcp_server_operation_duration_seconds_bucket",
    "mcp_server_operation_duration_seconds_count",
    "mcp_server_operation_duration_seconds_sum",
];
const SESSION_SERIES: [&str; 3] = [
    "mcp_server_session_duration_seconds_bucket",
    "mcp_server_session_duration_seconds_count",
    "mcp_server_session_duration_seconds_sum",
];
/// The probe's gauge (`mcp-trace probe`), and its one attribute.
const PROBE_SERIES: [&str; 1] = ["mcp_probe_up"];
const PROBE_LABELS: [&str; 1] = ["mcp_probe_target"];
/// Set by the collector from the resource's service name, on every series.
const RESOURCE_LABELS: [&str; 1] = ["job"];

/// The attributes of `mcp.server.operation.duration`, underscored.
const OPERATION_LABELS: [&str; 13] = [
    "mcp_method_name",
    "gen_ai_operation_name",
    "gen_ai_tool_name",
    "gen_ai_prompt_name",
    "mcp_protocol_version",
    "network_transport",
    "network_protocol_name",
    "network_protocol_version",
    "error_type",
    "rpc_response_status_code",
    "mcp_tool_args_schema_valid",
    "mcp_resource_cache_hit",
    "mcp_tool_call_repeated",
];

/// The attributes of `mcp.server.session.duration`, underscored.
const SESSION_LABELS: [&str; 5] = [
    "mcp_protocol_version",
    "network_transport",
    "network_protocol_name",
    "network_protocol_version",
    "error_type",
];

/// The labels a series of `metric` can have: its attributes, and `le` on buckets.
fn labels_of(metric: &str) -> Vec<&'static str> {
    let mut labels: Vec<&'static str> = if metric.starts_with("mcp_server_session") {
        SESSION_LABELS.to_vec()
    } else if metric.starts_with("mcp_probe") {
        PROBE_LABELS.to_vec()
    } else {
        OPERATION_LABELS.to_vec()
    };
    labels.extend(RESOURCE_LABELS);
    if metric.ends_with("_bucket") {
        labels.push("le");
    }
    labels
}

/// What a PromQL expression names: metrics, the labels of its selectors (with the
/// metric each selector is on), and the labels it groups or matches by.
#[derive(Debug, Default)]
struct Names {
    metrics: Vec<String>,
    selector_labels: Vec<(Option<String>, String)>,
    grouping_labels: Vec<String>,
}

/// A small PromQL scanner: enough to tell metric names from functions, keywords,
/// labels, durations and Grafana variables in the expressions written here.
fn names(expr: &str) -> Names {
    const GROUPING: [&str; 6] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    const KEYWORDS: [&str; 5] = ["and", "or", "unless", "offset", "bool"];
    // Aggregations, which may be followed by `by (…)` rather than their `(`.
    const AGGREGATIONS: [&str; 12] = [
        "sum",
        "avg",
        "min",
        "max",
        "count",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Names::default();
    let (mut braces, mut brackets) = (0usize, 0usize);
    let mut selector_metric: Option<String> = None;
    let mut last_metric: Option<String> = None;
    let (mut grouping_next, mut in_grouping) = (false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '"' | '\'' | '`') {
            // A string: skipped whole, escapes and all.
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            last_metric = None;
            continue;
        }
        if c == '$' {
            // A Grafana variable: `$tool`, `${datasource}`, `$__rate_interval`.
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || "_{}".contains(chars[i])) {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            // A number or a duration: `0.95`, `5m`, `1d`.
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            last_metric = None;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            if braces > 0 {
                out.selector_labels.push((selector_metric.clone(), word));
            } else if in_grouping {
                out.grouping_labels.push(word);
            } else if brackets > 0 {
            } else if GROUPING.contains(&word.as_str()) {
                grouping_next = true;
            } else if KEYWORDS.contains(&word.as_str())
                || AGGREGATIONS.contains(&word.as_str())
                || next == Some(&'(')
            {
                // An operator keyword or a function.
            } else {
                out.metrics.push(word.clone());
                last_metric = Some(word);
                continue;
            }
            last_metric = None;
            continue;
        }
        match c {
            '{' => {
                braces += 1;
                selector_metric = last_metric.take();
            }
            '}' => braces = braces.saturating_sub(1),
            '[' => brackets += 1,
            ']' => brackets = brackets.saturating_sub(1),
            '(' if grouping_next => {
                grouping_next = false;
                in_grouping = true;
            }
            ')' if in_grouping => in_grouping = false,
            _ => {}
        }
        if !c.is_whitespace() {
            last_metric = None;
        }
        i += 1;
    }
    out
}

/// Every way `expr` strays from the series and labels the library emits.
fn strays(expr: &str) -> Vec<String> {
    let names = names(expr);
    let known: Vec<&str> = OPERATION_SERIES
        .iter()
        .chain(&SESSION_SERIES)
        .chain(&PROBE_SERIES)
        .copied()
        .collect();
    let mut out = Vec::new();
    if names.metrics.is_empty() {
        out.push("names no metric".to_owned());
    }
    for metric in &names.metrics {
        if !known.contains(&metric.as_str()) {
            out.push(format!("unknown metric {metric}"));
        }
    }
    for (metric, label) in &names.selector_labels {
        let allowed = match metric {
            Some(metric) => labels_of(metric),
            None => labels_of("mcp_server_operation_duration_seconds_bucket"),
        };
        if !allowed.contains(&label.as_str()) {
            out.push(format!("label {label} is not one of {metric:?}'s"));
        }
    }
    let any: Vec<&str> = OPERATION_LABELS
        .iter()
        .chain(&SESSION_LABELS)
        .chain(&PROBE_LABELS)
        .chain(&RESOURCE_LABELS)
        .chain(&["le"])
        .copied()
        .collect();
    for label in &names.grouping_labels {
        if !any.contains(&label.as_str()) {
            out.push(format!("grouping label {label} is not an attribute"));
        }
    }
    out
}

#[test]
fn the_scanner_tells_metrics_from_the_rest() {
    let found = names(
        r#"histogram_quantile(0.95, sum by (gen_ai_tool_name, le) (rate(a_bucket{x="y{z}",w=~"$tool"}[$__rate_interval] offset 5m))) > 2 * b_count and on () sum(c_sum) >= 10"#,
    );
    assert_eq!(found.metrics, ["a_bucket", "b_count", "c_sum"]);
    assert_eq!(
        found.selector_labels,
        [
            (Some("a_bucket".to_owned()), "x".to_owned()),
            (Some("a_bucket".to_owned()), "w".to_owned())
        ]
    );
    assert_eq!(found.grouping_labels, ["gen_ai_tool_name", "le"]);
    assert_eq!(
        strays("sum(rate(http_requests_total[5m]))"),
        ["unknown metric http_requests_total"]
    );
    assert_eq!(
        strays(r#"mcp_server_session_duration_seconds_count{gen_ai_tool_name="x"}"#).len(),
        1,
        "the session metric has no tool label"
    );
}

// --- The dashboard ---------------------------------------------------------------

/// Every panel, rows' nested panels included.
fn all_panels(board: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in board["panels"].as_array().into_iter().flatten() {
        out.push(panel);
        out.extend(panel["panels"].as_array().into_iter().flatten());
    }
    out
}

fn exprs(board: &Value) -> Vec<String> {
    all_panels(board)
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_dashboard_imports_as_is() {
    let board = grafana::dashboard(&Settings::default());
    let text = serde_json::to_string_pretty(&board).unwrap();
    let board: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert!(board["schemaVersion"].as_u64().is_some_and(|v| v >= 36));
    assert!(board["title"].as_str().is_some_and(|t| !t.is_empty()));

    let variables = board["templating"]["list"]
        .as_array()
        .expect("template variables");
    let variable = |name: &str| variables.iter().find(|v| v["name"] == name).cloned();
    let datasource = variable("datasource").expect("a datasource variable");
    assert_eq!(datasource["type"], "datasource");
    assert_eq!(datasource["query"], "prometheus");
    let tool = variable("tool").expect("a tool variable");
    assert_eq!(tool["datasource"]["uid"], "${datasource}");
    assert_eq!(
        tool["query"]["query"],
        "label_values(mcp_server_operation_duration_seconds_count, gen_ai_tool_name)"
    );
    assert_eq!(tool["multi"], true);
    assert_eq!(tool["includeAll"], true);

    let panels = all_panels(&board);
    let mut ids = HashSet::new();
    for panel in &panels {
        let id = panel["id"].as_u64().expect("every panel has a numeric id");
        assert!(ids.insert(id), "panel id {id} is used twice");
        let grid = &panel["gridPos"];
        let (x, w) = (grid["x"].as_u64().unwrap(), grid["w"].as_u64().unwrap());
        assert!(x + w <= 24 && grid["h"].as_u64().unwrap() > 0, "{panel}");
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{}",
            panel["title"]
        );
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{} has no query", panel["title"]);
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${datasource}");
            assert!(target["expr"].as_str().is_some_and(|e| !e.is_empty()));
            assert!(target["legendFormat"].is_string());
            assert!(target["refId"].is_string());
        }
    }
    // No two panels overlap.
    let boxes: Vec<(u64, u64, u64, u64)> = panels
        .iter()
        .map(|p| {
            let g = &p["gridPos"];
            let n = |k: &str| g[k].as_u64().unwrap();
            (n("x"), n("y"), n("w"), n("h"))
        })
        .collect();
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            let apart =
                a.0 + a.2 <= b.0 || b.0 + b.2 <= a.0 || a.1 + a.3 <= b.1 || b.1 + b.3 <= a.1;
            assert!(apart, "panels at {a:?} and {b:?} overlap");
        }
    }

    let rows: Vec<&str> = panels
        .iter()
        .filter(|p| p["type"] == "row")
        .filter_map(|p| p["title"].as_str())
        .collect();
    for question in [
        "Which tools fire",
        "How long do they take",
        "How often do they fail",
        "What argument shapes",
        "Re-reads",
        "Sessions",
    ] {
        assert!(rows.contains(&question), "no row {question:?} in {rows:?}");
    }
}

#[test]
fn the_dashboard_reads_only_what_the_library_emits() {
    let board = grafana::dashboard(&Settings::default());
    let exprs = exprs(&board);
    assert!(exprs.len() >= 10);
    for expr in &exprs {
        let strays = strays(expr);
        assert!(strays.is_empty(), "{expr}: {strays:?}");
    }
    let all = exprs.join("\n");
    for needed in [
        "mcp_server_operation_duration_seconds_bucket",
        "mcp_server_session_duration_seconds_bucket",
        "mcp_server_session_duration_seconds_count",
        r#"rpc_response_status_code="-32601""#,
        r#"mcp_tool_args_schema_valid="false""#,
        r#"mcp_resource_cache_hit="true""#,
        r#"mcp_tool_call_repeated="true""#,
        "histogram_quantile(0.99,",
    ] {
        assert!(all.contains(needed), "no query has {needed}");
    }
}

#[test]
fn the_dashboard_shows_the_alerts_window_and_thresholds() {
    let settings = Settings {
        window: Duration::from_secs(600),
        error_rate: 0.07,
        schema_rate: 0.25,
        ..Settings::default()
    };
    let board = grafana::dashboard(&settings);
    let panel = |title: &str| {
        all_panels(&board)
            .into_iter()
            .find(|p| p["title"] == title)
            .cloned()
            .unwrap_or_else(|| panic!("no panel {title:?}"))
    };
    let red_line =
        |p: &Value| p["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"].as_f64();
    let errors = panel("Error rate per tool");
    assert_eq!(red_line(&errors), Some(0.07));
    assert!(
        errors["targets"][0]["expr"]
            .as_str()
            .unwrap()
            .contains("[10m]")
    );
    assert_eq!(
        red_line(&panel("Schema-mismatch rate per tool")),
        Some(0.25)
    );
}

// --- The rules ---------------------------------------------------------------------

/// The expressions of a rule file: the block scalars after `expr: |`.
fn rule_exprs(yaml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = yaml.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() != "expr: |" {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let mut expr = Vec::new();
        while let Some(next) = lines.peek() {
            if next.len() - next.trim_start().len() <= indent {
                break;
            }
            expr.push(next.trim());
            lines.next();
        }
        out.push(expr.join("\n"));
    }
    out
}

const ALERTS: [(&str, &str); 9] = [
    ("McpToolErrorRate", "error-rate"),
    ("McpToolLatency", "latency"),
    ("McpToolSilent", "silent-tool"),
    ("McpToolSchemaMismatch", "schema-mismatch"),
    ("McpUnknownTool", "unknown-tool"),
    ("McpDuplicateReads", "duplicate-reads"),
    ("McpProbeDown", "probe-down"),
    ("McpServerSilent", "server-silent"),
    ("McpToolRetryLoop", "retry-loop"),
];

/// Tool docs as `mcp_trace::docs::json()` gives them, cut to what the rules read.
fn docs(tools: &[&str]) -> Value {
    let tools: Vec<Value> = tools
        .iter()
        .map(|t| json!({"name": t, "description": ""}))
        .collect();
    json!({"tools": tools, "resources": []})
}

#[test]
fn the_rules_raise_the_reports_alerts_and_the_servers() {
    let yaml = prometheus::rules(&Settings::default(), None).unwrap();
    for (alert, kind) in ALERTS {
        assert!(yaml.contains(&format!("- alert: {alert}\n")), "no {alert}");
        assert!(
            yaml.contains(&format!("mcp_trace_alert: {kind}\n")),
            "no {kind}"
        );
    }
    assert_eq!(yaml.matches("- alert: ").count(), 9);
    let exprs = rule_exprs(&yaml);
    assert_eq!(exprs.len(), 9);
    for expr in &exprs {
        let strays = strays(expr);
        assert!(strays.is_empty(), "{expr}: {strays:?}");
        // Every rule over a window (the probe's gauge is its last run).
        assert!(
            expr.contains("[5m]") || expr.contains("[15m]") || expr.contains("mcp_probe_up"),
            "{expr}"
        );
    }
    // The defaults of `mcp-trace report`, and the min-calls guard.
    for threshold in [
        "> 0.05\n",
        "> 2 * histogram_quantile(0.5,",
        "> 0.1\n",
        "> 0.01\n",
        "> 0.2\n",
        ">= 10",
    ] {
        assert!(yaml.contains(threshold), "no {threshold:?}");
    }
    // An error is an error type or a JSON-RPC error answer.
    assert!(yaml.contains(r#"error_type="",rpc_response_status_code="""#));
    assert!(yaml.contains("[1d] offset 5m"), "the latency baseline");
    assert!(
        yaml.contains("[1h] offset 15m"),
        "the silent tool's earlier calls"
    );
}

#[test]
fn the_rules_follow_the_settings() {
    let settings = Settings {
        window: Duration::from_secs(600),
        silence: Duration::from_secs(1800),
        error_rate: 0.07,
        latency_factor: 1.5,
        schema_rate: 0.3,
        unknown_rate: 0.02,
        duplicate_rate: 0.5,
        min_calls: 25,
        ..Settings::default()
    };
    let yaml = prometheus::rules(&settings, None).unwrap();
    for text in [
        "[10m]",
        "> 0.07\n",
        "> 1.5 * histogram_quantile",
        "> 0.3\n",
        "> 0.02\n",
        "> 0.5\n",
        ">= 25",
        "[30m]",
        "[2h] offset 30m",
        "for: 2m",
    ] {
        assert!(yaml.contains(text), "no {text:?} in\n{yaml}");
    }
    assert!(!yaml.contains("[5m]"));
}

#[test]
fn tool_docs_limit_the_per_tool_rules_to_the_documented_tools() {
    let yaml =
        prometheus::rules(&Settings::default(), Some(&docs(&["search", "a.b|c\"d"]))).unwrap();
    // Regex-escaped, then escaped as a PromQL string.
    assert!(
        yaml.contains(r#"gen_ai_tool_name=~"search|a\\.b\\|c\"d""#),
        "{yaml}"
    );
    // One silent-tool rule per documented tool, each told apart by its tool label.
    assert_eq!(yaml.matches("- alert: McpToolSilent\n").count(), 2);
    assert!(yaml.contains("gen_ai_tool_name: \"search\"\n"));
    assert!(yaml.contains("gen_ai_tool_name: \"a.b|c\\\"d\"\n"));
    assert!(yaml.contains(r#"gen_ai_tool_name="a.b|c\"d""#));
    for (alert, _) in ALERTS {
        assert!(yaml.contains(&format!("- alert: {alert}\n")), "no {alert}");
    }
    for expr in rule_exprs(&yaml) {
        let strays = strays(&expr);
        assert!(strays.is_empty(), "{expr}: {strays:?}");
    }
    // The rules that are not per tool are not limited.
    let unknown = rule_exprs(&yaml)
        .into_iter()
        .find(|e| e.contains("-32601"))
        .unwrap();
    assert!(!unknown.contains("search"));
}

#[test]
fn bad_tool_docs_are_clear_errors() {
    let settings = Settings::default();
    let error = |docs: Value| prometheus::rules(&settings, Some(&docs)).unwrap_err();
    assert!(error(json!({})).contains("`tools` array"));
    assert!(error(json!({"tools": "search"})).contains("`tools` array"));
    assert!(error(json!([{"name": "search"}])).contains("`tools` array"));
    assert!(error(json!({"tools": [{"name": "a"}, {"title": "b"}]})).contains("tool 1"));
    assert!(error(json!({"tools": [{"name": 7}]})).contains("string `name`"));
    assert!(error(json!({"tools": [{"name": ""}]})).contains("empty name"));
    assert!(error(json!({"tools": []})).contains("no tool"));
}

#[test]
fn settings_the_rules_cannot_hold_are_errors() {
    let bad = [
        Settings {
            window: Duration::ZERO,
            ..Settings::default()
        },
        Settings {
            silence: Duration::ZERO,
            ..Settings::default()
        },
        Settings {
            error_rate: f64::NAN,
            ..Settings::default()
        },
        Settings {
            duplicate_rate: 1.5,
            ..Settings::default()
        },
        Settings {
            latency_factor: 0.0,
            ..Settings::default()
        },
        Settings {
            latency_factor: f64::INFINITY,
            ..Settings::default()
        },
    ];
    for settings in bad {
        assert!(prometheus::rules(&settings, None).is_err(), "{settings:?}");
    }
}

#[test]
fn quoting_keeps_any_tool_name_on_one_line() {
    assert_eq!(
        prometheus::regex_escape(r"a.b*c(d)|e\f"),
        r"a\.b\*c\(d\)\|e\\f"
    );
    assert_eq!(
        prometheus::promql_string("a\"b\\c\nd\u{2028}e\u{7}"),
        r#""a\"b\\c\nd\u2028e\u0007""#
    );
    assert_eq!(prometheus::duration(Duration::from_secs(300)), "5m");
    assert_eq!(prometheus::duration(Duration::from_secs(90)), "90s");
    assert_eq!(prometheus::duration(Duration::from_secs(86_400)), "1d");
    assert_eq!(prometheus::duration(Duration::from_millis(1500)), "1500ms");
}

// --- promtool ------------------------------------------------------------------------

/// A directory of its own under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("mcp-trace-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a temporary directory");
        Self(path)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("a temporary file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `promtool` runs. Without it the promtool tests say so loudly and pass,
/// unless `MCP_TRACE_REQUIRE_PROMTOOL` is set (for a CI that installs it).
fn promtool_found(test: &str) -> bool {
    match Command::new("promtool").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        other => {
            let why = match other {
                Ok(out) => format!("`promtool --version` exited with {}", out.status),
                Err(e) => format!("promtool not found on PATH ({e})"),
            };
            if std::env::var_os("MCP_TRACE_REQUIRE_PROMTOOL").is_some_and(|v| !v.is_empty()) {
                panic!("{test}: {why}, and MCP_TRACE_REQUIRE_PROMTOOL is set");
            }
            // Straight to the process's stderr: libtest captures `eprintln!`, and a
            // skipped check must show in a plain `cargo test` run.
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!!!!!!! SKIPPED {test}: {why}. The Prometheus rules were NOT checked by \
                 promtool: install Debian's `prometheus` package (apt-get install prometheus) \
                 to run it. !!!!!!!!!!\n"
            );
            false
        }
    }
}

fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn promtool_accepts_the_rules() {
    if !promtool_found("promtool_accepts_the_rules") {
        return;
    }
    let dir = TempDir::new("promtool-check");
    let weird = [
        "search",
        "a.b|c\"d\\e\nf",
        "tab\there",
        "line\u{2028}sep",
        "quote'd: {x}",
        "ünï #1",
    ];
    let files = [
        (
            "default.yml",
            prometheus::rules(&Settings::default(), None).unwrap(),
        ),
        (
            "documented.yml",
            prometheus::rules(&Settings::default(), Some(&docs(&weird))).unwrap(),
        ),
        (
            "custom.yml",
            prometheus::rules(
                &Settings {
                    window: Duration::from_millis(90_500),
                    silence: Duration::from_secs(3600),
                    error_rate: 0.001,
                    ..Settings::default()
                },
                None,
            )
            .unwrap(),
        ),
    ];
    for (name, yaml) in files {
        dir.write(name, &yaml);
        let (ok, out) = promtool(&["check", "rules", name], &dir.0);
        assert!(
            ok && out.contains("SUCCESS"),
            "promtool check rules {name}:\n{out}\n{yaml}"
        );
        assert!(!out.contains("FAILED"), "{out}");
    }
}

/// Series of one minute apart, in promtool's notation, for each test below.
const CALLS: &str = "mcp_server_operation_duration_seconds_count";
const BUCKETS: &str = "mcp_server_operation_duration_seconds_bucket";

fn series(metric: &str, labels: &str, values: &str) -> String {
    format!("      - series: '{metric}{{{labels}}}'\n        values: '{values}'\n")
}

fn tool(name: &str, extra: &str) -> String {
    format!(
        r#"mcp_method_name="tools/call",gen_ai_operation_name="execute_tool",gen_ai_tool_name="{name}"{extra}"#
    )
}

/// One alert expected in a promtool test: its labels and annotations.
fn expected(labels: &[(&str, &str)], summary: &str, description: &str) -> String {
    let mut out = String::from("          - exp_labels:\n");
    for (k, v) in labels {
        out.push_str(&format!("              {k}: '{v}'\n"));
    }
    out.push_str("            exp_annotations:\n");
    out.push_str(&format!("              summary: '{summary}'\n"));
    out.push_str(&format!("              description: '{description}'\n"));
    out
}

fn check(time: &str, alert: &str, alerts: &[String]) -> String {
    let mut out = format!("      - eval_time: {time}\n        alertname: {alert}\n");
    if alerts.is_empty() {
        out.push_str("        exp_alerts: []\n");
    } else {
        out.push_str("        exp_alerts:\n");
        for a in alerts {
            out.push_str(a);
        }
    }
    out
}

/// Traffic of 15 minutes where each of the five rate alerts but latency has one cause
/// to fire, and one tool ("rare") fails every call but too rarely to count.
fn faulty_traffic() -> String {
    [
        series(
            CALLS,
            &tool("search", r#",mcp_tool_args_schema_valid="true""#),
            "0+20x15",
        ),
        series(
            CALLS,
            &tool(
                "search",
                r#",mcp_tool_args_schema_valid="true",error_type="tool_error""#,
            ),
            "0+2x15",
        ),
        // Invalid parameters: a JSON-RPC error answer with no error type still fails.
        series(
            CALLS,
            &tool(
                "search",
                r#",mcp_tool_args_schema_valid="false",rpc_response_status_code="-32602""#,
            ),
            "0+1x15",
        ),
        // Every call fails: there is no healthy series of it at all.
        series(CALLS, &tool("broken", r#",error_type="panic""#), "0+10x15"),
        series(
            CALLS,
            &tool("rare", r#",error_type="tool_error""#),
            "0+1x15",
        ),
        series(CALLS, &tool("fetch", ""), "0+20x15"),
        series(
            CALLS,
            &tool("lookup", r#",mcp_tool_args_schema_valid="true""#),
            "0+17x15",
        ),
        series(
            CALLS,
            &tool("lookup", r#",mcp_tool_args_schema_valid="false""#),
            "0+3x15",
        ),
        series(
            CALLS,
            &tool("_OTHER", r#",rpc_response_status_code="-32601""#),
            "0+2x15",
        ),
        series(
            CALLS,
            r#"mcp_method_name="resources/read",mcp_resource_cache_hit="true""#,
            "0+5x15",
        ),
        series(
            CALLS,
            r#"mcp_method_name="resources/read",mcp_resource_cache_hit="false""#,
            "0+10x15",
        ),
        series(CALLS, r#"mcp_method_name="initialize""#, "0+0x15"),
    ]
    .concat()
}

fn healthy_traffic() -> String {
    [
        series(
            CALLS,
            &tool("search", r#",mcp_tool_args_schema_valid="true""#),
            "0+20x15",
        ),
        series(
            CALLS,
            &tool(
                "search",
                r#",mcp_tool_args_schema_valid="true",error_type="tool_error""#,
            ),
            "0+1x15",
        ),
        series(CALLS, &tool("fetch", ""), "0+20x15"),
        series(
            CALLS,
            &tool("lookup", r#",mcp_tool_args_schema_valid="true""#),
            "0+20x15",
        ),
        series(
            CALLS,
            r#"mcp_method_name="resources/read",mcp_resource_cache_hit="false""#,
            "0+10x15",
        ),
        series(
            CALLS,
            r#"mcp_method_name="resources/read",mcp_resource_cache_hit="true""#,
            "0+1x15",
        ),
    ]
    .concat()
}

/// An alert of the report's `kind`, about `tool` if it is a per-tool one (promtool
/// adds the alert name itself).
fn alert(kind: &str, tool: Option<&str>, summary: &str, description: &str) -> String {
    let severity = if kind == "duplicate-reads" {
        "info"
    } else {
        "warning"
    };
    let mut labels = vec![("mcp_trace_alert", kind), ("severity", severity)];
    if let Some(tool) = tool {
        labels.push(("gen_ai_tool_name", tool));
    }
    expected(&labels, summary, description)
}

fn error_rate(tool: &str, share: &str) -> String {
    alert(
        "error-rate",
        Some(tool),
        &format!("MCP tool {tool} fails often"),
        &format!(
            "{share} of the calls of {tool} over 5m failed (error.type or a JSON-RPC error answer), above 5%."
        ),
    )
}

fn silent(tool: &str, documented: bool) -> String {
    let subject = if documented {
        "documented MCP tool"
    } else {
        "MCP tool"
    };
    let summary = if documented {
        "Documented MCP tool"
    } else {
        "MCP tool"
    };
    alert(
        "silent-tool",
        Some(tool),
        &format!("{summary} {tool} went silent"),
        &format!(
            "The {subject} {tool} had 1100 calls in the 1h before the last 15m, and none since, while other tools were called."
        ),
    )
}

/// The promtool unit tests of a rule file: `documented` when it was written with tool
/// docs naming search, fetch, lookup, quiet and busy (not broken).
fn unit_tests(rule_file: &str, documented: bool) -> String {
    let mut out = format!("rule_files:\n  - {rule_file}\nevaluation_interval: 1m\ntests:\n");

    out.push_str("  - name: faulty\n    interval: 1m\n    input_series:\n");
    out.push_str(&faulty_traffic());
    out.push_str("    alert_rule_test:\n");
    let mut errors = vec![error_rate("search", "13.04%")];
    if !documented {
        errors.insert(0, error_rate("broken", "100%"));
    }
    out.push_str(&check("10m", "McpToolErrorRate", &errors));
    out.push_str(&check(
        "10m",
        "McpToolSchemaMismatch",
        &[alert(
            "schema-mismatch",
            Some("lookup"),
            "MCP tool lookup gets arguments that break its schema",
            "15% of the schema-checked calls of lookup over 5m had invalid arguments, above 10%.",
        )],
    ));
    out.push_str(&check(
        "10m",
        "McpUnknownTool",
        &[alert(
            "unknown-tool", None,
            "MCP clients call tools or methods the server does not have",
            "2.198% of all MCP calls over 5m were answered -32601 (method not found), above 1%: see gen_ai_tool_name=\"_OTHER\" and mcp_method_name on the metric, or the span names.",
        )],
    ));
    out.push_str(&check(
        "10m",
        "McpDuplicateReads",
        &[alert(
            "duplicate-reads", None,
            "MCP clients re-read resources they already read in the session",
            "33.33% of resource reads over 5m repeated a read made earlier in the same session, above 20% (server-wide: the metric has no resource name).",
        )],
    ));
    // Too early: the first window is not full yet, and `for` has not passed.
    out.push_str(&check("1m", "McpToolErrorRate", &[]));
    for (name, _) in ALERTS {
        if matches!(name, "McpToolLatency" | "McpToolSilent") {
            out.push_str(&check("10m", name, &[]));
        }
    }

    out.push_str("  - name: healthy\n    interval: 1m\n    input_series:\n");
    out.push_str(&healthy_traffic());
    out.push_str("    alert_rule_test:\n");
    for (name, _) in ALERTS {
        out.push_str(&check("10m", name, &[]));
    }

    // "quiet" stops after an hour while "busy" goes on; then both stop.
    out.push_str("  - name: silent\n    interval: 1m\n    input_series:\n");
    out.push_str(&series(CALLS, &tool("quiet", ""), "0+20x60 1200+0x40"));
    out.push_str(&series(CALLS, &tool("busy", ""), "0+20x100"));
    out.push_str("    alert_rule_test:\n");
    out.push_str(&check("70m", "McpToolSilent", &[]));
    out.push_str(&check(
        "80m",
        "McpToolSilent",
        &[silent("quiet", documented)],
    ));
    out.push_str("  - name: idle\n    interval: 1m\n    input_series:\n");
    out.push_str(&series(CALLS, &tool("quiet", ""), "0+20x60 1200+0x40"));
    out.push_str(&series(CALLS, &tool("busy", ""), "0+20x60 1200+0x40"));
    out.push_str("    alert_rule_test:\n");
    out.push_str(&check("80m", "McpToolSilent", &[]));

    // A day of 30 ms calls, then 700 ms calls from minute 1440 on.
    out.push_str("  - name: latency\n    interval: 1m\n    input_series:\n");
    let le = |bound: &str| tool("slow", &format!(r#",le="{bound}""#));
    out.push_str(&series(BUCKETS, &le("0.02"), "0+0x1460"));
    out.push_str(&series(BUCKETS, &le("0.05"), "0+20x1440 28800+0x20"));
    out.push_str(&series(BUCKETS, &le("1"), "0+20x1460"));
    out.push_str(&series(BUCKETS, &le("+Inf"), "0+20x1460"));
    out.push_str(&series(CALLS, &tool("slow", ""), "0+20x1460"));
    out.push_str("    alert_rule_test:\n");
    out.push_str(&check("1439m", "McpToolLatency", &[]));
    let slow = if documented {
        Vec::new()
    } else {
        vec![alert(
            "latency",
            Some("slow"),
            "MCP tool slow is slow",
            "The p95 of slow over 5m is 952.5ms, above 2 times its p50 over the 1d before.",
        )]
    };
    out.push_str(&check("1450m", "McpToolLatency", &slow));

    // The probe finds "docs" up for five minutes, then down; "api" stays up.
    out.push_str("  - name: probe\n    interval: 1m\n    input_series:\n");
    out.push_str(&series(
        "mcp_probe_up",
        r#"mcp_probe_target="docs""#,
        "1x5 0x10",
    ));
    out.push_str(&series("mcp_probe_up", r#"mcp_probe_target="api""#, "1x15"));
    out.push_str("    alert_rule_test:\n");
    out.push_str(&check("4m", "McpProbeDown", &[]));
    out.push_str(&check(
        "6m",
        "McpProbeDown",
        &[expected(
            &[("severity", "critical"), ("mcp_trace_alert", "probe-down"), ("mcp_probe_target", "docs")],
            "MCP server docs is down",
            "mcp-trace probe found the MCP server docs down: a step of its runs failed (the run''s trace names it).",
        )],
    ));

    // A fifth of fetch's calls repeat its previous one in their session: at the
    // threshold, not above; two fifths of search's do.
    out.push_str("  - name: retry loop\n    interval: 1m\n    input_series:\n");
    for (name, repeated, per_minute) in [
        ("search", "true", 8),
        ("search", "false", 12),
        ("fetch", "true", 4),
        ("fetch", "false", 16),
    ] {
        out.push_str(&series(
            CALLS,
            &tool(name, &format!(r#",mcp_tool_call_repeated="{repeated}""#)),
            &format!("0+{per_minute}x15"),
        ));
    }
    out.push_str("    alert_rule_test:\n");
    out.push_str(&check("1m", "McpToolRetryLoop", &[]));
    out.push_str(&check(
        "10m",
        "McpToolRetryLoop",
        &[alert(
            "retry-loop",
            Some("search"),
            "MCP tool search is called again and again with the same arguments",
            "40% of the calls of search over 5m repeated the tool''s previous call in their session with the same arguments, above 20%: an agent retrying in a loop.",
        )],
    ));

    // The server "docs" answers for an hour, then nothing; "api" goes on.
    out.push_str("  - name: server silent\n    interval: 1m\n    input_series:\n");
    out.push_str(&series(
        CALLS,
        r#"job="docs",mcp_method_name="tools/call",gen_ai_tool_name="search""#,
        "0+20x60 1200+0x40",
    ));
    out.push_str(&series(
        CALLS,
        r#"job="api",mcp_method_name="tools/call",gen_ai_tool_name="search""#,
        "0+20x100",
    ));
    out.push_str("    alert_rule_test:\n");
    out.push_str(&check("70m", "McpServerSilent", &[]));
    out.push_str(&check(
        "80m",
        "McpServerSilent",
        &[expected(
            &[
                ("severity", "warning"),
                ("mcp_trace_alert", "server-silent"),
                ("job", "docs"),
            ],
            "MCP server docs went silent",
            "The MCP server docs answered requests in the last 1d, and none in the last 15m.",
        )],
    ));
    out
}

#[test]
fn promtool_unit_tests_fire_the_alerts_as_the_report_does() {
    if !promtool_found("promtool_unit_tests_fire_the_alerts_as_the_report_does") {
        return;
    }
    let dir = TempDir::new("promtool-test");
    let documented = docs(&["search", "fetch", "lookup", "quiet", "busy"]);
    let runs = [
        ("rules.yml", None, false),
        ("documented.yml", Some(&documented), true),
    ];
    for (rule_file, tool_docs, is_documented) in runs {
        dir.write(
            rule_file,
            &prometheus::rules(&Settings::default(), tool_docs).unwrap(),
        );
        let tests = format!("test-{rule_file}");
        dir.write(&tests, &unit_tests(rule_file, is_documented));
        let (ok, out) = promtool(&["test", "rules", &tests], &dir.0);
        assert!(
            ok && out.contains("SUCCESS"),
            "promtool test rules ({rule_file}):\n{out}"
        );
    }
}

/// The binary's `rules` and `dashboard` commands: what the functions give, the flags
/// the report takes, and a clear status 2 on bad docs.
#[test]
fn the_commands_print_the_artifacts() {
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mcp-trace"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, rules, _) = cli(&["rules", "--prometheus"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        rules,
        prometheus::rules(&Settings::default(), None).unwrap()
    );
    let (_, stricter, _) = cli(&[
        "rules",
        "--prometheus",
        "--error-rate",
        "2",
        "--window",
        "10m",
    ]);
    let settings = Settings {
        error_rate: 0.02,
        window: Duration::from_secs(600),
        ..Settings::default()
    };
    assert_eq!(stricter, prometheus::rules(&settings, None).unwrap());
    let (code, board, _) = cli(&["dashboard", "--grafana"]);
    assert_eq!(code, Some(0));
    let board: Value = serde_json::from_str(&board).unwrap();
    assert_eq!(board, grafana::dashboard(&Settings::default()));
    let dir = std::env::temp_dir().join(format!("mcp-trace-cli-docs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("docs.json");
    std::fs::write(&bad, r#"{"resources": []}"#).unwrap();
    let (code, out, err) = cli(&[
        "rules",
        "--prometheus",
        "--tool-docs",
        bad.to_str().unwrap(),
    ]);
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert!(err.contains("tools"), "{err}");
    std::fs::write(&bad, "not json").unwrap();
    let (code, _, err) = cli(&[
        "rules",
        "--prometheus",
        "--tool-docs",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("is not JSON"), "{err}");
    let (code, _, err) = cli(&["rules"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--prometheus"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What Prometheus would expand, overflow or choke on is refused with a reason.
#[test]
fn rules_refuse_templates_huge_docs_and_endless_windows() {
    let templated = json!({"tools": [{"name": "{{ query \"up\" }}"}]});
    let error = prometheus::rules(&Settings::default(), Some(&templated)).unwrap_err();
    assert!(error.contains("template"), "{error}");
    let many: Vec<Value> = (0..1_001)
        .map(|i| json!({"name": format!("t{i}")}))
        .collect();
    let error = prometheus::rules(&Settings::default(), Some(&json!({"tools": many}))).unwrap_err();
    assert!(error.contains("over 1000 tools"), "{error}");
    let endless = Settings {
        silence: Duration::from_secs(367 * 24 * 60 * 60),
        ..Settings::default()
    };
    let error = prometheus::rules(&endless, None).unwrap_err();
    assert!(error.contains("at most 366 days"), "{error}");
}
