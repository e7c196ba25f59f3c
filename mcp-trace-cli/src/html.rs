//! The report as one self-contained HTML page: the text report's tables and alerts,
//! and charts drawn as inline SVG (calls per tool, p95 by tool, error rate by tool,
//! duplicate-read rate over time, calls per session). No script, no stylesheet or font
//! fetched: the page opens from a mail attachment or a CI artifact as it is. The markup
//! is well-formed XML as well as HTML, so a plain XML parser can check it.

use crate::Report;
use crate::alerts::{Alert, alerts};
use crate::render::{
    TOOL_COLUMNS, budget_note, clients_line, describe, duplicate_rate_over_time, duration, length,
    percent, rate, rounds_note, row, task_line, time, tool_notes,
};
use std::fmt::Write;

/// Chart colours: series in turn, and the colour of a bar over its alert threshold.
const PALETTE: [&str; 6] = [
    "#4c78a8", "#f58518", "#54a24b", "#b279a2", "#9d755d", "#72b7b2",
];
const OVER: &str = "#e45756";

/// Longest label a chart shows; the tables show names whole.
const LABEL_CHARS: usize = 28;

/// Most resources drawn on the rate-over-time chart (the most read), one colour each.
const MAX_LINES: usize = 6;

/// Text made safe for an element or a quoted attribute.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A label cut to fit a chart.
fn label(text: &str) -> String {
    if text.chars().count() <= LABEL_CHARS {
        return esc(text);
    }
    let cut: String = text.chars().take(LABEL_CHARS - 1).collect();
    esc(&format!("{cut}…"))
}

/// One bar of a bar chart: its label, its length, and the figure written beside it.
struct Bar {
    label: String,
    value: f64,
    shown: String,
}

