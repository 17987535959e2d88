//! [`PalettePass`]: nearest palette colour of every texel, on the caller's device.

use super::cache::{record, Binding, Cache, Created, Frames, Held, Step};
use super::io::{index_wgsl, input_wgsl, output_wgsl, Surface};
use super::{input_format, source, storage_format, tiles, ColorSpace, VALUE_OUTPUTS};
use crate::error::{Error, Result};
use crate::palette::Palette;

pub(super) const SHADER: &str = include_str!("../../shaders/render_palette.wgsl");

/// Most colours a render pass takes: every texel visits every colour, and a
/// frame's pass should stay far below a driver's watchdog.
pub const MAX_RENDER_COLORS: usize = 4096;

/// Where [`PalettePass::encode`] writes; at least one must be given:
/// `PaletteTargets::default().index(&index_texture).color(&colour_texture)`.
#[derive(Debug, Default, Clone, Copy)]
pub struct PaletteTargets<'a> {
    /// `R32Uint`: the index of the nearest colour.
    pub index: Option<Surface<'a>>,
    /// A value format: the nearest colour (channels not compared keep the
    /// input's values).
    pub color: Option<Surface<'a>>,
}

impl<'a> PaletteTargets<'a> {
    /// Also write indices to `index` (an `R32Uint` texture or buffer image).
    #[must_use]
    pub fn index(self, index: impl Into<Surface<'a>>) -> Self {
        Self {
            index: Some(index.into()),
            ..self
        }
    }

    /// Also write colours to `color`.
    #[must_use]
    pub fn color(self, color: impl Into<Surface<'a>>) -> Self {
        Self {
            color: Some(color.into()),
            ..self
        }
    }
}

/// Nearest-palette mapping of a texture, exact, ties to the lowest index.
///
/// Colours are in the pass's units (see the [module docs](super)): bytes
/// 0–255 for 8-bit textures in [`ColorSpace::Encoded`], stored values for
/// float textures, linear 0–1 for sRGB textures in [`ColorSpace::Linear`].
#[derive(Debug)]
pub struct PalettePass {
    cache: Cache,
    channels: u32,
    space: ColorSpace,
    palette: wgpu::Buffer,
    /// Colours in `palette` (ordered-dither offsets follow them).
    colors: Vec<[f32; 4]>,
    dither: bool,
    frames: Frames,
}

impl PalettePass {
    /// A pass comparing the first `channels` (1..=4) values of each texel
    /// with `colors` (1..=[`MAX_RENDER_COLORS`] entries).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty or too long palette, a
    /// channel count outside 1..=4 or a non-finite colour.
    pub fn new(
        device: &wgpu::Device,
        colors: &[[f32; 4]],
        channels: u32,
        space: ColorSpace,
    ) -> Result<Self> {
        if colors.is_empty() || colors.len() > MAX_RENDER_COLORS {
            return Err(Error::invalid(format!(
                "a render palette pass takes 1 to {MAX_RENDER_COLORS} colours, not {}",
                colors.len()
            )));
        }
        if !(1..=4).contains(&channels) {
            return Err(Error::invalid(format!(
                "a palette pass compares 1 to 4 channels, not {channels}"
            )));
        }
        if colors.iter().flatten().any(|v| !v.is_finite()) {
            return Err(Error::invalid("palette colours must be finite"));
        }
        let mut cache = Cache::new(device);
        let palette = cache.buffer_init(
            "gpix.render.palette.colors",
            bytemuck::cast_slice(colors),
            wgpu::BufferUsages::STORAGE,
        );
        Ok(Self {
            cache,
            channels,
            space,
            palette,
            colors: colors.to_vec(),
            dither: false,
            frames: Frames::default(),
        })
    }

    /// The same pass with ordered dithering: before its search, each texel's
    /// colour channels (not alpha) get the 8×8 Bayer offset of
    /// [`Dither::Ordered`](crate::Dither) for `strength` and are clamped to
    /// 0..=255, so its indices equal the library's `dither_palette` on the
    /// same 8-bit image. Byte units only: 8-bit inputs in
    /// [`ColorSpace::Encoded`] and colours that are integers 0..=255.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative or non-finite strength or
    /// colours that are not bytes.
    pub fn with_ordered_dither(mut self, strength: f32) -> Result<Self> {
        crate::Dither::Ordered { strength }.check()?;
        let c = self.channels as usize;
        let mut values = Vec::with_capacity(self.colors.len() * c);
        for colour in &self.colors {
            for &v in &colour[..c] {
                if !(0.0..=255.0).contains(&v) || v.fract() != 0.0 {
                    return Err(Error::invalid(
                        "ordered dithering in a render pass needs colours that are bytes (integers 0 to 255)",
                    ));
                }
                values.push(v as u16);
            }
        }
        let palette = Palette::new(c, values)?;
        let offsets = crate::bayer_offsets(&palette, 8, strength);
        let mut contents: Vec<[f32; 4]> = self.colors.clone();
        contents.extend(
            offsets
                .chunks_exact(4)
                .map(|o| [o[0] as f32, o[1] as f32, o[2] as f32, o[3] as f32]),
        );
        self.palette = self.cache.buffer_init(
            "gpix.render.palette.colors_and_dither",
            bytemuck::cast_slice(&contents),
            wgpu::BufferUsages::STORAGE,
        );
        self.dither = true;
        self.frames = Frames::default();
        Ok(self)
    }

