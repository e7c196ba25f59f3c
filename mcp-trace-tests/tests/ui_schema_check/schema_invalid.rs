use mcp_trace::traced_tool;

#[traced_tool(schema = "tests/ui/schemas/invalid_schema.json")]
fn search(query: String) -> usize {
    query.len()
}

fn main() {}
