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

/// The expected table, by plain loops: (label, count, channel sums).
fn expected() -> Vec<(u64, u64, [u64; 3])> {
    let big = (1u64 << 31) + 5;
    let groups: [(u64, &[u64]); 3] = [
        (0, &[2, 3, 6]),
        (7, &[0, 1, 4, 5]),
        (big, &[7, 8, 9, 10, 11]),
    ];
    groups
        .iter()
        .map(|&(l, px)| {
            let mut sum = [0u64; 3];
            for &p in px {
                let v = [p * 10 + 1, 200 - p, p];
                for c in 0..3 {
                    sum[c] += v[c];
                }
            }
            (l, px.len() as u64, sum)
        })
        .collect()
}

/// `sum / count` in f64, as the table and the float outputs define it.
fn mean(sum: u64, count: u64) -> f64 {
    sum as f64 / count as f64
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
    let want = expected();
    let big = (1u64 << 31) + 5;
    let label_of = [7, 7, 0, 0, 7, 7, 0, big, big, big, big, big];
    let entry = |l: u64| want.iter().find(|e| e.0 == l).unwrap();
    // The float32 means, pixel by pixel.
    let a = read_npy(&out, 1 << 20).unwrap();
    assert_eq!(a.shape, [3, 4, 3]);
    let NpyData::F32(v) = a.data else {
        panic!("float32 expected")
    };
    for (p, &l) in label_of.iter().enumerate() {
        let (_, n, sum) = entry(l);
        for c in 0..3 {
            assert_eq!(
                v[p * 3 + c],
                mean(sum[c], *n) as f32,
                "pixel {p} channel {c}"
            );
        }
    }
    // The 8-bit output rounds half up: label 7's means are 197.5 and 2.5.
    assert_eq!([mean(want[1].2[1], 4), mean(want[1].2[2], 4)], [197.5, 2.5]);
    let img8 = image::open(&png).unwrap();
    assert_eq!(img8.color(), image::ColorType::Rgb8);
    let img8 = img8.to_rgb8();
    for (p, &l) in label_of.iter().enumerate() {
        let (_, n, sum) = entry(l);
        let px = img8.get_pixel((p % 4) as u32, (p / 4) as u32);
        for c in 0..3 {
            let half_up = (2 * sum[c] + n) / (2 * n);
            assert_eq!(u64::from(px[c]), half_up, "pixel {p} channel {c}");
        }
    }
    assert_eq!(img8.get_pixel(0, 0).0, [26, 198, 3]);
    // The tables, ascending by label, means to the last bit.
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + want.len());
    assert_eq!(lines[0], "label,count,mean_0,mean_1,mean_2");
    for (line, (l, n, sum)) in lines[1..].iter().zip(&want) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 5, "{line}");
        assert_eq!(f[0], l.to_string());
        assert_eq!(f[1], n.to_string());
        for c in 0..3 {
            assert_eq!(f[2 + c].parse::<f64>().unwrap(), mean(sum[c], *n), "{line}");
        }
    }
    assert_eq!(lines[2], "7,4,26,197.5,2.5");
    let t = read_npy(&tnpy, 1 << 20).unwrap();
    assert_eq!(t.shape, [3, 5]);
    let NpyData::F64(t) = t.data else {
        panic!("float64 table")
    };
    for (row, (l, n, sum)) in t.chunks_exact(5).zip(&want) {
        let means = (0..3).map(|c| mean(sum[c], *n));
        let expect: Vec<f64> = [*l as f64, *n as f64].into_iter().chain(means).collect();
        assert_eq!(row, expect);
    }
}

/// Writes a single-channel grey image of `P` (u8 or u16) pixels as `name`.
fn grey_png<P>(dir: &Path, name: &str, w: usize, h: usize, pixels: Vec<P>) -> PathBuf
where
    image::Luma<P>: image::Pixel<Subpixel = P> + image::PixelWithColorType,
    P: image::Primitive,
    [P]: image::EncodableLayout,
{
    let p = dir.join(name);
    image::ImageBuffer::<image::Luma<P>, Vec<P>>::from_raw(w as u32, h as u32, pixels)
        .unwrap()
        .save(&p)
        .unwrap();
    p
}

/// Each label's f64 mean of a single-channel image, painted back per pixel.
fn plain_means(values: &[f64], labels: &[u64]) -> Vec<f64> {
    let mut acc = std::collections::BTreeMap::<u64, (f64, f64)>::new();
    for (&v, &l) in values.iter().zip(labels) {
        let e = acc.entry(l).or_default();
        e.0 += v;
        e.1 += 1.0;
    }
    labels.iter().map(|l| acc[l].0 / acc[l].1).collect()
}

