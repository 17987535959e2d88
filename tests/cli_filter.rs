//! `gpix filter …` and `gpix stats`: scipy's numbers through the CLI (golden
//! files of tests/data/filter), image files in and out, and every bad input
//! (clear error, exit code, nothing written).

mod common;

use std::path::{Path, PathBuf};

use common::cli::{dtype_of, f64s, fails, run, s};
use gpix::io::npy::{read_npy, write_npy, NpyData};

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/filter")
        .join(format!("{name}.npy"))
}

fn assert_close(got: &Path, want: &Path, tol: f64) {
    let (gs, g) = f64s(got);
    let (ws, w) = f64s(want);
    assert_eq!(gs, ws);
    let top = w.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
    for (a, b) in g.iter().zip(&w) {
        assert!((a - b).abs() <= tol * top, "{}: {a} vs {b}", got.display());
    }
}

/// `--device` values with the tolerance against scipy's float64 goldens:
/// the CPU, and the GPU (f32) where there is one.
fn devices() -> Vec<(&'static str, f64)> {
    let mut devices = vec![("cpu", 1e-12)];
    if common::gpu().is_some() {
        devices.push(("gpu", 2e-5));
    }
    devices
}

#[test]
fn filters_match_scipy_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let input = golden("input");
    let out = dir.path().join("out.npy");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "filter".into(),
                "uniform".into(),
                "--size".into(),
                "4,2".into(),
                "--mode".into(),
                "mirror".into(),
            ],
            "uniform_mirror_4x2",
        ),
        (
            vec![
                "filter".into(),
                "convolve".into(),
                "--kernel".into(),
                s(&golden("kernel_4x6")).into(),
                "--mode".into(),
                "constant".into(),
                "--cval".into(),
                "0.5".into(),
            ],
            "convolve_constant_4x6",
        ),
        (
            vec![
                "filter".into(),
                "correlate".into(),
                "--kernel".into(),
                s(&golden("kernel_13x2")).into(),
                "--mode".into(),
                "wrap".into(),
            ],
            "correlate_wrap_13x2",
        ),
        (
            vec![
                "filter".into(),
                "gaussian".into(),
                "--sigma".into(),
                "1.5,0.8".into(),
                "--truncate".into(),
                "3".into(),
                "--mode".into(),
                "nearest".into(),
            ],
            "gaussian_nearest",
        ),
    ];
    for (args, want) in cases {
        let mut full: Vec<&str> = vec!["--device", "cpu"];
        full.extend(args.iter().take(2).map(String::as_str));
        full.extend([s(&input), s(&out)]);
        full.extend(args.iter().skip(2).map(String::as_str));
        run(&full);
        // float64 in, float64 out, scipy's numbers.
        assert_close(&out, &golden(want), 1e-10);
    }
    let var = dir.path().join("var.npy");
    run(&[
        "--device",
        "cpu",
        "stats",
        s(&input),
        "--size",
        "5,4",
        "--var",
        s(&var),
    ]);
    assert_close(&var, &golden("var_reflect"), 1e-10);
}

