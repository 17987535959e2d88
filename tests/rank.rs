//! Rank, median and percentile filters: reference ≡ CPU ≡ GPU (one band and
//! a tiny band budget), exactly, for every mode, origin and rank, windows
//! from 1×1 to wider than the array, ties and NaNs, images spanning many
//! tiles; scipy's own numbers and rules.

mod common;

use gpix::{Border, BoundaryMode, Device, Extremum, Footprint, ImageView, Rank};
use proptest::prelude::*;

fn mode_strategy() -> impl Strategy<Value = BoundaryMode> {
    prop_oneof![
        Just(BoundaryMode::Reflect),
        Just(BoundaryMode::Mirror),
        Just(BoundaryMode::Nearest),
        Just(BoundaryMode::Wrap),
        (-2i32..=2).prop_map(|v| BoundaryMode::Constant(f64::from(v) * 7.0)),
    ]
}

/// CPU, GPU, and GPU with bands of a few rows; `true` for a GPU.
fn devices(w: usize, c: usize, ky: usize) -> Vec<(Device, bool)> {
    let mut out = vec![(Device::Cpu, false)];
    #[cfg(feature = "gpu")]
    if let Some(ctx) = common::gpu() {
        out.push((Device::Gpu(ctx.clone()), true));
        let row = (w * c * 4) as u64;
        out.push((
            Device::Gpu(ctx.with_band_budget(row * (ky as u64 + 1) + 8)),
            true,
        ));
    }
    #[cfg(not(feature = "gpu"))]
    let _ = (w, c, ky);
    out
}

/// NaN-aware equality of a result and the reference.
fn same(a: f64, b: f64) -> bool {
    a == b || a.is_nan() && b.is_nan()
}

/// Every device equals the reference (rounded to f32 on a GPU) exactly.
fn check<T: gpix::RankValue>(
    (h, w, c): (usize, usize, usize),
    data: &[T],
    rank: Rank,
    window: impl Into<Footprint>,
    border: Border,
) {
    let window: Footprint = window.into();
    let image = ImageView::new(data, h, w, c).unwrap();
    let want = gpix::rank_filter_reference(image, rank, &window, border).unwrap();
    for (device, gpu) in devices(w, c, window.size()[0]) {
        let got = gpix::rank_filter(&device, image, rank, &window, border).unwrap();
        for (i, (&a, &b)) in got.data().iter().zip(want.data()).enumerate() {
            let b = if gpu {
                f64::from(b as f32)
            } else {
                T::from_cval(b).map_or(b, |v| v.into_f64())
            };
            assert!(
                same(a.into_f64(), b),
                "{device:?} {rank:?} {window:?} {border:?} value {i}: {} vs {b}",
                a.into_f64()
            );
        }
    }
}

/// Any rank form the window allows: an index (either sign), the median,
/// a percentile (either sign).
fn rank_strategy(n: usize) -> impl Strategy<Value = Rank> {
    let n = n as isize;
    prop_oneof![
        (0..n).prop_map(Rank::Index),
        (-n..0).prop_map(Rank::Index),
        Just(Rank::Median),
        (-100.0f64..=100.0).prop_map(Rank::Percentile),
    ]
}

/// Any origin in scipy's range -(n/2) ..= (n-1)/2.
fn origin_strategy(size: [usize; 2]) -> impl Strategy<Value = [isize; 2]> {
    size.map(|n| {
        let n = n as isize;
        -(n / 2)..=(n - 1) / 2
    })
}

type Case = (
    (usize, usize, usize),
    Vec<f64>,
    [usize; 2],
    Rank,
    [isize; 2],
);

