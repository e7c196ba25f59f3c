use mcp_trace::traced_tool;

#[traced_tool]
const fn answer(x: u8) -> u8 {
    x
}

fn main() {}
