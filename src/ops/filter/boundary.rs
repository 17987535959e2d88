//! scipy.ndimage's boundary modes: where an index outside `0..n` reads from.
//! The WGSL twin is `boundary_index` in `shaders/filter.wgsl`; a test runs
//! both on the same indices.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// How a filter extends the array past its edges (scipy.ndimage's `mode`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BoundaryMode {
    /// `d c b a | a b c d | d c b a`: reflect about the edge (scipy's default).
    Reflect,
    /// `d c b | a b c d | c b a`: reflect about the edge pixel's centre.
    Mirror,
    /// `a a a | a b c d | d d d`: repeat the edge value.
    Nearest,
    /// `a b c d | a b c d | a b c d`: periodic.
    Wrap,
    /// `k k k | a b c d | k k k` with `k` = the value (scipy's `cval`).
    Constant(f64),
}

impl BoundaryMode {
    /// The mode's number in the WGSL kernels (`MODE_*` in `filter.wgsl`).
    #[must_use]
    pub fn code(self) -> u32 {
        match self {
            BoundaryMode::Reflect => 0,
            BoundaryMode::Mirror => 1,
            BoundaryMode::Nearest => 2,
            BoundaryMode::Wrap => 3,
            BoundaryMode::Constant(_) => 4,
        }
    }

    /// The constant outside the array (0 for other modes).
    #[must_use]
    pub fn cval(self) -> f64 {
        match self {
            BoundaryMode::Constant(v) => v,
            _ => 0.0,
        }
    }

    /// This mode with `cval` if it is [`BoundaryMode::Constant`].
    #[must_use]
    pub fn with_cval(self, cval: f64) -> Self {
        match self {
            BoundaryMode::Constant(_) => BoundaryMode::Constant(cval),
            other => other,
        }
    }
}

impl fmt::Display for BoundaryMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoundaryMode::Reflect => f.write_str("reflect"),
            BoundaryMode::Mirror => f.write_str("mirror"),
            BoundaryMode::Nearest => f.write_str("nearest"),
            BoundaryMode::Wrap => f.write_str("wrap"),
            BoundaryMode::Constant(v) => write!(f, "constant (cval {v})"),
        }
    }
}

impl FromStr for BoundaryMode {
    type Err = Error;
    /// scipy's names; `constant` takes cval 0 (set it with [`BoundaryMode::with_cval`]).
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "reflect" => BoundaryMode::Reflect,
            "mirror" => BoundaryMode::Mirror,
            "nearest" => BoundaryMode::Nearest,
            "wrap" => BoundaryMode::Wrap,
            "constant" => BoundaryMode::Constant(0.0),
            other => {
                return Err(Error::invalid(format!(
                    "unknown mode '{other}' (reflect, mirror, nearest, wrap, constant)"
                )))
            }
        })
    }
}

/// A filter's boundary handling and window placement: scipy.ndimage's
/// `mode` (one for both axes, or one per axis as scipy's separable filters
/// take them) and `origin`. A plain [`BoundaryMode`] converts into it (both
/// axes, origin 0), so every filter takes either.
///
/// ```
/// use gpix::{BoundaryMode, Border};
/// let b = Border::per_axis(BoundaryMode::Reflect, BoundaryMode::Wrap).with_origin([1, -1]);
/// assert_eq!(b.modes, [BoundaryMode::Reflect, BoundaryMode::Wrap]);
/// assert_eq!(Border::from(BoundaryMode::Nearest).origin, [0, 0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Border {
    /// The mode along y (rows) and along x (columns).
    pub modes: [BoundaryMode; 2],
    /// scipy's `origin` along y and x: the window's anchor moves from
    /// `n / 2` to `n / 2 + origin` (positive values shift the window towards
    /// lower indices). Valid while `-(n / 2) ≤ origin ≤ (n − 1) / 2`.
    pub origin: [isize; 2],
}

impl From<BoundaryMode> for Border {
    fn from(mode: BoundaryMode) -> Self {
        Self {
            modes: [mode, mode],
            origin: [0, 0],
        }
    }
}

impl Border {
    /// One mode along y, another along x, origin 0.
    #[must_use]
    pub fn per_axis(y: BoundaryMode, x: BoundaryMode) -> Self {
        Self {
            modes: [y, x],
            origin: [0, 0],
        }
    }

    /// This border with the window anchored at `n / 2 + origin` per axis.
    #[must_use]
    pub fn with_origin(self, origin: [isize; 2]) -> Self {
        Self { origin, ..self }
    }

    /// The one mode of both axes, if they agree.
    #[must_use]
    pub fn single_mode(&self) -> Option<BoundaryMode> {
        // A NaN constant is one mode too (`==` says NaN ≠ NaN).
        let [a, b] = self.modes;
        let same = a == b || a.code() == b.code() && a.cval().is_nan() && b.cval().is_nan();
        same.then_some(a)
    }

    /// The anchor of a `size` window (`n / 2 + origin` per axis).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] outside scipy's rule
    /// `-(n / 2) ≤ origin ≤ (n − 1) / 2`.
    pub fn anchor(&self, size: [usize; 2]) -> Result<[usize; 2]> {
        let mut out = [0; 2];
        for k in 0..2 {
            let (n, o) = (size[k] as isize, self.origin[k]);
            if o < -(n / 2) || o > (n - 1) / 2 {
                return Err(Error::invalid(format!(
                    "origin {o} along {} is invalid for a window of {n}: it must satisfy \
                     -({n} // 2) <= origin <= ({n} - 1) // 2, i.e. {} ..= {} (scipy's rule)",
                    ["y", "x"][k],
                    -(n / 2),
                    (n - 1) / 2
                )));
            }
            out[k] = (n / 2 + o) as usize;
        }
        Ok(out)
    }
}