    /// A pass for a gpix [`Palette`] (8-bit colours are byte units, the
    /// natural match for 8-bit textures in [`ColorSpace::Encoded`]).
    ///
    /// # Errors
    /// As [`PalettePass::new`].
    pub fn from_palette(device: &wgpu::Device, palette: &Palette) -> Result<Self> {
        let c = palette.channels();
        let colors: Vec<[f32; 4]> = (0..palette.len())
            .map(|i| {
                let mut v = [0f32; 4];
                for (d, &s) in v.iter_mut().zip(palette.color(i)) {
                    *d = f32::from(s);
                }
                v
            })
            .collect();
        Self::new(device, &colors, c as u32, ColorSpace::Encoded)
    }

    /// The wgpu objects this pass has created so far.
    #[must_use]
    pub fn created(&self) -> Created {
        self.cache.created()
    }

    /// Records the pass into `encoder`: every texel of `input` mapped to its
    /// nearest colour, written to `targets`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the texture for a format, size or
    /// usage the pass cannot use, a palette whose channel count the input
    /// lacks, or no target; [`Error::Gpu`] if a pipeline cannot be built.
    pub fn encode<'a>(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        input: impl Into<Surface<'a>>,
        targets: PaletteTargets<'a>,
    ) -> Result<()> {
        let input = input.into();
        let format = input_format(self.cache.device(), "palette input", &input, self.space)?;
        if self.channels > format.channels {
            return Err(Error::invalid(format!(
                "{}: the palette compares {} channels, the input has {}",
                input.describe("palette input"),
                self.channels,
                format.channels
            )));
        }
        let size = input.size();
        if let Some(t) = &targets.index {
            storage_format(
                self.cache.device(),
                "palette index output",
                t,
                size,
                &[wgpu::TextureFormat::R32Uint],
            )?;
        }
        let out_format = match &targets.color {
            Some(t) => {
                storage_format(
                    self.cache.device(),
                    "palette colour output",
                    t,
                    size,
                    VALUE_OUTPUTS,
                )?
                .0
            }
            None => "",
        };
        if targets.index.is_none() && targets.color.is_none() {
            return Err(Error::invalid(
                "a palette pass needs an index or a colour output",
            ));
        }
        let frame = [
            Held::of(Some(&input)),
            Held::of(targets.index.as_ref()),
            Held::of(targets.color.as_ref()),
        ];
        if let Some(steps) = self.frames.get(&frame) {
            record(encoder, steps);
            return Ok(());
        }
        let bytes = format.bytes();
        if self.dither && !bytes {
            return Err(Error::invalid(format!(
                "{}: ordered dithering in a render pass needs an 8-bit input in ColorSpace::Encoded",
                input.describe("palette input")
            )));
        }
        // CHANNELS is the number of channels compared, not the input's.
        let mut constants = format.constants(self.channels, bytes);
        constants.push(("OUT_SCALE", if bytes { 1.0 / 255.0 } else { 1.0 }));
        if self.dither {
            constants.push(("DITHER", 1.0));
            constants.push(("COLORS", self.colors.len() as f64));
        }
        let resources = [
            input_wgsl(input.kind(), 0)?,
            index_wgsl(targets.index.map(|t| t.kind()), 2),
            output_wgsl(targets.color.map(|t| t.kind()), 3, out_format)?,
        ];
        let key = format!(
            "gpix.render.palette.{}.{}{}.{}.k{}.{}{}",
            input.tag(),
            targets.index.map_or("-".into(), |t| t.tag()),
            targets.color.map_or("-".into(), |t| t.tag()),
            out_format,
            self.channels,
            format.tag(),
            if self.dither { ".dither" } else { "" }
        );
        let pipeline =
            self.cache
                .pipeline(&key, &source(&resources, SHADER), "nearest", &constants)?;
        let mut entries = vec![(0, input.binding()), (1, Binding::Buffer(&self.palette))];
        if let Some(t) = &targets.index {
            entries.push((2, t.binding()));
        }
        if let Some(t) = &targets.color {
            entries.push((3, t.binding()));
        }
        let group = self.cache.bind_group(&key, &pipeline, &entries);
        let steps = vec![Step {
            label: "gpix.render.palette",
            pipeline,
            group,
            tiles: tiles(size),
        }];
        self.frames.record_new(encoder, frame, steps);
        Ok(())
    }
}
