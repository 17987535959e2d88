//! `gpix gradient` and `gpix hessian`: numpy's numbers bit for bit through
//! the CLI, the optional outputs, the GPU within the float32 bound, and
//! every bad input (clear error, exit code, nothing written).

mod common;

use std::path::{Path, PathBuf};

use common::cli::{dtype_of, f64s, fails, gpix, run, s};
use gpix::io::npy::write_npy;

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/diff")
        .join(format!("{name}.npy"))
}

#[test]
fn gradient_and_hessian_are_numpy_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = golden("input");
    for e in ["1", "2"] {
        let (dy, dx) = (d.join("dy.npy"), d.join("dx.npy"));
        run(&[
            "--device",
            "cpu",
            "gradient",
            s(&x),
            "--dy",
            s(&dy),
            "--dx",
            s(&dx),
            "--spacing",
            "0.5,2",
            "--edge-order",
            e,
        ]);
        assert_eq!(f64s(&dy), f64s(&golden(&format!("grad_e{e}_dy"))));
        assert_eq!(f64s(&dx), f64s(&golden(&format!("grad_e{e}_dx"))));
        let (dyy, dxy, dxx) = (d.join("dyy.npy"), d.join("dxy.npy"), d.join("dxx.npy"));
        run(&[
            "--device",
            "cpu",
            "hessian",
            s(&x),
            "--dyy",
            s(&dyy),
            "--dxy",
            s(&dxy),
            "--dxx",
            s(&dxx),
            "--spacing",
            "0.5,2",
            "--edge-order",
            e,
        ]);
        assert_eq!(f64s(&dyy), f64s(&golden(&format!("hess_e{e}_dyy"))));
        assert_eq!(f64s(&dxy), f64s(&golden(&format!("hess_e{e}_dxy"))));
        assert_eq!(f64s(&dxx), f64s(&golden(&format!("hess_e{e}_dxx"))));
    }
}

#[test]
fn optional_outputs_magnitude_eigen_interior_and_compact() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = golden("input");
    let (mag, e1, e2, inner, compact) = (
        d.join("mag.npy"),
        d.join("e1.npy"),
        d.join("e2.npy"),
        d.join("inner.npy"),
        d.join("compact.npy"),
    );
    run(&[
        "--device",
        "cpu",
        "gradient",
        s(&x),
        "--magnitude",
        s(&mag),
        "--spacing",
        "0.5,2",
    ]);
    let (_, dy) = f64s(&golden("grad_e1_dy"));
    let (_, dx) = f64s(&golden("grad_e1_dx"));
    let (shape, m) = f64s(&mag);
    assert_eq!(shape, [7, 9, 2]);
    for ((m, a), b) in m.iter().zip(&dy).zip(&dx) {
        assert_eq!(*m, (a * a + b * b).sqrt());
    }
    let eig = format!("{},{}", s(&e1), s(&e2));
    run(&[
        "--device",
        "cpu",
        "hessian",
        s(&x),
        "--eigen",
        &eig,
        "--spacing",
        "0.5,2",
    ]);
    let (_, l1) = f64s(&e1);
    let (_, l2) = f64s(&e2);
    let (_, yy) = f64s(&golden("hess_e1_dyy"));
    let (_, xx) = f64s(&golden("hess_e1_dxx"));
    for i in 0..l1.len() {
        assert!(l1[i] >= l2[i]);
        assert!((l1[i] + l2[i] - yy[i] - xx[i]).abs() < 1e-9);
    }
    run(&[
        "--device",
        "cpu",
        "gradient",
        s(&x),
        "--dy",
        s(&inner),
        "--interior-only",
    ]);
    // The loop users start from: central differences inside, 0 on the
    // whole one-pixel frame.
    let (shape, v) = f64s(&inner);
    let (_, xv) = f64s(&x);
    let (h, w, c) = (shape[0], shape[1], shape.get(2).copied().unwrap_or(1));
    for y in 0..h {
        for xx in 0..w {
            for ch in 0..c {
                let at = |y: usize| xv[(y * w + xx) * c + ch];
                let inside = y > 0 && xx > 0 && y + 1 < h && xx + 1 < w;
                let want = if inside {
                    (at(y + 1) - at(y - 1)) / 2.0
                } else {
                    0.0
                };
                assert_eq!(v[(y * w + xx) * c + ch], want, "({y}, {xx}, {ch})");
            }
        }
    }
    run(&[
        "--device",
        "cpu",
        "hessian",
        s(&x),
        "--dyy",
        s(&compact),
        "--stencil",
        "compact",
    ]);
    let (_, second) = f64s(&compact);
    let row = w * c;
    let i = row + c; // (1, 1, channel 0)
    assert_eq!(second[i], xv[i + row] - 2.0 * xv[i] + xv[i - row]);
}

