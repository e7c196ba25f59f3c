//! `mcp-trace`: the operator's view of what mcp-trace recorded, with no backend.
//!
//! `mcp-trace report [FILE…]` reads span files (default: `$MCP_TRACE_FILE`, else every
//! span file in the embedded exporter's folder) and prints the report. Exit status: 0
//! with no alert, 1 with alerts, 2 on unreadable input. `mcp-trace rules --prometheus`
//! and `mcp-trace dashboard --grafana` print the same alerts and panels for a backend.
//! `mcp-trace proxy -- COMMAND [ARGS…]` traces any MCP server over stdio.

use clap::{Arg, ArgAction, ArgMatches, Command};
use mcp_trace_cli::settings::Settings;
use mcp_trace_cli::{Report, alerts, grafana, html, input, prometheus, render};
#[cfg(feature = "proxy")]
use mcp_trace_cli::{probe, proxy};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// A `--…-rate` flag: a percentage, `5` or `5%`.
fn percent(text: &str) -> Result<f64, String> {
    let number = text.strip_suffix('%').unwrap_or(text).trim();
    match number.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p / 100.0),
        _ => Err("a percentage from 0 to 100, such as 5 or 5%".to_owned()),
    }
}

/// A window flag: `5m`, `90s`, `1h`; one second to 366 days.
fn window(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d > prometheus::MAX_WINDOW => Err("at most 366 days".to_owned()),
        Ok(d) if d >= Duration::from_secs(1) => Ok(d),
        Ok(_) => Err("at least one second".to_owned()),
        Err(e) => Err(format!("{e} (write it as 5m, 90s, 1h)")),
    }
}

fn factor(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(f) if f > 0.0 && f.is_finite() => Ok(f),
        _ => Err("a positive number, such as 2 or 1.5".to_owned()),
    }
}

fn flag(name: &'static str, value: &'static str, help: String) -> Arg {
    Arg::new(name).long(name).value_name(value).help(help)
}

/// The alerts' thresholds and windows, shared by the report, the rules and the
/// dashboard, so one set of flags tunes all three.
fn with_thresholds(command: Command) -> Command {
    let d = Settings::default();
    let pct = |r: f64| format!("{}%", r * 100.0);
    let secs = |t: Duration| humantime::format_duration(t).to_string();
    command
        .arg(flag("window", "DURATION", format!("Window the rates are computed over, sliding by a fifth of it [default: {}]", secs(d.window))).value_parser(window))
        .arg(flag("silence", "DURATION", format!("How long a regularly called tool must go uncalled, while others are called, to alert [default: {}]", secs(d.silence))).value_parser(window))
        .arg(flag("error-rate", "PERCENT", format!("Alert when a tool's error rate over a window is above [default: {}]", pct(d.error_rate))).value_parser(percent))
        .arg(flag("latency-factor", "FACTOR", format!("Alert when a tool's p95 over a window is above this times its baseline p50 [default: {}]", d.latency_factor)).value_parser(factor))
        .arg(flag("schema-rate", "PERCENT", format!("Alert when a tool's schema-invalid share over a window is above [default: {}]", pct(d.schema_rate))).value_parser(percent))
        .arg(flag("unknown-rate", "PERCENT", format!("Alert when -32601 answers over a window are above this share of calls [default: {}]", pct(d.unknown_rate))).value_parser(percent))
        .arg(flag("duplicate-rate", "PERCENT", format!("Alert when a resource's duplicate-read rate over a window is above [default: {}]", pct(d.duplicate_rate))).value_parser(percent))
        .arg(flag("retry-threshold", "N", format!("Alert when a tool is called this many times in a row with the same arguments in one session or trace [default: {}]", d.retry_threshold)).value_parser(clap::value_parser!(u64).range(2..)))
        .arg(flag("repeat-rate", "PERCENT", format!("Rules and dashboard: alert when a tool's share of calls repeating its previous one over a window is above [default: {}]", pct(d.repeat_rate))).value_parser(percent))
        .arg(flag("min-calls", "N", format!("Fewest calls a window needs before its rates can alert [default: {}]", d.min_calls)).value_parser(clap::value_parser!(u64)))
}

