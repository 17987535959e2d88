//! scipy.ndimage's `minimum_filter` and `maximum_filter` with a rectangular
//! window (grey erosion and dilation by a flat box); other footprints in
//! `extremum_footprint`.
//!
//! A box's extremum is separable: the rows' extrema along x, then those
//! rows' extrema along y (scipy runs y first; the order does not change the
//! result, see [`extremum_filter_into`]). Each pass is a few doubling
//! sweeps (after sweep k a position holds the extremum of the next 2^k:
//! ⌊log2 n⌋ + 1 vectorised compares per value), or for windows over
//! [`DOUBLING_MAX`] van Herk / Gil–Werman (blocks of the window length, a
//! running extremum forwards and one backwards inside each: three compares
//! per value whatever the window). Every result is one of the inputs (or
//! the constant): the CPU is exact, and so is the GPU for values f32 holds
//! (f32, u8, u16, i16); f64 there gives the f32 rounding of the exact
//! result (rounding keeps order).

use rayon::prelude::*;

use super::boundary::extend_row;
use super::boundary_index;
use super::extremum_footprint::{footprint_extremum_cpu, ring_values, runs};
use super::{
    box_window, check_out, check_scratch, one_mode, windows, Border, BoundaryMode, FilterInfo,
    Footprint,
};
use crate::array::Element;
use crate::array::{Image, ImageView};
use crate::device::Device;
use crate::error::Error;
use crate::error::Result;

/// Which extremum a window keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Extremum {
    /// `scipy.ndimage.minimum_filter` (grey erosion by a flat box).
    Minimum,
    /// `scipy.ndimage.maximum_filter` (grey dilation by a flat box).
    Maximum,
}

impl Extremum {
    /// scipy's name of the filter.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Minimum => "minimum filter",
            Self::Maximum => "maximum filter",
        }
    }

    /// The `REDUCE` override of `filter.wgsl` and `render_filter.wgsl`
    /// (0 there means weighted sums).
    pub(crate) fn shader_reduce(self) -> u32 {
        match self {
            Self::Minimum => 1,
            Self::Maximum => 2,
        }
    }
}

/// Element types the minimum and maximum filters take: `f32`, `f64`, and
/// the integers an `f32` holds exactly (`u8`, `u16`, `i16`), kept as they
/// are (every result is one of the inputs or the constant).
pub trait ExtremumValue: Element {
    /// The value in f64.
    fn into_f64(self) -> f64;
    /// `v` as this type: floats rounded, integers only when `v` is one.
    fn from_cval(v: f64) -> Option<Self>;
    /// The larger (`MAX`) or smaller of `self` and `b`; a NaN loses to any
    /// number (IEEE maxNum / minNum).
    #[doc(hidden)]
    fn extremum<const MAX: bool>(self, b: Self) -> Self;
    /// Whether this is a NaN.
    #[doc(hidden)]
    fn is_nan(self) -> bool;
    /// `self − b` as numpy subtracts in this type (integers wrap).
    #[doc(hidden)]
    fn difference(self, b: Self) -> Self;
    /// The GPU path (f32 on the device: exact for these types' values).
    #[doc(hidden)]
    #[cfg(feature = "gpu")]
    fn on_gpu(
        ctx: &crate::GpuContext,
        image: ImageView<'_, Self>,
        kind: Extremum,
        window: &Footprint,
        at: ([usize; 2], [BoundaryMode; 2]),
        out: &mut [Self],
    ) -> Result<FilterInfo>;
}

/// `a − b` as numpy subtracts: floats as they are, integers wrapping.
trait NumpySub {
    fn numpy_sub(self, b: Self) -> Self;
}

impl NumpySub for f32 {
    fn numpy_sub(self, b: Self) -> Self {
        self - b
    }
}

impl NumpySub for f64 {
    fn numpy_sub(self, b: Self) -> Self {
        self - b
    }
}

