//! `gpix label-mean IMAGE LABELS OUTPUT`: every pixel painted with its
//! label's mean, and optionally the per-label table.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use gpix::io::npy::{self, read_npy, write_npy, NpyData, NpyElement};
use gpix::io::{self, ImageFormat, Staged};
use gpix::{
    labels_to_u32, AnyImage, Device, Image, ImageView, LabelTable, LabelValue, MeanElement,
    SumValue,
};

use super::{check_outputs_distinct, Common, Phases};

/// Paint every pixel with the mean colour of its label (exact integer sums).
#[derive(Args, Debug)]
pub(crate) struct LabelMeanArgs {
    /// Image file (grey/RGB/RGBA, 8/16-bit) or .npy (H,W) / (H,W,C), any C,
    /// dtype uint8/uint16/int32/float16/float32/float64 (float16 as float32).
    image: PathBuf,
    /// Labels: .npy (H,W) of any integer dtype, or an 8/16-bit grey image.
    /// Values 0..=4294967295, sparse values welcome.
    labels: PathBuf,
    /// .npy: the means as float32 (float64 for float64 images), the image's
    /// shape. Image formats (8/16-bit images of 1 to 4 channels): the image's
    /// layout and bit depth, means rounded half up.
    output: PathBuf,
    /// Also write the per-label table (.csv or .npy): label, pixel count,
    /// mean per channel, ascending by label.
    #[arg(long, value_name = "FILE")]
    table: Option<PathBuf>,
}

/// The image, typed, with its on-disk layout.
enum Values {
    U8(Image<u8>),
    U16(Image<u16>),
    I32(Image<i32>),
    F32(Image<f32>),
    F64(Image<f64>),
}

impl Values {
    /// `(H, W, C)`.
    fn shape(&self) -> (usize, usize, usize) {
        fn hwc<T: gpix::Element>(i: &Image<T>) -> (usize, usize, usize) {
            (i.height(), i.width(), i.channels())
        }
        match self {
            Values::U8(i) => hwc(i),
            Values::U16(i) => hwc(i),
            Values::I32(i) => hwc(i),
            Values::F32(i) => hwc(i),
            Values::F64(i) => hwc(i),
        }
    }
}

struct Input {
    values: Values,
    /// `(H, W)` rather than `(H, W, C)`.
    two_d: bool,
}

fn load_image(path: &Path) -> anyhow::Result<Input> {
    if io::extension(path) != "npy" {
        let image = io::read_image(path)?;
        let c = image.shape().2;
        let values = match image {
            AnyImage::U8(i) => Values::U8(i),
            AnyImage::U16(i) => Values::U16(i),
            AnyImage::F32(i) => Values::F32(i),
            AnyImage::F64(i) => Values::F64(i),
            _ => bail!("{}: unsupported image type", path.display()),
        };
        return Ok(Input {
            values,
            two_d: c == 1,
        });
    }
    let a = read_npy(path, io::max_bytes())?;
    let (h, w, c) = match a.shape[..] {
        [h, w] => (h, w, 1),
        [h, w, c] if c >= 1 => (h, w, c),
        _ => bail!(
            "{}: expected an (H,W) or (H,W,C) array, got shape {:?}",
            path.display(),
            a.shape
        ),
    };
    let values = match a.data {
        NpyData::U8(v) => Values::U8(Image::from_vec(v, h, w, c)?),
        NpyData::U16(v) => Values::U16(Image::from_vec(v, h, w, c)?),
        NpyData::I32(v) => Values::I32(Image::from_vec(v, h, w, c)?),
        NpyData::F32(v) => Values::F32(Image::from_vec(v, h, w, c)?),
        NpyData::F16(v) => Values::F32(Image::from_vec(npy::widen_f16(&v), h, w, c)?),
        NpyData::F64(v) => Values::F64(Image::from_vec(v, h, w, c)?),
        other => bail!(
            "{}: unsupported dtype {} (uint8, uint16, int32, float16, float32 or float64)",
            path.display(),
            other.dtype().name()
        ),
    };
    Ok(Input {
        values,
        two_d: a.shape.len() == 2,
    })
}