fn report_command() -> Command {
    let d = Settings::default();
    with_thresholds(
        Command::new("report")
            .about("Per-tool calls, errors, latency, argument signals and alerts from span files")
            .after_help("Exit status: 0 with no alert, 1 with alerts, 2 on unreadable input.")
            .arg(
                Arg::new("files")
                    .value_name("FILE")
                    .num_args(0..)
                    .value_parser(clap::value_parser!(PathBuf))
                    .help("OTLP/JSON lines span files, plain or gzip (default: $MCP_TRACE_FILE, else the embedded exporter's folder)"),
            )
            .arg(Arg::new("json").long("json").action(ArgAction::SetTrue).help("The same figures as JSON"))
            .arg(
                flag("html", "FILE", "Also write the report as one self-contained HTML page, with charts".into())
                    .value_parser(clap::value_parser!(PathBuf)),
            )
            .arg(
                flag("baseline", "FILE", "Span file of normal traffic: each tool's latency is measured against its p50 there (default: the tool's first calls)".into())
                    .value_parser(clap::value_parser!(PathBuf)),
            )
            .arg(flag("baseline-calls", "N", format!("Without --baseline, how many first calls of each tool make its baseline [default: {}]", d.baseline_calls)).value_parser(clap::value_parser!(u64).range(1..))),
    )
}

fn rules_command() -> Command {
    with_thresholds(
        Command::new("rules")
            .about("Prometheus alerting rules raising the report's alerts over the library's metrics")
            .after_help("Metric names as the OpenTelemetry Collector's Prometheus exporter writes them by default: mcp_server_operation_duration_seconds_bucket, _count, labels with dots as underscores.")
            .arg(
                Arg::new("prometheus")
                    .long("prometheus")
                    .action(ArgAction::SetTrue)
                    .required(true)
                    .help("Prometheus rule file (YAML), checkable with `promtool check rules`"),
            )
            .arg(
                flag("tool-docs", "JSON", "The JSON of mcp_trace::docs::json() (`cargo run --example docs --features docs -- --json`): rules for the documented tools only, and a silent-tool rule each".into())
                    .value_parser(clap::value_parser!(PathBuf)),
            ),
    )
}

fn dashboard_command() -> Command {
    with_thresholds(
        Command::new("dashboard")
            .about("A Grafana dashboard over the library's metrics: one row per question")
            .arg(
                Arg::new("grafana")
                    .long("grafana")
                    .action(ArgAction::SetTrue)
                    .required(true)
                    .help(
                        "Grafana dashboard JSON, importable as is (the data source is a variable)",
                    ),
            ),
    )
}

/// The server the proxy or the probe runs: after `--`, with its arguments.
#[cfg(feature = "proxy")]
fn server_command() -> Arg {
    Arg::new("command")
        .value_name("COMMAND")
        .num_args(1..)
        .last(true)
        .required(true)
        .value_parser(clap::value_parser!(std::ffi::OsString))
        .help("The server to run, after --, with its arguments")
}

/// [`server_command`]'s words.
#[cfg(feature = "proxy")]
fn server_command_of(args: &ArgMatches) -> Vec<std::ffi::OsString> {
    args.get_many::<std::ffi::OsString>("command")
        .map(|c| c.cloned().collect())
        .unwrap_or_default()
}

#[cfg(feature = "proxy")]
fn proxy_command() -> Command {
    Command::new("proxy")
        .about("Traces any MCP server, over stdio (-- COMMAND) or streamable HTTP (--listen, --upstream): relays host and server byte for byte, and records every message's span")
        .after_help(
            "Telemetry goes where the library sends it, chosen by the standard OpenTelemetry environment (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_EXPORTER, …), else to the span file in the temp folder.\n\
             service.name: OTEL_SERVICE_NAME, else the server's serverInfo.name, else the program's name (the upstream's host over HTTP).\n\
             Exit status over stdio: the server's (128 + N when signal N ended it); over HTTP: 0 once SIGTERM or SIGINT stopped it; 2 when it cannot start.",
        )
        .arg(
            flag("listen", "ADDR", "Streamable HTTP: listen on ADDR (127.0.0.1:8080; port 0 picks one, said on stderr)".into())
                .requires("upstream")
                .conflicts_with("command"),
        )
        .arg(flag("upstream", "URL", "Streamable HTTP: the server's MCP endpoint, http://127.0.0.1:3000/mcp".into()).requires("listen"))
        .arg(
            flag("grace", "DURATION", "Once the host closes stdin, how long the server has to exit before SIGTERM, and again before SIGKILL [default: 5s]".into())
                .value_parser(|text: &str| humantime::parse_duration(text).map_err(|e| e.to_string())),
        )
        .arg(server_command().required(false).required_unless_present("listen"))
}

