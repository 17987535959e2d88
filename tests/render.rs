//! Render passes on a caller's device: texture path ≡ buffer path ≡ CPU
//! reference for the palette, filter and gradient passes; formats, sizes and
//! usages the passes cannot use are `Err`s; recording the same passes again
//! creates no wgpu objects.
#![cfg(feature = "gpu")]

mod common;

use gpix::render::{
    srgb_to_linear, BufferImage, ColorSpace, FilterPass, GradientOutput, GradientPass,
    LabelMeanPass, PalettePass, PaletteTargets,
};
use gpix::{
    gradient_reference, label_mean_image, nearest_palette, nearest_palette_reference,
    uniform_filter_reference, BoundaryMode, Device, GpuContext, GradientOptions, ImageView,
    Palette,
};
use proptest::prelude::*;
use wgpu::{TextureFormat as F, TextureUsages as U};

fn texture(
    ctx: &GpuContext,
    format: F,
    (w, h): (u32, u32),
    data: &[u8],
    usage: U,
) -> wgpu::Texture {
    let t = ctx.device().create_texture(&wgpu::TextureDescriptor {
        label: Some("test"),
        size: wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: usage | U::COPY_DST | U::COPY_SRC,
        view_formats: &[],
    });
    if !data.is_empty() {
        let texel = format.block_copy_size(None).unwrap();
        ctx.queue().write_texture(
            t.as_image_copy(),
            data,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(w * texel),
                rows_per_image: None,
            },
            t.size(),
        );
    }
    t
}

fn output(ctx: &GpuContext, format: F, size: (u32, u32)) -> wgpu::Texture {
    texture(ctx, format, size, &[], U::STORAGE_BINDING)
}

/// Submits `encoder` and reads every texture back (tightly packed rows).
fn finish(
    ctx: &GpuContext,
    mut encoder: wgpu::CommandEncoder,
    textures: &[&wgpu::Texture],
) -> Vec<Vec<u8>> {
    let mut staging = Vec::new();
    for t in textures {
        let texel = t.format().block_copy_size(None).unwrap();
        let row = (t.width() * texel).div_ceil(256) * 256;
        let buf = ctx.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: u64::from(row * t.height()),
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        encoder.copy_texture_to_buffer(
            t.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &buf,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(row),
                    rows_per_image: None,
                },
            },
            t.size(),
        );
        staging.push((buf, row, t.width() * texel, t.height()));
    }
    ctx.queue().submit([encoder.finish()]);
    staging
        .iter()
        .map(|(buf, row, tight, h)| {
            let slice = buf.slice(..);
            slice.map_async(wgpu::MapMode::Read, |r| r.unwrap());
            ctx.device()
                .poll(wgpu::PollType::wait_indefinitely())
                .unwrap();
            let data = slice.get_mapped_range().unwrap();
            let mut out = Vec::new();
            for y in 0..*h as usize {
                let start = y * *row as usize;
                out.extend_from_slice(&data[start..start + *tight as usize]);
            }
            out
        })
        .collect()
}

fn encoder(ctx: &GpuContext) -> wgpu::CommandEncoder {
    ctx.device()
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("test"),
        })
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytemuck::pod_collect_to_vec(bytes)
}

fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytemuck::pod_collect_to_vec(bytes)
}

/// Random RGBA bytes and a palette of `channels` with repeated colours (ties).
fn palette_case() -> impl Strategy<Value = (u32, u32, Vec<u8>, usize, Vec<u16>)> {
    (1u32..=24, 1u32..=24, 3usize..=4, 1usize..=300).prop_flat_map(|(w, h, c, k)| {
        (
            Just(w),
            Just(h),
            prop::collection::vec(any::<u8>(), (w * h * 4) as usize),
            Just(c),
            prop::collection::vec(
                prop_oneof![Just(0u16), Just(128), Just(255), 0u16..=255],
                k * c,
            ),
        )
    })
}

/// (format, texel bytes, palette, texel values as the pass sees them, channels, space)
type FloatCase<'a> = (F, &'a [u8], &'a [[f32; 4]], Vec<f32>, u32, ColorSpace);

/// (format, texel bytes, values as the pass sees them, channels per texel, space)
type MeanCase<'a> = (F, &'a [u8], &'a [f32], usize, ColorSpace);

fn leading_channels(rgba: &[u8], c: usize) -> Vec<u8> {
    rgba.chunks_exact(4).flat_map(|p| p[..c].to_vec()).collect()
}

