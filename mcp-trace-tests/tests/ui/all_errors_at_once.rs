use mcp_trace::traced_tool;

#[traced_tool(nmae = "x", skip(pool))]
const fn answer(x: u8) -> u8 {
    x
}

fn main() {}
