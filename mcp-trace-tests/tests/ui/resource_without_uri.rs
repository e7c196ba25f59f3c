use mcp_trace::traced_resource;

#[traced_resource(name = "docs")]
fn read_page(page: String) -> String {
    page
}

fn main() {}
