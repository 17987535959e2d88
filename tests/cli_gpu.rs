//! The CLI on `--device gpu` (lavapipe in CI): the outputs agree with the
//! CPU's, bands are a few rows so the ring of band buffers wraps many
//! times, and `-v` says where each phase ran and in what precision.

mod common;

use std::path::Path;

use common::cli::{f64s, gpix, s};
use gpix::io::npy::write_npy;

/// Runs `gpix --device DEV -v args` with small GPU bands; returns stderr.
fn run_on(dev: &str, args: &[&str]) -> String {
    let out = gpix()
        .args(["--device", dev, "-v"])
        .args(args)
        // Bands of a few rows: many bands through the three-slot ring.
        .env("GPIX_BAND_BYTES", "24000")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{dev} {args:?}: {stderr}");
    stderr
}

/// Whether the GPU runs here (REQUIRE_GPU=1 makes a missing one fail).
fn have_gpu() -> bool {
    #[cfg(feature = "gpu")]
    {
        common::gpu().is_some()
    }
    #[cfg(not(feature = "gpu"))]
    false
}

fn field(path: &Path, h: usize, w: usize) {
    let v: Vec<f64> = (0..h * w)
        .map(|i| {
            let (y, x) = ((i / w) as f64, (i % w) as f64);
            (0.07 * x).sin() * (0.05 * y).cos() * 40.0 + 0.01 * x * y
        })
        .collect();
    write_npy(std::fs::File::create(path).unwrap(), &[h, w], &v).unwrap();
}

/// `a` and `b` agree within `rel` times `scale` (by default the largest
/// magnitude in `a`).
fn assert_close(a: &Path, b: &Path, rel: f64) {
    assert_close_to(a, b, rel, None);
}

fn assert_close_to(a: &Path, b: &Path, rel: f64, scale: Option<f64>) {
    let (sa, va) = f64s(a);
    let (sb, vb) = f64s(b);
    assert_eq!(sa, sb);
    let scale = scale.unwrap_or_else(|| va.iter().fold(1e-30f64, |m, v| m.max(v.abs())));
    for (i, (x, y)) in va.iter().zip(&vb).enumerate() {
        assert!(
            (x - y).abs() <= rel * scale,
            "value {i}: {x} vs {y} (scale {scale})"
        );
    }
}

fn has(stderr: &str, line: &str) {
    assert!(
        stderr.lines().any(|l| l.contains(line)),
        "'{line}' not in:\n{stderr}"
    );
}

#[test]
fn default_quantize_on_the_gpu_is_the_cpu_result() {
    if !have_gpu() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/coffee.png");
    let (g, c) = (dir.path().join("g.png"), dir.path().join("c.png"));
    let (gi, ci) = (dir.path().join("g.npy"), dir.path().join("c.npy"));
    let err = run_on(
        "gpu",
        &[
            "quantize",
            s(&photo),
            s(&g),
            "--colors",
            "16",
            "--index-out",
            s(&gi),
        ],
    );
    run_on(
        "cpu",
        &[
            "quantize",
            s(&photo),
            s(&c),
            "--colors",
            "16",
            "--index-out",
            s(&ci),
        ],
    );
    assert_eq!(std::fs::read(&g).unwrap(), std::fs::read(&c).unwrap());
    assert_eq!(std::fs::read(&gi).unwrap(), std::fs::read(&ci).unwrap());
    has(&err, "route: gpu (quantize: --device gpu)");
    has(
        &err,
        "palette: balanced median cut refined by k-means passes over the colour histogram: \
         assignment gpu (exact)",
    );
    has(&err, "quantize: gpu, exact integer distances");
    has(&err, "pipeline cache:");
}

#[test]
fn gabor_magnitude_on_the_gpu_agrees() {
    if !have_gpu() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.npy");
    field(&x, 40, 300);
    let (g, c) = (dir.path().join("g.npy"), dir.path().join("c.npy"));
    let args = |out: &Path| {
        vec![
            "filter".to_string(),
            "gabor".into(),
            s(&x).into(),
            s(out).into(),
            "--frequency".into(),
            "0.2".into(),
            "--sigma-x".into(),
            "3".into(),
            "--sigma-y".into(),
            "2".into(),
            "--part".into(),
            "magnitude".into(),
        ]
    };
    let ga: Vec<String> = args(&g);
    let ca: Vec<String> = args(&c);
    let err = run_on("gpu", &ga.iter().map(String::as_str).collect::<Vec<_>>());
    run_on("cpu", &ca.iter().map(String::as_str).collect::<Vec<_>>());
    assert_close(&g, &c, 2e-5);
    has(&err, "filter: gpu, ");
    has(&err, "float64 input");
    has(&err, "magnitude (hypot) on the cpu");
}

#[test]
fn gradient_and_hessian_on_the_gpu_agree_and_say_f32() {
    if !have_gpu() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = d.join("x.npy");
    field(&x, 37, 290);
    let p = |dev: &str, name: &str| d.join(format!("{dev}_{name}.npy"));
    for dev in ["gpu", "cpu"] {
        let err = run_on(
            dev,
            &[
                "gradient",
                s(&x),
                "--dy",
                s(&p(dev, "dy")),
                "--dx",
                s(&p(dev, "dx")),
            ],
        );
        let want = if dev == "gpu" {
            "gradient: gpu, f32 (input float64"
        } else {
            "gradient: cpu, float64 (numpy.gradient's results bit for bit)"
        };
        has(&err, want);
        let eigen = format!("{},{}", s(&p(dev, "e1")), s(&p(dev, "e2")));
        let err = run_on(
            dev,
            &[
                "hessian",
                s(&x),
                "--dxy",
                s(&p(dev, "dxy")),
                "--eigen",
                &eigen,
            ],
        );
        has(&err, &format!("hessian: {dev}"));
    }
    // f32 differences lose digits to cancellation: the bound is relative to
    // the input's magnitude, not the derivative's.
    let input = f64s(&x).1.iter().fold(0f64, |m, v| m.max(v.abs()));
    for name in ["dy", "dx", "dxy", "e1", "e2"] {
        assert_close_to(&p("gpu", name), &p("cpu", name), 1e-6, Some(input));
    }
}
