//! nearest_palette / nearest_level: reference ≡ fast CPU ≡ GPU (normal and
//! tiny band budgets) on random images and palettes.

mod common;

use gpix::{
    nearest_level, nearest_level_reference, nearest_palette, nearest_palette_reference, Device,
    GreyFloat, ImageView, Levels, Palette, PaletteIndex, PaletteValue,
};
use proptest::prelude::*;

/// Random image of `T` values: (height, width, channels, data). Values are
/// drawn from a small set now and then, so pixels repeat and sit exactly on
/// palette colours (ties).
fn image_strategy<T: PaletteValue + std::fmt::Debug>(
    max_side: usize,
    max_value: u16,
) -> impl Strategy<Value = (usize, usize, usize, Vec<T>)> {
    (0..=max_side, 0..=max_side, 1usize..=4, any::<bool>()).prop_flat_map(
        move |(h, w, c, coarse)| {
            let value = if coarse {
                (0u16..=4)
                    .prop_map(move |v| T::from_u16(v * (max_value / 4)))
                    .boxed()
            } else {
                (0..=max_value).prop_map(T::from_u16).boxed()
            };
            (
                Just(h),
                Just(w),
                Just(c),
                prop::collection::vec(value, h * w * c),
            )
        },
    )
}

/// Random palette of `k` colours with duplicates (to exercise ties).
fn palette_values(channels: usize, k: usize, max_value: u16) -> impl Strategy<Value = Vec<u16>> {
    let pool = prop::collection::vec(0..=max_value, channels * k.div_ceil(2).max(1));
    (pool, prop::collection::vec(any::<prop::sample::Index>(), k)).prop_map(move |(pool, picks)| {
        let colours = pool.len() / channels;
        picks
            .iter()
            .flat_map(|p| {
                let i = p.index(colours);
                pool[i * channels..(i + 1) * channels].to_vec()
            })
            .collect()
    })
}

fn check_paths<T: PaletteValue, I: PaletteIndex + std::fmt::Debug>(
    image: ImageView<'_, T>,
    palette: &Palette,
) -> Result<(), TestCaseError> {
    let expected: Vec<I> = nearest_palette_reference(image, palette).unwrap();
    let cpu: Vec<I> = nearest_palette(image, palette, &Device::Cpu).unwrap();
    prop_assert_eq!(&cpu, &expected, "fast CPU differs from the reference");
    #[cfg(feature = "gpu")]
    if let Some(ctx) = common::gpu() {
        let gpu: Vec<I> = nearest_palette(image, palette, &Device::Gpu(ctx.clone())).unwrap();
        prop_assert_eq!(&gpu, &expected, "GPU differs from the reference");
        let tiny = ctx.with_band_budget((image.width() * image.channels() * 2 + 8) as u64);
        let banded: Vec<I> = nearest_palette(image, palette, &Device::Gpu(tiny.clone())).unwrap();
        prop_assert_eq!(
            &banded,
            &expected,
            "multi-band GPU differs from the reference"
        );
        // One workgroup's pixels per dispatch: the split path on every band.
        let split = tiny.with_dispatch_pairs(1);
        let split: Vec<I> = nearest_palette(image, palette, &Device::Gpu(split)).unwrap();
        prop_assert_eq!(&split, &expected, "split GPU dispatches differ");
    }
    Ok(())
}