/// The Gaussian family through the CLI: derivative orders, an explicit
/// radius, Laplace, gradient magnitude and difference of Gaussians (its
/// default: σ2 = 1.6 σ1, mode nearest, as skimage), on the CPU in float64
/// and on the GPU within the float32 bound.
#[test]
fn gaussian_family_matches_scipy_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let input = golden("input");
    let out = dir.path().join("out.npy");
    let sigma = ["--sigma", "1.5,0.8", "--truncate", "3"];
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "gaussian",
            [&sigma[..], &["--order", "2,3", "--mode", "wrap"]].concat(),
            "gaussian_order23_wrap",
        ),
        (
            "gaussian",
            [
                &sigma[..],
                &["--order", "1,0", "--mode", "constant", "--cval", "0.5"],
            ]
            .concat(),
            "gaussian_order10_constant",
        ),
        (
            "gaussian",
            vec!["--sigma", "1.5,0.8", "--order", "1,0", "--radius", "2,5"],
            "gaussian_radius_reflect",
        ),
        (
            "gaussian-laplace",
            [&sigma[..], &["--mode", "mirror"]].concat(),
            "laplace_mirror",
        ),
        (
            "gaussian-gradient-magnitude",
            [&sigma[..], &["--mode", "nearest"]].concat(),
            "gradmag_nearest",
        ),
        (
            "dog",
            vec![
                "--sigma1",
                "1",
                "--sigma2",
                "2.5",
                "--truncate",
                "3",
                "--mode",
                "reflect",
            ],
            "dog_reflect",
        ),
        ("dog", vec!["--sigma1", "1.2"], "dog_default"),
    ];
    let gpu = common::gpu().is_some();
    for (op, args, want) in cases {
        for (device, tol) in [("cpu", 1e-10), ("gpu", 2e-5)] {
            if device == "gpu" && !gpu {
                continue;
            }
            let mut full = vec!["--device", device, "filter", op, s(&input), s(&out)];
            full.extend(&args);
            run(&full);
            assert_close(&out, &golden(want), tol);
        }
    }
    let d = dir.path();
    let x = s(&input);
    let o = s(&out);
    std::fs::remove_file(&out).unwrap();
    fails(
        &["filter", "gaussian", x, o, "--sigma", "1", "--order", "4"],
        d,
        "order",
        2,
    );
    fails(
        &["filter", "gaussian", x, o, "--sigma", "1", "--radius=-1"],
        d,
        "radius",
        2,
    );
    fails(&["filter", "dog", x, o], d, "required", 2);
}

#[test]
fn gpu_results_are_within_the_float32_bound() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.npy");
    run(&[
        "--device",
        "gpu",
        "-v",
        "filter",
        "uniform",
        s(&golden("input")),
        s(&out),
        "--size",
        "4,2",
        "--mode",
        "mirror",
    ]);
    assert_close(&out, &golden("uniform_mirror_4x2"), 2e-5);
}

#[test]
fn gabor_matches_skimage_and_magnitude_combines_both_parts() {
    let dir = tempfile::tempdir().unwrap();
    // Channel 0 of the golden input as a (H, W) array.
    let (shape, x) = f64s(&golden("input"));
    let first: Vec<f64> = x.chunks(shape[2]).map(|p| p[0]).collect();
    let input = dir.path().join("x.npy");
    write_npy(std::fs::File::create(&input).unwrap(), &shape[..2], &first).unwrap();
    let gabor = |part: &str, out: &Path| {
        run(&[
            "--device",
            "cpu",
            "filter",
            "gabor",
            s(&input),
            s(out),
            "--frequency",
            "0.2",
            "--theta",
            "0.6",
            "--sigma-x",
            "1.5",
            "--sigma-y",
            "2.5",
            "--part",
            part,
        ]);
    };
    let (re, im, mag) = (
        dir.path().join("re.npy"),
        dir.path().join("im.npy"),
        dir.path().join("mag.npy"),
    );
    gabor("real", &re);
    gabor("imag", &im);
    gabor("magnitude", &mag);
    assert_close(&re, &golden("gabor_real"), 1e-10);
    assert_close(&im, &golden("gabor_imag"), 1e-10);
    let (_, r) = f64s(&golden("gabor_real"));
    let (_, i) = f64s(&golden("gabor_imag"));
    let (_, m) = f64s(&mag);
    for ((a, b), c) in r.iter().zip(&i).zip(&m) {
        assert!((a.hypot(*b) - c).abs() <= 1e-12);
    }
    // σ from skimage's bandwidth rule; frequency 0 (σ given) a plain
    // Gaussian; frequency 0 without σ has no bandwidth rule: an error.
    let out = dir.path().join("o.npy");
    let args = ["--device", "cpu", "filter", "gabor", s(&input), s(&out)];
    run(&[
        &args[..],
        &[
            "--frequency",
            "0.25",
            "--theta",
            "0.3",
            "--bandwidth",
            "1.4",
        ],
    ]
    .concat());
    assert_close(&out, &golden("gabor_bandwidth_real"), 1e-10);
    run(&[
        &args[..],
        &["--frequency", "0", "--sigma-x", "1.5", "--sigma-y", "2.5"],
    ]
    .concat());
    assert_close(&out, &golden("gabor_f0_real"), 1e-10);
    std::fs::remove_file(&out).unwrap();
    fails(
        &args[2..]
            .iter()
            .copied()
            .chain(["--frequency", "0"])
            .collect::<Vec<_>>(),
        dir.path(),
        "frequency",
        1,
    );
}