#[test]
fn gpu_runs_within_the_float32_bound() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dyy.npy");
    let mut cmd = gpix();
    cmd.args([
        "--device",
        "gpu",
        "hessian",
        s(&golden("input")),
        "--dyy",
        s(&out),
        "--edge-order",
        "2",
        "--spacing",
        "0.5,2",
    ]);
    cmd.env("GPIX_BAND_BYTES", "600");
    assert!(cmd.output().unwrap().status.success());
    let (_, got) = f64s(&out);
    let (_, want) = f64s(&golden("hess_e2_dyy"));
    let top = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    for (a, b) in got.iter().zip(&want) {
        assert!((a - b).abs() <= 1e-5 * top, "{a} vs {b}");
    }
}

/// One axis only (numpy.gradient(axis=…)): a (1, N) row differentiated
/// along x needs only its columns to be long enough, with --dx alone or
/// --axis x; --axis refuses outputs along the other axis.
#[test]
fn one_axis_needs_only_that_axis_long_enough() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let row = d.join("row.npy");
    let v = [1.0f64, 4.0, 9.0, 16.0, 25.0];
    write_npy(std::fs::File::create(&row).unwrap(), &[1, 5], &v).unwrap();
    let out = d.join("dx.npy");
    // numpy.gradient([1, 4, 9, 16, 25]): one-sided ends, central inside.
    let want = [3.0, 4.0, 6.0, 8.0, 9.0];
    for extra in [&[][..], &["--axis", "x"]] {
        let mut args = vec!["--device", "cpu", "gradient", s(&row), "--dx", s(&out)];
        args.extend(extra);
        run(&args);
        let (shape, got) = f64s(&out);
        assert_eq!((shape, got), (vec![1, 5], want.to_vec()));
        std::fs::remove_file(&out).unwrap();
    }
    let (row, out) = (s(&row), s(&out));
    fails(&["gradient", row, "--axis", "x", "--dy", out], d, "--dy", 2);
    fails(
        &["gradient", row, "--axis", "y", "--magnitude", out],
        d,
        "--magnitude",
        2,
    );
    fails(
        &["gradient", row, "--axis", "y", "--dy", out],
        d,
        "along y",
        1,
    );
}

#[test]
fn bad_inputs_are_errors_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let row = d.join("row.npy");
    write_npy(std::fs::File::create(&row).unwrap(), &[1, 5], &[1.0f64; 5]).unwrap();
    let two = d.join("two.npy");
    write_npy(std::fs::File::create(&two).unwrap(), &[2, 5], &[1.0f64; 10]).unwrap();
    let out = d.join("out.npy");
    let (row, two, out) = (s(&row), s(&two), s(&out));
    fails(&["gradient", row, "--dy", out], d, "edge_order + 1", 1);
    fails(
        &["gradient", two, "--dy", out, "--edge-order", "2"],
        d,
        "edge_order + 1",
        1,
    );
    fails(
        &["gradient", two, "--dy", out, "--edge-order", "3"],
        d,
        "edge-order",
        2,
    );
    fails(
        &["gradient", two, "--dy", out, "--spacing", "0"],
        d,
        "spacing",
        2,
    );
    fails(&["gradient", two], d, "--dy", 2);
    fails(&["hessian", two, "--eigen", out], d, "two files", 2);
    fails(&["hessian", row, "--dyy", out], d, "edge_order + 1", 1);
    fails(
        &["gradient", two, "--dy", &format!("{}/o.png", d.display())],
        d,
        ".npy",
        1,
    );
    fails(
        &[
            "gradient",
            &format!("{}/missing.npy", d.display()),
            "--dy",
            out,
        ],
        d,
        "missing.npy",
        1,
    );
    std::fs::write(d.join("out.npy"), b"keep").unwrap();
    fails(&["gradient", row, "--dy", out], d, "edge_order + 1", 1);
    assert_eq!(std::fs::read(d.join("out.npy")).unwrap(), b"keep");
}

