//! `gpix filter …` and `gpix stats`: arrays in, scipy.ndimage's filters,
//! arrays out.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use gpix::io::npy::{read_npy, NpyData, NpyElement};
use gpix::io::{self, Staged};
use gpix::route::Work;
use gpix::{BoundaryMode, Device, FilterInfo, FilterValue, Image, ImageView, Kernel, StatsOut};

use super::arrays::{open_input, stage_output, stage_outputs, Dtype, Floats, Input};
use super::{Common, Phases, Usage};

#[derive(Subcommand, Debug)]
pub(crate) enum FilterCommand {
    /// scipy.ndimage.uniform_filter: the mean of each NY×NX window.
    Uniform(UniformArgs),
    /// scipy.ndimage.correlate with a 2-D kernel from a .npy file.
    Correlate(KernelArgs),
    /// scipy.ndimage.convolve with a 2-D kernel from a .npy file.
    Convolve(KernelArgs),
    /// scipy.ndimage.gaussian_filter over the first two axes.
    Gaussian(GaussianArgs),
    /// skimage.filters.gabor: convolution with skimage's gabor_kernel.
    Gabor(GaborArgs),
}

/// Input, output and border handling shared by every filter.
#[derive(Args, Debug)]
pub(crate) struct FilterIo {
    /// .npy (H,W) or (H,W,C) array (float32/float64; integers are converted
    /// as --dtype says), or an image file (PNG, TIFF, …).
    input: PathBuf,
    /// .npy (the input's float dtype and shape), or an image file for 8/16-bit
    /// inputs (rounded and clamped to the input's bit depth).
    output: PathBuf,
    #[command(flatten)]
    border: Border,
}

#[derive(Args, Debug)]
pub(crate) struct Border {
    /// Border mode, as scipy.ndimage names them.
    #[arg(long, value_enum, default_value = "reflect")]
    mode: ModeArg,
    /// The value outside the array for --mode constant.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    cval: f64,
    /// Float type integer inputs are converted to.
    #[arg(long, value_enum, default_value = "float32")]
    dtype: Dtype,
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
    fn mode(&self) -> BoundaryMode {
        match self.mode {
            ModeArg::Reflect => BoundaryMode::Reflect,
            ModeArg::Mirror => BoundaryMode::Mirror,
            ModeArg::Nearest => BoundaryMode::Nearest,
            ModeArg::Wrap => BoundaryMode::Wrap,
            ModeArg::Constant => BoundaryMode::Constant(self.cval),
        }
    }
}

#[derive(Args, Debug)]
pub(crate) struct UniformArgs {
    #[command(flatten)]
    io: FilterIo,
    /// Window size: N, or NY,NX.
    #[arg(long, value_parser = parse_size)]
    size: [usize; 2],
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
    io: FilterIo,
    /// Standard deviation: S, or SY,SX (0 leaves that axis alone).
    #[arg(long, value_parser = parse_sigma, allow_negative_numbers = true)]
    sigma: [f64; 2],
    /// Kernel radius in standard deviations (scipy's truncate).
    #[arg(long, default_value_t = 4.0)]
    truncate: f64,
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
    /// Standard deviation along x' (the harmonic's direction).
    #[arg(long)]
    sigma_x: f64,
    /// Standard deviation along y'.
    #[arg(long)]
    sigma_y: f64,
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
    /// Window size: N, or NY,NX.
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
    let parse = |v: &str| match v.trim().parse::<usize>() {
        Ok(0) => Err(format!("window size '{s}' must be at least 1")),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not N or NY,NX")),
    };
    match s.split_once(',') {
        Some((a, b)) => Ok([parse(a)?, parse(b)?]),
        None => {
            let n = parse(s)?;
            Ok([n, n])
        }
    }
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
    Correlate(Kernel, gpix::CorrelationMethod),
    Convolve(Kernel, gpix::CorrelationMethod),
    Gaussian([f64; 2], f64),
    Gabor(Kernel, Kernel, Part),
}

