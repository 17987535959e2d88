//! Filter kernels: the 2-D weights type, scipy's gaussian and skimage's
//! gabor kernels, and the split of a kernel into separable terms by SVD.

use crate::error::{Error, Result};

/// A 2-D correlation kernel, row-major `ky × kx` weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    ky: usize,
    kx: usize,
    weights: Vec<f64>,
}

impl Kernel {
    /// A kernel of `ky × kx` weights (row-major), both ≥ 1, all finite.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty shape, a length mismatch or a
    /// weight that is NaN or infinite.
    pub fn new(ky: usize, kx: usize, weights: Vec<f64>) -> Result<Self> {
        if ky == 0 || kx == 0 {
            return Err(Error::invalid(format!("kernel shape {ky}x{kx} is empty")));
        }
        if weights.len() != ky * kx {
            return Err(Error::invalid(format!(
                "{} weights for a {ky}x{kx} kernel",
                weights.len()
            )));
        }
        if let Some(w) = weights.iter().find(|w| !w.is_finite()) {
            return Err(Error::invalid(format!("kernel weight {w} is not finite")));
        }
        Ok(Self { ky, kx, weights })
    }

    /// Rows.
    #[must_use]
    pub fn height(&self) -> usize {
        self.ky
    }
    /// Columns.
    #[must_use]
    pub fn width(&self) -> usize {
        self.kx
    }
    /// The weights, row-major.
    #[must_use]
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The kernel turned by 180° (convolution = correlation with this).
    #[must_use]
    pub fn flipped(&self) -> Self {
        Self {
            ky: self.ky,
            kx: self.kx,
            weights: self.weights.iter().rev().copied().collect(),
        }
    }

    /// The outer product `wy ⊗ wx`.
    #[must_use]
    pub fn outer(wy: &[f64], wx: &[f64]) -> Self {
        Self {
            ky: wy.len(),
            kx: wx.len(),
            weights: wy
                .iter()
                .flat_map(|&a| wx.iter().map(move |&b| a * b))
                .collect(),
        }
    }
}

/// scipy's `_gaussian_kernel1d`: `exp(−x² / 2σ²)` for `x` in
/// `−r..=r`, `r = int(truncate · σ + 0.5)`, normalised to sum 1; σ = 0 gives
/// the identity `[1]`, as scipy skips such an axis.
///
/// # Errors
/// [`Error::InvalidArgument`] for a negative or non-finite σ or truncate.
pub fn gaussian_kernel1d(sigma: f64, truncate: f64) -> Result<Vec<f64>> {
    if !(sigma.is_finite() && sigma >= 0.0 && truncate.is_finite() && truncate >= 0.0) {
        return Err(Error::invalid(format!(
            "sigma {sigma} and truncate {truncate} must be finite and ≥ 0"
        )));
    }
    if sigma <= 1e-15 {
        return Ok(vec![1.0]);
    }
    let radius = (truncate * sigma + 0.5) as i64;
    if radius > 1 << 20 {
        return Err(Error::invalid(format!(
            "sigma {sigma} gives a kernel radius over 2^20"
        )));
    }
    Ok(gaussian_taps(sigma, 0, radius as usize))
}

/// The largest derivative order of the Gaussian kernels (scipy allows any;
/// orders past 3 are rarely meant and lose precision fast).
pub const MAX_GAUSSIAN_ORDER: u32 = 3;

