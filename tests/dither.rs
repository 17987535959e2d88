//! Dithering: Floyd–Steinberg ≡ a plain reference (brute-force nearest,
//! the documented serpentine diffusion) on random images and palettes;
//! ordered ≡ the reference nearest colour of the offset image, identical on
//! the CPU and the GPU (one band and tiny bands); averages preserved.

mod common;

use gpix::{
    bayer_offsets, dither_palette, nearest_palette, nearest_palette_reference, Device, Dither,
    ImageView, Palette, PaletteValue,
};
use proptest::prelude::*;

fn devices(width: usize, channels: usize, value_bytes: usize) -> Vec<Device> {
    let mut out = vec![Device::Cpu];
    #[cfg(feature = "gpu")]
    if let Some(ctx) = common::gpu() {
        out.push(Device::Gpu(ctx.clone()));
        // One padded row of values and of indices per band.
        let row = (width * channels * value_bytes).div_ceil(4) * 4 + width.div_ceil(2) * 4;
        out.push(Device::Gpu(ctx.with_band_budget(row as u64 + 8)));
    }
    #[cfg(not(feature = "gpu"))]
    let _ = (width, channels, value_bytes);
    out
}

/// The nearest palette index of one pixel, by the reference definition.
fn nearest_one(px: &[u16], palette: &Palette) -> usize {
    let pixel: Vec<u16> = px.to_vec();
    let view = ImageView::new(&pixel, 1, 1, px.len()).unwrap();
    let idx: Vec<u16> = nearest_palette_reference(view, palette).unwrap();
    usize::from(idx[0])
}

/// Floyd–Steinberg as specified: serpentine rows, errors × 16 carried as
/// integers, value + round(error / 16) clamped, alpha not dithered.
fn floyd_steinberg_reference<T: PaletteValue>(
    data: &[T],
    h: usize,
    w: usize,
    c: usize,
    palette: &Palette,
) -> Vec<u16> {
    let max = i64::from(u16::MAX >> (16 - T::BITS));
    let dithered = if c == 2 || c == 4 { c - 1 } else { c };
    let mut err = vec![0i64; h * w * c];
    let mut out = vec![0u16; h * w];
    for y in 0..h {
        let xs: Vec<usize> = if y % 2 == 0 {
            (0..w).collect()
        } else {
            (0..w).rev().collect()
        };
        let dir: i64 = if y % 2 == 0 { 1 } else { -1 };
        for x in xs {
            let p = y * w + x;
            let px: Vec<u16> = (0..c)
                .map(|ch| {
                    let v = i64::from(data[p * c + ch].into());
                    if ch < dithered {
                        (v + (err[p * c + ch] + 8).div_euclid(16)).clamp(0, max) as u16
                    } else {
                        v as u16
                    }
                })
                .collect();
            let best = nearest_one(&px, palette);
            out[p] = best as u16;
            let colour = palette.color(best);
            let mut spread = |yy: usize, xx: i64, weight: i64, ch: usize, e: i64| {
                if yy < h && xx >= 0 && (xx as usize) < w {
                    err[(yy * w + xx as usize) * c + ch] += weight * e;
                }
            };
            for ch in 0..dithered {
                let e = i64::from(px[ch]) - i64::from(colour[ch]);
                let x = x as i64;
                spread(y, x + dir, 7, ch, e);
                spread(y + 1, x - dir, 3, ch, e);
                spread(y + 1, x, 5, ch, e);
                spread(y + 1, x + dir, 1, ch, e);
            }
        }
    }
    out
}

/// Ordered dithering as specified: the Bayer offsets added to the colour
/// channels, clamped, then the reference nearest colour.
fn ordered_reference<T: PaletteValue>(
    data: &[T],
    h: usize,
    w: usize,
    c: usize,
    palette: &Palette,
    strength: f32,
) -> Vec<u16> {
    let offsets = bayer_offsets(palette, T::BITS, strength);
    let max = i64::from(u16::MAX >> (16 - T::BITS));
    let dithered = if c == 2 || c == 4 { c - 1 } else { c };
    (0..h * w)
        .map(|p| {
            let o = i64::from(offsets[(p / w % 8) * 8 + p % w % 8]);
            let px: Vec<u16> = (0..c)
                .map(|ch| {
                    let v = i64::from(data[p * c + ch].into());
                    if ch < dithered {
                        (v + o).clamp(0, max) as u16
                    } else {
                        v as u16
                    }
                })
                .collect();
            nearest_one(&px, palette) as u16
        })
        .collect()
}

fn case<T: std::fmt::Debug + Clone + 'static>(
    values: impl Strategy<Value = T> + Clone + 'static,
    max: u16,
) -> impl Strategy<Value = (usize, usize, usize, Vec<T>, Palette)> {
    (0usize..=12, 0usize..=12, 1usize..=4, 1usize..=20).prop_flat_map(move |(h, w, c, k)| {
        (
            Just(h),
            Just(w),
            Just(c),
            prop::collection::vec(values.clone(), h * w * c),
            // Small value sets make duplicate colours and ties.
            prop::collection::vec(prop_oneof![Just(0u16), Just(max), 0..=max], k * c)
                .prop_map(move |v| Palette::new(c, v).unwrap()),
        )
    })
}

