//! `mcp.tool.args.hash`: a truncated SHA-256 of the canonical arguments JSON.

mod py_json;

use sha2::{Digest, Sha256};

/// Streams canonical bytes into the hasher with a small buffer, so there is no
/// intermediate string of the whole document.
struct HashSink {
    hasher: Sha256,
    buf: [u8; 256],
    len: usize,
}

impl py_json::Sink for HashSink {
    fn put(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > self.buf.len() {
            self.hasher.update(&self.buf[..self.len]);
            self.len = 0;
            if bytes.len() > self.buf.len() {
                self.hasher.update(bytes);
                return;
            }
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }
}

/// The first 16 lowercase hex characters of SHA-256 over what Python's
/// `json.dumps(arguments, sort_keys=True)` prints for `arguments`.
///
/// A Python server hashing its arguments with
/// `hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16]`
/// gets the same string for the same call, so repeated calls can be counted across a
/// mixed fleet. Integers beyond the 64-bit range arrive in `serde_json` as floats and
/// therefore hash as Python would hash the float.
///
/// ```
/// let args = serde_json::json!({"query": "rust", "limit": 10});
/// let hash = mcp_trace_runtime::args_hash(&args);
/// assert_eq!(hash.len(), 16);
/// assert!(hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
/// ```
pub fn args_hash(arguments: &serde_json::Value) -> String {
    let mut sink = HashSink {
        hasher: Sha256::new(),
        buf: [0; 256],
        len: 0,
    };
    py_json::write_value(arguments, &mut sink);
    sink.hasher.update(&sink.buf[..sink.len]);
    let digest = sink.hasher.finalize();
    let mut out = String::with_capacity(16);
    for byte in &digest[..8] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_python_hashes() {
        // Printed by CPython 3.11:
        // hashlib.sha256(json.dumps(v, sort_keys=True).encode()).hexdigest()[:16]
        assert_eq!(args_hash(&json!({})), "44136fa355b3678a");
        assert_eq!(
            args_hash(&json!({"query": "rust", "limit": 10})),
            "3428fb353302529b"
        );
    }
}
