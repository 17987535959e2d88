//! numpy.gradient with sample coordinates (non-uniform spacing) along an
//! axis: the coefficients numpy derives from `np.diff(coords)` and the
//! formulas it applies, with its precision rules, so float64 results are
//! numpy's bit for bit.
//!
//! Precision, as numpy 2 (NEP 50) computes it:
//! - the coefficients are computed in the coordinates' type (float32
//!   coordinates give float32 coefficients; integers are float64);
//! - each formula runs in the wider of the data's and the coordinates'
//!   types, except the first difference `f[i+1] − f[i]` of the two-point
//!   formulas, which numpy takes in the data's type before dividing;
//! - the result is rounded to the data's type.
//!
//! As numpy, equal differences everywhere (evenly spaced coordinates) fall
//! back to the scalar-spacing formulas with that one difference.

use crate::error::{Error, Result};
use crate::ops::filter::FilterValue;

use super::Coordinates;

/// One output position's formula along the axis: which input positions it
/// reads (from `base`) and how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Formula {
    /// `(f[base+2] − f[base]) / d` (the difference in the data's type):
    /// numpy's uniform interior, `d = 2h`.
    Central { base: usize, d: f64 },
    /// `(f[base+1] − f[base]) / d`: edge order 1.
    Two { base: usize, d: f64 },
    /// `a·f[base] + b·f[base+1] + c·f[base+2]`.
    Three { base: usize, w: [f64; 3] },
}

/// The differences of one axis's coordinates, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CoordAxis {
    /// numpy's scalar branch: every difference equals this one.
    uniform: Option<f64>,
    /// The differences `x[i+1] − x[i]` (in the coordinates' type, widened).
    dx: Vec<f64>,
    /// Per position: the interior triple (positions 1 … n−2) and the edge
    /// order 2 triples (positions 0 and n−1); computed in the coordinates'
    /// type.
    weights: Vec<[f64; 3]>,
    /// Uniform: `2h`, `-1.5/h, 2/h, -0.5/h` and `0.5/h, -2/h, 1.5/h` in the
    /// coordinates' type.
    uniform_weights: ([f64; 3], [f64; 3], f64),
    edge_order: u8,
    /// Formulas in float64 (the data or the coordinates are float64).
    wide: bool,
}

/// The coordinates' arithmetic, in their own type.
fn weights_in<C: FilterValue>(x: &[C], edge_order: u8) -> (Vec<f64>, Vec<[f64; 3]>) {
    let n = x.len();
    let dx: Vec<C> = x.windows(2).map(|p| p[1] - p[0]).collect();
    let mut w = vec![[0.0; 3]; n];
    let zero = C::from_f64(0.0);
    let two = C::from_f64(2.0);
    let wide = |t: [C; 3]| t.map(FilterValue::to_f64);
    for i in 1..n.saturating_sub(1) {
        let (dx1, dx2) = (dx[i - 1], dx[i]);
        w[i] = wide([
            (zero - dx2) / (dx1 * (dx1 + dx2)),
            (dx2 - dx1) / (dx1 * dx2),
            dx1 / (dx2 * (dx1 + dx2)),
        ]);
    }
    if edge_order == 2 && n >= 3 {
        let (dx1, dx2) = (dx[0], dx[1]);
        w[0] = wide([
            (zero - (two * dx1 + dx2)) / (dx1 * (dx1 + dx2)),
            (dx1 + dx2) / (dx1 * dx2),
            (zero - dx1) / (dx2 * (dx1 + dx2)),
        ]);
        let (dx1, dx2) = (dx[n - 3], dx[n - 2]);
        w[n - 1] = wide([
            dx2 / (dx1 * (dx1 + dx2)),
            (zero - (dx2 + dx1)) / (dx1 * dx2),
            (two * dx2 + dx1) / (dx2 * (dx1 + dx2)),
        ]);
    }
    (dx.into_iter().map(FilterValue::to_f64).collect(), w)
}

/// numpy's uniform-spacing coefficients for a difference `h` of type `C`.
fn uniform_in<C: FilterValue>(h: C) -> ([f64; 3], [f64; 3], f64) {
    let t = C::from_f64;
    let q = |v: f64| (t(v) / h).to_f64();
    (
        [q(-1.5), q(2.0), q(-0.5)],
        [q(0.5), q(-2.0), q(1.5)],
        (t(2.0) * h).to_f64(),
    )
}

