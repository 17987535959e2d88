//! # gpix: exact pixel-array kernels on any GPU, with a fast CPU twin
//!
//! Start here:
//! - [`nearest_palette`] / [`nearest_level`]: index of the nearest palette
//!   colour (or grey level) for every pixel, exact, ties to the lowest index.
//! - [`Device`]: where work runs. [`Device::select`] follows the
//!   `--device auto|gpu|cpu` rules; `Device::Gpu(GpuContext::from_device(..))`
//!   runs on a device you already have.
//! - [`label_sums`] / [`label_mean_image`]: per-label counts, sums and means
//!   of a segmentation, exact, and every pixel painted with its label's mean.
//! - [`uniform_filter`] / [`local_stats`]: scipy.ndimage's box filter and
//!   local mean / variance / std, with its [`BoundaryMode`]s;
//!   [`minimum_filter`] / [`maximum_filter`]: its box minimum and maximum
//!   (grey erosion and dilation), exact.
//! - [`gradient`] / [`hessian`]: numpy.gradient's finite differences (and
//!   the gradient applied twice), fused, bit for bit numpy's in float64.
//! - [`render`]: the kernels as compute passes recorded into your own wgpu
//!   encoder on your textures (render tools), with no readback.
//! - [`ImageView`] / [`Image`]: row-major `(height, width, channels)` arrays.
//!
//! Every operation has a `*_reference` implementation (the definition), a fast
//! multithreaded CPU path and a WGSL path; tests prove the three agree.

pub mod array;
mod bands;
pub mod device;
pub mod error;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod io;
pub mod mem;
pub mod ops;
pub mod palette;
#[cfg(feature = "gpu")]
pub mod render;
pub mod route;
pub mod synth;

pub use array::{AnyImage, Element, Image, ImageView};
pub use bands::{plan_bands, rows_per_band};
pub use device::{Device, DeviceRequest};
pub use error::{Error, Result};
#[cfg(feature = "gpu")]
pub use gpu::{list_adapters, AdapterSummary, GpuContext, Phases};
pub use ops::diff::{
    describe_diff, gradient, gradient_into, gradient_reference, hessian, hessian_into,
    hessian_reference, Coordinates, Gradient, GradientOptions, GradientOut, Hessian,
    HessianOptions, HessianOut, Stencil,
};
pub use ops::filter::{
    boundary_index, convolve, convolve_into, convolve_reference, convolve_with, correlate,
    correlate_into, correlate_reference, correlate_with, difference_of_gaussians,
    difference_of_gaussians_into, edge_filter, edge_filter_into, edge_filter_reference,
    extremum_filter, extremum_filter_into, extremum_filter_reference, gabor_kernel,
    gabor_sigma_from_bandwidth, gaussian_derivative_kernel1d, gaussian_filter,
    gaussian_filter_into, gaussian_filter_reference, gaussian_filter_with,
    gaussian_filter_with_into, gaussian_gradient_magnitude, gaussian_gradient_magnitude_into,
    gaussian_kernel, gaussian_kernel1d, gaussian_laplace, gaussian_laplace_into, grey_morphology,
    grey_morphology_into, grey_morphology_reference, local_stats, local_stats_into,
    local_stats_reference, maximum_filter, median_filter, minimum_filter, percentile_filter,
    rank_filter, rank_filter_into, rank_filter_reference, uniform_filter, uniform_filter_into,
    uniform_filter_reference, Border, BoundaryMode, CorrelationMethod, EdgeFilter, Extremum,
    ExtremumValue, FilterInfo, FilterValue, Footprint, Gaussian, Kernel, LocalStats, Morphology,
    Rank, RankValue, StatsOut, MAX_GAUSSIAN_ORDER,
};
pub use ops::kmeans::{
    kmeans_levels, kmeans_palette, refine_palette, refined_levels, refined_palette, GreyWeights,
    KMeansOptions, REFINE_PASSES,
};
pub use ops::label_mean::{
    describe_label_mean, label_mean_image, label_mean_image_into, label_mean_image_reference,
    label_means, label_sums, label_sums_reference, labels_to_u32, labels_to_u32_into, LabelTable,
    LabelValue, MeanElement, SumValue,
};
pub use ops::palette::{
    apply_levels_into, apply_palette_into, bayer_offsets, dither_palette, dither_palette_into,
    dither_palette_into_with_progress, nearest_level, nearest_level_into,
    nearest_level_into_with_progress, nearest_level_reference, nearest_palette,
    nearest_palette_into, nearest_palette_into_with_progress, nearest_palette_reference, Dither,
    GreyFloat, PaletteIndex, PaletteValue, Progress,
};
pub use palette::{Levels, Palette, MAX_PALETTE_LEN};
