use mcp_trace::traced_tool;

#[traced_tool]
async fn count(query: String) -> Result<usize, String> {
    let n: usize = query;
    Ok(n)
}

fn main() {}
