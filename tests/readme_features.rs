//! The feature table (docs/library.md, which the README links) is generated from `Cargo.toml`: every feature, in the
//! manifest's order, with its default and the `##` comment above it (the same comments
//! `document-features` turns into the crate docs' list). A stale table fails with the
//! table it should be; `MCP_TRACE_BLESS=1 cargo test --test readme_features` writes it.

use std::path::Path;

const HEADER: &str = "| feature | default | what it adds |\n|---|---|---|\n";

/// The table's rows as the manifest's `[features]` section describes them.
fn generated_table(manifest: &str) -> String {
    let section = manifest
        .split("\n[features]\n")
        .nth(1)
        .expect("a [features] table")
        .split("\n[")
        .next()
        .unwrap_or_default();
    let mut defaults = Vec::new();
    let mut rows = Vec::new();
    let mut comment = Vec::new();
    for line in section.lines() {
        if let Some(text) = line.strip_prefix("##") {
            comment.push(text.trim().to_owned());
            continue;
        }
        let Some((name, value)) = line.split_once(" = ") else {
            continue;
        };
        let doc = std::mem::take(&mut comment).join(" ");
        if name == "default" {
            defaults = value
                .trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .map(|f| f.trim().trim_matches('"').to_owned())
                .collect();
            continue;
        }
        assert!(!doc.is_empty(), "feature `{name}` has no `##` comment");
        rows.push((name.to_owned(), doc));
    }
    for name in &defaults {
        assert!(
            rows.iter().any(|(n, _)| n == name),
            "default names `{name}`, which is not a feature"
        );
    }
    let mut table = HEADER.to_owned();
    for (name, doc) in rows {
        let default = if defaults.contains(&name) {
            "on"
        } else {
            "off"
        };
        // A sentence in the manifest, a table cell here.
        let doc = doc.trim_end_matches('.').replace('|', "\\|");
        table.push_str(&format!("| `{name}` | {default} | {doc} |\n"));
    }
    table
}

/// The table as the README has it, from its header to the first line that is not a row.
fn readme_table(readme: &str) -> (usize, usize) {
    let start = readme
        .find(HEADER)
        .expect("the feature table of docs/library.md");
    let rows = &readme[start + HEADER.len()..];
    let len = rows
        .split_inclusive('\n')
        .take_while(|line| line.starts_with('|'))
        .map(str::len)
        .sum::<usize>();
    (start, start + HEADER.len() + len)
}

#[test]
fn readme_feature_table_is_generated_from_the_manifest() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let readme = std::fs::read_to_string(root.join("docs/library.md")).unwrap();
    let expected = generated_table(&manifest);
    let (start, end) = readme_table(&readme);
    if readme[start..end] == expected {
        return;
    }
    if std::env::var_os("MCP_TRACE_BLESS").is_some() {
        let updated = format!("{}{expected}{}", &readme[..start], &readme[end..]);
        std::fs::write(root.join("docs/library.md"), updated).unwrap();
        return;
    }
    panic!(
        "docs/library.md's feature table is stale; regenerate it with \
         `MCP_TRACE_BLESS=1 cargo test --test readme_features`. It should read:\n{expected}"
    );
}

#[test]
fn the_generator_reads_names_defaults_and_comments() {
    let manifest = "[package]\n\n[features]\n## Everything.\ndefault = [\"a\"]\n\
                    ## First line,\n## second line.\na = []\n## Off | by default.\nb = [\"a\"]\n";
    assert_eq!(
        generated_table(manifest),
        format!(
            "{HEADER}| `a` | on | First line, second line |\n| `b` | off | Off \\| by default |\n"
        )
    );
}
