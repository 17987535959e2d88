//! `gpix label-mean`: hand-checked means and tables, every input kind, CPU
//! and GPU byte-identical, and every bad input (clear error, nothing written).

mod common;

use std::path::{Path, PathBuf};

use common::cli::{fails, gpix, run, s};
use gpix::io::npy::{read_npy, write_npy, NpyData, NpyElement};

fn save<T: NpyElement>(dir: &Path, name: &str, shape: &[usize], data: &[T]) -> PathBuf {
    let p = dir.join(name);
    write_npy(std::fs::File::create(&p).unwrap(), shape, data).unwrap();
    p
}

/// A 3×4 RGB image with three labels, one of them sparse (2^31 + 5).
/// Label 7's means end in .5 in channels 1 and 2 (they round up).
fn sample(dir: &Path) -> (PathBuf, PathBuf) {
    let big = (1u64 << 31) + 5;
    #[rustfmt::skip]
    let labels: [u64; 12] = [
        7, 7, 0, 0,
        7, 7, 0, big,
        big, big, big, big,
    ];
    let mut pixels = Vec::new();
    for i in 0..12u8 {
        pixels.extend([i * 10 + 1, 200 - i, i]);
    }
    (
        save(dir, "img.npy", &[3, 4, 3], &pixels),
        save(dir, "lab.npy", &[3, 4], &labels),
    )
}

/// The expected means, by plain loops: (label, count, means).
fn expected(dir: &Path) -> Vec<(u64, u64, [f64; 3])> {
    let _ = dir;
    let big = (1u64 << 31) + 5;
    let groups: [(u64, &[usize]); 3] = [
        (0, &[2, 3, 6]),
        (7, &[0, 1, 4, 5]),
        (big, &[7, 8, 9, 10, 11]),
    ];
    groups
        .iter()
        .map(|&(l, px)| {
            let mut m = [0f64; 3];
            for &p in px {
                let v = [p as f64 * 10.0 + 1.0, 200.0 - p as f64, p as f64];
                for c in 0..3 {
                    m[c] += v[c] / px.len() as f64;
                }
            }
            (l, px.len() as u64, m)
        })
        .collect()
}

#[test]
fn means_tables_and_rounding_match_plain_loops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (img, lab) = sample(d);
    let (out, csv, tnpy, png) = (
        d.join("out.npy"),
        d.join("t.csv"),
        d.join("t.npy"),
        d.join("out.png"),
    );
    run(&[
        "--device",
        "cpu",
        "label-mean",
        s(&img),
        s(&lab),
        s(&out),
        "--table",
        s(&csv),
    ]);
    run(&[
        "--device",
        "cpu",
        "label-mean",
        s(&img),
        s(&lab),
        s(&png),
        "--table",
        s(&tnpy),
    ]);
    let want = expected(d);
    // The float32 means, pixel by pixel.
    let a = read_npy(&out, 1 << 20).unwrap();
    assert_eq!(a.shape, [3, 4, 3]);
    let NpyData::F32(v) = a.data else {
        panic!("float32 expected")
    };
    let big = (1u64 << 31) + 5;
    let label_of = [7, 7, 0, 0, 7, 7, 0, big, big, big, big, big];
    for (p, &l) in label_of.iter().enumerate() {
        let m = want.iter().find(|e| e.0 == l).unwrap().2;
        for c in 0..3 {
            assert_eq!(v[p * 3 + c], m[c] as f32, "pixel {p} channel {c}");
        }
    }
    // The 8-bit output rounds half up: label 7's means are 197.5 and 2.5.
    assert_eq!(want[1].2[1..], [197.5, 2.5]);
    let img8 = image::open(&png).unwrap().to_rgb8();
    for (p, &l) in label_of.iter().enumerate() {
        let m = want.iter().find(|e| e.0 == l).unwrap().2;
        let px = img8.get_pixel((p % 4) as u32, (p / 4) as u32);
        for c in 0..3 {
            assert_eq!(f64::from(px[c]), (m[c] + 0.5).floor(), "pixel {p}");
        }
    }
    // The tables, ascending by label.
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "label,count,mean_0,mean_1,mean_2");
    for (line, (l, n, m)) in lines[1..].iter().zip(&want) {
        let f: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        assert_eq!(f[0], *l as f64);
        assert_eq!(f[1], *n as f64);
        for c in 0..3 {
            assert!((f[2 + c] - m[c]).abs() < 1e-12);
        }
    }
    let t = read_npy(&tnpy, 1 << 20).unwrap();
    assert_eq!(t.shape, [3, 5]);
    let NpyData::F64(t) = t.data else {
        panic!("float64 table")
    };
    assert_eq!(t[5], 7.0);
    assert_eq!(t[10], big as f64);
}

