//! gpix's kernels as compute passes on **your** wgpu device, for render tools.
//!
//! Each pass is an object made once from your `&wgpu::Device` with its
//! parameters (palette, window, sigma, spacing…) and recorded with
//! `encode(&mut encoder, input, output)` into your `&mut wgpu::CommandEncoder`
//! as often as you like: gpix never submits, never waits and never reads
//! back. Several passes can go into one encoder; later passes see earlier
//! passes' writes.
//!
//! - [`PalettePass`]: nearest palette colour, exact, ties to the lowest index;
//!   writes an `r32uint` index texture and/or the palette colours.
//! - [`FilterPass`]: scipy's `uniform_filter` and `gaussian_filter`
//!   (separable, every [`BoundaryMode`](crate::BoundaryMode)).
//! - [`GradientPass`]: numpy.gradient's central differences; magnitude per
//!   channel, or d/dy, d/dx and the magnitude of one channel.
//! - [`LabelMeanPass`]: every texel painted with the mean colour of its
//!   label (an `R32Uint` label texture), exact.
//!
//! ```no_run
//! use gpix::render::{
//!     ColorSpace, FilterPass, GradientOutput, GradientPass, PalettePass, PaletteTargets,
//! };
//! use gpix::{BoundaryMode, Palette};
//!
//! /// Your renderer's frame: `scene` is an Rgba8UnormSrgb texture with
//! /// TEXTURE_BINDING; the outputs have STORAGE_BINDING.
//! fn frame(
//!     device: &wgpu::Device,
//!     queue: &wgpu::Queue,
//!     scene: &wgpu::Texture,
//!     index_r32uint: &wgpu::Texture,
//!     retro_rgba8: &wgpu::Texture,
//!     blurred_rgba16f: &wgpu::Texture,
//!     edges_rgba8: &wgpu::Texture,
//! ) -> gpix::Result<()> {
//!     // Made once in real code (they cache their pipelines and bind groups).
//!     let palette = Palette::new(3, vec![0, 0, 0, 255, 85, 85, 85, 255, 255, 255, 255, 255])?;
//!     let mut quantize = PalettePass::from_palette(device, &palette)?;
//!     let mut blur =
//!         FilterPass::gaussian(device, [2.0, 2.0], 4.0, BoundaryMode::Reflect, ColorSpace::Encoded)?;
//!     let mut edges =
//!         GradientPass::new(device, [1.0, 1.0], 1, GradientOutput::Magnitude, ColorSpace::Encoded)?;
//!
//!     let mut encoder = device.create_command_encoder(&Default::default());
//!     let targets = PaletteTargets::default().index(index_r32uint).color(retro_rgba8);
//!     quantize.encode(&mut encoder, scene, targets)?;
//!     blur.encode(&mut encoder, scene, blurred_rgba16f)?;
//!     edges.encode(&mut encoder, blurred_rgba16f, edges_rgba8)?;
//!     queue.submit([encoder.finish()]);
//!     Ok(())
//! }
//! ```
//!
//! # Textures
//!
//! Inputs are 2-D, single-sample textures with `TEXTURE_BINDING` usage in
//! one of `Rgba8Unorm`, `Rgba8UnormSrgb`, `Rgba16Float`, `Rgba32Float`,
//! `R32Float`; the pass reads mip level 0. Outputs need `STORAGE_BINDING`
//! usage, the input's size and one of the storable formats `Rgba8Unorm`,
//! `Rgba16Float`, `Rgba32Float`, `R32Float` (values) or `R32Uint` (indices).
//! `Rgba8UnormSrgb` cannot be a storage texture in WebGPU: write to an
//! `Rgba8Unorm` texture (or an `Rgba8Unorm` view of an sRGB texture created
//! with that view format) instead. Anything else is an `Err` naming the
//! texture and the problem before anything is recorded, as is a texture
//! output on a device without storage textures (some downlevel GL devices:
//! use buffer outputs there).
//!
//! Passes take `&wgpu::Texture`, not views: a `TextureView` does not tell its
//! format, which the pass must check before it records anything. The pass
//! makes (and caches) its own view of mip level 0.
//!
//! # Buffers
//!
//! Every input and output can also be a storage buffer holding the texels
//! row-major with tight rows, laid out as the texture format says
//! ([`BufferImage`]; `Rgba8Unorm` is 4 bytes per texel, `R32Uint` one
//! `u32`): pass `BufferImage { .. }` where a `&Texture` goes (both convert to
//! [`Surface`]). A buffer's size is baked into its pipeline, so a new size
//! builds one pipeline more. `Rgba16Float` buffer images use WGSL's
//! `pack2x16float`/`unpack2x16float` (wgpu's `SHADER_F16_IN_F32` downlevel
//! capability, present on every native backend); where a device lacks it
//! the pass returns an `Err`.
//!
//! # Values and colour spaces
//!
//! Filters and gradients work on the values a shader reads (0–1 for the
//! 8-bit formats). The palette pass compares 8-bit textures in **byte units**
//! (0–255, integer arithmetic, so it returns exactly what
//! [`nearest_palette`](crate::nearest_palette) returns for the same bytes)
//! and float textures in their stored values.
//!
//! For `Rgba8UnormSrgb` inputs [`ColorSpace::Encoded`] (the default) works on
//! the stored sRGB-encoded bytes, like gpix's CPU and buffer paths on the same
//! image file; [`ColorSpace::Linear`] works on the linear-light values the
//! GPU decodes (palette colours then in linear 0–1 units, see
//! [`srgb_to_linear`]). Alpha is never encoded.
//!
//! # Allocation
//!
//! A pass creates its pipelines, views, bind groups and intermediate buffers
//! on first use with given textures and sizes and reuses them afterwards
//! ([`Created`] counts them): recording the same pass on the same textures
//! every frame allocates nothing.

