//! Misuse is a compile error on the offending token: one misuse per file in `tests/ui`
//! (and `tests/ui_schema_check`, for what only the schema check refuses), its expected
//! compiler output beside it.
#![cfg(feature = "enable")]

use std::path::{Path, PathBuf};

/// trybuild compiles the cases in `<target>/tests/trybuild/<this package>`, where
/// `schema = "tests/ui/schemas/…"` resolves: copy the fixtures there first.
fn stage_schema_fixtures() {
    let exe = std::env::current_exe().expect("test binary path");
    // <target>/<profile>/deps/ui-<hash>
    let target: PathBuf = exe.ancestors().nth(3).expect("target dir").to_path_buf();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/schemas");
    let to = target
        .join("tests/trybuild")
        .join(env!("CARGO_PKG_NAME"))
        .join("tests/ui/schemas");
    std::fs::create_dir_all(&to).expect("fixture dir");
    for entry in std::fs::read_dir(&from).expect("fixtures") {
        let entry = entry.expect("fixture entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("fixture copied");
    }
}

#[test]
fn misuse_is_reported_on_the_right_token() {
    stage_schema_fixtures();
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    // A schema file is validated as a JSON Schema only where something reads it: the
    // schema check or the docs (without both, the validator is not compiled).
    if cfg!(any(feature = "schema-check", feature = "docs")) {
        cases.compile_fail("tests/ui_schema_check/*.rs");
    }
}
