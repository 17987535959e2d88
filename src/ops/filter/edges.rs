//! scipy.ndimage's `sobel`, `prewitt` and `laplace` over the first two axes
//! of each channel, built from the correlation plans (so their CPU and GPU
//! paths are [`correlate`](super::correlate)'s).
//!
//! scipy runs them as 1-D passes, each applying its axis's border to the
//! previous pass's result. For reflect, mirror, nearest and wrap that equals
//! one 3×3 correlation (those borders commute with filtering along the
//! other axis), which is what runs. A constant border does not commute
//! (scipy pads the derivative with `cval`, not the image), so sobel and
//! prewitt with a constant border run scipy's two passes. Laplace's 3×3
//! cross reads each padded value along one axis only, so one correlation
//! equals scipy's sum of passes for every border.

use super::{check_out, correlate_reference_at, rank_tolerance, run_plan, FilterInfo, FilterValue};
use super::{Border, BoundaryMode, CorrelationMethod, Kernel, Plan};
use crate::array::{Image, ImageView};
use crate::device::Device;
use crate::error::{Error, Result};

/// Which of scipy's edge filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeFilter {
    /// `[-1, 0, 1]` along `axis` (0: rows, y; 1: columns, x), smoothed by
    /// `[1, 2, 1]` along the other.
    Sobel {
        /// The derivative's axis: 0 (y) or 1 (x).
        axis: usize,
    },
    /// As [`EdgeFilter::Sobel`] with `[1, 1, 1]` smoothing.
    Prewitt {
        /// The derivative's axis: 0 (y) or 1 (x).
        axis: usize,
    },
    /// The sum of second differences `[1, -2, 1]` along both axes.
    Laplace,
}

const DERIVATIVE: [f64; 3] = [-1.0, 0.0, 1.0];
const SECOND: [f64; 3] = [1.0, -2.0, 1.0];

impl EdgeFilter {
    /// scipy's name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Sobel { .. } => "sobel",
            Self::Prewitt { .. } => "prewitt",
            Self::Laplace => "laplace",
        }
    }

    /// The derivative's axis and the smoothing weights (sobel, prewitt).
    fn derivative(self) -> Option<(usize, [f64; 3])> {
        match self {
            Self::Sobel { axis } => Some((axis, [1.0, 2.0, 1.0])),
            Self::Prewitt { axis } => Some((axis, [1.0, 1.0, 1.0])),
            Self::Laplace => None,
        }
    }

    fn check(self, border: &Border) -> Result<()> {
        if border.origin != [0, 0] {
            return Err(Error::invalid(format!(
                "{} takes no origin (scipy's has none)",
                self.name()
            )));
        }
        match self.derivative() {
            Some((axis, _)) if axis > 1 => Err(Error::invalid(format!(
                "{} axis {axis}: 0 (rows) or 1 (columns)",
                self.name()
            ))),
            _ => Ok(()),
        }
    }
}

/// The 3×3 kernel of a filter run as one correlation.
fn kernel_3x3(filter: EdgeFilter) -> Kernel {
    match filter.derivative() {
        Some((0, smooth)) => Kernel::outer(&DERIVATIVE, &smooth),
        Some((_, smooth)) => Kernel::outer(&smooth, &DERIVATIVE),
        None => {
            let mut w = [0.0; 9];
            for k in 0..3 {
                w[3 + k] += SECOND[k];
                w[3 * k + 1] += SECOND[k];
            }
            Kernel::new(3, 3, w.to_vec()).expect("a finite 3×3 kernel")
        }
    }
}

/// 3 weights along `axis` (0: a column kernel, 1: a row kernel), anchored
/// at their middle.
fn along(axis: usize, weights: [f64; 3]) -> (Kernel, [usize; 2]) {
    let (ky, kx, center) = if axis == 0 {
        (3, 1, [1, 0])
    } else {
        (1, 3, [0, 1])
    };
    let kernel = Kernel::new(ky, kx, weights.to_vec()).expect("three finite weights");
    (kernel, center)
}

fn is_constant(mode: BoundaryMode) -> bool {
    matches!(mode, BoundaryMode::Constant(_))
}

