//! Counts per time slot, and the windows over them. A window is
//! [`SLOTS_PER_WINDOW`](crate::settings::SLOTS_PER_WINDOW) consecutive slots and
//! slides by one: memory grows with the slots that saw a call, never with the spans,
//! and only windows holding at least one call are visited, however far apart the
//! timestamps (a file with a span at 1970 and one at 2262 costs two slots, not a
//! century of them).

use std::collections::BTreeMap;

/// Counts that add up over the slots of a window.
pub trait Counts: Default + Clone {
    fn merge(&mut self, other: &Self);

    /// The first start and the last end of the calls counted, if any: what an alert
    /// over these counts spans.
    fn extent(&self) -> Option<(u64, u64)> {
        None
    }
}

/// The first start and last end of the calls in some counts; empty until one is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub first_ns: u64,
    pub last_ns: u64,
}

impl Default for Extent {
    fn default() -> Self {
        Self {
            first_ns: u64::MAX,
            last_ns: 0,
        }
    }
}

impl Extent {
    pub fn of(start_ns: u64, end_ns: u64) -> Self {
        Self {
            first_ns: start_ns,
            last_ns: end_ns,
        }
    }

    pub fn merge(&mut self, other: &Extent) {
        self.first_ns = self.first_ns.min(other.first_ns);
        self.last_ns = self.last_ns.max(other.last_ns);
    }

    pub fn get(&self) -> Option<(u64, u64)> {
        (self.first_ns <= self.last_ns).then_some((self.first_ns, self.last_ns))
    }
}

/// One series of counts, keyed by slot.
#[derive(Debug, Clone)]
pub struct Slots<C> {
    slots: BTreeMap<u64, C>,
}

impl<C> Default for Slots<C> {
    fn default() -> Self {
        Self {
            slots: BTreeMap::new(),
        }
    }
}

impl<C: Counts> Slots<C> {
    /// The counts of one slot, to add to.
    pub fn at(&mut self, slot: u64) -> &mut C {
        self.slots.entry(slot).or_default()
    }

    /// The slots that saw something, in time order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &C)> {
        self.slots.iter().map(|(slot, c)| (*slot, c))
    }

    /// The counts of the slots from `first` to `last`, both included.
    pub fn sum(&self, first: u64, last: u64) -> C {
        let mut total = C::default();
        if first <= last {
            for c in self.slots.range(first..=last).map(|(_, c)| c) {
                total.merge(c);
            }
        }
        total
    }

    /// Every window of `width` slots that holds at least one slot with counts, as the
    /// window's first slot and its counts, in time order; made one at a time.
    pub fn windows(&self, width: u64) -> impl Iterator<Item = (u64, C)> + '_ {
        let width = width.max(1);
        let mut slots = self.slots.keys().copied();
        // The windows still to visit for the current slot: first slots `next..=last`.
        let mut pending: Option<(u64, u64)> = None;
        let mut next_first = 0u64;
        std::iter::from_fn(move || {
            loop {
                if let Some((first, last)) = pending {
                    pending = (first < last).then(|| (first + 1, last));
                    return Some((first, self.sum(first, first.saturating_add(width - 1))));
                }
                let slot = slots.next()?;
                // The windows whose first slot lies in [slot - width + 1, slot] hold
                // `slot`; those already visited for an earlier slot are skipped.
                let from = slot.saturating_sub(width - 1).max(next_first);
                next_first = slot.saturating_add(1);
                if from <= slot {
                    pending = Some((from, slot));
                }
            }
        })
    }

    /// Consecutive windows of `width` slots that do not overlap (the first starting at
    /// a multiple of `width`), for the rate over time: the first slot and the counts of
    /// each window that saw something.
    pub fn tumbling(&self, width: u64) -> Vec<(u64, C)> {
        let width = width.max(1);
        let mut out: Vec<(u64, C)> = Vec::new();
        for (&slot, counts) in &self.slots {
            let first = slot - slot % width;
            match out.last_mut() {
                Some((last, total)) if *last == first => total.merge(counts),
                _ => out.push((first, counts.clone())),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Counts for u64 {
        fn merge(&mut self, other: &Self) {
            *self += other;
        }
    }

    fn slots(pairs: &[(u64, u64)]) -> Slots<u64> {
        let mut s = Slots::default();
        for &(slot, n) in pairs {
            *s.at(slot) += n;
        }
        s
    }

    #[test]
    fn sliding_windows_visit_only_windows_with_counts() {
        let s = slots(&[(10, 1), (12, 2), (40, 5)]);
        let windows: Vec<_> = s.windows(3).collect();
        assert_eq!(
            windows,
            vec![
                (8, 1),
                (9, 1),
                (10, 3),
                (11, 2),
                (12, 2),
                (38, 5),
                (39, 5),
                (40, 5)
            ]
        );
    }

    #[test]
    fn far_apart_timestamps_cost_nothing() {
        let s = slots(&[(0, 1), (u64::MAX, 1)]);
        let windows: Vec<_> = s.windows(5).collect();
        assert_eq!(windows.len(), 6);
        assert_eq!(windows[0], (0, 1));
        assert_eq!(windows.last(), Some(&(u64::MAX, 1)));
    }

    #[test]
    fn tumbling_windows_group_aligned_slots() {
        let s = slots(&[(3, 1), (4, 1), (5, 1), (11, 2)]);
        assert_eq!(s.tumbling(5), vec![(0, 2), (5, 1), (10, 2)]);
        assert_eq!(s.sum(3, 5), 3);
        assert_eq!(s.sum(6, 5), 0);
    }
}