/// scipy's `_gaussian_kernel1d(sigma, order, radius)`: for `x` in
/// `−radius..=radius`, the `order`-th derivative of the Gaussian whose taps
/// are normalised to sum 1 (order 0: those taps). As scipy, the derivative
/// is `q(x)·φ(x)` with the polynomial `q` built by `order` steps of
/// `q ← q′ + q·p′`, `p′(x) = −x/σ²`. `scipy.ndimage.gaussian_filter1d`
/// correlates with these taps reversed.
///
/// # Errors
/// [`Error::InvalidArgument`] for σ not finite and > 0, an order past
/// [`MAX_GAUSSIAN_ORDER`] or a radius over 2^20.
pub fn gaussian_derivative_kernel1d(sigma: f64, order: u32, radius: usize) -> Result<Vec<f64>> {
    if !(sigma.is_finite() && sigma > 0.0) {
        return Err(Error::invalid(format!(
            "sigma {sigma} must be finite and > 0"
        )));
    }
    if order > MAX_GAUSSIAN_ORDER {
        return Err(Error::invalid(format!(
            "derivative order {order} is not supported (0 to {MAX_GAUSSIAN_ORDER})"
        )));
    }
    if radius > 1 << 20 {
        return Err(Error::invalid(format!(
            "kernel radius {radius} is over 2^20"
        )));
    }
    Ok(gaussian_taps(sigma, order, radius))
}

/// [`gaussian_derivative_kernel1d`] for checked arguments.
fn gaussian_taps(sigma: f64, order: u32, radius: usize) -> Vec<f64> {
    let s2 = sigma * sigma;
    let r = radius as i64;
    let phi: Vec<f64> = (-r..=r)
        .map(|x| (-0.5 / s2 * (x * x) as f64).exp())
        .collect();
    let total: f64 = phi.iter().sum();
    let phi = phi.iter().map(|p| p / total);
    if order == 0 {
        return phi.collect();
    }
    // q's coefficients, lowest power first: q ← q′ + q·p′.
    let n = order as usize + 1;
    let mut q = vec![0.0; n];
    q[0] = 1.0;
    for _ in 0..order {
        let next: Vec<f64> = (0..n)
            .map(|i| {
                let deriv = if i + 1 < n {
                    (i + 1) as f64 * q[i + 1]
                } else {
                    0.0
                };
                let times_p = if i > 0 { q[i - 1] / -s2 } else { 0.0 };
                deriv + times_p
            })
            .collect();
        q = next;
    }
    (-r..=r)
        .zip(phi)
        .map(|(x, p)| {
            let x = x as f64;
            // Σ q_i x^i, as numpy's `(x[:, None] ** range).dot(q)`.
            let poly: f64 = q
                .iter()
                .enumerate()
                .map(|(i, c)| x.powi(i as i32) * c)
                .sum();
            poly * p
        })
        .collect()
}

/// skimage's σ for a Gabor kernel of `bandwidth` (octaves) at `frequency`
/// when σx, σy are not given: `√(ln 2 / 2) / π · (2^b + 1) / (2^b − 1) / f`.
///
/// # Errors
/// [`Error::InvalidArgument`] for a frequency that is not finite and > 0
/// (skimage divides by it) or a bandwidth that is not finite and > 0.
pub fn gabor_sigma_from_bandwidth(frequency: f64, bandwidth: f64) -> Result<f64> {
    if !(frequency.is_finite() && frequency > 0.0) {
        return Err(Error::invalid(format!(
            "gabor frequency is {frequency}: sigma can only follow from the bandwidth at a \
             frequency > 0 (give sigma-x and sigma-y)"
        )));
    }
    if !(bandwidth.is_finite() && bandwidth > 0.0) {
        return Err(Error::invalid(format!(
            "gabor bandwidth is {bandwidth}; it must be a finite number > 0"
        )));
    }
    let b = 2f64.powf(bandwidth);
    Ok((2f64.ln() / 2.0).sqrt() / std::f64::consts::PI * (b + 1.0) / (b - 1.0) / frequency)
}

