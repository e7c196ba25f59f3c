use mcp_trace::traced_resource;

#[traced_resource(uri = "docs://{page}")]
fn read_page(name: String) -> String {
    name
}

fn main() {}
