//! Multi-round requests (MCP 2026-07-28, "MRTR"): a `tools/call`, `prompts/get` or
//! `resources/read` the server answers `input_required` is retried by the client, with
//! what the server asked for and the `requestState` the answer carried. The rounds are
//! one logical call.
//!
//! Every round is its own span. A round that answers `input_required` records its
//! number and `mcp.request.input_required`; a round that continues a call links to the
//! first round's span and records its number; the round that ends the call records how
//! many rounds it took and their whole duration. On `mcp.server.operation.duration`
//! the call counts once, when it ends, from the first round's start to the last
//! round's end (the client's time gathering the input included). A call the client
//! never continues counts once too, as given up (no `error.type`), when the table
//! below lets it go.
//!
//! Rounds are matched by the `requestState` the client echoes, never kept: the table
//! holds a digest of the method and the state (`requestState` may carry the server's
//! secrets). A round answered without a `requestState` cannot be matched: its retry
//! counts the call, with the retry's own duration.

use crate::keys;
use crate::scope::ActiveScope;
use opentelemetry::KeyValue;
use opentelemetry::trace::SpanContext;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// Most calls the process keeps waiting for their next round; past it, the one
/// waiting longest is let go (counted as given up). About 350 bytes each: 1.4 MB full.
pub(crate) const MAX_WAITING: usize = 4096;

/// How long a call waits for its next round: a person may be answering the question.
pub(crate) const WAIT: Duration = Duration::from_secs(30 * 60);

/// How often a new waiting call sweeps the table for calls past [`WAIT`].
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// What a request's scope knows of its round.
#[derive(Debug, Default)]
pub(crate) struct RoundState {
    /// When the request arrived (a first round's start, should it ask for input).
    arrived: OnceLock<SystemTime>,
    /// The call this request continues, if it is a later round. (Boxed, as is the
    /// parked round: every request's scope carries this state, few use it.)
    later: OnceLock<Box<Later>>,
    /// This round, answered `input_required`: kept until the adapter knows the state
    /// to match its retry by.
    parked: Mutex<Option<Box<Parked>>>,
}

/// A later round: the call's first round and where this one stands.
#[derive(Debug, Clone)]
pub(crate) struct Later {
    /// The first round's span (what this round links to).
    pub(crate) first: SpanContext,
    /// This round's number: 2 for the first retry.
    pub(crate) number: u32,
    /// The first round's start.
    pub(crate) started: SystemTime,
}

/// A call waiting for its next round. Dropped unclaimed (given up, or answered with
/// nothing to match a retry by), it records the call on the metric.
#[derive(Debug)]
pub(crate) struct Parked {
    first: SpanContext,
    /// Rounds so far.
    number: u32,
    started: SystemTime,
    /// The last round's end: where a given-up call ends.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    ended: SystemTime,
    #[cfg(feature = "metrics")]
    operation: Option<crate::metrics::Operation>,
}

