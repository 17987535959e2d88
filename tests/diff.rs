//! Gradient and Hessian: numpy's numbers bit for bit (golden files), the fast
//! CPU path ≡ the reference exactly, the GPU (one band and tiny bands) within
//! the float32 bound, every shape from 2×N / 3×N up, both edge orders,
//! spacings and channels; too-small arrays are errors.

mod common;

use gpix::io::npy::{read_npy, NpyData};
use gpix::{
    gradient, gradient_into, gradient_reference, hessian, hessian_into, hessian_reference,
    Coordinates, Device, FilterValue, GradientOptions, GradientOut, HessianOptions, HessianOut,
    ImageView, Stencil,
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

type Case = (usize, usize, usize, Vec<f64>, GradientOptions<'static>);

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
                    ..GradientOptions::default()
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
            ..GradientOptions::default()
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
                ..GradientOptions::default()
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
            ..GradientOptions::default()
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
            ..GradientOptions::default()
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

fn golden32(name: &str) -> Vec<f32> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/diff")
        .join(format!("{name}.npy"));
    match read_npy(&path, 1 << 30).unwrap().data {
        NpyData::F32(v) => v,
        _ => panic!("{name}: float32 expected"),
    }
}

fn golden_i64(name: &str) -> Vec<f64> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/diff")
        .join(format!("{name}.npy"));
    match read_npy(&path, 1 << 30).unwrap().data {
        NpyData::I64(v) => v.into_iter().map(|x| x as f64).collect(),
        _ => panic!("{name}: int64 expected"),
    }
}

/// numpy.gradient with coordinate arrays (tests/data/make_diff_golden.py):
/// uneven, evenly spaced (numpy's scalar branch), float32 and integer
/// coordinates, float32 data; bit for bit on the CPU, the GPU within f32.
#[test]
fn coordinates_are_numpy_bit_for_bit() {
    let (shape, x) = golden("input");
    let image = ImageView::new(&x, shape[0], shape[1], shape[2]).unwrap();
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let image32 = ImageView::new(&x32, shape[0], shape[1], shape[2]).unwrap();
    let (cy, cx) = (golden("coords_y").1, golden("coords_x").1);
    let even = golden("coords_x_even").1;
    let cy32 = golden32("coords_y_f32");
    let cxi = golden_i64("coords_x_int");
    for edge in [1u8, 2] {
        let g = GradientOptions {
            coordinates: [Some(Coordinates::F64(&cy)), Some(Coordinates::F64(&cx))],
            edge_order: edge,
            ..GradientOptions::default()
        };
        let grad = gradient(&Device::Cpu, image, &g).unwrap();
        assert_eq!(
            grad.dy.data(),
            golden(&format!("gradc_e{edge}_dy")).1,
            "dy e{edge}"
        );
        assert_eq!(
            grad.dx.data(),
            golden(&format!("gradc_e{edge}_dx")).1,
            "dx e{edge}"
        );
        let o = HessianOptions {
            gradient: g,
            stencil: Stencil::Gradient,
        };
        let hess = hessian(&Device::Cpu, image, &o).unwrap();
        for (term, got) in [("dyy", &hess.dyy), ("dxy", &hess.dxy), ("dxx", &hess.dxx)] {
            assert_eq!(
                got.data(),
                golden(&format!("hessc_e{edge}_{term}")).1,
                "{term} e{edge}"
            );
        }
        // float32 data, float64 coordinates: numpy computes in float64.
        let grad32 = gradient(&Device::Cpu, image32, &g).unwrap();
        assert_eq!(
            grad32.dy.data(),
            golden32(&format!("gradc32_e{edge}_dy")),
            "f32 dy e{edge}"
        );
        assert_eq!(
            grad32.dx.data(),
            golden32(&format!("gradc32_e{edge}_dx")),
            "f32 dx e{edge}"
        );
        // float32 coordinates (float32 coefficients) and evenly spaced ones.
        let mix = GradientOptions {
            coordinates: [Some(Coordinates::F32(&cy32)), Some(Coordinates::F64(&even))],
            ..g
        };
        let got = gradient(&Device::Cpu, image, &mix).unwrap();
        assert_eq!(
            got.dy.data(),
            golden(&format!("gradcmix_e{edge}_dy")).1,
            "mix dy e{edge}"
        );
        assert_eq!(
            got.dx.data(),
            golden(&format!("gradcmix_e{edge}_dx")).1,
            "mix dx e{edge}"
        );
        // Integer coordinates are float64 ones; only x differentiated.
        let int = GradientOptions {
            coordinates: [None, Some(Coordinates::F64(&cxi))],
            ..g
        };
        let mut dx = vec![0.0; x.len()];
        gradient_into(
            &Device::Cpu,
            image,
            &int,
            GradientOut {
                dx: Some(&mut dx),
                ..GradientOut::default()
            },
        )
        .unwrap();
        assert_eq!(
            dx,
            golden(&format!("gradcint_e{edge}_dx")).1,
            "int dx e{edge}"
        );
        for device in gpu_devices(shape[1], shape[2]) {
            for (opts, name) in [(&g, "gradc"), (&mix, "gradcmix")] {
                let got = gradient(&device, image32, opts).unwrap();
                for (axis, out) in [("dy", &got.dy), ("dx", &got.dx)] {
                    let want = golden(&format!("{name}_e{edge}_{axis}")).1;
                    let tol = 1e-5 * max_abs(&want);
                    for (a, b) in out.data().iter().zip(&want) {
                        assert!(
                            (f64::from(*a) - b).abs() <= tol,
                            "{device:?} {name} {axis}: {a} vs {b}"
                        );
                    }
                }
            }
            let got = hessian(&device, image32, &o).unwrap();
            for (term, out) in [("dyy", &got.dyy), ("dxy", &got.dxy), ("dxx", &got.dxx)] {
                let want = golden(&format!("hessc_e{edge}_{term}")).1;
                let tol = 1e-5 * max_abs(&want);
                for (a, b) in out.data().iter().zip(&want) {
                    assert!(
                        (f64::from(*a) - b).abs() <= tol,
                        "{device:?} {term}: {a} vs {b}"
                    );
                }
            }
        }
    }
}

