//! [`FilterPass`]: scipy's uniform, gaussian, minimum, maximum and rank
//! filters on the caller's device.

use super::cache::{record, Binding, Cache, Created, Frames, Held, Step};
use super::io::{input_wgsl, output_wgsl, Surface};
use super::{source, tiles, value_io, ColorSpace};
use crate::error::{Error, Result};
use crate::ops::filter::{gaussian_kernel1d, BoundaryMode, Extremum, Footprint, Rank};

pub(super) const HEAD: &str = concat!(
    include_str!("../../shaders/boundary.wgsl"),
    include_str!("../../shaders/render_filter.wgsl")
);
/// The one-pass rank filter.
const RANK_HEAD: &str = concat!(
    include_str!("../../shaders/boundary.wgsl"),
    include_str!("../../shaders/render_rank.wgsl")
);
/// Longest 1-D kernel: one invocation loops over every tap, and llvmpipe
/// stops loops at 65535 iterations.
const MAX_TAPS: usize = 4096;

#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    taps_x: u32,
    taps_y: u32,
    center_x: i32,
    center_y: i32,
    mode: u32,
    cval: f32,
    /// The rank a rank pass keeps (render_rank.wgsl; the separable passes
    /// read the fields above only).
    rank: u32,
    pad: u32,
}

/// A separable filter of a texture: [`FilterPass::uniform`] (scipy's
/// `uniform_filter`), [`FilterPass::gaussian`] (`gaussian_filter`) or
/// [`FilterPass::extremum`] (`minimum_filter` / `maximum_filter`: erosion
/// and dilation by a box), or [`FilterPass::rank`] (`rank_filter`,
/// `median_filter`, `percentile_filter`: one pass), with scipy's boundary
/// modes. Values as in the
/// [module docs](super): 0–1 for 8-bit textures; `cval` of
/// [`BoundaryMode::Constant`] in the same units.
/// One-channel inputs write `(v, 0, 0, 1)` to four-channel outputs;
/// four-channel inputs write their first channel to `R32Float`.
#[derive(Debug)]
pub struct FilterPass {
    cache: Cache,
    space: ColorSpace,
    params: wgpu::Buffer,
    weights: wgpu::Buffer,
    /// The intermediate rows result and its size in bytes.
    mid: Option<(u64, wgpu::Buffer)>,
    frames: Frames,
    /// The shader's REDUCE: 0 weighted sums, 1 minima, 2 maxima.
    reduce: u32,
    /// A rank filter's rank (one pass of render_rank.wgsl instead).
    rank: Option<u32>,
    /// Whether the rank pass reads a footprint's flags (`weights` then
    /// holds them, row by row).
    footprint: bool,
    /// The parameters `params` holds.
    base: Params,
}

impl FilterPass {
    /// scipy's `uniform_filter(size=(size[0], size[1]), mode=…)`: the mean
    /// of the `size[0]` × `size[1]` window (rows × columns), centred as
    /// scipy centres even sizes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a zero or over-long size.
    pub fn uniform(
        device: &wgpu::Device,
        size: [usize; 2],
        mode: BoundaryMode,
        space: ColorSpace,
    ) -> Result<Self> {
        if size.contains(&0) {
            return Err(Error::invalid("a uniform filter size must be at least 1"));
        }
        let wy = vec![1.0 / size[0] as f64; size[0]];
        let wx = vec![1.0 / size[1] as f64; size[1]];
        Self::separable(device, &wy, &wx, mode, space)
    }

    /// scipy's `minimum_filter` or `maximum_filter(size=(size[0], size[1]),
    /// mode=…)`: each channel's extremum over the window (grey erosion or
    /// dilation by a flat box), exact in the texture's units; or over any
    /// [`Footprint`] (a disk, …: one pass of the rank filter's rank 0 or
    /// n − 1, NaNs above every number there).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a zero or over-long size, or a
    /// footprint marking no position.
    pub fn extremum(
        device: &wgpu::Device,
        kind: Extremum,
        window: impl Into<Footprint>,
        mode: BoundaryMode,
        space: ColorSpace,
    ) -> Result<Self> {
        let window = window.into();
        if !window.is_rectangle() {
            let rank = match kind {
                Extremum::Minimum => Rank::Index(0),
                Extremum::Maximum => Rank::Index(-1),
            };
            return Self::rank(device, rank, window, mode, space);
        }
        let mut pass = Self::flat_box(device, kind.name(), window.size(), mode, space)?;
        pass.reduce = kind.shader_reduce();
        Ok(pass)
    }

