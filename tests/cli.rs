//! The `gpix` command: golden outputs on the shipped sample, device choice,
//! and every bad-input path (clear error, exit code, nothing written).

mod common;

use std::path::{Path, PathBuf};

use common::cli::{fails, gpix, listing};
use gpix::io::npy::{read_npy, NpyData};

fn asset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(name)
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn npy_u8(path: &Path) -> (Vec<usize>, Vec<u8>) {
    let a = read_npy(path, 1 << 30).expect("readable npy");
    match a.data {
        NpyData::U8(v) => (a.shape, v),
        other => panic!("expected uint8, got {:?}", other.dtype()),
    }
}

fn golden_index() -> Vec<u8> {
    npy_u8(&data("coffee_cga16_index.npy")).1
}

#[test]
fn quantize_sample_matches_numpy_golden_on_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.png");
    let idx = dir.path().join("idx.npy");
    gpix()
        .args(["quantize", "--device", "cpu"])
        .arg(asset("coffee.png"))
        .arg(&out)
        .arg("--palette")
        .arg(asset("cga16.gpl"))
        .arg("--index-out")
        .arg(&idx)
        .assert()
        .success();
    let (shape, got) = npy_u8(&idx);
    assert_eq!(shape, [400, 600]);
    assert_eq!(got, golden_index());
    // The PNG is indexed and its indices are the same map.
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    assert_eq!(reader.info().color_type, png::ColorType::Indexed);
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut buf).unwrap();
    assert_eq!(&buf[..400 * 600], &got[..]);
}

#[cfg(feature = "gpu")]
#[test]
fn quantize_sample_matches_numpy_golden_on_gpu_multi_band() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("idx.npy");
    gpix()
        .args(["quantize", "--device", "gpu"])
        .env("GPIX_BAND_BYTES", "20000")
        .arg(asset("coffee.png"))
        .arg(dir.path().join("q.npy"))
        .arg("--palette")
        .arg(asset("cga16.gpl"))
        .arg("--index-out")
        .arg(&idx)
        .assert()
        .success();
    assert_eq!(npy_u8(&idx).1, golden_index());
}

#[test]
fn float_grey_npy_matches_numpy_golden() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("idx.npy");
    let out = dir.path().join("q.npy");
    gpix()
        .args(["quantize", "--device", "cpu"])
        .arg(data("grey_levels.npy"))
        .arg(&out)
        .arg("--palette")
        .arg(data("levels.txt"))
        .arg("--index-out")
        .arg(&idx)
        .assert()
        .success();
    assert_eq!(npy_u8(&idx).1, npy_u8(&data("grey_levels_index.npy")).1);
    let q = read_npy(&out, 1 << 30).unwrap();
    assert_eq!(q.shape, [37, 53]);
    assert!(matches!(q.data, NpyData::F32(_)));
}

#[test]
fn default_palette_writes_an_indexed_png_and_its_palette() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.png");
    let pal = dir.path().join("p.gpl");
    gpix()
        .args(["quantize", "--device", "cpu", "--colors", "16"])
        .arg(asset("coffee.png"))
        .arg(&out)
        .arg("--palette-out")
        .arg(&pal)
        .assert()
        .success();
    let palette = gpix::io::PaletteSource::read(&pal).unwrap();
    assert!(palette.len() <= 16 && palette.len() > 1);
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    let reader = decoder.read_info().unwrap();
    assert_eq!(reader.info().color_type, png::ColorType::Indexed);
}

#[cfg(feature = "gpu")]
#[test]
fn kmeans_gives_the_same_palette_on_cpu_and_gpu() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut palettes = Vec::new();
    for device in ["cpu", "gpu"] {
        let pal = dir.path().join(format!("{device}.txt"));
        gpix()
            .args([
                "quantize", "--device", device, "--colors", "8", "--method", "kmeans", "--seed",
                "5",
            ])
            .args(["--max-iter", "8"])
            .env("GPIX_BAND_BYTES", "100000")
            .arg(asset("coffee.png"))
            .arg(dir.path().join(format!("{device}.png")))
            .arg("--palette-out")
            .arg(&pal)
            .assert()
            .success();
        palettes.push(std::fs::read_to_string(&pal).unwrap());
    }
    assert_eq!(palettes[0], palettes[1]);
}

