//! Exact per-label pixel counts and per-channel sums: the reduction shared by
//! k-means (labels = nearest-palette indices) and per-label means.
//!
//! Totals are u64 on the CPU; on the GPU k-means runs the `sums` kernel of
//! `shaders/label_mean.wgsl` (96-bit totals as u32 atomics with carries),
//! the same reduction as per-label means.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::ops::palette::{PaletteIndex, PaletteValue};

/// Counts and sums per label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSums {
    /// Values per pixel.
    pub channels: usize,
    /// Pixels per label.
    pub counts: Vec<u64>,
    /// Per label, the sum of each channel (`labels × channels`).
    pub sums: Vec<u64>,
}

impl LabelSums {
    /// All-zero totals for `labels` labels.
    #[must_use]
    pub fn zeros(labels: usize, channels: usize) -> Self {
        Self {
            channels,
            counts: vec![0; labels],
            sums: vec![0; labels * channels],
        }
    }

    /// Adds `other` into `self` (same shape).
    pub fn merge(&mut self, other: &LabelSums) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a += b;
        }
    }

    /// The mean of label `l`, channel `c`, rounded half up exactly:
    /// `(2·sum + count) / (2·count)`; `None` for an empty label.
    #[must_use]
    pub fn rounded_mean(&self, l: usize, c: usize) -> Option<u64> {
        let count = u128::from(self.counts[l]);
        if count == 0 {
            return None;
        }
        let sum = u128::from(self.sums[l * self.channels + c]);
        // The mean never exceeds the largest value, so it fits u64.
        Some(((2 * sum + count) / (2 * count)) as u64)
    }
}

/// The definition: one pass, one accumulator.
///
/// # Errors
/// [`Error::InvalidArgument`] if the lengths disagree or a label is `>= labels`.
pub fn label_sums_reference<T: PaletteValue, I: PaletteIndex>(
    values: &[T],
    channels: usize,
    labels: &[I],
    n_labels: usize,
    weights: Option<&[u64]>,
) -> Result<LabelSums> {
    check(
        values.len(),
        channels,
        labels.len(),
        weights.map(<[u64]>::len),
    )?;
    let mut out = LabelSums::zeros(n_labels, channels);
    for (p, (px, &l)) in values.chunks_exact(channels).zip(labels).enumerate() {
        let l = l.to_usize();
        if l >= n_labels {
            return Err(Error::invalid(format!("label {l} is not below {n_labels}")));
        }
        let w = weights.map_or(1, |w| w[p]);
        out.counts[l] += w;
        for (c, &v) in px.iter().enumerate() {
            out.sums[l * channels + c] += w * u64::from(v.into());
        }
    }
    Ok(out)
}

fn check(values: usize, channels: usize, labels: usize, weights: Option<usize>) -> Result<()> {
    if channels == 0 || values != labels * channels || weights.is_some_and(|w| w != labels) {
        return Err(Error::invalid(format!(
            "{values} values, {labels} labels and {channels} channels do not agree"
        )));
    }
    Ok(())
}

/// Fast CPU path: per-thread tables over blocks of pixels, merged at the end.
/// `weights` multiplies each pixel (k-means on a colour histogram).
///
/// # Errors
/// As [`label_sums_reference`].
pub fn label_sums_cpu<T: PaletteValue, I: PaletteIndex>(
    values: &[T],
    channels: usize,
    labels: &[I],
    n_labels: usize,
    weights: Option<&[u64]>,
) -> Result<LabelSums> {
    check(
        values.len(),
        channels,
        labels.len(),
        weights.map(<[u64]>::len),
    )?;
    const BLOCK: usize = 1 << 16;
    let bad = std::sync::atomic::AtomicBool::new(false);
    let total = labels
        .par_chunks(BLOCK)
        .enumerate()
        .fold(
            || LabelSums::zeros(n_labels, channels),
            |mut acc, (b, block)| {
                let first = b * BLOCK;
                let px = &values[first * channels..(first + block.len()) * channels];
                for (i, (v, &l)) in px.chunks_exact(channels).zip(block).enumerate() {
                    let l = l.to_usize();
                    if l >= n_labels {
                        bad.store(true, std::sync::atomic::Ordering::Relaxed);
                        continue;
                    }
                    let w = weights.map_or(1, |w| w[first + i]);
                    acc.counts[l] += w;
                    let s = &mut acc.sums[l * channels..(l + 1) * channels];
                    for (dst, &x) in s.iter_mut().zip(v) {
                        *dst += w * u64::from(x.into());
                    }
                }
                acc
            },
        )
        .reduce(
            || LabelSums::zeros(n_labels, channels),
            |mut a, b| {
                a.merge(&b);
                a
            },
        );
    if bad.into_inner() {
        return Err(Error::invalid(format!("a label is not below {n_labels}")));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounded_mean_rounds_half_up() {
        let s = LabelSums {
            channels: 1,
            counts: vec![2, 2, 0],
            sums: vec![3, 2, 0],
        };
        assert_eq!(s.rounded_mean(0, 0), Some(2));
        assert_eq!(s.rounded_mean(1, 0), Some(1));
        assert_eq!(s.rounded_mean(2, 0), None);
    }

    #[test]
    fn cpu_matches_reference_with_weights() {
        let values: Vec<u8> = (0..300u32).map(|v| (v * 37 % 256) as u8).collect();
        let labels: Vec<u8> = (0..100u32).map(|v| (v * 7 % 5) as u8).collect();
        let weights: Vec<u64> = (0..100u64).map(|v| v % 3 + 1).collect();
        let a = label_sums_reference(&values, 3, &labels, 5, Some(&weights)).unwrap();
        let b = label_sums_cpu(&values, 3, &labels, 5, Some(&weights)).unwrap();
        assert_eq!(a, b);
        assert!(label_sums_cpu(&values, 3, &labels, 4, None).is_err());
    }
}
