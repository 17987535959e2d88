//! `gpix filter …` and `gpix stats`: arrays in, scipy.ndimage's filters,
//! arrays out.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use gpix::io::npy::{read_npy, NpyElement};
use gpix::io::{self, Staged};
use gpix::route::Work;
use gpix::{
    BoundaryMode, Device, EdgeFilter, FilterInfo, FilterValue, Image, ImageView, Kernel, StatsOut,
};

use super::arrays::{open_input, stage_output, stage_outputs, Dtype, FloatChoice, Floats, Input};
use super::{Common, Phases, Usage};

#[derive(Subcommand, Debug)]
pub(crate) enum FilterCommand {
    /// scipy.ndimage.uniform_filter: the mean of each NY×NX window.
    #[command(after_help = super::examples::UNIFORM)]
    Uniform(UniformArgs),
    /// scipy.ndimage.minimum_filter: the smallest value of each NY×NX
    /// window or footprint (grey erosion by a flat box or disk), exact on
    /// the CPU.
    #[command(after_help = super::examples::MINIMUM)]
    Minimum(WindowArgs),
    /// scipy.ndimage.maximum_filter: the largest value of each NY×NX
    /// window or footprint (grey dilation by a flat box or disk), exact on
    /// the CPU.
    #[command(after_help = super::examples::MAXIMUM)]
    Maximum(WindowArgs),
    /// scipy.ndimage.median_filter: the median of each NY×NX window or
    /// footprint (of an even count the upper middle value, as scipy), exact
    /// on the CPU.
    #[command(after_help = super::examples::MEDIAN)]
    Median(WindowArgs),
    /// scipy.ndimage.rank_filter: the value of rank --rank in each window's
    /// sorted values (0 the smallest, -1 the largest).
    #[command(after_help = super::examples::RANK)]
    Rank(RankArgs),
    /// scipy.ndimage.percentile_filter: the value of rank
    /// int(n · --percentile / 100) in each window of n values.
    #[command(after_help = super::examples::PERCENTILE)]
    Percentile(PercentileArgs),
    /// scipy.ndimage.grey_erosion by a flat box or footprint (the minimum
    /// filter).
    #[command(after_help = super::examples::GREY_EROSION)]
    GreyErosion(WindowArgs),
    /// scipy.ndimage.grey_dilation by a flat box or footprint (the maximum
    /// filter over the reflected window, as scipy).
    #[command(after_help = super::examples::GREY_DILATION)]
    GreyDilation(WindowArgs),
    /// scipy.ndimage.grey_opening: the dilation of the erosion.
    #[command(after_help = super::examples::GREY_OPENING)]
    GreyOpening(WindowArgs),
    /// scipy.ndimage.grey_closing: the erosion of the dilation.
    #[command(after_help = super::examples::GREY_CLOSING)]
    GreyClosing(WindowArgs),
    /// scipy.ndimage.morphological_gradient: dilation minus erosion.
    #[command(after_help = super::examples::MORPHOLOGICAL_GRADIENT)]
    MorphologicalGradient(WindowArgs),
    /// scipy.ndimage.white_tophat: the input minus its opening (bright
    /// details smaller than the window).
    #[command(after_help = super::examples::WHITE_TOPHAT)]
    WhiteTophat(WindowArgs),
    /// scipy.ndimage.black_tophat: the closing minus the input (dark
    /// details smaller than the window).
    #[command(after_help = super::examples::BLACK_TOPHAT)]
    BlackTophat(WindowArgs),
    /// scipy.ndimage.correlate with a 2-D kernel from a .npy file.
    #[command(after_help = super::examples::CORRELATE)]
    Correlate(KernelArgs),
    /// scipy.ndimage.convolve with a 2-D kernel from a .npy file.
    #[command(after_help = super::examples::CONVOLVE)]
    Convolve(KernelArgs),
    /// scipy.ndimage.gaussian_filter over the first two axes (derivatives of
    /// Gaussians with --order).
    #[command(after_help = super::examples::GAUSSIAN)]
    Gaussian(GaussianArgs),
    /// scipy.ndimage.gaussian_laplace: the sum of second derivatives of
    /// Gaussians along rows and columns, per channel.
    #[command(after_help = super::examples::GAUSSIAN_LAPLACE)]
    GaussianLaplace(GaussianFamilyArgs),
    /// scipy.ndimage.gaussian_gradient_magnitude: √(∂y² + ∂x²) of first
    /// derivatives of Gaussians, per channel.
    #[command(after_help = super::examples::GAUSSIAN_GRADIENT_MAGNITUDE)]
    GaussianGradientMagnitude(GaussianFamilyArgs),
    /// skimage.filters.difference_of_gaussians: blurred by --sigma1 minus
    /// blurred by --sigma2 (default mode nearest, as skimage's).
    #[command(after_help = super::examples::DOG)]
    Dog(DogArgs),
    /// skimage.filters.gabor: convolution with skimage's gabor_kernel.
    #[command(after_help = super::examples::GABOR)]
    Gabor(GaborArgs),
    /// scipy.ndimage.sobel: the derivative [-1, 0, 1] along --axis smoothed
    /// by [1, 2, 1] along the other, per channel.
    #[command(after_help = super::examples::SOBEL)]
    Sobel(EdgeArgs),
    /// scipy.ndimage.prewitt: as sobel with [1, 1, 1] smoothing.
    #[command(after_help = super::examples::PREWITT)]
    Prewitt(EdgeArgs),
    /// scipy.ndimage.laplace: the sum of second differences [1, -2, 1] along
    /// rows and columns, per channel.
    #[command(after_help = super::examples::LAPLACE)]
    Laplace(LaplaceArgs),
}