/// A filter pass whose results are inputs (extremum, rank) on an
/// `Rgba8Unorm` texture of `bytes` and an `R32Float` one of `grey`, into
/// float and 8-bit outputs: exactly the references (0–1 units; the 8-bit
/// input's to f32 rounding of v / 255), and the 8-bit outputs to ½ step.
fn check_value_pass(
    ctx: &gpix::GpuContext,
    pass: &mut FilterPass,
    (w, h): (u32, u32),
    (bytes, grey): (&[u8], &[f32]),
    (rgba_ref, grey_ref): (&[f64], &[f64]),
) -> Result<(), TestCaseError> {
    for (format, data, reference, c, tol) in [
        (F::Rgba8Unorm, bytes, rgba_ref, 4usize, 1e-7),
        (F::R32Float, bytemuck::cast_slice(grey), grey_ref, 1, 0.0),
    ] {
        let input = texture(ctx, format, (w, h), data, U::TEXTURE_BINDING);
        let out32 = output(ctx, F::Rgba32Float, (w, h));
        let out8 = output(ctx, F::Rgba8Unorm, (w, h));
        let mut enc = encoder(ctx);
        pass.encode(&mut enc, &input, &out32).unwrap();
        pass.encode(&mut enc, &input, &out8).unwrap();
        let out = finish(ctx, enc, &[&out32, &out8]);
        let got32 = floats(&out[0]);
        for (p, want) in reference.chunks_exact(c).enumerate() {
            for ch in 0..c {
                let g = f64::from(got32[p * 4 + ch]);
                prop_assert!(
                    (g - want[ch]).abs() <= tol,
                    "{:?} {} {}: {} vs {}",
                    format,
                    p,
                    ch,
                    g,
                    want[ch]
                );
                let g8 = f64::from(out[1][p * 4 + ch]);
                prop_assert!(
                    (g8 - want[ch] * 255.0).abs() <= 0.5 + 1e-3,
                    "{:?} 8-bit {} {}: {} vs {}",
                    format,
                    p,
                    ch,
                    g8,
                    want[ch] * 255.0
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::GPU_CASES))]

    /// 8-bit textures (plain and sRGB-encoded) give exactly the CPU
    /// reference's and the buffer path's indices, and the palette colours.
    #[test]
    fn palette_texture_matches_buffer_and_cpu((w, h, rgba, c, colors) in palette_case()) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let palette = Palette::new(c, colors).unwrap();
        let pixels = leading_channels(&rgba, c);
        let view = ImageView::new(&pixels, h as usize, w as usize, c).unwrap();
        let expected: Vec<u16> = nearest_palette_reference(view, &palette).unwrap();
        let buffer_path: Vec<u16> = nearest_palette(view, &palette, &Device::Gpu(ctx.clone())).unwrap();
        prop_assert_eq!(&buffer_path, &expected);

        let mut pass = PalettePass::from_palette(ctx.device(), &palette).unwrap();
        for format in [F::Rgba8Unorm, F::Rgba8UnormSrgb] {
            let input = texture(&ctx, format, (w, h), &rgba, U::TEXTURE_BINDING);
            let index = output(&ctx, F::R32Uint, (w, h));
            let color = output(&ctx, F::Rgba8Unorm, (w, h));
            let mut enc = encoder(&ctx);
            pass.encode(&mut enc, &input, PaletteTargets::default().index(&index).color(&color)).unwrap();
            let out = finish(&ctx, enc, &[&index, &color]);
            let got: Vec<u16> = u32s(&out[0]).iter().map(|&i| i as u16).collect();
            prop_assert_eq!(&got, &expected, "{:?}", format);
            for (p, (&i, (px, src))) in expected.iter().zip(out[1].chunks_exact(4).zip(rgba.chunks_exact(4))).enumerate() {
                let want: Vec<u8> = (0..4).map(|ch| if ch < c { palette.color(usize::from(i))[ch] as u8 } else { src[ch] }).collect();
                prop_assert_eq!(px, &want[..], "texel {}", p);
            }
        }
    }

    /// Float textures and sRGB textures in linear light: the f32 distances
    /// pick the f64 argmin except where two colours are within float
    /// rounding of a tie.
    #[test]
    fn palette_float_and_linear_inputs_pick_the_nearest(
        (w, h) in (1u32..=16, 1u32..=16),
        seed in any::<u64>(),
        k in 1usize..=40,
    ) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let mut rng = gpix::synth::Rng::new(seed);
        let mut next = move || (rng.next_u64() >> 32) as u32;
        let bytes: Vec<u8> = (0..w * h * 4).map(|_| next() as u8).collect();
        let colors_bytes: Vec<[u8; 4]> = (0..k).map(|_| [next() as u8, next() as u8, next() as u8, 255]).collect();
        let values: Vec<f32> = (0..w * h * 4).map(|_| next() as f32 / u32::MAX as f32 * 4.0 - 2.0).collect();
        let float_colors: Vec<[f32; 4]> = (0..k).map(|_| [0; 4].map(|_: u8| next() as f32 / u32::MAX as f32 * 4.0 - 2.0)).collect();
        let linear_colors: Vec<[f32; 4]> = colors_bytes.iter().map(|c| [srgb_to_linear(c[0]), srgb_to_linear(c[1]), srgb_to_linear(c[2]), 1.0]).collect();
        let linear_texels: Vec<f32> = bytes.chunks_exact(4).flat_map(|p| [srgb_to_linear(p[0]), srgb_to_linear(p[1]), srgb_to_linear(p[2]), f32::from(p[3]) / 255.0]).collect();

        let cases: [FloatCase<'_>; 2] = [
            (F::Rgba32Float, bytemuck::cast_slice(&values), &float_colors, values.clone(), 4, ColorSpace::Encoded),
            (F::Rgba8UnormSrgb, &bytes, &linear_colors, linear_texels, 3, ColorSpace::Linear),
        ];
        for (format, data, colors, texels, channels, space) in cases {
            let mut pass = PalettePass::new(ctx.device(), colors, channels, space).unwrap();
            let input = texture(&ctx, format, (w, h), data, U::TEXTURE_BINDING);
            let index = output(&ctx, F::R32Uint, (w, h));
            let mut enc = encoder(&ctx);
            pass.encode(&mut enc, &input, PaletteTargets::default().index(&index)).unwrap();
            let got = u32s(&finish(&ctx, enc, &[&index])[0]);
            for (p, px) in texels.chunks_exact(4).enumerate() {
                let d = |c: &[f32; 4]| (0..channels as usize).map(|ch| (f64::from(px[ch]) - f64::from(c[ch])).powi(2)).sum::<f64>();
                let best = colors.iter().map(d).fold(f64::INFINITY, f64::min);
                let chosen = d(&colors[got[p] as usize]);
                prop_assert!(chosen <= best + 1e-5 * (1.0 + best), "{:?} texel {}: {} vs {}", format, p, chosen, best);
            }
        }
    }

    /// Uniform and gaussian filters ≡ the f64 reference on the same values
    /// (f32 tolerance; 8-bit outputs within one step).
    #[test]
    fn filters_match_the_reference(
        (w, h) in (1u32..=20, 1u32..=20),
        seed in any::<u64>(),
        size in [1usize..=6, 1usize..=6],
        mode in prop_oneof![Just(BoundaryMode::Reflect), Just(BoundaryMode::Mirror), Just(BoundaryMode::Nearest), Just(BoundaryMode::Wrap), (0.0f64..1.0).prop_map(BoundaryMode::Constant)],
    ) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let mut rng = gpix::synth::Rng::new(seed);
        let mut next = move || (rng.next_u64() >> 32) as u32;
        let bytes: Vec<u8> = (0..w * h * 4).map(|_| next() as u8).collect();
        let grey: Vec<f32> = (0..w * h).map(|_| next() as f32 / u32::MAX as f32).collect();
        let norm: Vec<f64> = bytes.iter().map(|&b| f64::from(b) / 255.0).collect();
        let grey64: Vec<f64> = grey.iter().map(|&v| f64::from(v)).collect();
        let (hh, ww) = (h as usize, w as usize);
        let rgba_ref = uniform_filter_reference(ImageView::new(&norm, hh, ww, 4).unwrap(), size, mode).unwrap();
        let grey_ref = uniform_filter_reference(ImageView::new(&grey64, hh, ww, 1).unwrap(), size, mode).unwrap();
        let mut pass = FilterPass::uniform(ctx.device(), size, mode, ColorSpace::Encoded).unwrap();
        for (format, data, reference, c) in [
            (F::Rgba8Unorm, &bytes[..], rgba_ref.data(), 4usize),
            (F::Rgba8UnormSrgb, &bytes[..], rgba_ref.data(), 4),
            (F::R32Float, bytemuck::cast_slice(&grey), grey_ref.data(), 1),
        ] {
            let input = texture(&ctx, format, (w, h), data, U::TEXTURE_BINDING);
            let out32 = output(&ctx, F::Rgba32Float, (w, h));
            let out8 = output(&ctx, F::Rgba8Unorm, (w, h));
            let mut enc = encoder(&ctx);
            pass.encode(&mut enc, &input, &out32).unwrap();
            pass.encode(&mut enc, &input, &out8).unwrap();
            let out = finish(&ctx, enc, &[&out32, &out8]);
            let got32 = floats(&out[0]);
            for (p, want) in reference.chunks_exact(c).enumerate() {
                for ch in 0..c {
                    let g = f64::from(got32[p * 4 + ch]);
                    prop_assert!((g - want[ch]).abs() <= 2e-6 * (1.0 + want[ch].abs()), "{:?} {} {}: {} vs {}", format, p, ch, g, want[ch]);
                    let g8 = f64::from(out[1][p * 4 + ch]);
                    prop_assert!((g8 - want[ch].clamp(0.0, 1.0) * 255.0).abs() <= 0.5 + 1e-3, "{:?} 8-bit {} {}: {} vs {}", format, p, ch, g8, want[ch] * 255.0);
                }
            }
        }
    }

    /// Minimum and maximum filters ≡ the reference, exactly for float
    /// textures (8-bit ones to f32 rounding of v / 255), both into float and
    /// 8-bit outputs.
    #[test]
    fn extremum_filters_match_the_reference(
        (w, h) in (1u32..=20, 1u32..=20),
        seed in any::<u64>(),
        size in [1usize..=6, 1usize..=6],
        maximum in any::<bool>(),
        mode in prop_oneof![Just(BoundaryMode::Reflect), Just(BoundaryMode::Mirror), Just(BoundaryMode::Nearest), Just(BoundaryMode::Wrap), (0.0f64..1.0).prop_map(BoundaryMode::Constant)],
    ) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let kind = if maximum { gpix::Extremum::Maximum } else { gpix::Extremum::Minimum };
        let mut rng = gpix::synth::Rng::new(seed);
        let mut next = move || (rng.next_u64() >> 32) as u32;
        let bytes: Vec<u8> = (0..w * h * 4).map(|_| next() as u8).collect();
        let grey: Vec<f32> = (0..w * h).map(|_| next() as f32 / u32::MAX as f32).collect();
        let norm: Vec<f64> = bytes.iter().map(|&b| f64::from(b) / 255.0).collect();
        let grey64: Vec<f64> = grey.iter().map(|&v| f64::from(v)).collect();
        let (hh, ww) = (h as usize, w as usize);
        // The pass reads cval as f32: so does the reference.
        let mode32 = match mode { BoundaryMode::Constant(c) => BoundaryMode::Constant(f64::from(c as f32)), m => m };
        let rgba_ref = gpix::extremum_filter_reference(ImageView::new(&norm, hh, ww, 4).unwrap(), kind, size, mode32).unwrap();
        let grey_ref = gpix::extremum_filter_reference(ImageView::new(&grey64, hh, ww, 1).unwrap(), kind, size, mode32).unwrap();
        let mut pass = FilterPass::extremum(ctx.device(), kind, size, mode, ColorSpace::Encoded).unwrap();
        check_value_pass(&ctx, &mut pass, (w, h), (&bytes, &grey), (rgba_ref.data(), grey_ref.data()))?;
        prop_assert!(FilterPass::extremum(ctx.device(), kind, [0, 3], mode, ColorSpace::Encoded).is_err());
    }

    /// Rank filters (median, any index, percentiles) ≡ the reference,
    /// exactly for float textures (8-bit ones to f32 rounding of v / 255),
    /// into float and 8-bit outputs; windows over one workgroup block (16)
    /// stream block by block.
    #[test]
    fn rank_filters_match_the_reference(
        (w, h) in (1u32..=20, 1u32..=20),
        seed in any::<u64>(),
        (size, rank) in prop_oneof![4 => [1usize..=6, 1usize..=6], 1 => [1usize..=3, 17usize..=20]]
            .prop_flat_map(|s| {
                let n = (s[0] * s[1]) as isize;
                (Just(s), prop_oneof![Just(gpix::Rank::Median), (-n..n).prop_map(gpix::Rank::Index), (0.0f64..=100.0).prop_map(gpix::Rank::Percentile)])
            }),
        mode in prop_oneof![Just(BoundaryMode::Reflect), Just(BoundaryMode::Mirror), Just(BoundaryMode::Nearest), Just(BoundaryMode::Wrap), (0.0f64..1.0).prop_map(BoundaryMode::Constant)],
    ) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let mut rng = gpix::synth::Rng::new(seed);
        let mut next = move || (rng.next_u64() >> 32) as u32;
        let bytes: Vec<u8> = (0..w * h * 4).map(|_| next() as u8).collect();
        let grey: Vec<f32> = (0..w * h).map(|_| next() as f32 / u32::MAX as f32).collect();
        let norm: Vec<f64> = bytes.iter().map(|&b| f64::from(b) / 255.0).collect();
        let grey64: Vec<f64> = grey.iter().map(|&v| f64::from(v)).collect();
        let (hh, ww) = (h as usize, w as usize);
        let mode32 = match mode { BoundaryMode::Constant(c) => BoundaryMode::Constant(f64::from(c as f32)), m => m };
        let rgba_ref = gpix::rank_filter_reference(ImageView::new(&norm, hh, ww, 4).unwrap(), rank, size, mode32).unwrap();
        let grey_ref = gpix::rank_filter_reference(ImageView::new(&grey64, hh, ww, 1).unwrap(), rank, size, mode32).unwrap();
        let mut pass = FilterPass::rank(ctx.device(), rank, size, mode, ColorSpace::Encoded).unwrap();
        check_value_pass(&ctx, &mut pass, (w, h), (&bytes, &grey), (rgba_ref.data(), grey_ref.data()))?;
        prop_assert!(FilterPass::rank(ctx.device(), rank, [0, 3], mode, ColorSpace::Encoded).is_err());
        prop_assert!(FilterPass::rank(ctx.device(), gpix::Rank::Index(9), [3, 3], mode, ColorSpace::Encoded).is_err());
    }

    /// Rank filters and minimum / maximum over a footprint ≡ the
    /// reference (exactly for float textures), footprints over one
    /// workgroup block included.
    #[test]
    fn footprint_filters_match_the_reference(
        (w, h) in (1u32..=20, 1u32..=20),
        seed in any::<u64>(),
        (ny, nx) in prop_oneof![4 => (1usize..=6, 1usize..=6), 1 => (1usize..=3, 17usize..=19)],
        kind in 0u8..3,
        mode in prop_oneof![Just(BoundaryMode::Reflect), Just(BoundaryMode::Wrap), (0.0f64..1.0).prop_map(BoundaryMode::Constant)],
    ) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let mut rng = gpix::synth::Rng::new(seed);
        let mut next = move || (rng.next_u64() >> 32) as u32;
        let mut mask: Vec<bool> = (0..ny * nx).map(|_| next() % 3 != 0).collect();
        mask[next() as usize % (ny * nx)] = true;
        let window = gpix::Footprint::from_mask(mask, ny, nx).unwrap();
        let bytes: Vec<u8> = (0..w * h * 4).map(|_| next() as u8).collect();
        let grey: Vec<f32> = (0..w * h).map(|_| next() as f32 / u32::MAX as f32).collect();
        let norm: Vec<f64> = bytes.iter().map(|&b| f64::from(b) / 255.0).collect();
        let grey64: Vec<f64> = grey.iter().map(|&v| f64::from(v)).collect();
        let (hh, ww) = (h as usize, w as usize);
        let mode32 = match mode { BoundaryMode::Constant(c) => BoundaryMode::Constant(f64::from(c as f32)), m => m };
        let (rgba_ref, grey_ref, mut pass) = if kind < 2 {
            let kind = if kind == 0 { gpix::Extremum::Minimum } else { gpix::Extremum::Maximum };
            (
                gpix::extremum_filter_reference(ImageView::new(&norm, hh, ww, 4).unwrap(), kind, &window, mode32).unwrap(),
                gpix::extremum_filter_reference(ImageView::new(&grey64, hh, ww, 1).unwrap(), kind, &window, mode32).unwrap(),
                FilterPass::extremum(ctx.device(), kind, &window, mode, ColorSpace::Encoded).unwrap(),
            )
        } else {
            let rank = gpix::Rank::Median;
            (
                gpix::rank_filter_reference(ImageView::new(&norm, hh, ww, 4).unwrap(), rank, &window, mode32).unwrap(),
                gpix::rank_filter_reference(ImageView::new(&grey64, hh, ww, 1).unwrap(), rank, &window, mode32).unwrap(),
                FilterPass::rank(ctx.device(), rank, &window, mode, ColorSpace::Encoded).unwrap(),
            )
        };
        check_value_pass(&ctx, &mut pass, (w, h), (&bytes, &grey), (rgba_ref.data(), grey_ref.data()))?;
        let empty = gpix::Footprint::from_mask(vec![false; 4], 2, 2).unwrap();
        prop_assert!(FilterPass::rank(ctx.device(), gpix::Rank::Median, &empty, mode, ColorSpace::Encoded).is_err());
    }

    /// Gradient magnitude and components ≡ numpy.gradient's reference.
    #[test]
    fn gradient_matches_the_reference(
        (w, h) in (3u32..=20, 3u32..=20),
        seed in any::<u64>(),
        edge_order in 1u8..=2,
        spacing in [0.25f64..4.0, 0.25f64..4.0],
        channel in 0u32..4,
    ) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let mut rng = gpix::synth::Rng::new(seed);
        let mut next = move || (rng.next_u64() >> 32) as u32;
        let bytes: Vec<u8> = (0..w * h * 4).map(|_| next() as u8).collect();
        let norm: Vec<f64> = bytes.iter().map(|&b| f64::from(b) / 255.0).collect();
        let options = GradientOptions { spacing, edge_order, interior_only: false, ..GradientOptions::default() };
        let g = gradient_reference(ImageView::new(&norm, h as usize, w as usize, 4).unwrap(), &options).unwrap();
        let input = texture(&ctx, F::Rgba8Unorm, (w, h), &bytes, U::TEXTURE_BINDING);
        let mag = output(&ctx, F::Rgba32Float, (w, h));
        let comp = output(&ctx, F::Rgba16Float, (w, h));
        let mut magnitude = GradientPass::new(ctx.device(), spacing, edge_order, GradientOutput::Magnitude, ColorSpace::Encoded).unwrap();
        let mut components = GradientPass::new(ctx.device(), spacing, edge_order, GradientOutput::Components { channel }, ColorSpace::Encoded).unwrap();
        let mut enc = encoder(&ctx);
        magnitude.encode(&mut enc, &input, &mag).unwrap();
        components.encode(&mut enc, &input, &comp).unwrap();
        let out = finish(&ctx, enc, &[&mag, &comp]);
        let m = floats(&out[0]);
        let halves: Vec<f32> = bytemuck::pod_collect_to_vec::<u8, u16>(&out[1]).iter().map(|&b| half_to_f32(b)).collect();
        let scale = 4.0 / spacing[0].min(spacing[1]);
        for p in 0..(w * h) as usize {
            for ch in 0..4 {
                let (dy, dx) = (g.dy.data()[p * 4 + ch], g.dx.data()[p * 4 + ch]);
                let want = if ch == 3 { norm[p * 4 + 3] } else { dy.hypot(dx) };
                prop_assert!((f64::from(m[p * 4 + ch]) - want).abs() <= 2e-6 * scale, "magnitude {} {}: {} vs {}", p, ch, m[p * 4 + ch], want);
            }
            let c = channel as usize;
            let (dy, dx) = (g.dy.data()[p * 4 + c], g.dx.data()[p * 4 + c]);
            for (got, want) in halves[p * 4..p * 4 + 3].iter().zip([dy, dx, dy.hypot(dx)]) {
                prop_assert!((f64::from(*got) - want).abs() <= 1e-3 * (1.0 + want.abs()), "components {}: {} vs {}", p, got, want);
            }
            prop_assert_eq!(halves[p * 4 + 3], 1.0);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::GPU_CASES))]

    /// Label means on textures ≡ the CPU path ≡ the buffer path, bytes
    /// exact; labels past the table keep their colour.
    #[test]
    fn label_means_match_buffer_and_cpu(
        (w, h) in (1u32..=40, 1u32..=40),
        seed in any::<u64>(),
        n_labels in 1u32..=30,
        channels in 3usize..=4,
        block in 1u32..=12,
        srgb in any::<bool>(),
    ) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let mut rng = gpix::synth::Rng::new(seed);
        let mut next = move || (rng.next_u64() >> 32) as u32;
        let rgba: Vec<u8> = (0..w * h * 4).map(|_| next() as u8).collect();
        // Blocky labels (as segmentations are) with some noise and a few
        // labels past the table.
        let block_label: Vec<u32> = (0..1024).map(|_| next() % n_labels).collect();
        let labels: Vec<u32> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                match next() % 16 {
                    0 => next() % n_labels,
                    1 => n_labels + next() % 3,
                    _ => block_label[((y / block) * 32 + x / block) as usize % 1024],
                }
            })
            .collect();
        let pixels = leading_channels(&rgba, channels);
        let view = ImageView::new(&pixels, h as usize, w as usize, channels).unwrap();
        let (cpu, _) = label_mean_image::<u8, u8>(&Device::Cpu, view, &labels).unwrap();
        let (buffer_path, _) = label_mean_image::<u8, u8>(&Device::Gpu(ctx.clone()), view, &labels).unwrap();
        prop_assert_eq!(buffer_path.data(), cpu.data());

        let format = if srgb { F::Rgba8UnormSrgb } else { F::Rgba8Unorm };
        let input = texture(&ctx, format, (w, h), &rgba, U::TEXTURE_BINDING);
        let label_tex = texture(&ctx, F::R32Uint, (w, h), bytemuck::cast_slice(&labels), U::TEXTURE_BINDING);
        let out = output(&ctx, F::Rgba8Unorm, (w, h));
        let mut pass = LabelMeanPass::new(ctx.device(), n_labels, channels as u32, ColorSpace::Encoded).unwrap();
        let mut enc = encoder(&ctx);
        pass.encode(&mut enc, &input, &label_tex, &out).unwrap();
        let got = finish(&ctx, enc, &[&out]).remove(0);
        for (p, px) in got.chunks_exact(4).enumerate() {
            for ch in 0..4 {
                let want = if ch < channels && labels[p] < n_labels { cpu.data()[p * channels + ch] } else { rgba[p * 4 + ch] };
                prop_assert_eq!(px[ch], want, "texel {} channel {} label {}", p, ch, labels[p]);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::GPU_CASES))]

    /// Float inputs (f32 texels, sRGB in linear light): means within f32
    /// rounding of the CPU path's f64 means, the same bits every run.
    #[test]
    fn float_label_means_match_the_cpu(
        (w, h) in (1u32..=32, 1u32..=32),
        seed in any::<u64>(),
        n_labels in 1u32..=12,
        channels in 1usize..=4,
        block in 1u32..=12,
    ) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let mut rng = gpix::synth::Rng::new(seed);
        let mut next = move || (rng.next_u64() >> 32) as u32;
        let values: Vec<f32> = (0..w * h * 4)
            .map(|_| match next() % 8 { 0 => 0.0, 1 => -(next() as f32) / 1e9, _ => (next() as f32 / u32::MAX as f32 - 0.3) * 6.0 })
            .collect();
        let bytes: Vec<u8> = (0..w * h * 4).map(|_| next() as u8).collect();
        let block_label: Vec<u32> = (0..64).map(|_| next() % n_labels).collect();
        let labels: Vec<u32> = (0..w * h)
            .map(|i| if next() % 9 == 0 { next() % n_labels } else { block_label[(((i / w) / block) * 8 + (i % w) / block) as usize % 64] })
            .collect();
        let linear: Vec<f32> = bytes.chunks_exact(4).flat_map(|p| [srgb_to_linear(p[0]), srgb_to_linear(p[1]), srgb_to_linear(p[2]), f32::from(p[3]) / 255.0]).collect();
        let label_tex = texture(&ctx, F::R32Uint, (w, h), bytemuck::cast_slice(&labels), U::TEXTURE_BINDING);
        let grey: Vec<f32> = values.iter().step_by(4).copied().collect();
        let cases: [MeanCase<'_>; 3] = [
            (F::Rgba32Float, bytemuck::cast_slice(&values), &values, 4, ColorSpace::Encoded),
            (F::Rgba8UnormSrgb, &bytes, &linear, 4, ColorSpace::Linear),
            (F::R32Float, bytemuck::cast_slice(&grey), &grey, 1, ColorSpace::Encoded),
        ];
        for (format, data, texels, texel_channels, space) in cases {
            let c = channels.min(texel_channels);
            let leading: Vec<f32> = texels.chunks_exact(texel_channels).flat_map(|p| p[..c].to_vec()).collect();
            let view = ImageView::new(&leading, h as usize, w as usize, c).unwrap();
            let (cpu, _) = label_mean_image::<f32, f64>(&Device::Cpu, view, &labels).unwrap();
            let input = texture(&ctx, format, (w, h), data, U::TEXTURE_BINDING);
            let out = output(&ctx, F::Rgba32Float, (w, h));
            let mut pass = LabelMeanPass::new(ctx.device(), n_labels, c as u32, space).unwrap();
            let mut runs = Vec::new();
            for _ in 0..2 {
                let mut enc = encoder(&ctx);
                pass.encode(&mut enc, &input, &label_tex, &out).unwrap();
                runs.push(floats(&finish(&ctx, enc, &[&out])[0]));
            }
            prop_assert_eq!(&runs[0], &runs[1], "deterministic");
            let mut largest = vec![0f64; (n_labels as usize) * c];
            for (p, &l) in labels.iter().enumerate() {
                for ch in 0..c {
                    let v = f64::from(leading[p * c + ch]).abs();
                    let m = &mut largest[l as usize * c + ch];
                    *m = m.max(v);
                }
            }
            for (p, &l) in labels.iter().enumerate() {
                for ch in 0..c {
                    let want = cpu.data()[p * c + ch];
                    let got = f64::from(runs[0][p * 4 + ch]);
                    // The shader's sRGB decode (f32 pow) is good to 2e-6 relative.
                    let rel = if space == ColorSpace::Linear { 2.5e-6 } else { 4e-7 };
                    let tol = rel * largest[l as usize * c + ch] + 1e-12;
                    prop_assert!((got - want).abs() <= tol, "{:?} texel {} ch {}: {} vs {}", format, p, ch, got, want);
                }
            }
        }
    }
}