#[test]
fn every_input_kind_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (h, w) = (6usize, 5usize);
    let labels: Vec<i64> = (0..h * w).map(|p| (p / 7) as i64).collect();
    let lab = save(d, "lab.npy", &[h, w], &labels);
    // (H,W) float64 image → (H,W) float64 means.
    let grey: Vec<f64> = (0..h * w).map(|p| p as f64 * 0.5).collect();
    let g = save(d, "g.npy", &[h, w], &grey);
    let out = d.join("o.npy");
    run(&["--device", "cpu", "label-mean", s(&g), s(&lab), s(&out)]);
    let a = read_npy(&out, 1 << 20).unwrap();
    assert_eq!(a.shape, [h, w]);
    let NpyData::F64(v) = a.data else {
        panic!("float64 expected")
    };
    assert_eq!(v[0], (0..7).map(|p| p as f64 * 0.5).sum::<f64>() / 7.0);
    // Five channels of int32.
    let five: Vec<i32> = (0..h * w * 5).map(|i| i as i32 - 40).collect();
    let f = save(d, "five.npy", &[h, w, 5], &five);
    run(&["--device", "cpu", "label-mean", s(&f), s(&lab), s(&out)]);
    assert_eq!(read_npy(&out, 1 << 20).unwrap().shape, [h, w, 5]);
    // Labels as an 8-bit grey PNG.
    let png = d.join("lab.png");
    let pix: Vec<u8> = labels.iter().map(|&l| l as u8).collect();
    image::GrayImage::from_raw(w as u32, h as u32, pix)
        .unwrap()
        .save(&png)
        .unwrap();
    let out2 = d.join("o2.npy");
    run(&["--device", "cpu", "label-mean", s(&f), s(&png), s(&out2)]);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&out2).unwrap());
}

#[test]
fn gpu_output_is_byte_identical_for_integer_images() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (h, w) = (40usize, 33usize);
    let labels: Vec<u32> = gpix::synth::voronoi_labels(h, w, 20, 3);
    let lab = save(d, "lab.npy", &[h, w], &labels);
    let px: Vec<u16> = (0..h * w * 3).map(|i| (i * 7919 % 65536) as u16).collect();
    let img = save(d, "img.npy", &[h, w, 3], &px);
    let mut outs = Vec::new();
    for (dev, name) in [
        ("cpu", "c.png"),
        ("gpu", "g.png"),
        ("cpu", "c.npy"),
        ("gpu", "g.npy"),
    ] {
        let out = d.join(name);
        let t = d.join(format!("{name}.csv"));
        let mut cmd = gpix();
        cmd.args([
            "--device",
            dev,
            "label-mean",
            s(&img),
            s(&lab),
            s(&out),
            "--table",
            s(&t),
        ]);
        // Bands of a few rows on the GPU.
        cmd.env("GPIX_BAND_BYTES", "2000");
        assert!(cmd.output().unwrap().status.success());
        outs.push((std::fs::read(&out).unwrap(), std::fs::read(&t).unwrap()));
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[2], outs[3]);
}

#[test]
fn bad_inputs_are_errors_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (img, lab) = sample(d);
    let neg = save(
        d,
        "neg.npy",
        &[3, 4],
        &[0i64, 1, 2, -3, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    let huge = save(d, "huge.npy", &[3, 4], &[1u64 << 32; 12]);
    let float = save(d, "float.npy", &[3, 4], &[0f32; 12]);
    let short = save(d, "short.npy", &[2, 4], &[0u8; 8]);
    let i16s = save(d, "i16.npy", &[3, 4], &[0i16; 12]);
    let fimg = save(d, "fimg.npy", &[3, 4], &[0.5f32; 12]);
    let out = d.join("out.npy");
    let (img, lab, out) = (s(&img), s(&lab), s(&out));
    fails(&["label-mean", img, s(&neg), out], d, "-3", 1);
    fails(&["label-mean", img, s(&huge), out], d, "4294967296", 1);
    fails(&["label-mean", img, s(&float), out], d, "integers", 1);
    fails(&["label-mean", img, s(&short), out], d, "2×4", 1);
    fails(&["label-mean", s(&i16s), lab, out], d, "int16", 1);
    fails(
        &[
            "label-mean",
            &format!("{}/missing.npy", d.display()),
            lab,
            out,
        ],
        d,
        "missing.npy",
        1,
    );
    fails(
        &[
            "label-mean",
            s(&fimg),
            lab,
            &format!("{}/o.png", d.display()),
        ],
        d,
        ".npy",
        1,
    );
    fails(
        &["label-mean", img, lab, &format!("{}/o.xyz", d.display())],
        d,
        "o.xyz",
        1,
    );
    fails(
        &[
            "label-mean",
            img,
            lab,
            out,
            "--table",
            &format!("{}/t.txt", d.display()),
        ],
        d,
        "t.txt",
        1,
    );
    std::fs::write(d.join("corrupt.npy"), b"\x93NUMPY nonsense").unwrap();
    fails(
        &["label-mean", s(&d.join("corrupt.npy")), lab, out],
        d,
        "corrupt.npy",
        1,
    );
    // An existing output survives a failing run byte for byte.
    std::fs::write(d.join("out.npy"), b"keep").unwrap();
    fails(&["label-mean", img, s(&neg), out], d, "-3", 1);
    assert_eq!(std::fs::read(d.join("out.npy")).unwrap(), b"keep");
}