/// Input, output and border handling shared by every filter.
#[derive(Args, Debug)]
pub(crate) struct FilterIo {
    /// .npy (H,W) or (H,W,C) array (float32/float64; float16 as float32, the
    /// output float32 as skimage's; integers are converted as --dtype says),
    /// or an image file (PNG, TIFF, …). An empty array gives an empty result.
    input: PathBuf,
    /// .npy (the input's float dtype and shape), or an image file for 8/16-bit
    /// inputs (rounded and clamped to the input's bit depth).
    output: PathBuf,
    #[command(flatten)]
    border: Border,
}

#[derive(Args, Debug)]
pub(crate) struct Border {
    /// Border mode, as scipy.ndimage names them: one, or Y,X for one per
    /// axis (uniform, minimum, maximum, gaussian family, sobel, prewitt,
    /// laplace, stats; scipy's correlate, convolve and rank filters take
    /// one) [default: reflect; dog: nearest, as skimage's
    /// difference_of_gaussians].
    #[arg(long, value_enum, value_delimiter = ',', num_args = 1)]
    mode: Option<Vec<ModeArg>>,
    /// scipy's origin: N or NY,NX. The window's anchor moves from n/2 to
    /// n/2 + origin along each axis (positive values shift the window
    /// towards lower indices); valid while -(n//2) <= origin <= (n-1)//2.
    /// uniform, minimum, maximum, median, rank, percentile, correlate,
    /// convolve and stats (scipy's gaussian_filter takes none).
    #[arg(long, value_parser = parse_origin, allow_hyphen_values = true)]
    origin: Option<[isize; 2]>,
    /// The value outside the array for --mode constant.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    cval: f64,
    /// Compute and write in this float type (float inputs converted too:
    /// float32 from float64 and the reverse) [default: a float input's own
    /// type; integers float32].
    #[arg(long, value_enum)]
    dtype: Option<Dtype>,
}

