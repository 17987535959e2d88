//! Float arrays in and out for the array commands (filter, stats,
//! gradient, hessian): `.npy` or image files in, `.npy` in the input's
//! float dtype and layout or rounded images out.

use std::path::Path;

use anyhow::bail;
use clap::ValueEnum;
use gpix::io::npy::{self, read_npy, NpyData, NpyElement};
use gpix::io::{self, ImageFormat, Staged};
use gpix::{AnyImage, Device, FilterValue, Image, ImageView};

use super::{check_outputs_distinct, Common, Phases};

/// Float type integer inputs are converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Dtype {
    Float32,
    Float64,
}

/// An input array as floats, with what its outputs need to know.
pub(crate) struct Input {
    pub(crate) data: Floats,
    /// `(H, W)` rather than `(H, W, C)`.
    pub(crate) two_d: bool,
    /// 8 or 16 for integer inputs of those widths (image outputs allowed).
    pub(crate) bits: Option<u32>,
    /// The input was float16 (computed as float32).
    pub(crate) half: bool,
    /// Write `.npy` outputs of a float16 input as float16 (numpy.gradient
    /// keeps float16; skimage's filters return float32).
    pub(crate) keep_half: bool,
}

pub(crate) enum Floats {
    F32(Image<f32>),
    F64(Image<f64>),
}

impl Input {
    /// `(H, W)`.
    pub(crate) fn shape(&self) -> (usize, usize) {
        match &self.data {
            Floats::F32(i) => (i.height(), i.width()),
            Floats::F64(i) => (i.height(), i.width()),
        }
    }

    /// Values (pixels × channels) and bytes per value, for the cost model.
    pub(crate) fn values(&self) -> (u64, u64) {
        match &self.data {
            Floats::F32(i) => (i.data().len() as u64, 4),
            Floats::F64(i) => (i.data().len() as u64, 8),
        }
    }
}

fn convert<S: Copy>(v: &[S], dtype: Dtype, to64: impl Fn(S) -> f64 + Sync) -> Floats32Or64 {
    match dtype {
        Dtype::Float32 => Floats32Or64::F32(v.iter().map(|&x| to64(x) as f32).collect()),
        Dtype::Float64 => Floats32Or64::F64(v.iter().map(|&x| to64(x)).collect()),
    }
}

enum Floats32Or64 {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// The float type an array command computes and writes in: `--dtype` when
/// given (float inputs are converted too: float32 from float64 and the
/// reverse), else the input's own float type, integers as `int_default`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FloatChoice {
    pub(crate) requested: Option<Dtype>,
    pub(crate) int_default: Dtype,
}

impl FloatChoice {
    fn for_ints(self) -> Dtype {
        self.requested.unwrap_or(self.int_default)
    }

    /// Float values in the requested type, when one was given.
    fn recast(self, values: Floats32Or64) -> Floats32Or64 {
        use rayon::prelude::*;
        match (self.requested, values) {
            (Some(Dtype::Float64), Floats32Or64::F32(v)) => {
                Floats32Or64::F64(v.par_iter().map(|&x| f64::from(x)).collect())
            }
            (Some(Dtype::Float32), Floats32Or64::F64(v)) => {
                Floats32Or64::F32(v.par_iter().map(|&x| x as f32).collect())
            }
            (_, values) => values,
        }
    }
}

fn load(path: &Path, choice: FloatChoice) -> anyhow::Result<Input> {
    let dtype = choice.for_ints();
    let fail = |why: String| anyhow::anyhow!("{}: {why}", path.display());
    if io::extension(path) == "npy" {
        let a = read_npy(path, io::max_bytes())?;
        let (h, w, c) = match a.shape[..] {
            [h, w] => (h, w, 1),
            [h, w, c] => (h, w, c),
            _ => {
                return Err(fail(format!(
                    "expected a (H,W) or (H,W,C) array, got shape {:?}",
                    a.shape
                )))
            }
        };
        // float16 is written back as float16 unless --dtype says otherwise.
        let half = matches!(a.data, NpyData::F16(_)) && choice.requested.is_none();
        let (values, bits) = match a.data {
            NpyData::F16(v) => (Floats32Or64::F32(npy::widen_f16(&v)), None),
            NpyData::F32(v) => (Floats32Or64::F32(v), None),
            NpyData::F64(v) => (Floats32Or64::F64(v), None),
            NpyData::U8(v) => (convert(&v, dtype, f64::from), Some(8)),
            NpyData::U16(v) => (convert(&v, dtype, f64::from), Some(16)),
            NpyData::U32(v) => (convert(&v, dtype, f64::from), None),
            NpyData::U64(v) => (convert(&v, dtype, |x| x as f64), None),
            NpyData::I8(v) => (convert(&v, dtype, f64::from), None),
            NpyData::I16(v) => (convert(&v, dtype, f64::from), None),
            NpyData::I32(v) => (convert(&v, dtype, f64::from), None),
            NpyData::I64(v) => (convert(&v, dtype, |x| x as f64), None),
            other => return Err(fail(format!("unsupported dtype {}", other.dtype().name()))),
        };
        let data = match choice.recast(values) {
            Floats32Or64::F32(v) => Floats::F32(Image::from_vec(v, h, w, c)?),
            Floats32Or64::F64(v) => Floats::F64(Image::from_vec(v, h, w, c)?),
        };
        return Ok(Input {
            data,
            two_d: a.shape.len() == 2,
            bits,
            half,
            keep_half: false,
        });
    }
    let image = io::read_image(path)?;
    let (h, w, c) = image.shape();
    if h * w == 0 {
        return Err(fail("the image is empty".into()));
    }
    let (values, bits) = match image {
        AnyImage::U8(i) => (convert(i.data(), dtype, f64::from), Some(8)),
        AnyImage::U16(i) => (convert(i.data(), dtype, f64::from), Some(16)),
        AnyImage::F32(i) => (Floats32Or64::F32(i.into_vec()), None),
        AnyImage::F64(i) => (Floats32Or64::F64(i.into_vec()), None),
        _ => return Err(fail("unsupported image type".into())),
    };
    let data = match choice.recast(values) {
        Floats32Or64::F32(v) => Floats::F32(Image::from_vec(v, h, w, c)?),
        Floats32Or64::F64(v) => Floats::F64(Image::from_vec(v, h, w, c)?),
    };
    Ok(Input {
        data,
        two_d: c == 1,
        bits,
        half: false,
        keep_half: false,
    })
}

