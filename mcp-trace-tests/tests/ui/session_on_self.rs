use mcp_trace::traced_tool;

pub struct Server;

impl Server {
    #[traced_tool]
    fn search(#[session] &self, query: String) -> usize {
        query.len()
    }
}

fn main() {}
