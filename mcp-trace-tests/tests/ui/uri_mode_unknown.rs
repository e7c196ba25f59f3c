use mcp_trace::traced_resource;

#[traced_resource(uri = "users://{email}/profile", uri_mode = "hashed")]
fn profile(email: &str) -> String {
    email.to_owned()
}

fn main() {}
