//! The window of a rank filter: a rectangle, or any mask of one (scipy's
//! `footprint=`).

use crate::error::{Error, Result};

/// Which positions of a `rows × columns` window a filter reads: all of
/// them (a rectangle, scipy's `size=`) or those a mask marks (scipy's
/// `footprint=`, e.g. a disk for a round median or grey erosion).
///
/// A `[rows, columns]` array converts to the rectangle, so the rank
/// filters take either:
///
/// ```
/// use gpix::Footprint;
/// let disk = Footprint::disk(1);
/// assert_eq!(disk.size(), [3, 3]);
/// assert_eq!(disk.len(), 5);
/// assert!(Footprint::from([2, 3]).is_rectangle());
/// # Ok::<(), gpix::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footprint {
    size: [usize; 2],
    /// Row-major `size[0] × size[1]` flags; `None`: every position.
    mask: Option<Vec<bool>>,
}

impl Footprint {
    /// Every position of a `[rows, columns]` window.
    pub fn rectangle(size: [usize; 2]) -> Self {
        Self { size, mask: None }
    }

    /// The positions a row-major `rows × columns` mask marks.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `mask` does not hold
    /// `rows × columns` flags.
    pub fn from_mask(mask: Vec<bool>, rows: usize, columns: usize) -> Result<Self> {
        if rows.checked_mul(columns) != Some(mask.len()) {
            return Err(Error::invalid(format!(
                "a {rows}x{columns} footprint needs {} flags, got {}",
                rows.saturating_mul(columns),
                mask.len()
            )));
        }
        // A mask of no positions stays a mask (empty, refused by the
        // filters as scipy refuses it), not a box with a side of 0.
        let full = !mask.is_empty() && mask.iter().all(|&m| m);
        let mask = if full { None } else { Some(mask) };
        Ok(Self {
            size: [rows, columns],
            mask,
        })
    }

    /// The largest radius [`Footprint::disk`] takes (a 65535² window).
    pub const MAX_DISK_RADIUS: usize = 32767;

    /// A disk of `radius`: the `(2r + 1)²` window's positions `(i, j)` from
    /// its centre with `i² + j² ≤ r²` (as `skimage.morphology.disk`).
    ///
    /// # Panics
    /// For a radius over [`Footprint::MAX_DISK_RADIUS`].
    pub fn disk(radius: usize) -> Self {
        assert!(
            radius <= Self::MAX_DISK_RADIUS,
            "a disk footprint's radius is at most {}, not {radius}",
            Self::MAX_DISK_RADIUS
        );
        let side = 2 * radius + 1;
        let r2 = (radius * radius) as u128;
        let mask = (0..side * side)
            .map(|p| {
                let (i, j) = ((p / side).abs_diff(radius), (p % side).abs_diff(radius));
                (i as u128).pow(2) + (j as u128).pow(2) <= r2
            })
            .collect();
        Self {
            size: [side, side],
            mask: Some(mask),
        }
        .simplified()
    }

    /// A disk of radius 0 is one position: a rectangle.
    fn simplified(self) -> Self {
        match self.mask {
            Some(m) if m.iter().all(|&v| v) => Self::rectangle(self.size),
            _ => self,
        }
    }

    /// `[rows, columns]` of the window.
    pub fn size(&self) -> [usize; 2] {
        self.size
    }

    /// Whether every position of the window is read.
    pub fn is_rectangle(&self) -> bool {
        self.mask.is_none()
    }

    /// How many positions the window reads (saturating for a rectangle too
    /// large to count).
    pub fn len(&self) -> usize {
        match &self.mask {
            None => self.size[0].saturating_mul(self.size[1]),
            Some(m) => m.iter().filter(|&&v| v).count(),
        }
    }

    /// Whether the window reads no position.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the window reads row `i`, column `j`.
    pub fn contains(&self, i: usize, j: usize) -> bool {
        i < self.size[0]
            && j < self.size[1]
            && self.mask.as_ref().is_none_or(|m| m[i * self.size[1] + j])
    }

    /// The row-major flags (`None`: a rectangle).
    pub fn mask(&self) -> Option<&[bool]> {
        self.mask.as_deref()
    }

