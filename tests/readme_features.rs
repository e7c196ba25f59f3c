//! The README's feature table lists exactly the features `Cargo.toml` declares, with the
//! right defaults (the crate docs' list is generated from `Cargo.toml` itself).

use std::collections::BTreeMap;

/// `feature → on by default`, from the manifest's `[features]` table.
fn manifest_features() -> BTreeMap<String, bool> {
    let manifest = include_str!("../Cargo.toml");
    let table = manifest
        .split("\n[features]\n")
        .nth(1)
        .expect("a [features] table")
        .split("\n[")
        .next()
        .unwrap_or_default();
    let mut features = BTreeMap::new();
    let mut defaults = Vec::new();
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains(" = "))
    {
        let (name, value) = line.split_once(" = ").expect("name = value");
        if name == "default" {
            defaults = value
                .trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .map(|f| f.trim().trim_matches('"').to_owned())
                .collect();
        } else {
            features.insert(name.to_owned(), false);
        }
    }
    for name in defaults {
        *features.get_mut(&name).expect("default names a feature") = true;
    }
    features
}

/// `feature → on by default`, from the README's `| feature | default | … |` table.
fn readme_features() -> BTreeMap<String, bool> {
    let readme = include_str!("../README.md");
    let table = readme
        .split("| feature | default | what it adds |")
        .nth(1)
        .expect("the README's feature table");
    table
        .lines()
        .skip(2) // the header's end and the separator row
        .take_while(|line| line.starts_with('|'))
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let name = cells[1].trim_matches('`').to_owned();
            let default = match cells[2] {
                "on" => true,
                "off" => false,
                other => panic!("default of `{name}` is {other:?}, not on/off"),
            };
            (name, default)
        })
        .collect()
}

#[test]
fn readme_feature_table_matches_the_manifest() {
    assert_eq!(readme_features(), manifest_features());
}
