//! This package's features are the facade's, one to one: same names, same defaults,
//! each turning on the facade's feature of the same name. A feature added to
//! `mcp-trace` and forgotten here would leave the tests under its `cfg` never compiled.

use std::collections::BTreeMap;

/// `feature → its value`, from a manifest's `[features]` table (one feature a line).
fn features(manifest: &str) -> BTreeMap<String, String> {
    manifest
        .split("\n[features]\n")
        .nth(1)
        .expect("a [features] table")
        .split("\n[")
        .next()
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains(" = "))
        .map(|line| {
            let (name, value) = line.split_once(" = ").expect("name = value");
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

#[test]
fn features_mirror_the_facade() {
    let facade = features(include_str!("../../Cargo.toml"));
    let here = features(include_str!("../Cargo.toml"));
    assert_eq!(
        facade.keys().collect::<Vec<_>>(),
        here.keys().collect::<Vec<_>>(),
        "mcp-trace-tests/Cargo.toml must declare exactly the facade's features"
    );
    assert_eq!(facade["default"], here["default"], "the same defaults");
    for name in here.keys().filter(|n| *n != "default") {
        assert_eq!(
            here[name],
            format!("[\"mcp-trace/{name}\"]"),
            "`{name}` turns on the facade's `{name}` and nothing else"
        );
    }
}
