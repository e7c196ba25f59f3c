use mcp_trace::traced_tool;

#[traced_tool(schema = "tests/ui/schemas/closed_query.json")]
fn search(query: String, verbose: bool) -> usize {
    query.len() + usize::from(verbose)
}

fn main() {}