    /// scipy's `rank_filter` / `median_filter` / `percentile_filter` (by
    /// [`Rank`]) over a `size[0]` × `size[1]` window or any [`Footprint`]
    /// (scipy's `footprint=`): each channel's value of that rank among the
    /// marked values, NaNs above every number, exact in the texture's units.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a zero or over-long size, a footprint
    /// marking no position or a rank outside the window.
    pub fn rank(
        device: &wgpu::Device,
        rank: Rank,
        window: impl Into<Footprint>,
        mode: BoundaryMode,
        space: ColorSpace,
    ) -> Result<Self> {
        let window = window.into();
        let size = window.size();
        let mut pass = Self::flat_box(device, "rank filter", size, mode, space)?;
        let n = crate::ops::filter::window_values(size)?;
        let n = if window.is_rectangle() {
            n
        } else {
            window.len()
        };
        if n == 0 {
            return Err(Error::invalid(
                "a rank filter's footprint marks no position",
            ));
        }
        if let Some(mask) = window.mask() {
            // The footprint's flags replace the box's unit weights.
            let flags: Vec<f32> = mask.iter().map(|&on| f32::from(u8::from(on))).collect();
            pass.weights = pass.cache.buffer_init(
                "gpix.render.filter.flags",
                bytemuck::cast_slice(&flags),
                wgpu::BufferUsages::STORAGE,
            );
            pass.footprint = true;
        }
        let k = rank.resolve(n)?;
        let k = u32::try_from(k).map_err(|_| Error::invalid("a rank filter window over 2^32"))?;
        let params = Params {
            rank: k,
            ..pass.base
        };
        pass.params = pass.cache.buffer_init(
            "gpix.render.filter.params",
            bytemuck::bytes_of(&params),
            wgpu::BufferUsages::UNIFORM,
        );
        pass.rank = Some(k);
        pass.reduce = crate::ops::filter::gpu::rank_reduce(k, n);
        Ok(pass)
    }

    /// A pass over a `size` box whose weights only size the window (the
    /// extremum and rank filters).
    fn flat_box(
        device: &wgpu::Device,
        what: &str,
        size: [usize; 2],
        mode: BoundaryMode,
        space: ColorSpace,
    ) -> Result<Self> {
        if size.contains(&0) {
            return Err(Error::invalid(format!("a {what} size must be at least 1")));
        }
        Self::separable(
            device,
            &vec![1.0; size[0]],
            &vec![1.0; size[1]],
            mode,
            space,
        )
    }

    /// scipy's `gaussian_filter(sigma=(sigma[0], sigma[1]), truncate=…, mode=…)`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative or non-finite sigma or
    /// truncate, or a kernel too long for one pass.
    pub fn gaussian(
        device: &wgpu::Device,
        sigma: [f64; 2],
        truncate: f64,
        mode: BoundaryMode,
        space: ColorSpace,
    ) -> Result<Self> {
        let wy = gaussian_kernel1d(sigma[0], truncate)?;
        let wx = gaussian_kernel1d(sigma[1], truncate)?;
        Self::separable(device, &wy, &wx, mode, space)
    }

    /// Any separable kernel `wy ⊗ wx` (taps centred at `len / 2`), correlated.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty, over-long or non-finite kernel.
    pub fn separable(
        device: &wgpu::Device,
        wy: &[f64],
        wx: &[f64],
        mode: BoundaryMode,
        space: ColorSpace,
    ) -> Result<Self> {
        for w in [wy, wx] {
            if w.is_empty() || w.len() > MAX_TAPS || w.iter().any(|v| !v.is_finite()) {
                return Err(Error::invalid(format!(
                    "a render filter kernel has 1 to {MAX_TAPS} finite taps per axis, not {}",
                    w.len()
                )));
            }
        }
        let mut cache = Cache::new(device);
        let params = Params {
            taps_x: wx.len() as u32,
            taps_y: wy.len() as u32,
            center_x: (wx.len() / 2) as i32,
            center_y: (wy.len() / 2) as i32,
            mode: mode.code(),
            cval: mode.cval() as f32,
            rank: 0,
            pad: 0,
        };
        let base = params;
        let params = cache.buffer_init(
            "gpix.render.filter.params",
            bytemuck::bytes_of(&params),
            wgpu::BufferUsages::UNIFORM,
        );
        let taps: Vec<f32> = wx.iter().chain(wy).map(|&v| v as f32).collect();
        let weights = cache.buffer_init(
            "gpix.render.filter.weights",
            bytemuck::cast_slice(&taps),
            wgpu::BufferUsages::STORAGE,
        );
        Ok(Self {
            cache,
            space,
            params,
            weights,
            mid: None,
            frames: Frames::default(),
            reduce: 0,
            rank: None,
            footprint: false,
            base,
        })
    }

    /// The wgpu objects this pass has created so far.
    #[must_use]
    pub fn created(&self) -> Created {
        self.cache.created()
    }

