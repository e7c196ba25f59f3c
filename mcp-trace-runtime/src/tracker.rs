//! Duplicate-read tracking: how often each session has read each resource URI.
//!
//! Bounded two ways: at most `max_pairs` (session, URI) pairs, the least recently read
//! evicted first, and pairs idle longer than `idle` forgotten. Every operation is
//! O(log n) under one mutex, held for a few map operations.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Limits of the read tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadTrackerLimits {
    /// Most (session, URI) pairs remembered at once; past it the least recently read
    /// pair is forgotten.
    pub max_pairs: usize,
    /// A pair not read for this long is forgotten.
    pub idle: Duration,
}

impl Default for ReadTrackerLimits {
    fn default() -> Self {
        Self {
            max_pairs: 100_000,
            idle: Duration::from_secs(30 * 60),
        }
    }
}

#[derive(Debug)]
struct Slot {
    count: u64,
    tick: u64,
    last: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    limits: ReadTrackerLimits,
    sessions: HashMap<Arc<str>, HashMap<Arc<str>, Slot>>,
    /// Recency order: tick of the last read → pair.
    lru: BTreeMap<u64, (Arc<str>, Arc<str>)>,
    next_tick: u64,
}

/// Concurrent, bounded map of read counts.
#[derive(Debug, Default)]
pub(crate) struct ReadTracker {
    inner: Mutex<Inner>,
}

impl ReadTracker {
    pub(crate) fn new(limits: ReadTrackerLimits) -> Self {
        Self {
            inner: Mutex::new(Inner {
                limits,
                ..Inner::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent maps: keep going.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one read and returns how many reads of `uri` `session` has made,
    /// this one included.
    pub(crate) fn record(&self, session: &str, uri: &str, now: Instant) -> u64 {
        let mut inner = self.lock();
        inner.expire(now);
        let tick = inner.next_tick;
        inner.next_tick += 1;
        let Inner { sessions, lru, .. } = &mut *inner;
        if let Some(slot) = sessions.get_mut(session).and_then(|uris| uris.get_mut(uri)) {
            let previous = std::mem::replace(&mut slot.tick, tick);
            slot.count += 1;
            slot.last = now;
            if let Some(pair) = lru.remove(&previous) {
                lru.insert(tick, pair);
            }
            return slot.count;
        }
        let session_key: Arc<str> = match sessions.get_key_value(session) {
            Some((key, _)) => key.clone(),
            None => Arc::from(session),
        };
        let uri_key: Arc<str> = Arc::from(uri);
        let slot = Slot {
            count: 1,
            tick,
            last: now,
        };
        sessions
            .entry(session_key.clone())
            .or_default()
            .insert(uri_key.clone(), slot);
        lru.insert(tick, (session_key, uri_key));
        while inner.lru.len() > inner.limits.max_pairs {
            inner.evict_oldest();
        }
        1
    }

    /// Forgets everything about `session`.
    pub(crate) fn end(&self, session: &str) {
        let mut inner = self.lock();
        if let Some(uris) = inner.sessions.remove(session) {
            for slot in uris.values() {
                inner.lru.remove(&slot.tick);
            }
        }
    }

    pub(crate) fn set_limits(&self, limits: ReadTrackerLimits) {
        let mut inner = self.lock();
        inner.limits = limits;
        while inner.lru.len() > inner.limits.max_pairs {
            inner.evict_oldest();
        }
    }

    #[cfg(test)]
    fn pairs(&self) -> usize {
        self.lock().lru.len()
    }
}

impl Inner {
    fn expire(&mut self, now: Instant) {
        while let Some((_, (session, uri))) = self.lru.first_key_value() {
            let last = self
                .sessions
                .get(session)
                .and_then(|u| u.get(uri))
                .map(|s| s.last);
            match last {
                Some(last) if now.saturating_duration_since(last) <= self.limits.idle => break,
                _ => self.evict_oldest(),
            }
        }
    }

    fn evict_oldest(&mut self) {
        let Some((_, (session, uri))) = self.lru.pop_first() else {
            return;
        };
        if let Some(uris) = self.sessions.get_mut(&session) {
            uris.remove(&uri);
            if uris.is_empty() {
                self.sessions.remove(&session);
            }
        }
    }
}

/// The process-wide tracker behind `mcp.resource.read_count`.
pub(crate) fn global() -> &'static ReadTracker {
    static TRACKER: OnceLock<ReadTracker> = OnceLock::new();
    TRACKER.get_or_init(|| ReadTracker::new(ReadTrackerLimits::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker(max_pairs: usize, idle_secs: u64) -> ReadTracker {
        ReadTracker::new(ReadTrackerLimits {
            max_pairs,
            idle: Duration::from_secs(idle_secs),
        })
    }

    #[test]
    fn counts_per_session_and_uri() {
        let t = tracker(10, 60);
        let now = Instant::now();
        assert_eq!(t.record("s1", "docs://a", now), 1);
        assert_eq!(t.record("s2", "docs://a", now), 1);
        assert_eq!(t.record("s1", "docs://a", now), 2);
        assert_eq!(t.record("s1", "docs://b", now), 1);
        assert_eq!(t.record("s2", "docs://a", now), 2);
        assert_eq!(t.pairs(), 3);
    }

    #[test]
    fn cap_evicts_least_recently_read() {
        let t = tracker(2, 60);
        let now = Instant::now();
        t.record("s", "a", now);
        t.record("s", "b", now);
        t.record("s", "a", now); // a is now the most recent
        t.record("s", "c", now); // evicts b
        assert_eq!(t.pairs(), 2);
        assert_eq!(t.record("s", "a", now), 3);
        assert_eq!(t.record("s", "b", now), 1);
    }

    #[test]
    fn idle_pairs_expire_and_end_frees_a_session() {
        let t = tracker(100, 10);
        let start = Instant::now();
        t.record("s1", "a", start);
        t.record("s2", "a", start);
        assert_eq!(t.record("s1", "a", start + Duration::from_secs(11)), 1);
        assert_eq!(t.pairs(), 1, "s2's idle pair expired too");
        t.end("s1");
        assert_eq!(t.pairs(), 0);
        assert_eq!(t.record("s1", "a", start + Duration::from_secs(12)), 1);
    }
}