impl CoordAxis {
    /// The axis `name` of length `n` sampled at `coords`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the coordinates' length is not `n`, a
    /// coordinate is not finite, or two neighbours are equal (numpy would
    /// divide by zero).
    pub(super) fn new(
        coords: Coordinates<'_>,
        n: usize,
        edge_order: u8,
        data_f64: bool,
        name: &str,
    ) -> Result<Self> {
        let (len, finite) = match coords {
            Coordinates::F64(x) => (x.len(), x.iter().all(|v| v.is_finite())),
            Coordinates::F32(x) => (x.len(), x.iter().all(|v| v.is_finite())),
        };
        if len != n {
            return Err(Error::invalid(format!(
                "coordinates along {name} hold {len} values for an axis of length {n} \
                 (numpy: they must match the length of the corresponding dimension)"
            )));
        }
        if !finite {
            return Err(Error::invalid(format!(
                "coordinates along {name} must be finite"
            )));
        }
        let (dx, weights, uniform_weights) = match coords {
            Coordinates::F64(x) => {
                let (dx, w) = weights_in(x, edge_order);
                let u = uniform_in(dx.first().copied().unwrap_or(1.0));
                (dx, w, u)
            }
            Coordinates::F32(x) => {
                let (dx, w) = weights_in(x, edge_order);
                let u = uniform_in(dx.first().map_or(1.0, |&d| d as f32));
                (dx, w, u)
            }
        };
        if let Some(i) = dx.iter().position(|&d| d == 0.0) {
            return Err(Error::invalid(format!(
                "coordinates along {name} repeat a value at positions {i} and {} (a zero \
                 spacing: numpy would divide by zero)",
                i + 1
            )));
        }
        let uniform = dx.first().copied().filter(|d0| dx.iter().all(|d| d == d0));
        Ok(Self {
            uniform,
            dx,
            weights,
            uniform_weights,
            edge_order,
            wide: data_f64 || matches!(coords, Coordinates::F64(_)),
        })
    }

    /// The even spacing, when every difference is equal (numpy's scalar
    /// branch).
    #[cfg(feature = "gpu")]
    pub(super) fn uniform(&self) -> Option<f64> {
        self.uniform
    }

    /// Position `i`'s formula on an axis of `n ≥ edge_order + 1` positions.
    pub(super) fn formula(&self, i: usize, n: usize) -> Formula {
        let interior = i > 0 && i + 1 < n;
        let (first, last, two_h) = self.uniform_weights;
        match (self.uniform, interior) {
            (Some(_), true) => Formula::Central {
                base: i - 1,
                d: two_h,
            },
            (None, true) => Formula::Three {
                base: i - 1,
                w: self.weights[i],
            },
            _ if self.edge_order == 1 => {
                let (base, d) = if i == 0 {
                    (0, self.dx[0])
                } else {
                    (n - 2, self.dx[n - 2])
                };
                Formula::Two { base, d }
            }
            (Some(_), false) => Formula::Three {
                base: if i == 0 { 0 } else { n - 3 },
                w: if i == 0 { first } else { last },
            },
            (None, false) => Formula::Three {
                base: if i == 0 { 0 } else { n - 3 },
                w: self.weights[i],
            },
        }
    }