/// A horizontal bar chart; bars over `threshold` (with the threshold drawn) are red.
fn bar_chart(title: &str, bars: &[Bar], threshold: Option<f64>) -> String {
    const WIDTH: f64 = 500.0;
    const LEFT: f64 = 190.0;
    const RIGHT: f64 = 110.0;
    const ROW: f64 = 24.0;
    const TOP: f64 = 8.0;
    let height = TOP + ROW * bars.len().max(1) as f64 + 8.0;
    let max = bars
        .iter()
        .map(|b| b.value)
        .chain(threshold)
        .fold(0.0_f64, f64::max);
    let scale = if max > 0.0 {
        (WIDTH - LEFT - RIGHT) / max
    } else {
        0.0
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<figure><figcaption>{}</figcaption><svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}"><title>{}</title>"#,
        esc(title),
        esc(title)
    );
    if bars.is_empty() {
        let _ = write!(
            svg,
            r#"<text x="{LEFT}" y="{}" class="none">nothing to show</text>"#,
            TOP + 16.0
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let over = threshold.is_some_and(|t| bar.value > t);
        let colour = if over { OVER } else { PALETTE[0] };
        let width = (bar.value * scale).max(if bar.value > 0.0 { 1.0 } else { 0.0 });
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end" class="label">{}</text><rect x="{LEFT}" y="{}" width="{width:.1}" height="{}" fill="{colour}" rx="2"/><text x="{:.1}" y="{}" class="value">{}</text>"#,
            LEFT - 8.0,
            y + 16.0,
            label(&bar.label),
            y + 4.0,
            ROW - 8.0,
            LEFT + width + 6.0,
            y + 16.0,
            esc(&bar.shown)
        );
    }
    if let Some(t) = threshold {
        let x = LEFT + t * scale;
        let _ = write!(
            svg,
            r#"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" class="threshold"/>"#,
            TOP - 4.0,
            height - 2.0
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

/// One line of a line chart: its name and its points (time in ns, rate from 0 to 1,
/// and the figure shown when pointing at it).
struct Line {
    name: String,
    points: Vec<(u64, f64, String)>,
}

/// Rates over time, 0 to 100 %, with the alert threshold dashed.
fn line_chart(title: &str, lines: &[Line], threshold: f64) -> String {
    const WIDTH: f64 = 1040.0;
    const HEIGHT: f64 = 260.0;
    const LEFT: f64 = 48.0;
    const RIGHT: f64 = 16.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 48.0;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let times = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let (first, last) = times.fold((u64::MAX, 0), |(a, b), t| (a.min(t), b.max(t)));
    let x = |t: u64| {
        if last > first {
            LEFT + (t - first) as f64 / (last - first) as f64 * plot_w
        } else {
            LEFT + plot_w / 2.0
        }
    };
    let y = |rate: f64| TOP + (1.0 - rate.clamp(0.0, 1.0)) * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<figure class="wide"><figcaption>{}</figcaption><svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}"><title>{}</title>"#,
        esc(title),
        esc(title)
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = write!(
            svg,
            r#"<line x1="{LEFT}" y1="{0:.1}" x2="{1}" y2="{0:.1}" class="grid"/><text x="{2}" y="{3:.1}" text-anchor="end" class="tick">{4}%</text>"#,
            y(tick),
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(tick) + 4.0,
            tick * 100.0
        );
    }
    let _ = write!(
        svg,
        r#"<line x1="{LEFT}" y1="{0:.1}" x2="{1}" y2="{0:.1}" class="threshold"/>"#,
        y(threshold),
        WIDTH - RIGHT
    );
    if first < last {
        let _ = write!(
            svg,
            r#"<text x="{LEFT}" y="{0}" class="tick">{1}</text><text x="{2}" y="{0}" text-anchor="end" class="tick">{3}</text>"#,
            HEIGHT - BOTTOM + 18.0,
            esc(&time(first)),
            WIDTH - RIGHT,
            esc(&time(last))
        );
    }
    if first == last {
        let _ = write!(
            svg,
            r#"<text x="{0:.1}" y="{1}" text-anchor="middle" class="tick">{2}</text>"#,
            x(first),
            HEIGHT - BOTTOM + 18.0,
            esc(&time(first))
        );
    }
    for (i, line) in lines.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let points: Vec<String> = line
            .points
            .iter()
            .map(|&(t, r, _)| format!("{:.1},{:.1}", x(t), y(r)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            points.join(" ")
        );
        for (t, r, shown) in &line.points {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{}</title></circle>"#,
                x(*t),
                y(*r),
                esc(shown)
            );
        }
        let _ = write!(
            svg,
            r#"<rect x="{0}" y="{1}" width="10" height="10" fill="{colour}"/><text x="{2}" y="{3}" class="label">{4}</text>"#,
            LEFT + 170.0 * i as f64,
            HEIGHT - 18.0,
            LEFT + 170.0 * i as f64 + 14.0,
            HEIGHT - 9.0,
            label(&line.name)
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

const STYLE: &str = "
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1f2933; background: #f5f7fa; margin: 0; }
main { max-width: 1140px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 10px; border-bottom: 1px solid #d9e2ec; padding-bottom: 4px; }
p.meta { color: #52606d; margin: 0 0 8px; }
table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 2px rgba(0,0,0,.08); margin: 6px 0 12px; }
th, td { padding: 5px 10px; border-bottom: 1px solid #e4e7eb; white-space: nowrap; }
th { background: #eef2f7; font-weight: 600; text-align: right; }
td { text-align: right; font-variant-numeric: tabular-nums; }
th:first-child, td:first-child { text-align: left; }
tr:nth-child(even) td { background: #fafbfc; }
ul.alerts { list-style: none; padding: 0; margin: 0; }
ul.alerts li { background: #fff; border-left: 4px solid #e45756; padding: 8px 12px; margin: 6px 0; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
ul.alerts li b { display: inline-block; min-width: 150px; color: #b42318; }
p.ok { background: #fff; border-left: 4px solid #54a24b; padding: 8px 12px; }
ul.notes { color: #52606d; margin: 4px 0 0; padding-left: 18px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure { background: #fff; margin: 0; padding: 10px 12px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
figcaption { font-weight: 600; margin-bottom: 6px; }
svg text { font: 12px system-ui, sans-serif; fill: #1f2933; }
svg text.tick, svg text.none { fill: #7b8794; }
svg line.grid { stroke: #e4e7eb; }
svg line.threshold { stroke: #e45756; stroke-dasharray: 4 3; }
";

/// The page.
pub fn page(report: &Report) -> String {
    let alerts = alerts(report);
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>");
    out.push_str("<title>mcp-trace report</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body><main>");
    let _ = write!(
        out,
        "<h1>mcp-trace report</h1><p class=\"meta\">{} MCP spans",
        report.spans
    );
    if report.spans > 0 {
        let _ = write!(
            out,
            ", {} to {}",
            esc(&time(report.first_ns)),
            esc(&time(report.last_ns))
        );
    }
    let s = &report.skipped;
    if s.total() > 0 {
        let _ = write!(out, "; skipped: {s}");
    }
    out.push_str("</p>");
    if let Some(at) = report.budget.exhausted_at_ns {
        let _ = write!(out, "<p class=\"meta\">note: {}</p>", esc(&budget_note(at)));
    }
    if report.asked_rounds > 0 {
        let note = rounds_note(report.asked_rounds);
        let _ = write!(out, "<p class=\"meta\">note: {}</p>", esc(&note));
    }
    alerts_section(report, &alerts, &mut out);
    tools_section(report, &mut out);
    resources_section(report, &mut out);
    tasks_section(report, &mut out);
    sessions_section(report, &mut out);
    if let Some(line) = clients_line(report) {
        let _ = write!(
            out,
            "<h2 id=\"clients\">Clients (spans of traced clients, not counted above)</h2><p>{}</p>",
            esc(&line)
        );
    }
    out.push_str("</main></body></html>\n");
    out
}

fn alerts_section(report: &Report, alerts: &[Alert], out: &mut String) {
    let st = &report.settings;
    let _ = write!(
        out,
        "<h2 id=\"alerts\">Alerts</h2><p class=\"meta\">{} windows sliding by {}, {} calls at least; silence {}</p>",
        esc(&length(st.window)),
        esc(&length(
            st.window / crate::settings::SLOTS_PER_WINDOW as u32
        )),
        st.min_calls,
        esc(&length(st.silence))
    );
    if alerts.is_empty() {
        out.push_str("<p class=\"ok\">No alert.</p>");
        return;
    }
    out.push_str("<ul class=\"alerts\">");
    for alert in alerts {
        let _ = write!(
            out,
            "<li><b>{}</b> {}</li>",
            alert.kind.name(),
            esc(&describe(report, alert))
        );
    }
    out.push_str("</ul>");
}

fn tools_section(report: &Report, out: &mut String) {
    out.push_str("<h2 id=\"tools\">Tools</h2>");
    let tools: Vec<_> = report.called_tools().collect();
    if tools.is_empty() {
        out.push_str("<p>no tool calls</p>");
        return;
    }
    out.push_str("<table><thead><tr>");
    for column in TOOL_COLUMNS {
        let _ = write!(out, "<th>{}</th>", esc(column));
    }
    out.push_str("</tr></thead><tbody>");
    for (name, tool) in &tools {
        out.push_str("<tr>");
        for cell in row(name, tool) {
            let _ = write!(out, "<td>{}</td>", esc(&cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table><ul class=\"notes\">");
    for (name, tool) in &tools {
        for note in tool_notes(name, tool) {
            let _ = write!(out, "<li>{}</li>", esc(&note));
        }
    }
    out.push_str("</ul><div class=\"charts\">");
    let mut calls: Vec<Bar> = tools
        .iter()
        .map(|(name, t)| Bar {
            label: name.to_string(),
            value: t.calls as f64,
            shown: t.calls.to_string(),
        })
        .collect();
    calls.sort_by(|a, b| b.value.total_cmp(&a.value));
    out.push_str(&bar_chart("Calls per tool", &calls, None));
    let mut p95: Vec<Bar> = tools
        .iter()
        .map(|(name, t)| {
            let micros = t.latency_micros(0.95);
            Bar {
                label: name.to_string(),
                value: micros as f64,
                shown: duration(micros),
            }
        })
        .collect();
    p95.sort_by(|a, b| b.value.total_cmp(&a.value));
    out.push_str(&bar_chart("p95 latency by tool", &p95, None));
    let mut errors: Vec<Bar> = tools
        .iter()
        .map(|(name, t)| Bar {
            label: name.to_string(),
            value: t.failed() as f64 / t.calls.max(1) as f64,
            shown: percent(t.failed(), t.calls),
        })
        .collect();
    errors.sort_by(|a, b| b.value.total_cmp(&a.value));
    out.push_str(&bar_chart(
        &format!(
            "Error rate by tool (alert above {})",
            rate(report.settings.error_rate)
        ),
        &errors,
        Some(report.settings.error_rate),
    ));
    out.push_str("</div>");
}

fn resources_section(report: &Report, out: &mut String) {
    out.push_str("<h2 id=\"resources\">Resources</h2>");
    if report.resources.is_empty() {
        out.push_str("<p>no resource reads</p>");
        return;
    }
    out.push_str(
        "<table><thead><tr><th>resource</th><th>reads</th><th>repeated</th><th>counted within a session or trace</th></tr></thead><tbody>",
    );
    for (name, reads) in &report.resources {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            reads.reads,
            percent(reads.repeated, reads.tracked),
            reads.tracked
        );
    }
    out.push_str("</tbody></table>");
    let mut most_read: Vec<(&String, u64)> = report
        .resources
        .iter()
        .map(|(name, r)| (name, r.reads))
        .collect();
    most_read.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let drawn = most_read.len().min(MAX_LINES);
    let lines: Vec<Line> = most_read[..drawn]
        .iter()
        .map(|(name, _)| Line {
            name: name.to_string(),
            points: duplicate_rate_over_time(report, name)
                .into_iter()
                .filter(|w| w.tracked > 0)
                .map(|w| {
                    let shown = format!(
                        "{}: {} ({} of {})",
                        time(w.start_ns),
                        percent(w.repeated, w.tracked),
                        w.repeated,
                        w.tracked
                    );
                    (w.start_ns, w.repeated as f64 / w.tracked as f64, shown)
                })
                .collect(),
        })
        .collect();
    let of = match most_read.len() > drawn {
        true => format!(", the {drawn} most read"),
        false => String::new(),
    };
    out.push_str(&line_chart(
        &format!(
            "Duplicate-read rate per {} window (alert above {}{of})",
            length(report.settings.window),
            rate(report.settings.duplicate_rate)
        ),
        &lines,
        report.settings.duplicate_rate,
    ));
}

/// The tasks of each tool, when there are any.
fn tasks_section(report: &Report, out: &mut String) {
    if report.tasks.is_empty() {
        return;
    }
    out.push_str("<h2 id=\"tasks\">Tasks</h2><ul>");
    for (tool, tasks) in &report.tasks {
        let _ = write!(out, "<li>{}: {}</li>", esc(tool), esc(&task_line(tasks)));
    }
    out.push_str("</ul>");
}

fn sessions_section(report: &Report, out: &mut String) {
    let sessions = report.sessions();
    let _ = write!(
        out,
        "<h2 id=\"sessions\">Sessions</h2><p>{} session(s), {:.1} tool call(s) per session, {:.1}s long on average, {:.1}s the longest</p>",
        sessions.count, sessions.calls_per_session, sessions.mean_seconds, sessions.longest_seconds
    );
    let bars: Vec<Bar> = report
        .calls_per_session()
        .into_iter()
        .map(|(calls, n)| Bar {
            label: format!("{calls} call(s)"),
            value: n as f64,
            shown: format!("{n} session(s)"),
        })
        .collect();
    out.push_str("<div class=\"charts\">");
    out.push_str(&bar_chart("Sessions by tool calls made", &bars, None));
    out.push_str("</div>");
}