/// One label over 17.6 M texels: byte sums pass 2^32 and need the carry.
#[test]
fn label_sums_carry_past_32_bits() {
    let Some(ctx) = common::gpu() else { return };
    let (w, h) = (4200u32, 4200u32);
    let rgba: Vec<u8> = [255u8, 254, 1, 128].repeat((w * h) as usize);
    let input = texture(&ctx, F::Rgba8Unorm, (w, h), &rgba, U::TEXTURE_BINDING);
    let labels = texture(
        &ctx,
        F::R32Uint,
        (w, h),
        &vec![0u8; (w * h * 4) as usize],
        U::TEXTURE_BINDING,
    );
    let out = output(&ctx, F::Rgba8Unorm, (w, h));
    let mut pass = LabelMeanPass::new(ctx.device(), 1, 4, ColorSpace::Encoded).unwrap();
    let mut enc = encoder(&ctx);
    pass.encode(&mut enc, &input, &labels, &out).unwrap();
    let table = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("table"),
        size: 36,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    enc.copy_buffer_to_buffer(pass.table(), 0, &table, 0, Some(36));
    let got = finish(&ctx, enc, &[&out]).remove(0);
    assert!(got.chunks_exact(4).all(|p| p == [255, 254, 1, 128]));
    table
        .slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.unwrap());
    ctx.device()
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap();
    let words = u32s(&table.slice(..).get_mapped_range().unwrap());
    let n = u64::from(w * h);
    assert_eq!(u64::from(words[0]), n);
    assert_eq!(u64::from(words[1]) | u64::from(words[2]) << 32, 255 * n);
}

