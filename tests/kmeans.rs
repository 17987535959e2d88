//! k-means palettes: the same palette on the CPU and the GPU (both iterate
//! over the colour histogram; the GPU assigns with its exact kernel), in one
//! dispatch or many; determinism per seed.

mod common;

use gpix::{kmeans_palette, Device, ImageView, KMeansOptions};
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
        let opts = KMeansOptions { k, seed, max_iter: 10 };
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