    /// Records the two passes into `encoder`, reading `input` and writing
    /// `output` (a different texture of the same size).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the texture for a format, size or
    /// usage the pass cannot use; [`Error::Gpu`] if a pipeline cannot be built.
    pub fn encode<'a>(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        input: impl Into<Surface<'a>>,
        output: impl Into<Surface<'a>>,
    ) -> Result<()> {
        let (input, output) = (input.into(), output.into());
        let io = value_io(self.cache.device(), "filter", &input, &output, self.space)?;
        let (format, size, out_format) = (io.format, io.size, io.out_format);
        if self.rank.is_some() {
            return self.encode_rank(encoder, (&input, &output), (&format, size, out_format));
        }
        let bytes = u64::from(size.0) * u64::from(size.1) * u64::from(format.channels) * 4;
        let limits = self.cache.device().limits();
        let limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        if bytes > limit {
            return Err(Error::too_large(
                "the filter pass's intermediate rows",
                bytes,
                limit,
            ));
        }
        let frame = [Held::of(Some(&input)), Held::of(Some(&output)), Held::None];
        if let Some(steps) = self.frames.get(&frame) {
            record(encoder, steps);
            return Ok(());
        }
        let mid = self.mid_buffer(bytes);
        let mut constants = format.constants(format.channels, false);
        constants.push(("REDUCE", f64::from(self.reduce)));
        let variant = format!("{}.{}.r{}", input.tag(), format.tag(), self.reduce);
        let input_decl = input_wgsl(input.kind(), 0)?;
        let rows_key = format!("gpix.render.filter.rows.{variant}");
        let rows = self.cache.pipeline(
            &rows_key,
            &source(&[input_decl.clone(), output_wgsl(None, 4, "")?], HEAD),
            "rows",
            &constants,
        )?;
        let cols_key = format!(
            "gpix.render.filter.cols.{}.{out_format}.{variant}",
            output.tag()
        );
        let cols = self.cache.pipeline(
            &cols_key,
            &source(
                &[input_decl, output_wgsl(Some(output.kind()), 4, out_format)?],
                HEAD,
            ),
            "cols",
            &constants,
        )?;
        let (params, weights) = (self.params.clone(), self.weights.clone());
        let rows_group = self.cache.bind_group(
            &rows_key,
            &rows,
            &[
                (0, input.binding()),
                (1, Binding::Buffer(&params)),
                (2, Binding::Buffer(&weights)),
                (3, Binding::Buffer(&mid)),
            ],
        );
        let mut cols_entries = vec![
            (1, Binding::Buffer(&params)),
            (2, Binding::Buffer(&weights)),
            (3, Binding::Buffer(&mid)),
            (4, output.binding()),
        ];
        // `cols` reads only the input's size: a texture's from the texture,
        // a buffer's from the shader text, so a buffer input is not bound.
        if let Surface::Texture(_) = input {
            cols_entries.push((0, input.binding()));
        }
        let cols_group = self.cache.bind_group(&cols_key, &cols, &cols_entries);
        let steps = vec![
            Step {
                label: "gpix.render.filter.rows",
                pipeline: rows,
                group: rows_group,
                tiles: tiles(size),
            },
            Step {
                label: "gpix.render.filter.cols",
                pipeline: cols,
                group: cols_group,
                tiles: tiles(size),
            },
        ];
        self.frames.record_new(encoder, frame, steps);
        Ok(())
    }

    /// Records the rank filter's one pass.
    fn encode_rank(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        (input, output): (&Surface<'_>, &Surface<'_>),
        (format, size, out_format): (&super::InputFormat, (u32, u32), &str),
    ) -> Result<()> {
        let frame = [Held::of(Some(input)), Held::of(Some(output)), Held::None];
        if let Some(steps) = self.frames.get(&frame) {
            record(encoder, steps);
            return Ok(());
        }
        let mut constants = format.constants(format.channels, false);
        constants.push(("FOOTPRINT", f64::from(u8::from(self.footprint))));
        constants.push(("REDUCE", f64::from(self.reduce)));
        let key = format!(
            "gpix.render.rank.{}.{}.{}.{out_format}.f{}r{}",
            input.tag(),
            format.tag(),
            output.tag(),
            u8::from(self.footprint),
            self.reduce
        );
        let pipeline = self.cache.pipeline(
            &key,
            &source(
                &[
                    input_wgsl(input.kind(), 0)?,
                    output_wgsl(Some(output.kind()), 4, out_format)?,
                ],
                RANK_HEAD,
            ),
            "rank",
            &constants,
        )?;
        let (params, flags) = (self.params.clone(), self.weights.clone());
        let group = self.cache.bind_group(
            &key,
            &pipeline,
            &[
                (0, input.binding()),
                (1, Binding::Buffer(&params)),
                (2, Binding::Buffer(&flags)),
                (4, output.binding()),
            ],
        );
        let steps = vec![Step {
            label: "gpix.render.rank",
            pipeline,
            group,
            tiles: tiles(size),
        }];
        self.frames.record_new(encoder, frame, steps);
        Ok(())
    }

    /// The intermediate buffer for `bytes`, reallocated when the size changes.
    fn mid_buffer(&mut self, bytes: u64) -> wgpu::Buffer {
        if let Some((b, buffer)) = &self.mid {
            if *b == bytes {
                return buffer.clone();
            }
        }
        let buffer =
            self.cache
                .storage("gpix.render.filter.mid", bytes, wgpu::BufferUsages::empty());
        self.mid = Some((bytes, buffer.clone()));
        buffer
    }
}