fn storage(ctx: &GpuContext, data: &[u8], len: usize) -> wgpu::Buffer {
    let b = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("test storage"),
        size: len.max(4) as u64,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    if !data.is_empty() {
        ctx.queue().write_buffer(&b, 0, data);
    }
    b
}

/// Submits `encoder` after copying each buffer to a mappable one; returns their bytes.
fn finish_buffers(
    ctx: &GpuContext,
    mut encoder: wgpu::CommandEncoder,
    buffers: &[&wgpu::Buffer],
) -> Vec<Vec<u8>> {
    let staging: Vec<wgpu::Buffer> = buffers
        .iter()
        .map(|b| {
            let s = ctx.device().create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size: b.size(),
                usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
                mapped_at_creation: false,
            });
            encoder.copy_buffer_to_buffer(b, 0, &s, 0, None);
            s
        })
        .collect();
    ctx.queue().submit([encoder.finish()]);
    staging
        .iter()
        .map(|s| {
            s.slice(..).map_async(wgpu::MapMode::Read, |r| r.unwrap());
            ctx.device()
                .poll(wgpu::PollType::wait_indefinitely())
                .unwrap();
            let v = s.slice(..).get_mapped_range().unwrap().to_vec();
            v
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::GPU_CASES))]

    /// Every pass reading and writing storage buffers gives the bytes it
    /// gives with textures (which the tests above tie to the CPU paths).
    #[test]
    fn buffer_images_match_the_texture_path(
        (w, h) in (3u32..=24, 3u32..=24),
        seed in any::<u64>(),
        n_labels in 1u32..=8,
    ) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let mut rng = gpix::synth::Rng::new(seed);
        let mut next = move || (rng.next_u64() >> 32) as u32;
        let rgba: Vec<u8> = (0..w * h * 4).map(|_| next() as u8).collect();
        let labels: Vec<u32> = (0..w * h).map(|_| next() % (n_labels + 1)).collect();
        let texels = (w * h) as usize;
        let img = |buffer, format| BufferImage { buffer, width: w, height: h, format };

        let palette = Palette::new(3, (0..30).map(|_| (next() % 256) as u16).collect()).unwrap();
        let mut quantize = PalettePass::from_palette(ctx.device(), &palette).unwrap();
        let mut blur = FilterPass::gaussian(ctx.device(), [1.0, 2.0], 3.0, BoundaryMode::Mirror, ColorSpace::Encoded).unwrap();
        let mut edges = GradientPass::new(ctx.device(), [1.0, 0.5], 2, GradientOutput::Magnitude, ColorSpace::Encoded).unwrap();
        let mut means = LabelMeanPass::new(ctx.device(), n_labels, 3, ColorSpace::Encoded).unwrap();

        // Textures.
        let input = texture(&ctx, F::Rgba8Unorm, (w, h), &rgba, U::TEXTURE_BINDING);
        let label_tex = texture(&ctx, F::R32Uint, (w, h), bytemuck::cast_slice(&labels), U::TEXTURE_BINDING);
        let t_index = output(&ctx, F::R32Uint, (w, h));
        let t_color = output(&ctx, F::Rgba8Unorm, (w, h));
        let t_blur = output(&ctx, F::Rgba32Float, (w, h));
        let t_edges = output(&ctx, F::Rgba16Float, (w, h));
        let t_means = output(&ctx, F::Rgba8Unorm, (w, h));
        let mut enc = encoder(&ctx);
        quantize.encode(&mut enc, &input, PaletteTargets::default().index(&t_index).color(&t_color)).unwrap();
        blur.encode(&mut enc, &input, &t_blur).unwrap();
        edges.encode(&mut enc, &input, &t_edges).unwrap();
        means.encode(&mut enc, &input, &label_tex, &t_means).unwrap();
        let textures = finish(&ctx, enc, &[&t_index, &t_color, &t_blur, &t_edges, &t_means]);

        // The same through buffers.
        let b_input = storage(&ctx, &rgba, texels * 4);
        let b_labels = storage(&ctx, bytemuck::cast_slice(&labels), texels * 4);
        let outs: Vec<wgpu::Buffer> = [4, 4, 16, 8, 4].iter().map(|&bytes| storage(&ctx, &[], texels * bytes)).collect();
        let mut enc = encoder(&ctx);
        let input = img(&b_input, F::Rgba8Unorm);
        quantize.encode(&mut enc, input, PaletteTargets::default().index(img(&outs[0], F::R32Uint)).color(img(&outs[1], F::Rgba8Unorm))).unwrap();
        blur.encode(&mut enc, input, img(&outs[2], F::Rgba32Float)).unwrap();
        edges.encode(&mut enc, input, img(&outs[3], F::Rgba16Float)).unwrap();
        means.encode(&mut enc, input, img(&b_labels, F::R32Uint), img(&outs[4], F::Rgba8Unorm)).unwrap();
        let buffers = finish_buffers(&ctx, enc, &outs.iter().collect::<Vec<_>>());
        for (k, (t, b)) in textures.iter().zip(&buffers).enumerate() {
            if k == 3 {
                // Half floats: a texture store and pack2x16float may round
                // the f32 differently (WGSL leaves pack's rounding open).
                let halves = |v: &[u8]| bytemuck::pod_collect_to_vec::<u8, u16>(v).into_iter().map(half_to_f32).collect::<Vec<_>>();
                for (x, y) in halves(t).iter().zip(halves(&b[..t.len()])) {
                    prop_assert!((x - y).abs() <= x.abs().max(y.abs()) / 1024.0 + 1e-7, "output 3: {} vs {}", x, y);
                }
            } else {
                prop_assert!(t[..] == b[..t.len()], "output {} differs", k);
            }
        }
    }
}

