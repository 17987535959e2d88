//! Per-channel value counts of a median-cut box.
//!
//! A box's pixel count, sums, sums of squares and value range per channel
//! all follow from how many pixels take each value of each channel (the
//! box's marginals), and so does its weighted median. Marginals also
//! subtract exactly: after a split, counting the lower side gives the upper
//! side as parent − lower, so one partitioning pass measures both halves.

use rayon::prelude::*;

use super::{first_reaching_half, Entry, Stats};

/// Entries per parallel task when counting a large box.
const COUNT_CHUNK: usize = 1 << 16;

/// Pixels per value of each channel, for values within a fixed range per
/// channel (unused channels hold the single value 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Marginals {
    /// Value of each channel's first bin.
    lo: [u16; 4],
    /// Channel `c`'s bins are `bins[starts[c]..starts[c + 1]]`.
    starts: [usize; 5],
    /// The channels [`Self::count`] counts: those with more than one value.
    /// A single-valued channel's one bin is the total, filled in by
    /// [`Self::finish`]; counting it would also chain every increment
    /// through one memory cell.
    counted: [usize; 4],
    n_counted: usize,
    /// The bins (`starts[4]` of them), then as many shadow bins: [`Self::count`]
    /// adds alternate entries to the shadow copy so that runs of equal values
    /// (sorted colours) do not chain every increment through one memory
    /// cell. [`Self::finish`] folds the shadow copy in.
    bins: Vec<u64>,
}

impl Marginals {
    /// Bins a box with per-channel ranges `lo..=hi` needs.
    pub(super) fn bins_for(stats: &Stats) -> usize {
        (0..4)
            .map(|c| usize::from(stats.hi[c].saturating_sub(stats.lo[c])) + 1)
            .sum()
    }

    /// Empty marginals for values within `stats`' ranges.
    pub(super) fn zeroed(stats: &Stats) -> Self {
        let mut starts = [0usize; 5];
        let (mut counted, mut n_counted) = ([0usize; 4], 0);
        for c in 0..4 {
            let span = usize::from(stats.hi[c].saturating_sub(stats.lo[c])) + 1;
            starts[c + 1] = starts[c] + span;
            if span > 1 {
                counted[n_counted] = c;
                n_counted += 1;
            }
        }
        Self {
            lo: stats.lo,
            starts,
            counted,
            n_counted,
            bins: vec![0; 2 * starts[4]],
        }
    }

    /// Empty marginals with the same layout as `self`.
    pub(super) fn zeroed_like(&self) -> Self {
        Self {
            bins: vec![0; self.bins.len()],
            ..*self
        }
    }

    /// The marginals of `entries`, whose statistics are `stats`, in parallel
    /// when there are many.
    pub(super) fn of(entries: &[Entry], stats: &Stats) -> Self {
        let count = |mut m: Self, chunk: &[Entry]| {
            m.count(chunk);
            m
        };
        let mut m = if entries.len() <= 2 * COUNT_CHUNK {
            count(Self::zeroed(stats), entries)
        } else {
            entries
                .par_chunks(COUNT_CHUNK)
                .fold(|| Self::zeroed(stats), count)
                .reduce(
                    || Self::zeroed(stats),
                    |mut a, b| {
                        a.merge(&b);
                        a
                    },
                )
        };
        m.finish();
        m
    }

    /// Counts `entries`, whose values must lie within the ranges. Call
    /// [`Self::finish`] after the last.
    pub(super) fn count(&mut self, entries: &[Entry]) {
        let (main, shadow) = self.bins.split_at_mut(self.starts[4]);
        for &c in &self.counted[..self.n_counted] {
            let bins = self.starts[c]..self.starts[c + 1];
            let (a, b) = (&mut main[bins.clone()], &mut shadow[bins]);
            let lo = self.lo[c];
            let at = |e: &Entry| usize::from(e.color[c] - lo);
            // Cannot wrap: the caller keeps the total pixel count below 2^64.
            let mut pairs = entries.chunks_exact(2);
            for pair in &mut pairs {
                a[at(&pair[0])] = a[at(&pair[0])].wrapping_add(pair[0].count);
                b[at(&pair[1])] = b[at(&pair[1])].wrapping_add(pair[1].count);
            }
            for e in pairs.remainder() {
                a[at(e)] = a[at(e)].wrapping_add(e.count);
            }
        }
    }

    /// Fills in the single-valued channels: all the pixels counted so far.
    pub(super) fn finish(&mut self) {
        debug_assert!(self.n_counted > 0, "a splittable box has a counted channel");
        let (main, shadow) = self.bins.split_at_mut(self.starts[4]);
        for (a, b) in main.iter_mut().zip(shadow) {
            *a = a.wrapping_add(std::mem::take(b));
        }
        let total = match self.counted[..self.n_counted].first() {
            Some(&c) => self.bins[self.starts[c]..self.starts[c + 1]]
                .iter()
                .fold(0u64, |a, &b| a.wrapping_add(b)),
            None => return,
        };
        for c in 0..4 {
            if self.starts[c + 1] - self.starts[c] == 1 {
                self.bins[self.starts[c]] = total;
            }
        }
    }

    /// Adds the counts of `other` (same layout, both finished or both not).
    pub(super) fn merge(&mut self, other: &Self) {
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            *a = a.wrapping_add(*b);
        }
    }

    /// Removes `part` (a subset's marginals, same layout, both finished) from `self`.
    pub(super) fn subtract(&mut self, part: &Self) {
        for (a, b) in self.bins.iter_mut().zip(&part.bins) {
            *a -= *b;
        }
    }

    /// Bins held, shadow copies included (memory is 8 bytes per bin).
    pub(super) fn len(&self) -> usize {
        self.bins.len()
    }

    /// Channel `c`'s bins with their values.
    fn channel(&self, c: usize) -> impl Iterator<Item = (u16, u64)> + '_ {
        let lo = self.lo[c];
        self.bins[self.starts[c]..self.starts[c + 1]]
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            // The offset fits: bins span at most a channel's value range.
            .map(move |(i, &n)| (lo + i as u16, n))
    }

    /// The exact statistics of the counted entries (as [`Stats::of`] gives).
    pub(super) fn stats(&self) -> Stats {
        let mut s = Stats::empty();
        for c in 0..4 {
            let mut count = 0u128;
            for (v, n) in self.channel(c) {
                let (v, n) = (u128::from(v), u128::from(n));
                count += n;
                s.sums[c] += n * v;
                s.squares[c] += n * v * v;
            }
            s.count = count;
            s.lo[c] = self.channel(c).next().map_or(u16::MAX, |(v, _)| v);
            s.hi[c] = self.max_value(c);
        }
        s
    }

    /// The smallest value `m` of channel `ch` such that at least half of the
    /// `total` pixels have a value `≤ m`.
    pub(super) fn median(&self, ch: usize, total: u128) -> u16 {
        let values = self.channel(ch).map(|(v, n)| (v, u128::from(n)));
        first_reaching_half(values, total).unwrap_or(self.max_value(ch))
    }

    /// Channel `ch`'s largest counted value (0 if none).
    fn max_value(&self, ch: usize) -> u16 {
        self.channel(ch).last().map_or(0, |(v, _)| v)
    }
}
