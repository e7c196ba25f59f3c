//! `mcp-trace`: the operator's view of what mcp-trace recorded, with no backend.
//!
//! `mcp-trace report [FILE…] [--json]` reads span files (default: `$MCP_TRACE_FILE`,
//! else every span file in the embedded exporter's folder) and prints the report.
//! Exit status: 0 read, 2 unreadable input.

use clap::{Arg, ArgAction, Command};
use mcp_trace_cli::{Report, render};
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

fn command() -> Command {
    Command::new("mcp-trace")
        .about("The operator's view of what mcp-trace recorded")
        .subcommand_required(true)
        .subcommand(
            Command::new("report")
                .about("Per-tool calls, errors, latency and argument signals from span files")
                .arg(
                    Arg::new("files")
                        .value_name("FILE")
                        .num_args(0..)
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("OTLP/JSON lines span files (default: $MCP_TRACE_FILE, else the embedded exporter's folder)"),
                )
                .arg(
                    Arg::new("json")
                        .long("json")
                        .action(ArgAction::SetTrue)
                        .help("The same figures as JSON"),
                ),
        )
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
            name.ends_with(".jsonl") && !name.ends_with(".metrics.jsonl")
        })
        .collect();
    files.sort();
    files
}

fn main() -> ExitCode {
    let matches = command().get_matches();
    let Some(("report", args)) = matches.subcommand() else {
        unreachable!("a subcommand is required");
    };
    let mut files: Vec<PathBuf> = args
        .get_many::<PathBuf>("files")
        .map(|f| f.cloned().collect())
        .unwrap_or_default();
    if files.is_empty() {
        files = default_files();
    }
    if files.is_empty() {
        eprintln!("mcp-trace: no span file given, and none in the default places");
        return ExitCode::from(2);
    }
    let mut report = Report::default();
    for file in &files {
        let read = std::fs::File::open(file).and_then(|f| report.read(BufReader::new(f)));
        if let Err(error) = read {
            eprintln!("mcp-trace: cannot read {}: {error}", file.display());
            return ExitCode::from(2);
        }
    }
    let skipped = report.skipped;
    if skipped.total() > 0 {
        eprintln!(
            "mcp-trace: skipped {} truncated line(s), {} unreadable line(s), {} non-MCP span(s)",
            skipped.truncated, skipped.unreadable, skipped.not_mcp
        );
    }
    if args.get_flag("json") {
        println!("{:#}", render::json(&report));
    } else {
        print!("{}", render::text(&report));
    }
    ExitCode::SUCCESS
}