/// IEEE half to f32 (the test reads an Rgba16Float texture back).
fn half_to_f32(h: u16) -> f32 {
    let sign = if h >> 15 == 1 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f32::from(h & 0x3ff);
    sign * match exp {
        0 => frac * 2f32.powi(-24),
        31 => f32::INFINITY,
        _ => (1.0 + frac / 1024.0) * 2f32.powi(exp - 15),
    }
}

/// Recording the same passes on the same textures frame after frame creates
/// no pipeline, view, bind group or buffer after the first frame; a new size
/// does (so the count is live).
#[test]
fn frames_after_the_first_allocate_nothing() {
    let Some(ctx) = common::gpu() else { return };
    let palette =
        Palette::new(4, vec![0, 0, 0, 255, 255, 255, 255, 255, 200, 30, 30, 255]).unwrap();
    let mut quantize = PalettePass::from_palette(ctx.device(), &palette).unwrap();
    let mut blur = FilterPass::gaussian(
        ctx.device(),
        [1.5, 1.5],
        4.0,
        BoundaryMode::Reflect,
        ColorSpace::Encoded,
    )
    .unwrap();
    let mut edges = GradientPass::new(
        ctx.device(),
        [1.0, 1.0],
        1,
        GradientOutput::Magnitude,
        ColorSpace::Encoded,
    )
    .unwrap();
    let frame = |size: (u32, u32),
                 quantize: &mut PalettePass,
                 blur: &mut FilterPass,
                 edges: &mut GradientPass,
                 textures: &[wgpu::Texture; 4]| {
        let [input, index, blurred, grad] = textures;
        assert_eq!((input.width(), input.height()), size);
        let mut enc = encoder(&ctx);
        quantize
            .encode(&mut enc, input, PaletteTargets::default().index(index))
            .unwrap();
        blur.encode(&mut enc, input, blurred).unwrap();
        edges.encode(&mut enc, blurred, grad).unwrap();
        ctx.queue().submit([enc.finish()]);
        ctx.device()
            .poll(wgpu::PollType::wait_indefinitely())
            .unwrap();
        (quantize.created(), blur.created(), edges.created())
    };
    let make = |size: (u32, u32)| {
        let data = vec![77u8; (size.0 * size.1 * 4) as usize];
        [
            texture(&ctx, F::Rgba8UnormSrgb, size, &data, U::TEXTURE_BINDING),
            output(&ctx, F::R32Uint, size),
            texture(
                &ctx,
                F::Rgba16Float,
                size,
                &[],
                U::STORAGE_BINDING | U::TEXTURE_BINDING,
            ),
            output(&ctx, F::Rgba8Unorm, size),
        ]
    };
    let small = make((32, 24));
    let first = frame((32, 24), &mut quantize, &mut blur, &mut edges, &small);
    assert!(
        first.0.pipelines == 1 && first.1.pipelines == 2 && first.2.pipelines == 1,
        "{first:?}"
    );
    for _ in 0..4 {
        assert_eq!(
            frame((32, 24), &mut quantize, &mut blur, &mut edges, &small),
            first
        );
    }
    let big = make((40, 30));
    let resized = frame((40, 30), &mut quantize, &mut blur, &mut edges, &big);
    assert!(
        resized.1.buffers > first.1.buffers && resized.1.bind_groups > first.1.bind_groups,
        "{resized:?}"
    );
    assert_eq!(resized.0.pipelines, first.0.pipelines);
    assert_eq!(
        frame((40, 30), &mut quantize, &mut blur, &mut edges, &big),
        resized
    );
}

