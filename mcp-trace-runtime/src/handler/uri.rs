//! Filling `#[traced_resource(uri = "docs://{page}")]` templates (RFC 6570 level 1–2).

use std::fmt::{Display, Write};

/// Builds a URI from template literals and parameter values; driven by generated code.
#[derive(Debug, Default)]
pub struct UriBuilder {
    uri: String,
    scratch: String,
}

impl UriBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Template text between expressions, copied as written.
    pub fn literal(&mut self, text: &str) {
        self.uri.push_str(text);
    }

    /// `{name}` (`reserved = false`: everything but unreserved characters is
    /// percent-encoded) or `{+name}` (reserved characters such as `/` kept).
    pub fn value(&mut self, value: &dyn Display, reserved: bool) {
        self.scratch.clear();
        // Writing to a String cannot fail.
        let _ = write!(self.scratch, "{value}");
        for byte in self.scratch.bytes() {
            let keep = byte.is_ascii_alphanumeric()
                || matches!(byte, b'-' | b'.' | b'_' | b'~')
                || (reserved && b":/?#[]@!$&'()*+,;=%".contains(&byte));
            if keep {
                self.uri.push(char::from(byte));
            } else {
                let _ = write!(self.uri, "%{byte:02X}");
            }
        }
    }

    pub fn finish(self) -> String {
        self.uri
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_and_reserved_expansion() {
        let mut b = UriBuilder::new();
        b.literal("docs://");
        b.value(&"getting started/é", false);
        b.literal("?v=");
        b.value(&"a/b", true);
        assert_eq!(b.finish(), "docs://getting%20started%2F%C3%A9?v=a/b");
    }
}