mod cache;
mod filter;
mod gradient;
mod io;
mod label_mean;
mod palette;

pub use cache::Created;
pub use filter::FilterPass;
pub use gradient::{GradientOutput, GradientPass};
pub use io::{BufferImage, Surface};
pub use label_mean::LabelMeanPass;
pub use palette::{PalettePass, PaletteTargets, MAX_RENDER_COLORS};

use crate::error::{Error, Result};

/// Which values of an `Rgba8UnormSrgb` input a pass works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorSpace {
    /// The stored sRGB-encoded values (what the image file holds).
    #[default]
    Encoded,
    /// The linear-light values the GPU decodes them to.
    Linear,
}

/// The sRGB transfer function's inverse (IEC 61966-2-1): the linear-light
/// value of an encoded byte, for palettes used with [`ColorSpace::Linear`].
#[must_use]
pub fn srgb_to_linear(byte: u8) -> f32 {
    let v = f64::from(byte) / 255.0;
    let l = if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    };
    l as f32
}

/// How a pass reads an input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InputFormat {
    /// Values per texel the pass uses (1 or 4).
    pub(crate) channels: u32,
    /// An 8-bit unorm format (values are whole multiples of 1/255).
    pub(crate) eight_bit: bool,
    /// An sRGB texture: the GPU decodes it, the shader re-encodes (sRGB
    /// bytes in a buffer arrive encoded).
    pub(crate) gpu_decodes: bool,
    /// sRGB values decoded to linear light by the pass.
    pub(crate) linear: bool,
}

impl InputFormat {
    /// Whether the pass compares in byte units (8-bit, not linear light).
    pub(crate) fn bytes(self) -> bool {
        self.eight_bit && !self.linear
    }

    /// The input overrides of `render_common.wgsl` with the kernel's
    /// CHANNELS (the input's, or how many a pass compares or averages) and
    /// BYTES as given.
    pub(crate) fn constants(self, channels: u32, bytes: bool) -> Vec<(&'static str, f64)> {
        vec![
            ("CHANNELS", f64::from(channels)),
            ("EIGHT_BIT", f64::from(u8::from(self.eight_bit))),
            ("SRGB", f64::from(u8::from(self.gpu_decodes))),
            ("LINEAR", f64::from(u8::from(self.linear))),
            ("BYTES", f64::from(u8::from(bytes))),
        ]
    }

    /// A short tag naming the variant in pipeline keys.
    pub(crate) fn tag(self) -> String {
        format!(
            "c{}e{}s{}l{}",
            self.channels,
            u8::from(self.eight_bit),
            u8::from(self.gpu_decodes),
            u8::from(self.linear)
        )
    }
}

fn name(what: impl std::fmt::Display, texture: &wgpu::Texture) -> String {
    format!(
        "{what} ({}x{} {:?})",
        texture.width(),
        texture.height(),
        texture.format()
    )
}