    /// Row `i` of the derivative along rows (`row(k)`: input row `k`).
    pub(super) fn along_rows<'r, T: FilterValue>(
        &self,
        i: usize,
        n: usize,
        row: impl Fn(usize) -> &'r [T],
        out: &mut [T],
    ) {
        if self.wide {
            rows_in::<T, f64>(self.formula(i, n), &row, out);
        } else {
            rows_in::<T, f32>(self.formula(i, n), &row, out);
        }
    }

    /// The derivative along x of one row of `n` positions × `c` channels
    /// (`edges` false: 0 at both ends).
    pub(super) fn along_row<T: FilterValue>(
        &self,
        src: &[T],
        n: usize,
        c: usize,
        edges: bool,
        out: &mut [T],
    ) {
        for x in 0..n {
            let o = &mut out[x * c..(x + 1) * c];
            if !edges && (x == 0 || x + 1 == n) {
                o.fill(T::default());
                continue;
            }
            let f = self.formula(x, n);
            let at = |k: usize| &src[k * c..(k + 1) * c];
            if self.wide {
                rows_in::<T, f64>(f, &at, o);
            } else {
                rows_in::<T, f32>(f, &at, o);
            }
        }
    }

    /// The table the GPU kernel reads: per position `[a, b, c, two]`; `two`
    /// = 1 marks `(f[base+1] − f[base]) / a`.
    #[cfg(feature = "gpu")]
    pub(super) fn gpu_table(&self, n: usize) -> Vec<[f32; 4]> {
        (0..n)
            .map(|i| match self.formula(i, n) {
                Formula::Central { d, .. } => [-1.0 / d as f32, 0.0, 1.0 / d as f32, 0.0],
                Formula::Two { d, .. } => [d as f32, 0.0, 0.0, 1.0],
                Formula::Three { w, .. } => [w[0] as f32, w[1] as f32, w[2] as f32, 0.0],
            })
            .collect()
    }
}

/// One formula over whole rows: inputs of type `T`, arithmetic in `W`.
fn rows_in<'r, T: FilterValue + 'r, W: FilterValue>(
    f: Formula,
    row: &impl Fn(usize) -> &'r [T],
    out: &mut [T],
) {
    let w = |v: T| W::from_f64(v.to_f64());
    let back = |v: W| T::from_f64(v.to_f64());
    match f {
        Formula::Central { base, d } | Formula::Two { base, d } => {
            let hi = if matches!(f, Formula::Central { .. }) {
                2
            } else {
                1
            };
            let (p, q, d) = (row(base), row(base + hi), W::from_f64(d));
            for ((o, &a), &b) in out.iter_mut().zip(q).zip(p) {
                *o = back(w(a - b) / d);
            }
        }
        Formula::Three { base, w: [a, b, c] } => {
            let (r0, r1, r2) = (row(base), row(base + 1), row(base + 2));
            let (a, b, c) = (W::from_f64(a), W::from_f64(b), W::from_f64(c));
            for (k, o) in out.iter_mut().enumerate() {
                *o = back(a * w(r0[k]) + b * w(r1[k]) + c * w(r2[k]));
            }
        }
    }
}

/// numpy.gradient along one axis with coordinates, by the definition: the
/// coefficients recomputed at every point, in float64 (the reference the
/// fast paths are checked against for float64 data and coordinates).
pub(super) fn reference_point(
    x: &[f64],
    f: impl Fn(usize) -> f64,
    i: usize,
    edge_order: u8,
) -> f64 {
    let n = x.len();
    let d = |k: usize| x[k + 1] - x[k];
    let even = (1..n - 1).all(|k| d(k) == d(0));
    if i > 0 && i + 1 < n {
        if even {
            return (f(i + 1) - f(i - 1)) / (2.0 * d(0));
        }
        let (dx1, dx2) = (d(i - 1), d(i));
        let a = -dx2 / (dx1 * (dx1 + dx2));
        let b = (dx2 - dx1) / (dx1 * dx2);
        let c = dx1 / (dx2 * (dx1 + dx2));
        return a * f(i - 1) + b * f(i) + c * f(i + 1);
    }
    if edge_order == 1 {
        return if i == 0 {
            (f(1) - f(0)) / d(0)
        } else {
            (f(n - 1) - f(n - 2)) / d(n - 2)
        };
    }
    let (a, b, c) = if even {
        let h = d(0);
        if i == 0 {
            (-1.5 / h, 2.0 / h, -0.5 / h)
        } else {
            (0.5 / h, -2.0 / h, 1.5 / h)
        }
    } else if i == 0 {
        let (dx1, dx2) = (d(0), d(1));
        (
            -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2)),
            (dx1 + dx2) / (dx1 * dx2),
            -dx1 / (dx2 * (dx1 + dx2)),
        )
    } else {
        let (dx1, dx2) = (d(n - 3), d(n - 2));
        (
            dx2 / (dx1 * (dx1 + dx2)),
            -(dx2 + dx1) / (dx1 * dx2),
            (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2)),
        )
    };
    let base = if i == 0 { 0 } else { n - 3 };
    a * f(base) + b * f(base + 1) + c * f(base + 2)
}