/// A coordinate case: shape, values, edge order, interior-only, and per
/// axis coordinates (uneven, evenly spaced or descending) or a spacing.
type CoordCase = (
    usize,
    usize,
    usize,
    Vec<f64>,
    u8,
    bool,
    [Option<Vec<f64>>; 2],
);

fn axis_coords(n: usize) -> impl Strategy<Value = Option<Vec<f64>>> {
    prop_oneof![
        Just(None),
        (
            prop::collection::vec(0.2f64..3.0, n),
            any::<bool>(),
            -5.0f64..5.0
        )
            .prop_map(move |(steps, down, start)| {
                let sign = if down { -1.0 } else { 1.0 };
                Some(
                    steps
                        .iter()
                        .scan(start, |x, s| {
                            *x += sign * s;
                            Some(*x)
                        })
                        .collect(),
                )
            }),
        (0.25f64..2.0).prop_map(move |h| Some((0..n).map(|i| 1.0 + i as f64 * h).collect())),
    ]
}

fn coord_case() -> impl Strategy<Value = CoordCase> {
    (1u8..=2, 0usize..=4, 0usize..=4, 1usize..=2, any::<bool>()).prop_flat_map(
        |(edge, eh, ew, c, interior)| {
            let (h, w) = (usize::from(edge) + 1 + eh, usize::from(edge) + 1 + ew);
            (
                Just(h),
                Just(w),
                Just(c),
                prop::collection::vec(-10.0f64..10.0, h * w * c),
                Just(edge),
                Just(interior),
                (axis_coords(h), axis_coords(w)).prop_map(|(a, b)| [a, b]),
            )
        },
    )
}

/// The smallest neighbour distance of the case's axes (for the f32 bound).
fn min_step(coords: &[Option<Vec<f64>>; 2]) -> f64 {
    coords
        .iter()
        .flatten()
        .flat_map(|c| c.windows(2).map(|p| (p[1] - p[0]).abs()))
        .fold(1.0, f64::min)
}