macro_rules! wrapping_numpy_sub {
    ($($t:ty),*) => {$(
        impl NumpySub for $t {
            fn numpy_sub(self, b: Self) -> Self {
                self.wrapping_sub(b)
            }
        }
    )*};
}
wrapping_numpy_sub!(u8, u16, i16);

/// An `ExtremumValue` impl: the type, its cval conversion, its NaN test and
/// its GPU path (the rest is the same for every type).
macro_rules! extremum_value {
    ($t:ty, |$v:ident| $from_cval:expr, |$x:ident| $is_nan:expr, $gpu:path) => {
        impl ExtremumValue for $t {
            fn into_f64(self) -> f64 {
                f64::from(self)
            }
            fn from_cval($v: f64) -> Option<Self> {
                $from_cval
            }
            #[inline(always)]
            fn extremum<const MAX: bool>(self, b: Self) -> Self {
                if MAX {
                    self.max(b)
                } else {
                    self.min(b)
                }
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                let $x = self;
                $is_nan
            }
            fn difference(self, b: Self) -> Self {
                NumpySub::numpy_sub(self, b)
            }
            #[cfg(feature = "gpu")]
            fn on_gpu(
                ctx: &crate::GpuContext,
                image: ImageView<'_, Self>,
                kind: Extremum,
                window: &Footprint,
                at: ([usize; 2], [BoundaryMode; 2]),
                out: &mut [Self],
            ) -> Result<FilterInfo> {
                $gpu(ctx, image, kind, window, at, out)
            }
        }
    };
}

extremum_value!(
    f32,
    |v| Some(v as f32),
    |x| x.is_nan(),
    super::gpu::extremum
);
extremum_value!(f64, |v| Some(v), |x| x.is_nan(), super::gpu::extremum);
extremum_value!(
    u8,
    |v| int_cval(v, u8::MIN, u8::MAX),
    |_x| false,
    gpu_through_f32
);
extremum_value!(
    u16,
    |v| int_cval(v, u16::MIN, u16::MAX),
    |_x| false,
    gpu_through_f32
);
extremum_value!(
    i16,
    |v| int_cval(v, i16::MIN, i16::MAX),
    |_x| false,
    gpu_through_f32
);

/// `v` as an integer of the range `min..=max` when it is one, for
/// [`ExtremumValue::from_cval`].
fn int_cval<I: Into<f64> + Copy + TryFrom<i64>>(v: f64, min: I, max: I) -> Option<I> {
    let fits = v.fract() == 0.0 && v >= min.into() && v <= max.into();
    // In range and whole: the i64 conversion is exact.
    fits.then(|| I::try_from(v as i64).ok()).flatten()
}

/// The GPU path of an integer type: through f32, which holds every value
/// of these types, so the results come back exactly.
#[cfg(feature = "gpu")]
fn gpu_through_f32<T: ExtremumValue + Into<f32>>(
    ctx: &crate::GpuContext,
    image: ImageView<'_, T>,
    kind: Extremum,
    window: &Footprint,
    at: ([usize; 2], [BoundaryMode; 2]),
    out: &mut [T],
) -> Result<FilterInfo> {
    through_f32(image, out, |view, floats| {
        super::gpu::extremum(ctx, view, kind, window, at, floats)
    })
}