/// `--coords-y/--coords-x`: numpy.gradient with coordinate arrays, bit for
/// bit on the CPU (float64, float32 and integer coordinate files, the
/// Hessian too), the GPU within the float32 bound; bad files are one-line
/// errors naming the file.
#[test]
fn coordinates_from_files_are_numpy_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = golden("input");
    let (cy, cx) = (golden("coords_y"), golden("coords_x"));
    for e in ["1", "2"] {
        let (dy, dx) = (d.join("dy.npy"), d.join("dx.npy"));
        let coords = [
            "--coords-y",
            s(&cy),
            "--coords-x",
            s(&cx),
            "--edge-order",
            e,
        ];
        let mut args = vec![
            "--device",
            "cpu",
            "gradient",
            s(&x),
            "--dy",
            s(&dy),
            "--dx",
            s(&dx),
        ];
        args.extend(coords);
        run(&args);
        assert_eq!(f64s(&dy), f64s(&golden(&format!("gradc_e{e}_dy"))));
        assert_eq!(f64s(&dx), f64s(&golden(&format!("gradc_e{e}_dx"))));
        let dxy = d.join("dxy.npy");
        let mut args = vec!["--device", "cpu", "hessian", s(&x), "--dxy", s(&dxy)];
        args.extend(coords);
        run(&args);
        assert_eq!(f64s(&dxy), f64s(&golden(&format!("hessc_e{e}_dxy"))));
        // float32 coordinates along y, evenly spaced ones along x.
        let (cy32, even) = (golden("coords_y_f32"), golden("coords_x_even"));
        let mix = [
            "--coords-y",
            s(&cy32),
            "--coords-x",
            s(&even),
            "--edge-order",
            e,
        ];
        let mut args = vec![
            "--device",
            "cpu",
            "gradient",
            s(&x),
            "--dy",
            s(&dy),
            "--dx",
            s(&dx),
        ];
        args.extend(mix);
        run(&args);
        assert_eq!(f64s(&dy), f64s(&golden(&format!("gradcmix_e{e}_dy"))));
        assert_eq!(f64s(&dx), f64s(&golden(&format!("gradcmix_e{e}_dx"))));
        let ints = golden("coords_x_int");
        let ints = s(&ints);
        let args = [
            "--device",
            "cpu",
            "gradient",
            s(&x),
            "--dx",
            s(&dx),
            "--coords-x",
            ints,
            "--edge-order",
            e,
        ];
        run(&args);
        assert_eq!(f64s(&dx), f64s(&golden(&format!("gradcint_e{e}_dx"))));
        if common::gpu().is_some() {
            let mut args = vec!["--device", "gpu", "gradient", s(&x), "--dy", s(&dy)];
            args.extend(coords);
            run(&args);
            let (_, got) = f64s(&dy);
            let (_, want) = f64s(&golden(&format!("gradc_e{e}_dy")));
            let top = want.iter().fold(0f64, |m, v| m.max(v.abs()));
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() <= 1e-5 * top, "{a} vs {b}");
            }
        }
    }
    let out = d.join("out.npy");
    let short = d.join("short.npy");
    write_npy(
        std::fs::File::create(&short).unwrap(),
        &[3],
        &[0.0f64, 1.0, 2.0],
    )
    .unwrap();
    let square = d.join("square.npy");
    write_npy(
        std::fs::File::create(&square).unwrap(),
        &[3, 3],
        &[0.0f64; 9],
    )
    .unwrap();
    let repeat = d.join("repeat.npy");
    let rep: Vec<f64> = (0..9).map(|i| f64::from(i.min(4))).collect();
    write_npy(std::fs::File::create(&repeat).unwrap(), &[9], &rep).unwrap();
    let (x, out) = (s(&x), s(&out));
    fails(
        &["gradient", x, "--dy", out, "--coords-y", s(&short)],
        d,
        "short.npy: 3 coordinates for an input of 7 rows",
        1,
    );
    fails(
        &["gradient", x, "--dx", out, "--coords-x", s(&square)],
        d,
        "square.npy: coordinates must be a 1-D array",
        1,
    );
    fails(
        &["gradient", x, "--dx", out, "--coords-x", s(&repeat)],
        d,
        "repeat",
        1,
    );
    fails(
        &[
            "gradient",
            x,
            "--dx",
            out,
            "--coords-x",
            &format!("{}/none.npy", d.display()),
        ],
        d,
        "none.npy",
        1,
    );
    fails(
        &[
            "hessian",
            x,
            "--dyy",
            out,
            "--stencil",
            "compact",
            "--coords-y",
            s(&cy),
        ],
        d,
        "compact",
        2,
    );
}