impl Drop for Parked {
    fn drop(&mut self) {
        #[cfg(feature = "metrics")]
        if let Some(mut operation) = self.operation.take() {
            operation.record(self.ended, None, None);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RoundState {
    /// Whether the request may be a round of a multi-round call (an adapter noted its
    /// arrival): its span's start is then read, to be the call's.
    #[inline]
    pub(crate) fn may_ask(&self) -> bool {
        self.arrived.get().is_some()
    }

    /// The call this request continues, if it is a later round.
    #[inline]
    pub(crate) fn later(&self) -> Option<&Later> {
        self.later.get().map(|later| &**later)
    }
}

/// Notes that a request of `method` arrived in `scope` at `start`, with the
/// `requestState` `state` when it is a retry: a retry of a call waiting here becomes
/// its next round.
pub(crate) fn arrive(scope: &ActiveScope, method: &str, state: Option<&str>, start: SystemTime) {
    let rounds = &scope.rounds;
    let _ = rounds.arrived.set(start);
    let Some(state) = state else { return };
    let key = key(method, state);
    let mut gone = Vec::new();
    let taken = {
        let mut table = lock(table());
        table.sweep(Instant::now(), &mut gone);
        table.waiting.remove(&key)
    };
    // Calls given up record their metric outside the lock.
    drop(gone);
    let Some(mut waiting) = taken else {
        return;
    };
    let parked = &mut waiting.parked;
    // Counted by the round that ends the call, not as given up.
    #[cfg(feature = "metrics")]
    {
        parked.operation = None;
    }
    let _ = rounds.later.set(Box::new(Later {
        first: parked.first.clone(),
        number: parked.number.saturating_add(1),
        started: parked.started,
    }));
}

/// What a round's span records as it ends in `scope` (`span`: its context, started at
/// `start`), and what
/// happens to its metric record: a round that asks for input (`input_required`) is
/// parked in the scope instead of recorded; the round that ends a call is recorded
/// from the first round's start.
pub(crate) fn finishing(
    scope: &ActiveScope,
    span: &SpanContext,
    input_required: bool,
    start: Option<SystemTime>,
    end: Option<SystemTime>,
    #[cfg(feature = "metrics")] metric: &mut Option<crate::metrics::Operation>,
    attrs: &mut Vec<KeyValue>,
) {
    let rounds = &scope.rounds;
    let later = rounds.later();
    if input_required {
        let number = later.map_or(1, |l| l.number);
        // A later round has its number from its start; the first learns it is one now.
        if later.is_none() {
            attrs.push(KeyValue::new(keys::REQUEST_ROUND, 1));
        }
        attrs.push(KeyValue::new(keys::REQUEST_INPUT_REQUIRED, true));
        let end = end.unwrap_or_else(SystemTime::now);
        // The first round's start: its span's own (read for that, see `may_ask`), else
        // the request's arrival.
        let parked = Parked {
            first: later.map_or_else(|| span.clone(), |l| l.first.clone()),
            number,
            started: later
                .map(|l| l.started)
                .or(start)
                .or_else(|| rounds.arrived.get().copied())
                .unwrap_or(end),
            ended: end,
            #[cfg(feature = "metrics")]
            operation: metric.take().map(|mut operation| {
                if let Some(l) = later {
                    operation.restart(l.started);
                }
                operation
            }),
        };
        let replaced = lock(&rounds.parked).replace(Box::new(parked));
        drop(replaced);
    } else if let Some(later) = later {
        attrs.push(KeyValue::new(keys::REQUEST_ROUNDS, i64::from(later.number)));
        if let Some(end) = end {
            let seconds = end
                .duration_since(later.started)
                .map_or(0.0, |d| d.as_secs_f64());
            attrs.push(KeyValue::new(keys::REQUEST_ROUNDS_DURATION, seconds));
        }
        #[cfg(feature = "metrics")]
        if let Some(operation) = metric.as_mut() {
            operation.restart(later.started);
        }
    }
}

/// The request of `method` in `scope` answered, `input_required` with the
/// `requestState` `state` if it did: the round waits for its retry.
pub(crate) fn answered(scope: &ActiveScope, method: &str, state: Option<&str>) {
    let Some(parked) = lock(&scope.rounds.parked).take() else {
        return;
    };
    let Some(state) = state else {
        // Nothing to match the retry by: the retry counts the call (with its own
        // duration), this round not at all, so the call is not counted twice.
        #[cfg(feature = "metrics")]
        {
            let mut parked = parked;
            parked.operation = None;
        }
        return;
    };
    let key = key(method, state);
    let now = Instant::now();
    let mut gone = Vec::new();
    {
        let mut table = lock(table());
        table.sweep(now, &mut gone);
        let waiting = Waiting {
            parked: *parked,
            touched: now,
        };
        if let Some(old) = table.waiting.insert(key, waiting) {
            gone.push(old);
        }
    }
    // Given-up calls record their metric outside the lock.
    drop(gone);
}

/// A call waiting in the table, and since when.
#[derive(Debug)]
struct Waiting {
    parked: Parked,
    touched: Instant,
}

#[derive(Debug, Default)]
struct Table {
    waiting: HashMap<[u8; 16], Waiting>,
    swept: Option<Instant>,
}

impl Table {
    /// Lets go of the calls past [`WAIT`] (at most once a [`SWEEP_EVERY`]) and, when
    /// full, of the one waiting longest, into `gone`.
    fn sweep(&mut self, now: Instant, gone: &mut Vec<Waiting>) {
        let due = self
            .swept
            .is_none_or(|swept| now.duration_since(swept) >= SWEEP_EVERY);
        if due {
            self.swept = Some(now);
            let expired: Vec<[u8; 16]> = self
                .waiting
                .iter()
                .filter(|(_, w)| now.duration_since(w.touched) >= WAIT)
                .map(|(key, _)| *key)
                .collect();
            gone.extend(expired.iter().filter_map(|key| self.waiting.remove(key)));
        }
        if self.waiting.len() >= MAX_WAITING
            && let Some(oldest) = self
                .waiting
                .iter()
                .min_by_key(|(_, w)| w.touched)
                .map(|(key, _)| *key)
        {
            gone.extend(self.waiting.remove(&oldest));
        }
    }
}

/// Lets go of every waiting call (the process is stopping): each counts as given up.
pub(crate) fn drain() {
    let gone: Vec<Waiting> = lock(table()).waiting.drain().map(|(_, w)| w).collect();
    drop(gone);
}

fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

/// 128 bits of SHA-256 over the method and the state: what the table keeps of them.
fn key(method: &str, state: &str) -> [u8; 16] {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(state.as_bytes());
    let digest = hasher.finalize();
    let mut key = [0; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_entry_is_small() {
        // What the table's bound costs: key, entry and the hash map's control byte
        // (337 bytes on x86_64 with every feature; the README says "about 350").
        // Beyond it, on the heap: the tool's name (bounded) and the first round's
        // `tracestate` (bounded as every `tracestate` we read).
        let entry = std::mem::size_of::<([u8; 16], Waiting)>() + 1;
        assert!(entry <= 352, "{entry} bytes a waiting call");
    }

    #[test]
    fn the_method_is_part_of_the_key() {
        assert_ne!(key("tools/call", "s"), key("prompts/get", "s"));
        assert_ne!(key("tools/call", "s"), key("tools/cal", "ls"));
        assert_eq!(key("tools/call", "s"), key("tools/call", "s"));
    }

    #[test]
    fn the_table_lets_go_of_the_longest_waiting_when_full() {
        let mut table = Table::default();
        let start = Instant::now();
        let parked = || Parked {
            first: SpanContext::empty_context(),
            number: 1,
            started: SystemTime::UNIX_EPOCH,
            ended: SystemTime::UNIX_EPOCH,
            #[cfg(feature = "metrics")]
            operation: None,
        };
        for i in 0..MAX_WAITING {
            let touched = start + Duration::from_millis(i as u64);
            let key = key("tools/call", &i.to_string());
            table.waiting.insert(
                key,
                Waiting {
                    parked: parked(),
                    touched,
                },
            );
        }
        let mut gone = Vec::new();
        table.sweep(start + Duration::from_secs(1), &mut gone);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].touched, start);
        assert_eq!(table.waiting.len(), MAX_WAITING - 1);
        // Past the wait, every call goes (the sweep is due again a minute later).
        table.sweep(start + WAIT + SWEEP_EVERY, &mut gone);
        assert!(table.waiting.is_empty());
    }
}
