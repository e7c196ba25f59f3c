use mcp_trace::traced_tool;

#[traced_tool(skip(pool))]
fn run_query(conn: u8, sql: &str) -> usize {
    let _ = conn;
    sql.len()
}

fn main() {}