#[test]
fn every_input_kind_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (h, w) = (6usize, 5usize);
    let labels: Vec<i64> = (0..h * w).map(|p| (p / 7) as i64).collect();
    let as_u64: Vec<u64> = labels.iter().map(|&l| l as u64).collect();
    let lab = save(d, "lab.npy", &[h, w], &labels);
    // (H,W) float64 image → (H,W) float64 means.
    let grey: Vec<f64> = (0..h * w).map(|p| p as f64 * 0.5 + 0.1).collect();
    let g = save(d, "g.npy", &[h, w], &grey);
    let out = d.join("o.npy");
    run(&["--device", "cpu", "label-mean", s(&g), s(&lab), s(&out)]);
    let a = read_npy(&out, 1 << 20).unwrap();
    assert_eq!(a.shape, [h, w]);
    let NpyData::F64(v) = a.data else {
        panic!("float64 expected")
    };
    assert_eq!(v, plain_means(&grey, &as_u64));
    // Five channels of int32 → (H,W,5) float32.
    let five: Vec<i32> = (0..h * w * 5).map(|i| i as i32 - 40).collect();
    let f = save(d, "five.npy", &[h, w, 5], &five);
    run(&["--device", "cpu", "label-mean", s(&f), s(&lab), s(&out)]);
    let a = read_npy(&out, 1 << 20).unwrap();
    assert_eq!(a.shape, [h, w, 5]);
    let NpyData::F32(v) = a.data else {
        panic!("float32 expected")
    };
    for c in 0..5 {
        let ch: Vec<f64> = five.iter().skip(c).step_by(5).map(|&x| x.into()).collect();
        let want = plain_means(&ch, &as_u64);
        let got: Vec<f32> = v.iter().skip(c).step_by(5).copied().collect();
        let want: Vec<f32> = want.iter().map(|&m| m as f32).collect();
        assert_eq!(got, want, "channel {c}");
    }
    // Labels as an 8-bit grey PNG: the same bytes as the int64 labels.
    let pix: Vec<u8> = labels.iter().map(|&l| l as u8).collect();
    let png8 = grey_png(d, "lab8.png", w, h, pix);
    let out2 = d.join("o2.npy");
    run(&["--device", "cpu", "label-mean", s(&f), s(&png8), s(&out2)]);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&out2).unwrap());
    // Labels as a 16-bit grey PNG with values above 255, against uint16 .npy.
    let wide: Vec<u16> = labels.iter().map(|&l| l as u16 * 1000).collect();
    let png16 = grey_png(d, "lab16.png", w, h, wide.clone());
    let npy16 = save(d, "lab16.npy", &[h, w], &wide);
    let (o3, o4) = (d.join("o3.npy"), d.join("o4.npy"));
    run(&["--device", "cpu", "label-mean", s(&f), s(&png16), s(&o3)]);
    run(&["--device", "cpu", "label-mean", s(&f), s(&npy16), s(&o4)]);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&o3).unwrap());
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&o4).unwrap());
}

#[test]
fn grey_image_files_keep_their_layout() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (h, w) = (4usize, 6usize);
    let labels: Vec<u32> = (0..h * w).map(|p| [3, 9, 4_000_000_000][p % 3]).collect();
    let as_u64: Vec<u64> = labels.iter().map(|&l| l.into()).collect();
    let lab = save(d, "lab.npy", &[h, w], &labels);
    let px: Vec<u16> = (0..h * w).map(|p| (p * 2711 % 65536) as u16).collect();
    let img = grey_png(d, "img.png", w, h, px.clone());
    let (npy, png) = (d.join("o.npy"), d.join("o.png"));
    run(&["--device", "cpu", "label-mean", s(&img), s(&lab), s(&npy)]);
    run(&["--device", "cpu", "label-mean", s(&img), s(&lab), s(&png)]);
    // A grey image gives an (H,W) float32 array …
    let a = read_npy(&npy, 1 << 20).unwrap();
    assert_eq!(a.shape, [h, w]);
    let values: Vec<f64> = px.iter().map(|&v| v.into()).collect();
    let want: Vec<f32> = plain_means(&values, &as_u64)
        .iter()
        .map(|&m| m as f32)
        .collect();
    assert_eq!(a.data, NpyData::F32(want));
    // … and a 16-bit grey PNG, means rounded half up.
    let out = image::open(&png).unwrap();
    assert_eq!(out.color(), image::ColorType::L16);
    let got = out.to_luma16().into_raw();
    for (p, &l) in labels.iter().enumerate() {
        let members: Vec<u64> = (0..h * w)
            .filter(|&q| labels[q] == l)
            .map(|q| px[q].into())
            .collect();
        let n = members.len() as u64;
        let half_up = (2 * members.iter().sum::<u64>() + n) / (2 * n);
        assert_eq!(u64::from(got[p]), half_up, "pixel {p}");
    }
}