/// An image and a palette with the image's channel count.
fn case<T: PaletteValue + std::fmt::Debug>(
    max_side: usize,
    max_value: u16,
    max_k: usize,
) -> impl Strategy<Value = ((usize, usize, usize, Vec<T>), Vec<u16>)> {
    (image_strategy::<T>(max_side, max_value), 1..=max_k).prop_flat_map(move |(img, k)| {
        let c = img.2;
        (Just(img), palette_values(c, k, max_value))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    #[test]
    fn u8_images_agree_on_every_path(((h, w, c, data), values) in case::<u8>(13, 255, 300)) {
        let palette = Palette::new(c, values).unwrap();
        let image = ImageView::new(&data, h, w, c).unwrap();
        if palette.len() <= 256 {
            check_paths::<u8, u8>(image, &palette)?;
        }
        check_paths::<u8, u16>(image, &palette)?;
    }

    #[test]
    fn u16_images_agree_on_every_path(((h, w, c, data), values) in case::<u16>(11, u16::MAX, 64)) {
        let palette = Palette::new(c, values).unwrap();
        let image = ImageView::new(&data, h, w, c).unwrap();
        check_paths::<u16, u16>(image, &palette)?;
    }
}

/// Largest 16-bit distances: four channels at full range need more than 32
/// bits, which the GPU emulates with two words.
#[test]
fn u16_extreme_distances_are_exact() {
    let data: Vec<u16> = vec![0, 0, 0, 0, 65535, 65535, 65535, 65535, 0, 65535, 0, 65535];
    let image = ImageView::new(&data, 1, 3, 4).unwrap();
    let palette = Palette::new(
        4,
        vec![65535, 65535, 65535, 65535, 0, 0, 0, 1, 65535, 0, 65535, 0],
    )
    .unwrap();
    let expected: Vec<u16> = nearest_palette_reference(image, &palette).unwrap();
    assert_eq!(expected, [1, 0, 1]);
    let cpu: Vec<u16> = nearest_palette(image, &palette, &Device::Cpu).unwrap();
    assert_eq!(cpu, expected);
    #[cfg(feature = "gpu")]
    if let Some(ctx) = common::gpu() {
        let gpu: Vec<u16> = nearest_palette(image, &palette, &Device::Gpu(ctx)).unwrap();
        assert_eq!(gpu, expected);
    }
}

fn level_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-4i32..=4).prop_map(|v| f64::from(v) * 0.25),
        -1000.0f64..1000.0,
        (-1e6f64..1e6),
    ]
}