#[test]
fn devices_lists_what_auto_picks() {
    let out = gpix().arg("devices").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--device auto picks"));
}

#[test]
fn verbose_names_device_and_phases() {
    let dir = tempfile::tempdir().unwrap();
    let out = gpix()
        .args(["quantize", "--device", "cpu", "-v", "--colors", "4"])
        .arg(asset("coffee.png"))
        .arg(dir.path().join("q.png"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for needle in ["device: cpu", "decode:", "compute:", "encode:"] {
        assert!(stderr.contains(needle), "'{needle}' missing from: {stderr}");
    }
}

// ---- bad input: one error line, non-zero exit, nothing created or changed

#[test]
fn missing_input_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.png");
    let out = dir.path().join("q.png");
    quantize_fails(&missing, &out, &["--colors", "4"], "nope.png");
}

#[test]
fn corrupt_input_is_an_error_and_an_existing_output_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\nthis is not really a png").unwrap();
    let out = dir.path().join("q.png");
    std::fs::write(&out, b"precious").unwrap();
    quantize_fails(&bad, &out, &["--colors", "4"], "bad.png");
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
}

#[test]
fn truncated_npy_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read(data("grey_levels.npy")).unwrap();
    let cut = dir.path().join("cut.npy");
    std::fs::write(&cut, &full[..full.len() - 100]).unwrap();
    let out = dir.path().join("q.npy");
    quantize_fails(&cut, &out, &["--colors", "4"], "cut.npy");
}

/// `gpix quantize INPUT OUTPUT extra…` must fail with exit code 1 and an
/// error line containing `needle`, leaving the output's folder unchanged.
fn quantize_fails(input: impl AsRef<Path>, output: impl AsRef<Path>, extra: &[&str], needle: &str) {
    let output = output.as_ref();
    let dir = output.parent().expect("output in a folder");
    let mut args = vec![
        "quantize".to_string(),
        input.as_ref().to_string_lossy().into_owned(),
        output.to_string_lossy().into_owned(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    fails(&args, dir, needle, 1);
}

/// Quantizes the sample with a palette file holding `text`, expecting a
/// failure whose error line contains `needle` and no new file.
fn palette_file_fails(name: &str, text: &str, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let pal = dir.path().join(name);
    std::fs::write(&pal, text).unwrap();
    let out = dir.path().join("q.png");
    quantize_fails(
        asset("coffee.png"),
        &out,
        &["--palette", pal.to_str().unwrap()],
        needle,
    );
}

#[test]
fn palette_with_a_bad_line_names_file_and_line() {
    palette_file_fails("bad.txt", "#000000\n#ffffff\n12 34 banana\n", "bad.txt:3:");
}

#[test]
fn palette_value_out_of_range_names_the_line() {
    palette_file_fails("big.txt", "0 0 0\n300 0 0\n", "big.txt:2:");
}

#[test]
fn empty_palette_is_an_error() {
    palette_file_fails("empty.txt", "# nothing here\n\n", "no colours");
}

#[test]
fn grey_levels_on_an_rgb_image_are_an_error() {
    palette_file_fails("grey.txt", "0\n128\n255\n", "grey.txt");
}

#[test]
fn colors_out_of_range_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.png");
    for k in ["0", "65537", "ten"] {
        fails(
            &[
                "quantize",
                asset("coffee.png").to_str().unwrap(),
                out.to_str().unwrap(),
                "--colors",
                k,
            ],
            dir.path(),
            "--colors",
            2,
        );
    }
}

#[test]
fn unsupported_npy_dtype_and_shape_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let ints = dir.path().join("ints.npy");
    let f = std::fs::File::create(&ints).unwrap();
    gpix::io::npy::write_npy(f, &[2, 2], &[1i32, 2, 3, 4]).unwrap();
    let cube = dir.path().join("cube.npy");
    let f = std::fs::File::create(&cube).unwrap();
    gpix::io::npy::write_npy(f, &[2, 2, 2, 2], &[0u8; 16]).unwrap();
    let out = dir.path().join("q.npy");
    quantize_fails(&ints, &out, &["--colors", "2"], "int32");
    quantize_fails(&cube, &out, &["--colors", "2"], "cube.npy");
}

#[test]
fn float_input_to_an_image_format_is_refused_before_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.png");
    quantize_fails(data("grey_levels.npy"), &out, &["--colors", "4"], ".npy");
}