#[test]
fn eight_bit_images_go_in_and_come_out_rounded() {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/coffee.png");
    let png = dir.path().join("blur.png");
    let npy = dir.path().join("blur.npy");
    run(&[
        "--device",
        "cpu",
        "filter",
        "uniform",
        s(&sample),
        s(&png),
        "--size",
        "3",
    ]);
    run(&[
        "--device",
        "cpu",
        "filter",
        "uniform",
        s(&sample),
        s(&npy),
        "--size",
        "3",
    ]);
    let img = image::open(&png).unwrap().to_rgb8();
    let (shape, f) = f64s(&npy);
    assert_eq!(shape, [img.height() as usize, img.width() as usize, 3]);
    for (p, v) in img.as_raw().iter().zip(&f) {
        assert_eq!(f64::from(*p), v.round().clamp(0.0, 255.0));
    }
    // Integer input converted as --dtype says.
    let wide = dir.path().join("wide.npy");
    run(&[
        "--device",
        "cpu",
        "filter",
        "uniform",
        s(&sample),
        s(&wide),
        "--size",
        "3",
        "--dtype",
        "float64",
    ]);
    assert!(matches!(
        read_npy(&wide, 1 << 30).unwrap().data,
        NpyData::F64(_)
    ));
}

#[test]
fn bad_filter_inputs_are_errors_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, shape: &[usize], v: &[f64]| {
        let p = d.join(name);
        write_npy(std::fs::File::create(&p).unwrap(), shape, v).unwrap();
        p
    };
    let x = write("x.npy", &[4, 5], &[1.0; 20]);
    let k3 = write("k3.npy", &[2, 2, 2], &[1.0; 8]);
    let empty = write("empty.npy", &[0, 5], &[]);
    let out = d.join("out.npy");
    let (x, k3, empty, out) = (s(&x), s(&k3), s(&empty), s(&out));
    fails(
        &["filter", "uniform", x, out, "--size", "3,x"],
        d,
        "sizes ≥ 0",
        2,
    );
    fails(
        &[
            "filter",
            "uniform",
            x,
            out,
            "--size",
            "3",
            "--mode",
            "grid-wrap",
        ],
        d,
        "grid-wrap",
        2,
    );
    fails(
        &["filter", "correlate", x, out, "--kernel", k3],
        d,
        "2-D",
        1,
    );
    fails(
        &[
            "filter", "uniform", empty, out, "--size", "3", "--mode", "nope",
        ],
        d,
        "nope",
        2,
    );
    fails(
        &[
            "filter",
            "uniform",
            x,
            &format!("{}/o.png", d.display()),
            "--size",
            "3",
        ],
        d,
        ".npy",
        1,
    );
    fails(
        &[
            "filter",
            "uniform",
            x,
            &format!("{}/o.xyz", d.display()),
            "--size",
            "3",
        ],
        d,
        "o.xyz",
        1,
    );
    fails(
        &[
            "filter",
            "uniform",
            &format!("{}/missing.npy", d.display()),
            out,
            "--size",
            "3",
        ],
        d,
        "missing.npy",
        1,
    );
    fails(
        &["filter", "gaussian", x, out, "--sigma", "-1"],
        d,
        "sigma",
        2,
    );
    fails(
        &[
            "filter",
            "gabor",
            x,
            out,
            "--frequency=-1",
            "--sigma-x",
            "1",
            "--sigma-y",
            "1",
        ],
        d,
        "frequency",
        1,
    );
    fails(&["stats", x, "--size", "3"], d, "--mean", 2);
    // A failing run leaves an existing output byte for byte.
    std::fs::write(d.join("out.npy"), b"keep me").unwrap();
    fails(
        &["filter", "correlate", x, out, "--kernel", k3],
        d,
        "2-D",
        1,
    );
    assert_eq!(std::fs::read(d.join("out.npy")).unwrap(), b"keep me");
}

