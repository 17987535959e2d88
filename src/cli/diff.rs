//! `gpix gradient` and `gpix hessian`: numpy.gradient's finite differences
//! on arrays, only the requested outputs computed and written.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use gpix::io::npy::NpyElement;
use gpix::io::{self, Staged};
use gpix::{
    Coordinates, Device, FilterValue, GradientOptions, GradientOut, HessianOptions, HessianOut,
    Image, ImageView, Stencil,
};

use super::arrays::{open_input, stage_outputs, Dtype, FloatChoice, Floats, Input};
use super::{Common, Phases, Usage};

/// Spacing and edge handling shared by both commands.
#[derive(Args, Debug)]
pub(crate) struct DiffOptions {
    /// Sample distance: H, or HY,HX (numpy.gradient's varargs).
    #[arg(long, value_parser = parse_spacing, default_value = "1")]
    spacing: [f64; 2],
    /// Accuracy of the one-sided differences at the edges.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    edge_order: u8,
    /// Compute and write in this float type (float inputs converted too:
    /// float32 from float64 and the reverse) [default: a float input's own
    /// type (float16 computed as float32, written as float16); integers
    /// float64, as numpy].
    #[arg(long, value_enum)]
    dtype: Option<Dtype>,
    /// Sample coordinates along y: a 1-D .npy array with one value per row
    /// (numpy.gradient's array varargs: non-uniform spacing), replacing the
    /// spacing along y. float64, float32 or integers; finite, no two
    /// neighbours equal. A 0-D array is a spacing.
    #[arg(long, value_name = "FILE")]
    coords_y: Option<PathBuf>,
    /// Sample coordinates along x: one value per column, as --coords-y.
    #[arg(long, value_name = "FILE")]
    coords_x: Option<PathBuf>,
}

impl DiffOptions {
    fn floats(&self) -> FloatChoice {
        FloatChoice {
            requested: self.dtype,
            int_default: Dtype::Float64,
        }
    }
}

/// One axis's coordinates as read (numpy's types: integers become float64).
enum AxisCoords {
    F64(Vec<f64>),
    F32(Vec<f32>),
}

impl AxisCoords {
    fn as_coordinates(&self) -> Coordinates<'_> {
        match self {
            Self::F64(x) => Coordinates::F64(x),
            Self::F32(x) => Coordinates::F32(x),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::F64(x) => x.len(),
            Self::F32(x) => x.len(),
        }
    }
}

/// The coordinate files of both axes, read and checked against the input's
/// shape; a 0-D file sets that axis's spacing instead.
struct CoordFiles {
    axes: [Option<AxisCoords>; 2],
    spacing: [f64; 2],
}

impl CoordFiles {
    fn read(o: &DiffOptions, (h, w): (usize, usize)) -> anyhow::Result<Self> {
        let mut spacing = o.spacing;
        let mut axes = [None, None];
        for (k, (path, n)) in [(&o.coords_y, h), (&o.coords_x, w)].into_iter().enumerate() {
            let Some(path) = path else { continue };
            let (coords, shape) = read_coords(path)?;
            let what = ["rows", "columns"][k];
            match shape[..] {
                [] => spacing[k] = scalar_spacing(&coords, path)?,
                [len] if len == n => axes[k] = Some(coords),
                [len] => anyhow::bail!(
                    "{}: {len} coordinates for an input of {n} {what} (one per {})",
                    path.display(),
                    &what[..what.len() - 1]
                ),
                _ => anyhow::bail!(
                    "{}: coordinates must be a 1-D array (or 0-D, a spacing), not shape {shape:?}",
                    path.display()
                ),
            }
        }
        Ok(Self { axes, spacing })
    }

    fn options(&self, edge_order: u8, interior_only: bool) -> GradientOptions<'_> {
        GradientOptions {
            spacing: self.spacing,
            coordinates: [0, 1].map(|k| self.axes[k].as_ref().map(AxisCoords::as_coordinates)),
            edge_order,
            interior_only,
        }
    }
}

