//! The embedded exporter: OTLP/JSON lines, and the guard exports every span on drop.
#![cfg(feature = "enable")]

use mcp_trace::{Exporter, traced_tool};
use serde_json::Value;

#[traced_tool]
fn numbered(i: u32) -> u32 {
    i
}

#[test]
fn dropping_the_guard_writes_every_span() {
    let dir = std::env::temp_dir().join(format!("mcp-trace-export-{}", std::process::id()));
    let path = dir.join("nested/spans.jsonl");
    let guard = mcp_trace::Builder::new()
        .service_name("export-test")
        .server_name("docs")
        .exporter(Exporter::File(Some(path.clone())))
        .install()
        .expect("file exporter installs");
    assert_eq!(guard.file_path(), Some(path.as_path()));
    #[cfg(unix)]
    {
        // Private to the user: spans may carry resource URIs.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600, "span file mode");
        assert_eq!(
            mode(path.parent().unwrap()),
            0o700,
            "created directory mode"
        );
    }
    const CALLS: u32 = 1000;
    for i in 0..CALLS {
        numbered(i);
    }
    drop(guard);

    let text = std::fs::read_to_string(&path).expect("span file written");
    let mut seen = Vec::new();
    for line in text.lines() {
        let request: Value = serde_json::from_str(line).expect("each line is one JSON request");
        for resource_spans in request["resourceSpans"].as_array().unwrap() {
            let resource: Vec<(String, Value)> = resource_spans["resource"]["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|kv| (kv["key"].as_str().unwrap().to_owned(), kv["value"].clone()))
                .collect();
            assert!(resource.contains(&(
                "service.name".into(),
                serde_json::json!({"stringValue": "export-test"})
            )));
            assert!(resource.contains(&(
                "mcp.server.name".into(),
                serde_json::json!({"stringValue": "docs"})
            )));
            for scope in resource_spans["scopeSpans"].as_array().unwrap() {
                assert_eq!(scope["scope"]["name"], "mcp-trace");
                for span in scope["spans"].as_array().unwrap() {
                    assert_eq!(span["name"], "tools/call numbered");
                    assert_eq!(span["kind"], 2, "SERVER");
                    assert_eq!(span["traceId"].as_str().unwrap().len(), 32, "hex trace id");
                    let i = span["attributes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|kv| kv["key"] == "mcp.tool.args.i")
                        .map(|kv| {
                            kv["value"]["intValue"]
                                .as_str()
                                .unwrap()
                                .parse::<u32>()
                                .unwrap()
                        })
                        .unwrap();
                    seen.push(i);
                }
            }
        }
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..CALLS).collect::<Vec<_>>(),
        "every span exported exactly once"
    );
    assert_eq!(mcp_trace::dropped_spans(), 0);
    let _ = std::fs::remove_dir_all(dir);
}