/// Empty arrays give empty results of the input's shape and dtype, on every
/// filter and on stats, CPU and GPU (scipy.ndimage returns them too).
#[test]
fn empty_arrays_give_empty_results() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kernel = d.join("k.npy");
    write_npy(
        std::fs::File::create(&kernel).unwrap(),
        &[3, 3],
        &[1.0f64; 9],
    )
    .unwrap();
    let commands: [&[&str]; 9] = [
        &["uniform", "--size", "3"],
        &["correlate", "--kernel", s(&kernel)],
        &["convolve", "--kernel", s(&kernel)],
        &["gaussian", "--sigma", "1.5"],
        &["gaussian", "--sigma", "1.5", "--order", "1,2"],
        &["gaussian-laplace", "--sigma", "1"],
        &["gaussian-gradient-magnitude", "--sigma", "1"],
        &["dog", "--sigma1", "1"],
        &["gabor", "--frequency", "0.2"],
    ];
    let mut devices = vec!["cpu"];
    if common::gpu().is_some() {
        devices.push("gpu");
    }
    for shape in [&[1usize, 0][..], &[0, 5], &[0, 0, 3]] {
        let input = d.join("empty.npy");
        if shape.len() == 3 {
            write_npy(std::fs::File::create(&input).unwrap(), shape, &[0f32; 0]).unwrap();
        } else {
            write_npy(std::fs::File::create(&input).unwrap(), shape, &[0f64; 0]).unwrap();
        }
        let dtype = dtype_of(&input);
        let out = d.join("out.npy");
        for device in &devices {
            for cmd in commands {
                let mut args = vec!["--device", device, "filter", cmd[0], s(&input), s(&out)];
                args.extend(&cmd[1..]);
                run(&args);
                assert_eq!(f64s(&out), (shape.to_vec(), vec![]), "{args:?}");
                assert_eq!(dtype_of(&out), dtype, "{args:?}");
            }
            let mut args = vec!["--device", device, "stats", s(&input), "--size", "3"];
            args.extend(["--mean", s(&out)]);
            run(&args);
            assert_eq!(f64s(&out), (shape.to_vec(), vec![]), "{args:?}");
        }
    }
}

/// Size 0 along an axis filters nothing along it (scipy's golden files),
/// CPU and GPU; stats takes the same sizes.
#[test]
fn size_zero_filters_nothing_along_that_axis() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.npy");
    for (device, tol) in devices() {
        for mode in ["reflect", "mirror", "nearest", "wrap", "constant"] {
            run(&[
                "--device",
                device,
                "filter",
                "uniform",
                s(&golden("input")),
                s(&out),
                "--size",
                "0,4",
                "--mode",
                mode,
                "--cval",
                "0.5",
            ]);
            assert_close(&out, &golden(&format!("uniform_size0_{mode}")), tol);
        }
    }
}