/// The label-mean pass too: its table is cleared by the encoder, not
/// reallocated, and its bind groups are reused.
#[test]
fn label_mean_frames_allocate_nothing() {
    let Some(ctx) = common::gpu() else { return };
    let size = (20, 12);
    let rgba: Vec<u8> = (0..20 * 12 * 4).map(|i| (i * 7) as u8).collect();
    let input = texture(&ctx, F::Rgba8Unorm, size, &rgba, U::TEXTURE_BINDING);
    let labels: Vec<u32> = (0..20 * 12).map(|i| i % 5).collect();
    let labels = texture(
        &ctx,
        F::R32Uint,
        size,
        bytemuck::cast_slice(&labels),
        U::TEXTURE_BINDING,
    );
    let out = output(&ctx, F::Rgba16Float, size);
    let mut pass = LabelMeanPass::new(ctx.device(), 5, 4, ColorSpace::Encoded).unwrap();
    let mut results = Vec::new();
    for _ in 0..4 {
        let mut enc = encoder(&ctx);
        pass.encode(&mut enc, &input, &labels, &out).unwrap();
        results.push((finish(&ctx, enc, &[&out]).remove(0), pass.created()));
    }
    assert!(
        results.windows(2).all(|w| w[0] == w[1]),
        "same output, no new objects"
    );
    assert!(
        results[0].1.buffers == 1 && results[0].1.pipelines == 2,
        "{:?}",
        results[0].1
    );
}

fn err_text(r: gpix::Result<()>) -> String {
    r.expect_err("expected an error").to_string()
}

