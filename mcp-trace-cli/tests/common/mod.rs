//! Hand-built span files: OTLP/JSON lines as the embedded exporter writes them.

#![allow(dead_code)]

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Value, json};

/// 2027-01-15T08:00:00Z, on a minute boundary.
pub const T0_NS: u64 = 1_800_000_000 * 1_000_000_000;
pub const MINUTE_NS: u64 = 60 * 1_000_000_000;
pub const MS_NS: u64 = 1_000_000;

/// One span as OTLP/JSON: attribute values typed as the exporter types them.
pub fn span(name: &str, attrs: &[(&str, Value)], start_ns: u64, duration_ns: u64) -> Value {
    let attributes: Vec<Value> = attrs
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Value::Bool(b) => json!({"boolValue": b}),
                Value::Number(n) if n.is_f64() => json!({"doubleValue": n}),
                Value::Number(n) => json!({"intValue": n.to_string()}),
                other => json!({"stringValue": other.as_str().unwrap()}),
            };
            json!({"key": k, "value": value})
        })
        .collect();
    json!({
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331",
        "name": name,
        "kind": 2,
        "startTimeUnixNano": start_ns.to_string(),
        "endTimeUnixNano": (start_ns + duration_ns).to_string(),
        "attributes": attributes,
    })
}

/// One OTLP/JSON line (an export request) holding `spans`.
pub fn line(spans: Vec<Value>) -> String {
    json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).to_string()
}

/// A `tools/call` span.
pub fn tool_call(
    tool: &str,
    session: &str,
    hash: &str,
    start_ns: u64,
    duration_ns: u64,
    extra: &[(&str, Value)],
) -> Value {
    let mut attrs = vec![
        ("mcp.method.name", json!("tools/call")),
        ("gen_ai.tool.name", json!(tool)),
        ("mcp.session.id", json!(session)),
        ("mcp.tool.args.hash", json!(hash)),
    ];
    attrs.extend(extra.iter().cloned());
    span(&format!("tools/call {tool}"), &attrs, start_ns, duration_ns)
}

/// A `resources/read` span of `docs://{page}`.
pub fn read(session: Option<&str>, hit: Option<bool>, start_ns: u64) -> Value {
    let mut attrs = vec![
        ("mcp.method.name", json!("resources/read")),
        ("mcp.resource.template", json!("docs://{page}")),
        ("mcp.resource.uri", json!("docs://intro")),
    ];
    if let Some(session) = session {
        attrs.push(("mcp.session.id", json!(session)));
    }
    if let Some(hit) = hit {
        attrs.push(("mcp.resource.cache_hit", json!(hit)));
    }
    span("resources/read", &attrs, start_ns, 2 * MS_NS)
}

/// Spans into a file's text, a batch of up to 64 spans per line as a batching
/// exporter writes them.
pub fn file(spans: Vec<Value>) -> String {
    let mut text = String::new();
    for batch in spans.chunks(64) {
        text.push_str(&line(batch.to_vec()));
        text.push('\n');
    }
    text
}

/// Parses the page as XML, failing on any mismatched or unclosed tag; returns the
/// element names in order.
pub fn well_formed(page: &str) -> Vec<String> {
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
pub fn page_text(page: &str) -> String {
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

/// Checks that every figure of the text report is on the page (tables as cells, the
/// alerts and notes as lines, the rates over time as the points' titles); returns how
/// many were checked.
pub fn figures_on_page(text: &str, page: &str) -> usize {
    let page = page_text(page);
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
    checked
}
