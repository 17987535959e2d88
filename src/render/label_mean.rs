//! [`LabelMeanPass`]: every texel painted with its label's mean colour, on
//! the caller's device.

use super::cache::{record, Binding, Cache, Created, Frames, Held, Step};
use super::io::{input_wgsl, labels_wgsl, output_wgsl, Surface};
use super::{source, tiles, value_io, ColorSpace};
use crate::error::{Error, Result};

pub(super) const SHADER: &str = concat!(
    include_str!("../../shaders/render_label_table.wgsl"),
    include_str!("../../shaders/render_label_mean.wgsl")
);
pub(super) const FLOAT_SHADER: &str = concat!(
    include_str!("../../shaders/render_label_table.wgsl"),
    include_str!("../../shaders/render_label_mean_float.wgsl")
);

/// Per-label mean recolour with an `R32Uint` label texture (or buffer):
/// each texel gets the mean of the first `channels` values of all texels
/// with its label (the other channels keep their values).
///
/// - 8-bit inputs (`Rgba8Unorm`, `Rgba8UnormSrgb` in
///   [`ColorSpace::Encoded`]): byte sums as exact integers, means rounded
///   half up in byte units: exactly
///   [`label_mean_image`](crate::label_mean_image)'s `u8` result on the same
///   bytes.
/// - Float inputs and sRGB in [`ColorSpace::Linear`]: exact integer sums of
///   fixed-point values (2^-34 of each label's largest magnitude), so the
///   result is the same every frame whatever order the GPU adds in; the mean
///   is within a few f32 ulps of the exact one. A label holding an infinity
///   or NaN is painted NaN.
///
/// Labels are `0..n_labels`; texels with larger labels are not counted and
/// keep their own colour.
///
/// After [`encode`](Self::encode) the pass's [`table`](Self::table) holds,
/// per label, the texel count and then per channel, for 8-bit inputs, the
/// byte sum as a 64-bit integer (low word, high word) in `1 + 2 × channels`
/// u32 words; for float inputs the largest biased exponent E and the
/// fixed-point sum (×2^(34 − (E − 127)), two's complement) in `1 + 3 ×
/// channels` words.
#[derive(Debug)]
pub struct LabelMeanPass {
    cache: Cache,
    n_labels: u32,
    channels: u32,
    space: ColorSpace,
    table: wgpu::Buffer,
    frames: Frames,
}

impl LabelMeanPass {
    /// A pass for labels `0..n_labels` averaging the first `channels` (1..=4)
    /// values of each texel, in `space` for sRGB inputs.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for zero labels or a channel count outside
    /// 1..=4; [`Error::TooLarge`] if the table exceeds the device's storage
    /// binding size.
    pub fn new(
        device: &wgpu::Device,
        n_labels: u32,
        channels: u32,
        space: ColorSpace,
    ) -> Result<Self> {
        if n_labels == 0 {
            return Err(Error::invalid("a label-mean pass needs at least one label"));
        }
        if !(1..=4).contains(&channels) {
            return Err(Error::invalid(format!(
                "a label-mean pass averages 1 to 4 channels, not {channels}"
            )));
        }
        // Room for the float layout, the larger of the two.
        let bytes = u64::from(n_labels) * u64::from(1 + 3 * channels) * 4;
        let limits = device.limits();
        let limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        if bytes > limit {
            return Err(Error::too_large("the label-mean table", bytes, limit));
        }
        let mut cache = Cache::new(device);
        // Cleared by the encoder every frame; copyable for the caller's use.
        let table = cache.storage(
            "gpix.render.label_mean.table",
            bytes,
            wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
        );
        Ok(Self {
            cache,
            n_labels,
            channels,
            space,
            table,
            frames: Frames::default(),
        })
    }

    /// The per-label counts and sums of the last recorded frame (see the
    /// type's docs for the layout); `STORAGE | COPY_SRC` usage.
    #[must_use]
    pub fn table(&self) -> &wgpu::Buffer {
        &self.table
    }

    /// The wgpu objects this pass has created so far.
    #[must_use]
    pub fn created(&self) -> Created {
        self.cache.created()
    }