/// Checks an input and says how the shaders read it.
pub(crate) fn input_format(
    device: &wgpu::Device,
    what: impl std::fmt::Display + Copy,
    input: &Surface<'_>,
    space: ColorSpace,
) -> Result<InputFormat> {
    use wgpu::TextureFormat as F;
    let (channels, eight_bit, srgb) = match input.format() {
        F::Rgba8Unorm => (4, true, false),
        F::Rgba8UnormSrgb => (4, true, true),
        F::Rgba16Float | F::Rgba32Float => (4, false, false),
        F::R32Float => (1, false, false),
        other => {
            return Err(Error::invalid(format!(
                "{}: {other:?} is not an input format of the gpix passes \
                 (Rgba8Unorm, Rgba8UnormSrgb, Rgba16Float, Rgba32Float, R32Float)",
                input.describe(what)
            )))
        }
    };
    match input {
        Surface::Texture(texture) => {
            check_plain_2d(what, texture)?;
            if !texture
                .usage()
                .contains(wgpu::TextureUsages::TEXTURE_BINDING)
            {
                return Err(Error::invalid(format!(
                    "{}: an input texture needs TEXTURE_BINDING usage",
                    name(what, texture)
                )));
            }
        }
        Surface::Buffer(_) => input.check_buffer(device, what)?,
    }
    Ok(InputFormat {
        channels,
        eight_bit,
        gpu_decodes: srgb && matches!(input, Surface::Texture(_)),
        linear: srgb && space == ColorSpace::Linear,
    })
}

