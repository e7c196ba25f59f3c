//! Memory of the runs of identical tool calls (`mcp.tool.call.repeat_run`): one entry
//! per (session, tool) whatever the arguments, a fixed number of bytes each, released
//! by `session::end`, and bounded by the read tracker's cap however many sessions
//! arrive. Spans record (the runs are counted as the span is built) and go nowhere.
//!
//! Figures on this project's machine (debug build): 104 bytes per (session, tool)
//! entry with 10 000 sessions (maps' spare capacity included); a million distinct
//! argument hashes in one session hold 0 to 1 091 bytes more than the first call did
//! (the process's own bookkeeping; an entry per hash would be 100 MB), in about 10 s
//! of a debug build; 10 000 sessions at a cap of 1 000 hold 5 385 bytes more than the
//! full cap did.
#![cfg(all(feature = "enable", feature = "args-hash"))]

mod common;

use common::counting::{Counting, net};
use mcp_trace::session;
use mcp_trace::traced_tool;
use opentelemetry_sdk::trace::Sampler;
use std::sync::MutexGuard;

/// Bytes one remembered (session, tool) entry may cost: the read tracker's pair and the
/// 8 more bytes of the hash's digest.
const MAX_BYTES_PER_ENTRY: isize = 112;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[traced_tool]
fn lookup(#[session] session: &str, query: u64) -> u64 {
    let _ = session;
    query
}

/// One test at a time, with spans that record (runs are counted as the span is
/// built) and go nowhere.
fn exclusive(max_pairs: usize) -> MutexGuard<'static, ()> {
    common::trackers::exclusive(Sampler::AlwaysOn, max_pairs)
}

/// `calls` calls in one session, each with arguments never sent before: the bytes held
/// afterwards beyond what the first call left.
fn distinct_hashes(calls: u64) -> isize {
    let _one = exclusive(100_000);
    lookup("distinct-warm-up", 0);
    lookup("distinct", 0);
    let before = net();
    for query in 1..calls {
        lookup("distinct", query);
    }
    let held = net() - before;
    eprintln!("runs: {calls} distinct argument hashes in one session hold {held} bytes more");
    session::end("distinct");
    held
}

#[test]
fn a_million_distinct_hashes_hold_one_entry() {
    let held = distinct_hashes(1_000_000);
    // One entry per distinct hash would be a hundred megabytes; what moves is the
    // process's own bookkeeping (a kilobyte at most was seen).
    assert!(
        held < 16 * 1024,
        "{held} bytes more after a million distinct hashes"
    );
}

fn call_in_sessions(tag: &str, sessions: u32) {
    for s in 0..sessions {
        lookup(&format!("{tag}-{s}"), 7);
    }
}

fn end_sessions(tag: &str, sessions: u32) {
    for s in 0..sessions {
        session::end(&format!("{tag}-{s}"));
    }
}

#[test]
fn ten_thousand_sessions_cost_a_fixed_size_each_freed_on_end() {
    let _one = exclusive(1_000_000);
    const SESSIONS: u32 = 10_000;
    call_in_sessions("warm-up", SESSIONS);
    end_sessions("warm-up", SESSIONS);
    let before = net();
    call_in_sessions("measured", SESSIONS);
    let grown = net() - before;
    let per_entry = grown / SESSIONS as isize;
    eprintln!("runs: {per_entry} bytes per (session, tool) entry");
    assert!(
        per_entry > 0 && per_entry <= MAX_BYTES_PER_ENTRY,
        "{per_entry} bytes per entry"
    );
    end_sessions("measured", SESSIONS);
    let left = net() - before;
    assert!(
        left < grown / 100,
        "session::end released {grown} → {left} bytes still held"
    );
}

#[test]
fn a_flood_of_sessions_stays_under_the_cap() {
    const CAP: usize = 1000;
    let _one = exclusive(CAP);
    call_in_sessions("flood-warm-up", CAP as u32); // full once
    let before = net();
    call_in_sessions("flood", 10_000);
    let held = net() - before;
    eprintln!("runs: 10 000 sessions at a cap of {CAP}: {held} bytes more than at the cap");
    assert!(
        held <= CAP as isize * MAX_BYTES_PER_ENTRY / 4,
        "{held} bytes more after the flood than at the cap"
    );
}
