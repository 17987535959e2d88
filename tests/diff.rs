//! Gradient and Hessian: numpy's numbers bit for bit (golden files), the fast
//! CPU path ≡ the reference exactly, the GPU (one band and tiny bands) within
//! the float32 bound, every shape from 2×N / 3×N up, both edge orders,
//! spacings and channels; too-small arrays are errors.

mod common;

use gpix::io::npy::{read_npy, NpyData};
use gpix::{
    gradient, gradient_into, gradient_reference, hessian, hessian_into, hessian_reference, Device,
    FilterValue, GradientOptions, GradientOut, HessianOptions, HessianOut, ImageView, Stencil,
};
use proptest::prelude::*;

fn gpu_devices(w: usize, c: usize) -> Vec<Device> {
    let mut out = Vec::new();
    #[cfg(feature = "gpu")]
    if let Some(ctx) = common::gpu() {
        out.push(Device::Gpu(ctx.clone()));
        // Seven input rows: one output row per band plus its halos.
        let row = (w * c * 4) as u64;
        out.push(Device::Gpu(ctx.with_band_budget(row * 8 + 8)));
    }
    #[cfg(not(feature = "gpu"))]
    let _ = (w, c);
    out
}

type Case = (usize, usize, usize, Vec<f64>, GradientOptions);

fn case() -> impl Strategy<Value = Case> {
    (1u8..=2, 0usize..=3, 0usize..=3, 1usize..=3).prop_flat_map(|(edge, eh, ew, c)| {
        // At least edge_order + 1 rows and columns: 2×N and 3×N included.
        let (h, w) = (
            usize::from(edge) + 1 + eh * 2,
            usize::from(edge) + 1 + ew * 3,
        );
        (
            Just(h),
            Just(w),
            Just(c),
            prop::collection::vec(-100.0f64..100.0, h * w * c),
            (0.1f64..3.0, 0.1f64..3.0, any::<bool>()).prop_map(move |(hy, hx, interior_only)| {
                GradientOptions {
                    spacing: [hy, hx],
                    edge_order: edge,
                    interior_only,
                }
            }),
        )
    })
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(1e-30f64, |m, x| m.max(x.abs()))
}

fn check_gradient(case: &Case) {
    let (h, w, c, values, o) = case;
    let image = ImageView::new(values, *h, *w, *c).unwrap();
    let want = gradient_reference(image, o).unwrap();
    // float64 on the CPU: numpy's operations, bit for bit.
    let got = gradient(&Device::Cpu, image, o).unwrap();
    assert_eq!(got, want);
    // float32 on the CPU: the reference in f32, bit for bit too.
    let v32: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    let i32v = ImageView::new(&v32, *h, *w, *c).unwrap();
    assert_eq!(
        gradient(&Device::Cpu, i32v, o).unwrap(),
        gradient_reference(i32v, o).unwrap()
    );
    // Magnitude in the same pass.
    let mut mag = vec![0f64; values.len()];
    gradient_into(
        &Device::Cpu,
        image,
        o,
        GradientOut {
            magnitude: Some(&mut mag),
            ..GradientOut::default()
        },
    )
    .unwrap();
    for ((m, a), b) in mag.iter().zip(want.dy.data()).zip(want.dx.data()) {
        assert_eq!(*m, (a * a + b * b).sqrt());
    }
    // The GPU in f32: within 1e-5 of the largest derivative.
    let scale = max_abs(want.dy.data()).max(max_abs(want.dx.data()));
    for device in gpu_devices(*w, *c) {
        let got = gradient(&device, i32v, o).unwrap();
        for (a, b) in got.dy.data().iter().zip(want.dy.data()) {
            assert!(
                (a.to_f64() - b).abs() <= 1e-5 * scale,
                "{device:?} dy: {a} vs {b}"
            );
        }
        for (a, b) in got.dx.data().iter().zip(want.dx.data()) {
            assert!(
                (a.to_f64() - b).abs() <= 1e-5 * scale,
                "{device:?} dx: {a} vs {b}"
            );
        }
    }
}