impl Border {
    fn floats(&self) -> FloatChoice {
        FloatChoice {
            requested: self.dtype,
            int_default: Dtype::Float32,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    /// d c b a | a b c d | d c b a
    Reflect,
    /// d c b | a b c d | c b a
    Mirror,
    /// a a a | a b c d | d d d
    Nearest,
    /// a b c d | a b c d | a b c d
    Wrap,
    /// k k k | a b c d | k k k  (k = --cval)
    Constant,
}

impl Border {
    fn border(&self) -> Result<gpix::Border, Usage> {
        self.border_or(ModeArg::Reflect)
    }

    /// The modes (one, or one per axis) and origin given; `default` when no
    /// mode is.
    fn border_or(&self, default: ModeArg) -> Result<gpix::Border, Usage> {
        let mode = |m: ModeArg| match m {
            ModeArg::Reflect => BoundaryMode::Reflect,
            ModeArg::Mirror => BoundaryMode::Mirror,
            ModeArg::Nearest => BoundaryMode::Nearest,
            ModeArg::Wrap => BoundaryMode::Wrap,
            ModeArg::Constant => BoundaryMode::Constant(self.cval),
        };
        let modes = match self.mode.as_deref() {
            None => [mode(default); 2],
            Some([m]) => [mode(*m); 2],
            Some([y, x]) => [mode(*y), mode(*x)],
            Some(more) => {
                return Err(Usage(format!(
                    "--mode takes one mode or two (Y,X), not {}",
                    more.len()
                )))
            }
        };
        Ok(gpix::Border {
            modes,
            origin: self.origin.unwrap_or([0, 0]),
        })
    }
}

fn parse_origin(s: &str) -> Result<[isize; 2], String> {
    let parse = |v: &str| {
        v.trim()
            .parse::<isize>()
            .map_err(|_| format!("origin '{s}' must be N or NY,NX (integers)"))
    };
    match s.split_once(',') {
        Some((a, b)) => Ok([parse(a)?, parse(b)?]),
        None => {
            let v = parse(s)?;
            Ok([v, v])
        }
    }
}

#[derive(Args, Debug)]
pub(crate) struct UniformArgs {
    #[command(flatten)]
    io: FilterIo,
    /// Window size: N, or NY,NX (0 along an axis: no filtering along it, as
    /// scipy).
    #[arg(long, value_parser = parse_size)]
    size: [usize; 2],
}

#[derive(Args, Debug)]
pub(crate) struct WindowArgs {
    #[command(flatten)]
    io: FilterIo,
    /// Window size: N, or NY,NX (0 along an axis: no filtering along it,
    /// as scipy; rank filters take sides of at least 1).
    #[arg(
        long,
        value_parser = parse_size,
        required_unless_present = "footprint",
        conflicts_with = "footprint"
    )]
    size: Option<[usize; 2]>,
    /// The window's shape instead of --size (scipy's footprint=): disk:R, a
    /// disk of radius R (skimage.morphology.disk), or a 2-D .npy array whose
    /// non-zero entries are read.
    #[arg(long, value_name = "disk:R|F.npy")]
    footprint: Option<String>,
}

impl WindowArgs {
    /// The window: the --size rectangle or the --footprint.
    fn window(&self) -> anyhow::Result<gpix::Footprint> {
        match (&self.footprint, self.size) {
            (Some(f), _) => parse_footprint(f),
            (None, Some(size)) => Ok(gpix::Footprint::rectangle(size)),
            (None, None) => Err(Usage("give --size or --footprint".into()).into()),
        }
    }
}

/// `disk:R`, or a 2-D .npy file (non-zero: in the footprint).
fn parse_footprint(given: &str) -> anyhow::Result<gpix::Footprint> {
    if let Some(r) = given.strip_prefix("disk:") {
        let radius: usize = r.trim().parse().map_err(|_| {
            Usage(format!(
                "--footprint {given}: the radius must be a whole number ≥ 0"
            ))
        })?;
        if radius > 4096 {
            return Err(Usage(format!(
                "--footprint {given}: a radius over 4096 is not supported"
            ))
            .into());
        }
        return Ok(gpix::Footprint::disk(radius));
    }
    let path = Path::new(given);
    let a = read_npy(path, io::max_bytes())?;
    let [rows, cols] = a.shape[..] else {
        bail!(
            "{}: the footprint must be a 2-D array, got shape {:?}",
            path.display(),
            a.shape
        );
    };
    let flags = a.data.into_f64().into_iter().map(|v| v != 0.0).collect();
    Ok(gpix::Footprint::from_mask(flags, rows, cols)?)
}

#[derive(Args, Debug)]
pub(crate) struct RankArgs {
    #[command(flatten)]
    window: WindowArgs,
    /// The rank kept: 0 the smallest value of a window, -1 the largest
    /// (scipy's rank_filter; rank filters take windows of at least 1×1 and
    /// one --mode).
    #[arg(long, allow_negative_numbers = true)]
    rank: isize,
}

#[derive(Args, Debug)]
pub(crate) struct PercentileArgs {
    #[command(flatten)]
    window: WindowArgs,
    /// The percentile kept, -100 to 100 (negative: 100 + P, as scipy).
    #[arg(long, allow_negative_numbers = true)]
    percentile: f64,
}