#[cfg(feature = "proxy")]
fn probe_command() -> Command {
    let duration = |text: &str| humantime::parse_duration(text).map_err(|e| e.to_string());
    Command::new("probe")
        .about("Synthetic monitoring: checks an MCP server answers (opening, tools/list, optionally ping and a tool call), over stdio (-- COMMAND) or streamable HTTP (--url)")
        .after_help(
            "Each run is one trace (a root span, a CLIENT span per step) with mcp.client.operation.duration and the gauge mcp.probe.up, exported as the library exports (the standard OpenTelemetry environment, else the span file).\n\
             Exit status, once: 0 when the server is up, 1 when a step failed (named on stderr), 2 on a usage error.",
        )
        .arg(flag("interval", "DURATION", "Run every DURATION until stopped, instead of once".into()).value_parser(duration))
        .arg(flag("timeout", "DURATION", "How long each step may take [default: 10s]".into()).value_parser(duration))
        .arg(Arg::new("ping").long("ping").action(ArgAction::SetTrue).help("Also send ping"))
        .arg(flag("call", "TOOL", "Also call this tool".into()))
        .arg(
            flag("arguments", "JSON", "The tool call's arguments, a JSON object [default: {}]".into())
                .requires("call")
                .value_parser(|text: &str| match serde_json::from_str::<serde_json::Value>(text) {
                    Ok(value) if value.is_object() => Ok(value),
                    _ => Err("a JSON object, such as '{\"query\": \"rust\"}'".to_owned()),
                }),
        )
        .arg(flag("protocol", "VERSION", "The protocol revision to speak; 2026-07-28 opens with server/discover [default: 2025-11-25]".into()))
        .arg(flag("name", "NAME", "What the spans and the gauge call the server, mcp.probe.target [default: the program's file name, or the URL's host and port]".into()))
        .arg(flag("url", "URL", "Probe a server over streamable HTTP at its MCP endpoint, http://127.0.0.1:3000/mcp".into()).conflicts_with("command"))
        .arg(server_command().required(false).required_unless_present("url"))
}

#[cfg(feature = "proxy")]
fn probe(args: &ArgMatches) -> Result<ExitCode, ExitCode> {
    let options = probe::Options {
        command: server_command_of(args),
        url: args.get_one::<String>("url").cloned(),
        interval: args.get_one::<Duration>("interval").copied(),
        timeout: args
            .get_one::<Duration>("timeout")
            .copied()
            .unwrap_or(Duration::from_secs(10)),
        ping: args.get_flag("ping"),
        call: args.get_one::<String>("call").map(|tool| {
            let arguments = args
                .get_one::<serde_json::Value>("arguments")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({}));
            (tool.clone(), arguments)
        }),
        protocol: args
            .get_one::<String>("protocol")
            .cloned()
            .unwrap_or_else(|| "2025-11-25".to_owned()),
        name: args.get_one::<String>("name").cloned(),
    };
    match probe::run(&options) {
        Ok(status) => Ok(ExitCode::from(status)),
        Err(error) => {
            eprintln!("mcp-trace probe: {error}");
            Err(ExitCode::from(2))
        }
    }
}

#[cfg(feature = "proxy")]
fn proxy(args: &ArgMatches) -> Result<ExitCode, ExitCode> {
    let ran = match (
        args.get_one::<String>("listen"),
        args.get_one::<String>("upstream"),
    ) {
        (Some(listen), Some(upstream)) => proxy::run_http(&proxy::HttpOptions {
            listen: listen.clone(),
            upstream: upstream.clone(),
        }),
        _ => proxy::run(&proxy::Options {
            command: server_command_of(args),
            grace: args
                .get_one::<Duration>("grace")
                .copied()
                .unwrap_or(Duration::from_secs(5)),
        }),
    };
    match ran {
        Ok(status) => Ok(ExitCode::from(status)),
        Err(error) => {
            eprintln!("mcp-trace proxy: {error}");
            Err(ExitCode::from(2))
        }
    }
}

fn command() -> Command {
    let command = Command::new("mcp-trace")
        .about("The operator's view of what mcp-trace recorded, and a proxy that records it for any MCP server")
        .subcommand_required(true)
        .subcommand(report_command())
        .subcommand(rules_command())
        .subcommand(dashboard_command());
    #[cfg(feature = "proxy")]
    let command = command
        .subcommand(proxy_command())
        .subcommand(probe_command());
    command
}

/// The settings the flags give, the defaults elsewhere.
fn settings(args: &ArgMatches) -> Settings {
    let mut s = Settings::default();
    let set = |target: &mut f64, name: &str| {
        if let Some(v) = args.get_one::<f64>(name) {
            *target = *v;
        }
    };
    set(&mut s.error_rate, "error-rate");
    set(&mut s.latency_factor, "latency-factor");
    set(&mut s.schema_rate, "schema-rate");
    set(&mut s.unknown_rate, "unknown-rate");
    set(&mut s.duplicate_rate, "duplicate-rate");
    set(&mut s.repeat_rate, "repeat-rate");
    if let Some(n) = args.get_one::<u64>("retry-threshold") {
        s.retry_threshold = *n;
    }
    if let Some(w) = args.get_one::<Duration>("window") {
        s.window = *w;
    }
    if let Some(w) = args.get_one::<Duration>("silence") {
        s.silence = *w;
    }
    if let Some(n) = args.get_one::<u64>("min-calls") {
        s.min_calls = *n;
    }
    if let Some(n) = args.try_get_one::<u64>("baseline-calls").ok().flatten() {
        s.baseline_calls = usize::try_from(*n).unwrap_or(usize::MAX);
    }
    s
}

