//! Memory of the duplicate-read tracker: measured per (session, URI) pair, released by
//! `session::end`, and bounded by the pair cap.
#![cfg(all(feature = "enable", feature = "read-tracking"))]
#![allow(unsafe_code)] // the counting allocator below; the library itself has none

use mcp_trace::session::{self, ReadTrackerLimits};
use mcp_trace::traced_resource;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

/// Net bytes currently allocated by the process.
static NET: AtomicIsize = AtomicIsize::new(0);

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        NET.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NET.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[traced_resource(uri = "docs://{page}")]
fn read(#[session] session: &str, page: u32) -> usize {
    let _ = session;
    page as usize
}

const SESSIONS: u32 = 20;
const PAGES: u32 = 1000;

fn read_all(tag: &str) {
    for s in 0..SESSIONS {
        let session = format!("{tag}-session-{s:02}");
        for page in 0..PAGES {
            read(&session, page);
        }
    }
}

#[test]
fn bytes_per_pair_are_measured_freed_and_bounded() {
    // Sampled out: spans are not recorded but reads are still tracked.
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOff)
        .build();
    opentelemetry::global::set_tracer_provider(provider);
    session::set_limits(ReadTrackerLimits {
        max_pairs: 1_000_000,
        idle: Duration::from_secs(3600),
    });
    read_all("warm-up");
    for s in 0..SESSIONS {
        session::end(&format!("warm-up-session-{s:02}"));
    }

    let before = NET.load(Ordering::SeqCst);
    read_all("measured");
    let grown = NET.load(Ordering::SeqCst) - before;
    let pairs = (SESSIONS * PAGES) as isize;
    let per_pair = grown / pairs;
    eprintln!("read tracker: {per_pair} bytes per (session, URI) pair (URIs of ~14 bytes)");
    assert!(per_pair > 0 && per_pair < 400, "{per_pair} bytes per pair");

    for s in 0..SESSIONS {
        session::end(&format!("measured-session-{s:02}"));
    }
    let left = NET.load(Ordering::SeqCst) - before;
    // Hash map capacity is kept for reuse; the pairs themselves are gone.
    assert!(
        left < grown / 2,
        "session::end released {grown} → {left} bytes"
    );

    session::set_limits(ReadTrackerLimits {
        max_pairs: 1000,
        idle: Duration::from_secs(3600),
    });
    let capped_before = NET.load(Ordering::SeqCst);
    read_all("capped");
    let capped = NET.load(Ordering::SeqCst) - capped_before;
    assert!(capped < 1000 * 400, "{capped} bytes with a 1000-pair cap");
}
