use mcp_trace::{traced_resource, traced_tool};

#[derive(Debug)]
pub struct SearchError;

/// Search documents by query string.
#[traced_tool]
async fn search_documents(query: String, limit: Option<u32>, filters: Vec<String>) -> Result<Vec<String>, SearchError> {
    if query.is_empty() {
        return Err(SearchError);
    }
    Ok(filters.into_iter().take(limit.unwrap_or(10) as usize).collect())
}

#[traced_tool(name = "add")]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[traced_resource(uri = "docs://{page}", name = "docs")]
async fn read_docs_page(#[session] session: &str, page: String) -> Result<String, SearchError> {
    let _ = session;
    Ok(format!("# {page}"))
}

fn main() {
    let _ = add(1, 2);
    let _ = search_documents(String::new(), None, vec![]);
    let _ = read_docs_page("s", "x".into());
}
