//! Signals: those the proxy or the probe receives (SIGTERM, SIGINT, SIGHUP) are noted
//! and passed on to the server's process group, and the server's group is asked to go
//! or ended. The only unsafe code of the crate: two system calls, `sigaction` with a
//! handler that sets a bit in an atomic (async-signal-safe), and `kill` of the process
//! group made for the server.

#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(not(unix))]
pub(crate) use other::*;

#[cfg(unix)]
#[allow(unsafe_code)]
mod unix {
    use std::sync::atomic::{AtomicU32, Ordering};

    const FORWARDED: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

    /// The signals received and not yet passed on, one bit each (by place in
    /// [`FORWARDED`]).
    static PENDING: AtomicU32 = AtomicU32::new(0);

    extern "C" fn note(signal: libc::c_int) {
        if let Some(bit) = FORWARDED.iter().position(|s| *s == signal) {
            PENDING.fetch_or(1 << bit, Ordering::SeqCst);
        }
    }

    /// From now on, SIGTERM, SIGINT and SIGHUP are noted instead of ending the proxy.
    pub(crate) fn forward_from_now() {
        for signal in FORWARDED {
            // SAFETY: a zeroed `sigaction` is a valid empty one; `note` only updates
            // an atomic, which is async-signal-safe; SA_RESTART keeps the relay's reads
            // and writes from failing with EINTR.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = note as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    }

    /// Passes on the signals received since the last call; whether there were any.
    pub(crate) fn forward_pending(child: u32) -> bool {
        let pending = PENDING.swap(0, Ordering::SeqCst);
        for (bit, signal) in FORWARDED.iter().enumerate() {
            if pending & (1 << bit) != 0 {
                send(child, *signal);
            }
        }
        pending != 0
    }

    /// Whether a signal was received (and not yet passed on).
    pub(crate) fn received() -> bool {
        PENDING.load(Ordering::SeqCst) != 0
    }

    /// Asks the server to go.
    pub(crate) fn terminate(child: u32) {
        send(child, libc::SIGTERM);
    }

    /// Ends what the server started, with it.
    pub(crate) fn kill(child: u32) {
        send(child, libc::SIGKILL);
    }

    /// `signal` to the server's process group (its id is the server's).
    fn send(child: u32, signal: libc::c_int) {
        if let Ok(group) = libc::pid_t::try_from(child) {
            // SAFETY: a plain system call on the process group made for the server.
            unsafe {
                libc::kill(-group, signal);
            }
        }
    }
}

#[cfg(not(unix))]
mod other {
    pub(crate) fn forward_from_now() {}
    pub(crate) fn forward_pending(_child: u32) -> bool {
        false
    }
    pub(crate) fn received() -> bool {
        false
    }
    pub(crate) fn terminate(_child: u32) {}
    pub(crate) fn kill(_child: u32) {}
}
