//! Keyed digests of credentials and value-carrying strings (session ids, resource URIs):
//! they tell two values apart without revealing either.

use hmac::{Hmac, KeyInit, Mac};
use opentelemetry::StringValue;
use sha2::Sha256;
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

/// HMAC-SHA-256 keyed with `key` (any length is a valid HMAC key).
pub(crate) fn hmac(key: &[u8]) -> Hmac<Sha256> {
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC accepts keys of every length; this arm is never taken.
        Err(_) => <Hmac<Sha256> as KeyInit>::new(&Default::default()),
    }
}

/// The first `hex_len` lowercase hex characters of `bytes`.
pub(crate) fn hex(bytes: &[u8], hex_len: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(hex_len);
    for byte in bytes.iter().take(hex_len.div_ceil(2)) {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out.truncate(hex_len);
    out
}

/// 32 hex characters (128 bits) of HMAC-SHA-256 of `value` under the process's digest key.
pub(crate) fn keyed(value: &str) -> String {
    // The key's inner and outer blocks are hashed once per process (settings are fixed
    // once read); each digest clones that state.
    static PREPARED: OnceLock<Hmac<Sha256>> = OnceLock::new();
    let mut mac = PREPARED
        .get_or_init(|| hmac(&crate::settings::get().digest_key))
        .clone();
    mac.update(value.as_bytes());
    hex(&mac.finalize().into_bytes(), 32)
}

/// [`keyed`] of a session id, remembered for the last session seen on this thread:
/// consecutive calls of one session (every call, over stdio) digest it once.
pub(crate) fn keyed_session(id: &str) -> StringValue {
    /// Longer ids are digested every time rather than kept.
    const MAX_REMEMBERED: usize = 256;
    thread_local! {
        static LAST: RefCell<Option<(Box<str>, Arc<str>)>> = const { RefCell::new(None) };
    }
    let fresh = |id: &str| -> Arc<str> { keyed(id).into() };
    if id.len() > MAX_REMEMBERED {
        return fresh(id).into();
    }
    LAST.try_with(|last| {
        if let Some((seen, digest)) = &*last.borrow()
            && **seen == *id
        {
            return digest.clone();
        }
        let digest = fresh(id);
        *last.borrow_mut() = Some((id.into(), digest.clone()));
        digest
    })
    .unwrap_or_else(|_| fresh(id))
    .into()
}

/// What `mcp.session.id` carries for session `id`: its keyed digest, or the id itself
/// (bounded) when raw ids were opted in to.
pub(crate) fn session_attribute(id: &str) -> String {
    match crate::settings::get().session_ids {
        crate::settings::SessionIdExport::Raw => {
            let limit = crate::bounds::limit_for(crate::bounds::MAX_NAME_BYTES);
            crate::bounds::bounded(id, limit).into_owned()
        }
        _ => keyed(id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mut mac = hmac(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes(), 64),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn remembered_session_digests_are_the_digests() {
        for id in ["s1", "s1", "s2", "s1", &"x".repeat(300), &"x".repeat(300)] {
            assert_eq!(keyed_session(id).as_str(), keyed(id));
        }
    }

    #[test]
    fn keyed_digests_are_stable_and_distinct() {
        assert_eq!(keyed("session-a"), keyed("session-a"));
        assert_ne!(keyed("session-a"), keyed("session-b"));
        assert_eq!(keyed("x").len(), 32);
        assert!(!keyed("session-a").contains("session"));
    }
}
