use mcp_trace::traced_tool;

#[traced_tool]
struct Search {
    query: String,
}

fn main() {}