#[derive(Args, Debug)]
pub(crate) struct KernelArgs {
    #[command(flatten)]
    io: FilterIo,
    /// The kernel: a 2-D .npy array of any numeric dtype.
    #[arg(long, value_name = "K.npy")]
    kernel: PathBuf,
    /// How to compute: auto picks separable passes (by the kernel's SVD), FFT
    /// tiles (large kernels, CPU) or the direct sum; -v says which.
    #[arg(long, value_enum, default_value = "auto")]
    method: MethodArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum MethodArg {
    Auto,
    Direct,
    Separable,
    Fft,
}

impl From<MethodArg> for gpix::CorrelationMethod {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Auto => Self::Auto,
            MethodArg::Direct => Self::Direct,
            MethodArg::Separable => Self::Separable,
            MethodArg::Fft => Self::Fft,
        }
    }
}

#[derive(Args, Debug)]
pub(crate) struct GaussianArgs {
    #[command(flatten)]
    family: GaussianFamilyArgs,
    /// Derivative order: O, or OY,OX (0 to 3 each; 1 is the first
    /// derivative of the Gaussian along that axis).
    #[arg(long, value_parser = parse_order, default_value = "0")]
    order: [u32; 2],
}

/// The Gaussian kernels' arguments, shared by the Gaussian filters.
#[derive(Args, Debug)]
pub(crate) struct GaussianFamilyArgs {
    #[command(flatten)]
    io: FilterIo,
    /// Standard deviation: S, or SY,SX (0 leaves that axis alone).
    #[arg(long, value_parser = parse_sigma, allow_negative_numbers = true)]
    sigma: [f64; 2],
    #[command(flatten)]
    reach: Reach,
}

/// How far a Gaussian kernel reaches.
#[derive(Args, Debug)]
pub(crate) struct Reach {
    /// Kernel radius in standard deviations (scipy's truncate).
    #[arg(long, default_value_t = 4.0)]
    truncate: f64,
    /// Kernel radius in pixels, R or RY,RX (scipy's radius; overrides
    /// --truncate).
    #[arg(long, value_parser = parse_radius)]
    radius: Option<[usize; 2]>,
}

impl Reach {
    fn gaussian(&self, sigma: [f64; 2]) -> gpix::Gaussian {
        let g = gpix::Gaussian::new(sigma).with_truncate(self.truncate);
        match self.radius {
            Some(r) => g.with_radius(r),
            None => g,
        }
    }
}

#[derive(Args, Debug)]
pub(crate) struct DogArgs {
    #[command(flatten)]
    io: FilterIo,
    /// The smaller blur's standard deviation: S, or SY,SX.
    #[arg(long, value_parser = parse_sigma)]
    sigma1: [f64; 2],
    /// The larger blur's standard deviation: S, or SY,SX [default: 1.6 ×
    /// --sigma1, as skimage].
    #[arg(long, value_parser = parse_sigma)]
    sigma2: Option<[f64; 2]>,
    #[command(flatten)]
    reach: Reach,
}

#[derive(Args, Debug)]
pub(crate) struct GaborArgs {
    #[command(flatten)]
    io: FilterIo,
    /// Spatial frequency of the harmonic, cycles per pixel.
    #[arg(long)]
    frequency: f64,
    /// Orientation in radians.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    theta: f64,
    /// Standard deviation along x' (the harmonic's direction) [default:
    /// from --bandwidth, as skimage].
    #[arg(long)]
    sigma_x: Option<f64>,
    /// Standard deviation along y' [default: from --bandwidth].
    #[arg(long)]
    sigma_y: Option<f64>,
    /// Bandwidth in octaves, giving the σ not set by --sigma-x/--sigma-y
    /// (skimage: √(ln 2 / 2) / π · (2^b + 1) / (2^b − 1) / frequency).
    #[arg(long, default_value_t = 1.0)]
    bandwidth: f64,
    /// The kernel covers this many standard deviations.
    #[arg(long, default_value_t = 3.0)]
    n_stds: f64,
    /// Phase offset of the harmonic, radians.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    offset: f64,
    /// Which response to write.
    #[arg(long, value_enum, default_value = "real")]
    part: Part,
}

#[derive(Args, Debug)]
pub(crate) struct EdgeArgs {
    #[command(flatten)]
    io: FilterIo,
    /// The derivative's axis: 0 (rows: responds to horizontal edges) or 1
    /// (columns: vertical edges), as scipy's axis on a 2-D image.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
    axis: u8,
}

