//! `mcp.tool.args.hash`: a truncated SHA-256 of the canonical arguments JSON.

#[cfg(feature = "enable")]
pub(crate) mod canonical;
mod py_json;

use sha2::{Digest, Sha256};

/// Where the canonical bytes go: plain SHA-256 (the CPython recipe) or HMAC-SHA-256.
enum Hasher {
    Plain(Sha256),
    #[cfg(feature = "enable")]
    Keyed(hmac::Hmac<Sha256>),
}

impl Hasher {
    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Plain(h) => h.update(bytes),
            #[cfg(feature = "enable")]
            Hasher::Keyed(h) => hmac::Mac::update(h, bytes),
        }
    }

    fn finish(self) -> String {
        let digest: [u8; 32] = match self {
            Hasher::Plain(h) => h.finalize().into(),
            #[cfg(feature = "enable")]
            Hasher::Keyed(h) => hmac::Mac::finalize(h).into_bytes().into(),
        };
        hex16(&digest)
    }
}

/// Streams canonical bytes into the hasher through a buffer of whole SHA-256 blocks.
/// There is no intermediate string of the whole document, and the hasher only ever
/// sees whole blocks until the end, so it never copies into its own buffer.
struct HashSink {
    hasher: Hasher,
    buf: [u8; SINK_BYTES],
    len: usize,
}

/// Eight SHA-256 blocks.
const SINK_BYTES: usize = 512;
const BLOCK: usize = 64;

// Inlined so that the sink is built where it is used, not copied there.
impl HashSink {
    #[inline(always)]
    fn new(hasher: Hasher) -> Self {
        Self {
            hasher,
            buf: [0; SINK_BYTES],
            len: 0,
        }
    }

    #[inline(always)]
    fn finish(mut self) -> String {
        self.hasher.update(&self.buf[..self.len]);
        self.hasher.finish()
    }
}

impl py_json::Sink for HashSink {
    fn put(&mut self, mut bytes: &[u8]) {
        let room = SINK_BYTES - self.len;
        if bytes.len() < room {
            self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
            return;
        }
        // Fill the buffer, hash it, then hash the whole blocks of the rest in place.
        let (head, rest) = bytes.split_at(room);
        self.buf[self.len..].copy_from_slice(head);
        self.hasher.update(&self.buf);
        bytes = rest;
        let whole = bytes.len() / BLOCK * BLOCK;
        self.hasher.update(&bytes[..whole]);
        bytes = &bytes[whole..];
        self.buf[..bytes.len()].copy_from_slice(bytes);
        self.len = bytes.len();
    }
}

fn hex16(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 16];
    for (pair, byte) in out.chunks_exact_mut(2).zip(digest) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0xf)];
    }
    // Hex digits are ASCII: the conversion cannot fail.
    std::str::from_utf8(&out).unwrap_or_default().to_owned()
}

/// The first 16 lowercase hex characters of SHA-256 over what Python's
/// `json.dumps(arguments, sort_keys=True)` prints for `arguments`.
///
/// A Python server hashing its arguments with
/// `hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16]`
/// gets the same string for the same call, so repeated calls can be counted across a
/// mixed fleet.
///
/// Two inputs hash differently from Python, because `serde_json` has already turned
/// their text into something else when the hash sees them: the integer `-0` (Python
/// keeps the integer and prints `0`; `serde_json` reads the float `-0.0` and this
/// prints `-0.0`), and integers beyond the 64-bit range such as `18446744073709551616`
/// (Python prints the integer; `serde_json` reads a float, printed as Python prints
/// that float, `1.8446744073709552e+19`). Numbers past the float range such as
/// `1e400` are rejected by `serde_json`, so such a request never gets this far.
///
/// ```
/// let args = serde_json::json!({"query": "rust", "limit": 10});
/// let hash = mcp_trace_runtime::args_hash(&args);
/// assert_eq!(hash.len(), 16);
/// assert!(hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
/// ```
pub fn args_hash(arguments: &serde_json::Value) -> String {
    let mut sink = HashSink::new(Hasher::Plain(Sha256::new()));
    py_json::write_value(arguments, &mut sink);
    sink.finish()
}

/// The hasher `mcp.tool.args.hash` uses: keyed HMAC-SHA-256 when a key is configured
/// (`MCP_TRACE_ARGS_HASH_KEY`), else the CPython-compatible plain SHA-256.
#[cfg(feature = "enable")]
fn configured() -> Hasher {
    // The key's inner and outer blocks are hashed once per process (settings are fixed
    // once read); each hash clones that state.
    static PREPARED: std::sync::OnceLock<Option<hmac::Hmac<Sha256>>> = std::sync::OnceLock::new();
    let prepared = PREPARED.get_or_init(|| {
        let key = crate::settings::get().args_hash_key.as_ref()?;
        Some(crate::digest::hmac(key))
    });
    match prepared {
        Some(mac) => Hasher::Keyed(mac.clone()),
        None => Hasher::Plain(Sha256::new()),
    }
}

/// `mcp.tool.args.hash` of `arguments` under the configured hasher.
#[cfg(feature = "enable")]
pub(crate) fn configured_hash(arguments: &serde_json::Value) -> String {
    let mut sink = HashSink::new(configured());
    py_json::write_value(arguments, &mut sink);
    sink.finish()
}

/// [`configured_hash`] of the object whose members are the typed parameters'
/// canonical bytes, written in sorted key order.
#[cfg(feature = "enable")]
pub(crate) fn configured_hash_members(mut args: crate::signals::shape::CanonicalArgs) -> String {
    use py_json::Sink as _;
    // Parameter names are distinct; code-point order as Python's `sort_keys`. The
    // macro records parameters in that order, so this rarely sorts.
    if !args.members.is_sorted_by_key(|(p, _)| p.name) {
        args.members.sort_unstable_by_key(|(p, _)| p.name);
    }
    // The document is written after the members in the same buffer (typed arguments
    // are small: it rarely grows), then hashed in one pass.
    let bytes = &mut args.bytes;
    let start = bytes.len();
    bytes.put(b"{");
    for (i, (p, range)) in args.members.iter().enumerate() {
        if i > 0 {
            bytes.put(b", ");
        }
        if p.member.is_empty() {
            py_json::write_str(p.name, bytes);
            bytes.put(b": ");
        } else {
            bytes.put(p.member.as_bytes());
        }
        bytes.extend_from_within(range.clone());
    }
    bytes.put(b"}");
    let mut hasher = configured();
    hasher.update(&bytes[start..]);
    hasher.finish()
}

/// [`configured_hash`] of the arguments object `map`.
#[cfg(all(feature = "enable", feature = "wire"))]
pub(crate) fn configured_hash_object(map: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut sink = HashSink::new(configured());
    py_json::write_object(map, &mut sink);
    sink.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_entry_point_agrees_with_value_entry_point() {
        let value = json!({"b": [1, {"z": null, "a": "é"}], "a": 1.5});
        let mut sink = HashSink::new(Hasher::Plain(Sha256::new()));
        py_json::write_object(value.as_object().unwrap(), &mut sink);
        assert_eq!(sink.finish(), args_hash(&value));
    }

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
