use mcp_trace::traced_tool;

#[traced_tool(schema = "tests/ui/schemas/requires_limit.json")]
fn search(query: String) -> usize {
    query.len()
}

fn main() {}