#[derive(Args, Debug)]
pub(crate) struct LaplaceArgs {
    #[command(flatten)]
    io: FilterIo,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Part {
    Real,
    Imag,
    Magnitude,
}

/// Local mean, variance and standard deviation over each window, in one pass.
#[derive(Args, Debug)]
pub(crate) struct StatsArgs {
    /// .npy (H,W) or (H,W,C) array, or an image file.
    input: PathBuf,
    /// Window size: N, or NY,NX (0 along an axis: no filtering along it, as
    /// scipy).
    #[arg(long, value_parser = parse_size)]
    size: [usize; 2],
    #[command(flatten)]
    border: Border,
    /// Write the window means here.
    #[arg(long, value_name = "OUT")]
    mean: Option<PathBuf>,
    /// Write the window (population) variances here.
    #[arg(long, value_name = "OUT")]
    var: Option<PathBuf>,
    /// Write the window standard deviations here.
    #[arg(long, value_name = "OUT")]
    std: Option<PathBuf>,
}

fn parse_size(s: &str) -> Result<[usize; 2], String> {
    // 0 along an axis: no filtering along it (scipy's rule).
    let parse = |v: &str| match v.trim().parse::<usize>() {
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not N or NY,NX (sizes ≥ 0)")),
    };
    match s.split_once(',') {
        Some((a, b)) => Ok([parse(a)?, parse(b)?]),
        None => {
            let n = parse(s)?;
            Ok([n, n])
        }
    }
}

/// N, or NY,NX, with `check` on each value.
fn parse_pair<V: std::str::FromStr + Copy>(
    s: &str,
    check: impl Fn(V) -> bool,
    what: &str,
) -> Result<[V; 2], String> {
    let parse = |v: &str| match v.trim().parse::<V>() {
        Ok(x) if check(x) => Ok(x),
        _ => Err(format!("{what} '{s}'")),
    };
    match s.split_once(',') {
        Some((a, b)) => Ok([parse(a)?, parse(b)?]),
        None => parse(s).map(|v| [v, v]),
    }
}

fn parse_order(s: &str) -> Result<[u32; 2], String> {
    let max = gpix::MAX_GAUSSIAN_ORDER;
    parse_pair(
        s,
        |o| o <= max,
        &format!("order must be O or OY,OX with values 0 to {max}, got"),
    )
}

fn parse_radius(s: &str) -> Result<[usize; 2], String> {
    parse_pair(
        s,
        |r| r <= 1 << 20,
        "radius must be R or RY,RX in pixels (at most 2^20), got",
    )
}

fn parse_sigma(s: &str) -> Result<[f64; 2], String> {
    let parse = |v: &str| match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!("sigma '{s}' must be S or SY,SX with values ≥ 0")),
    };
    match s.split_once(',') {
        Some((a, b)) => Ok([parse(a)?, parse(b)?]),
        None => {
            let v = parse(s)?;
            Ok([v, v])
        }
    }
}

/// One filter of the `filter` command.
enum Op {
    Uniform([usize; 2]),
    Extremum(gpix::Extremum, gpix::Footprint),
    Rank(gpix::Rank, gpix::Footprint),
    Morphology(gpix::Morphology, gpix::Footprint),
    Correlate(Kernel, gpix::CorrelationMethod),
    Convolve(Kernel, gpix::CorrelationMethod),
    Gaussian(gpix::Gaussian),
    GaussianLaplace(gpix::Gaussian),
    GaussianGradientMagnitude(gpix::Gaussian),
    Dog(gpix::Gaussian, gpix::Gaussian),
    Gabor(Kernel, Kernel, Part),
    Edge(EdgeFilter),
}