/// Checks an output against the input's size and returns the WGSL storage
/// format name (for textures) and its channel count.
pub(crate) fn storage_format(
    device: &wgpu::Device,
    what: impl std::fmt::Display + Copy,
    output: &Surface<'_>,
    size: (u32, u32),
    allowed: &[wgpu::TextureFormat],
) -> Result<(&'static str, u32)> {
    use wgpu::TextureFormat as F;
    let format = output.format();
    let (wgsl, channels) = match format {
        F::Rgba8Unorm => ("rgba8unorm", 4),
        F::Rgba16Float => ("rgba16float", 4),
        F::Rgba32Float => ("rgba32float", 4),
        F::R32Float => ("r32float", 1),
        F::R32Uint => ("r32uint", 1),
        F::Rgba8UnormSrgb => {
            return Err(Error::invalid(format!(
                "{}: Rgba8UnormSrgb cannot be a storage texture; write to an Rgba8Unorm \
                 texture (or an Rgba8Unorm view of it) instead",
                output.describe(what)
            )))
        }
        _ => ("", 0),
    };
    if wgsl.is_empty() || !allowed.contains(&format) {
        return Err(Error::invalid(format!(
            "{}: this output takes {}",
            output.describe(what),
            allowed
                .iter()
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    match output {
        Surface::Texture(texture) => {
            check_plain_2d(what, texture)?;
            if device.limits().max_storage_textures_per_shader_stage == 0 {
                return Err(Error::invalid(format!(
                    "{}: this device has no storage textures; write to a buffer image",
                    name(what, texture)
                )));
            }
            if !texture
                .usage()
                .contains(wgpu::TextureUsages::STORAGE_BINDING)
            {
                return Err(Error::invalid(format!(
                    "{}: an output texture needs STORAGE_BINDING usage",
                    name(what, texture)
                )));
            }
        }
        Surface::Buffer(_) => output.check_buffer(device, what)?,
    }
    if output.size() != size {
        return Err(Error::invalid(format!(
            "{}: the output must be the input's size {}x{}",
            output.describe(what),
            size.0,
            size.1
        )));
    }
    Ok((wgsl, channels))
}

pub(crate) fn check_plain_2d(what: impl std::fmt::Display, texture: &wgpu::Texture) -> Result<()> {
    if texture.dimension() != wgpu::TextureDimension::D2
        || texture.depth_or_array_layers() != 1
        || texture.sample_count() != 1
    {
        return Err(Error::invalid(format!(
            "{}: the passes take single-layer, single-sample 2-D textures",
            name(what, texture)
        )));
    }
    Ok(())
}

/// Two words of an error message's subject ("filter" "input"), joined only
/// when an error is written: checks that pass allocate nothing.
#[derive(Clone, Copy)]
pub(crate) struct Two<'a>(pub(crate) &'a str, pub(crate) &'a str);

impl std::fmt::Display for Two<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.0, self.1)
    }
}

/// What [`value_io`] found out about a pass's input and value output.
pub(crate) struct ValueIo {
    pub(crate) format: InputFormat,
    pub(crate) size: (u32, u32),
    /// The output's WGSL storage format and channel count.
    pub(crate) out_format: &'static str,
    pub(crate) out_channels: u32,
}

/// The checks every value-to-value pass makes before recording: the input
/// is readable, the output writable, of the input's size, and another
/// resource (`what` names the pass in the errors).
pub(crate) fn value_io(
    device: &wgpu::Device,
    what: &str,
    input: &Surface<'_>,
    output: &Surface<'_>,
    space: ColorSpace,
) -> Result<ValueIo> {
    let format = input_format(device, Two(what, "input"), input, space)?;
    let size = input.size();
    let (out_format, out_channels) =
        storage_format(device, Two(what, "output"), output, size, VALUE_OUTPUTS)?;
    if input.same(output) {
        return Err(Error::invalid(format!(
            "{what} output: must be a different texture or buffer from the input"
        )));
    }
    Ok(ValueIo {
        format,
        size,
        out_format,
        out_channels,
    })
}

/// The value formats an output may have.
pub(crate) const VALUE_OUTPUTS: &[wgpu::TextureFormat] = &[
    wgpu::TextureFormat::Rgba8Unorm,
    wgpu::TextureFormat::Rgba16Float,
    wgpu::TextureFormat::Rgba32Float,
    wgpu::TextureFormat::R32Float,
];

/// Workgroups of 16×16 invocations covering `size`.
pub(crate) fn tiles(size: (u32, u32)) -> (u32, u32) {
    (size.0.div_ceil(16), size.1.div_ceil(16))
}

/// Shared WGSL prepended to every render kernel (after the resource
/// functions of `io.rs`).
pub(crate) const COMMON: &str = include_str!("../../shaders/render_common.wgsl");

/// A kernel's full source: resource functions, common helpers, kernel.
pub(crate) fn source(resources: &[String], kernel: &str) -> String {
    let mut s = resources.concat();
    s.push_str(COMMON);
    s.push_str(kernel);
    s
}

/// Every kernel source the passes build, named, for the naga validation
/// tests (tests/shaders.rs): each kernel with texture and buffer inputs and
/// outputs of every format. Not part of the API.
#[doc(hidden)]
#[must_use]
pub fn wgsl_variants() -> Vec<(String, String)> {
    use io::{index_wgsl, input_wgsl, labels_wgsl, output_wgsl, Kind};
    use wgpu::TextureFormat as F;
    let buffer = |format| Kind::Buffer {
        width: 7,
        height: 5,
        format,
    };
    let formats = [
        ("rgba8unorm", F::Rgba8Unorm),
        ("rgba16float", F::Rgba16Float),
        ("rgba32float", F::Rgba32Float),
        ("r32float", F::R32Float),
    ];
    let inputs = [Kind::Texture, buffer(F::Rgba8UnormSrgb)]
        .into_iter()
        .chain(formats.iter().map(|&(_, f)| buffer(f)));
    let mut out = Vec::new();
    for input in inputs {
        let read = input_wgsl(input, 0).expect("input formats have readers");
        for (wgsl, f) in formats {
            for target in [Kind::Texture, buffer(f)] {
                let write = |binding| output_wgsl(Some(target), binding, wgsl).expect("writer");
                let name = format!("{input:?} -> {target:?} {wgsl}");
                let index = index_wgsl(Some(target), 2);
                let labels = labels_wgsl(target, 1);
                out.extend([
                    (
                        format!("render_palette {name}"),
                        source(&[read.clone(), index, write(3)], palette::SHADER),
                    ),
                    (
                        format!("render_filter {name}"),
                        source(&[read.clone(), write(4)], filter::HEAD),
                    ),
                    (
                        format!("render_gradient {name}"),
                        source(&[read.clone(), write(2)], gradient::SHADER),
                    ),
                    (
                        format!("render_label_mean {name}"),
                        source(
                            &[read.clone(), labels.clone(), write(3)],
                            label_mean::SHADER,
                        ),
                    ),
                    (
                        format!("render_label_mean_float {name}"),
                        source(&[read.clone(), labels, write(3)], label_mean::FLOAT_SHADER),
                    ),
                ]);
            }
        }
    }
    out
}
