//! What the proxy's benchmarks share: the proxy's telemetry environment, percentiles,
//! and a process's peak memory.

use std::process::Command;
use std::time::Duration;

/// The proxy's telemetry: spans to a file in `folder` under service `bench`, whatever
/// the calling environment says, sampled at `sampled` (a ratio) when given.
pub fn telemetry(command: &mut Command, folder: &std::path::Path, sampled: Option<&str>) {
    command
        .env("MCP_TRACE_FILE", folder.join("spans.jsonl"))
        .env("OTEL_SERVICE_NAME", "bench")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_TRACES_EXPORTER");
    if let Some(ratio) = sampled {
        command
            .env("OTEL_TRACES_SAMPLER", "traceidratio")
            .env("OTEL_TRACES_SAMPLER_ARG", ratio);
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The peak resident size (`VmHWM`) of process `pid`, in bytes (Linux).
pub fn peak(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