fn agree<T: PaletteValue>(
    h: usize,
    w: usize,
    c: usize,
    data: &[T],
    palette: &Palette,
    strength: f32,
) {
    let image = ImageView::new(data, h, w, c).unwrap();
    let fs: Vec<u16> =
        dither_palette(image, palette, Dither::FloydSteinberg, &Device::Cpu).unwrap();
    assert_eq!(fs, floyd_steinberg_reference(data, h, w, c, palette));
    let want = ordered_reference(data, h, w, c, palette, strength);
    for device in devices(w, c, std::mem::size_of::<T>()) {
        let got: Vec<u16> =
            dither_palette(image, palette, Dither::Ordered { strength }, &device).unwrap();
        assert_eq!(got, want, "{device:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    #[test]
    fn u8_dithering_matches_the_reference(
        (h, w, c, data, palette) in case(any::<u8>(), 255),
        strength in prop_oneof![Just(1.0f32), Just(0.0), 0.0f32..3.0],
    ) {
        agree(h, w, c, &data, &palette, strength);
    }

    #[test]
    fn u16_dithering_matches_the_reference(
        (h, w, c, data, palette) in case(any::<u16>(), 65535),
        strength in prop_oneof![Just(1.0f32), 0.0f32..3.0],
    ) {
        agree(h, w, c, &data, &palette, strength);
    }
}

/// A flat grey against black and white: both methods keep the average.
#[test]
fn dithering_keeps_the_average() {
    let bw = Palette::new(1, vec![0, 255]).unwrap();
    for grey in [20u8, 100, 128, 200] {
        let data = vec![grey; 64 * 64];
        let image = ImageView::new(&data, 64, 64, 1).unwrap();
        for dither in [Dither::FloydSteinberg, Dither::Ordered { strength: 1.0 }] {
            let idx: Vec<u8> = dither_palette(image, &bw, dither, &Device::Cpu).unwrap();
            let white = idx.iter().filter(|&&i| i == 1).count() as f64 / idx.len() as f64;
            let want = f64::from(grey) / 255.0;
            assert!(
                (white - want).abs() < 0.01,
                "{dither:?} grey {grey}: {white} vs {want}"
            );
        }
        // Without dithering every pixel takes the nearer of the two.
        let plain: Vec<u8> = dither_palette(image, &bw, Dither::None, &Device::Cpu).unwrap();
        assert!(plain.iter().all(|&i| i == u8::from(grey > 127)));
    }
}

/// Pixels already in the palette carry no error: every method is the plain
/// nearest colour; strength 0 is no dithering.
#[test]
fn exact_pixels_and_zero_strength_change_nothing() {
    let palette = Palette::new(3, vec![0, 0, 0, 255, 0, 0, 30, 200, 90, 255, 255, 255]).unwrap();
    let data: Vec<u8> = (0..40 * 30)
        .flat_map(|i| {
            palette
                .color(i * 7 % 4)
                .iter()
                .map(|&v| v as u8)
                .collect::<Vec<_>>()
        })
        .collect();
    let image = ImageView::new(&data, 40, 30, 3).unwrap();
    let plain: Vec<u8> = nearest_palette(image, &palette, &Device::Cpu).unwrap();
    let fs: Vec<u8> =
        dither_palette(image, &palette, Dither::FloydSteinberg, &Device::Cpu).unwrap();
    assert_eq!(fs, plain);
    let noisy = gpix::synth::uniform_rgb(40, 30, 2);
    let plain: Vec<u8> = nearest_palette(noisy.view(), &palette, &Device::Cpu).unwrap();
    let zero: Vec<u8> = dither_palette(
        noisy.view(),
        &palette,
        Dither::Ordered { strength: 0.0 },
        &Device::Cpu,
    )
    .unwrap();
    assert_eq!(zero, plain);
}

#[test]
fn bad_strengths_and_float_images_are_errors() {
    let data = [1u8; 12];
    let image = ImageView::new(&data, 2, 2, 3).unwrap();
    let palette = Palette::new(3, vec![0, 0, 0, 9, 9, 9]).unwrap();
    for strength in [-1.0, f32::NAN, f32::INFINITY] {
        let e =
            dither_palette::<u8, u8>(image, &palette, Dither::Ordered { strength }, &Device::Cpu)
                .unwrap_err();
        assert!(e.to_string().contains("strength"), "{e}");
    }
    let floats = gpix::AnyImage::F32(gpix::Image::from_vec(vec![0.5f32; 4], 2, 2, 1).unwrap());
    let levels = gpix::io::AnyPalette::Levels(gpix::Levels::new(vec![0.0, 1.0]).unwrap());
    let e = gpix::ops::quantize::quantize_indices_dithered(
        &floats,
        &levels,
        Dither::FloydSteinberg,
        &Device::Cpu,
        &|_, _| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("8- and 16-bit"), "{e}");
}

/// Every method reports its rows (the CLI's progress bar): counts never go
/// back and end at the image's height, on every device; the indices are
/// those of the call without progress.
#[test]
fn dithering_reports_progress_in_rows() {
    use std::sync::Mutex;
    let (h, w) = (37, 23);
    let image = gpix::synth::uniform_rgb(h, w, 5);
    let palette = Palette::new(3, vec![0, 0, 0, 255, 0, 0, 30, 200, 90, 255, 255, 255]).unwrap();
    let methods = [
        Dither::None,
        Dither::FloydSteinberg,
        Dither::Ordered { strength: 1.0 },
    ];
    for device in devices(w, 3, 1) {
        for dither in methods {
            let seen = Mutex::new(Vec::new());
            let mut out = vec![0u8; h * w];
            gpix::dither_palette_into_with_progress(
                image.view(),
                &palette,
                dither,
                &device,
                &mut out,
                &|done, total| seen.lock().unwrap().push((done, total)),
            )
            .unwrap();
            let seen = seen.into_inner().unwrap();
            assert_eq!(seen.last(), Some(&(h, h)), "{dither:?} on {device:?}");
            assert!(seen.iter().all(|&(_, total)| total == h));
            assert!(seen.windows(2).all(|p| p[0].0 <= p[1].0), "{seen:?}");
            let plain: Vec<u8> = dither_palette(image.view(), &palette, dither, &device).unwrap();
            assert_eq!(out, plain);
        }
    }
}