/// Formats, sizes and usages a pass cannot use are `Err`s that say what is
/// wrong, before anything is recorded.
#[test]
fn unusable_textures_are_errors() {
    let Some(ctx) = common::gpu() else { return };
    let size = (8, 8);
    let data = vec![0u8; 8 * 8 * 4];
    let input = texture(&ctx, F::Rgba8Unorm, size, &data, U::TEXTURE_BINDING);
    let srgb_out = texture(&ctx, F::Rgba8UnormSrgb, size, &[], U::TEXTURE_BINDING);
    let no_storage = texture(&ctx, F::Rgba8Unorm, size, &[], U::TEXTURE_BINDING);
    let wrong_size = output(&ctx, F::Rgba8Unorm, (8, 9));
    let uint_in = texture(&ctx, F::Rgba8Uint, size, &data, U::TEXTURE_BINDING);
    let no_binding = texture(&ctx, F::Rgba8Unorm, size, &data, U::empty());
    let index_f = output(&ctx, F::R32Float, size);
    let grey = texture(
        &ctx,
        F::R32Float,
        size,
        &vec![0u8; 8 * 8 * 4],
        U::TEXTURE_BINDING,
    );
    let thin = texture(&ctx, F::Rgba8Unorm, (1, 8), &[0u8; 32], U::TEXTURE_BINDING);
    let thin_out = output(&ctx, F::Rgba8Unorm, (1, 8));
    let good = output(&ctx, F::Rgba8Unorm, size);

    let mut blur = FilterPass::uniform(
        ctx.device(),
        [3, 3],
        BoundaryMode::Reflect,
        ColorSpace::Encoded,
    )
    .unwrap();
    let mut enc = encoder(&ctx);
    assert!(
        err_text(blur.encode(&mut enc, &input, &srgb_out)).contains("cannot be a storage texture")
    );
    assert!(err_text(blur.encode(&mut enc, &input, &no_storage)).contains("STORAGE_BINDING"));
    assert!(err_text(blur.encode(&mut enc, &input, &wrong_size)).contains("input's size"));
    assert!(err_text(blur.encode(&mut enc, &uint_in, &good)).contains("Rgba8Uint"));
    assert!(err_text(blur.encode(&mut enc, &no_binding, &good)).contains("TEXTURE_BINDING"));

    let palette = Palette::new(3, vec![0, 0, 0, 255, 255, 255]).unwrap();
    let mut quantize = PalettePass::from_palette(ctx.device(), &palette).unwrap();
    assert!(
        err_text(quantize.encode(&mut enc, &input, PaletteTargets::default()))
            .contains("needs an index or a colour")
    );
    assert!(
        err_text(quantize.encode(&mut enc, &input, PaletteTargets::default().index(&index_f)))
            .contains("R32Uint")
    );
    assert!(
        err_text(quantize.encode(&mut enc, &grey, PaletteTargets::default().color(&good)))
            .contains("compares 3 channels")
    );
    assert!(PalettePass::new(ctx.device(), &[], 3, ColorSpace::Encoded).is_err());

    let mut edges = GradientPass::new(
        ctx.device(),
        [1.0, 1.0],
        1,
        GradientOutput::Components { channel: 0 },
        ColorSpace::Encoded,
    )
    .unwrap();
    assert!(err_text(edges.encode(&mut enc, &thin, &thin_out)).contains("at least 2 texels"));
    assert!(err_text(edges.encode(&mut enc, &input, &index_f)).contains("output must have four"));
    assert!(GradientPass::new(
        ctx.device(),
        [0.0, 1.0],
        1,
        GradientOutput::Magnitude,
        ColorSpace::Encoded
    )
    .is_err());
    // Nothing was recorded: the encoder finishes and submits cleanly.
    ctx.queue().submit([enc.finish()]);
    ctx.device()
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap();
}

/// Every byte of an sRGB texture reads back as itself (encoded) and as
/// [`srgb_to_linear`] of it (linear), whatever the driver's own decode does.
#[test]
fn srgb_bytes_are_read_exactly_in_both_colour_spaces() {
    let Some(ctx) = common::gpu() else { return };
    let bytes: Vec<u8> = (0..=255u8).flat_map(|b| [b, b, b, b]).collect();
    let input = texture(
        &ctx,
        F::Rgba8UnormSrgb,
        (256, 1),
        &bytes,
        U::TEXTURE_BINDING,
    );
    for space in [ColorSpace::Encoded, ColorSpace::Linear] {
        let out = output(&ctx, F::Rgba32Float, (256, 1));
        let mut pass =
            FilterPass::uniform(ctx.device(), [1, 1], BoundaryMode::Reflect, space).unwrap();
        let mut enc = encoder(&ctx);
        pass.encode(&mut enc, &input, &out).unwrap();
        let got = floats(&finish(&ctx, enc, &[&out])[0]);
        for b in 0..=255u8 {
            let want = match space {
                ColorSpace::Encoded => f32::from(b) / 255.0,
                ColorSpace::Linear => srgb_to_linear(b),
            };
            let px = &got[usize::from(b) * 4..usize::from(b) * 4 + 4];
            for &v in &px[..3] {
                assert!(
                    (v - want).abs() <= 2e-6 * want.max(1e-3),
                    "{space:?} byte {b}: {v} vs {want}"
                );
            }
            // Alpha is never encoded: b / 255 (WGSL's division may be an ulp
            // off: an H200's was for some bytes).
            let alpha = f32::from(b) / 255.0;
            assert!(
                (px[3] - alpha).abs() <= alpha * f32::EPSILON,
                "alpha of byte {b}: {} vs {alpha}",
                px[3]
            );
        }
    }
}

/// Buffer images are checked before anything is recorded: too small a
/// buffer, no texels, or more bytes than one binding of the device may
/// hold are `Err`s (the encoder stays valid); a buffer larger than a
/// binding may be is fine when the image fits, since only the image's
/// bytes are bound.
#[test]
fn buffer_images_are_checked_before_recording() {
    let Some(ctx) = common::gpu() else { return };
    let size = (32u32, 24u32);
    let rgba: Vec<u8> = (0..32 * 24 * 4).map(|i| (i * 13 % 251) as u8).collect();
    let input = texture(&ctx, F::Rgba8Unorm, size, &rgba, U::TEXTURE_BINDING);
    let mut pass = GradientPass::new(
        ctx.device(),
        [1.0, 1.0],
        1,
        GradientOutput::Magnitude,
        ColorSpace::Encoded,
    )
    .unwrap();
    let image = |buffer, (width, height)| BufferImage {
        buffer,
        width,
        height,
        format: F::R32Float,
    };
    let need = 32 * 24 * 4;
    let limit = ctx.device().limits().max_storage_buffer_binding_size;
    let mut enc = encoder(&ctx);
    let small = storage(&ctx, &[], need - 4);
    let err = err_text(pass.encode(&mut enc, &input, image(&small, size)));
    assert!(err.contains("the image needs"), "{err}");
    let empty = storage(&ctx, &[], 16);
    let err = err_text(pass.encode(&mut enc, &input, image(&empty, (0, 24))));
    assert!(err.contains("at least one texel"), "{err}");
    // An image of more bytes than a binding holds (its buffer big enough).
    let side = ((limit / 4) as f64).sqrt() as u32 + 2;
    let huge = storage(&ctx, &[], (u64::from(side) * u64::from(side) * 4) as usize);
    let big_input = texture(&ctx, F::R32Float, (side, side), &[], U::TEXTURE_BINDING);
    let err = err_text(pass.encode(&mut enc, &big_input, image(&huge, (side, side))));
    assert!(err.contains("largest storage binding"), "{err}");
    // The encoder recorded nothing invalid: it still finishes and submits.
    ctx.queue().submit([enc.finish()]);
    // The same huge buffer holding a small image works, as a fitting one.
    let fitting = storage(&ctx, &[], need);
    let mut results = Vec::new();
    for buffer in [&fitting, &huge] {
        let mut enc = encoder(&ctx);
        pass.encode(&mut enc, &input, image(buffer, size)).unwrap();
        let staging = storage_readback(&ctx, &mut enc, buffer, need as u64);
        results.push(read_staging(&ctx, enc, &staging));
    }
    assert_eq!(results[0], results[1]);
    assert!(results[0].iter().any(|&b| b != 0));
}

