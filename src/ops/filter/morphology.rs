//! scipy.ndimage's grey morphology with a flat structuring element
//! (`grey_erosion`, `grey_dilation`, `grey_opening`, `grey_closing`,
//! `morphological_gradient`, `white_tophat`, `black_tophat`): compositions
//! of the minimum and maximum filters over a rectangle or any
//! [`Footprint`], on any device.

use super::extremum::{extremum_filter_into, extremum_filter_reference};
use super::{Border, Extremum, ExtremumValue, FilterInfo, Footprint};
use crate::array::{Image, ImageView};
use crate::device::Device;
use crate::error::Result;

/// Which grey morphology operation (scipy.ndimage's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Morphology {
    /// `grey_erosion`: the minimum filter.
    Erosion,
    /// `grey_dilation`: the maximum filter over the reflected window (its
    /// origin negated, one less along an even side), as scipy.
    Dilation,
    /// `grey_opening`: the dilation of the erosion.
    Opening,
    /// `grey_closing`: the erosion of the dilation.
    Closing,
    /// `morphological_gradient`: dilation minus erosion.
    Gradient,
    /// `white_tophat`: the input minus its opening.
    WhiteTophat,
    /// `black_tophat`: the closing minus the input.
    BlackTophat,
}

impl Morphology {
    /// scipy's name of the function.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Erosion => "grey_erosion",
            Self::Dilation => "grey_dilation",
            Self::Opening => "grey_opening",
            Self::Closing => "grey_closing",
            Self::Gradient => "morphological_gradient",
            Self::WhiteTophat => "white_tophat",
            Self::BlackTophat => "black_tophat",
        }
    }
}

/// One step: erode or dilate.
#[derive(Clone, Copy)]
enum Step {
    Erode,
    Dilate,
}

/// The dilation's window and border: the footprint reflected, each origin
/// negated and one less along an even side (scipy's `grey_dilation`).
fn dilation_window(window: &Footprint, border: &Border) -> (Footprint, Border) {
    let size = window.size();
    let origin = [0, 1].map(|k| -border.origin[k] - isize::from(size[k].is_multiple_of(2)));
    (window.reflected(), border.with_origin(origin))
}

/// `step` of `image` into `out`.
fn step_into<T: ExtremumValue>(
    device: &Device,
    image: ImageView<'_, T>,
    step: Step,
    (window, border): (&Footprint, &Border),
    out: &mut [T],
) -> Result<FilterInfo> {
    match step {
        Step::Erode => extremum_filter_into(device, image, Extremum::Minimum, window, *border, out),
        Step::Dilate => {
            let (w, b) = dilation_window(window, border);
            extremum_filter_into(device, image, Extremum::Maximum, &w, b, out)
        }
    }
}

/// scipy.ndimage's grey morphology `op` with a flat structuring element:
/// a `[rows, columns]` box or any [`Footprint`] (e.g. a disk), per channel
/// over the first two axes, in the image's type (differences as numpy
/// subtracts: integers wrap).
///
/// ```
/// use gpix::{grey_morphology, BoundaryMode, Device, Footprint, ImageView, Morphology};
/// let image = [0u8, 9, 0, 0, 0];
/// let view = ImageView::new(&image, 1, 5, 1)?;
/// let top = grey_morphology(&Device::Cpu, view, Morphology::WhiteTophat, [1, 3], BoundaryMode::Reflect)?;
/// assert_eq!(top.data(), [0, 9, 0, 0, 0]);
/// # Ok::<(), gpix::Error>(())
/// ```
///
/// # Errors
/// As [`extremum_filter`](super::extremum_filter) for the window and
/// border.
pub fn grey_morphology<T: ExtremumValue>(
    device: &Device,
    image: ImageView<'_, T>,
    op: Morphology,
    window: impl Into<Footprint>,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    let mut out = Image::zeros(image.height(), image.width(), image.channels())?;
    grey_morphology_into(device, image, op, window, border, out.data_mut())?;
    Ok(out)
}

