use mcp_trace::traced_resource;

#[traced_resource(uri = "docs://{page")]
fn read_page(page: String) -> String {
    page
}

fn main() {}