/// skimage's `filters.gabor_kernel` (real and imaginary parts):
/// `exp(−½(x'²/σx² + y'²/σy²)) / (2π σx σy) · exp(i(2π f x' + offset))` with
/// `x' = x cos θ + y sin θ`, `y' = −x sin θ + y cos θ`, on the grid
/// `−y0..=y0 × −x0..=x0` that covers `n_stds` standard deviations.
///
/// Frequency 0 (with σ given) is a plain Gaussian, as in skimage.
///
/// # Errors
/// [`Error::InvalidArgument`] for a non-positive σ, a negative or
/// non-finite frequency, or a kernel over 4097 per side.
pub fn gabor_kernel(
    frequency: f64,
    theta: f64,
    sigma_x: f64,
    sigma_y: f64,
    n_stds: f64,
    offset: f64,
) -> Result<(Kernel, Kernel)> {
    for (name, value, lowest) in [
        ("frequency", frequency, Some(true)),
        ("sigma-x", sigma_x, Some(false)),
        ("sigma-y", sigma_y, Some(false)),
        ("n-stds", n_stds, Some(true)),
        ("theta", theta, None),
        ("offset", offset, None),
    ] {
        let fine = value.is_finite()
            && match lowest {
                Some(false) => value > 0.0,
                Some(true) => value >= 0.0,
                None => true,
            };
        if !fine {
            let rule = match lowest {
                Some(false) => "a finite number > 0",
                Some(true) => "a finite number ≥ 0",
                None => "a finite number",
            };
            return Err(Error::invalid(format!(
                "gabor {name} is {value}; it must be {rule}"
            )));
        }
    }
    let (ct, st) = (theta.cos(), theta.sin());
    let x0 = (n_stds * sigma_x * ct)
        .abs()
        .max((n_stds * sigma_y * st).abs())
        .max(1.0)
        .ceil();
    let y0 = (n_stds * sigma_y * ct)
        .abs()
        .max((n_stds * sigma_x * st).abs())
        .max(1.0)
        .ceil();
    if x0 > 2048.0 || y0 > 2048.0 {
        return Err(Error::invalid(format!(
            "gabor kernel of {}×{} values (n-stds {n_stds}, sigma-x {sigma_x}, sigma-y {sigma_y}): \
             at most 4097 per side",
            2.0 * y0 + 1.0,
            2.0 * x0 + 1.0
        )));
    }
    let (x0, y0) = (x0 as i64, y0 as i64);
    let (ky, kx) = ((2 * y0 + 1) as usize, (2 * x0 + 1) as usize);
    let mut re = Vec::with_capacity(ky * kx);
    let mut im = Vec::with_capacity(ky * kx);
    let norm = 2.0 * std::f64::consts::PI * sigma_x * sigma_y;
    for y in -y0..=y0 {
        for x in -x0..=x0 {
            let (x, y) = (x as f64, y as f64);
            let rotx = x * ct + y * st;
            let roty = -x * st + y * ct;
            let g = (-0.5
                * (rotx * rotx / (sigma_x * sigma_x) + roty * roty / (sigma_y * sigma_y)))
                .exp()
                / norm;
            let phase = 2.0 * std::f64::consts::PI * frequency * rotx + offset;
            re.push(g * phase.cos());
            im.push(g * phase.sin());
        }
    }
    Ok((Kernel::new(ky, kx, re)?, Kernel::new(ky, kx, im)?))
}

/// One separable term: the kernel part `wy ⊗ wx`.
pub(super) type Term = (Vec<f64>, Vec<f64>);

