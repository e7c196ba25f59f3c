use mcp_trace::traced_tool;

#[traced_tool(schema = "tests/ui/schemas/does_not_exist.json")]
fn search(query: String) -> usize {
    query.len()
}

fn main() {}
