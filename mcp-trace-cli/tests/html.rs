//! The HTML page: well-formed (an XML parser reads it whole), every figure of the text
//! report on it, names escaped, and, where Debian's Chromium is installed, rendered by
//! a real browser with every chart in its DOM and a screenshot taken.

mod common;

use common::{MINUTE_NS, MS_NS, T0_NS, file, read, tool_call};
use mcp_trace_cli::{Report, html, render};
use quick_xml::Reader;
use quick_xml::events::Event;
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

/// Parses the page as XML, failing on any mismatched or unclosed tag; returns the
/// element names in order.
fn well_formed(page: &str) -> Vec<String> {
    let mut reader = Reader::from_str(page);
    let mut open: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.name().as_ref().to_owned();
                seen.push(name.clone());
                open.push(name);
            }
            Ok(Event::Empty(e)) => {
                seen.push(e.name().as_ref().to_owned());
            }
            Ok(Event::End(_)) => {
                open.pop().expect("a closing tag with none open");
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed at byte {}: {e}", reader.buffer_position()),
        }
    }
    assert!(open.is_empty(), "left open: {open:?}");
    seen
}

/// The text of the page: tags removed, the five escapes undone.
fn page_text(page: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in page.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push('\n');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
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
    let page = page_text(&html::page(&report));
    let cells: Vec<&str> = page.lines().map(str::trim).collect();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut checked = 0;
    let mut section = "";
    for line in &mut lines {
        match line {
            "Tools" | "Resources" | "Sessions" => section = line,
            l if l.starts_with("Alerts (") => section = "Alerts",
            l if l.starts_with("mcp-trace report:") || l.starts_with("tool ") => {}
            l if section == "Tools" && !l.contains(':') => {
                // A table row: every cell is a cell of the page's table.
                for cell in l.split_whitespace() {
                    assert!(cells.contains(&cell), "{cell:?} of {l:?} not on the page");
                    checked += 1;
                }
            }
            l if section == "Resources" && l.starts_with("repeated per") => {
                // The rates over time are drawn; each point carries its figure.
                let (_, rates) = l.split_once(": ").unwrap();
                for rate in rates.split(' ') {
                    assert!(
                        cells.iter().any(|c| c.contains(&format!(": {rate} ("))),
                        "{rate} of {l:?} not on the page"
                    );
                    checked += 1;
                }
            }
            l if section == "Resources" => {
                let (name, rest) = l.split_once(": ").unwrap();
                assert!(cells.contains(&name));
                for figure in rest
                    .split([' ', '(', ')'])
                    .filter(|w| w.starts_with(|c: char| c.is_ascii_digit()))
                {
                    assert!(
                        cells.contains(&figure),
                        "{figure:?} of {l:?} not on the page"
                    );
                    checked += 1;
                }
            }
            l if section == "Alerts" => {
                let (kind, description) = l.split_once("  ").unwrap();
                assert!(cells.contains(&kind), "{kind}");
                assert!(
                    cells.contains(&description.trim()),
                    "{description:?} not on the page"
                );
                checked += 1;
            }
            l => {
                assert!(cells.contains(&l), "{l:?} not on the page");
                checked += 1;
            }
        }
    }
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
