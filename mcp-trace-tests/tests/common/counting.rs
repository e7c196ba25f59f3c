//! A global allocator that counts: net bytes allocated now, and the most they reached
//! since [`reset_peak`]. A test binary opts in with
//! `#[global_allocator] static A: common::counting::Counting = common::counting::Counting;`.
#![allow(unsafe_code)] // a `GlobalAlloc` forwarding to the system allocator

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

pub static NET: AtomicIsize = AtomicIsize::new(0);
pub static PEAK: AtomicIsize = AtomicIsize::new(0);

pub struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let size = layout.size() as isize;
        let now = NET.fetch_add(size, Ordering::Relaxed) + size;
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NET.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Net bytes allocated now.
pub fn net() -> isize {
    NET.load(Ordering::SeqCst)
}

/// Starts a new peak from now; returns the current net bytes.
pub fn reset_peak() -> isize {
    let now = net();
    PEAK.store(now, Ordering::SeqCst);
    now
}

/// The most net bytes reached since the last [`reset_peak`].
pub fn peak() -> isize {
    PEAK.load(Ordering::SeqCst)
}