fn check_hessian(case: &Case, stencil: Stencil) {
    let (h, w, c, values, g) = case;
    let o = HessianOptions {
        gradient: *g,
        stencil,
    };
    let image = ImageView::new(values, *h, *w, *c).unwrap();
    let want = hessian_reference(image, &o).unwrap();
    assert_eq!(hessian(&Device::Cpu, image, &o).unwrap(), want);
    let v32: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    let i32v = ImageView::new(&v32, *h, *w, *c).unwrap();
    assert_eq!(
        hessian(&Device::Cpu, i32v, &o).unwrap(),
        hessian_reference(i32v, &o).unwrap()
    );
    let scale = [&want.dyy, &want.dxy, &want.dxx]
        .iter()
        .fold(1e-30f64, |m, t| m.max(max_abs(t.data())));
    // Eigenvalues: larger first, trace and determinant kept.
    let (mut e1, mut e2) = (vec![0f64; values.len()], vec![0f64; values.len()]);
    hessian_into(
        &Device::Cpu,
        image,
        &o,
        HessianOut {
            eigen: Some((&mut e1, &mut e2)),
            ..HessianOut::default()
        },
    )
    .unwrap();
    for i in 0..values.len() {
        let (a, b, d) = (want.dyy.data()[i], want.dxy.data()[i], want.dxx.data()[i]);
        assert!(e1[i] >= e2[i]);
        assert!((e1[i] + e2[i] - (a + d)).abs() <= 1e-9 * scale);
        assert!((e1[i] * e2[i] - (a * d - b * b)).abs() <= 1e-9 * scale * scale);
    }
    for device in gpu_devices(*w, *c) {
        let got = hessian(&device, i32v, &o).unwrap();
        for (t, (g, r)) in [
            (&got.dyy, &want.dyy),
            (&got.dxy, &want.dxy),
            (&got.dxx, &want.dxx),
        ]
        .into_iter()
        .enumerate()
        {
            for (a, b) in g.data().iter().zip(r.data()) {
                assert!(
                    (a.to_f64() - b).abs() <= 1e-5 * scale,
                    "{device:?} {stencil:?} term {t}: {a} vs {b}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    #[test]
    fn gradients_agree(case in case()) {
        check_gradient(&case);
    }

    #[test]
    fn hessians_agree(case in case(), compact in any::<bool>()) {
        check_hessian(&case, if compact { Stencil::Compact } else { Stencil::Gradient });
    }
}

/// Rows of 40+ values per task and many rows: the parallel blocks and the
/// dy ring of the fused Hessian, against the reference.
#[test]
fn larger_arrays_agree() {
    let (h, w) = (67, 45);
    let mut rng = gpix::synth::Rng::new(4);
    let values: Vec<f64> = (0..h * w).map(|_| rng.next_f64()).collect();
    for edge_order in [1, 2] {
        let g = GradientOptions {
            spacing: [0.7, 1.3],
            edge_order,
            interior_only: false,
        };
        check_gradient(&(h, w, 1, values.clone(), g));
        check_hessian(&(h, w, 1, values.clone(), g), Stencil::Gradient);
    }
}

/// Outputs over 64 MiB take the streaming-store path (spacing 1 and 0.5:
/// exact inverses), odd widths so rows start at every alignment: still the
/// reference bit for bit, in both float types.
#[test]
fn huge_outputs_stream_the_same_numbers() {
    fn check<T: FilterValue>(h: usize, w: usize, c: usize) {
        let mut rng = gpix::synth::Rng::new(9);
        let values: Vec<T> = (0..h * w * c)
            .map(|_| T::from_f64(rng.next_f64()))
            .collect();
        let image = ImageView::new(&values, h, w, c).unwrap();
        for spacing in [[1.0, 1.0], [0.5, 2.0], [0.3, 1.0]] {
            let o = GradientOptions {
                spacing,
                edge_order: 1,
                interior_only: false,
            };
            let want = gradient_reference(image, &o).unwrap();
            let got = gradient(&Device::Cpu, image, &o).unwrap();
            assert!(got.dy.data() == want.dy.data(), "dy, spacing {spacing:?}");
            assert!(got.dx.data() == want.dx.data(), "dx, spacing {spacing:?}");
        }
    }
    check::<f64>(2049, 4097, 1);
    check::<f32>(1365, 4099, 3);
}

fn golden(name: &str) -> (Vec<usize>, Vec<f64>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/diff")
        .join(format!("{name}.npy"));
    let a = read_npy(&path, 1 << 30).unwrap();
    let NpyData::F64(v) = a.data else {
        panic!("{name}: float64 expected")
    };
    (a.shape, v)
}

/// numpy.gradient's own numbers (tests/data/make_diff_golden.py), bit for bit.
#[test]
fn float64_is_numpy_bit_for_bit() {
    let (shape, x) = golden("input");
    let image = ImageView::new(&x, shape[0], shape[1], shape[2]).unwrap();
    for edge in [1u8, 2] {
        let g = GradientOptions {
            spacing: [0.5, 2.0],
            edge_order: edge,
            interior_only: false,
        };
        let grad = gradient(&Device::Cpu, image, &g).unwrap();
        assert_eq!(
            grad.dy.data(),
            golden(&format!("grad_e{edge}_dy")).1,
            "dy e{edge}"
        );
        assert_eq!(
            grad.dx.data(),
            golden(&format!("grad_e{edge}_dx")).1,
            "dx e{edge}"
        );
        let o = HessianOptions {
            gradient: g,
            stencil: Stencil::Gradient,
        };
        let hess = hessian(&Device::Cpu, image, &o).unwrap();
        assert_eq!(
            hess.dyy.data(),
            golden(&format!("hess_e{edge}_dyy")).1,
            "dyy e{edge}"
        );
        assert_eq!(
            hess.dxy.data(),
            golden(&format!("hess_e{edge}_dxy")).1,
            "dxy e{edge}"
        );
        assert_eq!(
            hess.dxx.data(),
            golden(&format!("hess_e{edge}_dxx")).1,
            "dxx e{edge}"
        );
    }
}

#[test]
fn too_small_arrays_are_errors_as_in_numpy() {
    let data = [1.0f64; 6];
    let g1 = GradientOptions::default();
    let g2 = GradientOptions {
        edge_order: 2,
        ..g1
    };
    let one_row = ImageView::new(&data, 1, 6, 1).unwrap();
    let two_rows = ImageView::new(&data, 2, 3, 1).unwrap();
    let err = gradient(&Device::Cpu, one_row, &g1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("edge_order + 1"), "{err}");
    assert!(gradient(&Device::Cpu, two_rows, &g1).is_ok());
    assert!(gradient(&Device::Cpu, two_rows, &g2).is_err());
    assert!(hessian(&Device::Cpu, one_row, &HessianOptions::default()).is_err());
    // Interior-only and the compact stencil take any size.
    let interior = GradientOptions {
        interior_only: true,
        ..g1
    };
    assert!(gradient(&Device::Cpu, one_row, &interior).is_ok());
    let compact = HessianOptions {
        stencil: Stencil::Compact,
        ..HessianOptions::default()
    };
    assert!(hessian(&Device::Cpu, one_row, &compact).is_ok());
    let bad = GradientOptions {
        edge_order: 3,
        ..g1
    };
    assert!(gradient(&Device::Cpu, two_rows, &bad).is_err());
    let zero = GradientOptions {
        spacing: [0.0, 1.0],
        ..g1
    };
    assert!(gradient(&Device::Cpu, two_rows, &zero).is_err());
}

/// `interior_only` is the loop users start from,
/// `for i in 1..h-1: for j in 1..w-1: dy[i,j] = (f[i+1,j] - f[i-1,j]) / 2hy`
/// (and dx likewise): every output, magnitude included, is 0 on the whole
/// one-pixel frame, on every path and at every size (1×1 and 1×N too).
#[test]
fn interior_only_is_the_hand_written_loop() {
    for (h, w, c) in [
        (1, 1, 1),
        (1, 5, 1),
        (2, 2, 2),
        (3, 3, 1),
        (5, 5, 1),
        (6, 9, 3),
    ] {
        let values: Vec<f64> = (0..h * w * c)
            .map(|i| ((i * 7919) % 101) as f64 * 0.37 - 9.0)
            .collect();
        let image = ImageView::new(&values, h, w, c).unwrap();
        let o = GradientOptions {
            spacing: [0.5, 2.0],
            edge_order: 1,
            interior_only: true,
        };
        let (mut dy, mut dx) = (vec![0.0; values.len()], vec![0.0; values.len()]);
        for y in 1..h.saturating_sub(1) {
            for x in 1..w.saturating_sub(1) {
                for ch in 0..c {
                    let at = |y: usize, x: usize| values[(y * w + x) * c + ch];
                    dy[(y * w + x) * c + ch] = (at(y + 1, x) - at(y - 1, x)) / 1.0;
                    dx[(y * w + x) * c + ch] = (at(y, x + 1) - at(y, x - 1)) / 4.0;
                }
            }
        }
        let want = gradient_reference(image, &o).unwrap();
        assert_eq!(want.dy.data(), &dy[..], "reference dy {h}×{w}×{c}");
        assert_eq!(want.dx.data(), &dx[..], "reference dx {h}×{w}×{c}");
        let mut devices = vec![Device::Cpu];
        devices.extend(gpu_devices(w, c));
        for device in devices {
            let mut mag = vec![1.0; values.len()];
            let got = gradient(&device, image, &o).unwrap();
            gradient_into(
                &device,
                image,
                &o,
                GradientOut {
                    magnitude: Some(&mut mag),
                    ..GradientOut::default()
                },
            )
            .unwrap();
            for (i, ((a, b), m)) in got
                .dy
                .data()
                .iter()
                .zip(got.dx.data())
                .zip(&mag)
                .enumerate()
            {
                let (p, ch) = (i / c, i % c);
                let (y, x) = (p / w, p % w);
                if y == 0 || x == 0 || y + 1 == h || x + 1 == w {
                    assert_eq!(
                        (*a, *b, *m),
                        (0.0, 0.0, 0.0),
                        "{device:?} frame ({y}, {x}, {ch})"
                    );
                } else {
                    let tol = 1e-5 * max_abs(&values);
                    assert!((a - dy[i]).abs() <= tol, "{device:?} dy ({y}, {x}, {ch})");
                    assert!((b - dx[i]).abs() <= tol, "{device:?} dx ({y}, {x}, {ch})");
                }
            }
        }
    }
}