/// [`grey_morphology`] into a caller-owned buffer of `image.data().len()`
/// values (one more image of scratch for the two-step operations).
///
/// # Errors
/// As [`grey_morphology`], and for a wrong `out` length.
pub fn grey_morphology_into<T: ExtremumValue>(
    device: &Device,
    image: ImageView<'_, T>,
    op: Morphology,
    window: impl Into<Footprint>,
    border: impl Into<Border>,
    out: &mut [T],
) -> Result<FilterInfo> {
    let (window, border) = (window.into(), border.into());
    let at = (&window, &border);
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let two = |first: Step, second: Step, out: &mut [T]| -> Result<FilterInfo> {
        let mut tmp = vec![T::default(); image.data().len()];
        step_into(device, image, first, at, &mut tmp)?;
        step_into(device, ImageView::new(&tmp, h, w, c)?, second, at, out)
    };
    let info = match op {
        Morphology::Erosion => step_into(device, image, Step::Erode, at, out)?,
        Morphology::Dilation => step_into(device, image, Step::Dilate, at, out)?,
        Morphology::Opening => two(Step::Erode, Step::Dilate, out)?,
        Morphology::Closing => two(Step::Dilate, Step::Erode, out)?,
        Morphology::Gradient => {
            let mut eroded = vec![T::default(); image.data().len()];
            step_into(device, image, Step::Erode, at, &mut eroded)?;
            let info = step_into(device, image, Step::Dilate, at, out)?;
            for (o, &e) in out.iter_mut().zip(&eroded) {
                *o = o.difference(e);
            }
            info
        }
        Morphology::WhiteTophat => {
            let info = two(Step::Erode, Step::Dilate, out)?;
            for (o, &x) in out.iter_mut().zip(image.data()) {
                *o = x.difference(*o);
            }
            info
        }
        Morphology::BlackTophat => {
            let info = two(Step::Dilate, Step::Erode, out)?;
            for (o, &x) in out.iter_mut().zip(image.data()) {
                *o = o.difference(x);
            }
            info
        }
    };
    Ok(FilterInfo {
        method: format!("{}: {}", op.name(), info.method),
    })
}

/// The definition of [`grey_morphology`]: the reference minimum and
/// maximum filters composed, in f64 (differences exact, no wrapping).
///
/// # Errors
/// As [`grey_morphology`] for the arguments.
pub fn grey_morphology_reference<T: ExtremumValue>(
    image: ImageView<'_, T>,
    op: Morphology,
    window: impl Into<Footprint>,
    border: impl Into<Border>,
) -> Result<Image<f64>> {
    let (window, border) = (window.into(), border.into());
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let values: Vec<f64> = image.data().iter().map(|&v| v.into_f64()).collect();
    let apply = |data: &[f64], step: Step| -> Result<Vec<f64>> {
        let view = ImageView::new(data, h, w, c)?;
        let out = match step {
            Step::Erode => extremum_filter_reference(view, Extremum::Minimum, &window, border)?,
            Step::Dilate => {
                let (wd, b) = dilation_window(&window, &border);
                extremum_filter_reference(view, Extremum::Maximum, &wd, b)?
            }
        };
        Ok(out.data().to_vec())
    };
    let minus = |a: Vec<f64>, b: &[f64]| a.iter().zip(b).map(|(x, y)| x - y).collect();
    let out: Vec<f64> = match op {
        Morphology::Erosion => apply(&values, Step::Erode)?,
        Morphology::Dilation => apply(&values, Step::Dilate)?,
        Morphology::Opening => apply(&apply(&values, Step::Erode)?, Step::Dilate)?,
        Morphology::Closing => apply(&apply(&values, Step::Dilate)?, Step::Erode)?,
        Morphology::Gradient => minus(apply(&values, Step::Dilate)?, &apply(&values, Step::Erode)?),
        Morphology::WhiteTophat => minus(
            values.clone(),
            &apply(&apply(&values, Step::Erode)?, Step::Dilate)?,
        ),
        Morphology::BlackTophat => {
            minus(apply(&apply(&values, Step::Dilate)?, Step::Erode)?, &values)
        }
    };
    Image::from_vec(out, h, w, c)
}