/// `run` on the image's values as f32 and its f32 results back as `T`
/// (exact for the integer types f32 holds, whose filters return inputs).
#[cfg(feature = "gpu")]
pub(super) fn through_f32<T: ExtremumValue + Into<f32>>(
    image: ImageView<'_, T>,
    out: &mut [T],
    run: impl FnOnce(ImageView<'_, f32>, &mut [f32]) -> Result<FilterInfo>,
) -> Result<FilterInfo> {
    let values: Vec<f32> = image.data().iter().map(|&v| v.into()).collect();
    let view = ImageView::new(&values, image.height(), image.width(), image.channels())?;
    let mut floats = vec![0f32; out.len()];
    let info = run(view, &mut floats)?;
    for (o, f) in out.iter_mut().zip(floats) {
        *o = T::from_cval(f64::from(f)).unwrap_or_default();
    }
    Ok(info)
}

/// Output rows per piece of work: the y pass reads `ny − 1` more rows than
/// it writes, so pieces grow with the window to keep that overhead small.
fn piece_rows(ny: usize) -> usize {
    128.max(ny.saturating_mul(4))
}

/// `scipy.ndimage.minimum_filter(image, size=(ny, nx), mode=…, origin=…)`
/// or `maximum_filter` over the first two axes of each channel; or with
/// any [`Footprint`] (scipy's `footprint=`: grey erosion or dilation by a
/// flat disk, cross, …).
///
/// ```
/// use gpix::{extremum_filter, BoundaryMode, Device, Extremum, ImageView};
/// let image = [3.0f32, 1.0, 4.0, 1.0, 5.0];
/// let view = ImageView::new(&image, 1, 5, 1)?;
/// let out = extremum_filter(&Device::Cpu, view, Extremum::Maximum, [1, 3], BoundaryMode::Reflect)?;
/// assert_eq!(out.data(), [3.0, 4.0, 4.0, 5.0, 5.0]);
/// # Ok::<(), gpix::Error>(())
/// ```
///
/// A size of 0 or 1 along an axis means no filtering along it (scipy's
/// rule). `border`: a [`BoundaryMode`], or a [`Border`] with one mode per
/// axis (a footprint other than a rectangle takes one, as scipy) and
/// scipy's `origin`. NaNs are skipped on the CPU (a window of NaNs only
/// gives NaN); on a GPU a window holding a NaN gives an unspecified value
/// (WGSL leaves `min`/`max` of NaN to the driver).
///
/// A footprint costs about two vectorised compares per run of marked
/// columns and value on the CPU (a disk of radius r: 2·(2r + 1)); on a GPU
/// it runs as the rank filter's rank 0 or n − 1.
///
/// # Errors
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for an origin
/// outside scipy's rule, a footprint marking no position or two modes with
/// one; [`Error::Gpu`](crate::Error::Gpu) if a GPU kernel
/// fails; [`Error::TooLarge`](crate::Error::TooLarge) if the scratch rows
/// would exceed the memory limit.
pub fn extremum_filter<T: ExtremumValue>(
    device: &Device,
    image: ImageView<'_, T>,
    kind: Extremum,
    window: impl Into<Footprint>,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    let mut out = Image::zeros(image.height(), image.width(), image.channels())?;
    extremum_filter_into(device, image, kind, window, border, out.data_mut())?;
    Ok(out)
}

/// [`extremum_filter`] with [`Extremum::Minimum`]: scipy's `minimum_filter`.
///
/// # Errors
/// As [`extremum_filter`].
pub fn minimum_filter<T: ExtremumValue>(
    device: &Device,
    image: ImageView<'_, T>,
    window: impl Into<Footprint>,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    extremum_filter(device, image, Extremum::Minimum, window, border)
}

/// [`extremum_filter`] with [`Extremum::Maximum`]: scipy's `maximum_filter`.
///
/// # Errors
/// As [`extremum_filter`].
pub fn maximum_filter<T: ExtremumValue>(
    device: &Device,
    image: ImageView<'_, T>,
    window: impl Into<Footprint>,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    extremum_filter(device, image, Extremum::Maximum, window, border)
}

/// [`extremum_filter`] into a caller-owned buffer of `image.data().len()`
/// values.
///
/// With one constant per axis, a window reaching outside along y reads the
/// y constant and along x the x constant (which one a corner reads never
/// matters: a window holding a corner holds both edges beside it).
///
/// # Errors
/// As [`extremum_filter`], and [`Error::InvalidArgument`](crate::Error::InvalidArgument)
/// for a wrong `out` length.
pub fn extremum_filter_into<T: ExtremumValue>(
    device: &Device,
    image: ImageView<'_, T>,
    kind: Extremum,
    window: impl Into<Footprint>,
    border: impl Into<Border>,
    out: &mut [T],
) -> Result<FilterInfo> {
    let (window, border) = (window.into(), border.into());
    if !window.is_rectangle() {
        return footprint_extremum_into(device, image, kind, &window, &border, out);
    }
    let (size, anchor) = box_window(window.size(), &border)?;
    check_out(&image, out.len(), "the output")?;
    check_cval::<T>(&border)?;
    let row_len = image.width() * image.channels();
    // Per worker: a piece's rows three times (the x-pass rows, and van
    // Herk's two runs of them for tall windows) and two extended rows; in
    // u128, so absurd windows are refused rather than wrapped.
    let rows = piece_rows(size[0]) as u128 + size[0] as u128;
    let ext = (image.width() as u128 + size[1] as u128) * image.channels() as u128;
    let per_worker = rows
        .checked_mul(3 * row_len as u128)
        .and_then(|v| v.checked_add(ext * 2));
    check_scratch(
        &format!(
            "a {}x{} {} over rows of {row_len} values",
            size[0],
            size[1],
            kind.name()
        ),
        per_worker,
        size_of::<T>(),
    )?;
    match device {
        Device::Cpu => {
            extremum_cpu(image, kind, size, (anchor, border.modes), out);
            Ok(FilterInfo {
                method: format!(
                    "{}x{} window by {} (exact)",
                    size[0],
                    size[1],
                    if size[0].max(size[1]) > DOUBLING_MAX {
                        "doubling sweeps and van Herk"
                    } else {
                        "doubling sweeps"
                    }
                ),
            })
        }
        #[cfg(feature = "gpu")]
        Device::Gpu(ctx) => {
            let window = Footprint::rectangle(size);
            T::on_gpu(ctx, image, kind, &window, (anchor, border.modes), out)
        }
    }
}

/// The anchor of a footprint that is not a rectangle, checked: it marks a
/// position, one mode, scipy's origin rule on both axes.
fn footprint_anchor(window: &Footprint, border: &Border) -> Result<[usize; 2]> {
    let size = window.size();
    if window.is_empty() {
        return Err(Error::invalid(format!(
            "a {}x{} footprint that marks no position (scipy: all-zero footprint is not supported)",
            size[0], size[1]
        )));
    }
    one_mode(border, "a minimum or maximum filter over a footprint")?;
    border.anchor(size)
}

/// [`extremum_filter_into`] of a footprint that is not a rectangle.
fn footprint_extremum_into<T: ExtremumValue>(
    device: &Device,
    image: ImageView<'_, T>,
    kind: Extremum,
    window: &Footprint,
    border: &Border,
    out: &mut [T],
) -> Result<FilterInfo> {
    let anchor = footprint_anchor(window, border)?;
    check_out(&image, out.len(), "the output")?;
    check_cval::<T>(border)?;
    let size = window.size();
    let runs = runs(window);
    check_scratch(
        &format!("a {}x{} {}'s rows", size[0], size[1], kind.name()),
        ring_values(window, &runs, image.width(), image.channels()),
        size_of::<T>(),
    )?;
    match device {
        Device::Cpu => {
            footprint_extremum_cpu(image, kind, window, (anchor, border.modes[0]), out);
            Ok(FilterInfo {
                method: format!(
                    "{}x{} footprint of {} values in {} runs of columns, by doubling sweeps \
                     (exact)",
                    size[0],
                    size[1],
                    window.len(),
                    runs.len()
                ),
            })
        }
        #[cfg(feature = "gpu")]
        Device::Gpu(ctx) => T::on_gpu(ctx, image, kind, window, (anchor, border.modes), out),
    }
}

/// The definition of [`extremum_filter`]: each window's (footprint's)
/// extremum, read value by value through the boundary modes, in f64.
///
/// # Errors
/// As [`extremum_filter`] for the origin.
pub fn extremum_filter_reference<T: ExtremumValue>(
    image: ImageView<'_, T>,
    kind: Extremum,
    window: impl Into<Footprint>,
    border: impl Into<Border>,
) -> Result<Image<f64>> {
    let (window, border) = (window.into(), border.into());
    let (size, anchor) = if window.is_rectangle() {
        box_window(window.size(), &border)?
    } else {
        (window.size(), footprint_anchor(&window, &border)?)
    };
    check_cval::<T>(&border)?;
    let values: Vec<f64> = image.data().iter().map(|&v| v.into_f64()).collect();
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let mut out = vec![0f64; values.len()];
    windows(
        ImageView::new(&values, h, w, c)?,
        size,
        (anchor, border.modes),
        |i, v| {
            // `box_window` widens a 0 side to 1: every position then.
            let marked = (0..v.len())
                .filter(|p| window.is_rectangle() || window.contains(p / size[1], p % size[1]))
                .map(|p| v[p]);
            out[i] = match kind {
                Extremum::Minimum => marked.reduce(pick::<f64, false, true>),
                Extremum::Maximum => marked.reduce(pick::<f64, true, true>),
            }
            .unwrap_or(0.0);
        },
    );
    Image::from_vec(out, h, w, c)
}

/// The constants of `border` must be values of `T` (the filters keep the
/// input's type).
pub(super) fn check_cval<T: ExtremumValue>(border: &Border) -> Result<()> {
    for mode in border.modes {
        if let BoundaryMode::Constant(v) = mode {
            if T::from_cval(v).is_none() {
                return Err(Error::invalid(format!(
                    "cval {v} is not a {} value (minimum and maximum filters keep the input's type)",
                    T::NAME
                )));
            }
        }
    }
    Ok(())
}

/// The kept one of `a` and `b` (`MAX`: the larger). `SAFE`: a NaN loses
/// to any number, so windows skip NaNs; else NaNs must not occur.
#[inline(always)]
fn pick<T: ExtremumValue, const MAX: bool, const SAFE: bool>(a: T, b: T) -> T {
    if SAFE {
        a.extremum::<MAX>(b)
    } else if MAX {
        // A plain compare and select: one vector max instruction (maxNum's
        // NaN handling kept the sweeps scalar); only for lines without NaN.
        if b > a {
            b
        } else {
            a
        }
    } else if b < a {
        b
    } else {
        a
    }
}

/// Values per step of the sweeps: fixed-size groups the compiler turns
/// into vector compares (a plain zipped loop stayed scalar). 32 fills AVX2
/// registers with bytes (uint8 images: 51 → 3.5 ms for 15×15 on 5000²
/// against 8) and costs floats nothing.
const GROUP: usize = 32;

/// A `GROUP`-long chunk as an array.
#[inline(always)]
fn group<T: ExtremumValue>(chunk: &[T]) -> [T; GROUP] {
    chunk.try_into().expect("a chunk of GROUP values")
}

/// `dst[i] = pick(a[i], b[i])` (all three the same length).
#[inline(always)]
pub(super) fn pick_into<T: ExtremumValue, const MAX: bool, const SAFE: bool>(
    dst: &mut [T],
    a: &[T],
    b: &[T],
) {
    let (a, b) = (&a[..dst.len()], &b[..dst.len()]);
    let mut d = dst.chunks_exact_mut(GROUP);
    let (mut ag, mut bg) = (a.chunks_exact(GROUP), b.chunks_exact(GROUP));
    for ((d, a), b) in (&mut d).zip(&mut ag).zip(&mut bg) {
        let (a, b): ([T; GROUP], [T; GROUP]) = (group(a), group(b));
        d.copy_from_slice(&std::array::from_fn::<T, GROUP, _>(|k| {
            pick::<T, MAX, SAFE>(a[k], b[k])
        }));
    }
    for ((d, &a), &b) in d
        .into_remainder()
        .iter_mut()
        .zip(ag.remainder())
        .zip(bg.remainder())
    {
        *d = pick::<T, MAX, SAFE>(a, b);
    }
}

/// `dst[i] = pick(dst[i], b[i])` over `dst`'s length.
#[inline(always)]
pub(super) fn pick_assign<T: ExtremumValue, const MAX: bool, const SAFE: bool>(
    dst: &mut [T],
    b: &[T],
) {
    let b = &b[..dst.len()];
    let mut d = dst.chunks_exact_mut(GROUP);
    let mut bg = b.chunks_exact(GROUP);
    for (d, b) in (&mut d).zip(&mut bg) {
        // Every load before any store, so the group becomes vector code.
        let (a, b): ([T; GROUP], [T; GROUP]) = (group(d), group(b));
        d.copy_from_slice(&std::array::from_fn::<T, GROUP, _>(|k| {
            pick::<T, MAX, SAFE>(a[k], b[k])
        }));
    }
    for (d, &b) in d.into_remainder().iter_mut().zip(bg.remainder()) {
        *d = pick::<T, MAX, SAFE>(*d, b);
    }
}

/// The CPU path: pieces of output rows in parallel, each the x pass of its
/// input rows (halo included) and the y pass of those.
fn extremum_cpu<T: ExtremumValue>(
    image: ImageView<'_, T>,
    kind: Extremum,
    size: [usize; 2],
    (anchor, modes): ([usize; 2], [BoundaryMode; 2]),
    out: &mut [T],
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    if h == 0 || row_len == 0 {
        return;
    }
    // A few blocks per thread, each cut into pieces that reuse one scratch
    // (fresh scratch per piece would pay its page faults again).
    let piece = piece_rows(size[0]).min(h);
    let blocks = (rayon::current_num_threads() * 2).clamp(1, h.div_ceil(piece));
    let block_rows = h.div_ceil(blocks).div_ceil(piece) * piece;
    out.par_chunks_mut(block_rows * row_len)
        .enumerate()
        .for_each(|(b, block)| {
            let mut scratch = Scratch::<T>::take();
            for (p, out) in block.chunks_mut(piece * row_len).enumerate() {
                let first = b * block_rows + p * piece;
                let rows = first..first + out.len() / row_len;
                let at = (anchor, modes);
                match kind {
                    Extremum::Minimum => {
                        piece_extrema::<T, false>(image, size, at, rows, out, &mut scratch);
                    }
                    Extremum::Maximum => {
                        piece_extrema::<T, true>(image, size, at, rows, out, &mut scratch);
                    }
                }
            }
            scratch.give_back();
        });
}

/// A worker's reused buffers.
#[derive(Default)]
struct Scratch<T> {
    /// The rows of the x pass (the y pass's input).
    xs: Vec<T>,
    forward: Vec<T>,
    backward: Vec<T>,
    /// One row extended by the x mode.
    ext: Vec<T>,
}

impl<T: ExtremumValue> Scratch<T> {
    /// This thread's kept scratch of `T`, or a new one.
    fn take() -> Self {
        super::scratch::take()
    }

    /// Keeps the buffers for this thread's next call, unless large.
    fn give_back(self) {
        use super::scratch::capacity_bytes as bytes;
        let held =
            bytes(&self.xs) + bytes(&self.forward) + bytes(&self.backward) + bytes(&self.ext);
        super::scratch::give_back(self, held);
    }
}

fn piece_extrema<T: ExtremumValue, const MAX: bool>(
    image: ImageView<'_, T>,
    [ny, nx]: [usize; 2],
    ([top, left], [mode_y, mode_x]): ([usize; 2], [BoundaryMode; 2]),
    rows: std::ops::Range<usize>,
    out: &mut [T],
    s: &mut Scratch<T>,
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    let rows_in = rows.len() + ny - 1;
    s.xs.resize(rows_in * row_len, T::default());
    // Checked by `check_cval`: both constants are values of `T`.
    let cvals = [mode_y, mode_x].map(|m| T::from_cval(m.cval()).unwrap_or_default());
    // The fast compares only where no NaN can reach them: each extended
    // row is checked while it is in L1; the y pass takes the NaN-aware
    // compares if any row held one.
    let mut any_nan = false;
    for (t, xs_row) in s.xs.chunks_exact_mut(row_len).enumerate() {
        let y = rows.start as i64 - top as i64 + t as i64;
        let source = boundary_index(y, h, mode_y).map(|y| &image.data()[y * row_len..][..row_len]);
        // The doubling sweeps shortened `ext` (it and `forward` take turns).
        s.ext.resize((w + nx - 1) * c, T::default());
        extend_row(source, (w, c), (nx, left), mode_x, cvals, &mut s.ext);
        let nan = has_nan(&s.ext);
        any_nan |= nan;
        let buffers = (&mut s.ext, [&mut s.forward, &mut s.backward]);
        if nan {
            row_pass::<T, MAX, true>(buffers, nx, c, xs_row);
        } else {
            row_pass::<T, MAX, false>(buffers, nx, c, xs_row);
        }
    }
    let buffers = (&mut s.xs, [&mut s.forward, &mut s.backward]);
    if any_nan {
        column_pass::<T, MAX, true>(buffers, ny, row_len, out);
    } else {
        column_pass::<T, MAX, false>(buffers, ny, row_len, out);
    }
}

/// Whether `values` holds a NaN (vectorised: no early exit).
pub(super) fn has_nan<T: ExtremumValue>(values: &[T]) -> bool {
    values.iter().fold(false, |any, &v| any | v.is_nan())
}

/// The x pass of one extended row into `out`.
fn row_pass<T: ExtremumValue, const MAX: bool, const SAFE: bool>(
    (ext, [forward, backward]): (&mut Vec<T>, [&mut Vec<T>; 2]),
    nx: usize,
    c: usize,
    out: &mut [T],
) {
    if nx > DOUBLING_MAX {
        running_extrema::<T, MAX, SAFE>(ext, nx, c, out, [forward, backward]);
    } else {
        doubling_row::<T, MAX, SAFE>(ext, forward, nx, c, out);
    }
}

/// The y pass of a piece's x-pass rows into its output rows.
fn column_pass<T: ExtremumValue, const MAX: bool, const SAFE: bool>(
    (xs, [forward, backward]): (&mut Vec<T>, [&mut Vec<T>; 2]),
    ny: usize,
    row_len: usize,
    out: &mut [T],
) {
    if ny > DOUBLING_MAX {
        running_extrema::<T, MAX, SAFE>(xs, ny, row_len, out, [forward, backward]);
    } else {
        doubling_rows::<T, MAX, SAFE>(xs, ny, row_len, out);
    }
}

/// Windows up to this long take the doubling passes (⌊log2 n⌋ + 1
/// comparisons per value, each a vectorised sweep); longer ones van Herk's
/// three (a dependent chain when a position holds few lanes).
const DOUBLING_MAX: usize = 128;

/// The largest power of two `p ≤ n` (n ≥ 1).
pub(super) fn power_below(n: usize) -> usize {
    1 << n.ilog2()
}

/// Window extrema of `win` positions of `lanes` values along `ext` into
/// `out`, by doubling: after a sweep every position holds the extremum of
/// the next `p` positions, `p` doubling each sweep up to the power of two
/// `p ≤ win`; a window is then the extremum of two overlapping `p`-runs.
/// `ext` is overwritten (it and `tmp` take turns).
fn doubling_row<T: ExtremumValue, const MAX: bool, const SAFE: bool>(
    ext: &mut Vec<T>,
    tmp: &mut Vec<T>,
    win: usize,
    lanes: usize,
    out: &mut [T],
) {
    let top = power_below(win);
    tmp.resize(ext.len(), T::default());
    let mut p = 1;
    while p < top {
        let shift = p * lanes;
        let n = ext.len() - shift;
        pick_into::<T, MAX, SAFE>(&mut tmp[..n], &ext[..n], &ext[shift..]);
        std::mem::swap(ext, tmp);
        ext.truncate(n);
        p *= 2;
    }
    let (shift, n) = ((win - top) * lanes, out.len());
    pick_into::<T, MAX, SAFE>(out, &ext[..n], &ext[shift..shift + n]);
}

/// Bytes of each row a y sweep works on at a time: a piece's rows of one
/// strip stay in the core's L2 through all the sweeps.
const STRIP_BYTES: usize = 4096;

/// As [`doubling_row`] down the rows of `rows` (each `row_len` values) into
/// the `out` rows, in place, strip by strip of columns: row `i` takes row
/// `i + p`, which is still the previous sweep's.
fn doubling_rows<T: ExtremumValue, const MAX: bool, const SAFE: bool>(
    rows: &mut [T],
    win: usize,
    row_len: usize,
    out: &mut [T],
) {
    let top = power_below(win);
    let n_in = rows.len() / row_len;
    let n_out = out.len() / row_len;
    let strip = (STRIP_BYTES / size_of::<T>()).max(GROUP);
    for x0 in (0..row_len).step_by(strip) {
        let lanes = x0..(x0 + strip).min(row_len);
        let mut n = n_in;
        let mut p = 1;
        while p < top {
            n -= p;
            for i in 0..n {
                let (head, tail) = rows.split_at_mut((i + p) * row_len);
                let row = &mut head[i * row_len..(i + 1) * row_len];
                pick_assign::<T, MAX, SAFE>(&mut row[lanes.clone()], &tail[lanes.clone()]);
            }
            p *= 2;
        }
        let shift = win - top;
        for i in 0..n_out {
            let (a, b) = (i * row_len, (i + shift) * row_len);
            let o = &mut out[a..a + row_len][lanes.clone()];
            pick_into::<T, MAX, SAFE>(
                o,
                &rows[a..a + row_len][lanes.clone()],
                &rows[b..b + row_len][lanes.clone()],
            );
        }
    }
}

/// Window extrema of `win` positions along a line of positions holding
/// `lanes` values each: `out[x] = pick over ext[x .. x + win]` for the
/// `out.len() / lanes` windows (van Herk / Gil–Werman: blocks of `win`
/// positions, a forward running extremum from each block's start and a
/// backward one from its end; a window is one backward value and one
/// forward value).
fn running_extrema<T: ExtremumValue, const MAX: bool, const SAFE: bool>(
    ext: &[T],
    win: usize,
    lanes: usize,
    out: &mut [T],
    [forward, backward]: [&mut Vec<T>; 2],
) {
    if win == 1 {
        out.copy_from_slice(&ext[..out.len()]);
        return;
    }
    forward.clear();
    forward.extend_from_slice(ext);
    backward.clear();
    backward.extend_from_slice(ext);
    for block in forward.chunks_mut(win * lanes) {
        for p in 1..block.len() / lanes {
            let (done, rest) = block.split_at_mut(p * lanes);
            for (f, &q) in rest[..lanes].iter_mut().zip(&done[(p - 1) * lanes..]) {
                *f = pick::<T, MAX, SAFE>(*f, q);
            }
        }
    }
    for block in backward.chunks_mut(win * lanes) {
        for p in (0..block.len() / lanes - 1).rev() {
            let (head, next) = block.split_at_mut((p + 1) * lanes);
            for (b, &q) in head[p * lanes..].iter_mut().zip(&next[..lanes]) {
                *b = pick::<T, MAX, SAFE>(*b, q);
            }
        }
    }
    let ahead = (win - 1) * lanes;
    for ((o, &b), &f) in out.iter_mut().zip(backward.iter()).zip(&forward[ahead..]) {
        *o = pick::<T, MAX, SAFE>(b, f);
    }
}
