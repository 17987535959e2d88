//! `gpix gradient` and `gpix hessian`: numpy.gradient's finite differences
//! on arrays, only the requested outputs computed and written.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use gpix::io::npy::NpyElement;
use gpix::io::{self, Staged};
use gpix::{
    Device, FilterValue, GradientOptions, GradientOut, HessianOptions, HessianOut, Image,
    ImageView, Stencil,
};

use super::arrays::{open_input, stage_outputs, Dtype, Floats, Input};
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
    /// Float type integer inputs are converted to.
    #[arg(long, value_enum, default_value = "float64")]
    dtype: Dtype,
}

/// numpy.gradient over the first two axes of each channel.
#[derive(Args, Debug)]
pub(crate) struct GradientArgs {
    /// .npy (H,W) or (H,W,C) array (float32/float64; integers converted), or an image file.
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
    let (input, device) = open_input(common, &mut phases, &args.input, args.options.dtype, &given)?;
    let (values, value_bytes) = input.values();
    let work = gpix::route::Work::gradient(values, value_bytes, given.len() as u64);
    let device = common.route(device, &work);
    let options = GradientOptions {
        spacing: args.options.spacing,
        edge_order: args.options.edge_order,
        interior_only: args.interior_only,
    };
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
    let given: Vec<&Path> = given.iter().map(PathBuf::as_path).collect();
    let mut phases = Phases::new(common);
    let (input, device) = open_input(common, &mut phases, &args.input, args.options.dtype, &given)?;
    let (values, value_bytes) = input.values();
    let work = gpix::route::Work::hessian(values, value_bytes, given.len() as u64);
    let device = common.route(device, &work);
    let options = HessianOptions {
        gradient: GradientOptions {
            spacing: args.options.spacing,
            edge_order: args.options.edge_order,
            interior_only: false,
        },
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