fn apply<T: FilterValue>(
    device: &Device,
    op: &Op,
    image: ImageView<'_, T>,
    mode: BoundaryMode,
) -> anyhow::Result<(Image<T>, FilterInfo)> {
    let mut out = Image::zeros(image.height(), image.width(), image.channels())?;
    let info = match op {
        Op::Uniform(size) => gpix::uniform_filter_into(device, image, *size, mode, out.data_mut())?,
        Op::Correlate(k, m) => gpix::correlate_with(device, image, k, mode, *m, out.data_mut())?,
        Op::Convolve(k, m) => gpix::convolve_with(device, image, k, mode, *m, out.data_mut())?,
        Op::Gaussian(sigma, truncate) => {
            gpix::gaussian_filter_into(device, image, *sigma, *truncate, mode, out.data_mut())?
        }
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
        Op::Correlate(k, _) => Work::correlate("correlate", values, value_bytes, dims(k), 1),
        Op::Convolve(k, _) => Work::correlate("convolve", values, value_bytes, dims(k), 1),
        Op::Gaussian(sigma, truncate) => Work::gaussian(values, value_bytes, *sigma, *truncate),
        Op::Gabor(re, _, part) => {
            let parts = if matches!(part, Part::Magnitude) {
                2
            } else {
                1
            };
            Work::correlate("gabor", values, value_bytes, dims(re), parts)
        }
    }
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
    let weights: Vec<f64> = match a.data {
        NpyData::F32(v) => v.into_iter().map(f64::from).collect(),
        NpyData::F64(v) => v,
        NpyData::U8(v) => v.into_iter().map(f64::from).collect(),
        NpyData::U16(v) => v.into_iter().map(f64::from).collect(),
        NpyData::U32(v) => v.into_iter().map(f64::from).collect(),
        NpyData::U64(v) => v.into_iter().map(|x| x as f64).collect(),
        NpyData::I8(v) => v.into_iter().map(f64::from).collect(),
        NpyData::I16(v) => v.into_iter().map(f64::from).collect(),
        NpyData::I32(v) => v.into_iter().map(f64::from).collect(),
        NpyData::I64(v) => v.into_iter().map(|x| x as f64).collect(),
        other => bail!(
            "{}: unsupported dtype {}",
            path.display(),
            other.dtype().name()
        ),
    };
    Kernel::new(ky, kx, weights).with_context(|| path.display().to_string())
}

pub(crate) fn run(common: &Common, cmd: &FilterCommand) -> anyhow::Result<()> {
    let (io_args, op) = match cmd {
        FilterCommand::Uniform(a) => (&a.io, Op::Uniform(a.size)),
        FilterCommand::Correlate(a) => (
            &a.io,
            Op::Correlate(read_kernel(&a.kernel)?, a.method.into()),
        ),
        FilterCommand::Convolve(a) => (
            &a.io,
            Op::Convolve(read_kernel(&a.kernel)?, a.method.into()),
        ),
        FilterCommand::Gaussian(a) => {
            gpix::gaussian_kernel1d(a.sigma[0], a.truncate)?;
            (&a.io, Op::Gaussian(a.sigma, a.truncate))
        }
        FilterCommand::Gabor(a) => {
            let (re, im) = gpix::gabor_kernel(
                a.frequency,
                a.theta,
                a.sigma_x,
                a.sigma_y,
                a.n_stds,
                a.offset,
            )?;
            (&a.io, Op::Gabor(re, im, a.part))
        }
    };
    let mut phases = Phases::new(common);
    let (input, device) = open_input(
        common,
        &mut phases,
        &io_args.input,
        io_args.border.dtype,
        &[&io_args.output],
    )?;
    let device = common.route(device, &filter_work(&op, &input));
    let mode = io_args.border.mode();
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
    let (input, device) = open_input(common, &mut phases, &args.input, args.border.dtype, &given)?;
    let (values, value_bytes) = input.values();
    let work = Work::stats(values, value_bytes, args.size, given.len() as u64);
    let device = common.route(device, &work);
    let mode = args.border.mode();
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
    mode: BoundaryMode,
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
