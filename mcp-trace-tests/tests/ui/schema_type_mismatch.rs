use mcp_trace::traced_tool;

#[traced_tool(schema = "tests/ui/schemas/limit_integer.json")]
fn search(query: String, limit: Option<String>) -> usize {
    query.len() + limit.map_or(0, |l| l.len())
}

fn main() {}