fn check_levels<T: GreyFloat>(
    data: &[T],
    h: usize,
    w: usize,
    levels: &Levels,
) -> Result<(), TestCaseError> {
    let image = ImageView::new(data, h, w, 1).unwrap();
    let expected: Vec<u16> = nearest_level_reference(image, levels).unwrap();
    let cpu: Vec<u16> = nearest_level(image, levels, &Device::Cpu).unwrap();
    prop_assert_eq!(&cpu, &expected);
    #[cfg(feature = "gpu")]
    if let Some(ctx) = common::gpu() {
        let tiny = ctx.with_band_budget(w as u64 * 4 + 8);
        for ctx in [ctx.clone(), tiny.with_dispatch_pairs(1), tiny] {
            let gpu: Vec<u16> = nearest_level(image, levels, &Device::Gpu(ctx)).unwrap();
            for (p, (&g, &e)) in gpu.iter().zip(&expected).enumerate() {
                if g != e {
                    // Allowed only within f32 rounding of a tie.
                    let x = data[p].to_f64();
                    let lv = levels.values();
                    let (dg, de) = ((x - lv[g as usize]).abs(), (x - lv[e as usize]).abs());
                    let scale = x.abs().max(lv[g as usize].abs()).max(lv[e as usize].abs());
                    prop_assert!(
                        (dg - de).abs() <= 4.0 * f64::from(f32::EPSILON) * scale,
                        "pixel {p} = {x}: GPU level {} at {dg}, exact level {} at {de}",
                        lv[g as usize],
                        lv[e as usize],
                        dg = dg,
                        de = de
                    );
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    #[test]
    fn float_levels_agree(
        (h, w) in (0usize..=12, 0usize..=12),
        levels in prop::collection::vec(level_strategy(), 1..=40),
        seed_values in prop::collection::vec(level_strategy(), 144),
    ) {
        let levels = Levels::new(levels).unwrap();
        let data64: Vec<f64> = seed_values[..h * w].to_vec();
        check_levels(&data64, h, w, &levels)?;
        let data32: Vec<f32> = data64.iter().map(|&v| v as f32).collect();
        check_levels(&data32, h, w, &levels)?;
    }
}

/// Rounding can make non-adjacent levels tie: 1e20 - 0 and 1e20 - 1 are the
/// same f64, so the lowest index among them must win.
#[test]
fn rounding_ties_go_to_the_lowest_index() {
    let levels = Levels::new(vec![5.0, 1.0, 0.0, -3.0]).unwrap();
    let data = [
        1e20f64,
        -1e20,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        0.5,
    ];
    let image = ImageView::new(&data, 1, 6, 1).unwrap();
    let expected: Vec<u8> = nearest_level_reference(image, &levels).unwrap();
    assert_eq!(expected, [0, 0, 0, 0, 0, 1]);
    let cpu: Vec<u8> = nearest_level(image, &levels, &Device::Cpu).unwrap();
    assert_eq!(cpu, expected);
}

/// Dense and clustered palettes make many grid cells hold more candidates
/// than fit inline, exercising the fast path's fallback lists.
#[test]
fn crowded_palettes_match_the_reference() {
    let image = gpix::synth::uniform_rgb(96, 96, 5);
    for (k, spread) in [(256usize, 256u16), (4096, 256), (300, 24)] {
        let values: Vec<u16> = gpix::synth::random_palette(k, 3, k as u64)
            .iter()
            .map(|v| v % spread + (256 - spread) / 2)
            .collect();
        let palette = Palette::new(3, values).unwrap();
        let expected: Vec<u16> = nearest_palette_reference(image.view(), &palette).unwrap();
        let cpu: Vec<u16> = nearest_palette(image.view(), &palette, &Device::Cpu).unwrap();
        assert_eq!(cpu, expected, "K={k}, spread {spread}");
    }
    let wide: Vec<u16> = (0..64 * 64 * 3)
        .map(|i| ((i as u64 * 2654435761) % 65536) as u16)
        .collect();
    let image = ImageView::new(&wide, 64, 64, 3).unwrap();
    let values: Vec<u16> = (0..1000 * 3)
        .map(|i| ((i as u64 * 40503 + 7) % 65536) as u16)
        .collect();
    let palette = Palette::new(3, values).unwrap();
    let expected: Vec<u16> = nearest_palette_reference(image, &palette).unwrap();
    assert_eq!(
        nearest_palette::<u16, u16>(image, &palette, &Device::Cpu).unwrap(),
        expected
    );
}

/// Pixels on, next to and between midpoints, huge and tiny values, NaN and
/// infinities, in runs long enough for the eight-pixel fast path: the CPU
/// must give exactly the reference's indices for f32 and f64 images. The
/// level sets cover 7, 11 and 16 midpoints (the f32 AVX2 path keeps the
/// answers for 17 levels in three registers).
#[test]
fn float_fast_path_is_exact_near_midpoints() {
    let eight = vec![0.75, 0.0, 0.25, 1.0, -0.25, 0.5, 0.25, 3e-9];
    let twelve: Vec<f64> = (0..12).map(|i| f64::from(i * i) / 7.0 - 3.0).collect();
    let seventeen: Vec<f64> = (0..17).rev().map(|i| f64::from(i) * 0.125 - 1.0).collect();
    for levels in [eight, twelve, seventeen] {
        check_fast_path_near_midpoints(&Levels::new(levels).unwrap());
    }
}

fn check_fast_path_near_midpoints(levels: &Levels) {
    let mut values = vec![
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e30,
        -1e30,
        0.0,
        -0.0,
        1e-300,
    ];
    for &l in levels.values() {
        for &m in levels.values() {
            let mid = l + (m - l) / 2.0;
            for d in [-1e-12, -1e-17, 0.0, 1e-17, 1e-12] {
                values.push(mid + d);
            }
            let m32 = mid as f32;
            values.push(f64::from(m32));
            values.push(f64::from(f32::from_bits(m32.to_bits() + 1)));
            values.push(f64::from(f32::from_bits(m32.to_bits().wrapping_sub(1))));
        }
    }
    let (lo, hi) = levels
        .values()
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let mut rng = gpix::synth::Rng::new(9);
    values.extend((0..2000).map(|_| lo - 0.3 + rng.next_f64() * (hi - lo + 0.6)));
    let n = values.len();
    let image = ImageView::new(&values, 1, n, 1).unwrap();
    let expected: Vec<u8> = nearest_level_reference(image, levels).unwrap();
    assert_eq!(
        nearest_level::<f64, u8>(image, levels, &Device::Cpu).unwrap(),
        expected
    );
    let values32: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    let image32 = ImageView::new(&values32, 1, n, 1).unwrap();
    let expected32: Vec<u8> = nearest_level_reference(image32, levels).unwrap();
    assert_eq!(
        nearest_level::<f32, u8>(image32, levels, &Device::Cpu).unwrap(),
        expected32
    );
    // Every level is somebody's answer, so the whole index table is used.
    let used: std::collections::BTreeSet<u8> = expected32.iter().copied().collect();
    assert!(used.len() >= levels.len() - 1, "{used:?}");
}

/// Palettes larger than one GPU dispatch's chunk (16384 entries): the answer
/// may sit in the last chunk, and a tie across chunks keeps the lower index.
/// (llvmpipe silently stops loops after 65535 iterations, so one dispatch
/// over 65536 entries used to miss the last ones.)
#[test]
fn palettes_spanning_several_gpu_chunks_are_exact() {
    let mut values = vec![0u16; 65536 * 3];
    for (i, rgb) in [
        (20000usize, 128u16),
        (40000, 255),
        (65535, 255),
        (65534, 200),
    ] {
        values[i * 3..i * 3 + 3].fill(rgb);
    }
    let palette = Palette::new(3, values).unwrap();
    let data: Vec<u8> = [255u8, 128, 0, 201, 250, 127]
        .iter()
        .flat_map(|&v| [v, v, v])
        .collect();
    let image = ImageView::new(&data, 2, 3, 3).unwrap();
    let expected: Vec<u16> = nearest_palette_reference(image, &palette).unwrap();
    assert_eq!(expected, [40000, 20000, 0, 65534, 40000, 20000]);
    assert_eq!(
        nearest_palette::<u8, u16>(image, &palette, &Device::Cpu).unwrap(),
        expected
    );
    #[cfg(feature = "gpu")]
    if let Some(ctx) = common::gpu() {
        let gpu: Vec<u16> = nearest_palette(image, &palette, &Device::Gpu(ctx.clone())).unwrap();
        assert_eq!(gpu, expected);
        let levels = Levels::new((0..65536).map(|i| f64::from(i) / 65536.0).collect()).unwrap();
        let x = [0.999_99f32, 0.5, 0.0];
        let grey = ImageView::new(&x, 1, 3, 1).unwrap();
        let exact: Vec<u16> = nearest_level_reference(grey, &levels).unwrap();
        let on_gpu: Vec<u16> = nearest_level(grey, &levels, &Device::Gpu(ctx)).unwrap();
        assert_eq!(on_gpu, exact);
    }
}

/// 8-bit RGB through the CPU's vector path: palettes of up to 16 colours
/// (held in registers) and larger ones (gathered), odd sizes for the scalar
/// tail, photo-like and noise images.
#[test]
fn rgb8_vector_path_matches_the_reference() {
    let images = [
        gpix::synth::smooth_rgb(61, 67, 2),
        gpix::synth::uniform_rgb(59, 71, 3),
    ];
    for image in &images {
        for k in [1usize, 2, 7, 9, 16, 17, 64, 256] {
            let palette =
                Palette::new(3, gpix::synth::random_palette(k, 3, 40 + k as u64)).unwrap();
            let expected: Vec<u8> = nearest_palette_reference(image.view(), &palette).unwrap();
            let cpu: Vec<u8> = nearest_palette(image.view(), &palette, &Device::Cpu).unwrap();
            assert_eq!(cpu, expected, "K={k}");
        }
    }
}

/// The vector path's packed lists for cells with more than three
/// candidates: a large noise image puts thousands of pixels there, and a
/// palette holding every colour twice makes each of them a tie the lowest
/// index must win.
#[test]
fn rgb8_long_candidate_lists_keep_the_lowest_index() {
    let image = gpix::synth::uniform_rgb(300, 301, 5);
    for k in [24usize, 128] {
        let once = gpix::synth::random_palette(k, 3, 7 + k as u64);
        let twice: Vec<u16> = once.iter().chain(&once).copied().collect();
        let palette = Palette::new(3, twice).unwrap();
        let expected: Vec<u8> = nearest_palette_reference(image.view(), &palette).unwrap();
        let cpu: Vec<u8> = nearest_palette(image.view(), &palette, &Device::Cpu).unwrap();
        assert_eq!(cpu, expected, "K={}", 2 * k);
        assert!(
            expected.iter().all(|&i| usize::from(i) < k),
            "ties go to the first copy"
        );
    }
}

/// Palettes of more than 256 colours through the CPU's vector path (the
/// index in the table's tag nibbles up to 4096 colours, in an index array
/// beyond): random and doubled palettes (every colour twice, so each
/// exact hit is a tie the first copy must win), photo-like and noise
/// images, against the reference.
#[test]
fn rgb8_big_palettes_on_the_cpu_are_exact() {
    let images = [
        gpix::synth::smooth_rgb(67, 61, 12),
        gpix::synth::uniform_rgb(71, 59, 13),
    ];
    for (k, doubled) in [
        (257, false),
        (600, true),
        (4096, false),
        (8192, true),
        (65536, true),
    ] {
        let once = gpix::synth::random_palette(if doubled { k / 2 } else { k }, 3, k as u64);
        let values: Vec<u16> = if doubled { once.repeat(2) } else { once };
        let palette = Palette::new(3, values).unwrap();
        for image in &images {
            let expected: Vec<u16> = nearest_palette_reference(image.view(), &palette).unwrap();
            let cpu: Vec<u16> = nearest_palette(image.view(), &palette, &Device::Cpu).unwrap();
            assert!(cpu == expected, "K={k}");
            if doubled {
                assert!(expected.iter().all(|&i| usize::from(i) < k / 2));
            }
        }
    }
}

/// Big images with more than 4096 colours take the table of answers for
/// every colour: the same indices as the per-pixel search gives for the
/// image's row bands (each below the table's size threshold, and checked
/// against the reference above), on noise (every colour region) and a
/// photo-like image, with a doubled palette for ties.
#[test]
fn rgb8_answer_table_agrees_with_the_per_pixel_search() {
    let once = gpix::synth::random_palette(2600, 3, 26);
    let palette = Palette::new(3, once.repeat(2)).unwrap();
    for image in [
        gpix::synth::uniform_rgb(2048, 2048, 14),
        gpix::synth::smooth_rgb(2048, 2048, 15),
    ] {
        let whole: Vec<u16> = nearest_palette(image.view(), &palette, &Device::Cpu).unwrap();
        let row = 2048 * 3;
        for (band, chunk) in image.data().chunks(256 * row).enumerate() {
            let view = ImageView::new(chunk, 256, 2048, 3).unwrap();
            let part: Vec<u16> = nearest_palette(view, &palette, &Device::Cpu).unwrap();
            assert!(
                part[..] == whole[band * 256 * 2048..][..part.len()],
                "band {band}"
            );
        }
        // A strip of pixels against the reference directly.
        let strip = ImageView::new(&image.data()[..row], 1, 2048, 3).unwrap();
        let expected: Vec<u16> = nearest_palette_reference(strip, &palette).unwrap();
        assert!(expected[..] == whole[..2048]);
    }
}

/// Grey 8-bit images with up to 16 levels take the CPU's byte-compare path
/// (answers by runs of values): every value, ties between levels and
/// duplicate levels, lengths that are not a multiple of the 32-pixel step,
/// against the reference; 17–20 levels cross over to the table path.
#[test]
fn grey_u8_few_levels_match_the_reference() {
    let data: Vec<u8> = (0..256 * 3 + 7).map(|i| (i * 7 % 256) as u8).collect();
    let mut rng = gpix::synth::Rng::new(31);
    for k in 1..=20usize {
        for round in 0..4 {
            // Even levels give exact ties at odd pixel values halfway.
            let values: Vec<u16> = (0..k)
                .map(|_| (rng.next_f64() * 128.0) as u16 * 2)
                .chain((round == 0).then_some(0))
                .collect();
            let palette = Palette::new(1, values).unwrap();
            for len in [data.len(), 31, 33, 1] {
                let image = ImageView::new(&data[..len], 1, len, 1).unwrap();
                let expected: Vec<u8> = nearest_palette_reference(image, &palette).unwrap();
                let cpu: Vec<u8> = nearest_palette(image, &palette, &Device::Cpu).unwrap();
                assert_eq!(cpu, expected, "K={k} round {round} len {len}");
            }
        }
    }
}

/// Big palettes through the GPU's candidate grid: 4096 and 65536 random
/// colours (ties included: every colour twice), every band budget, split
/// dispatches; exact against the reference.
#[cfg(feature = "gpu")]
#[test]
fn big_palettes_on_the_gpu_are_exact() {
    let Some(ctx) = common::gpu() else { return };
    let image = gpix::synth::smooth_rgb(37, 41, 9);
    let noise = gpix::synth::uniform_rgb(23, 29, 4);
    for k in [4096usize, 65536] {
        let once = gpix::synth::random_palette(k / 2, 3, k as u64);
        let twice: Vec<u16> = once.iter().chain(&once).copied().collect();
        let palette = Palette::new(3, twice).unwrap();
        for image in [&image, &noise] {
            let expected: Vec<u16> = nearest_palette_reference(image.view(), &palette).unwrap();
            let tiny = ctx.with_band_budget(41 * 3 * 3);
            for ctx in [ctx.clone(), tiny.with_dispatch_pairs(1), tiny] {
                let gpu: Vec<u16> =
                    nearest_palette(image.view(), &palette, &Device::Gpu(ctx)).unwrap();
                assert_eq!(gpu, expected, "K={k}");
            }
        }
    }
}

/// A palette of 65536 entries packed into a small box of 16-bit RGBA
/// values (32768 colours, shuffled, listed twice): one grid cell holds all
/// of them, so its list is scanned in four dispatches of 16384 positions,
/// each carrying on from the last, and a pixel on a colour ties with the
/// colour's second copy in a later dispatch (the first must win).
#[cfg(feature = "gpu")]
#[test]
fn one_crowded_cell_is_scanned_in_several_dispatches() {
    let Some(ctx) = common::gpu() else { return };
    let colour = |i: usize| {
        let v = |s: usize, m: usize| 30000 + ((i >> s) % m) as u16 * 3;
        [v(0, 8), v(3, 8), v(6, 8), v(9, 64)]
    };
    // A fixed shuffle: multiplication by an odd number mod 2^15.
    let once: Vec<u16> = (0..32768usize)
        .flat_map(|i| colour((i * 40503) % 32768))
        .collect();
    let values: Vec<u16> = once.iter().chain(&once).copied().collect();
    let palette = Palette::new(4, values).unwrap();
    let pixels: Vec<u16> = (0..96usize)
        .flat_map(|p| {
            if p % 2 == 0 {
                colour(p * 331)
            } else {
                let v = |s: u32| 29990 + ((p as u32).wrapping_mul(2654435761) >> s) as u16 % 220;
                [v(0), v(7), v(14), v(21)]
            }
        })
        .collect();
    let image = ImageView::new(&pixels, 8, 12, 4).unwrap();
    let expected: Vec<u16> = nearest_palette_reference(image, &palette).unwrap();
    assert!(
        expected.iter().all(|&i| i < 32768),
        "ties go to the first copy"
    );
    let cpu: Vec<u16> = nearest_palette(image, &palette, &Device::Cpu).unwrap();
    assert_eq!(cpu, expected);
    for ctx in [
        ctx.clone(),
        ctx.with_band_budget(12 * 8 * 2).with_dispatch_pairs(1),
    ] {
        let gpu: Vec<u16> = nearest_palette(image, &palette, &Device::Gpu(ctx)).unwrap();
        assert_eq!(gpu, expected);
    }
}
