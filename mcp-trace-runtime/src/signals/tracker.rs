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

    // ---- the tracker against a reference model -------------------------------------

    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Few sessions and URIs, so pairs repeat, collide with the cap and expire. The
    /// empty strings and the shared prefixes check that digests keep them apart.
    const SESSIONS: [&str; 4] = ["s", "s1", "session-2", ""];
    const URIS: [&str; 5] = ["docs://a", "docs://ab", "", "file:///é/😀", "docs://a?x=1"];

    #[derive(Debug, Clone)]
    enum Op {
        Read {
            session: usize,
            uri: usize,
        },
        End {
            session: usize,
        },
        /// The clock moves forward by this many milliseconds.
        Advance(u64),
        SetLimits {
            max_pairs: usize,
            idle_ms: u64,
        },
    }

    fn op(idle_ms: u64) -> impl Strategy<Value = Op> {
        prop_oneof![
            10 => (0..SESSIONS.len(), 0..URIS.len())
                .prop_map(|(session, uri)| Op::Read { session, uri }),
            2 => (0..SESSIONS.len()).prop_map(|session| Op::End { session }),
            // Small steps, and the expiry boundary exactly: idle is still alive, idle +
            // 1 ms is not.
            4 => prop_oneof![
                0..=idle_ms / 2,
                Just(idle_ms),
                Just(idle_ms + 1),
                idle_ms..=3 * idle_ms,
            ]
            .prop_map(Op::Advance),
            1 => (0usize..=8, prop_oneof![Just(idle_ms), 1..=2 * idle_ms])
                .prop_map(|(max_pairs, idle_ms)| Op::SetLimits { max_pairs, idle_ms }),
        ]
    }

    /// (max_pairs, idle in ms, operations).
    fn scenario(max_ops: usize) -> impl Strategy<Value = (usize, u64, Vec<Op>)> {
        (0usize..=8, prop_oneof![Just(10u64), 1u64..=50]).prop_flat_map(move |(cap, idle)| {
            (
                Just(cap),
                Just(idle),
                proptest::collection::vec(op(idle), 1..max_ops),
            )
        })
    }

    #[derive(Debug, Clone, Copy)]
    struct ModelPair {
        count: u64,
        /// Time of the last read since the start.
        last: Duration,
        /// Order of the last read among all reads: the recency.
        seq: u64,
    }

    /// What the tracker promises, written the obvious way: a pair is forgotten when
    /// idle for more than `idle` (checked when a read comes in), when its session
    /// ends, or when it is the least recently read pair over the cap.
    #[derive(Debug)]
    struct Model {
        max_pairs: usize,
        idle: Duration,
        pairs: HashMap<(usize, usize), ModelPair>,
        reads: u64,
    }

    impl Model {
        fn record(&mut self, pair: (usize, usize), now: Duration) -> u64 {
            let idle = self.idle;
            self.pairs.retain(|_, p| now - p.last <= idle);
            self.reads += 1;
            let seq = self.reads;
            if let Some(p) = self.pairs.get_mut(&pair) {
                p.count += 1;
                p.last = now;
                p.seq = seq;
                return p.count;
            }
            let count = 1;
            self.pairs.insert(
                pair,
                ModelPair {
                    count,
                    last: now,
                    seq,
                },
            );
            self.shrink_to_cap();
            count
        }

        fn shrink_to_cap(&mut self) {
            while self.pairs.len() > self.max_pairs {
                let oldest = *self
                    .pairs
                    .iter()
                    .min_by_key(|(_, p)| p.seq)
                    .map(|(k, _)| k)
                    .unwrap();
                self.pairs.remove(&oldest);
            }
        }
    }

    fn agrees_with_model(cap: usize, idle_ms: u64, ops: &[Op]) -> Result<(), TestCaseError> {
        let t = ReadTracker::new(ReadTrackerLimits {
            max_pairs: cap,
            idle: Duration::from_millis(idle_ms),
        });
        // Explicit instants from a start at or after the tracker's epoch.
        let start = Instant::now();
        let mut model = Model {
            max_pairs: cap,
            idle: Duration::from_millis(idle_ms),
            pairs: HashMap::new(),
            reads: 0,
        };
        let mut now = Duration::ZERO;
        for (i, op) in ops.iter().enumerate() {
            match *op {
                Op::Read { session, uri } => {
                    let got = t.record(SESSIONS[session], URIS[uri], start + now);
                    let want = model.record((session, uri), now);
                    prop_assert_eq!(got, want, "read count at op {}: {:?}", i, op);
                }
                Op::End { session } => {
                    t.end(SESSIONS[session]);
                    model.pairs.retain(|(s, _), _| *s != session);
                }
                Op::Advance(ms) => now += Duration::from_millis(ms),
                Op::SetLimits { max_pairs, idle_ms } => {
                    let limits = ReadTrackerLimits {
                        max_pairs,
                        idle: Duration::from_millis(idle_ms),
                    };
                    t.set_limits(limits);
                    model.max_pairs = max_pairs;
                    model.idle = limits.idle;
                    model.shrink_to_cap();
                }
            }
            prop_assert_eq!(
                t.pairs(),
                model.pairs.len(),
                "pairs held after op {}: {:?}",
                i,
                op
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn tracker_agrees_with_a_model((cap, idle_ms, ops) in scenario(200)) {
            agrees_with_model(cap, idle_ms, &ops)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4_000))]

        #[test]
        #[ignore = "long variant of tracker_agrees_with_a_model (about a minute in debug)"]
        fn tracker_agrees_with_a_model_long((cap, idle_ms, ops) in scenario(1_000)) {
            agrees_with_model(cap, idle_ms, &ops)?;
        }
    }
}