    /// Records the pass into `encoder`: clear the table, sum per label, paint
    /// `output` (a different texture of `input`'s size).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the texture for a format, size or
    /// usage the pass cannot use; [`Error::Gpu`] if a pipeline cannot be built.
    pub fn encode<'a>(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        input: impl Into<Surface<'a>>,
        labels: impl Into<Surface<'a>>,
        output: impl Into<Surface<'a>>,
    ) -> Result<()> {
        let (input, labels, output) = (input.into(), labels.into(), output.into());
        let io = value_io(
            self.cache.device(),
            "label-mean",
            &input,
            &output,
            self.space,
        )?;
        let (format, size, out_format) = (io.format, io.size, io.out_format);
        if self.channels > format.channels {
            return Err(Error::invalid(format!(
                "{}: the pass averages {} channels, the input has {}",
                input.describe("label-mean input"),
                self.channels,
                format.channels
            )));
        }
        check_labels(self.cache.device(), &labels, size)?;
        if labels.same(&output) {
            return Err(Error::invalid(
                "label-mean output: must be a different texture or buffer from the labels",
            ));
        }
        let frame = [
            Held::of(Some(&input)),
            Held::of(Some(&labels)),
            Held::of(Some(&output)),
        ];
        if let Some(steps) = self.frames.get(&frame) {
            encoder.clear_buffer(&self.table, 0, None);
            record(encoder, steps);
            return Ok(());
        }
        let bytes = format.bytes();
        let mut constants = format.constants(self.channels, bytes);
        constants.push(("N_LABELS", f64::from(self.n_labels)));
        let (kernel, passes): (&str, &[&str]) = if bytes {
            (SHADER, &["sums"])
        } else {
            (FLOAT_SHADER, &["exponents", "sums"])
        };
        let tag = format!(
            "{}.{}.k{}.{}",
            input.tag(),
            labels.tag(),
            self.channels,
            format.tag()
        );
        let reads = [input_wgsl(input.kind(), 0)?, labels_wgsl(labels.kind(), 1)];
        let sums_source = source(&[reads.concat(), output_wgsl(None, 3, "")?], kernel);
        let mut reductions = Vec::new();
        for entry in passes {
            let key = format!("gpix.render.label_mean.{entry}.{tag}");
            let pipeline = self.cache.pipeline(&key, &sums_source, entry, &constants)?;
            let group = self.cache.bind_group(
                &key,
                &pipeline,
                &[
                    (0, input.binding()),
                    (1, labels.binding()),
                    (2, Binding::Buffer(&self.table)),
                ],
            );
            reductions.push(Step {
                label: "gpix.render.label_mean.sums",
                pipeline,
                group,
                tiles: tiles(size),
            });
        }
        let paint_key = format!(
            "gpix.render.label_mean.paint.{}.{out_format}.{tag}",
            output.tag()
        );
        let paint_source = source(
            &[
                reads.concat(),
                output_wgsl(Some(output.kind()), 3, out_format)?,
            ],
            kernel,
        );
        let paint = self
            .cache
            .pipeline(&paint_key, &paint_source, "paint", &constants)?;
        let paint_group = self.cache.bind_group(
            &paint_key,
            &paint,
            &[
                (0, input.binding()),
                (1, labels.binding()),
                (2, Binding::Buffer(&self.table)),
                (3, output.binding()),
            ],
        );
        reductions.push(Step {
            label: "gpix.render.label_mean.paint",
            pipeline: paint,
            group: paint_group,
            tiles: tiles(size),
        });
        encoder.clear_buffer(&self.table, 0, None);
        self.frames.record_new(encoder, frame, reductions);
        Ok(())
    }
}

fn check_labels(device: &wgpu::Device, labels: &Surface<'_>, size: (u32, u32)) -> Result<()> {
    // Described only for an error: the check runs every frame.
    let what = || labels.describe("labels");
    if labels.format() != wgpu::TextureFormat::R32Uint {
        return Err(Error::invalid(format!(
            "{}: labels must be R32Uint",
            what()
        )));
    }
    match labels {
        Surface::Texture(t) => {
            if !t.usage().contains(wgpu::TextureUsages::TEXTURE_BINDING) {
                return Err(Error::invalid(format!(
                    "{}: the labels need TEXTURE_BINDING usage",
                    what()
                )));
            }
            super::check_plain_2d("labels", t)?;
        }
        Surface::Buffer(_) => labels.check_buffer(device, "labels")?,
    }
    if labels.size() != size {
        return Err(Error::invalid(format!(
            "{}: labels must be the input's size {}x{}",
            what(),
            size.0,
            size.1
        )));
    }
    Ok(())
}
