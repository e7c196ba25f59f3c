use mcp_trace::traced_tool;

pub struct A;
pub struct B;

#[traced_tool]
fn both(#[args] a: A, #[args] b: B) -> u8 {
    let _ = (a, b);
    0
}

fn main() {}