fn scalar_spacing(c: &AxisCoords, path: &Path) -> anyhow::Result<f64> {
    let v = match c {
        AxisCoords::F64(x) => x[0],
        AxisCoords::F32(x) => f64::from(x[0]),
    };
    if !v.is_finite() || v == 0.0 {
        anyhow::bail!(
            "{}: spacing {v} must be finite and non-zero",
            path.display()
        );
    }
    Ok(v)
}

/// A coordinates file's values and shape.
fn read_coords(path: &Path) -> anyhow::Result<(AxisCoords, Vec<usize>)> {
    use gpix::io::npy::{self, read_npy, NpyData};
    let a = read_npy(path, io::max_bytes())?;
    let coords = match a.data {
        NpyData::F32(v) => AxisCoords::F32(v),
        // numpy would compute float16 coefficients; float32 ones are closer.
        NpyData::F16(v) => AxisCoords::F32(npy::widen_f16(&v)),
        // float64 kept; integers become float64, as numpy converts them.
        other => AxisCoords::F64(other.into_f64()),
    };
    debug_assert_eq!(coords.len(), a.shape.iter().product::<usize>());
    Ok((coords, a.shape))
}

/// numpy.gradient over the first two axes of each channel.
#[derive(Args, Debug)]
pub(crate) struct GradientArgs {
    /// .npy (H,W) or (H,W,C) array (float32/float64; float16 computed as float32 and
    /// written back as float16, as numpy; integers converted), or an image file.
    /// Empty arrays give empty results where numpy does.
    input: PathBuf,
    /// Write d/dy (axis 0) here.
    #[arg(long, value_name = "OUT")]
    dy: Option<PathBuf>,
    /// Write d/dx (axis 1) here.
    #[arg(long, value_name = "OUT")]
    dx: Option<PathBuf>,
    /// Write sqrt(dy² + dx²) here.
    #[arg(long, value_name = "OUT")]
    magnitude: Option<PathBuf>,
    /// Central differences inside only; the one-pixel border is 0.
    #[arg(long)]
    interior_only: bool,
    /// One axis only, as numpy.gradient(axis=…): y (rows, --dy) or x
    /// (columns, --dx). Only the differentiated axis must reach
    /// edge_order + 1 elements (also true without --axis when only --dy or
    /// only --dx is given).
    #[arg(long, value_enum)]
    axis: Option<AxisArg>,
    #[command(flatten)]
    options: DiffOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AxisArg {
    /// Axis 0, the rows: d/dy.
    Y,
    /// Axis 1, the columns: d/dx.
    X,
}

/// The Hessian: numpy.gradient applied twice (default) or the compact stencil.
#[derive(Args, Debug)]
pub(crate) struct HessianArgs {
    /// .npy (H,W) or (H,W,C) array, or an image file.
    input: PathBuf,
    /// Write d²/dy² here.
    #[arg(long, value_name = "OUT")]
    dyy: Option<PathBuf>,
    /// Write d²/dydx here.
    #[arg(long, value_name = "OUT")]
    dxy: Option<PathBuf>,
    /// Write d²/dx² here.
    #[arg(long, value_name = "OUT")]
    dxx: Option<PathBuf>,
    /// Write the two eigenvalues per pixel, larger first: OUT1,OUT2.
    #[arg(long, value_name = "OUT1,OUT2", value_delimiter = ',', num_args = 1)]
    eigen: Option<Vec<PathBuf>>,
    /// gradient: numpy.gradient twice (dyy = d/dy of dy, dxy = d/dx of dy,
    /// dxx = d/dx of dx); compact: 3-point second differences and the
    /// 4-point cross, border 0.
    #[arg(long, value_enum, default_value = "gradient")]
    stencil: StencilArg,
    #[command(flatten)]
    options: DiffOptions,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StencilArg {
    Gradient,
    Compact,
}

fn parse_spacing(s: &str) -> Result<[f64; 2], String> {
    let parse = |v: &str| match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x != 0.0 => Ok(x),
        _ => Err(format!(
            "spacing '{s}' must be H or HY,HX with finite, non-zero values"
        )),
    };
    match s.split_once(',') {
        Some((a, b)) => Ok([parse(a)?, parse(b)?]),
        None => {
            let v = parse(s)?;
            Ok([v, v])
        }
    }
}

/// The input of a difference command: as every array command's, but
/// float16 is written back as float16 (numpy.gradient keeps it; gpix
/// computes it in float32).
fn open_diff_input(
    common: &Common,
    phases: &mut Phases<'_>,
    input: &Path,
    options: &DiffOptions,
    outputs: &[&Path],
) -> anyhow::Result<(Input, Device)> {
    let (mut input, device) = open_input(common, phases, input, options.floats(), outputs)?;
    input.keep_half = true;
    Ok((input, device))
}

/// The outputs that were given.
fn given(paths: &[&Option<PathBuf>]) -> Vec<PathBuf> {
    paths.iter().filter_map(|p| (*p).clone()).collect()
}

fn zeros<T: FilterValue>(want: bool, input: &Image<T>) -> anyhow::Result<Option<Image<T>>> {
    Ok(if want {
        Some(Image::zeros(
            input.height(),
            input.width(),
            input.channels(),
        )?)
    } else {
        None
    })
}

fn stage_all<T: FilterValue + NpyElement>(
    pairs: Vec<(Option<PathBuf>, Option<Image<T>>)>,
    input: &Input,
) -> anyhow::Result<Vec<Staged>> {
    let outputs: Vec<(PathBuf, Image<T>)> = pairs
        .into_iter()
        .filter_map(|(path, img)| Some((path?, img?)))
        .collect();
    stage_outputs(outputs.iter().map(|(p, img)| (p.as_path(), img)), input)
}

pub(crate) fn run_gradient(common: &Common, args: &GradientArgs) -> anyhow::Result<()> {
    let given = given(&[&args.dy, &args.dx, &args.magnitude]);
    if given.is_empty() {
        return Err(Usage("give at least one of --dy, --dx, --magnitude".into()).into());
    }
    let other = match args.axis {
        Some(AxisArg::Y) => [("--dx", &args.dx), ("--magnitude", &args.magnitude)],
        Some(AxisArg::X) => [("--dy", &args.dy), ("--magnitude", &args.magnitude)],
        None => [("", &None), ("", &None)],
    };
    if let Some((flag, _)) = other.iter().find(|(_, o)| o.is_some()) {
        return Err(Usage(
            format!(
                "{flag} is not along --axis {:?}",
                args.axis.unwrap_or(AxisArg::Y)
            )
            .to_lowercase(),
        )
        .into());
    }
    let given: Vec<&Path> = given.iter().map(PathBuf::as_path).collect();
    let mut phases = Phases::new(common);
    let (input, device) = open_diff_input(common, &mut phases, &args.input, &args.options, &given)?;
    let (values, value_bytes) = input.values();
    let work = gpix::route::Work::gradient(values, value_bytes, given.len() as u64);
    let device = common.route(device, &work);
    let coords = CoordFiles::read(&args.options, input.shape())?;
    let options = coords.options(args.options.edge_order, args.interior_only);
    let staged = match &input.data {
        Floats::F32(img) => {
            common.say(format!("gradient: {}", gpix::describe_diff::<f32>(&device)));
            gradient_of(&device, img, &options, args, &input)?
        }
        Floats::F64(img) => {
            common.say(format!("gradient: {}", gpix::describe_diff::<f64>(&device)));
            gradient_of(&device, img, &options, args, &input)?
        }
    };
    phases.done("compute");
    io::commit_all(staged)?;
    phases.done("encode");
    Ok(())
}

fn gradient_of<T: FilterValue + NpyElement>(
    device: &Device,
    img: &Image<T>,
    options: &GradientOptions,
    args: &GradientArgs,
    input: &Input,
) -> anyhow::Result<Vec<Staged>> {
    let mut dy = zeros(args.dy.is_some(), img)?;
    let mut dx = zeros(args.dx.is_some(), img)?;
    let mut mag = zeros(args.magnitude.is_some(), img)?;
    gpix::gradient_into(
        device,
        img.view(),
        options,
        GradientOut {
            dy: dy.as_mut().map(Image::data_mut),
            dx: dx.as_mut().map(Image::data_mut),
            magnitude: mag.as_mut().map(Image::data_mut),
        },
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", args.input.display()))?;
    stage_all(
        vec![
            (args.dy.clone(), dy),
            (args.dx.clone(), dx),
            (args.magnitude.clone(), mag),
        ],
        input,
    )
}

pub(crate) fn run_hessian(common: &Common, args: &HessianArgs) -> anyhow::Result<()> {
    let (e1, e2) = match args.eigen.as_deref() {
        None => (None, None),
        Some([a, b]) => (Some(a.clone()), Some(b.clone())),
        Some(_) => return Err(Usage("--eigen takes two files: OUT1,OUT2".into()).into()),
    };
    let given = given(&[&args.dyy, &args.dxy, &args.dxx, &e1, &e2]);
    if given.is_empty() {
        return Err(Usage("give at least one of --dyy, --dxy, --dxx, --eigen".into()).into());
    }
    let coords_given = args.options.coords_y.is_some() || args.options.coords_x.is_some();
    if coords_given && matches!(args.stencil, StencilArg::Compact) {
        return Err(
            Usage("--stencil compact takes --spacing, not --coords-y/--coords-x".into()).into(),
        );
    }
    let given: Vec<&Path> = given.iter().map(PathBuf::as_path).collect();
    let mut phases = Phases::new(common);
    let (input, device) = open_diff_input(common, &mut phases, &args.input, &args.options, &given)?;
    let (values, value_bytes) = input.values();
    let work = gpix::route::Work::hessian(values, value_bytes, given.len() as u64);
    let device = common.route(device, &work);
    let coords = CoordFiles::read(&args.options, input.shape())?;
    let options = HessianOptions {
        gradient: coords.options(args.options.edge_order, false),
        stencil: match args.stencil {
            StencilArg::Gradient => Stencil::Gradient,
            StencilArg::Compact => Stencil::Compact,
        },
    };
    let paths = [args.dyy.clone(), args.dxy.clone(), args.dxx.clone(), e1, e2];
    let staged = match &input.data {
        Floats::F32(img) => {
            common.say(format!("hessian: {}", gpix::describe_diff::<f32>(&device)));
            hessian_of(&device, img, &options, &paths, args, &input)?
        }
        Floats::F64(img) => {
            common.say(format!("hessian: {}", gpix::describe_diff::<f64>(&device)));
            hessian_of(&device, img, &options, &paths, args, &input)?
        }
    };
    phases.done("compute");
    io::commit_all(staged)?;
    phases.done("encode");
    Ok(())
}

fn hessian_of<T: FilterValue + NpyElement>(
    device: &Device,
    img: &Image<T>,
    options: &HessianOptions,
    paths: &[Option<PathBuf>; 5],
    args: &HessianArgs,
    input: &Input,
) -> anyhow::Result<Vec<Staged>> {
    let mut arrays: Vec<Option<Image<T>>> = paths
        .iter()
        .map(|p| zeros(p.is_some(), img))
        .collect::<anyhow::Result<_>>()?;
    let [dyy, dxy, dxx, e1, e2] = &mut arrays[..] else {
        unreachable!("five outputs")
    };
    let eigen = match (e1.as_mut(), e2.as_mut()) {
        (Some(a), Some(b)) => Some((a.data_mut(), b.data_mut())),
        _ => None,
    };
    let view: ImageView<'_, T> = img.view();
    gpix::hessian_into(
        device,
        view,
        options,
        HessianOut {
            dyy: dyy.as_mut().map(Image::data_mut),
            dxy: dxy.as_mut().map(Image::data_mut),
            dxx: dxx.as_mut().map(Image::data_mut),
            eigen,
        },
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", args.input.display()))?;
    stage_all(paths.iter().cloned().zip(arrays).collect(), input)
}
