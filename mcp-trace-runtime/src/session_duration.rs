//! `mcp.server.session.duration`: how long each session lasted, recorded when it ends
//! (`session::end`, the rmcp adapter's server for the session dropped, or the
//! telemetry guard dropped at process exit for the sessions still open).
//!
//! Open sessions are kept by a keyed 64-bit digest of their id, never the id itself
//! (it is a credential), or for the rmcp adapter by a number of the server instance
//! that serves the session: a start time and a few of the crate's own constants each,
//! at most [`MAX_OPEN_SESSIONS`] of them.

use crate::keys;
use crate::metrics::known_protocol;
use opentelemetry::KeyValue;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::SystemTime;

/// The metric's name, as the MCP semantic conventions give it.
pub(crate) const SESSION_DURATION: &str = "mcp.server.session.duration";

/// Most sessions open at once; a session started past it is not timed. About 64 bytes
/// each: 6.4 MB at the cap.
pub(crate) const MAX_OPEN_SESSIONS: usize = 100_000;

/// What is known of an open session.
#[derive(Debug, Clone, Copy)]
struct Open {
    start: SystemTime,
    protocol: Option<&'static str>,
    transport: Option<&'static str>,
    network: Option<(&'static str, &'static str)>,
}

/// What a session's requests say of it, as far as its duration goes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Carried<'a> {
    pub(crate) protocol: Option<&'a str>,
    pub(crate) transport: Option<&'static str>,
    /// `network.protocol.name` and `.version`.
    pub(crate) network: Option<(&'static str, &'static str)>,
}

impl<'a> Carried<'a> {
    /// What a request scope carries.
    pub(crate) fn of(scope: &'a crate::scope::ScopeData) -> Self {
        Self {
            protocol: scope.protocol_version.as_deref(),
            transport: scope.transport.map(crate::scope::Transport::as_str),
            network: scope.network_protocol,
        }
    }
}

/// What an open session is known by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// The keyed digest of the id given to `session::start`.
    Id(u64),
    /// The rmcp adapter's server instance that serves the session.
    #[cfg_attr(not(feature = "wire"), allow(dead_code))]
    Server(u64),
}

impl Key {
    /// The key of session `id`: its digest, keyed per process.
    pub(crate) fn of(id: &str) -> Self {
        static KEY: OnceLock<RandomState> = OnceLock::new();
        Key::Id(KEY.get_or_init(RandomState::new).hash_one(id))
    }

    /// A key no other session has: for a server instance.
    #[cfg(feature = "wire")]
    pub(crate) fn unique() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Key::Server(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

/// The open sessions.
fn open() -> &'static Mutex<HashMap<Key, Open>> {
    static OPEN: OnceLock<Mutex<HashMap<Key, Open>>> = OnceLock::new();
    OPEN.get_or_init(|| Mutex::new(HashMap::new()))
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<Key, Open>> {
    open()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Session `key` started at `start`, its requests carrying `carried` (the protocol
/// version may be learned later). A session already open keeps its start.
pub(crate) fn start(key: Key, start: SystemTime, carried: Carried<'_>) {
    if !crate::metrics::enabled() {
        return;
    }
    let mut open = lock();
    if open.len() >= MAX_OPEN_SESSIONS {
        return;
    }
    open.entry(key).or_insert(Open {
        start,
        protocol: carried.protocol.map(known_protocol),
        transport: carried.transport,
        network: carried.network,
    });
}

/// The protocol version session `key` negotiated, once known.
#[cfg(feature = "wire")]
pub(crate) fn negotiated(key: Key, protocol: &str) {
    if let Some(session) = lock().get_mut(&key) {
        session.protocol = Some(known_protocol(protocol));
    }
}

/// Session `key` ended now, in error if `error_type` is given. Nothing for a session
/// that was never started (or already ended).
pub(crate) fn end(key: Key, error_type: Option<&'static str>) {
    let ended = lock().remove(&key);
    if let Some(session) = ended {
        record(&[(session, error_type)], SystemTime::now());
    }
}

/// Every open session ended now: the process is exiting.
pub(crate) fn end_all() {
    let ended: Vec<_> = lock().drain().map(|(_, session)| (session, None)).collect();
    if !ended.is_empty() {
        record(&ended, SystemTime::now());
    }
}

/// Bucket boundaries replacing the conventions' (whose last, 300 s, is short for
/// sessions that last hours); `None` for the conventions'.
pub(crate) fn set_boundaries(boundaries: Option<Vec<f64>>) {
    *BOUNDARIES
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = boundaries;
}

static BOUNDARIES: RwLock<Option<Vec<f64>>> = RwLock::new(None);

/// Why a list of bucket boundaries cannot be used: `None` when it can (finite,
/// strictly increasing, at least one).
pub(crate) fn boundaries_problem(boundaries: &[f64]) -> Option<&'static str> {
    if boundaries.is_empty() {
        Some("no boundary")
    } else if boundaries.iter().any(|b| !b.is_finite()) {
        Some("a boundary that is not a finite number")
    } else if boundaries.windows(2).any(|w| w[0] >= w[1]) {
        Some("boundaries not strictly increasing")
    } else {
        None
    }
}

/// Records the sessions that ended at `end`. Sessions end seldom: the instrument is
/// looked up from the global meter provider each time, never cached.
fn record(ended: &[(Open, Option<&'static str>)], end: SystemTime) {
    let boundaries = BOUNDARIES
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
        .unwrap_or_else(|| crate::metrics::DURATION_BOUNDARIES.to_vec());
    let histogram = crate::metrics::meter()
        .f64_histogram(SESSION_DURATION)
        .with_unit("s")
        .with_description("The duration of the MCP session as observed on the MCP server")
        .with_boundaries(boundaries)
        .build();
    for (session, error_type) in ended {
        let mut attrs = Vec::with_capacity(5);
        crate::metrics::push_connection(
            &mut attrs,
            session.protocol,
            session.transport,
            session.network,
        );
        if let Some(error_type) = error_type {
            attrs.push(KeyValue::new(keys::ERROR_TYPE, *error_type));
        }
        // A clock stepped back reads as zero, not as an error.
        let seconds = end
            .duration_since(session.start)
            .map_or(0.0, |d| d.as_secs_f64());
        histogram.record(seconds, &attrs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_must_be_finite_and_increasing() {
        assert_eq!(boundaries_problem(&[1.0, 60.0, 3600.0]), None);
        assert_eq!(boundaries_problem(&[]), Some("no boundary"));
        assert_eq!(
            boundaries_problem(&[1.0, f64::NAN]),
            Some("a boundary that is not a finite number")
        );
        assert_eq!(
            boundaries_problem(&[1.0, f64::INFINITY]),
            Some("a boundary that is not a finite number")
        );
        assert_eq!(
            boundaries_problem(&[60.0, 1.0]),
            Some("boundaries not strictly increasing")
        );
        assert_eq!(
            boundaries_problem(&[1.0, 1.0]),
            Some("boundaries not strictly increasing")
        );
    }

    #[test]
    fn the_id_is_never_kept() {
        // Only the digest is a key; the map holds no string at all.
        let id = "session-id-kept-test";
        let carried = Carried {
            protocol: Some("2025-06-18"),
            transport: Some("tcp"),
            network: None,
        };
        start(Key::of(id), SystemTime::now(), carried);
        assert!(lock().contains_key(&Key::of(id)));
        assert_ne!(Key::of(id), Key::of("session-id-kept-tesu"));
        lock().remove(&Key::of(id));
    }
}