/// Labels as u32 with their (H, W).
fn load_labels(path: &Path) -> anyhow::Result<(Vec<u32>, usize, usize)> {
    let ctx = || path.display().to_string();
    if io::extension(path) != "npy" {
        let (h, w, c) = match io::read_image(path)? {
            AnyImage::U8(i) if i.channels() == 1 => {
                let (h, w) = (i.height(), i.width());
                return Ok((i.data().iter().map(|&v| u32::from(v)).collect(), h, w));
            }
            AnyImage::U16(i) if i.channels() == 1 => {
                let (h, w) = (i.height(), i.width());
                return Ok((i.data().iter().map(|&v| u32::from(v)).collect(), h, w));
            }
            other => other.shape(),
        };
        bail!(
            "{}: labels must be a single-channel 8- or 16-bit image, not {h}×{w}×{c}",
            path.display()
        );
    }
    let a = read_npy(path, io::max_bytes())?;
    let [h, w] = a.shape[..] else {
        bail!(
            "{}: labels must be an (H,W) array, got shape {:?}",
            path.display(),
            a.shape
        );
    };
    let labels = match a.data {
        NpyData::U8(v) => labels_to_u32(&v),
        NpyData::U16(v) => labels_to_u32(&v),
        NpyData::U32(v) => Ok(v),
        NpyData::U64(v) => labels_to_u32(&v),
        NpyData::I8(v) => labels_to_u32(&v),
        NpyData::I16(v) => labels_to_u32(&v),
        NpyData::I32(v) => labels_to_u32(&v),
        NpyData::I64(v) => labels_to_u32(&v),
        other => bail!(
            "{}: labels must be integers, not {}",
            path.display(),
            other.dtype().name()
        ),
    }
    .with_context(ctx)?;
    Ok((labels, h, w))
}

/// Output names are checked before any work.
fn check_outputs(args: &LabelMeanArgs) -> anyhow::Result<()> {
    ImageFormat::from_path(&args.output)?;
    check_outputs_distinct(&[Some(&args.output), args.table.as_ref()])?;
    if let Some(t) = &args.table {
        let ext = io::extension(t);
        if ext != "csv" && ext != "npy" {
            bail!("{}: the table is written as .csv or .npy", t.display());
        }
    }
    Ok(())
}

/// Whether OUTPUT is an image file; if so, that it can hold the means: 8- or
/// 16-bit values in 1 to 4 channels. Checked before any work.
fn check_image_output(args: &LabelMeanArgs, values: &Values) -> anyhow::Result<bool> {
    if ImageFormat::from_path(&args.output)? == ImageFormat::Npy {
        return Ok(false);
    }
    if !matches!(values, Values::U8(_) | Values::U16(_)) {
        bail!(
            "{}: {} holds float or int32 values, which are written as .npy only",
            args.output.display(),
            args.image.display()
        );
    }
    let c = values.shape().2;
    if !(1..=4).contains(&c) {
        bail!(
            "{}: an image file holds 1 to 4 channels, {} has {c}; write .npy",
            args.output.display(),
            args.image.display()
        );
    }
    Ok(true)
}

pub(crate) fn run(common: &Common, args: &LabelMeanArgs) -> anyhow::Result<()> {
    check_outputs(args)?;
    let mut phases = Phases::new(common);
    let ((input, image_out, (labels, lh, lw)), device) = common.device_alongside(|| {
        let input = load_image(&args.image)?;
        let image_out = check_image_output(args, &input.values)?;
        Ok((input, image_out, load_labels(&args.labels)?))
    })?;
    let (h, w, c) = input.values.shape();
    if (lh, lw) != (h, w) {
        bail!(
            "{}: labels are {lh}×{lw} but {} is {h}×{w}",
            args.labels.display(),
            args.image.display()
        );
    }
    common.say(format!(
        "input: {} ({h}×{w}×{c}), labels {}",
        args.image.display(),
        args.labels.display()
    ));
    phases.done("decode");
    common.say_device(&device);
    let device = common.route(device, &label_mean_work(&input.values, image_out));
    let shape: Vec<usize> = if input.two_d {
        vec![h, w]
    } else {
        vec![h, w, c]
    };
    let job = Job {
        common,
        device: &device,
        labels: &labels,
        args,
        shape: &shape,
    };
    let staged = match (&input.values, image_out) {
        (Values::U8(i), true) => job.run::<u8, u8>(i.view(), &mut phases)?,
        (Values::U16(i), true) => job.run::<u16, u16>(i.view(), &mut phases)?,
        (Values::U8(i), false) => job.run::<u8, f32>(i.view(), &mut phases)?,
        (Values::U16(i), false) => job.run::<u16, f32>(i.view(), &mut phases)?,
        (Values::I32(i), _) => job.run::<i32, f32>(i.view(), &mut phases)?,
        (Values::F32(i), _) => job.run::<f32, f32>(i.view(), &mut phases)?,
        (Values::F64(i), _) => job.run::<f64, f64>(i.view(), &mut phases)?,
    };
    io::commit_all(staged)?;
    phases.done("encode");
    Ok(())
}

