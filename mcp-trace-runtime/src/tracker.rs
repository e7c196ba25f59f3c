//! Duplicate-read tracking: how often each session has read each resource URI.
//!
//! Bounded two ways: at most `max_pairs` (session, URI) pairs, the least recently read
//! evicted first, and pairs idle longer than `idle` forgotten. Neither the session id
//! nor the URI is kept: each is reduced to a 64-bit SipHash under keys drawn at random
//! per process, so a pair costs the same few words whatever the URI's length, and a
//! client cannot aim collisions without knowing the keys. Every operation is
//! O(log n) under one mutex, held for a few map operations.

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Mutex, OnceLock};
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

/// (session digest, URI digest): ordered by session, so a session's pairs are a range.
type Pair = (u64, u64);

/// One pair's state: 12 bytes (packed to 4-byte alignment: the pair map is most of the
/// tracker's memory, and its value array would otherwise carry 4 bytes of padding).
#[derive(Debug, Clone, Copy)]
#[repr(C, packed(4))]
struct Slot {
    /// Nanoseconds since the tracker's epoch of the last read, made unique per read so
    /// it doubles as the recency key.
    tick: u64,
    count: u32,
}

#[derive(Debug)]
struct Inner {
    limits: ReadTrackerLimits,
    pairs: BTreeMap<Pair, Slot>,
    /// Recency order: tick of the last read → pair.
    lru: BTreeMap<u64, Pair>,
    last_tick: u64,
}

/// Concurrent, bounded map of read counts.
#[derive(Debug)]
pub(crate) struct ReadTracker {
    inner: Mutex<Inner>,
    epoch: Instant,
    sessions: RandomState,
    uris: RandomState,
}

impl ReadTracker {
    pub(crate) fn new(limits: ReadTrackerLimits) -> Self {
        Self {
            inner: Mutex::new(Inner {
                limits,
                pairs: BTreeMap::new(),
                lru: BTreeMap::new(),
                last_tick: 0,
            }),
            epoch: Instant::now(),
            sessions: RandomState::new(),
            uris: RandomState::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent maps: keep going.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn nanos(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Counts one read and returns how many reads of `uri` `session` has made,
    /// this one included. Hashing happens before the lock is taken.
    pub(crate) fn record(&self, session: &str, uri: &str, now: Instant) -> u64 {
        let pair = (self.sessions.hash_one(session), self.uris.hash_one(uri));
        let now = self.nanos(now);
        let mut inner = self.lock();
        inner.expire(now);
        let tick = now.max(inner.last_tick.saturating_add(1));
        inner.last_tick = tick;
        let Inner { pairs, lru, .. } = &mut *inner;
        if let Some(slot) = pairs.get_mut(&pair) {
            let last = slot.tick;
            lru.remove(&last);
            lru.insert(tick, pair);
            slot.tick = tick;
            slot.count = slot.count.saturating_add(1);
            return u64::from(slot.count);
        }
        pairs.insert(pair, Slot { tick, count: 1 });
        lru.insert(tick, pair);
        while inner.lru.len() > inner.limits.max_pairs {
            inner.evict_oldest();
        }
        1
    }

    /// Forgets everything about `session`.
    pub(crate) fn end(&self, session: &str) {
        let digest = self.sessions.hash_one(session);
        let mut inner = self.lock();
        let Inner { pairs, lru, .. } = &mut *inner;
        let ended: Vec<(Pair, u64)> = pairs
            .range((digest, 0)..=(digest, u64::MAX))
            .map(|(pair, slot)| (*pair, slot.tick))
            .collect();
        for (pair, tick) in ended {
            pairs.remove(&pair);
            lru.remove(&tick);
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
    fn expire(&mut self, now: u64) {
        let idle = u64::try_from(self.limits.idle.as_nanos()).unwrap_or(u64::MAX);
        while let Some((&tick, _)) = self.lru.first_key_value() {
            if now.saturating_sub(tick) <= idle {
                break;
            }
            self.evict_oldest();
        }
    }

    fn evict_oldest(&mut self) {
        if let Some((_, pair)) = self.lru.pop_first() {
            self.pairs.remove(&pair);
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