fn apply<T: FilterValue + gpix::RankValue>(
    device: &Device,
    op: &Op,
    image: ImageView<'_, T>,
    mode: gpix::Border,
) -> anyhow::Result<(Image<T>, FilterInfo)> {
    let mut out = Image::zeros(image.height(), image.width(), image.channels())?;
    let info = match op {
        Op::Uniform(size) => gpix::uniform_filter_into(device, image, *size, mode, out.data_mut())?,
        Op::Extremum(kind, window) => {
            gpix::extremum_filter_into(device, image, *kind, window, mode, out.data_mut())?
        }
        Op::Morphology(m, window) => {
            gpix::grey_morphology_into(device, image, *m, window, mode, out.data_mut())?
        }
        Op::Rank(rank, size) => {
            gpix::rank_filter_into(device, image, *rank, size, mode, out.data_mut())?
        }
        Op::Correlate(k, m) => gpix::correlate_with(device, image, k, mode, *m, out.data_mut())?,
        Op::Convolve(k, m) => gpix::convolve_with(device, image, k, mode, *m, out.data_mut())?,
        Op::Gaussian(g) => gpix::gaussian_filter_with_into(device, image, g, mode, out.data_mut())?,
        Op::GaussianLaplace(g) => {
            gpix::gaussian_laplace_into(device, image, g, mode, out.data_mut())?
        }
        Op::GaussianGradientMagnitude(g) => {
            gpix::gaussian_gradient_magnitude_into(device, image, g, mode, out.data_mut())?
        }
        Op::Dog(low, high) => {
            gpix::difference_of_gaussians_into(device, image, low, high, mode, out.data_mut())?
        }
        Op::Edge(filter) => gpix::edge_filter_into(device, image, *filter, mode, out.data_mut())?,
        Op::Gabor(re, im, part) => {
            let kernel = match part {
                Part::Imag => im,
                _ => re,
            };
            let mut info = gpix::convolve_into(device, image, kernel, mode, out.data_mut())?;
            if let Part::Magnitude = part {
                let imag = gpix::convolve(device, image, im, mode)?;
                for (o, &i) in out.data_mut().iter_mut().zip(imag.data()) {
                    *o = T::from_f64(o.to_f64().hypot(i.to_f64()));
                }
                info.method = format!(
                    "{} for each of the real and imaginary parts; magnitude (hypot) on the cpu",
                    info.method
                );
            }
            info
        }
    };
    Ok((out, info))
}

/// The cost model's view of a filter op (`gpix::route`): work per value
/// on the GPU (which has no FFT path) and the CPU path's measured rate.
fn filter_work(op: &Op, input: &Input) -> Work {
    let (values, value_bytes) = input.values();
    let dims = |k: &Kernel| [k.height(), k.width()];
    match op {
        Op::Uniform(size) => Work::uniform(values, value_bytes, *size),
        Op::Extremum(kind, window) => {
            Work::extremum_footprint(kind.name(), values, value_bytes, window)
        }
        Op::Rank(_, window) => Work::rank_footprint(values, value_bytes, window),
        Op::Correlate(k, _) => Work::correlate("correlate", values, value_bytes, dims(k), 1),
        Op::Convolve(k, _) => Work::correlate("convolve", values, value_bytes, dims(k), 1),
        Op::Gaussian(g) => gaussian_work(values, value_bytes, g),
        Op::GaussianLaplace(g) | Op::GaussianGradientMagnitude(g) => {
            gaussian_work(values, value_bytes, g).repeated(2)
        }
        Op::Dog(_, high) => gaussian_work(values, value_bytes, high).repeated(2),
        Op::Gabor(re, _, part) => {
            let parts = if matches!(part, Part::Magnitude) {
                2
            } else {
                1
            };
            Work::correlate("gabor", values, value_bytes, dims(re), parts)
        }
        Op::Edge(filter) => Work::correlate(filter.name(), values, value_bytes, [3, 3], 1),
        Op::Morphology(m, window) => {
            let steps = match m {
                gpix::Morphology::Erosion | gpix::Morphology::Dilation => 1,
                _ => 2,
            };
            Work::extremum_footprint(m.name(), values, value_bytes, window).repeated(steps)
        }
    }
}

/// A Gaussian's work: its taps per axis (from the radius when given).
fn gaussian_work(values: u64, value_bytes: u64, g: &gpix::Gaussian) -> Work {
    let reach = match g.radius {
        // The cost model counts 2·⌈σ·t⌉ + 1 taps; σ·t = r gives r each side.
        Some(r) => g.sigma.map(|s| {
            if s > 0.0 {
                r[0].max(r[1]) as f64 / s
            } else {
                0.0
            }
        }),
        None => [g.truncate; 2],
    };
    Work::gaussian(values, value_bytes, g.sigma, reach[0].max(reach[1]))
}

/// The `-v` line of a filter: where it ran and how (precision included).
fn say_method(common: &Common, device: &Device, info: &FilterInfo) {
    let on = if device.is_cpu() { "cpu" } else { "gpu" };
    common.say(format!("filter: {on}, {}", info.method));
}