/// float16 input: read everywhere a float is, computed as float32 and
/// written as float32, as skimage returns it (golden: skimage's gabor on a
/// float16 image).
#[test]
fn float16_input_is_computed_as_float32() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.npy");
    let x16 = golden("input_f16");
    run(&[
        "--device",
        "cpu",
        "filter",
        "gabor",
        s(&x16),
        s(&out),
        "--frequency",
        "0.2",
        "--theta",
        "0.6",
        "--sigma-x",
        "1.5",
        "--sigma-y",
        "2.5",
    ]);
    assert_eq!(dtype_of(&out), "float32");
    assert_close(&out, &golden("gabor_f16_real"), 2e-5);
    // Every float command takes it; the result is float32.
    let kernel = golden("kernel_3x3");
    for cmd in [
        &["filter", "uniform", "--size", "3"][..],
        &["filter", "gaussian", "--sigma", "1"],
        &["filter", "correlate", "--kernel", s(&kernel)],
    ] {
        let mut args = vec!["--device", "cpu", cmd[0], cmd[1], s(&x16), s(&out)];
        args.extend(&cmd[2..]);
        run(&args);
        assert_eq!(dtype_of(&out), "float32", "{args:?}");
    }
    run(&[
        "--device",
        "cpu",
        "stats",
        s(&x16),
        "--size",
        "3",
        "--var",
        s(&out),
    ]);
    assert_eq!(dtype_of(&out), "float32");
}

/// `--origin` (uniform, correlate, convolve) and per-axis `--mode Y,X`
/// (uniform, gaussian, gaussian-laplace): scipy's golden files on the CPU
/// and the GPU; origins outside scipy's rule and per-axis modes where scipy
/// takes one are one-line errors.
#[test]
fn origins_and_per_axis_modes_match_scipy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.npy");
    let x = golden("input");
    let kernel = golden("kernel_4x6");
    for (device, tol) in devices() {
        for (oy, ox) in [(-2, 1), (2, -2), (1, 0), (-1, -1)] {
            let origin = format!("{oy},{ox}");
            let args = [
                "--device",
                device,
                "filter",
                "uniform",
                s(&x),
                s(&out),
                "--size",
                "5,4",
            ];
            run(&[&args[..], &["--origin", &origin]].concat());
            assert_close(&out, &golden(&format!("uniform_origin_{oy}_{ox}")), tol);
            if oy > 1 {
                continue;
            }
            for op in ["correlate", "convolve"] {
                let args = [
                    "--device",
                    device,
                    "filter",
                    op,
                    s(&x),
                    s(&out),
                    "--kernel",
                    s(&kernel),
                ];
                run(&[&args[..], &["--mode", "nearest", "--origin", &origin]].concat());
                assert_close(&out, &golden(&format!("{op}_origin_{oy}_{ox}")), tol);
            }
        }
        for (my, mx) in [
            ("reflect", "wrap"),
            ("constant", "nearest"),
            ("mirror", "constant"),
            ("wrap", "constant"),
        ] {
            let modes = format!("{my},{mx}");
            let common = ["--mode", &modes, "--cval", "0.5"];
            let args = [
                "--device",
                device,
                "filter",
                "uniform",
                s(&x),
                s(&out),
                "--size",
                "5,4",
            ];
            run(&[&args[..], &common].concat());
            assert_close(&out, &golden(&format!("uniform_modes_{my}_{mx}")), tol);
            let args = [
                "--device",
                device,
                "filter",
                "gaussian",
                s(&x),
                s(&out),
                "--sigma",
                "1.5,0.8",
                "--order",
                "1,2",
                "--truncate",
                "3",
            ];
            run(&[&args[..], &common].concat());
            assert_close(
                &out,
                &golden(&format!("gaussian_modes_{my}_{mx}")),
                tol * 10.0,
            );
            let args = [
                "--device",
                device,
                "filter",
                "gaussian-laplace",
                s(&x),
                s(&out),
                "--sigma",
                "1.5,0.8",
                "--truncate",
                "3",
            ];
            run(&[&args[..], &common].concat());
            assert_close(
                &out,
                &golden(&format!("laplace_modes_{my}_{mx}")),
                tol * 10.0,
            );
        }
    }
    let (xs, ks) = (s(&x), s(&kernel));
    let o = s(&out);
    fails(
        &[
            "filter", "uniform", xs, o, "--size", "5,4", "--origin", "0,2",
        ],
        d,
        "origin 2 along x",
        1,
    );
    fails(
        &[
            "filter",
            "correlate",
            xs,
            o,
            "--kernel",
            ks,
            "--mode",
            "reflect,wrap",
        ],
        d,
        "one mode",
        1,
    );
    fails(
        &[
            "filter", "convolve", xs, o, "--kernel", ks, "--origin", "2,0",
        ],
        d,
        "flips",
        1,
    );
    fails(
        &["filter", "gaussian", xs, o, "--sigma", "1", "--origin", "1"],
        d,
        "--origin",
        2,
    );
    fails(
        &[
            "filter",
            "uniform",
            xs,
            o,
            "--size",
            "3",
            "--mode",
            "reflect,wrap,nearest",
        ],
        d,
        "one mode or two",
        2,
    );
    fails(
        &["filter", "uniform", xs, o, "--size", "3", "--origin", "1.5"],
        d,
        "integers",
        2,
    );
}