/// `scipy.ndimage.sobel / prewitt / laplace` of each channel over the first
/// two axes, `border` one mode or one per axis (scipy's sequence of modes),
/// no origin.
///
/// ```
/// use gpix::{edge_filter, BoundaryMode, Device, EdgeFilter, ImageView};
/// let step = [0.0f32, 0.0, 1.0, 1.0].repeat(3);
/// let image = ImageView::new(&step, 3, 4, 1)?;
/// let out = edge_filter(&Device::Cpu, image, EdgeFilter::Sobel { axis: 1 }, BoundaryMode::Reflect)?;
/// assert_eq!(&out.data()[..4], [0.0, 4.0, 4.0, 0.0]);
/// # Ok::<(), gpix::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for an axis other than 0 or 1 or a non-zero
/// origin; [`Error::Gpu`] if a GPU kernel fails.
pub fn edge_filter<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    filter: EdgeFilter,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    super::allocated(&image, |out| {
        edge_filter_into(device, image, filter, border, out)
    })
}

/// [`edge_filter`] into a caller-owned buffer.
///
/// # Errors
/// As [`edge_filter`], and [`Error::InvalidArgument`] for a wrong `out`
/// length.
pub fn edge_filter_into<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    filter: EdgeFilter,
    border: impl Into<Border>,
    out: &mut [T],
) -> Result<FilterInfo> {
    let border = border.into();
    filter.check(&border)?;
    check_out(&image, out.len(), "the output")?;
    let modes = border.modes;
    let tol = rank_tolerance::<T>();
    match filter.derivative() {
        Some((axis, smooth)) if modes.iter().any(|&m| is_constant(m)) => {
            // scipy's passes: the derivative, then the smoothing of it.
            let (first, at) = along(axis, DERIVATIVE);
            let mut scratch = vec![T::default(); out.len()];
            let plan = Plan::new(&first, at, tol, CorrelationMethod::Direct);
            run_plan(device, image, &plan, modes, &mut scratch)?;
            let view = ImageView::new(&scratch, image.height(), image.width(), image.channels())?;
            let (second, at) = along(1 - axis, smooth);
            let plan = Plan::new(&second, at, tol, CorrelationMethod::Direct);
            let info = run_plan(device, view, &plan, modes, out)?;
            Ok(FilterInfo {
                method: format!(
                    "the derivative, then the smoothing (scipy's passes, for the constant \
                     border): {}",
                    info.method
                ),
            })
        }
        _ => {
            let plan = Plan::new(&kernel_3x3(filter), [1, 1], tol, CorrelationMethod::Auto);
            run_plan(device, image, &plan, modes, out)
        }
    }
}

/// The definition of [`edge_filter`]: scipy's 1-D passes in f64 (for
/// sobel and prewitt the derivative, then the smoothing of its result; for
/// laplace the sum of each axis's pass over the image).
///
/// # Errors
/// As [`edge_filter`] for the axis and origin.
pub fn edge_filter_reference<T: FilterValue>(
    image: ImageView<'_, T>,
    filter: EdgeFilter,
    border: impl Into<Border>,
) -> Result<Image<f64>> {
    let border = border.into();
    filter.check(&border)?;
    let modes = border.modes;
    let pass = |axis: usize, weights: [f64; 3], values: ImageView<'_, f64>| {
        let (kernel, at) = along(axis, weights);
        correlate_reference_at(values, &kernel, at, modes)
    };
    let data: Vec<f64> = image.data().iter().map(|v| v.to_f64()).collect();
    let image = ImageView::new(&data, image.height(), image.width(), image.channels())?;
    match filter.derivative() {
        Some((axis, smooth)) => {
            let first = pass(axis, DERIVATIVE, image)?;
            pass(1 - axis, smooth, first.view())
        }
        None => {
            let mut sum = pass(0, SECOND, image)?;
            let x = pass(1, SECOND, image)?;
            for (s, v) in sum.data_mut().iter_mut().zip(x.data()) {
                *s += v;
            }
            Ok(sum)
        }
    }
}