/// The kernel as a sum of separable terms, dropping singular values whose
/// total is at most `tol` of the largest (the SVD, by one-sided Jacobi).
pub(super) fn separable_terms(k: &Kernel, tol: f64) -> Vec<Term> {
    let (m, n) = (k.ky, k.kx);
    // Work on the taller orientation (columns are orthogonalised).
    let transpose = m < n;
    let (rows, cols) = if transpose { (n, m) } else { (m, n) };
    let at = |i: usize, j: usize| {
        if transpose {
            k.weights[j * n + i]
        } else {
            k.weights[i * n + j]
        }
    };
    let mut u: Vec<Vec<f64>> = (0..cols)
        .map(|j| (0..rows).map(|i| at(i, j)).collect())
        .collect();
    let mut v: Vec<Vec<f64>> = (0..cols)
        .map(|j| (0..cols).map(|i| f64::from(u8::from(i == j))).collect())
        .collect();
    for _sweep in 0..60 {
        let mut rotated = false;
        for p in 0..cols {
            for q in p + 1..cols {
                let alpha: f64 = u[p].iter().map(|x| x * x).sum();
                let beta: f64 = u[q].iter().map(|x| x * x).sum();
                let gamma: f64 = u[p].iter().zip(&u[q]).map(|(a, b)| a * b).sum();
                if gamma.abs() <= 1e-15 * (alpha * beta).sqrt() || gamma == 0.0 {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                rotate(&mut u, p, q, c, s);
                rotate(&mut v, p, q, c, s);
            }
        }
        if !rotated {
            break;
        }
    }
    let mut terms: Vec<(f64, Vec<f64>, Vec<f64>)> = (0..cols)
        .map(|j| {
            let sigma = u[j].iter().map(|x| x * x).sum::<f64>().sqrt();
            let left: Vec<f64> = u[j]
                .iter()
                .map(|x| if sigma > 0.0 { x / sigma } else { 0.0 })
                .collect();
            (sigma, left, v[j].clone())
        })
        .collect();
    terms.sort_by(|a, b| b.0.total_cmp(&a.0));
    let largest = terms.first().map_or(0.0, |t| t.0);
    // Keep the shortest prefix whose dropped tail is within tol.
    let mut keep = terms.len();
    let mut tail = 0.0;
    while keep > 1 && tail + terms[keep - 1].0 <= tol * largest {
        tail += terms[keep - 1].0;
        keep -= 1;
    }
    terms
        .into_iter()
        .take(keep)
        .map(|(sigma, left, right)| {
            let r = sigma.sqrt();
            let (a, b): (Vec<f64>, Vec<f64>) = (
                left.iter().map(|x| x * r).collect(),
                right.iter().map(|x| x * r).collect(),
            );
            // u holds the taller side: rows of the kernel unless transposed.
            if transpose {
                (b, a)
            } else {
                (a, b)
            }
        })
        .collect()
}

fn rotate(cols: &mut [Vec<f64>], p: usize, q: usize, c: f64, s: f64) {
    let (lo, hi) = cols.split_at_mut(q);
    for (a, b) in lo[p].iter_mut().zip(hi[0].iter_mut()) {
        let (x, y) = (*a, *b);
        *a = c * x - s * y;
        *b = s * x + c * y;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rebuild(terms: &[Term], ky: usize, kx: usize) -> Vec<f64> {
        let mut out = vec![0.0; ky * kx];
        for (wy, wx) in terms {
            for i in 0..ky {
                for j in 0..kx {
                    out[i * kx + j] += wy[i] * wx[j];
                }
            }
        }
        out
    }

    #[test]
    fn rank_one_kernels_split_into_one_term() {
        let k = Kernel::outer(&[1.0, 2.0, 1.0], &[1.0, 0.0, -1.0, 3.0]);
        let terms = separable_terms(&k, 1e-12);
        assert_eq!(terms.len(), 1);
        for (a, b) in rebuild(&terms, 3, 4).iter().zip(k.weights()) {
            assert!((a - b).abs() < 1e-12);
        }
        let (re, _) = gabor_kernel(0.1, std::f64::consts::FRAC_PI_2, 3.0, 3.0, 3.0, 0.0).unwrap();
        assert_eq!(separable_terms(&re, 1e-12).len(), 1);
    }

    #[test]
    fn full_rank_kernels_rebuild_exactly() {
        let w: Vec<f64> = (0..35)
            .map(|i| ((i * 7919) % 101) as f64 / 50.0 - 1.0)
            .collect();
        for (ky, kx) in [(5, 7), (7, 5)] {
            let k = Kernel::new(ky, kx, w.clone()).unwrap();
            let terms = separable_terms(&k, 0.0);
            for (a, b) in rebuild(&terms, ky, kx).iter().zip(k.weights()) {
                assert!((a - b).abs() < 1e-12, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn gaussian_matches_scipy_radius_and_sum() {
        let g = gaussian_kernel1d(1.5, 4.0).unwrap();
        assert_eq!(g.len(), 13); // radius int(4 * 1.5 + 0.5) = 6
        assert!((g.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert_eq!(gaussian_kernel1d(0.0, 4.0).unwrap(), [1.0]);
        assert!(gaussian_kernel1d(-1.0, 4.0).is_err());
    }
}