/// `--dtype` converts float inputs too: float32 from float64 and the
/// reverse (the output is written in that type); without it a float input
/// keeps its own.
#[test]
fn dtype_chooses_the_float_type_of_float_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x64 = golden("input");
    let (x32, out) = (d.join("x32.npy"), d.join("out.npy"));
    let (shape, values) = f64s(&x64);
    let v32: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    write_npy(std::fs::File::create(&x32).unwrap(), &shape, &v32).unwrap();
    let uniform = |input: &Path, dtype: Option<&str>| {
        let mut args = vec![
            "--device",
            "cpu",
            "filter",
            "uniform",
            s(input),
            s(&out),
            "--size",
            "3",
        ];
        if let Some(t) = dtype {
            args.extend(["--dtype", t]);
        }
        run(&args);
        (dtype_of(&out), f64s(&out).1)
    };
    assert_eq!(uniform(&x64, None).0, "float64");
    assert_eq!(uniform(&x32, None).0, "float32");
    let (t, narrowed) = uniform(&x64, Some("float32"));
    assert_eq!(t, "float32");
    assert_eq!(narrowed, uniform(&x32, None).1);
    let (t, widened) = uniform(&x32, Some("float64"));
    assert_eq!(t, "float64");
    // The float32 input widened and filtered in float64.
    let wide = d.join("wide.npy");
    let w64: Vec<f64> = v32.iter().map(|&v| f64::from(v)).collect();
    write_npy(std::fs::File::create(&wide).unwrap(), &shape, &w64).unwrap();
    assert_eq!(widened, uniform(&wide, None).1);
    // float16 with --dtype float64 is written as float64 (by the gradient too).
    let x16 = golden("input_f16");
    assert_eq!(uniform(&x16, Some("float64")).0, "float64");
    run(&[
        "--device",
        "cpu",
        "gradient",
        s(&x16),
        "--dy",
        s(&out),
        "--dtype",
        "float64",
    ]);
    assert_eq!(dtype_of(&out), "float64");
    run(&[
        "--device",
        "cpu",
        "gradient",
        s(&x64),
        "--dy",
        s(&out),
        "--dtype",
        "float32",
    ]);
    assert_eq!(dtype_of(&out), "float32");
}

