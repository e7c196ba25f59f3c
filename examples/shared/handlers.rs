//! The example server's handlers: three tools and one resource. Used by the demo
//! (`cargo run --example demo`), the docs example
//! (`cargo run --example docs --features docs`) and the test that keeps
//! `docs/TOOLS.md` current.

use mcp_trace::{traced_resource, traced_tool};
use std::time::Duration;

#[derive(Debug)]
pub struct SearchError;

#[derive(Debug)]
pub struct IssueError;

#[derive(Debug)]
pub struct QueryError;

#[derive(Debug)]
pub struct DocsError;

/// Simulated work, so latencies mean something.
async fn work(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Search documents by query string.
#[traced_tool(schema = "examples/schemas/search_documents.json")]
pub async fn search_documents(
    query: String,
    limit: Option<u32>,
    filters: Vec<String>,
) -> Result<Vec<String>, SearchError> {
    work(2 + query.len() as u64 % 4).await;
    if query.is_empty() {
        return Err(SearchError);
    }
    let limit = limit.unwrap_or(10).min(100) as usize;
    Ok((0..limit.min(3 + filters.len()))
        .map(|i| format!("{query}-{i}"))
        .collect())
}

/// Open an issue in the tracker.
#[traced_tool(schema = "examples/schemas/create_issue.json")]
pub async fn create_issue(title: String, body: String, priority: u8) -> Result<u64, IssueError> {
    work(4 + u64::from(priority)).await;
    if title.trim().is_empty() || body.len() > 500 {
        return Err(IssueError);
    }
    Ok(1000 + title.len() as u64)
}

/// Run a read-only SQL query.
#[traced_tool]
pub fn run_query(sql: String) -> Result<Vec<String>, QueryError> {
    std::thread::sleep(Duration::from_millis(1));
    if !sql.trim_start().to_ascii_uppercase().starts_with("SELECT") {
        return Err(QueryError);
    }
    Ok(vec!["row".to_owned(); sql.len() % 7])
}

/// One page of the product documentation.
#[traced_resource(uri = "docs://{page}", name = "docs")]
pub async fn read_docs_page(#[session] session: &str, page: String) -> Result<String, DocsError> {
    let _ = session;
    work(1).await;
    match page.as_str() {
        "intro" | "setup" | "api" | "faq" => Ok(format!("# {page}\n\nAll about {page}.\n")),
        _ => Err(DocsError),
    }
}
