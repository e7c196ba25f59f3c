//! What the MCP conventions make of a JSON-RPC error code on the server side: whether
//! the call failed, and the status description that may go with it.

/// Whether a server answering with `code` failed. The conventions count the client's
/// mistakes as no failure of the server's: `-32700` parse error, `-32600` invalid
/// request, `-32601` method not found, `-32602` invalid params (an unknown tool too)
/// and `-32002` resource not found. Every other code is one (`-32603` internal error,
/// the `-32000` to `-32099` server errors, any code of the server's own).
pub(crate) fn server_failed(code: i64) -> bool {
    !matches!(code, -32700 | -32600 | -32601 | -32602 | -32002)
}

/// The standard text of `code`: the only JSON-RPC error message a span's status may
/// carry, since a server's own message may quote argument values.
pub(crate) fn standard_text(code: i64) -> Option<&'static str> {
    Some(match code {
        -32700 => "Parse error",
        -32600 => "Invalid Request",
        -32601 => "Method not found",
        -32602 => "Invalid params",
        -32603 => "Internal error",
        -32002 => "Resource not found",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clients_mistakes_are_not_the_servers_failures() {
        for code in [-32700, -32600, -32601, -32602, -32002] {
            assert!(!server_failed(code), "{code}");
        }
        for code in [-32603, -32000, -32001, -32099, -1, 0, 1, 42] {
            assert!(server_failed(code), "{code}");
        }
    }

    #[test]
    fn only_standard_codes_have_a_text() {
        assert_eq!(standard_text(-32603), Some("Internal error"));
        assert_eq!(standard_text(-32002), Some("Resource not found"));
        assert_eq!(standard_text(-32000), None);
        assert_eq!(standard_text(7), None);
    }
}
