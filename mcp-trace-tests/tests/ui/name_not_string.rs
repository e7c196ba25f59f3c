use mcp_trace::traced_tool;

#[traced_tool(name = search)]
fn search(query: String) -> usize {
    query.len()
}

fn main() {}
