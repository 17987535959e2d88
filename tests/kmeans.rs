//! k-means palettes: the same palette on the CPU and the GPU (both iterate
//! over the colour histogram; the GPU assigns with its exact kernel), in one
//! dispatch or many; determinism per seed.

mod common;

use gpix::{kmeans_levels, kmeans_palette, Device, GreyWeights, ImageView, KMeansOptions};
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
