//! Grey morphology (scipy.ndimage's grey_erosion … black_tophat):
//! reference ≡ CPU ≡ GPU for boxes and footprints, every mode and origin;
//! scipy's own numbers, integer differences wrapping as numpy's.

mod common;

use gpix::{Border, BoundaryMode, Device, Footprint, ImageView, Morphology};
use proptest::prelude::*;

const OPS: [Morphology; 7] = [
    Morphology::Erosion,
    Morphology::Dilation,
    Morphology::Opening,
    Morphology::Closing,
    Morphology::Gradient,
    Morphology::WhiteTophat,
    Morphology::BlackTophat,
];

/// CPU, GPU, and GPU with bands of a few rows of `w × c` values for a
/// window `ky` rows tall.
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

/// A window: a box of 1..=5 a side, or a random footprint marking one
/// position at least; an origin in scipy's range.
fn window() -> impl Strategy<Value = (Footprint, [isize; 2])> {
    ([1usize..=5, 1usize..=5], any::<u64>(), any::<bool>()).prop_flat_map(
        |([ny, nx], seed, boxed)| {
            let window = if boxed {
                Footprint::rectangle([ny, nx])
            } else {
                let mut rng = gpix::synth::Rng::new(seed);
                let mut mask: Vec<bool> = (0..ny * nx)
                    .map(|_| !rng.next_u64().is_multiple_of(3))
                    .collect();
                mask[seed as usize % (ny * nx)] = true;
                Footprint::from_mask(mask, ny, nx).unwrap()
            };
            let origin = [ny, nx].map(|n| {
                let n = n as isize;
                -(n / 2)..=(n - 1) / 2
            });
            (Just(window), origin)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    /// Every operation: f32 ≡ the reference on the CPU, a GPU and a GPU in
    /// bands of a few rows (a GPU: its f32
    /// rounding per step), u8 ≡ the reference wrapped as numpy wraps.
    #[test]
    fn grey_morphology_agrees(
        (h, w, c) in (0usize..=8, 0usize..=8, 1usize..=2),
        seed in any::<u64>(),
        (window, origin) in window(),
        mode in prop_oneof![
            Just(BoundaryMode::Reflect), Just(BoundaryMode::Mirror), Just(BoundaryMode::Nearest),
            Just(BoundaryMode::Wrap), Just(BoundaryMode::Constant(7.0))
        ],
    ) {
        let mut rng = gpix::synth::Rng::new(seed);
        let bytes: Vec<u8> = (0..h * w * c).map(|_| rng.next_u64() as u8).collect();
        let floats: Vec<f32> = bytes.iter().map(|&b| f32::from(b) * 0.75 - 40.0).collect();
        let border = Border::from(mode).with_origin(origin);
        for op in OPS {
            let image = ImageView::new(&floats, h, w, c).unwrap();
            let want = gpix::grey_morphology_reference(image, op, &window, border).unwrap();
            for (device, _) in devices(w, c, window.size()[0]) {
                let got = gpix::grey_morphology(&device, image, op, &window, border).unwrap();
                let got: Vec<f64> = got.data().iter().map(|&v| f64::from(v)).collect();
                // Every step's result is an input (f32 exact); differences
                // of two f32 values in f32 round once.
                let want: Vec<f64> = want.data().iter().map(|&v| f64::from(v as f32)).collect();
                prop_assert_eq!(&got, &want, "{:?} {:?} {:?} {:?}", device, op, window, border);
            }
            let image = ImageView::new(&bytes, h, w, c).unwrap();
            let want = gpix::grey_morphology_reference(image, op, &window, border).unwrap();
            let wrapped: Vec<u8> = want.data().iter().map(|&v| (v as i64).rem_euclid(256) as u8).collect();
            let got = gpix::grey_morphology(&Device::Cpu, image, op, &window, border).unwrap();
            prop_assert_eq!(got.data(), &wrapped[..], "u8 {:?} {:?} {:?}", op, window, border);
        }
    }
}

/// scipy's own numbers:
/// `grey_dilation(a, footprint=[[1,0],[1,1]], mode='reflect')`,
/// `grey_opening(a, size=(2,3), mode='mirror')`,
/// `black_tophat(a, footprint=[[0,1,0],[1,1,1],[0,1,0]], mode='constant', cval=4)`,
/// `white_tophat(b, footprint=[[1,0,1]], mode='wrap')` of uint8 (wrapping).
#[test]
fn grey_morphology_matches_scipy() {
    let a = [
        1.0f64, 5.0, 2.0, 7.0, 0.0, 3.0, 4.0, 9.0, 7.0, 6.0, 8.0, 2.0,
    ];
    let image = ImageView::new(&a, 3, 4, 1).unwrap();
    let run = |op, window: Footprint, mode: BoundaryMode| {
        for (device, _) in devices(4, 1, window.size()[0]) {
            let got = gpix::grey_morphology(&device, image, op, &window, mode).unwrap();
            let cpu = gpix::grey_morphology(&Device::Cpu, image, op, &window, mode).unwrap();
            assert_eq!(got.data(), cpu.data(), "{device:?} {op:?}");
        }
        gpix::grey_morphology(&Device::Cpu, image, op, &window, mode)
            .unwrap()
            .data()
            .to_vec()
    };
    let mask = |m: &[u8], rows, cols| {
        Footprint::from_mask(m.iter().map(|&v| v == 1).collect(), rows, cols).unwrap()
    };
    assert_eq!(
        run(
            Morphology::Dilation,
            mask(&[1, 0, 1, 1], 2, 2),
            BoundaryMode::Reflect
        ),
        [5.0, 5.0, 9.0, 9.0, 6.0, 8.0, 9.0, 9.0, 7.0, 8.0, 8.0, 2.0]
    );
    assert_eq!(
        run(Morphology::Opening, [2, 3].into(), BoundaryMode::Mirror),
        [0.0, 2.0, 2.0, 2.0, 0.0, 2.0, 2.0, 2.0, 0.0, 2.0, 2.0, 2.0]
    );
    assert_eq!(
        run(
            Morphology::BlackTophat,
            mask(&[0, 1, 0, 1, 1, 1, 0, 1, 0], 3, 3),
            BoundaryMode::Constant(4.0)
        ),
        [3.0, -1.0, 2.0, -3.0, 4.0, 2.0, 2.0, -5.0, -3.0, -2.0, -4.0, 2.0]
    );
    let b = [3u8, 200, 7, 9, 250, 1];
    let got = gpix::grey_morphology(
        &Device::Cpu,
        ImageView::new(&b, 2, 3, 1).unwrap(),
        Morphology::WhiteTophat,
        mask(&[1, 0, 1], 1, 3),
        BoundaryMode::Wrap,
    )
    .unwrap();
    assert_eq!(got.data(), [0, 193, 0, 0, 241, 0]);
}