fn check_coordinates(case: &CoordCase) {
    let (h, w, c, values, edge, interior_only, coords) = case;
    let g = GradientOptions {
        coordinates: [0, 1].map(|k| coords[k].as_deref().map(Coordinates::F64)),
        edge_order: *edge,
        interior_only: *interior_only,
        ..GradientOptions::default()
    };
    let image = ImageView::new(values, *h, *w, *c).unwrap();
    let want = gradient_reference(image, &g).unwrap();
    assert_eq!(gradient(&Device::Cpu, image, &g).unwrap(), want);
    let o = HessianOptions {
        gradient: g,
        stencil: Stencil::Gradient,
    };
    let want_h = hessian_reference(image, &o).unwrap();
    assert_eq!(hessian(&Device::Cpu, image, &o).unwrap(), want_h);
    let step = min_step(coords);
    let tol1 = 1e-5 * max_abs(values) / step;
    let tol2 = tol1 / step;
    let v32: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    let i32v = ImageView::new(&v32, *h, *w, *c).unwrap();
    let mut devices = vec![Device::Cpu];
    devices.extend(gpu_devices(*w, *c));
    for device in devices {
        let got = gradient(&device, i32v, &g).unwrap();
        for (name, a, b) in [("dy", &got.dy, &want.dy), ("dx", &got.dx, &want.dx)] {
            for (x, y) in a.data().iter().zip(b.data()) {
                assert!(
                    (f64::from(*x) - y).abs() <= tol1,
                    "{device:?} {name}: {x} vs {y}"
                );
            }
        }
        let got = hessian(&device, i32v, &o).unwrap();
        for (a, b) in [
            (&got.dyy, &want_h.dyy),
            (&got.dxy, &want_h.dxy),
            (&got.dxx, &want_h.dxx),
        ] {
            for (x, y) in a.data().iter().zip(b.data()) {
                assert!(
                    (f64::from(*x) - y).abs() <= tol2,
                    "{device:?} hessian: {x} vs {y}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    /// Coordinates: the fast CPU path is the reference bit for bit in
    /// float64; float32 and the GPU (one band, tiny bands) within f32.
    #[test]
    fn coordinate_gradients_agree(case in coord_case()) {
        check_coordinates(&case);
    }
}

#[test]
fn bad_coordinates_are_errors() {
    let data = [1.0f64, 2.0, 4.0, 8.0, 16.0, 32.0];
    let image = ImageView::new(&data, 2, 3, 1).unwrap();
    fn with<'a>(y: Option<&'a [f64]>, x: Option<&'a [f64]>) -> GradientOptions<'a> {
        GradientOptions {
            coordinates: [y.map(Coordinates::F64), x.map(Coordinates::F64)],
            ..GradientOptions::default()
        }
    }
    let err = |o: &GradientOptions<'_>| gradient(&Device::Cpu, image, o).unwrap_err().to_string();
    assert!(err(&with(None, Some(&[0.0, 1.0]))).contains("2 values for an axis of length 3"));
    assert!(err(&with(None, Some(&[0.0, 1.0, 1.0]))).contains("repeat"));
    assert!(err(&with(Some(&[0.0, f64::NAN]), None)).contains("finite"));
    let ok = with(Some(&[0.0, 0.5]), Some(&[0.0, 1.0, 3.0]));
    assert!(gradient(&Device::Cpu, image, &ok).is_ok());
    let compact = HessianOptions {
        gradient: ok,
        stencil: Stencil::Compact,
    };
    let e = hessian(&Device::Cpu, image, &compact)
        .unwrap_err()
        .to_string();
    assert!(e.contains("compact"), "{e}");
}

/// A coordinate axis of one position (not differentiated, or interior-only)
/// is accepted on every device, as on the CPU.
#[test]
fn one_position_coordinate_axes_work_everywhere() {
    let data: Vec<f64> = (0..5).map(|i| f64::from(i * i)).collect();
    let (c1, c5) = ([2.0f64], [0.0f64, 1.0, 3.0, 4.0, 7.0]);
    // numpy.gradient(np.arange(5.0)**2, c5)
    let want = [1.0, 7.0 / 6.0, 23.0 / 6.0, 13.0 / 3.0, 7.0 / 3.0];
    let mut devices = vec![Device::Cpu];
    devices.extend(gpu_devices(5, 1));
    for device in devices {
        let column = ImageView::new(&data, 5, 1, 1).unwrap();
        let o = GradientOptions {
            coordinates: [Some(Coordinates::F64(&c5)), Some(Coordinates::F64(&c1))],
            ..GradientOptions::default()
        };
        let mut dy = vec![0.0; 5];
        let out = GradientOut {
            dy: Some(&mut dy),
            ..GradientOut::default()
        };
        gradient_into(&device, column, &o, out).unwrap();
        for (a, b) in dy.iter().zip(want) {
            assert!((a - b).abs() <= 1e-5, "{device:?}: {a} vs {b}");
        }
        let row = ImageView::new(&data, 1, 5, 1).unwrap();
        let o = GradientOptions {
            coordinates: [Some(Coordinates::F64(&c1)), Some(Coordinates::F64(&c5))],
            interior_only: true,
            ..GradientOptions::default()
        };
        let g = gradient(&device, row, &o).unwrap();
        assert!(
            g.dx.data().iter().all(|v| *v == 0.0),
            "{device:?}: a 1-row frame is all border"
        );
    }
}
