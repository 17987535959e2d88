//! [`GradientPass`]: numpy.gradient of a texture on the caller's device.

use super::cache::{record, Binding, Cache, Created, Frames, Held, Step};
use super::io::{input_wgsl, output_wgsl, Surface};
use super::{source, tiles, value_io, ColorSpace};
use crate::error::{Error, Result};

pub(super) const SHADER: &str = include_str!("../../shaders/render_gradient.wgsl");

/// What [`GradientPass`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GradientOutput {
    /// `sqrt(dy² + dx²)` per channel; four-channel inputs keep their alpha,
    /// one-channel inputs write `(m, 0, 0, 1)` (or `m` to `R32Float`).
    #[default]
    Magnitude,
    /// `(dy, dx, magnitude, 1)` of one input channel (a four-channel output).
    Components {
        /// The input channel (0..channels).
        channel: u32,
    },
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    inv_hy: f32,
    inv_hx: f32,
}

/// numpy.gradient of every channel of a texture along y (rows) and x
/// (columns): central differences inside, one- or two-sided differences of
/// `edge_order` 1 or 2 at the edges, uniform spacing `[hy, hx]`. Values as
/// in the [module docs](super) (0–1 for 8-bit textures). 8-bit outputs
/// clamp to 0–1, so negative components need a float output.
#[derive(Debug)]
pub struct GradientPass {
    cache: Cache,
    space: ColorSpace,
    edge_order: u8,
    output: GradientOutput,
    params: wgpu::Buffer,
    frames: Frames,
}

impl GradientPass {
    /// A gradient pass with numpy's `spacing` (`[rows, columns]`) and
    /// `edge_order`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a zero or non-finite spacing or an
    /// edge order other than 1 or 2.
    pub fn new(
        device: &wgpu::Device,
        spacing: [f64; 2],
        edge_order: u8,
        output: GradientOutput,
        space: ColorSpace,
    ) -> Result<Self> {
        if spacing.iter().any(|h| !h.is_finite() || *h == 0.0) {
            return Err(Error::invalid(format!(
                "gradient spacing must be finite and non-zero, not {spacing:?}"
            )));
        }
        if !(1..=2).contains(&edge_order) {
            return Err(Error::invalid(format!(
                "edge_order must be 1 or 2, not {edge_order}"
            )));
        }
        let mut cache = Cache::new(device);
        let params = Params {
            inv_hy: (1.0 / spacing[0]) as f32,
            inv_hx: (1.0 / spacing[1]) as f32,
        };
        let params = cache.buffer_init(
            "gpix.render.gradient.params",
            bytemuck::bytes_of(&params),
            wgpu::BufferUsages::UNIFORM,
        );
        Ok(Self {
            cache,
            space,
            edge_order,
            output,
            params,
            frames: Frames::default(),
        })
    }

    /// The wgpu objects this pass has created so far.
    #[must_use]
    pub fn created(&self) -> Created {
        self.cache.created()
    }

    /// Records the pass into `encoder`, reading `input` and writing `output`
    /// (a different texture of the same size).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the texture for a format, size or
    /// usage the pass cannot use, a side shorter than `edge_order + 1`
    /// (numpy raises there too), or a channel the input lacks;
    /// [`Error::Gpu`] if the pipeline cannot be built.
    pub fn encode<'a>(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        input: impl Into<Surface<'a>>,
        output: impl Into<Surface<'a>>,
    ) -> Result<()> {
        let (input, output) = (input.into(), output.into());
        let io = value_io(self.cache.device(), "gradient", &input, &output, self.space)?;
        let (format, size) = (io.format, io.size);
        let (out_format, out_channels) = (io.out_format, io.out_channels);
        let min_side = u32::from(self.edge_order) + 1;
        if size.0 < min_side || size.1 < min_side {
            return Err(Error::invalid(format!(
                "gradient input ({}x{}): edge_order {} needs at least {min_side} texels per side",
                size.0, size.1, self.edge_order
            )));
        }
        let (kind, channel) = match self.output {
            GradientOutput::Magnitude => (0u8, 0),
            GradientOutput::Components { channel } => {
                if channel >= format.channels || out_channels < 4 {
                    return Err(Error::invalid(format!(
                        "gradient components of channel {channel}: the input has {} channels \
                         and the output must have four",
                        format.channels
                    )));
                }
                (1, channel)
            }
        };
        let frame = [Held::of(Some(&input)), Held::of(Some(&output)), Held::None];
        if let Some(steps) = self.frames.get(&frame) {
            record(encoder, steps);
            return Ok(());
        }
        let key = format!(
            "gpix.render.gradient.{}.{}.{out_format}.{}.o{}k{kind}ch{channel}",
            input.tag(),
            output.tag(),
            format.tag(),
            self.edge_order
        );
        let mut constants = format.constants(format.channels, false);
        constants.extend([
            ("EDGE_ORDER", f64::from(self.edge_order)),
            ("OUTPUT", f64::from(kind)),
            ("CHANNEL", f64::from(channel)),
        ]);
        let resources = [
            input_wgsl(input.kind(), 0)?,
            output_wgsl(Some(output.kind()), 2, out_format)?,
        ];
        let pipeline =
            self.cache
                .pipeline(&key, &source(&resources, SHADER), "gradient", &constants)?;
        let params = self.params.clone();
        let group = self.cache.bind_group(
            &key,
            &pipeline,
            &[
                (0, input.binding()),
                (1, Binding::Buffer(&params)),
                (2, output.binding()),
            ],
        );
        let steps = vec![Step {
            label: "gpix.render.gradient",
            pipeline,
            group,
            tiles: tiles(size),
        }];
        self.frames.record_new(encoder, frame, steps);
        Ok(())
    }
}
