//! The HTML page: well-formed (an XML parser reads it whole), every figure of the text
//! report on it, names escaped, and, where Debian's Chromium is installed, rendered by
//! a real browser with every chart in its DOM and a screenshot taken.

mod common;

use common::{
    MINUTE_NS, MS_NS, T0_NS, figures_on_page, file, page_text, read, tool_call, well_formed,
};
use mcp_trace_cli::{Report, html, render};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// Three tools, one failing often, one with schema mismatches, an unknown tool, and
/// a resource re-read: several alerts, every table and chart filled.
fn report_with(tool_names: &[&str]) -> Report {
    let mut spans: Vec<Value> = Vec::new();
    for m in 0..20u64 {
        for i in 0..20u64 {
            let start = T0_NS + m * MINUTE_NS + i * (MINUTE_NS / 20);
            let session = format!("s{}", i % 4);
            for (t, tool) in tool_names.iter().enumerate() {
                let mut extra = vec![("mcp.tool.args.schema_valid", json!(t != 1 || i % 5 != 0))];
                if t == 0 && i % 4 == 0 {
                    extra.push(("error.type", json!("SearchError")));
                }
                let hash = format!("{t}-{}", i % 7);
                let ms = (t as u64 + 1) * 5 + i % 3;
                spans.push(tool_call(tool, &session, &hash, start, ms * MS_NS, &extra));
            }
            spans.push(read(Some(&session), Some(m >= 10 && i % 2 == 0), start));
        }
    }
    spans.extend((0..30).map(|i| {
        tool_call(
            "serach",
            "s1",
            "x",
            T0_NS + 3 * MINUTE_NS + i * MS_NS,
            MS_NS,
            &[("rpc.response.status_code", json!("-32601"))],
        )
    }));
    let mut report = Report::default();
    report.read(file(spans).as_bytes()).unwrap();
    report.finish();
    report
}

fn report() -> Report {
    report_with(&["search", "create_issue", "run_query"])
}

#[test]
fn page_is_well_formed_with_every_chart() {
    let page = html::page(&report());
    let elements = well_formed(&page);
    let count = |name: &str| elements.iter().filter(|e| *e == name).count();
    assert_eq!(
        count("svg"),
        5,
        "calls, p95, error rate, duplicate reads, sessions"
    );
    assert_eq!(count("table"), 2);
    assert_eq!(count("script"), 0);
    // The one address on the page is the SVG namespace: nothing is fetched.
    assert_eq!(
        page.matches("http").count(),
        page.matches("http://www.w3.org/2000/svg").count()
    );
}

#[test]
fn page_carries_every_figure_of_the_text_report() {
    let report = report();
    let text = render::text(&report);
    let checked = figures_on_page(&text, &html::page(&report));
    assert!(checked > 40, "{checked} figures checked:\n{text}");
    assert!(text.contains("error-rate"), "{text}");
    assert!(text.contains("unknown-tool"), "{text}");
    assert!(text.contains("duplicate-reads"), "{text}");
}

#[test]
fn names_are_escaped() {
    let hostile = "<script>alert('x')</script>&\"";
    let report = report_with(&[hostile, "create_issue", "run_query"]);
    let page = html::page(&report);
    well_formed(&page);
    assert!(!page.contains("<script>"));
    assert!(page_text(&page).contains(hostile));
}

/// Debian's Chromium, where `.ci/run` installed it.
fn chromium() -> Option<&'static Path> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
}

#[test]
fn renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        eprintln!(
            "\n*** SKIPPED renders_in_headless_chromium: no chromium at /usr/bin/chromium \
             (install Debian's `chromium` package; .ci/run does) ***\n"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("mcp-trace-html-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("profile")).unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, html::page(&report())).unwrap();
    let browser = |extra: &[&str]| {
        Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--window-size=1200,1800",
            ])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .args(extra)
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap()
    };
    // The DOM as the browser built it: every chart and table parsed as such.
    let dom = browser(&["--dump-dom"]);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8(dom.stdout).unwrap();
    assert_eq!(dom.matches("<svg").count(), 5, "{dom}");
    assert_eq!(dom.matches("<polyline").count(), 1);
    assert!(dom.contains("<td>search</td>"));
    let png = dir.join("report.png");
    let shot = browser(&[&format!("--screenshot={}", png.display())]);
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let image = std::fs::read(&png).unwrap();
    assert!(image.starts_with(b"\x89PNG"), "a PNG");
    // A blank page compresses to a few kB; this one has text, tables and charts.
    assert!(image.len() > 30_000, "{} bytes", image.len());
    if let Some(keep) = std::env::var_os("MCP_TRACE_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
