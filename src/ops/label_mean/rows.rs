//! Label values → dense table rows.

use rayon::prelude::*;

/// Label ranges up to this many rows are indexed directly (`label − min`):
/// small enough that a table per thread stays cheap.
const DENSE_ROWS: u64 = 1 << 16;

/// Where each label's totals live: rows `0..len()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rows {
    /// Row `label − offset` (some rows may be empty).
    Dense {
        /// The smallest label.
        offset: u32,
        /// `max − min + 1` (0 for no labels).
        len: usize,
    },
    /// Row = position in the ascending list of distinct labels.
    Sparse {
        /// The distinct labels, ascending.
        keys: Vec<u32>,
    },
}

impl Rows {
    /// Rows for these labels: dense when their range is small or at most
    /// twice the number of distinct labels, else sparse.
    #[must_use]
    pub fn new(labels: &[u32]) -> Self {
        let Some((lo, hi)) = min_max(labels) else {
            return Rows::Dense { offset: 0, len: 0 };
        };
        let range = u64::from(hi - lo) + 1;
        if range <= DENSE_ROWS {
            return Rows::Dense {
                offset: lo,
                len: range as usize,
            };
        }
        let keys = distinct(labels);
        if range <= 2 * keys.len() as u64 {
            Rows::Dense {
                offset: lo,
                len: range as usize,
            }
        } else {
            Rows::Sparse { keys }
        }
    }

    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Rows::Dense { len, .. } => *len,
            Rows::Sparse { keys } => keys.len(),
        }
    }

    /// True when there are no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The row of `label`, which must be one of the labels the rows were built from.
    #[inline]
    #[must_use]
    pub fn row(&self, label: u32) -> usize {
        match self {
            Rows::Dense { offset, .. } => label.wrapping_sub(*offset) as usize,
            Rows::Sparse { keys } => keys.binary_search(&label).unwrap_or(usize::MAX),
        }
    }

    /// The label of row `r`.
    #[must_use]
    pub fn label(&self, r: usize) -> u32 {
        match self {
            Rows::Dense { offset, .. } => offset + r as u32,
            Rows::Sparse { keys } => keys[r],
        }
    }
}

fn min_max(labels: &[u32]) -> Option<(u32, u32)> {
    labels
        .par_chunks(1 << 16)
        .map(|c| {
            c.iter()
                .fold((u32::MAX, 0u32), |(lo, hi), &l| (lo.min(l), hi.max(l)))
        })
        .reduce_with(|a, b| (a.0.min(b.0), a.1.max(b.1)))
}

/// The distinct labels, ascending. Labels come in runs (segments are
/// spatially coherent), so each block keeps only run starts before sorting.
fn distinct(labels: &[u32]) -> Vec<u32> {
    labels
        .par_chunks(1 << 16)
        .map(|c| {
            let mut v: Vec<u32> = Vec::new();
            for &l in c {
                if v.last() != Some(&l) {
                    v.push(l);
                }
            }
            v.sort_unstable();
            v.dedup();
            v
        })
        .reduce_with(merge_sorted)
        .unwrap_or_default()
}

fn merge_sorted(a: Vec<u32>, b: Vec<u32>) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let next = a[i].min(b[j]);
        i += usize::from(a[i] == next);
        j += usize::from(b[j] == next);
        out.push(next);
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_ranges_are_dense_and_sparse_sets_are_not() {
        assert_eq!(Rows::new(&[]), Rows::Dense { offset: 0, len: 0 });
        assert_eq!(Rows::new(&[5, 3, 9]), Rows::Dense { offset: 3, len: 7 });
        let sparse = Rows::new(&[0, 7, (1 << 31) + 5, 7]);
        assert_eq!(
            sparse,
            Rows::Sparse {
                keys: vec![0, 7, (1 << 31) + 5]
            }
        );
        assert_eq!(sparse.row((1 << 31) + 5), 2);
        assert_eq!(sparse.label(1), 7);
        // A wide but well-filled range stays dense.
        let filled: Vec<u32> = (0..200_000).collect();
        assert!(matches!(
            Rows::new(&filled),
            Rows::Dense { len: 200_000, .. }
        ));
    }

    #[test]
    fn merge_keeps_one_of_each() {
        assert_eq!(merge_sorted(vec![1, 3, 5], vec![2, 3, 6]), [1, 2, 3, 5, 6]);
        assert_eq!(merge_sorted(vec![], vec![4]), [4]);
    }
}
