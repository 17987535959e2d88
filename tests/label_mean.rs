//! Label means: reference ≡ fast CPU ≡ GPU (one band and a tiny band budget)
//! on random images, channel counts 1..=5 and dense, sparse, single and
//! all-distinct label sets; exact for integers, within the documented bound
//! for floats; the 96-bit GPU totals past 2^64.

mod common;

use gpix::{
    label_mean_image, label_mean_image_reference, label_sums, label_sums_reference, Device,
    ImageView, LabelTable, LabelValue, MeanElement,
};
use proptest::prelude::*;

/// The devices every case runs on: CPU, GPU, GPU with bands of one row or less.
fn devices(width: usize, channels: usize, value_bytes: usize) -> Vec<Device> {
    let mut out = vec![Device::Cpu];
    #[cfg(feature = "gpu")]
    if let Some(ctx) = common::gpu() {
        let row = (width * channels * value_bytes).max(width * 4) as u64;
        out.push(Device::Gpu(ctx.clone()));
        out.push(Device::Gpu(ctx.with_band_budget(row + 8)));
    }
    #[cfg(not(feature = "gpu"))]
    let _ = (width, channels, value_bytes);
    out
}

/// Runs of labels repeated to `n` pixels: segmentations are spatially coherent.
fn expand(runs: &[(u32, usize)], n: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(n);
    if runs.is_empty() {
        return vec![0; n];
    }
    'fill: loop {
        for &(l, len) in runs {
            for _ in 0..len {
                if out.len() == n {
                    break 'fill;
                }
                out.push(l);
            }
        }
    }
    out
}

fn labels_strategy(n: usize) -> BoxedStrategy<Vec<u32>> {
    let sparse = prop::sample::select(vec![0u32, 7, (1 << 31) + 5, u32::MAX, 100_000, 3 << 30]);
    prop_oneof![
        prop::collection::vec((0u32..6, 1usize..6), 1..8).prop_map(move |r| expand(&r, n)),
        prop::collection::vec((sparse, 1usize..6), 1..8).prop_map(move |r| expand(&r, n)),
        any::<u32>().prop_map(move |l| vec![l; n]),
        Just(
            (0..n as u32)
                .map(|p| p.wrapping_mul(2_654_435_761))
                .collect()
        ),
    ]
    .boxed()
}

fn case<T: std::fmt::Debug>(
    values: impl Strategy<Value = T> + Clone + 'static,
) -> impl Strategy<Value = (usize, usize, usize, Vec<T>, Vec<u32>)> {
    (0usize..=10, 0usize..=10, 1usize..=5).prop_flat_map(move |(h, w, c)| {
        (
            Just(h),
            Just(w),
            Just(c),
            prop::collection::vec(values.clone(), h * w * c),
            labels_strategy(h * w),
        )
    })
}