#[test]
fn gpu_output_is_byte_identical_for_integer_images() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let xdg = tempfile::tempdir().unwrap();
    let (h, w) = (40usize, 33usize);
    // Blocks of sparse labels, some of them above 2^31.
    let labels: Vec<u32> = (0..h * w)
        .map(|p| ((p / w / 7 * 5 + p % w / 6) as u32).wrapping_mul(2_654_435_761))
        .collect();
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
        let csv = d.join(format!("{name}.csv"));
        let tnpy = d.join(format!("{name}.t.npy"));
        for table in [&csv, &tnpy] {
            let mut cmd = gpix();
            cmd.args([
                "--device",
                dev,
                "label-mean",
                s(&img),
                s(&lab),
                s(&out),
                "--table",
                s(table),
            ]);
            // Bands of a few rows on the GPU.
            cmd.env("GPIX_BAND_BYTES", "2000")
                .env("XDG_RUNTIME_DIR", xdg.path());
            let result = cmd.output().unwrap();
            assert!(
                result.status.success(),
                "{dev} {name}: {}",
                String::from_utf8_lossy(&result.stderr)
            );
        }
        let read = |p: &Path| std::fs::read(p).unwrap();
        outs.push((read(&out), read(&csv), read(&tnpy)));
    }
    assert!(
        outs[0] == outs[1],
        "PNG or tables differ between CPU and GPU"
    );
    assert!(
        outs[2] == outs[3],
        "NPY or tables differ between CPU and GPU"
    );
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
    let cube = save(d, "cube.npy", &[3, 4, 1], &[0u8; 12]);
    let i16s = save(d, "i16.npy", &[3, 4], &[0i16; 12]);
    let fimg = save(d, "fimg.npy", &[3, 4], &[0.5f32; 12]);
    let five = save(d, "five.npy", &[3, 4, 5], &[0u8; 60]);
    let rgb = d.join("rgb.png");
    image::RgbImage::new(4, 3).save(&rgb).unwrap();
    let path = |name: &str| format!("{}/{name}", d.display());
    let (img, lab) = (s(&img), s(&lab));
    let out = &path("out.npy");
    fails(&["label-mean", img, s(&neg), out], d, "-3", 1);
    fails(&["label-mean", img, s(&huge), out], d, "4294967296", 1);
    fails(&["label-mean", img, s(&float), out], d, "integers", 1);
    fails(&["label-mean", img, s(&cube), out], d, "cube.npy", 1);
    fails(&["label-mean", img, s(&rgb), out], d, "single-channel", 1);
    fails(&["label-mean", img, s(&short), out], d, "2×4", 1);
    fails(&["label-mean", img, s(&short), out], d, "3×4", 1);
    fails(&["label-mean", s(&i16s), lab, out], d, "int16", 1);
    fails(
        &["label-mean", &path("missing.npy"), lab, out],
        d,
        "missing.npy",
        1,
    );
    fails(
        &["label-mean", &path("missing.png"), lab, out],
        d,
        "missing.png",
        1,
    );
    fails(&["label-mean", s(&fimg), lab, &path("o.png")], d, ".npy", 1);
    fails(
        &["label-mean", s(&five), lab, &path("o.png")],
        d,
        "has 5",
        1,
    );
    fails(&["label-mean", img, lab, &path("o.xyz")], d, "o.xyz", 1);
    let bad_table = ["label-mean", img, lab, out, "--table", &path("t.txt")];
    fails(&bad_table, d, "t.txt", 1);
    std::fs::write(d.join("corrupt.npy"), b"\x93NUMPY nonsense").unwrap();
    fails(
        &["label-mean", &path("corrupt.npy"), lab, out],
        d,
        "corrupt.npy",
        1,
    );
    // An existing output survives a failing run byte for byte: an early
    // failure, and one where the output was staged but the table could not be.
    std::fs::write(d.join("out.npy"), b"keep").unwrap();
    fails(&["label-mean", img, s(&neg), out], d, "-3", 1);
    let late = ["label-mean", img, lab, out, "--table", &path("no/t.csv")];
    fails(&late, d, "t.csv", 1);
    assert_eq!(std::fs::read(d.join("out.npy")).unwrap(), b"keep");
}