fn read_kernel(path: &Path) -> anyhow::Result<Kernel> {
    let a = read_npy(path, io::max_bytes())?;
    let [ky, kx] = a.shape[..] else {
        bail!(
            "{}: the kernel must be a 2-D array, got shape {:?}",
            path.display(),
            a.shape
        );
    };
    let weights = a.data.into_f64();
    Kernel::new(ky, kx, weights).with_context(|| path.display().to_string())
}

/// A grey morphology op over the window of `a`.
fn morphology(m: gpix::Morphology, a: &WindowArgs) -> anyhow::Result<Op> {
    Ok(Op::Morphology(m, a.window()?))
}

/// `g`, once its kernels are known to be valid (before any file is read).
fn checked(g: gpix::Gaussian) -> anyhow::Result<gpix::Gaussian> {
    g.taps(0)?;
    g.taps(1)?;
    Ok(g)
}

pub(crate) fn run(common: &Common, cmd: &FilterCommand) -> anyhow::Result<()> {
    let (io_args, op) = match cmd {
        FilterCommand::Uniform(a) => (&a.io, Op::Uniform(a.size)),
        FilterCommand::Minimum(a) => (&a.io, Op::Extremum(gpix::Extremum::Minimum, a.window()?)),
        FilterCommand::Maximum(a) => (&a.io, Op::Extremum(gpix::Extremum::Maximum, a.window()?)),
        FilterCommand::Median(a) => (&a.io, Op::Rank(gpix::Rank::Median, a.window()?)),
        FilterCommand::GreyErosion(a) => (&a.io, morphology(gpix::Morphology::Erosion, a)?),
        FilterCommand::GreyDilation(a) => (&a.io, morphology(gpix::Morphology::Dilation, a)?),
        FilterCommand::GreyOpening(a) => (&a.io, morphology(gpix::Morphology::Opening, a)?),
        FilterCommand::GreyClosing(a) => (&a.io, morphology(gpix::Morphology::Closing, a)?),
        FilterCommand::MorphologicalGradient(a) => {
            (&a.io, morphology(gpix::Morphology::Gradient, a)?)
        }
        FilterCommand::WhiteTophat(a) => (&a.io, morphology(gpix::Morphology::WhiteTophat, a)?),
        FilterCommand::BlackTophat(a) => (&a.io, morphology(gpix::Morphology::BlackTophat, a)?),
        FilterCommand::Rank(a) => (
            &a.window.io,
            Op::Rank(gpix::Rank::Index(a.rank), a.window.window()?),
        ),
        FilterCommand::Percentile(a) => (
            &a.window.io,
            Op::Rank(gpix::Rank::Percentile(a.percentile), a.window.window()?),
        ),
        FilterCommand::Correlate(a) => (
            &a.io,
            Op::Correlate(read_kernel(&a.kernel)?, a.method.into()),
        ),
        FilterCommand::Convolve(a) => (
            &a.io,
            Op::Convolve(read_kernel(&a.kernel)?, a.method.into()),
        ),
        FilterCommand::Gaussian(a) => {
            let g = a.family.reach.gaussian(a.family.sigma).with_order(a.order);
            (&a.family.io, Op::Gaussian(checked(g)?))
        }
        FilterCommand::GaussianLaplace(a) => {
            let g = checked(a.reach.gaussian(a.sigma))?;
            (&a.io, Op::GaussianLaplace(g))
        }
        FilterCommand::GaussianGradientMagnitude(a) => {
            let g = checked(a.reach.gaussian(a.sigma))?;
            (&a.io, Op::GaussianGradientMagnitude(g))
        }
        FilterCommand::Dog(a) => {
            let sigma2 = a.sigma2.unwrap_or(a.sigma1.map(|s| 1.6 * s));
            let low = checked(a.reach.gaussian(a.sigma1))?;
            let high = checked(a.reach.gaussian(sigma2))?;
            (&a.io, Op::Dog(low, high))
        }
        FilterCommand::Gabor(a) => {
            let from_bandwidth = || gpix::gabor_sigma_from_bandwidth(a.frequency, a.bandwidth);
            let sigma_x = a.sigma_x.map_or_else(from_bandwidth, Ok)?;
            let sigma_y = a.sigma_y.map_or_else(from_bandwidth, Ok)?;
            let (re, im) =
                gpix::gabor_kernel(a.frequency, a.theta, sigma_x, sigma_y, a.n_stds, a.offset)?;
            (&a.io, Op::Gabor(re, im, a.part))
        }
        FilterCommand::Sobel(a) => (
            &a.io,
            Op::Edge(EdgeFilter::Sobel {
                axis: a.axis.into(),
            }),
        ),
        FilterCommand::Prewitt(a) => (
            &a.io,
            Op::Edge(EdgeFilter::Prewitt {
                axis: a.axis.into(),
            }),
        ),
        FilterCommand::Laplace(a) => (&a.io, Op::Edge(EdgeFilter::Laplace)),
    };
    let mut phases = Phases::new(common);
    let (input, device) = open_input(
        common,
        &mut phases,
        &io_args.input,
        io_args.border.floats(),
        &[&io_args.output],
    )?;
    let device = common.route(device, &filter_work(&op, &input));
    let mode = match op {
        Op::Dog(..) => io_args.border.border_or(ModeArg::Nearest)?,
        _ => io_args.border.border()?,
    };
    if mode.origin != [0, 0]
        && !matches!(
            op,
            Op::Uniform(_)
                | Op::Extremum(..)
                | Op::Rank(..)
                | Op::Morphology(..)
                | Op::Correlate(..)
                | Op::Convolve(..)
        )
    {
        return Err(Usage(
            "--origin is for uniform, minimum, maximum, median, rank, percentile, the grey \
             morphology, correlate and convolve (scipy's \
             gaussian filters, sobel, prewitt and laplace and skimage's gabor and \
             difference_of_gaussians take none)"
                .into(),
        )
        .into());
    }
    let staged = match &input.data {
        Floats::F32(img) => {
            let (out, info) = apply(&device, &op, img.view(), mode)?;
            say_method(common, &device, &info);
            phases.done("compute");
            stage_output(&io_args.output, &out, &input)?
        }
        Floats::F64(img) => {
            let (out, info) = apply(&device, &op, img.view(), mode)?;
            say_method(common, &device, &info);
            phases.done("compute");
            stage_output(&io_args.output, &out, &input)?
        }
    };
    io::commit_all(vec![staged])?;
    phases.done("encode");
    Ok(())
}