    /// The footprint turned half a turn (rows and columns reversed), as
    /// scipy's `grey_dilation` reflects its structuring element.
    #[must_use]
    pub fn reflected(&self) -> Self {
        Self {
            size: self.size,
            mask: self
                .mask
                .as_ref()
                .map(|m| m.iter().rev().copied().collect()),
        }
    }

    /// `-v` wording: "window" for a rectangle, else "footprint of n values".
    pub(crate) fn describe(&self) -> String {
        if self.is_rectangle() {
            "window".to_string()
        } else {
            format!("footprint of {} values", self.len())
        }
    }

    /// The `(row, column)` positions a window loses and gains when it moves
    /// one column right: per row, the first column of each run of marked
    /// positions leaves, and one past the last of each run comes (given as
    /// its column in the window before the move plus 1).
    pub(crate) fn edges(&self) -> (Vec<[usize; 2]>, Vec<[usize; 2]>) {
        let [ny, nx] = self.size;
        let (mut gone, mut came) = (Vec::new(), Vec::new());
        for i in 0..ny {
            for j in 0..nx {
                if !self.contains(i, j) {
                    continue;
                }
                if j == 0 || !self.contains(i, j - 1) {
                    gone.push([i, j]);
                }
                if j + 1 == nx || !self.contains(i, j + 1) {
                    came.push([i, j + 1]);
                }
            }
        }
        (gone, came)
    }

    /// Every marked `(row, column)`, row by row.
    pub(crate) fn positions(&self) -> Vec<[usize; 2]> {
        let [ny, nx] = self.size;
        (0..ny)
            .flat_map(|i| (0..nx).map(move |j| [i, j]))
            .filter(|&[i, j]| self.contains(i, j))
            .collect()
    }
}

impl From<[usize; 2]> for Footprint {
    fn from(size: [usize; 2]) -> Self {
        Self::rectangle(size)
    }
}

impl From<&Footprint> for Footprint {
    fn from(f: &Footprint) -> Self {
        f.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disks_match_skimage() {
        // skimage.morphology.disk(2)
        let want = [
            0, 0, 1, 0, 0, //
            0, 1, 1, 1, 0, //
            1, 1, 1, 1, 1, //
            0, 1, 1, 1, 0, //
            0, 0, 1, 0, 0,
        ];
        let d = Footprint::disk(2);
        assert_eq!(d.size(), [5, 5]);
        let got: Vec<u8> = d.mask().unwrap().iter().map(|&b| b as u8).collect();
        assert_eq!(got, want);
        assert_eq!(d.len(), 13);
        assert!(Footprint::disk(0).is_rectangle());
        assert_eq!(Footprint::disk(7).len(), 149);
    }

    #[test]
    fn masks_are_checked_and_all_ones_is_a_rectangle() {
        assert!(Footprint::from_mask(vec![true; 5], 2, 3).is_err());
        assert!(Footprint::from_mask(vec![true; 6], 2, 3)
            .unwrap()
            .is_rectangle());
        let f = Footprint::from_mask(vec![false; 6], 2, 3).unwrap();
        assert!(f.is_empty());
        assert_eq!(f.size(), [2, 3]);
        let none = Footprint::from_mask(vec![], 0, 3).unwrap();
        assert!(none.is_empty() && !none.is_rectangle());
    }

    #[test]
    fn edges_move_a_window_one_column() {
        // Two runs in row 0, one in row 1.
        let f = Footprint::from_mask(
            vec![true, false, true, true, false, true, true, false],
            2,
            4,
        )
        .unwrap();
        let (gone, came) = f.edges();
        assert_eq!(gone, [[0, 0], [0, 2], [1, 1]]);
        assert_eq!(came, [[0, 1], [0, 4], [1, 3]]);
        // Moving the set of positions by one column: the old set minus the
        // gone plus the came is the new set.
        let old: std::collections::BTreeSet<_> = f.positions().into_iter().collect();
        let new: std::collections::BTreeSet<_> =
            f.positions().into_iter().map(|[i, j]| [i, j + 1]).collect();
        let mut moved = old.clone();
        for g in &gone {
            assert!(moved.remove(g));
        }
        for c in &came {
            assert!(moved.insert(*c));
        }
        assert_eq!(moved, new);
    }
}