/// `gpix filter sobel / prewitt / laplace` give scipy.ndimage's numbers
/// (golden files: each channel's 2-D array) for every mode, one per axis
/// too, on the CPU and the GPU; an origin is refused, nothing written.
#[test]
fn edge_filters_match_scipy_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.npy");
    let x = golden("input");
    let modes = ["reflect", "mirror", "nearest", "wrap", "constant"];
    for (device, tol) in devices() {
        let filter = |op: &str, extra: &[&str], want: &str| {
            let args = [
                "--device",
                device,
                "filter",
                op,
                s(&x),
                s(&out),
                "--cval",
                "0.5",
            ];
            run(&[&args[..], extra].concat());
            assert_close(&out, &golden(want), tol);
        };
        for mode in modes {
            for axis in ["0", "1"] {
                for op in ["sobel", "prewitt"] {
                    filter(
                        op,
                        &["--axis", axis, "--mode", mode],
                        &format!("{op}{axis}_{mode}"),
                    );
                }
            }
            filter(
                "laplace",
                &["--mode", mode],
                &format!("edge_laplace_{mode}"),
            );
        }
        for (my, mx) in [
            ("reflect", "wrap"),
            ("constant", "nearest"),
            ("mirror", "constant"),
            ("wrap", "constant"),
        ] {
            let pair = format!("{my},{mx}");
            filter(
                "sobel",
                &["--axis", "1", "--mode", &pair],
                &format!("sobel1_modes_{my}_{mx}"),
            );
            filter(
                "laplace",
                &["--mode", &pair],
                &format!("edge_laplace_modes_{my}_{mx}"),
            );
        }
    }
    fails(
        &[
            "filter",
            "laplace",
            s(&x),
            s(&d.join("new.npy")),
            "--origin",
            "1",
        ],
        d,
        "--origin",
        2,
    );
    fails(
        &[
            "filter",
            "sobel",
            s(&x),
            s(&d.join("new.npy")),
            "--axis",
            "2",
        ],
        d,
        "axis",
        2,
    );
}

/// `gpix filter median|rank|percentile` give scipy's numbers for every
/// mode, origins and negative ranks and percentiles (exact on the CPU);
/// bad sizes, ranks, percentiles and mode pairs are one `error:` line and
/// leave an existing output alone.
#[test]
fn rank_filters_match_scipy_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.npy");
    let x = golden("input");
    for (device, tol) in devices() {
        let tol = if device == "cpu" { 0.0 } else { tol };
        let filter = |op: &str, size: &str, extra: &[&str], want: &str| {
            let args = [
                "--device",
                device,
                "filter",
                op,
                s(&x),
                s(&out),
                "--size",
                size,
            ];
            run(&[&args[..], extra].concat());
            assert_close(&out, &golden(want), tol);
        };
        for mode in ["reflect", "mirror", "nearest", "wrap", "constant"] {
            filter(
                "median",
                "5,4",
                &["--mode", mode, "--cval", "0.5"],
                &format!("median_{mode}"),
            );
        }
        for (oy, ox) in [(-2, 1), (2, -2), (1, 0), (-1, -1)] {
            let origin = format!("{oy},{ox}");
            filter(
                "rank",
                "5,4",
                &["--rank", "-3", "--origin", &origin],
                &format!("rank_m3_origin_{oy}_{ox}"),
            );
        }
        for p in ["30", "-20"] {
            filter(
                "percentile",
                "3,5",
                &["--percentile", p, "--mode", "nearest"],
                &format!("percentile_{p}"),
            );
        }
        // Footprints: a disk by name, an irregular one from a .npy file.
        let by_footprint = |op: &str, footprint: &str, extra: &[&str], want: &str| {
            let args = ["--device", device, "filter", op, s(&x), s(&out)];
            run(&[&args[..], &["--footprint", footprint], extra].concat());
            assert_close(&out, &golden(want), tol);
        };
        for mode in ["reflect", "mirror", "nearest", "wrap", "constant"] {
            by_footprint(
                "median",
                "disk:2",
                &["--mode", mode, "--cval", "0.5"],
                &format!("median_disk2_{mode}"),
            );
        }
        by_footprint("minimum", "disk:2", &["--mode", "nearest"], "minimum_disk2");
        let odd = golden("footprint_3x4");
        by_footprint(
            "rank",
            s(&odd),
            &["--rank", "-2", "--origin", "1,-1"],
            "rank_m2_footprint_3x4",
        );
        by_footprint(
            "grey-dilation",
            s(&odd),
            &["--origin", "1,-1"],
            "grey_dilation_footprint_3x4",
        );
        by_footprint(
            "white-tophat",
            "disk:2",
            &["--mode", "constant", "--cval", "0.5"],
            "white_tophat_disk2",
        );
        filter(
            "grey-closing",
            "4,3",
            &["--mode", "wrap"],
            "grey_closing_4x3_wrap",
        );
    }
    std::fs::write(&out, b"keep me").unwrap();
    let empty = d.join("empty.npy");
    write_npy(std::fs::File::create(&empty).unwrap(), &[2, 2], &[0u8; 4]).unwrap();
    let cube = d.join("cube.npy");
    write_npy(std::fs::File::create(&cube).unwrap(), &[2, 2, 2], &[1u8; 8]).unwrap();
    let footprint_bad: [(&[&str], &str, i32); 4] = [
        (&["median", "--footprint", "disk:x"], "radius", 2),
        (
            &["median", "--footprint", "disk:1", "--size", "3"],
            "cannot be used with",
            2,
        ),
        (
            &["maximum", "--footprint", s(&empty)],
            "marks no position",
            1,
        ),
        (&["median", "--footprint", s(&cube)], "2-D", 1),
    ];
    for (args, why, code) in footprint_bad {
        let (op, rest) = args.split_first().unwrap();
        fails(
            &[&["filter", op, s(&x), s(&out)][..], rest].concat(),
            d,
            why,
            code,
        );
    }
    let bad: [(&[&str], &str); 5] = [
        (&["median", "--size", "0,3"], "at least 1"),
        (
            &["rank", "--size", "3", "--rank", "9"],
            "rank 9 is not within a window of 9",
        ),
        (
            &["percentile", "--size", "3", "--percentile", "120"],
            "percentile 120",
        ),
        (
            &["median", "--size", "3", "--mode", "reflect,wrap"],
            "one mode",
        ),
        (
            &["median", "--size", "3", "--origin", "2"],
            "origin 2 along y",
        ),
    ];
    for (args, why) in bad {
        let (op, rest) = args.split_first().unwrap();
        fails(
            &[&["filter", op, s(&x), s(&out)][..], rest].concat(),
            d,
            why,
            1,
        );
    }
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
}