pub(crate) fn run_stats(common: &Common, args: &StatsArgs) -> anyhow::Result<()> {
    let outputs = [&args.mean, &args.var, &args.std];
    if outputs.iter().all(|o| o.is_none()) {
        return Err(Usage("give at least one of --mean, --var, --std".into()).into());
    }
    let given: Vec<&Path> = outputs
        .into_iter()
        .flatten()
        .map(PathBuf::as_path)
        .collect();
    let mut phases = Phases::new(common);
    let (input, device) = open_input(
        common,
        &mut phases,
        &args.input,
        args.border.floats(),
        &given,
    )?;
    let (values, value_bytes) = input.values();
    let work = Work::stats(values, value_bytes, args.size, given.len() as u64);
    let device = common.route(device, &work);
    let mode = args.border.border()?;
    let staged = match &input.data {
        Floats::F32(img) => stats_of(common, &device, img.view(), args, mode, &input, &mut phases)?,
        Floats::F64(img) => stats_of(common, &device, img.view(), args, mode, &input, &mut phases)?,
    };
    io::commit_all(staged)?;
    phases.done("encode");
    Ok(())
}

fn stats_of<T: FilterValue + NpyElement>(
    common: &Common,
    device: &Device,
    image: ImageView<'_, T>,
    args: &StatsArgs,
    mode: gpix::Border,
    input: &Input,
    phases: &mut Phases<'_>,
) -> anyhow::Result<Vec<Staged>> {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let mut arrays: Vec<Option<Image<T>>> = Vec::new();
    for o in [&args.mean, &args.var, &args.std] {
        arrays.push(match o {
            Some(_) => Some(Image::zeros(h, w, c)?),
            None => None,
        });
    }
    let [mean, var, std] = &mut arrays[..] else {
        unreachable!("three outputs")
    };
    let info = gpix::local_stats_into(
        device,
        image,
        args.size,
        mode,
        StatsOut {
            mean: mean.as_mut().map(|i| i.data_mut()),
            var: var.as_mut().map(|i| i.data_mut()),
            std: std.as_mut().map(|i| i.data_mut()),
        },
    )?;
    say_method(common, device, &info);
    phases.done("compute");
    let outputs = [&args.mean, &args.var, &args.std]
        .into_iter()
        .zip(&arrays)
        .filter_map(|(path, out)| Some((path.as_deref()?, out.as_ref()?)));
    stage_outputs(outputs, input)
}
