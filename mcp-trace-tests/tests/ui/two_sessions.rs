use mcp_trace::traced_resource;

#[traced_resource(uri = "docs://{page}")]
fn read_page(#[session] a: &str, #[session] b: &str, page: String) -> String {
    format!("{a}{b}{page}")
}

fn main() {}
