//! Duplicate-read tracking: how often each session has read each resource URI. The
//! same bounded map, with another value per pair, follows each scope's runs of
//! identical tool calls (`super::repeats`).
//!
//! Bounded two ways: at most `max_pairs` (session, URI) pairs, the least recently read
//! evicted first, and pairs idle longer than `idle` forgotten. Neither the session id
//! nor the URI is kept: each is reduced to a 64-bit SipHash under keys drawn at random
//! per process, so a pair costs the same few words whatever the URI's length, and a
//! client cannot aim collisions without knowing the keys.
//!
//! The pairs are split by their digests into up to [`MAX_SHARDS`] shards, each behind
//! its own mutex on its own cache line, so that reads on different threads rarely
//! meet. Each shard holds its share of `max_pairs` and evicts its own least recently
//! read pair: recency is per shard, which over thousands of pairs is the same thing
//! in practice. A cap below [`MIN_PAIRS_PER_SHARD`] × 2 keeps one shard, and with it
//! exact least-recently-read eviction. Every operation is O(log n) in its shard.

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Limits of the read tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadTrackerLimits {
    /// Most (session, URI) pairs remembered at once; past it the least recently read
    /// pair is forgotten. From 512 pairs on, the pairs are split into up to 16 shards
    /// with a lock and a share of the cap each, and "least recently read" holds within
    /// a shard.
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

/// How coarse a [`Tracker::coarse`]'s recency order is: a second.
#[cfg_attr(not(feature = "args-hash"), allow(dead_code))]
const COARSE_RECENCY_NANOS: u64 = 1_000_000_000;

/// A coarse tracker's recency step for an idle time: a second, or half the idle time
/// if that is shorter (a pair used more often than it idles must not expire).
#[cfg_attr(not(feature = "args-hash"), allow(dead_code))]
fn coarse_refresh(idle: Duration) -> u64 {
    let half = u64::try_from(idle.as_nanos() / 2).unwrap_or(u64::MAX);
    COARSE_RECENCY_NANOS.min(half)
}

/// Most shards: enough that a few threads rarely wait on one another.
const MAX_SHARDS: usize = 16;
/// Fewest pairs a shard holds, so that per-shard recency stays close to the global one.
const MIN_PAIRS_PER_SHARD: usize = 256;

/// (session digest, URI digest): ordered by session, so a session's pairs are a range.
type Pair = (u64, u64);

/// One pair's state: for reads, 12 bytes (packed to 4-byte alignment: the pair map is
/// most of the tracker's memory, and its value array would otherwise carry 4 bytes of
/// padding).
#[derive(Debug, Clone, Copy)]
#[repr(C, packed(4))]
struct Slot<V: Copy> {
    /// Nanoseconds since the tracker's epoch of the last read, made unique per read
    /// within the shard so it doubles as the recency key.
    tick: u64,
    /// For reads, their count.
    value: V,
}

#[derive(Debug)]
struct Inner<V: Copy> {
    /// This shard's share of the pair cap.
    max_pairs: usize,
    idle: Duration,
    pairs: BTreeMap<Pair, Slot<V>>,
    /// Recency order: tick of the last read → pair.
    lru: BTreeMap<u64, Pair>,
    last_tick: u64,
    /// A pair used again within this many nanoseconds of its place in the recency
    /// order keeps that place (0: every use moves it): see [`Tracker::coarse`].
    refresh_after: u64,
    coarse: bool,
}

/// A shard on a cache line of its own, so that two threads locking neighbouring
/// shards do not pass the line back and forth.
#[derive(Debug)]
#[repr(align(128))]
struct Shard<V: Copy>(Mutex<Inner<V>>);

/// Concurrent, bounded map of a value `V` per (scope, name) pair: read counts per
/// (session, URI), or a run of identical calls per (scope, tool).
#[derive(Debug)]
pub(crate) struct Tracker<V: Copy> {
    shards: Box<[Shard<V>]>,
    /// How many of the shards are in use (a power of two); changed only by
    /// [`ReadTracker::set_limits`] while it holds every shard's lock.
    in_use: AtomicUsize,
    epoch: Instant,
    sessions: RandomState,
    uris: RandomState,
}

/// The read tracker: each pair's value is its read count.
pub(crate) type ReadTracker = Tracker<u32>;

/// Shards for a cap: a power of two, each holding at least [`MIN_PAIRS_PER_SHARD`].
fn shards_for(max_pairs: usize) -> usize {
    let wanted = (max_pairs / MIN_PAIRS_PER_SHARD).clamp(1, MAX_SHARDS);
    // The largest power of two not above `wanted`.
    1 << wanted.ilog2()
}

/// The `index`th of `shards` equal shares of `max_pairs` (the first ones take the
/// remainder), so that the shares add up to the cap exactly.
fn share(max_pairs: usize, shards: usize, index: usize) -> usize {
    max_pairs / shards + usize::from(index < max_pairs % shards)
}

impl<V: Copy> Tracker<V> {
    pub(crate) fn new(limits: ReadTrackerLimits) -> Self {
        let in_use = shards_for(limits.max_pairs);
        let shards = (0..MAX_SHARDS)
            .map(|i| {
                Shard(Mutex::new(Inner {
                    max_pairs: if i < in_use {
                        share(limits.max_pairs, in_use, i)
                    } else {
                        0
                    },
                    idle: limits.idle,
                    pairs: BTreeMap::new(),
                    lru: BTreeMap::new(),
                    last_tick: 0,
                    refresh_after: 0,
                    coarse: false,
                }))
            })
            .collect();
        Self {
            shards,
            in_use: AtomicUsize::new(in_use),
            epoch: Instant::now(),
            sessions: RandomState::new(),
            uris: RandomState::new(),
        }
    }

    /// A tracker whose recency order is kept to within a second (or half the idle
    /// time, if that is shorter): a pair used again within it keeps its place, which
    /// saves reordering on every use of a busy pair. The pair cap then evicts among
    /// the least recently used to within that, and a pair in use is never idle.
    #[cfg_attr(not(feature = "args-hash"), allow(dead_code))]
    pub(crate) fn coarse(limits: ReadTrackerLimits) -> Self {
        let tracker = Self::new(limits);
        for index in 0..tracker.shards.len() {
            let mut inner = tracker.lock(index);
            inner.coarse = true;
            inner.refresh_after = coarse_refresh(limits.idle);
        }
        tracker
    }

    fn lock(&self, index: usize) -> MutexGuard<'_, Inner<V>> {
        // A panic elsewhere while holding the lock leaves consistent maps: keep going.
        self.shards[index]
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The locked shard `pair` belongs to.
    fn shard_of(&self, pair: Pair) -> MutexGuard<'_, Inner<V>> {
        // The digests are uniform: their low bits spread the pairs evenly.
        let mix = (pair.0 ^ pair.1.rotate_left(32)) as usize;
        loop {
            let in_use = self.in_use.load(Ordering::Acquire);
            let guard = self.lock(mix & (in_use - 1));
            // `set_limits` changes the count only under every lock: if it is unchanged
            // now that this lock is held, the shard is the right one.
            if self.in_use.load(Ordering::Acquire) == in_use {
                return guard;
            }
        }
    }

    fn nanos(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Sets the value of (`scope`, `name`) to what `next` makes of its value so far
    /// (`None` for a pair not held), and returns it. Hashing happens before the lock is
    /// taken.
    pub(crate) fn update(
        &self,
        scope: &str,
        name: &str,
        now: Instant,
        next: impl FnOnce(Option<V>) -> V,
    ) -> V {
        let pair = (self.sessions.hash_one(scope), self.uris.hash_one(name));
        let now = self.nanos(now);
        self.shard_of(pair).update(pair, now, next)
    }

    /// Forgets everything about `session`, in every shard.
    pub(crate) fn end(&self, session: &str) {
        let digest = self.sessions.hash_one(session);
        for index in 0..self.shards.len() {
            self.lock(index).end(digest);
        }
    }

    pub(crate) fn set_limits(&self, limits: ReadTrackerLimits) {
        // Every shard locked, in order, while the pairs move to their new shards.
        let mut guards: Vec<_> = (0..self.shards.len()).map(|i| self.lock(i)).collect();
        let mut all: Vec<(Pair, Slot<V>)> = Vec::new();
        let mut last_tick = 0;
        for inner in &mut guards {
            inner.lru.clear();
            all.extend(std::mem::take(&mut inner.pairs));
            last_tick = last_tick.max(std::mem::take(&mut inner.last_tick));
        }
        let in_use = shards_for(limits.max_pairs);
        for (i, inner) in guards.iter_mut().enumerate() {
            inner.idle = limits.idle;
            if inner.coarse {
                inner.refresh_after = coarse_refresh(limits.idle);
            }
            inner.max_pairs = if i < in_use {
                share(limits.max_pairs, in_use, i)
            } else {
                0
            };
        }
        self.in_use.store(in_use, Ordering::Release);
        // Oldest first; ticks from different shards may be equal, so a merged shard
        // renumbers them to stay unique (by at most a few nanoseconds).
        all.sort_by_key(|(pair, slot)| (slot.tick, *pair));
        for (pair, mut slot) in all {
            let mix = (pair.0 ^ pair.1.rotate_left(32)) as usize;
            let inner = &mut guards[mix & (in_use - 1)];
            slot.tick = slot.tick.max(inner.last_tick.saturating_add(1));
            inner.last_tick = slot.tick;
            inner.pairs.insert(pair, slot);
            inner.lru.insert(slot.tick, pair);
        }
        for inner in &mut guards {
            // Later reads tick after every read so far, in whichever shard it was.
            inner.last_tick = inner.last_tick.max(last_tick);
            while inner.lru.len() > inner.max_pairs {
                inner.evict_oldest();
            }
        }
    }

    #[cfg(test)]
    fn pairs(&self) -> usize {
        (0..self.shards.len()).map(|i| self.lock(i).lru.len()).sum()
    }
}

impl ReadTracker {
    /// Counts one read and returns how many reads of `uri` `session` has made,
    /// this one included.
    pub(crate) fn record(&self, session: &str, uri: &str, now: Instant) -> u64 {
        let count = self.update(session, uri, now, |count| {
            count.map_or(1, |count| count.saturating_add(1))
        });
        u64::from(count)
    }
}

impl<V: Copy> Inner<V> {
    fn update(&mut self, pair: Pair, now: u64, next: impl FnOnce(Option<V>) -> V) -> V {
        self.expire(now);
        let tick = now.max(self.last_tick.saturating_add(1));
        self.last_tick = tick;
        let Inner { pairs, lru, .. } = self;
        if let Some(slot) = pairs.get_mut(&pair) {
            let last = slot.tick;
            if tick - last >= self.refresh_after {
                lru.remove(&last);
                lru.insert(tick, pair);
                slot.tick = tick;
            }
            let value = next(Some(slot.value));
            slot.value = value;
            return value;
        }
        let value = next(None);
        pairs.insert(pair, Slot { tick, value });
        lru.insert(tick, pair);
        while self.lru.len() > self.max_pairs {
            self.evict_oldest();
        }
        value
    }

    fn end(&mut self, session: u64) {
        let Inner { pairs, lru, .. } = self;
        let ended: Vec<(Pair, u64)> = pairs
            .range((session, 0)..=(session, u64::MAX))
            .map(|(pair, slot)| (*pair, slot.tick))
            .collect();
        for (pair, tick) in ended {
            pairs.remove(&pair);
            lru.remove(&tick);
        }
    }

    fn expire(&mut self, now: u64) {
        let idle = u64::try_from(self.idle.as_nanos()).unwrap_or(u64::MAX);
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

/// The process-wide tracker behind `mcp.resource.read_count`, for reads in a session.
pub(crate) fn global() -> &'static ReadTracker {
    static TRACKER: OnceLock<ReadTracker> = OnceLock::new();
    TRACKER.get_or_init(|| ReadTracker::new(ReadTrackerLimits::default()))
}

/// The tracker for reads counted per `_meta` trace (no session). Its own, with its own
/// cap: trace ids are the client's to make up, and a client making up one per read
/// must not push sessions' pairs out.
pub(crate) fn per_trace() -> &'static ReadTracker {
    static TRACKER: OnceLock<ReadTracker> = OnceLock::new();
    TRACKER.get_or_init(|| ReadTracker::new(ReadTrackerLimits::default()))
}

/// New limits for both trackers.
pub(crate) fn set_limits(limits: ReadTrackerLimits) {
    global().set_limits(limits);
    per_trace().set_limits(limits);
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

    // ---- shards -----------------------------------------------------------------------

    #[test]
    fn shard_count_follows_the_cap() {
        let cases = [(0, 1), (8, 1), (511, 1), (512, 2), (1_024, 4), (4_095, 8)];
        for (cap, shards) in cases.into_iter().chain([(4_096, 16), (100_000, 16)]) {
            assert_eq!(shards_for(cap), shards, "cap {cap}");
            let total: usize = (0..shards).map(|i| share(cap, shards, i)).sum();
            assert_eq!(total, cap, "shares of {cap} over {shards} shards");
        }
    }

    #[test]
    fn sharded_cap_holds_and_keeps_the_recent_pairs() {
        let t = tracker(4_096, 3_600);
        assert_eq!(t.in_use.load(Ordering::Relaxed), 16);
        let now = Instant::now();
        for page in 0..20_000 {
            t.record("s", &format!("docs://{page}"), now);
            // One pair read all along is never the oldest of its shard.
            t.record("s", "docs://hot", now);
        }
        assert!(t.pairs() <= 4_096, "{} pairs held", t.pairs());
        assert!(
            t.pairs() > 4_000,
            "shards fill evenly: {} pairs held",
            t.pairs()
        );
        assert_eq!(t.record("s", "docs://hot", now), 20_001);
        assert_eq!(t.record("s", "docs://19999", now), 2);
        t.end("s");
        assert_eq!(t.pairs(), 0);
    }

    #[test]
    fn new_limits_move_the_pairs_between_shards() {
        let t = tracker(8, 3_600);
        // Recency across shards is the read times' order: one microsecond apart.
        let start = Instant::now();
        let mut clock = 0;
        let mut now = || {
            clock += 1;
            start + Duration::from_micros(clock)
        };
        for page in 0..8 {
            t.record("s", &format!("docs://{page}"), now());
        }
        // One shard to sixteen: every pair and its count survive.
        t.set_limits(ReadTrackerLimits {
            max_pairs: 100_000,
            idle: Duration::from_secs(3_600),
        });
        assert_eq!(t.pairs(), 8);
        for page in 0..8 {
            assert_eq!(t.record("s", &format!("docs://{page}"), now()), 2);
        }
        // Back to one shard of four: the four most recently read pairs stay.
        t.set_limits(ReadTrackerLimits {
            max_pairs: 4,
            idle: Duration::from_secs(3_600),
        });
        assert_eq!(t.pairs(), 4);
        for page in 4..8 {
            assert_eq!(t.record("s", &format!("docs://{page}"), now()), 3);
        }
        assert_eq!(t.record("s", "docs://0", now()), 1);
    }

    #[test]
    fn reads_racing_new_limits_lose_nothing() {
        let t = tracker(8, 3_600);
        let reads = 20_000;
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 0..reads {
                    assert_eq!(t.record("s", "docs://a", Instant::now()), i + 1);
                }
            });
            s.spawn(|| {
                for i in 0..2_000 {
                    t.set_limits(ReadTrackerLimits {
                        max_pairs: if i % 2 == 0 { 100_000 } else { 8 },
                        idle: Duration::from_secs(3_600),
                    });
                }
            });
        });
        assert_eq!(t.pairs(), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// With sixteen shards and a cap that never binds, every read count is the
        /// model's (idle expiry and session ends included).
        #[test]
        fn sharded_counts_agree_with_the_model((_, idle_ms, ops) in scenario(300)) {
            let ops: Vec<Op> = ops
                .into_iter()
                .filter(|op| !matches!(op, Op::SetLimits { .. }))
                .collect();
            let t = ReadTracker::new(ReadTrackerLimits {
                max_pairs: 100_000,
                idle: Duration::from_millis(idle_ms),
            });
            prop_assert_eq!(t.in_use.load(Ordering::Relaxed), MAX_SHARDS);
            let start = Instant::now();
            let mut model = Model {
                max_pairs: 100_000,
                idle: Duration::from_millis(idle_ms),
                pairs: HashMap::new(),
                reads: 0,
            };
            let mut now = Duration::ZERO;
            for op in &ops {
                match *op {
                    Op::Read { session, uri } => {
                        let got = t.record(SESSIONS[session], URIS[uri], start + now);
                        prop_assert_eq!(got, model.record((session, uri), now), "{:?}", op);
                    }
                    Op::End { session } => {
                        t.end(SESSIONS[session]);
                        model.pairs.retain(|(s, _), _| *s != session);
                    }
                    Op::Advance(ms) => now += Duration::from_millis(ms),
                    Op::SetLimits { .. } => {}
                }
            }
        }
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

    #[test]
    fn a_coarse_tracker_reorders_a_pair_at_most_once_a_second() {
        let limits = ReadTrackerLimits {
            max_pairs: 2,
            idle: Duration::from_secs(10),
        };
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let uses = |t: &Tracker<u32>| {
            let bump =
                |name: &str, ms: u64| t.update("s", name, at(ms), |v| v.map_or(1, |v| v + 1));
            bump("a", 0);
            bump("b", 10);
            bump("a", 500);
            bump("c", 600); // evicts the least recently used
            bump("a", 700)
        };
        // Fine: `a` moved at 500 ms, so `b` was evicted and `a` is on its third use.
        assert_eq!(uses(&Tracker::new(limits)), 3);
        // Coarse: `a` kept its place at 0 ms (within a second), so it was evicted.
        let coarse = Tracker::coarse(limits);
        assert_eq!(uses(&coarse), 1);
        // A pair used every half second is never idle, though it moves only every
        // other use.
        let mut last = 0;
        for i in 1..=60 {
            last = coarse.update("s", "a", at(700 + i * 500), |v| v.map_or(1, |v| v + 1));
        }
        assert_eq!(last, 61);
        // With an idle time under a second, a pair used more often than it idles
        // still never expires.
        coarse.set_limits(ReadTrackerLimits {
            max_pairs: 2,
            idle: Duration::from_millis(400),
        });
        for i in 1..=20 {
            last = coarse.update("s", "a", at(30_700 + i * 300), |v| v.map_or(1, |v| v + 1));
        }
        assert_eq!(last, 81);
    }
}