/// Fails before any work when `path` cannot take the result.
fn check_output(path: &Path, bits: Option<u32>) -> anyhow::Result<()> {
    match ImageFormat::from_path(path)? {
        ImageFormat::Npy => Ok(()),
        _ if bits.is_some() => Ok(()),
        _ => bail!(
            "{}: float input can only be written as .npy (image outputs need an 8- or 16-bit input)",
            path.display()
        ),
    }
}

/// Stages `out` at `path`: .npy in the input's layout, or an image rounded
/// and clamped to the input's bit depth.
pub(crate) fn stage_output<T: FilterValue + NpyElement>(
    path: &Path,
    out: &Image<T>,
    input: &Input,
) -> anyhow::Result<Staged> {
    let (h, w, c) = (out.height(), out.width(), out.channels());
    let shape: Vec<usize> = if input.two_d {
        vec![h, w]
    } else {
        vec![h, w, c]
    };
    if ImageFormat::from_path(path)? == ImageFormat::Npy {
        if input.half && input.keep_half && !T::IS_F64 {
            let v: Vec<f32> = out.data().iter().map(|v| v.to_f64() as f32).collect();
            let halves = npy::narrow_f16(&v);
            return Ok(io::stage_image(
                path,
                ImageView::new(&halves, h, w, c)?,
                &shape,
            )?);
        }
        return Ok(io::stage_image(path, out.view(), &shape)?);
    }
    let round = |max: f64| {
        out.data()
            .iter()
            .map(move |v| v.to_f64().round().clamp(0.0, max))
    };
    Ok(match input.bits {
        Some(8) => {
            let v: Vec<u8> = round(255.0).map(|x| x as u8).collect();
            io::stage_image(path, ImageView::new(&v, h, w, c)?, &shape)?
        }
        _ => {
            let v: Vec<u16> = round(65535.0).map(|x| x as u16).collect();
            io::stage_image(path, ImageView::new(&v, h, w, c)?, &shape)?
        }
    })
}

/// Stages several outputs at once, one per thread: writing a file is one
/// core's memcpy into the page cache (~3 GB/s here), and different files do
/// not wait on each other. Staged files keep the order of `outputs`.
pub(crate) fn stage_outputs<'a, T: FilterValue + NpyElement>(
    outputs: impl Iterator<Item = (&'a Path, &'a Image<T>)>,
    input: &Input,
) -> anyhow::Result<Vec<Staged>> {
    use rayon::prelude::*;
    let outputs: Vec<_> = outputs.collect();
    outputs
        .into_par_iter()
        .map(|(path, out)| stage_output(path, out, input))
        .collect()
}

/// The start every array command shares: output names checked first (a typo
/// costs nothing), the input loaded, the outputs checked against its type,
/// the device opened; `-v` reports each phase.
pub(crate) fn open_input(
    common: &Common,
    phases: &mut Phases<'_>,
    input: &Path,
    dtype: FloatChoice,
    outputs: &[&Path],
) -> anyhow::Result<(Input, Device)> {
    for o in outputs {
        ImageFormat::from_path(o)?;
    }
    let named: Vec<Option<&Path>> = outputs.iter().map(|o| Some(*o)).collect();
    check_outputs_distinct(&named)?;
    let (loaded, device) = common.device_alongside(|| {
        let loaded = load(input, dtype)?;
        for o in outputs {
            check_output(o, loaded.bits)?;
        }
        Ok(loaded)
    })?;
    phases.done("decode");
    common.say_device(&device);
    Ok((loaded, device))
}