/// `gpix filter minimum|maximum` gives scipy's numbers (exact on the CPU;
/// the GPU's f32 rounding of them) for every mode, origins and per-axis
/// modes; a bad origin is one error line, exit 1, the folder unchanged and
/// an existing output kept byte for byte.
#[test]
fn extremum_filters_match_scipy_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.npy");
    let x = golden("input");
    for (device, tol) in devices() {
        let tol = if device == "cpu" { 0.0 } else { tol };
        let filter = |op: &str, extra: &[&str], want: &str| {
            let args = [
                "--device",
                device,
                "filter",
                op,
                s(&x),
                s(&out),
                "--size",
                "5,4",
            ];
            run(&[&args[..], extra].concat());
            assert_close(&out, &golden(want), tol);
        };
        for mode in ["reflect", "mirror", "nearest", "wrap", "constant"] {
            for op in ["minimum", "maximum"] {
                filter(
                    op,
                    &["--mode", mode, "--cval", "0.5"],
                    &format!("{op}_{mode}"),
                );
            }
        }
        for (oy, ox) in [(-2, 1), (2, -2), (1, 0), (-1, -1)] {
            let origin = format!("{oy},{ox}");
            filter(
                "maximum",
                &["--origin", &origin],
                &format!("maximum_origin_{oy}_{ox}"),
            );
        }
        for (my, mx) in [
            ("reflect", "wrap"),
            ("constant", "nearest"),
            ("mirror", "constant"),
            ("wrap", "constant"),
        ] {
            let pair = format!("{my},{mx}");
            filter(
                "minimum",
                &["--mode", &pair, "--cval", "0.5"],
                &format!("minimum_modes_{my}_{mx}"),
            );
        }
    }
    std::fs::write(&out, b"keep me").unwrap();
    for op in ["minimum", "maximum"] {
        fails(
            &["filter", op, s(&x), s(&out), "--size", "3", "--origin", "2"],
            d,
            "origin 2 along y",
            1,
        );
        fails(
            &["filter", op, s(&x), s(&out), "--size", "3,x"],
            d,
            "sizes ≥ 0",
            2,
        );
    }
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
}