fn case() -> impl Strategy<Value = Case> {
    (
        (
            0usize..=9,
            0usize..=9,
            prop_oneof![4 => 1usize..=4, 1 => Just(16usize)],
        ),
        [1usize..=12, 1usize..=12],
        any::<bool>(),
    )
        .prop_flat_map(|((h, w, c), size, ties)| {
            // Few distinct values make ties, which ranks must order stably.
            let values = if ties {
                prop::collection::vec((-3i32..=3).prop_map(f64::from), h * w * c).boxed()
            } else {
                prop::collection::vec(-1000.0f64..1000.0, h * w * c).boxed()
            };
            (
                Just((h, w, c)),
                values,
                Just(size),
                rank_strategy(size[0] * size[1]),
                origin_strategy(size),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    /// scipy's rank_filter / median_filter / percentile_filter: reference ≡
    /// CPU ≡ GPU ≡ GPU in bands, exactly, f64 and f32, every mode, any
    /// valid origin, any rank (the extreme ones run the extremum filters).
    #[test]
    fn rank_filters_agree(
        (shape, values, size, rank, origin) in case(),
        mode in mode_strategy(),
    ) {
        let border = Border::from(mode).with_origin(origin);
        check(shape, &values, rank, size, border);
        let floats: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        check(shape, &floats, rank, size, border);
    }

    /// u8, u16 and i16 keep their type: reference ≡ CPU ≡ GPU (through
    /// f32) ≡ GPU in bands, exactly, integer constants included.
    #[test]
    fn integer_rank_filters_agree(
        (h, w, c) in (0usize..=9, 0usize..=9, 1usize..=4),
        seed in any::<u64>(),
        (size, rank) in [1usize..=12, 1usize..=12].prop_flat_map(|s| (Just(s), rank_strategy(s[0] * s[1]))),
        mode in mode_strategy(),
    ) {
        let mut rng = gpix::synth::Rng::new(seed);
        let n = h * w * c;
        let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
        let words: Vec<u16> = (0..n).map(|_| rng.next_u64() as u16).collect();
        let signed: Vec<i16> = (0..n).map(|_| rng.next_u64() as i16).collect();
        let unsigned_mode = match mode {
            BoundaryMode::Constant(v) => BoundaryMode::Constant(v.abs()),
            m => m,
        };
        check((h, w, c), &bytes, rank, size, unsigned_mode.into());
        check((h, w, c), &words, rank, size, unsigned_mode.into());
        check((h, w, c), &signed, rank, size, mode.into());
    }

    /// Any footprint (scipy's `footprint=`): reference ≡ CPU ≡ GPU ≡ GPU in
    /// bands, exactly, for f64, f32 and u8, every mode and origin, any rank
    /// of the marked values; a footprint marking nothing is refused.
    #[test]
    fn footprint_rank_filters_agree(
        (h, w, c) in (0usize..=9, 0usize..=9, 1usize..=3),
        seed in any::<u64>(),
        (window, rank, origin) in footprint_case(),
        mode in mode_strategy(),
        ties in any::<bool>(),
    ) {
        let mut rng = gpix::synth::Rng::new(seed);
        let n = h * w * c;
        let data: Vec<f64> = (0..n)
            .map(|_| {
                let r = rng.next_u64();
                if ties { f64::from(r as u8 % 5) } else { (r >> 11) as f64 / 9e12 - 500.0 }
            })
            .collect();
        let border = Border::from(mode).with_origin(origin);
        check((h, w, c), &data, rank, &window, border);
        let floats: Vec<f32> = data.iter().map(|&v| v as f32).collect();
        check((h, w, c), &floats, rank, &window, border);
        let bytes: Vec<u8> = data.iter().map(|&v| v.rem_euclid(256.0) as u8).collect();
        let unsigned = match mode {
            BoundaryMode::Constant(v) => BoundaryMode::Constant(v.abs()),
            m => m,
        };
        check((h, w, c), &bytes, rank, &window, Border::from(unsigned).with_origin(origin));
    }

    /// A footprint marking no position is refused with a clear error.
    #[test]
    fn empty_footprints_are_refused(rows in 1usize..=5, columns in 1usize..=5) {
        let window = Footprint::from_mask(vec![false; rows * columns], rows, columns).unwrap();
        let data = [1.0f32; 4];
        let image = ImageView::new(&data, 2, 2, 1).unwrap();
        let e = gpix::median_filter(&Device::Cpu, image, &window, BoundaryMode::Reflect)
            .unwrap_err()
            .to_string();
        prop_assert!(e.contains("marks no position"), "{}", e);
    }
}

/// Every device's minimum or maximum over `window` equals the reference
/// (rounded to f32 on a GPU) and, without NaNs, the rank filter's rank 0
/// or n − 1.
fn check_extremum<T: gpix::RankValue>(
    (h, w, c): (usize, usize, usize),
    data: &[T],
    kind: Extremum,
    window: &Footprint,
    border: Border,
) {
    let image = ImageView::new(data, h, w, c).unwrap();
    let want = gpix::extremum_filter_reference(image, kind, window, border).unwrap();
    let nan = data.iter().any(|v| v.into_f64().is_nan());
    // (NaNs: the GPU's extremum is the rank pass's, NaNs largest.)
    for (device, gpu) in devices(w, c, window.size()[0]) {
        if gpu && nan {
            continue;
        }
        let got = gpix::extremum_filter(&device, image, kind, window, border).unwrap();
        for (i, (&a, &b)) in got.data().iter().zip(want.data()).enumerate() {
            let b = if gpu {
                f64::from(b as f32)
            } else {
                T::from_cval(b).map_or(b, |v| v.into_f64())
            };
            assert!(
                same(a.into_f64(), b),
                "{device:?} {kind:?} {window:?} {border:?} value {i}: {} vs {b}",
                a.into_f64()
            );
        }
    }
    if !nan {
        let rank = match kind {
            Extremum::Minimum => Rank::Index(0),
            Extremum::Maximum => Rank::Index(-1),
        };
        let ranked = gpix::rank_filter_reference(image, rank, window, border).unwrap();
        assert_eq!(ranked.data(), want.data());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    /// Minimum and maximum over any footprint (grey erosion / dilation):
    /// reference ≡ CPU (runs of doubling levels) ≡ GPU ≡ GPU in bands,
    /// exactly, f64, f32, u8, u16, i16, every mode and origin; NaNs skipped
    /// on the CPU.
    #[test]
    fn footprint_extremum_filters_agree(
        (h, w, c) in (0usize..=9, 0usize..=12, 1usize..=3),
        seed in any::<u64>(),
        (window, _, origin) in footprint_case(),
        mode in mode_strategy(),
        nans in any::<bool>(),
    ) {
        let mut rng = gpix::synth::Rng::new(seed);
        let data: Vec<f64> = (0..h * w * c).map(|_| (rng.next_u64() >> 11) as f64 / 9e12 - 500.0).collect();
        let border = Border::from(mode).with_origin(origin);
        let unsigned = Border::from(match mode {
            BoundaryMode::Constant(v) => BoundaryMode::Constant(v.abs()),
            m => m,
        }).with_origin(origin);
        for kind in [Extremum::Minimum, Extremum::Maximum] {
            check_extremum((h, w, c), &data, kind, &window, border);
            let mut floats: Vec<f32> = data.iter().map(|&v| v as f32).collect();
            if nans {
                for (i, v) in floats.iter_mut().enumerate() {
                    if (i as u64 ^ seed).is_multiple_of(3) {
                        *v = f32::NAN;
                    }
                }
            }
            check_extremum((h, w, c), &floats, kind, &window, border);
            let bytes: Vec<u8> = data.iter().map(|&v| v.rem_euclid(256.0) as u8).collect();
            check_extremum((h, w, c), &bytes, kind, &window, unsigned);
            let words: Vec<u16> = data.iter().map(|&v| (v * 100.0).rem_euclid(65536.0) as u16).collect();
            check_extremum((h, w, c), &words, kind, &window, unsigned);
            let signed: Vec<i16> = data.iter().map(|&v| (v * 60.0) as i16).collect();
            check_extremum((h, w, c), &signed, kind, &window, border);
        }
    }
}

/// Footprint extrema over many rows and columns (the ring of levels wraps
/// many times; blocks of rows per worker), runs longer than 64 (seven
/// doubling levels), images narrower than the footprint, several
/// channels, scipy's numbers, and the refusals.
#[test]
fn large_footprint_extrema_agree() {
    let cross = Footprint::from_mask(
        (0..3 * 71).map(|p| p % 71 == 35 || p / 71 == 1).collect(),
        3,
        71,
    )
    .unwrap();
    for (h, w, c, window) in [
        (150, 140, 2, Footprint::disk(7)),
        (90, 130, 1, Footprint::disk(20)),
        (60, 200, 1, cross),
        (70, 3, 2, Footprint::disk(4)),
    ] {
        let data = values(h * w * c, (h * w + c) as u64);
        let floats: Vec<f32> = data.iter().map(|&v| v as f32).collect();
        let bytes: Vec<u8> = data.iter().map(|&v| ((v + 0.5) * 255.0) as u8).collect();
        for kind in [Extremum::Minimum, Extremum::Maximum] {
            for mode in [
                BoundaryMode::Mirror,
                BoundaryMode::Wrap,
                BoundaryMode::Constant(0.25),
            ] {
                let border = Border::from(mode).with_origin([1, -2]);
                if mode == BoundaryMode::Wrap {
                    check_extremum((h, w, c), &data, kind, &window, border);
                }
                check_extremum((h, w, c), &floats, kind, &window, border);
                let whole = Border::from(match mode {
                    BoundaryMode::Constant(_) => BoundaryMode::Constant(7.0),
                    m => m,
                });
                check_extremum((h, w, c), &bytes, kind, &window, whole);
            }
        }
    }
    // scipy: minimum_filter(a, footprint=[[0,1,0],[1,1,1],[0,1,0]], mode='reflect'),
    // maximum_filter(a, footprint=[[1,0,1],[0,1,0]], mode='constant', cval=-1, origin=(0,-1)),
    // maximum_filter(a, footprint=[[1,1],[0,1],[1,0]], mode='wrap').
    let a = [
        1.0f64, 5.0, 2.0, 7.0, 0.0, 3.0, 4.0, 9.0, 7.0, 6.0, 8.0, 2.0,
    ];
    let image = ImageView::new(&a, 3, 4, 1).unwrap();
    let mask = |m: &[u8], rows, cols| {
        Footprint::from_mask(m.iter().map(|&v| v == 1).collect(), rows, cols).unwrap()
    };
    let run = |kind, window: Footprint, border: Border| {
        gpix::extremum_filter(&Device::Cpu, image, kind, &window, border)
            .unwrap()
            .data()
            .to_vec()
    };
    assert_eq!(
        run(
            Extremum::Minimum,
            mask(&[0, 1, 0, 1, 1, 1, 0, 1, 0], 3, 3),
            BoundaryMode::Reflect.into()
        ),
        [0.0, 1.0, 2.0, 2.0, 0.0, 0.0, 2.0, 2.0, 0.0, 3.0, 2.0, 2.0]
    );
    assert_eq!(
        run(
            Extremum::Maximum,
            mask(&[1, 0, 1, 0, 1, 0], 2, 3),
            Border::from(BoundaryMode::Constant(-1.0)).with_origin([0, -1])
        ),
        [5.0, 2.0, 7.0, -1.0, 3.0, 7.0, 9.0, 7.0, 6.0, 9.0, 4.0, 9.0]
    );
    assert_eq!(
        run(
            Extremum::Maximum,
            mask(&[1, 1, 0, 1, 1, 0], 3, 2),
            BoundaryMode::Wrap.into()
        ),
        [9.0, 7.0, 8.0, 8.0, 7.0, 7.0, 6.0, 9.0, 9.0, 6.0, 8.0, 9.0]
    );
    let refused = |window: Footprint, border: Border, what: &str| {
        let e = gpix::minimum_filter(&Device::Cpu, image, &window, border)
            .unwrap_err()
            .to_string();
        assert!(e.contains(what), "{e}");
    };
    refused(
        mask(&[0, 0, 0, 0], 2, 2),
        BoundaryMode::Reflect.into(),
        "marks no position",
    );
    refused(
        Footprint::from_mask(vec![], 0, 3).unwrap(),
        BoundaryMode::Reflect.into(),
        "marks no position",
    );
    refused(
        Footprint::disk(1),
        Border::per_axis(BoundaryMode::Reflect, BoundaryMode::Wrap),
        "one mode",
    );
    refused(
        Footprint::disk(1),
        Border::from(BoundaryMode::Reflect).with_origin([2, 0]),
        "origin",
    );
}

/// A random footprint marking at least one position, a rank of its marked
/// values and an origin in scipy's range.
fn footprint_case() -> impl Strategy<Value = (Footprint, Rank, [isize; 2])> {
    [1usize..=8, 1usize..=8]
        .prop_flat_map(|[ny, nx]| {
            (
                Just([ny, nx]),
                prop::collection::vec(prop::bool::weighted(0.6), ny * nx),
                0..ny * nx,
            )
        })
        .prop_flat_map(|([ny, nx], mut mask, forced)| {
            mask[forced] = true;
            let window = Footprint::from_mask(mask, ny, nx).unwrap();
            let n = window.len();
            (Just(window), rank_strategy(n), origin_strategy([ny, nx]))
        })
}

/// A deterministic sequence in [-0.5, 0.5) with some exact repeats.
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|i| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if i % 7 == 3 {
                0.25
            } else {
                (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            }
        })
        .collect()
}

/// Images of many tiles (whole and cut ones, several channels), windows
/// wider than a tile's default side, and on the GPU windows longer than
/// its 48-tap blocks.
#[test]
fn large_rank_windows_agree() {
    for (h, w, c, size, rank) in [
        (150, 140, 2, [15, 15], Rank::Median),
        (70, 200, 1, [3, 3], Rank::Percentile(25.0)),
        (3, 300, 1, [1, 101], Rank::Index(17)),
        (130, 5, 3, [50, 3], Rank::Median),
        (60, 90, 1, [9, 60], Rank::Index(-5)),
    ] {
        let data = values(h * w * c, (h * w + c) as u64);
        let image = ImageView::new(&data, h, w, c).unwrap();
        for mode in [BoundaryMode::Reflect, BoundaryMode::Constant(0.25)] {
            let want = gpix::rank_filter_reference(image, rank, size, mode).unwrap();
            let got = gpix::rank_filter(&Device::Cpu, image, rank, size, mode).unwrap();
            assert_eq!(got.data(), want.data(), "{size:?} {rank:?} {mode:?}");
            #[cfg(feature = "gpu")]
            if let Some(ctx) = common::gpu() {
                let got =
                    gpix::rank_filter(&Device::Gpu(ctx.clone()), image, rank, size, mode).unwrap();
                let want: Vec<f64> = want.data().iter().map(|&v| f64::from(v as f32)).collect();
                assert_eq!(got.data(), want, "gpu {size:?} {rank:?} {mode:?}");
            }
        }
    }
}

/// The 3×3 and 5×5 medians (written-out networks, a group of outputs at a
/// time plus a tail) for every type, over widths around the group sizes,
/// several channels and every mode, and another rank of the same windows
/// (the built network).
#[test]
fn small_window_medians_agree() {
    for (h, w, c) in [(9, 1, 1), (7, 33, 1), (5, 17, 3), (12, 70, 2)] {
        let data = values(h * w * c, (w * 31 + c) as u64);
        let f32s: Vec<f32> = data.iter().map(|&v| v as f32).collect();
        let bytes: Vec<u8> = data.iter().map(|&v| ((v + 0.5) * 255.0) as u8).collect();
        let words: Vec<u16> = data.iter().map(|&v| ((v + 0.5) * 65535.0) as u16).collect();
        let signed: Vec<i16> = data.iter().map(|&v| (v * 60000.0) as i16).collect();
        for size in [[3, 3], [5, 5]] {
            for rank in [Rank::Median, Rank::Index(3)] {
                for mode in [
                    BoundaryMode::Reflect,
                    BoundaryMode::Wrap,
                    BoundaryMode::Constant(2.0),
                ] {
                    let border = Border::from(mode);
                    check((h, w, c), &data, rank, size, border);
                    check((h, w, c), &f32s, rank, size, border);
                    check((h, w, c), &bytes, rank, size, border);
                    check((h, w, c), &words, rank, size, border);
                    check((h, w, c), &signed, rank, size, border);
                }
            }
        }
    }
}

/// NaNs sort above every number on every device: the median of a window
/// with more NaNs than numbers is NaN, with fewer a number; the largest
/// rank is NaN where a NaN is in the window; the smallest skips them.
#[test]
fn rank_filters_put_nans_last() {
    let (h, w, c) = (23, 31, 2);
    let data: Vec<f32> = (0..h * w * c)
        .map(|i| {
            if (i * 7919) % 13 < 5 {
                f32::NAN
            } else {
                ((i * 2654435761) % 1000) as f32 / 10.0 - 50.0
            }
        })
        .collect();
    let image = ImageView::new(&data, h, w, c).unwrap();
    for rank in [
        Rank::Median,
        Rank::Index(0),
        Rank::Index(-1),
        Rank::Percentile(80.0),
    ] {
        for mode in [BoundaryMode::Reflect, BoundaryMode::Constant(f64::NAN)] {
            let want = gpix::rank_filter_reference(image, rank, [3, 4], mode).unwrap();
            // The smallest rank finds a number in every window here.
            let nans = want.data().iter().any(|v| v.is_nan());
            assert_eq!(nans, rank != Rank::Index(0), "{rank:?} {mode:?}");
            for (device, _) in devices(w, c, 3) {
                let got = gpix::rank_filter(&device, image, rank, [3, 4], mode).unwrap();
                for (i, (&a, &b)) in got.data().iter().zip(want.data()).enumerate() {
                    assert!(
                        same(f64::from(a), b),
                        "{device:?} {rank:?} {mode:?} value {i}: {a} vs {b}"
                    );
                }
            }
        }
    }
    // A NaN constant alone (the largest and smallest ranks must not take
    // the extremum filters' NaN skipping, nor a GPU's min/max of a NaN).
    let clean: Vec<f32> = (0..6 * 7).map(|i| (i * 37 % 11) as f32).collect();
    let image = ImageView::new(&clean, 6, 7, 1).unwrap();
    for rank in [Rank::Index(0), Rank::Index(-1), Rank::Percentile(100.0)] {
        let mode = BoundaryMode::Constant(f64::NAN);
        let want = gpix::rank_filter_reference(image, rank, [3, 3], mode).unwrap();
        for (device, _) in devices(7, 1, 3) {
            let got = gpix::rank_filter(&device, image, rank, [3, 3], mode).unwrap();
            for (i, (&a, &b)) in got.data().iter().zip(want.data()).enumerate() {
                assert!(
                    same(f64::from(a), b),
                    "{device:?} {rank:?} value {i}: {a} vs {b}"
                );
            }
        }
    }
    // The median of [NaN, 1, NaN] is NaN; of [1, NaN, 2] it is 2.
    let row = [f64::NAN, 1.0, f64::NAN, 2.0];
    let got = gpix::median_filter(
        &Device::Cpu,
        ImageView::new(&row, 1, 4, 1).unwrap(),
        [1, 3],
        BoundaryMode::Nearest,
    )
    .unwrap();
    assert!(got.data()[0].is_nan() && got.data()[1].is_nan());
    assert_eq!(got.data()[2], 2.0);
}

/// Footprints over images of many tiles, windows wider than a tile's
/// default side, and on the GPU footprints longer than its 48-tap blocks.
#[test]
fn large_footprints_agree() {
    let ring = {
        let d = Footprint::disk(6);
        let inner = Footprint::disk(3);
        let mask = (0..13 * 13)
            .map(|p| {
                let (i, j) = (p / 13, p % 13);
                d.contains(i, j) && !(i >= 3 && j >= 3 && inner.contains(i - 3, j - 3))
            })
            .collect();
        Footprint::from_mask(mask, 13, 13).unwrap()
    };
    let cross = Footprint::from_mask(
        (0..3 * 61).map(|p| p % 61 == 30 || p / 61 == 1).collect(),
        3,
        61,
    )
    .unwrap();
    for (h, w, c, window, rank) in [
        (150, 140, 2, Footprint::disk(7), Rank::Median),
        (70, 130, 1, ring, Rank::Percentile(25.0)),
        (40, 90, 1, cross, Rank::Index(-5)),
        (100, 70, 1, Footprint::disk(1), Rank::Index(0)),
        (100, 70, 1, Footprint::disk(2), Rank::Index(-1)),
    ] {
        let data = values(h * w * c, (h * w + c) as u64);
        let image = ImageView::new(&data, h, w, c).unwrap();
        for mode in [BoundaryMode::Mirror, BoundaryMode::Constant(0.25)] {
            let want = gpix::rank_filter_reference(image, rank, &window, mode).unwrap();
            let got = gpix::rank_filter(&Device::Cpu, image, rank, &window, mode).unwrap();
            assert_eq!(got.data(), want.data(), "{window:?} {rank:?} {mode:?}");
            #[cfg(feature = "gpu")]
            if let Some(ctx) = common::gpu() {
                let got = gpix::rank_filter(&Device::Gpu(ctx.clone()), image, rank, &window, mode)
                    .unwrap();
                let want: Vec<f64> = want.data().iter().map(|&v| f64::from(v as f32)).collect();
                assert_eq!(got.data(), want, "gpu {window:?} {rank:?} {mode:?}");
            }
        }
    }
}

/// scipy's own numbers:
/// `median_filter(a, size=3, mode='reflect')`,
/// `rank_filter(a, rank=-2, size=(2, 3), mode='constant', cval=-1)`,
/// `percentile_filter(a, percentile=30, size=(3, 2), mode='wrap', origin=(0, -1))`,
/// `median_filter(a, size=(2, 2), mode='mirror')`,
/// `rank_filter(a, rank=1, size=(1, 3), mode='nearest')`.
#[test]
fn rank_filters_match_scipy() {
    let a = [
        1.0f64, 5.0, 2.0, 7.0, 0.0, 3.0, 4.0, 9.0, 7.0, 6.0, 8.0, 2.0,
    ];
    let image = ImageView::new(&a, 3, 4, 1).unwrap();
    let run = |rank, size: Footprint, border: Border| {
        for device in devices(4, 1, 3).into_iter().map(|d| d.0) {
            let got = gpix::rank_filter(&device, image, rank, &size, border).unwrap();
            assert_eq!(
                got.data(),
                gpix::rank_filter(&Device::Cpu, image, rank, &size, border)
                    .unwrap()
                    .data()
            );
        }
        gpix::rank_filter(&Device::Cpu, image, rank, &size, border)
            .unwrap()
            .data()
            .to_vec()
    };
    assert_eq!(
        run(Rank::Median, [3, 3].into(), BoundaryMode::Reflect.into()),
        [1.0, 2.0, 5.0, 7.0, 3.0, 4.0, 5.0, 7.0, 6.0, 6.0, 6.0, 4.0]
    );
    assert_eq!(
        run(
            Rank::Index(-2),
            [2, 3].into(),
            BoundaryMode::Constant(-1.0).into()
        ),
        [1.0, 2.0, 5.0, 2.0, 3.0, 4.0, 7.0, 7.0, 6.0, 7.0, 8.0, 8.0]
    );
    assert_eq!(
        run(
            Rank::Percentile(30.0),
            [3, 2].into(),
            Border::from(BoundaryMode::Wrap).with_origin([0, -1])
        ),
        [1.0, 3.0, 2.0, 1.0, 1.0, 3.0, 2.0, 1.0, 1.0, 3.0, 2.0, 1.0]
    );
    assert_eq!(
        run(Rank::Median, [2, 2].into(), BoundaryMode::Mirror.into()),
        [3.0, 3.0, 4.0, 7.0, 3.0, 3.0, 4.0, 7.0, 6.0, 6.0, 6.0, 8.0]
    );
    assert_eq!(
        run(Rank::Index(1), [1, 3].into(), BoundaryMode::Nearest.into()),
        [1.0, 2.0, 5.0, 7.0, 0.0, 3.0, 4.0, 9.0, 7.0, 7.0, 6.0, 2.0]
    );
    // With footprints:
    // `median_filter(a, footprint=[[0,1,0],[1,1,1],[0,1,0]], mode='reflect')`,
    // `rank_filter(a, 1, footprint=[[1,0,1],[0,1,0]], mode='constant', cval=-1, origin=(0,-1))`,
    // `percentile_filter(a, 60, footprint=[[1,1],[0,1],[1,0]], mode='wrap')`.
    let mask = |m: &[u8], rows, cols| {
        Footprint::from_mask(m.iter().map(|&v| v == 1).collect(), rows, cols).unwrap()
    };
    let plus = mask(&[0, 1, 0, 1, 1, 1, 0, 1, 0], 3, 3);
    let corners = mask(&[1, 0, 1, 0, 1, 0], 2, 3);
    let steps = mask(&[1, 1, 0, 1, 1, 0], 3, 2);
    assert_eq!(
        run(Rank::Median, plus, BoundaryMode::Reflect.into()),
        [1.0, 3.0, 4.0, 7.0, 1.0, 4.0, 4.0, 7.0, 7.0, 6.0, 6.0, 2.0]
    );
    assert_eq!(
        run(
            Rank::Index(1),
            corners,
            Border::from(BoundaryMode::Constant(-1.0)).with_origin([0, -1])
        ),
        [-1.0, -1.0, -1.0, -1.0, 2.0, 5.0, 2.0, -1.0, 4.0, 8.0, 2.0, -1.0]
    );
    assert_eq!(
        run(Rank::Percentile(60.0), steps, BoundaryMode::Wrap.into()),
        [7.0, 6.0, 6.0, 7.0, 2.0, 5.0, 5.0, 8.0, 7.0, 3.0, 5.0, 4.0]
    );
}

/// scipy's rules for ranks and percentiles, and clear refusals.
#[test]
fn rank_arguments_follow_scipy() {
    assert_eq!(Rank::Median.resolve(9).unwrap(), 4);
    assert_eq!(Rank::Median.resolve(4).unwrap(), 2);
    assert_eq!(Rank::Index(-1).resolve(9).unwrap(), 8);
    assert_eq!(Rank::Percentile(100.0).resolve(9).unwrap(), 8);
    assert_eq!(Rank::Percentile(-100.0).resolve(9).unwrap(), 0);
    assert_eq!(Rank::Percentile(50.0).resolve(9).unwrap(), 4);
    assert_eq!(Rank::Percentile(-25.0).resolve(10).unwrap(), 7);
    for (rank, n) in [
        (Rank::Index(9), 9),
        (Rank::Index(-10), 9),
        (Rank::Percentile(100.5), 9),
        (Rank::Percentile(-100.5), 9),
        (Rank::Percentile(f64::NAN), 9),
    ] {
        let e = rank.resolve(n).unwrap_err().to_string();
        assert!(e.contains("rank") || e.contains("percentile"), "{e}");
    }
    let data = [1u8, 2, 3, 4];
    let image = ImageView::new(&data, 2, 2, 1).unwrap();
    let refused = |size, border: Border, what: &str| {
        let e = gpix::median_filter(&Device::Cpu, image, size, border)
            .unwrap_err()
            .to_string();
        assert!(e.contains(what), "{e}");
        assert!(!e.contains('\n'), "{e}");
    };
    refused([0, 3], BoundaryMode::Reflect.into(), "at least 1");
    refused(
        [3, 3],
        Border::per_axis(BoundaryMode::Reflect, BoundaryMode::Wrap),
        "one mode",
    );
    refused(
        [3, 3],
        Border::from(BoundaryMode::Reflect).with_origin([2, 0]),
        "origin",
    );
    refused(
        [3, 3],
        BoundaryMode::Constant(0.5).into(),
        "not a uint8 value",
    );
    refused([usize::MAX, 3], BoundaryMode::Reflect.into(), "more values");
    refused(
        [1 << 40, 1 << 40],
        BoundaryMode::Reflect.into(),
        "more values",
    );
    let e = gpix::percentile_filter(&Device::Cpu, image, 101.0, [3, 3], BoundaryMode::Reflect)
        .unwrap_err();
    assert!(e.to_string().contains("percentile 101"), "{e}");
}
