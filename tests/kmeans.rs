//! k-means palettes: the same palette on the CPU and the GPU (both iterate
//! over the colour histogram; the GPU assigns with its exact kernel), in one
//! dispatch or many; determinism per seed.

mod common;

use gpix::ops::median_cut::{median_cut_balanced, Histogram};
use gpix::{
    kmeans_levels, kmeans_palette, refine_palette, refined_palette, Device, GreyWeights, ImageView,
    KMeansOptions, Palette, REFINE_PASSES,
};
use proptest::prelude::*;

fn image_strategy() -> impl Strategy<Value = (usize, usize, usize, Vec<u8>)> {
    (1usize..=24, 1usize..=24, 2usize..=4).prop_flat_map(|(h, w, c)| {
        // Few distinct levels per channel: clusters, repeats and ties.
        let value = prop_oneof![(0u8..=4).prop_map(|v| v * 60), any::<u8>()];
        (
            Just(h),
            Just(w),
            Just(c),
            prop::collection::vec(value, h * w * c),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    #[test]
    fn cpu_and_gpu_build_the_same_palette(
        (h, w, c, data) in image_strategy(),
        k in 1usize..=20,
        seed in any::<u64>(),
    ) {
        let image = ImageView::new(&data, h, w, c).unwrap();
        let opts = KMeansOptions { k, seed, max_iter: 10, weights: GreyWeights::Distinct };
        let cpu = kmeans_palette(image, &opts, &Device::Cpu).unwrap();
        prop_assert!(cpu.len() <= k && !cpu.is_empty());
        prop_assert_eq!(&cpu, &kmeans_palette(image, &opts, &Device::Cpu).unwrap());
        #[cfg(feature = "gpu")]
        if let Some(ctx) = common::gpu() {
            let gpu = kmeans_palette(image, &opts, &Device::Gpu(ctx.clone())).unwrap();
            prop_assert_eq!(&gpu, &cpu);
            let banded = kmeans_palette(image, &opts, &Device::Gpu(ctx.with_band_budget((w * c * 2 + 8) as u64))).unwrap();
            prop_assert_eq!(&banded, &cpu);
        }
    }
}

#[test]
fn u16_kmeans_agrees_and_k_above_256_uses_wide_indices() {
    let data: Vec<u16> = (0..40 * 30 * 3)
        .map(|i| ((i * 7919) % 65536) as u16)
        .collect();
    let image = ImageView::new(&data, 40, 30, 3).unwrap();
    let opts = KMeansOptions {
        k: 300,
        seed: 1,
        max_iter: 3,
        weights: GreyWeights::Distinct,
    };
    let cpu = kmeans_palette(image, &opts, &Device::Cpu).unwrap();
    assert!(cpu.len() > 256);
    #[cfg(feature = "gpu")]
    if let Some(ctx) = common::gpu() {
        assert_eq!(
            kmeans_palette(image, &opts, &Device::Gpu(ctx)).unwrap(),
            cpu
        );
    }
}

#[test]
fn invalid_k_is_an_error() {
    let data = [0u8; 12];
    let image = ImageView::new(&data, 2, 2, 3).unwrap();
    for k in [0, 65537] {
        assert!(kmeans_palette(image, &KMeansOptions::new(k), &Device::Cpu).is_err());
    }
    let empty = ImageView::<u8>::new(&[], 0, 5, 3).unwrap();
    assert!(kmeans_palette(empty, &KMeansOptions::new(2), &Device::Cpu).is_err());
}

/// Thousands of distinct colours in runs of 1024 per dispatch (tiny
/// binding budget, one workgroup's worth of pairs per dispatch), 8- and
/// 16-bit, narrow and wide indices: the same palette as the CPU.
#[cfg(feature = "gpu")]
#[test]
fn histogram_runs_over_many_dispatches_give_the_cpu_palette() {
    let Some(ctx) = common::gpu() else { return };
    let split = ctx.with_band_budget(64).with_dispatch_pairs(1);
    let noise = gpix::synth::uniform_rgb(70, 90, 11);
    let wide: Vec<u16> = noise
        .data()
        .iter()
        .map(|&v| u16::from(v) * 257 + 3)
        .collect();
    let wide = ImageView::new(&wide, 70, 90, 3).unwrap();
    for k in [16usize, 300] {
        let opts = KMeansOptions {
            k,
            seed: 5,
            max_iter: 6,
            weights: GreyWeights::Distinct,
        };
        let cpu = kmeans_palette(noise.view(), &opts, &Device::Cpu).unwrap();
        for device in [ctx.clone(), split.clone()] {
            assert_eq!(
                kmeans_palette(noise.view(), &opts, &Device::Gpu(device)).unwrap(),
                cpu,
                "K={k}"
            );
        }
        let cpu = kmeans_palette(wide, &opts, &Device::Cpu).unwrap();
        assert_eq!(
            kmeans_palette(wide, &opts, &Device::Gpu(split.clone())).unwrap(),
            cpu,
            "16-bit K={k}"
        );
    }
}

fn grey_options(k: usize, weights: GreyWeights) -> KMeansOptions {
    KMeansOptions {
        k,
        seed: 9,
        max_iter: 1000,
        weights,
    }
}

/// A flat background: with distinct values it cannot take a level of its
/// own beyond its share of the values; weighted by pixels, it gets one.
#[test]
fn grey_weights_choose_between_values_and_pixels() {
    // 90 % zeros, the rest spread evenly over 1..=255.
    let data: Vec<u8> = (0..10_000u32)
        .map(|i| {
            if i % 10 == 0 {
                (1 + (i / 10) % 255) as u8
            } else {
                0
            }
        })
        .collect();
    let image = ImageView::new(&data, 100, 100, 1).unwrap();
    let distinct =
        kmeans_palette(image, &grey_options(2, GreyWeights::Distinct), &Device::Cpu).unwrap();
    let pixels =
        kmeans_palette(image, &grey_options(2, GreyWeights::Pixels), &Device::Cpu).unwrap();
    assert!(distinct.values()[0] > 30, "{:?}", distinct.values());
    assert!(pixels.values()[0] < 10, "{:?}", pixels.values());
    // The default is today's behaviour.
    assert_eq!(KMeansOptions::new(2).weights, GreyWeights::Distinct);
}

/// Pixel-weighted levels are a fixed point of Lloyd's step over the pixels:
/// each level is the (rounded) mean of the pixels nearest to it (ties to
/// the lower level), for 8/16-bit and float images.
#[test]
fn pixel_weighted_levels_are_the_means_of_their_pixels() {
    let smooth = gpix::synth::smooth_rgb(60, 80, 4);
    let grey: Vec<u8> = smooth.data().iter().step_by(3).copied().collect();
    let wide: Vec<u16> = grey.iter().map(|&v| u16::from(v) * 251 + 7).collect();
    let floats: Vec<f32> = grey.iter().map(|&v| f32::from(v).sqrt() * 0.37).collect();
    let options = grey_options(6, GreyWeights::Pixels);
    let check = |levels: &[f64], pixels: &[f64], round: bool| {
        let mut sums = vec![(0.0f64, 0usize); levels.len()];
        for &v in pixels {
            let j = (0..levels.len())
                .min_by(|&a, &b| (v - levels[a]).abs().total_cmp(&(v - levels[b]).abs()))
                .unwrap();
            sums[j].0 += v;
            sums[j].1 += 1;
        }
        for (level, (sum, n)) in levels.iter().zip(sums) {
            assert!(n > 0);
            let mean = sum / n as f64;
            let want = if round { mean.round() } else { mean };
            assert!(
                (level - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{level} vs {want}"
            );
        }
    };
    let as_f64 = |v: &[u16]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
    let p8 = kmeans_palette(
        ImageView::new(&grey, 60, 80, 1).unwrap(),
        &options,
        &Device::Cpu,
    )
    .unwrap();
    check(
        &as_f64(p8.values()),
        &grey.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
        true,
    );
    let p16 = kmeans_palette(
        ImageView::new(&wide, 60, 80, 1).unwrap(),
        &options,
        &Device::Cpu,
    )
    .unwrap();
    check(&as_f64(p16.values()), &as_f64(&wide), true);
    let levels = kmeans_levels(ImageView::new(&floats, 60, 80, 1).unwrap(), &options).unwrap();
    check(
        levels.values(),
        &floats.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
        false,
    );
}

/// When every distinct value covers as many pixels, both weightings are the
/// same problem and give the same levels.
#[test]
fn equal_counts_make_both_weightings_agree() {
    let values: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
    let data: Vec<u8> = values.iter().flat_map(|&v| [v, v, v]).collect();
    let image = ImageView::new(&data, 30, 20, 1).unwrap();
    // Quarters: every product and sum below is exact.
    let floats: Vec<f64> = data.iter().map(|&v| f64::from(v) / 4.0).collect();
    let fimage = ImageView::new(&floats, 30, 20, 1).unwrap();
    for k in [1, 3, 8, 40] {
        assert_eq!(
            kmeans_palette(image, &grey_options(k, GreyWeights::Distinct), &Device::Cpu).unwrap(),
            kmeans_palette(image, &grey_options(k, GreyWeights::Pixels), &Device::Cpu).unwrap(),
            "K={k}"
        );
        assert_eq!(
            kmeans_levels(fimage, &grey_options(k, GreyWeights::Distinct)).unwrap(),
            kmeans_levels(fimage, &grey_options(k, GreyWeights::Pixels)).unwrap(),
            "K={k}"
        );
    }
}

/// The definition of a Lloyd pass over a histogram: brute-force nearest
/// colour (squared distance, ties to the lowest index), rounded-half-up
/// means weighted by counts, empty clusters kept; stop when nothing moves
/// or after `max_iter` assignments; then the colours that kept pixels,
/// sorted, without duplicates.
fn naive_lloyd(hist: &Histogram, start: &Palette, max_iter: usize) -> Palette {
    let c = hist.channels;
    let n = hist.counts.len();
    let mut pal: Vec<u64> = start.values().iter().map(|&v| u64::from(v)).collect();
    let k = start.len();
    let mut iter = 0;
    loop {
        let mut counts = vec![0u128; k];
        let mut sums = vec![0u128; k * c];
        for i in 0..n {
            let p = &hist.colors[i * c..(i + 1) * c];
            let dist = |j: usize| -> u64 {
                (0..c)
                    .map(|ch| (u64::from(p[ch])).abs_diff(pal[j * c + ch]).pow(2))
                    .sum()
            };
            let best = (0..k).min_by_key(|&j| (dist(j), j)).unwrap();
            counts[best] += u128::from(hist.counts[i]);
            for ch in 0..c {
                sums[best * c + ch] += u128::from(hist.counts[i]) * u128::from(p[ch]);
            }
        }
        iter += 1;
        let mut next = pal.clone();
        for j in 0..k {
            if counts[j] > 0 {
                for ch in 0..c {
                    next[j * c + ch] =
                        ((2 * sums[j * c + ch] + counts[j]) / (2 * counts[j])) as u64;
                }
            }
        }
        if next == pal || iter >= max_iter {
            let mut kept: Vec<Vec<u16>> = (0..k)
                .filter(|&j| counts[j] > 0)
                .map(|j| pal[j * c..(j + 1) * c].iter().map(|&v| v as u16).collect())
                .collect();
            kept.sort_unstable();
            kept.dedup();
            return Palette::new(c, kept.concat()).unwrap();
        }
        pal = next;
    }
}

/// A histogram of `n` distinct random colours (`c` channels below `limit`)
/// with counts 1..=50, sorted as the counting functions return them.
fn random_histogram(n: usize, c: usize, limit: u32, seed: u64) -> Histogram {
    let mut rng = gpix::synth::Rng::new(seed);
    let mut colours: Vec<Vec<u16>> = (0..n)
        .map(|_| {
            (0..c)
                .map(|_| (rng.next_u64() % u64::from(limit)) as u16)
                .collect()
        })
        .collect();
    colours.sort_unstable();
    colours.dedup();
    let counts = colours.iter().map(|_| 1 + rng.next_u64() % 50).collect();
    Histogram {
        channels: c,
        colors: colours.concat(),
        counts,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    /// The default palette is the definition's Lloyd passes from the
    /// balanced median cut, on the CPU and the GPU, 8-bit and 16-bit values,
    /// 1–4 channels.
    #[test]
    fn refined_palette_is_lloyd_from_the_balanced_cut(
        n in 1usize..300,
        c in 1usize..=4,
        wide in any::<bool>(),
        k in 1usize..=20,
        seed in any::<u64>(),
    ) {
        let hist = random_histogram(n, c, if wide { 65536 } else { 256 }, seed);
        let start = median_cut_balanced(&hist, k).unwrap();
        prop_assert!(start.len() <= k);
        if c > 1 {
            let refined = refined_palette(&hist, k, GreyWeights::Distinct, &Device::Cpu).unwrap();
            prop_assert_eq!(&refined, &naive_lloyd(&hist, &start, REFINE_PASSES));
            #[cfg(feature = "gpu")]
            if let Some(ctx) = common::gpu() {
                let gpu = refined_palette(&hist, k, GreyWeights::Distinct, &Device::Gpu(ctx.clone())).unwrap();
                prop_assert_eq!(&gpu, &refined);
                // A tiny band budget: the points go up in many dispatches.
                let tiny = Device::Gpu(ctx.with_band_budget((14 * c + 8) as u64));
                let banded = refined_palette(&hist, k, GreyWeights::Distinct, &tiny).unwrap();
                prop_assert_eq!(&banded, &refined);
            }
        } else {
            // Greyscale refines in 1-D: ascending levels within the values.
            for weights in [GreyWeights::Distinct, GreyWeights::Pixels] {
                let levels = refined_palette(&hist, k, weights, &Device::Cpu).unwrap();
                let v = levels.values();
                prop_assert!(!v.is_empty() && v.len() <= k);
                prop_assert!(v.windows(2).all(|w| w[0] < w[1]));
                prop_assert!(v[0] >= hist.colors[0] && v[v.len() - 1] <= hist.colors[n.min(hist.colors.len()) - 1]);
            }
        }
        for max_iter in [1, 3] {
            let cpu = refine_palette(&hist, start.clone(), max_iter, &Device::Cpu).unwrap();
            prop_assert_eq!(&cpu, &naive_lloyd(&hist, &start, max_iter));
        }
    }
}

/// Histograms longer than one row of the assignment's view (4096 points)
/// are split into full rows and a short one: every point still gets its
/// nearest colour, for byte and 16-bit points (enough point-colour pairs
/// for the candidate grid rather than a scan of the palette).
#[test]
fn refinement_over_many_rows_matches_the_definition() {
    for (limit, seed) in [(256, 5), (65536, 6)] {
        let hist = random_histogram(9000, 3, limit, seed);
        assert!(hist.counts.len() > 2 * 4096);
        let start = median_cut_balanced(&hist, 300).unwrap();
        assert!(hist.counts.len() * start.len() > 1 << 20);
        let refined = refine_palette(&hist, start.clone(), 4, &Device::Cpu).unwrap();
        assert_eq!(refined, naive_lloyd(&hist, &start, 4));
        #[cfg(feature = "gpu")]
        if let Some(ctx) = common::gpu() {
            let gpu = refine_palette(&hist, start.clone(), 4, &Device::Gpu(ctx)).unwrap();
            assert_eq!(gpu, refined);
        }
    }
}

#[test]
fn refinement_rejects_mismatched_histograms() {
    let hist = random_histogram(10, 3, 256, 1);
    let grey = Palette::new(1, vec![3]).unwrap();
    assert!(refine_palette(&hist, grey, 3, &Device::Cpu).is_err());
    let empty = Histogram::empty(3);
    let palette = Palette::new(3, vec![1, 2, 3]).unwrap();
    assert!(refine_palette(&empty, palette, 3, &Device::Cpu).is_err());
    assert!(refined_palette(&empty, 4, GreyWeights::Distinct, &Device::Cpu).is_err());
    // Histogram methods by name; k-means needs the image.
    use gpix::ops::quantize::{palette_from_histogram, PaletteMethod};
    let refined = PaletteMethod::Refined {
        weights: GreyWeights::Distinct,
    };
    assert_eq!(
        palette_from_histogram(&hist, 4, refined, &Device::Cpu).unwrap(),
        refined_palette(&hist, 4, GreyWeights::Distinct, &Device::Cpu).unwrap()
    );
    assert_eq!(
        palette_from_histogram(&hist, 4, PaletteMethod::MedianCut, &Device::Cpu).unwrap(),
        gpix::ops::median_cut::median_cut(&hist, 4).unwrap()
    );
    let kmeans = PaletteMethod::KMeans {
        seed: 0,
        max_iter: 5,
        weights: GreyWeights::Distinct,
    };
    assert!(palette_from_histogram(&hist, 4, kmeans, &Device::Cpu).is_err());
}

/// The definition of the greyscale passes: values to their nearest level
/// (ties to the lower), levels to the rounded-half-up mean of their values
/// (each once, or weighted by pixels), at most `passes` updates, then the
/// levels that kept values.
fn naive_grey_lloyd(
    values: &[(u16, u64)],
    start: &[u16],
    passes: usize,
    by_pixels: bool,
) -> Vec<u16> {
    let mut levels: Vec<u64> = start.iter().map(|&v| u64::from(v)).collect();
    levels.sort_unstable();
    let assign = |levels: &[u64]| -> Vec<usize> {
        (values.iter())
            .map(|&(v, _)| {
                (0..levels.len())
                    .min_by_key(|&j| (u64::from(v).abs_diff(levels[j]), j))
                    .unwrap()
            })
            .collect()
    };
    for _ in 0..passes {
        let owner = assign(&levels);
        let mut next = levels.clone();
        for (j, level) in next.iter_mut().enumerate() {
            let (mut sum, mut weight) = (0u64, 0u64);
            for (&(v, n), _) in values.iter().zip(&owner).filter(|(_, &o)| o == j) {
                let w = if by_pixels { n } else { 1 };
                sum += u64::from(v) * w;
                weight += w;
            }
            if weight > 0 {
                *level = (2 * sum + weight) / (2 * weight);
            }
        }
        if next == levels {
            break;
        }
        levels = next;
    }
    let owner = assign(&levels);
    let mut kept: Vec<u16> = (0..levels.len())
        .filter(|j| owner.contains(j))
        .map(|j| levels[j] as u16)
        .collect();
    kept.sort_unstable();
    kept.dedup();
    kept
}

proptest! {
    /// Greyscale refinement is the definition's 1-D passes from the
    /// balanced cut, whatever order, repeats and empty counts the
    /// histogram has.
    #[test]
    fn grey_refinement_is_lloyd_in_one_dimension(
        raw in prop::collection::vec((0u16..400, 0u64..30), 1..60),
        k in 1usize..=8,
        by_pixels in any::<bool>(),
    ) {
        prop_assume!(raw.iter().any(|&(_, n)| n > 0));
        let hist = Histogram {
            channels: 1,
            colors: raw.iter().map(|&(v, _)| v).collect(),
            counts: raw.iter().map(|&(_, n)| n).collect(),
        };
        let mut merged: Vec<(u16, u64)> = Vec::new();
        let mut sorted: Vec<(u16, u64)> = raw.iter().copied().filter(|&(_, n)| n > 0).collect();
        sorted.sort_unstable();
        for (v, n) in sorted {
            match merged.last_mut() {
                Some(last) if last.0 == v => last.1 += n,
                _ => merged.push((v, n)),
            }
        }
        let weights = if by_pixels { GreyWeights::Pixels } else { GreyWeights::Distinct };
        let got = refined_palette(&hist, k, weights, &Device::Cpu).unwrap();
        let start = median_cut_balanced(&hist, k).unwrap();
        let want = naive_grey_lloyd(&merged, start.values(), REFINE_PASSES, by_pixels);
        prop_assert_eq!(got.values(), &want[..]);
    }
}

#[test]
fn malformed_histograms_are_errors_not_panics() {
    let palette = Palette::new(3, vec![0; 300 * 3]).unwrap();
    let short_counts = Histogram {
        channels: 3,
        colors: vec![7; 15_000],
        counts: vec![1; 4_000],
    };
    assert!(refine_palette(&short_counts, palette.clone(), 3, &Device::Cpu).is_err());
    assert!(refined_palette(&short_counts, 8, GreyWeights::Distinct, &Device::Cpu).is_err());
    let no_pixels = Histogram {
        channels: 3,
        colors: vec![1, 2, 3],
        counts: vec![0],
    };
    let one = Palette::new(3, vec![1, 2, 3]).unwrap();
    assert!(refine_palette(&no_pixels, one.clone(), 3, &Device::Cpu).is_err());
    let huge = Histogram {
        channels: 3,
        colors: vec![0, 0, 0, 255, 255, 255],
        counts: vec![1 << 62, 1 << 62],
    };
    assert!(refine_palette(&huge, one, 3, &Device::Cpu).is_err());
    assert!(refined_palette(&huge, 2, GreyWeights::Distinct, &Device::Cpu).is_err());
}
