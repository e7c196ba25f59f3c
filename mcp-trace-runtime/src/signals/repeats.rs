//! Runs of identical tool calls: an agent calling one tool with the same arguments
//! again and again (a retry loop, or a cache it lacks). Per scope (a session, else the
//! `_meta` trace, as reads are scoped) and per tool, the hash of the tool's last
//! arguments and how many calls in a row had it; a call of another tool in between
//! does not break a run. Kept in the read tracker's bounded map (its cap on pairs, its
//! idle expiry, its sharding), one pair per (scope, tool): neither the scope nor the
//! tool name nor the hash is kept, only 64-bit digests of them.

use super::tracker::{ReadTrackerLimits, Tracker};
use std::hash::BuildHasher;
use std::sync::OnceLock;
use std::time::Instant;

/// A tool's last call in a scope: a digest of its arguments' hash, and how many calls
/// in a row (that one included) had it. 12 bytes, packed as the read tracker's counts.
#[derive(Debug, Clone, Copy)]
#[repr(C, packed(4))]
pub(crate) struct Run {
    hash: u64,
    length: u32,
}

impl Run {
    /// The run a call makes after `last`, the previous call in the same scope of the
    /// tool it is counted under (if it is remembered). `call`: what tells identical
    /// calls apart. `continues`: the request is a later round of a multi-round call
    /// (2026-07-28), the same call as its first round rather than a repeat of it, so
    /// the run stays where it is.
    pub(crate) fn after(last: Option<Run>, call: Call<'_>, continues: bool) -> Run {
        let hash = call.digest();
        match last {
            Some(last) if continues && { last.hash } == hash => last,
            Some(last) if { last.hash } == hash => Run {
                hash,
                length: { last.length }.saturating_add(1),
            },
            _ => Run { hash, length: 1 },
        }
    }

    /// The call's place in its run (≥ 1).
    pub(crate) fn length(self) -> u32 {
        self.length
    }
}

/// A call as runs compare calls: its arguments' hash and, for a tool counted under
/// `_OTHER` (one the server does not list), the name it was called by, so that calls
/// of different unknown names with the same arguments are not one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    pub(crate) hash: &'a str,
    pub(crate) alias: Option<&'a str>,
}

impl Call<'_> {
    fn digest(self) -> u64 {
        let hash = digest(self.hash);
        match self.alias {
            None => hash,
            Some(alias) => hash ^ keys().hash_one(alias),
        }
    }
}

/// The keys of the digests of what is not 16 hex digits, drawn per process.
fn keys() -> &'static std::collections::hash_map::RandomState {
    static KEYS: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    KEYS.get_or_init(Default::default)
}

/// What a run is counted within.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    Session(&'a str),
    /// One trace, named by the request's `_meta`, when there is no session.
    Trace(opentelemetry::trace::TraceId),
}

fn sessions() -> &'static Tracker<Run> {
    static TRACKER: OnceLock<Tracker<Run>> = OnceLock::new();
    TRACKER.get_or_init(|| Tracker::coarse(ReadTrackerLimits::default()))
}

/// Its own, as the read tracker's traces have: trace ids are the client's to make up.
fn traces() -> &'static Tracker<Run> {
    static TRACKER: OnceLock<Tracker<Run>> = OnceLock::new();
    TRACKER.get_or_init(|| Tracker::coarse(ReadTrackerLimits::default()))
}

/// The digest of a hash's text: the value of its 16 hex digits (what the library
/// writes), else a keyed digest of the text.
fn digest(hash: &str) -> u64 {
    hex_value(hash).unwrap_or_else(|| keys().hash_one(hash))
}

/// The value of 16 lowercase hex digits (`from_str_radix` costs three times as much,
/// on every tool call).
fn hex_value(text: &str) -> Option<u64> {
    let bytes: &[u8; 16] = text.as_bytes().try_into().ok()?;
    let mut value = 0u64;
    for &byte in bytes {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            _ => return None,
        };
        value = value << 4 | u64::from(digit);
    }
    Some(value)
}

/// A call counted under `tool`: its place in the run of identical calls of `tool` in
/// `scope` (1 when the tool's last call there differed). `continues`: a later round of
/// a multi-round call (see [`Run::after`]).
pub(crate) fn run(scope: Scope<'_>, tool: &str, call: Call<'_>, continues: bool) -> u32 {
    let next = |last: Option<Run>| Run::after(last, call, continues);
    let now = Instant::now();
    let run = match scope {
        Scope::Session(session) => sessions().update(session, tool, now, next),
        Scope::Trace(trace) => traces().update(&trace.to_string(), tool, now, next),
    };
    run.length()
}

/// Forgets the runs of `session` (it ended).
pub(crate) fn end(session: &str) {
    sessions().end(session);
}

/// New limits for both trackers, the read tracker's.
pub(crate) fn set_limits(limits: ReadTrackerLimits) {
    sessions().set_limits(limits);
    traces().set_limits(limits);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(hash: &str) -> Call<'_> {
        Call { hash, alias: None }
    }

    #[test]
    fn unknown_names_are_told_apart_in_their_shared_entry() {
        let s = Scope::Session("runs-test-aliases");
        let as_other = |alias| Call {
            hash: "0000000000000001",
            alias: Some(alias),
        };
        let runs: Vec<u32> = ["foo", "bar", "bar", "foo"]
            .into_iter()
            .map(|alias| run(s, "_OTHER", as_other(alias), false))
            .collect();
        assert_eq!(runs, [1, 1, 2, 1]);
    }

    #[test]
    fn hashes_are_kept_as_their_value() {
        assert_eq!(hex_value("00000000000000ff"), Some(255));
        assert_eq!(hex_value("ffffffffffffffff"), Some(u64::MAX));
        // Not what the library writes: digested instead, consistently.
        assert_eq!(hex_value("00000000000000FF"), None);
        assert_eq!(hex_value("ff"), None);
        assert_eq!(hex_value("00000000000000ffé"), None);
        assert_eq!(digest("not hex"), digest("not hex"));
        assert_ne!(digest("not hex"), digest("not hex either"));
    }

    #[test]
    fn runs_count_identical_calls_of_a_tool_whatever_comes_between() {
        let s = Scope::Session("runs-test");
        // A, A, other tool, A, A, B, A, A (B: other arguments).
        let calls = [
            ("a", "0000000000000001"),
            ("a", "0000000000000001"),
            ("other", "00000000000000ff"),
            ("a", "0000000000000001"),
            ("a", "0000000000000001"),
            ("a", "0000000000000002"),
            ("a", "0000000000000001"),
            ("a", "0000000000000001"),
        ];
        let runs: Vec<u32> = calls
            .iter()
            .map(|(tool, hash)| run(s, tool, plain(hash), false))
            .collect();
        assert_eq!(runs, [1, 2, 1, 3, 4, 1, 1, 2]);
        // Sessions and traces keep runs of their own.
        assert_eq!(
            run(
                Scope::Session("runs-test-2"),
                "a",
                plain("0000000000000001"),
                false
            ),
            1
        );
        let trace = opentelemetry::trace::TraceId::from_bytes([7; 16]);
        assert_eq!(
            run(Scope::Trace(trace), "a", plain("0000000000000001"), false),
            1
        );
        assert_eq!(
            run(Scope::Trace(trace), "a", plain("0000000000000001"), false),
            2
        );
        // A later round of a multi-round call is the same call: no new place.
        assert_eq!(
            run(Scope::Trace(trace), "a", plain("0000000000000001"), true),
            2
        );
        end("runs-test");
        assert_eq!(run(s, "a", plain("0000000000000001"), false), 1);
    }
}
