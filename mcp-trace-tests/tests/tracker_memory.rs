//! Memory of the duplicate-read tracker: a fixed number of bytes per (session, URI) pair
//! whatever the URI's length, released by `session::end`, and bounded by the pair cap
//! however many sessions and reads arrive.
//!
//! The long variants (`--ignored`) replay the figures: 1 500 distinct 4 MB URIs,
//! and 1 M sessions making 10 M reads.
#![cfg(all(feature = "enable", feature = "read-tracking"))]

mod common;

use common::counting::{Counting, net};
use mcp_trace::session;
use mcp_trace::traced_resource;
use opentelemetry_sdk::trace::Sampler;
use std::sync::MutexGuard;

/// The target of the reliability work: bytes one remembered pair may cost.
const MAX_BYTES_PER_PAIR: isize = 96;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[traced_resource(uri = "docs://{page}")]
fn read(#[session] session: &str, page: u32) -> usize {
    let _ = session;
    page as usize
}

#[traced_resource(uri = "blob://{key}")]
fn read_blob(#[session] session: &str, key: &str) -> usize {
    let _ = session;
    key.len()
}

/// One test at a time, with spans sampled out (reads are tracked whether or not the
/// span records).
fn exclusive(max_pairs: usize) -> MutexGuard<'static, ()> {
    common::trackers::exclusive(Sampler::AlwaysOff, max_pairs)
}

fn read_pages(tag: &str, sessions: u32, pages: u32) {
    for s in 0..sessions {
        let session = format!("{tag}-session-{s:02}");
        for page in 0..pages {
            read(&session, page);
        }
    }
}

fn end_sessions(tag: &str, sessions: u32) {
    for s in 0..sessions {
        session::end(&format!("{tag}-session-{s:02}"));
    }
}

#[test]
fn short_uris_cost_a_fixed_size_freed_on_end() {
    let _one = exclusive(1_000_000);
    const SESSIONS: u32 = 20;
    const PAGES: u32 = 1000;
    read_pages("warm-up", SESSIONS, PAGES);
    end_sessions("warm-up", SESSIONS);

    let before = net();
    read_pages("measured", SESSIONS, PAGES);
    let grown = net() - before;
    let per_pair = grown / (SESSIONS * PAGES) as isize;
    eprintln!("read tracker: {per_pair} bytes per (session, URI) pair (URIs of ~14 bytes)");
    assert!(
        per_pair > 0 && per_pair <= MAX_BYTES_PER_PAIR,
        "{per_pair} bytes per pair"
    );

    end_sessions("measured", SESSIONS);
    let left = net() - before;
    // The maps' emptied root nodes may stay; the pairs themselves are gone.
    assert!(
        left < grown / 100,
        "session::end released {grown} → {left} bytes still held"
    );
}

/// Reads `count` distinct URIs of `len` bytes in one session; returns bytes per pair.
fn long_uri_bytes_per_pair(len: usize, count: usize) -> isize {
    let mut key = "k".repeat(len);
    let before = net();
    for i in 0..count {
        // Distinct URIs, same length: rewrite the first digits in place.
        let digits = format!("{i:08}");
        key.replace_range(..digits.len(), &digits);
        read_blob("long-uris", &key);
    }
    let grown = net() - before;
    session::end("long-uris");
    grown / count as isize
}

#[test]
fn long_uris_cost_the_same_as_short_ones() {
    let _one = exclusive(1_000_000);
    // Enough pairs that each of the tracker's 16 shards holds hundreds: the shards'
    // fixed cost is not a per-pair cost.
    long_uri_bytes_per_pair(16 * 1024, 1000); // warm-up
    let per_pair = long_uri_bytes_per_pair(16 * 1024, 8000);
    eprintln!("read tracker: {per_pair} bytes per pair with 16 KiB URIs");
    assert!(per_pair <= MAX_BYTES_PER_PAIR, "{per_pair} bytes per pair");
}

#[test]
#[ignore = "long: 1 500 distinct 4 MB URIs (6 GB of URI text hashed); run with --ignored"]
fn four_megabyte_uris_cost_the_same_as_short_ones() {
    let _one = exclusive(1_000_000);
    long_uri_bytes_per_pair(4 << 20, 20); // warm-up
    let per_pair = long_uri_bytes_per_pair(4 << 20, 1500);
    eprintln!("read tracker: {per_pair} bytes per pair with 4 MB URIs");
    assert!(per_pair <= MAX_BYTES_PER_PAIR, "{per_pair} bytes per pair");
}

/// `sessions` sessions make `reads` reads in total at a cap of `cap` pairs: the memory
/// held afterwards stays within the cap's worth of pairs.
fn flood(sessions: u32, reads: u32, cap: usize) {
    let _one = exclusive(cap);
    read_pages("flood-warm-up", 1, cap as u32); // fill to the cap once
    let before = net();
    let per_session = reads / sessions;
    for s in 0..sessions {
        let session = format!("flood-{s}");
        for page in 0..per_session {
            read(&session, page);
        }
    }
    let held = net() - before;
    eprintln!(
        "read tracker: {sessions} sessions, {reads} reads, cap {cap}: {held} bytes more than at the cap"
    );
    // Already full before the flood: what it holds after is the same cap's worth.
    assert!(
        held <= cap as isize * MAX_BYTES_PER_PAIR / 4,
        "{held} bytes more after the flood than at the cap"
    );
}

#[test]
fn a_flood_of_sessions_stays_under_the_cap() {
    flood(10_000, 100_000, 1000);
}

#[test]
#[ignore = "long: 1 M sessions and 10 M reads; run with --ignored (best in release)"]
fn a_million_sessions_stay_under_the_cap() {
    flood(1_000_000, 10_000_000, 10_000);
}