/// The index inside `0..n` that position `i` reads under `mode`, or `None`
/// where it reads the constant (constant mode outside, or `n == 0`).
/// Positions any distance outside are handled (windows wider than the array
/// repeat the extension periodically, as scipy does).
#[must_use]
pub fn boundary_index(i: i64, n: usize, mode: BoundaryMode) -> Option<usize> {
    let n = n as i64;
    if n == 0 {
        return None;
    }
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    let j = match mode {
        BoundaryMode::Constant(_) => return None,
        BoundaryMode::Nearest => i.clamp(0, n - 1),
        BoundaryMode::Wrap => i.rem_euclid(n),
        BoundaryMode::Reflect => {
            let k = i.rem_euclid(2 * n);
            if k < n {
                k
            } else {
                2 * n - 1 - k
            }
        }
        BoundaryMode::Mirror => {
            if n == 1 {
                0
            } else {
                let k = i.rem_euclid(2 * n - 2);
                if k < n {
                    k
                } else {
                    2 * n - 2 - k
                }
            }
        }
    };
    Some(j as usize)
}

/// `row` extended by the x mode to `w + kx − 1` positions of `c` values,
/// `left` of them before column 0, into `ext`; `None` is a row outside the
/// array along y: the y mode's constant, except where x is outside in
/// constant mode (scipy's x pass comes last and pads with its constant).
/// `mode` is the x mode; `[cval_y, cval]` the y and x modes' constants in
/// `T`.
pub(super) fn extend_row<T: Copy>(
    row: Option<&[T]>,
    (w, c): (usize, usize),
    (kx, left): (usize, usize),
    mode: BoundaryMode,
    [cval_y, cval]: [T; 2],
    ext: &mut [T],
) {
    let Some(row) = row else {
        ext.fill(cval_y);
        if let BoundaryMode::Constant(_) = mode {
            ext[..left * c].fill(cval);
            ext[(left + w) * c..].fill(cval);
        }
        return;
    };
    ext[left * c..(left + w) * c].copy_from_slice(row);
    for xe in (0..left).chain(left + w..w + kx - 1) {
        let dst = &mut ext[xe * c..(xe + 1) * c];
        match boundary_index(xe as i64 - left as i64, w, mode) {
            Some(x) => dst.copy_from_slice(&row[x * c..(x + 1) * c]),
            None => dst.fill(cval),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extended(n: usize, mode: BoundaryMode, lo: i64, hi: i64) -> Vec<Option<usize>> {
        (lo..hi).map(|i| boundary_index(i, n, mode)).collect()
    }

    #[test]
    fn modes_extend_as_scipy_documents() {
        // a b c d = 0 1 2 3, three positions either side.
        let s = |v: &[usize]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
        assert_eq!(
            extended(4, BoundaryMode::Reflect, -3, 7),
            s(&[2, 1, 0, 0, 1, 2, 3, 3, 2, 1])
        );
        assert_eq!(
            extended(4, BoundaryMode::Mirror, -3, 7),
            s(&[3, 2, 1, 0, 1, 2, 3, 2, 1, 0])
        );
        assert_eq!(
            extended(4, BoundaryMode::Nearest, -3, 7),
            s(&[0, 0, 0, 0, 1, 2, 3, 3, 3, 3])
        );
        assert_eq!(
            extended(4, BoundaryMode::Wrap, -3, 7),
            s(&[1, 2, 3, 0, 1, 2, 3, 0, 1, 2])
        );
        assert_eq!(boundary_index(-1, 4, BoundaryMode::Constant(1.0)), None);
        assert_eq!(boundary_index(0, 0, BoundaryMode::Reflect), None);
        assert_eq!(boundary_index(-5, 1, BoundaryMode::Mirror), Some(0));
        assert_eq!(boundary_index(9, 1, BoundaryMode::Reflect), Some(0));
    }

    #[test]
    fn anchors_follow_scipys_origin_rule() {
        let b = |o: [isize; 2]| Border::from(BoundaryMode::Reflect).with_origin(o);
        assert_eq!(b([0, 0]).anchor([3, 4]).unwrap(), [1, 2]);
        assert_eq!(b([-1, 1]).anchor([3, 4]).unwrap(), [0, 3]);
        assert_eq!(b([0, -2]).anchor([3, 4]).unwrap(), [1, 0]);
        assert!(b([2, 0]).anchor([3, 4]).is_err());
        assert!(b([0, 2]).anchor([3, 4]).is_err());
        assert!(b([0, -3]).anchor([3, 4]).is_err());
        assert_eq!(b([0, 0]).anchor([1, 1]).unwrap(), [0, 0]);
        assert!(b([1, 0]).anchor([1, 1]).is_err());
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            "mirror".parse::<BoundaryMode>().unwrap(),
            BoundaryMode::Mirror
        );
        assert!("grid-wrap".parse::<BoundaryMode>().is_err());
        assert_eq!(
            "constant".parse::<BoundaryMode>().unwrap().with_cval(2.5),
            BoundaryMode::Constant(2.5)
        );
    }
}