/// float16 input: computed as float32 and written back as float16, numpy's
/// result dtype; within one float16 rounding of numpy's own float16
/// arithmetic (golden files), CPU and GPU.
#[test]
fn float16_gradients_are_written_as_float16() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (dy, dx) = (d.join("dy.npy"), d.join("dx.npy"));
    let mut devices = vec!["cpu"];
    if common::gpu().is_some() {
        devices.push("gpu");
    }
    for device in devices {
        for e in ["1", "2"] {
            run(&[
                "--device",
                device,
                "gradient",
                s(&golden("input_f16")),
                "--dy",
                s(&dy),
                "--dx",
                s(&dx),
                "--spacing",
                "0.5,2",
                "--edge-order",
                e,
            ]);
            for (got, axis) in [(&dy, "dy"), (&dx, "dx")] {
                assert_eq!(dtype_of(got), "float16");
                let (shape, g) = f64s(got);
                let (want_shape, w) = f64s(&golden(&format!("grad16_e{e}_{axis}")));
                assert_eq!(shape, want_shape);
                let top = w.iter().fold(0f64, |m, v| m.max(v.abs()));
                for (a, b) in g.iter().zip(&w) {
                    // float16 keeps 11 bits: numpy's float16 steps round at
                    // every operation, gpix's float32 ones once.
                    assert!(
                        (a - b).abs() <= 4e-3 * top,
                        "{device} {axis} e{e}: {a} vs {b}"
                    );
                }
            }
        }
    }
    let h = d.join("h.npy");
    run(&[
        "--device",
        "cpu",
        "hessian",
        s(&golden("input_f16")),
        "--dxy",
        s(&h),
    ]);
    assert_eq!(dtype_of(&h), "float16");
}

/// Empty arrays: an axis not differentiated may have length 0 (numpy's
/// empty result of the right shape and dtype); a differentiated one may not.
#[test]
fn empty_arrays_along_the_other_axis_give_empty_results() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("e.npy");
    write_npy(std::fs::File::create(&input).unwrap(), &[2, 0], &[0f32; 0]).unwrap();
    let out = d.join("out.npy");
    run(&["--device", "cpu", "gradient", s(&input), "--dy", s(&out)]);
    assert_eq!(f64s(&out), (vec![2, 0], vec![]));
    assert_eq!(dtype_of(&out), "float32");
    std::fs::remove_file(&out).unwrap();
    fails(
        &["gradient", s(&input), "--dx", s(&out)],
        d,
        "edge_order + 1",
        1,
    );
    fails(
        &["hessian", s(&input), "--dyy", s(&out)],
        d,
        "edge_order + 1",
        1,
    );
}