/// The files to read when none is named.
fn default_files() -> Vec<PathBuf> {
    if let Some(file) = std::env::var_os("MCP_TRACE_FILE").filter(|f| !f.is_empty()) {
        return vec![PathBuf::from(file)];
    }
    let folder = std::env::temp_dir().join("mcp-trace");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            (name.ends_with(".jsonl") || name.ends_with(".jsonl.gz"))
                && !name.contains(".metrics.jsonl")
        })
        .collect();
    files.sort();
    files
}

/// Reads `files` into `report`, saying on stderr what was skipped; `Err` names a file
/// that could not be read, or input with lines none of which held an MCP span (the
/// wrong file: a check pointed at it must not pass).
fn read_all(report: &mut Report, files: &[PathBuf]) -> Result<(), ExitCode> {
    for file in files {
        report.skipped.broken = None;
        if let Err(error) = input::open(file).and_then(|lines| report.read(lines)) {
            eprintln!("mcp-trace: cannot read {}: {error}", file.display());
            return Err(ExitCode::from(2));
        }
        if let Some(error) = &report.skipped.broken {
            eprintln!(
                "mcp-trace: {} breaks off ({error}); what came before is counted",
                file.display()
            );
        }
    }
    let skipped = &report.skipped;
    if skipped.total() > 0 {
        eprintln!("mcp-trace: skipped {skipped}");
    }
    if report.spans == 0 && skipped.truncated + skipped.unreadable > 0 {
        eprintln!("mcp-trace: no MCP span in the input: is it a span file?");
        return Err(ExitCode::from(2));
    }
    report.finish();
    Ok(())
}

fn report(args: &ArgMatches) -> Result<ExitCode, ExitCode> {
    let settings = settings(args);
    let mut files: Vec<PathBuf> = args
        .get_many::<PathBuf>("files")
        .map(|f| f.cloned().collect())
        .unwrap_or_default();
    if files.is_empty() {
        files = default_files();
    }
    if files.is_empty() {
        eprintln!("mcp-trace: no span file given, and none in the default places");
        return Err(ExitCode::from(2));
    }
    let mut report = Report::new(settings.clone());
    if let Some(baseline) = args.get_one::<PathBuf>("baseline") {
        let mut normal = Report::new(settings);
        read_all(&mut normal, &[Path::to_path_buf(baseline)])?;
        report = report.with_baseline(&normal);
    }
    read_all(&mut report, &files)?;
    if let Some(page) = args.get_one::<PathBuf>("html")
        && let Err(error) = std::fs::write(page, html::page(&report))
    {
        eprintln!("mcp-trace: cannot write {}: {error}", page.display());
        return Err(ExitCode::from(2));
    }
    if args.get_flag("json") {
        emit(&format!("{:#}\n", render::json(&report)))?;
    } else {
        emit(&render::text(&report))?;
    }
    Ok(match alerts::alerts(&report).is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    })
}

/// Writes to stdout. A reader that stopped reading (`| head`) is not an error; any
/// other failure to write is status 2.
fn emit(text: &str) -> Result<(), ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => {
            eprintln!("mcp-trace: cannot write the output: {error}");
            Err(ExitCode::from(2))
        }
    }
}

fn rules(args: &ArgMatches) -> Result<ExitCode, ExitCode> {
    let docs = match args.get_one::<PathBuf>("tool-docs") {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|error| {
                eprintln!("mcp-trace: cannot read {}: {error}", path.display());
                ExitCode::from(2)
            })?;
            let json = serde_json::from_str::<serde_json::Value>(&text).map_err(|error| {
                eprintln!("mcp-trace: {} is not JSON: {error}", path.display());
                ExitCode::from(2)
            })?;
            Some(json)
        }
    };
    match prometheus::rules(&settings(args), docs.as_ref()) {
        Ok(rules) => emit(&rules).map(|()| ExitCode::SUCCESS),
        Err(error) => {
            eprintln!("mcp-trace: {error}");
            Err(ExitCode::from(2))
        }
    }
}

fn main() -> ExitCode {
    let matches = command().get_matches();
    let result = match matches.subcommand() {
        Some(("report", args)) => report(args),
        #[cfg(feature = "proxy")]
        Some(("proxy", args)) => proxy(args),
        #[cfg(feature = "proxy")]
        Some(("probe", args)) => probe(args),
        Some(("rules", args)) => rules(args),
        Some(("dashboard", args)) => emit(&format!("{:#}\n", grafana::dashboard(&settings(args))))
            .map(|()| ExitCode::SUCCESS),
        _ => unreachable!("a subcommand is required"),
    };
    result.unwrap_or_else(|code| code)
}
