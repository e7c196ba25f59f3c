use mcp_trace::traced_tool;

#[traced_tool(nmae = "search")]
fn search(query: String) -> usize {
    query.len()
}

fn main() {}
