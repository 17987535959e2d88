//! Splitting an image into horizontal bands that fit a buffer budget.
//!
//! A pure function with property tests: the GPU path sizes its bands from the
//! adapter's binding limits (or a lowered test budget), the CPU path streams
//! row blocks through it too.

use std::ops::Range;

use crate::error::{Error, Result};

/// Bytes every buffer may lose to rounding a band up to whole `u32` words.
const WORD_SLACK: u64 = 3;

/// Rows `0..height` cut into consecutive bands such that, for every buffer
/// `b`, `rows * row_bytes[b] + 3 <= budget_bytes` (the 3 covers rounding up
/// to whole words). Empty when `height` is 0.
///
/// # Errors
/// [`Error::TooLarge`] if a single row does not fit the budget.
pub fn plan_bands(
    height: usize,
    row_bytes: &[u64],
    budget_bytes: u64,
) -> Result<Vec<Range<usize>>> {
    let rows = rows_per_band(row_bytes, budget_bytes)?;
    Ok(split_rows(height, rows))
}

/// Rows `0..height` in consecutive bands of `rows` rows (the last shorter).
pub(crate) fn split_rows(height: usize, rows: usize) -> Vec<Range<usize>> {
    let rows = rows.max(1);
    (0..height)
        .step_by(rows)
        .map(|start| start..(start + rows).min(height))
        .collect()
}

/// Largest number of rows whose buffers all fit `budget_bytes`.
///
/// # Errors
/// [`Error::TooLarge`] if a single row does not fit.
pub fn rows_per_band(row_bytes: &[u64], budget_bytes: u64) -> Result<usize> {
    let usable = budget_bytes.saturating_sub(WORD_SLACK);
    let mut rows = u64::MAX;
    for &bytes in row_bytes {
        if bytes == 0 {
            continue;
        }
        if bytes > usable {
            return Err(Error::too_large(
                "one image row on the GPU",
                bytes + WORD_SLACK,
                budget_bytes,
            ));
        }
        rows = rows.min(usable / bytes);
    }
    Ok(usize::try_from(rows).unwrap_or(usize::MAX))
}

/// Output rows per band of the streamed GPU path, for an op whose band of
/// `rows` output rows reads `rows + halo` input rows of `in_row` bytes and
/// writes `out_row` bytes per row. Aims at `target` bytes for the larger of
/// the two buffers, but takes at least `halo` rows (halo rows are then at
/// most half of what is uploaded) and never more than the buffers' `limit`.
///
/// # Errors
/// [`Error::TooLarge`] if one row with its halo does not fit `limit`.
pub(crate) fn stream_rows(
    height: usize,
    in_row: u64,
    halo: usize,
    out_row: u64,
    target: u64,
    limit: u64,
) -> Result<usize> {
    let max_in = rows_per_band(&[in_row], limit)?;
    let max_out = rows_per_band(&[out_row], limit)?;
    if max_in <= halo {
        return Err(Error::too_large(
            "a GPU band with its halo rows",
            (halo as u64 + 1).saturating_mul(in_row) + WORD_SLACK,
            limit,
        ));
    }
    let most = (max_in - halo).min(max_out);
    let per_row = in_row.max(out_row).max(1);
    let aimed = usize::try_from(target / per_row)
        .unwrap_or(usize::MAX)
        .saturating_sub(halo);
    Ok(aimed.max(halo).max(1).min(most).min(height.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bands_cover_rows_in_order_within_budget(
            height in 0usize..500,
            row_a in 0u64..100,
            row_b in 1u64..100,
            budget in 0u64..2000,
        ) {
            match plan_bands(height, &[row_a, row_b], budget) {
                Ok(bands) => {
                    let mut next = 0;
                    for band in &bands {
                        prop_assert_eq!(band.start, next);
                        prop_assert!(!band.is_empty());
                        let rows = band.len() as u64;
                        prop_assert!(rows * row_a + WORD_SLACK <= budget || row_a == 0);
                        prop_assert!(rows * row_b + WORD_SLACK <= budget);
                        next = band.end;
                    }
                    prop_assert_eq!(next, height);
                }
                Err(Error::TooLarge { .. }) => {
                    prop_assert!(row_a.max(row_b) + WORD_SLACK > budget);
                }
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
        }
    }

    proptest! {
        #[test]
        fn stream_bands_fit_the_limit_and_carry_their_halo(
            height in 1usize..10_000,
            in_row in 1u64..5000,
            out_row in 0u64..20_000,
            halo in 0usize..40,
            target in 0u64..1_000_000,
            limit in 0u64..2_000_000,
        ) {
            match stream_rows(height, in_row, halo, out_row, target, limit) {
                Ok(rows) => {
                    prop_assert!(rows >= 1 && rows <= height);
                    prop_assert!((rows + halo) as u64 * in_row + WORD_SLACK <= limit);
                    prop_assert!(rows as u64 * out_row + WORD_SLACK <= limit);
                    // At least `halo` rows unless the limit or the image forbids it.
                    let roomy = (2 * halo + 1) as u64 * in_row + WORD_SLACK <= limit
                        && halo as u64 * out_row + WORD_SLACK <= limit;
                    prop_assert!(rows >= halo.min(height) || !roomy);
                }
                Err(Error::TooLarge { .. }) => {
                    prop_assert!(
                        (halo as u64 + 1) * in_row + WORD_SLACK > limit
                            || out_row + WORD_SLACK > limit
                    );
                }
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
        }
    }

    #[test]
    fn a_budget_of_one_row_gives_one_row_per_band() {
        let bands = plan_bands(3, &[10], 13).unwrap();
        assert_eq!(bands, vec![0..1, 1..2, 2..3]);
    }
}