#[test]
fn gpu_request_without_adapter_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.png");
    let before = listing(dir.path());
    let output = gpix()
        .args(["quantize", "--device", "gpu", "--colors", "4"])
        .arg(asset("coffee.png"))
        .arg(&out)
        // VK_DRIVER_FILES overrides the older variable where it is set
        // (NVIDIA containers set it): hide the drivers through both.
        .env("VK_ICD_FILENAMES", "/nonexistent.json")
        .env("VK_DRIVER_FILES", "/nonexistent.json")
        .env_remove("VK_ADD_DRIVER_FILES")
        .env("WGPU_BACKEND", "vulkan")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: no GPU adapter"), "{stderr}");
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn auto_falls_back_to_cpu_without_hardware_gpu() {
    // lavapipe is software: auto must not pick it.
    let dir = tempfile::tempdir().unwrap();
    let out = gpix()
        .args(["quantize", "--device", "auto", "-v", "--colors", "4"])
        .arg(asset("coffee.png"))
        .arg(dir.path().join("q.png"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    #[cfg(feature = "gpu")]
    let hardware = gpix::list_adapters().iter().any(|a| !a.software);
    #[cfg(not(feature = "gpu"))]
    let hardware = false;
    if !hardware {
        assert!(stderr.contains("device: cpu"), "{stderr}");
    }
}

#[test]
fn bad_output_extension_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.xyz");
    quantize_fails(asset("coffee.png"), &out, &["--colors", "4"], "q.xyz");
}

#[test]
fn a_successful_run_prints_no_error_lines_even_without_xdg_runtime_dir() {
    // Mesa warns "error: XDG_RUNTIME_DIR is invalid" when adapters are
    // enumerated outside a desktop session; gpix must not pass that on.
    let dir = tempfile::tempdir().unwrap();
    let out = gpix()
        .env_remove("XDG_RUNTIME_DIR")
        .args(["quantize", "--device", "auto", "--colors", "4"])
        .arg(asset("coffee.png"))
        .arg(dir.path().join("q.png"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn bench_runs_every_image_kind_and_devices_agree() {
    #[cfg(feature = "gpu")]
    let devices = if common::gpu().is_some() {
        "cpu,gpu"
    } else {
        "cpu"
    };
    #[cfg(not(feature = "gpu"))]
    let devices = "cpu";
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let out = gpix()
        .args([
            "bench", "quantize", "--size", "48x40", "--colors", "4,300", "--runs", "1",
        ])
        .args([
            "--images",
            "smooth,uniform,grey-f32,grey-u8",
            "--devices",
            devices,
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains(" NO"), "{stdout}");
    let text = std::fs::read_to_string(&json).unwrap();
    let rows = text.matches("\"op\": \"quantize\"").count();
    assert_eq!(rows, 4 * 2 * devices.split(',').count());
}

#[test]
fn large_rgb_png_counted_while_decoding_gives_the_library_palette() {
    // Over 2^21 pixels, so the CLI counts colours band by band (23 bands
    // here) as the PNG decodes; the palette must be the library's (refined
    // or plain median cut) of the whole image.
    let (w, h) = (1500u32, 1500u32);
    let mut s = 1u64;
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let n = (s >> 40) as u32;
        image::Rgb([
            (x / 6 + n % 5) as u8,
            (y / 6 + (n >> 8) % 5) as u8,
            ((x + y) / 12 + (n >> 16) % 7) as u8,
        ])
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.png");
    img.save(&input).unwrap();
    let view = gpix::ImageView::new(img.as_raw(), h as usize, w as usize, 3).unwrap();
    let hist = gpix::ops::median_cut::histogram_u8(view);
    let plain = gpix::ops::median_cut::median_cut(&hist, 64).unwrap();
    let refined =
        gpix::refined_palette(&hist, 64, gpix::GreyWeights::Distinct, &gpix::Device::Cpu).unwrap();
    assert_ne!(plain, refined);
    // The default (refined) and plain median cut, both from the counts.
    for (method, expected) in [(None, refined), (Some("median-cut"), plain)] {
        let pal = dir.path().join("p.npy");
        let mut cmd = gpix();
        cmd.args(["quantize", "--device", "cpu", "--colors", "64", "-v"])
            .args(["--decode-band-pixels", "100000"]);
        if let Some(m) = method {
            cmd.args(["--method", m]);
        }
        let run = cmd
            .arg(&input)
            .arg(dir.path().join("q.png"))
            .arg("--palette-out")
            .arg(&pal)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{stderr}");
        assert!(
            stderr.contains("colours counted while decoding"),
            "{stderr}"
        );
        let (shape, written) = npy_u8(&pal);
        assert_eq!(shape, [expected.len(), 3], "{method:?}");
        let expected: Vec<u8> = expected.values().iter().map(|&v| v as u8).collect();
        assert_eq!(written, expected, "{method:?}");
    }
}

#[test]
fn images_over_the_byte_limit_are_refused_by_both_readers() {
    // --colors reads PNGs band by band, --palette whole: both check
    // GPIX_MAX_BYTES before allocating and say how to raise it.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("wide.png");
    image::RgbImage::from_pixel(300, 200, image::Rgb([9, 8, 7]))
        .save(&input)
        .unwrap();
    let out = dir.path().join("q.png");
    for source in [
        &["--colors", "4"][..],
        &["--palette", asset("cga16.gpl").to_str().unwrap()],
    ] {
        let run = gpix()
            .env("GPIX_MAX_BYTES", "100000")
            .args(["quantize", "--device", "cpu"])
            .arg(&input)
            .arg(&out)
            .args(source)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        let line = stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("");
        assert!(
            line.contains("wide.png") && line.contains("GPIX_MAX_BYTES"),
            "{stderr}"
        );
        assert!(!out.exists());
    }
}

/// `--weights pixels` gives a flat background its own level; the default
/// (distinct values) spreads the levels over the values present.
#[test]
fn grey_weights_are_chosen_by_flag() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("grey.npy");
    let data: Vec<u8> = (0..10_000u32)
        .map(|i| {
            if i % 10 == 0 {
                (1 + (i / 10) % 255) as u8
            } else {
                0
            }
        })
        .collect();
    gpix::io::npy::write_npy(std::fs::File::create(&input).unwrap(), &[100, 100], &data).unwrap();
    // k-means and the default (refined) method count values alike.
    for method in [Some("kmeans"), None] {
        let mut lowest = Vec::new();
        for weights in [None, Some("distinct"), Some("pixels")] {
            let pal = dir.path().join("levels.txt");
            let mut cmd = gpix();
            cmd.args(["quantize", "--colors", "2", "--palette-out"])
                .arg(&pal)
                .arg(&input)
                .arg(dir.path().join("out.npy"));
            if let Some(m) = method {
                cmd.args(["--method", m]);
            }
            if let Some(w) = weights {
                cmd.args(["--weights", w]);
            }
            cmd.assert().success();
            let text = std::fs::read_to_string(&pal).unwrap();
            let first: f64 = text
                .lines()
                .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .and_then(|l| l.split_whitespace().next())
                .unwrap()
                .parse()
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            lowest.push(first);
        }
        assert_eq!(lowest[0], lowest[1], "{method:?}");
        assert!(
            lowest[1] > 30.0 && lowest[2] < 10.0,
            "{method:?}: {lowest:?}"
        );
    }
}

/// `--dither`: Floyd–Steinberg is deterministic and differs from the plain
/// nearest colours; ordered gives the same file on every device.
#[test]
fn dithering_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = |dither: &str, device: &str, name: &str| {
        let out = dir.path().join(name);
        gpix()
            .args([
                "quantize", "--colors", "8", "--device", device, "--dither", dither,
            ])
            .arg(asset("coffee.png"))
            .arg(&out)
            .assert()
            .success();
        std::fs::read(out).unwrap()
    };
    let plain = run("none", "cpu", "none.png");
    let fs = run("floyd-steinberg", "cpu", "fs.png");
    assert_ne!(plain, fs);
    assert_eq!(fs, run("floyd-steinberg", "cpu", "fs2.png"));
    let ordered = run("ordered", "cpu", "ordered.png");
    assert_ne!(ordered, plain);
    #[cfg(feature = "gpu")]
    if common::gpu().is_some() {
        assert_eq!(run("ordered", "gpu", "ordered-gpu.png"), ordered);
        // Error diffusion runs on the CPU whatever the device.
        assert_eq!(run("floyd-steinberg", "gpu", "fs-gpu.png"), fs);
    }
}