fn storage_readback(
    ctx: &GpuContext,
    enc: &mut wgpu::CommandEncoder,
    buffer: &wgpu::Buffer,
    bytes: u64,
) -> wgpu::Buffer {
    let staging = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: bytes,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    enc.copy_buffer_to_buffer(buffer, 0, &staging, 0, Some(bytes));
    staging
}

fn read_staging(ctx: &GpuContext, enc: wgpu::CommandEncoder, staging: &wgpu::Buffer) -> Vec<u8> {
    ctx.queue().submit([enc.finish()]);
    staging
        .slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.unwrap());
    ctx.device()
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap();
    let bytes = staging.slice(..).get_mapped_range().unwrap().to_vec();
    bytes
}

/// Tiles meeting every label count from 1 to 256: with 10⁴ labels hashed per
/// texel every 16×16 tile holds ≈ 250 distinct labels, the most its
/// workgroup table must take; 8-bit and float passes ≡ the CPU.
#[test]
fn label_means_with_many_labels_per_tile_match_the_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let (w, h) = (67u32, 45u32);
    let rgba: Vec<u8> = (0..w * h * 4)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let floats: Vec<f32> = rgba.iter().map(|&v| f32::from(v) / 7.0 - 10.0).collect();
    for n_labels in [1u32, 2, 16, 10_000] {
        for fragmented in [true, false] {
            let labels: Vec<u32> = (0..w * h)
                .map(|i| {
                    if fragmented {
                        i.wrapping_mul(2_246_822_519).rotate_left(11) % n_labels
                    } else {
                        ((i / w) / 3 * 23 + (i % w) / 3) % n_labels
                    }
                })
                .collect();
            let what = format!("{n_labels} labels, fragmented {fragmented}");
            let label_tex = texture(
                &ctx,
                F::R32Uint,
                (w, h),
                bytemuck::cast_slice(&labels),
                U::TEXTURE_BINDING,
            );

            let view = ImageView::new(&rgba, h as usize, w as usize, 4).unwrap();
            let (cpu, _) = label_mean_image::<u8, u8>(&Device::Cpu, view, &labels).unwrap();
            let input = texture(&ctx, F::Rgba8Unorm, (w, h), &rgba, U::TEXTURE_BINDING);
            let out = output(&ctx, F::Rgba8Unorm, (w, h));
            let mut pass =
                LabelMeanPass::new(ctx.device(), n_labels, 4, ColorSpace::Encoded).unwrap();
            let mut enc = encoder(&ctx);
            pass.encode(&mut enc, &input, &label_tex, &out).unwrap();
            assert_eq!(finish(&ctx, enc, &[&out]).remove(0), cpu.data(), "{what}");

            let view = ImageView::new(&floats, h as usize, w as usize, 4).unwrap();
            let (cpu, _) = label_mean_image::<f32, f64>(&Device::Cpu, view, &labels).unwrap();
            let input = texture(
                &ctx,
                F::Rgba32Float,
                (w, h),
                bytemuck::cast_slice(&floats),
                U::TEXTURE_BINDING,
            );
            let out = output(&ctx, F::Rgba32Float, (w, h));
            let mut pass =
                LabelMeanPass::new(ctx.device(), n_labels, 4, ColorSpace::Encoded).unwrap();
            let mut enc = encoder(&ctx);
            pass.encode(&mut enc, &input, &label_tex, &out).unwrap();
            let got: Vec<f32> =
                bytemuck::cast_slice(&finish(&ctx, enc, &[&out]).remove(0)).to_vec();
            for (i, (a, b)) in got.iter().zip(cpu.data()).enumerate() {
                // f32 means of values below 30 in magnitude.
                assert!(
                    (f64::from(*a) - b).abs() <= 1e-5,
                    "{what}: element {i}: {a} vs {b}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::GPU_CASES))]

    /// Ordered dithering in the render pass ≡ the library's on the CPU and
    /// the buffer path, index for index (8-bit, 3 and 4 channels, sRGB-
    /// encoded textures read as bytes too).
    #[test]
    fn ordered_dither_pass_matches_the_library(
        (w, h, rgba, c, colors) in palette_case(),
        strength in prop_oneof![Just(1.0f32), 0.0f32..3.0],
    ) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let palette = Palette::new(c, colors).unwrap();
        let pixels = leading_channels(&rgba, c);
        let view = ImageView::new(&pixels, h as usize, w as usize, c).unwrap();
        let dither = gpix::Dither::Ordered { strength };
        let expected: Vec<u16> = gpix::dither_palette(view, &palette, dither, &Device::Cpu).unwrap();
        let buffer_path: Vec<u16> = gpix::dither_palette(view, &palette, dither, &Device::Gpu(ctx.clone())).unwrap();
        prop_assert_eq!(&buffer_path, &expected);
        let mut pass = PalettePass::from_palette(ctx.device(), &palette).unwrap().with_ordered_dither(strength).unwrap();
        for format in [F::Rgba8Unorm, F::Rgba8UnormSrgb] {
            let input = texture(&ctx, format, (w, h), &rgba, U::TEXTURE_BINDING);
            let index = output(&ctx, F::R32Uint, (w, h));
            let mut enc = encoder(&ctx);
            pass.encode(&mut enc, &input, PaletteTargets::default().index(&index)).unwrap();
            let got: Vec<u16> = u32s(&finish(&ctx, enc, &[&index])[0]).iter().map(|&i| i as u16).collect();
            prop_assert_eq!(&got, &expected, "{:?}", format);
        }
    }
}

#[test]
fn ordered_dither_pass_rejects_what_it_cannot_match() {
    let Some(ctx) = common::gpu() else { return };
    let fractional = PalettePass::new(
        ctx.device(),
        &[[0.5, 0.0, 0.0, 0.0]],
        3,
        ColorSpace::Encoded,
    )
    .unwrap();
    assert!(fractional
        .with_ordered_dither(1.0)
        .unwrap_err()
        .to_string()
        .contains("bytes"));
    let palette = Palette::new(3, vec![0, 0, 0, 255, 255, 255]).unwrap();
    let pass = PalettePass::from_palette(ctx.device(), &palette).unwrap();
    assert!(pass.with_ordered_dither(-1.0).is_err());
    let mut pass = PalettePass::from_palette(ctx.device(), &palette)
        .unwrap()
        .with_ordered_dither(1.0)
        .unwrap();
    let input = texture(
        &ctx,
        F::Rgba32Float,
        (4, 4),
        &[0u8; 256],
        U::TEXTURE_BINDING,
    );
    let index = output(&ctx, F::R32Uint, (4, 4));
    let mut enc = encoder(&ctx);
    let e = pass
        .encode(&mut enc, &input, PaletteTargets::default().index(&index))
        .unwrap_err();
    assert!(e.to_string().contains("8-bit input"), "{e}");
}