/// The cost model's view of a label-mean run (`gpix::route`).
fn label_mean_work(values: &Values, image_out: bool) -> gpix::route::Work {
    let (h, w, c) = values.shape();
    let value_bytes: u64 = match values {
        Values::U8(_) => 1,
        Values::U16(_) => 2,
        Values::I32(_) | Values::F32(_) => 4,
        Values::F64(_) => 8,
    };
    let out_bytes = match values {
        Values::F64(_) => 8,
        _ if image_out => value_bytes,
        _ => 4,
    };
    gpix::route::Work::label_mean((h * w) as u64, c as u64, value_bytes, out_bytes)
}

struct Job<'a> {
    common: &'a Common,
    device: &'a Device,
    labels: &'a [u32],
    args: &'a LabelMeanArgs,
    shape: &'a [usize],
}

impl Job<'_> {
    /// Means of type `O` into the output (and the table), staged.
    fn run<T, O>(
        &self,
        image: ImageView<'_, T>,
        phases: &mut Phases<'_>,
    ) -> anyhow::Result<Vec<Staged>>
    where
        T: LabelValue,
        O: MeanElement<T::Sum> + NpyElement,
    {
        self.common.say(format!(
            "label-mean: {}",
            gpix::describe_label_mean::<T>(self.device)
        ));
        let mut out = vec![O::default(); image.data().len()];
        let table = gpix::label_mean_image_into(self.device, image, self.labels, &mut out)?;
        phases.done("compute");
        let view = ImageView::new(&out, image.height(), image.width(), image.channels())?;
        let mut staged = vec![io::stage_image(&self.args.output, view, self.shape)?];
        if let Some(path) = &self.args.table {
            staged.push(stage_table(path, &table)?);
        }
        Ok(staged)
    }
}

/// The table as CSV (label, count, mean_0, …) or an (M, 2 + C) float64 .npy.
fn stage_table<S: SumValue>(path: &Path, table: &LabelTable<S>) -> anyhow::Result<Staged> {
    let c = table.channels;
    let rows = table.len();
    if io::extension(path) == "npy" {
        let mut data = Vec::with_capacity(rows * (2 + c));
        for i in 0..rows {
            data.push(f64::from(table.labels[i]));
            data.push(table.counts[i] as f64);
            data.extend((0..c).map(|ch| table.mean::<f64>(i, ch)));
        }
        return Ok(io::stage(path, |w| {
            write_npy(w, &[rows, 2 + c], &data).map_err(|e| gpix::Error::io(path, e))
        })?);
    }
    Ok(io::stage(path, |w| {
        let err = |e| gpix::Error::io(path, e);
        let header: Vec<String> = (0..c).map(|ch| format!("mean_{ch}")).collect();
        writeln!(w, "label,count,{}", header.join(",")).map_err(err)?;
        for i in 0..rows {
            let means: Vec<String> = (0..c)
                .map(|ch| format!("{}", table.mean::<f64>(i, ch)))
                .collect();
            writeln!(
                w,
                "{},{},{}",
                table.labels[i],
                table.counts[i],
                means.join(",")
            )
            .map_err(err)?;
        }
        Ok(())
    })?)
}
