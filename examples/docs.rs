//! `cargo run --example docs --features docs`: prints the generated Markdown page for
//! the example server's handlers (committed as `docs/TOOLS.md`). With `--json`, the JSON form, whose
//! `tools` array can serve a `tools/list` response.

#[allow(dead_code)] // registered for the docs, never called here
#[path = "shared/handlers.rs"]
mod handlers;

fn main() {
    #[cfg(feature = "docs")]
    {
        if std::env::args().any(|a| a == "--json") {
            let json = serde_json::to_string_pretty(&mcp_trace::docs::json()).unwrap_or_default();
            println!("{json}");
        } else {
            print!("{}", mcp_trace::docs::markdown());
        }
    }
    #[cfg(not(feature = "docs"))]
    eprintln!("build with the `docs` feature (`--features docs`) to generate docs");
}
