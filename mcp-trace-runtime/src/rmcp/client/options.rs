//! What a traced client is told that its transport cannot say: where the server is,
//! and whether to wrap the client's lifetime in a session span.

/// How a [`TracedTransport`](super::TracedTransport) records.
#[derive(Debug, Clone)]
pub(crate) struct ClientOptions {
    /// `server.address` and `server.port`, from the URI of an HTTP server.
    pub(crate) server: Option<(String, u16)>,
    /// A `mcp.client.session` span from `initialize` to the transport's close, parent
    /// of every request's span (on by default).
    pub(crate) session_span: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            server: None,
            session_span: true,
        }
    }
}

impl ClientOptions {
    /// `network.transport`: TCP for a server with an address, else a pipe (a child
    /// process's stdio).
    pub(crate) fn transport(&self) -> &'static str {
        match self.server {
            Some(_) => "tcp",
            None => "pipe",
        }
    }

    /// The host and port of `uri` (`http://host:port/path`; the scheme's port when it
    /// names none). `None` when it has no host.
    pub(crate) fn server_of(uri: &str) -> Option<(String, u16)> {
        let uri: http::Uri = uri.parse().ok()?;
        let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        let host = crate::bounds::bounded(host, crate::bounds::MAX_NAME_BYTES).into_owned();
        Some((host, port))
    }
}

#[cfg(test)]
mod tests {
    use super::ClientOptions;

    #[test]
    fn server_of_a_uri() {
        let of = ClientOptions::server_of;
        assert_eq!(
            of("http://127.0.0.1:8080/mcp"),
            Some(("127.0.0.1".into(), 8080))
        );
        assert_eq!(
            of("https://mcp.example.com/mcp"),
            Some(("mcp.example.com".into(), 443))
        );
        assert_eq!(of("http://[::1]:9/"), Some(("::1".into(), 9)));
        assert_eq!(of("not a uri"), None);
        assert_eq!(of("/relative"), None);
    }
}