/// Integers: every device gives exactly the reference's table and pixels.
fn integers_agree<T: LabelValue<Sum = i64>>(
    h: usize,
    w: usize,
    c: usize,
    data: &[T],
    labels: &[u32],
) where
    u8: MeanElement<i64>,
{
    let image = ImageView::new(data, h, w, c).unwrap();
    let table = label_sums_reference(image, labels).unwrap();
    let painted: gpix::Image<f32> = label_mean_image_reference(image, labels).unwrap();
    for device in devices(w, c, std::mem::size_of::<T>()) {
        assert_eq!(
            label_sums(&device, image, labels).unwrap(),
            table,
            "{device:?}"
        );
    }
    // Bands sized for the f32 output rows.
    for device in devices(w, c, 4) {
        let (out, t) = label_mean_image::<T, f32>(&device, image, labels).unwrap();
        assert_eq!(out, painted, "{device:?}");
        assert_eq!(t, table);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    #[test]
    fn u8_images_agree_exactly((h, w, c, data, labels) in case(any::<u8>())) {
        integers_agree(h, w, c, &data, &labels);
        // 8-bit output: means rounded half up, same on every device.
        let image = ImageView::new(&data, h, w, c).unwrap();
        let want: gpix::Image<u8> = label_mean_image_reference(image, &labels).unwrap();
        for device in devices(w, c, 1) {
            prop_assert_eq!(&label_mean_image::<u8, u8>(&device, image, &labels).unwrap().0, &want);
        }
    }

    #[test]
    fn u16_images_agree_exactly((h, w, c, data, labels) in case(any::<u16>())) {
        integers_agree(h, w, c, &data, &labels);
        let image = ImageView::new(&data, h, w, c).unwrap();
        let want: gpix::Image<u16> = label_mean_image_reference(image, &labels).unwrap();
        for device in devices(w, c, 2) {
            prop_assert_eq!(&label_mean_image::<u16, u16>(&device, image, &labels).unwrap().0, &want);
        }
    }

    #[test]
    fn i32_images_agree_exactly((h, w, c, data, labels) in case(prop_oneof![any::<i32>(), Just(i32::MIN), Just(i32::MAX)])) {
        integers_agree(h, w, c, &data, &labels);
    }

    #[test]
    fn f32_images_agree_within_the_bound((h, w, c, data, labels) in case(float32())) {
        floats_agree(h, w, c, &data, &labels);
    }

    #[test]
    fn f64_images_agree_within_the_bound((h, w, c, data, labels) in case(float32().prop_map(f64::from))) {
        floats_agree(h, w, c, &data, &labels);
    }
}

/// Ordinary values, zeros, and magnitudes from 1e-30 to 1e30 side by side.
fn float32() -> impl Strategy<Value = f32> + Clone {
    prop_oneof![
        -1000f32..1000.0,
        Just(0.0f32),
        (-1f32..1.0, -30i32..=30).prop_map(|(m, e)| m * 10f32.powi(e)),
    ]
}

/// Floats: each label's mean within `1e-9 · max|x|` of the reference (the
/// documented GPU bound is `count · 2^-61 · max|x|`; the CPU sums in f64).
fn floats_agree<T>(h: usize, w: usize, c: usize, data: &[T], labels: &[u32])
where
    T: LabelValue<Sum = f64> + Into<f64>,
{
    let image = ImageView::new(data, h, w, c).unwrap();
    let want = label_sums_reference(image, labels).unwrap();
    let max_abs = max_abs_per_label(&want, data, labels, c);
    for device in devices(w, c, std::mem::size_of::<T>()) {
        let got = label_sums(&device, image, labels).unwrap();
        assert_eq!(got.labels, want.labels);
        assert_eq!(got.counts, want.counts);
        for i in 0..want.len() {
            for ch in 0..c {
                let (a, b) = (got.mean::<f64>(i, ch), want.mean::<f64>(i, ch));
                let bound = 1e-9 * max_abs[i * c + ch];
                assert!(
                    (a - b).abs() <= bound,
                    "{device:?} label {} channel {ch}: {a} vs {b} (bound {bound})",
                    want.labels[i]
                );
            }
        }
    }
    // The painted pixels are those means, as f32 (bands sized for the wider rows).
    for device in devices(w, c, std::mem::size_of::<T>().max(4)) {
        let (out, _) = label_mean_image::<T, f32>(&device, image, labels).unwrap();
        for (p, &l) in labels.iter().enumerate() {
            let i = want.labels.binary_search(&l).unwrap();
            for ch in 0..c {
                let (a, b) = (out.data()[p * c + ch], want.mean::<f32>(i, ch));
                let tol = b.abs() * 2f32.powi(-23) + (1e-9 * max_abs[i * c + ch]) as f32;
                assert!((a - b).abs() <= tol, "{device:?} pixel {p}: {a} vs {b}");
            }
        }
    }
}

fn max_abs_per_label<T: Copy + Into<f64>>(
    t: &LabelTable<f64>,
    data: &[T],
    labels: &[u32],
    c: usize,
) -> Vec<f64> {
    let mut out = vec![0f64; t.len() * c];
    for (p, &l) in labels.iter().enumerate() {
        let i = t.labels.binary_search(&l).unwrap();
        for ch in 0..c {
            let v: f64 = data[p * c + ch].into();
            out[i * c + ch] = out[i * c + ch].max(v.abs());
        }
    }
    out
}

#[test]
fn nan_and_infinities_propagate_like_f64_sums() {
    let data = [
        1.0f32,
        f32::NAN,
        2.0,
        f32::INFINITY,
        3.0,
        f32::NEG_INFINITY,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let labels = [0u32, 0, 1, 1, 2, 2, 3, 3];
    let image = ImageView::new(&data, 2, 4, 1).unwrap();
    for device in devices(4, 1, 4) {
        let t = label_sums(&device, image, &labels).unwrap();
        let m: Vec<f64> = t.means();
        assert!(m[0].is_nan(), "{device:?}");
        assert_eq!(m[1], f64::INFINITY, "{device:?}");
        assert_eq!(m[2], f64::NEG_INFINITY, "{device:?}");
        assert!(m[3].is_nan(), "{device:?}");
    }
}

/// The GPU's 96-bit totals carry across all three words: 3000 floats equal
/// to a label's largest value are each ≈ 2^61.6 in fixed point, so the total
/// passes 2^72, and i32 extremes carry and borrow through the low words.
/// A 12000×12000 image of 65535 needs totals below 2^44, far inside this.
#[test]
fn totals_carry_past_64_bits() {
    let n = 3000;
    let big = vec![3.0e38f32; n];
    let labels = vec![9u32; n];
    let image = ImageView::new(&big, 1, n, 1).unwrap();
    let ints: Vec<i32> = (0..n)
        .map(|i| if i % 3 == 0 { i32::MIN } else { i32::MAX })
        .collect();
    let int_image = ImageView::new(&ints, 1, n, 1).unwrap();
    let want_int = label_sums_reference(int_image, &labels).unwrap();
    for device in devices(n, 1, 4) {
        let t = label_sums(&device, image, &labels).unwrap();
        assert_eq!(t.counts, [n as u64]);
        let mean: f64 = t.mean(0, 0);
        assert!(
            (mean - 3.0e38f64).abs() <= 3.0e38 * 1e-6,
            "{device:?}: {mean}"
        );
        assert_eq!(label_sums(&device, int_image, &labels).unwrap(), want_int);
    }
    // Rounded means of the largest totals the CLI can meet stay exact.
    let count = 12_000u64 * 12_000;
    assert_eq!(
        <u16 as MeanElement<i64>>::mean(65_535 * count as i64, count),
        65_535
    );
    assert_eq!(<u8 as MeanElement<i64>>::mean(5, 2), 3);
    assert_eq!(<u8 as MeanElement<i64>>::mean(3, 2), 2);
}

#[test]
fn wrong_shapes_are_errors() {
    let data = [1u8; 6];
    let image = ImageView::new(&data, 2, 3, 1).unwrap();
    assert!(label_sums(&Device::Cpu, image, &[0; 5]).is_err());
    let mut out = [0f32; 5];
    assert!(gpix::label_mean_image_into(&Device::Cpu, image, &[0; 6], &mut out).is_err());
    assert!(gpix::labels_to_u32(&[1i64, -1])
        .unwrap_err()
        .to_string()
        .contains("-1"));
    assert!(gpix::labels_to_u32(&[1u64 << 32]).is_err());
    assert_eq!(gpix::labels_to_u32(&[3i8, 0]).unwrap(), [3, 0]);
}

/// Many workgroups (8192 pixels each): hot-label totals from workgroup memory
/// and the rest from global atomics add up to the reference, for Voronoi
/// superpixels and for one label covering everything.
#[test]
fn many_workgroups_agree() {
    let (h, w) = (300, 250);
    let rgb = gpix::synth::smooth_rgb(h, w, 3);
    let wide: Vec<u16> = rgb.data().iter().map(|&v| u16::from(v) * 257).collect();
    let floats = gpix::synth::smooth_rgb_f32(h, w, 4);
    for labels in [
        gpix::synth::voronoi_labels(h, w, 150, 1),
        vec![77u32; h * w],
    ] {
        let image = ImageView::new(&wide, h, w, 3).unwrap();
        let want = label_sums_reference(image, &labels).unwrap();
        let want_f = label_sums_reference(floats.view(), &labels).unwrap();
        for device in devices(w, 3, 8).into_iter().skip(1) {
            assert_eq!(
                label_sums(&device, image, &labels).unwrap(),
                want,
                "{device:?}"
            );
            let got = label_sums(&device, floats.view(), &labels).unwrap();
            for (a, b) in got.sums.iter().zip(&want_f.sums) {
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    "{device:?}: {a} vs {b}"
                );
            }
        }
    }
}

/// Label maps of `n` labels over `h × w` pixels: fragmented (every pixel
/// its own hashed pick) or blocky (rectangles of equal labels, sized so the
/// map uses about `n` of them).
fn fragmented(h: usize, w: usize, n: u32) -> Vec<u32> {
    (0..(h * w) as u32)
        .map(|p| p.wrapping_mul(2_654_435_761).rotate_left(7) % n)
        .collect()
}

fn blocky(h: usize, w: usize, n: u32) -> Vec<u32> {
    let side = (((h * w) as f64 / f64::from(n)).sqrt().ceil() as usize).max(1);
    let across = w.div_ceil(side);
    (0..h * w)
        .map(|p| ((p / w / side * across + p % w / side) as u32) % n)
        .collect()
}

/// The GPU's tiles of 4096 pixels: with 1, 2 and 16 labels, and blocky maps
/// of 10⁴, every tile's rows fit the workgroup table; a fragmented map of 10⁴
/// labels meets ~3400 rows per tile, more than the table's 1024 slots, so
/// those tiles are summed by segments. Integers exactly, floats within the
/// documented bound, 1, 3 and 5 channels (two register groups), on one band
/// and on bands of one row.
#[test]
fn few_and_many_labels_fragmented_and_blocky_agree() {
    let (h, w) = (160, 300);
    let rgb = gpix::synth::uniform_rgb(h, w, 5);
    let five: Vec<u16> = (0..h * w * 5)
        .map(|i| (i as u32).wrapping_mul(40_503) as u16)
        .collect();
    let signed: Vec<i32> = (0..h * w)
        .map(|i| (i as i32).wrapping_mul(-1_640_531_527))
        .collect();
    let floats = gpix::synth::smooth_rgb_f32(h, w, 6);
    let doubles: Vec<f64> = floats.data().iter().map(|&v| f64::from(v) - 0.5).collect();
    for n in [1u32, 2, 16, 10_000] {
        for (kind, labels) in [
            ("fragmented", fragmented(h, w, n)),
            ("blocky", blocky(h, w, n)),
        ] {
            let what = format!("{n} labels, {kind}");
            let images = [
                label_sums_reference(rgb.view(), &labels).map(|t| (t, 3)),
                label_sums_reference(ImageView::new(&five, h, w, 5).unwrap(), &labels)
                    .map(|t| (t, 5)),
                label_sums_reference(ImageView::new(&signed, h, w, 1).unwrap(), &labels)
                    .map(|t| (t, 1)),
            ];
            for device in devices(w, 5, 8).into_iter().skip(1) {
                for (want, c) in images.iter().map(|r| r.as_ref().unwrap()) {
                    let got = match c {
                        3 => label_sums(&device, rgb.view(), &labels),
                        5 => label_sums(&device, ImageView::new(&five, h, w, 5).unwrap(), &labels),
                        _ => {
                            label_sums(&device, ImageView::new(&signed, h, w, 1).unwrap(), &labels)
                        }
                    };
                    assert_eq!(&got.unwrap(), want, "{what}, {c} channels, {device:?}");
                }
                float_sums_agree(&device, floats.view(), &labels, &what);
                let view = ImageView::new(&doubles, h, w, 3).unwrap();
                float_sums_agree(&device, view, &labels, &what);
            }
        }
    }
}

fn float_sums_agree<T: LabelValue<Sum = f64> + Into<f64>>(
    device: &Device,
    image: ImageView<'_, T>,
    labels: &[u32],
    what: &str,
) {
    let c = image.channels();
    let want = label_sums_reference(image, labels).unwrap();
    let got = label_sums(device, image, labels).unwrap();
    assert_eq!(got.labels, want.labels, "{what}");
    assert_eq!(got.counts, want.counts, "{what}");
    // Each value is off by less than 2^-61 of its label's largest magnitude
    // on the GPU; the reference's own f64 rounding is far below 1e-14 of it.
    let max_abs = max_abs_per_label(&want, image.data(), labels, c);
    for (i, (a, b)) in got.sums.iter().zip(&want.sums).enumerate() {
        let n = want.counts[i / c] as f64;
        let bound = n * max_abs[i] * 1e-14;
        assert!((a - b).abs() <= bound, "{what}, {device:?}: {a} vs {b}");
    }
}
