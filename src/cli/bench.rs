//! `gpix bench <op>`: synthetic inputs, every requested device, results
//! checked against each other, median times.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use gpix::{
    convolve_into, gabor_kernel, gradient_into, hessian_into, label_mean_image_into,
    local_stats_into, nearest_level_into, nearest_palette_into, synth, uniform_filter_into,
    BoundaryMode, Device, DeviceRequest, GradientOptions, GradientOut, HessianOptions, HessianOut,
    ImageView, Kernel, Levels, Palette, PaletteIndex, StatsOut, Stencil,
};

use super::Common;

#[derive(Subcommand, Debug)]
pub(crate) enum BenchCommand {
    /// Nearest-palette quantization with random palettes. Devices' results
    /// are compared: identical index maps for integer images; for float
    /// levels, differences only where two levels are within f32 rounding of
    /// a tie (the GPU computes in f32). Exits non-zero if they disagree.
    #[command(after_help = super::examples::BENCH_QUANTIZE)]
    Quantize(QuantizeBench),
    /// Per-label mean recolour (sums + recolour into a preallocated output)
    /// with superpixel-like Voronoi labels. Devices' outputs are compared:
    /// identical for u8 images, within 1e-6 relative for f32. Exits non-zero
    /// if they disagree.
    #[command(after_help = super::examples::BENCH_LABEL_MEAN)]
    LabelMean(LabelMeanBench),
    /// Sliding-window filters on photo-like float32 data: uniform (box)
    /// filter, local mean + variance + std, and a 3×3 box on a stack of
    /// layers. Devices' outputs are compared within the float32 bound
    /// (1e-5 of the largest magnitude). Exits non-zero if they disagree.
    #[command(after_help = super::examples::BENCH_FILTER)]
    Filter(FilterBench),
    /// Finite differences on a photo-like float64 field: numpy.gradient (dy,
    /// dx), the Hessian as the gradient twice, and the compact Hessian, into
    /// preallocated outputs. Devices agree within the float32 bound.
    #[command(after_help = super::examples::BENCH_DIFF)]
    Diff(DiffBench),
}

#[derive(Args, Debug)]
pub(crate) struct DiffBench {
    /// Array size, HEIGHTxWIDTH.
    #[arg(long, default_value = "5000x5000", value_parser = parse_size)]
    size: (usize, usize),
    /// Cases: gradient, hessian (numpy.gradient twice), compact.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "gradient,hessian,compact"
    )]
    cases: Vec<String>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args, Debug)]
pub(crate) struct FilterBench {
    /// Array size, HEIGHTxWIDTH.
    #[arg(long, default_value = "5000x5000", value_parser = parse_size)]
    size: (usize, usize),
    /// Cases: uniform (15×15), stats (15×15 mean+var+std), layers (3×3 box
    /// on 16 layers), gabor and gabor31 (the real part of
    /// gabor_kernel(0.15, θ = π/2, σ = 5), 15×15 and 31×31: separable),
    /// random15 and random31 (full-rank random kernels), maximum and
    /// minimum (15×15 maximum_filter / minimum_filter), median and median3
    /// (15×15 and 3×3 median_filter).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "uniform,stats,layers,gabor,gabor31,random15,random31,maximum"
    )]
    cases: Vec<String>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args, Debug)]
pub(crate) struct LabelMeanBench {
    /// Image size, HEIGHTxWIDTH.
    #[arg(long, default_value = "4000x4000", value_parser = parse_size)]
    size: (usize, usize),
    /// Numbers of labels to run.
    #[arg(long, value_delimiter = ',', default_value = "10000")]
    labels: Vec<usize>,
    /// Images: f32 (photo-like float RGB), u8 (photo-like 8-bit RGB).
    #[arg(long, value_delimiter = ',', default_value = "f32,u8")]
    images: Vec<String>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args, Debug)]
pub(crate) struct QuantizeBench {
    /// Image size, HEIGHTxWIDTH.
    #[arg(long, default_value = "4000x4000", value_parser = parse_size)]
    size: (usize, usize),
    /// Palette sizes to run.
    #[arg(long, value_delimiter = ',', default_value = "16,256")]
    colors: Vec<usize>,
    /// Images: smooth (photo-like RGB), uniform (noise RGB), grey-f32, grey-u8.
    #[arg(long, value_delimiter = ',', default_value = "smooth,uniform")]
    images: Vec<String>,
    #[command(flatten)]
    run: RunArgs,
}

/// Devices, repetitions and JSON output, shared by every bench.
#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// Devices to run (cpu, gpu, auto).
    #[arg(long, value_delimiter = ',', default_value = "cpu,gpu")]
    devices: Vec<String>,
    /// Timed runs per case (after one warm-up); the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Also write the results as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// For GPU runs, also report where the time goes (medians per run):
    /// host upload (writing inputs into mapped memory, with dtype
    /// conversion), host wait, host readback (copying outputs out), device
    /// time of the kernels (timestamp queries, or n/a), next to a plain
    /// parallel copy of the case's input and output bytes on this host.
    #[arg(long)]
    phases: bool,
}

fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (h, w) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("'{s}' is not HEIGHTxWIDTH"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{s}' is not HEIGHTxWIDTH"))
    };
    Ok((parse(h)?, parse(w)?))
}

/// Bytes per pixel a benchmark holds at most at once (inputs, every
/// device's outputs, reference copies), generously: the 16-layer filter
/// stack, the five float64 Hessian outputs.
fn bytes_per_pixel(cmd: &BenchCommand) -> ((usize, usize), usize) {
    match cmd {
        BenchCommand::Quantize(a) => (a.size, 16),
        BenchCommand::LabelMean(a) => (a.size, 64),
        // The 16-layer stack dominates; stats keep three outputs per device.
        BenchCommand::Filter(a) if a.cases.iter().any(|c| c == "layers") => (a.size, 320),
        BenchCommand::Filter(a) if a.cases.iter().any(|c| c == "stats") => (a.size, 64),
        BenchCommand::Filter(a) => (a.size, 32),
        BenchCommand::Diff(a) => (a.size, 96),
    }
}

pub(crate) fn run(common: &Common, cmd: &BenchCommand) -> anyhow::Result<()> {
    // Checked before any data is made: a size over the memory limit is an
    // error, not an abort.
    let ((h, w), per_pixel) = bytes_per_pixel(cmd);
    gpix::mem::check_bytes(
        || format!("a {h}x{w} benchmark"),
        (h as u128).checked_mul(w as u128),
        per_pixel,
    )?;
    match cmd {
        BenchCommand::Quantize(args) => quantize(common, args),
        BenchCommand::LabelMean(args) => label_mean(common, args),
        BenchCommand::Filter(args) => filter(common, args),
        BenchCommand::Diff(args) => diff(common, args),
    }
}

/// One measured case.
struct Record {
    op: &'static str,
    image: String,
    k: usize,
    device: String,
    median_ms: f64,
    mpx_per_s: f64,
    speedup_vs_cpu: Option<f64>,
    agrees: bool,
    phases: Option<PhaseMs>,
    /// A plain copy of the case's input bytes plus one of its output bytes.
    copy_floor_ms: Option<f64>,
}

/// The input of one case, kept for every device.
enum Input {
    Rgb(gpix::Image<u8>),
    GreyU8(gpix::Image<u8>),
    GreyF32(gpix::Image<f32>),
}

fn make_input(kind: &str, h: usize, w: usize) -> anyhow::Result<Input> {
    Ok(match kind {
        "smooth" => Input::Rgb(synth::smooth_rgb(h, w, 0)),
        "uniform" => Input::Rgb(synth::uniform_rgb(h, w, 1)),
        "grey-f32" => Input::GreyF32(synth::smooth_grey_f32(h, w, 3)),
        "grey-u8" => {
            let f = synth::smooth_grey_f32(h, w, 3);
            let data = f
                .data()
                .iter()
                .map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
                .collect();
            Input::GreyU8(gpix::Image::from_vec(data, h, w, 1)?)
        }
        other => bail!("unknown bench image '{other}' (smooth, uniform, grey-f32, grey-u8)"),
    })
}

/// The median time of a case on one device and, for GPU runs, the medians
/// of its phases.
struct Timing {
    median_ms: f64,
    phases: Option<PhaseMs>,
}

/// Medians of [`gpix::Phases`] over the timed runs, in ms.
#[derive(Clone, Copy, Debug)]
struct PhaseMs {
    upload: f64,
    wait: f64,
    readback: f64,
    /// `None` where the device has no timestamp queries.
    device: Option<f64>,
    bands: u64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Runs `f` once to warm up, then `runs` times: the median in ms. With
/// `phases` on a GPU, `runs` more with the phases isolated (the device idle
/// during host work, see [`gpix::GpuContext::isolate_phases`]) give the
/// medians of the streamed path's phases.
fn timed(
    runs: usize,
    device: &Device,
    phases: bool,
    mut f: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Timing> {
    f()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let phase_ms = if phases {
        phase_medians(runs, device, &mut f)?
    } else {
        None
    };
    Ok(Timing {
        median_ms: median(times),
        phases: phase_ms,
    })
}

#[cfg(feature = "gpu")]
fn phase_medians(
    runs: usize,
    device: &Device,
    f: &mut impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Option<PhaseMs>> {
    let Device::Gpu(ctx) = device else {
        return Ok(None);
    };
    let _ = ctx.take_phases();
    ctx.isolate_phases(true);
    let mut phases = Vec::with_capacity(runs);
    let result = (0..runs.max(1)).try_for_each(|_| {
        f()?;
        phases.push(ctx.take_phases());
        Ok::<_, anyhow::Error>(())
    });
    ctx.isolate_phases(false);
    result?;
    if phases.iter().all(|p| p.bands == 0) {
        return Ok(None);
    }
    let pick = |g: fn(&gpix::Phases) -> f64| median(phases.iter().map(|p| g(p) * 1e3).collect());
    Ok(Some(PhaseMs {
        upload: pick(|p| p.upload_s),
        wait: pick(|p| p.wait_s),
        readback: pick(|p| p.readback_s),
        device: ctx.has_timestamps().then(|| pick(|p| p.device_s)),
        bands: phases.iter().map(|p| p.bands).max().unwrap_or(0),
    }))
}

#[cfg(not(feature = "gpu"))]
fn phase_medians(
    _runs: usize,
    _device: &Device,
    _f: &mut impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Option<PhaseMs>> {
    Ok(None)
}

/// The median time of one parallel copy of `bytes` between two buffers
/// touched beforehand: the floor for host work that reads and writes those
/// bytes once, measured in the same process as the case.
fn copy_floor_ms(bytes: usize, runs: usize) -> f64 {
    use rayon::prelude::*;
    let src = vec![1u8; bytes];
    let mut dst = vec![0u8; bytes];
    let piece = 1 << 20;
    let mut times = Vec::new();
    for _ in 0..=runs.max(1) {
        let t = Instant::now();
        dst.par_chunks_mut(piece)
            .zip(src.par_chunks(piece))
            .for_each(|(d, s)| d.copy_from_slice(s));
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    std::hint::black_box(&dst);
    times.remove(0);
    median(times)
}

fn open_devices(common: &Common, names: &[String]) -> anyhow::Result<Vec<(String, Device)>> {
    let mut devices = Vec::new();
    for name in names {
        let request: DeviceRequest = name.parse()?;
        let mut c = common.clone();
        c.device = request;
        let device = c.device().with_context(|| format!("device {name}"))?;
        devices.push((name.clone(), device));
    }
    Ok(devices)
}

fn print_header(op: &str, h: usize, w: usize, runs: usize, devices: &[(String, Device)], k: &str) {
    println!("gpix bench {op}: {h}x{w}, median of {runs} runs after 1 warm-up");
    for (name, d) in devices {
        println!("  {name}: {}", d.describe());
    }
    println!(
        "{:<10} {:>6} {:<6} {:>10} {:>9} {:>9}  agree",
        "image", k, "device", "median ms", "Mpx/s", "vs cpu"
    );
}

/// What one benchmark case is (the same for every device).
struct Case<'a> {
    op: &'static str,
    image: &'a str,
    k: usize,
    pixels: usize,
    /// Bytes the caller hands in and gets back (the copy floor's sizes).
    in_bytes: usize,
    out_bytes: usize,
    /// `--phases`: runs for the copy floor (0: no phases reported).
    phase_runs: usize,
}

impl Case<'_> {
    /// Prints and keeps one device's result; the case's first CPU time
    /// (`cpu_ms`) is the base of every speedup.
    fn record(
        &self,
        records: &mut Vec<Record>,
        cpu_ms: &mut Option<f64>,
        name: &str,
        device: &Device,
        timing: &Timing,
        agrees: bool,
    ) {
        let ms = timing.median_ms;
        if device.is_cpu() && cpu_ms.is_none() {
            *cpu_ms = Some(ms);
        }
        let phases = timing.phases;
        let copy_floor_ms = phases.map(|_| {
            copy_floor_ms(self.in_bytes, self.phase_runs)
                + copy_floor_ms(self.out_bytes, self.phase_runs)
        });
        let rec = Record {
            op: self.op,
            image: self.image.to_string(),
            k: self.k,
            device: name.to_string(),
            median_ms: ms,
            mpx_per_s: self.pixels as f64 / ms / 1e3,
            speedup_vs_cpu: cpu_ms.map(|c| c / ms),
            agrees,
            phases,
            copy_floor_ms,
        };
        print_record(&rec);
        records.push(rec);
    }
}

fn print_record(rec: &Record) {
    println!(
        "{:<10} {:>6} {:<6} {:>10.1} {:>9.1} {:>9}  {}",
        rec.image,
        rec.k,
        rec.device,
        rec.median_ms,
        rec.mpx_per_s,
        rec.speedup_vs_cpu
            .map_or("-".into(), |s| format!("{s:.2}x")),
        if rec.agrees { "yes" } else { "NO" }
    );
    if let (Some(p), Some(floor)) = (rec.phases, rec.copy_floor_ms) {
        let device = p.device.map_or("n/a".into(), |d| format!("{d:.1} ms"));
        let host = p.upload + p.readback;
        println!(
            "    phases: host upload {:.1} ms + host readback {:.1} ms = {host:.1} ms \
             ({:.2}x the copy floor {floor:.1} ms), host wait {:.1} ms, device {device}, {} bands",
            p.upload,
            p.readback,
            host / floor.max(1e-9),
            p.wait,
            p.bands
        );
    }
}

fn finish(records: &[Record], json: Option<&PathBuf>, h: usize, w: usize) -> anyhow::Result<()> {
    if let Some(path) = json {
        gpix::io::write_atomically(path, |wr| {
            use std::io::Write;
            wr.write_all(to_json(records, h, w).as_bytes())
                .map_err(|e| gpix::Error::io(path, e))
        })?;
    }
    if records.iter().any(|r| !r.agrees) {
        bail!("devices disagree: see the 'agree' column");
    }
    Ok(())
}

fn label_mean(common: &Common, args: &LabelMeanBench) -> anyhow::Result<()> {
    let (h, w) = args.size;
    let devices = open_devices(common, &args.run.devices)?;
    print_header("label-mean", h, w, args.run.runs, &devices, "M");
    let mut records = Vec::new();
    for kind in &args.images {
        let image = match kind.as_str() {
            "f32" => LabelImage::F32(synth::smooth_rgb_f32(h, w, 7)),
            "u8" => LabelImage::U8(synth::smooth_rgb(h, w, 7)),
            other => bail!("unknown bench image '{other}' (f32, u8)"),
        };
        for &m in &args.labels {
            let labels = synth::voronoi_labels(h, w, m, 5);
            let mut reference: Option<Vec<f32>> = None;
            let mut cpu_ms = None;
            for (name, device) in &devices {
                let (timing, out) = match &image {
                    LabelImage::F32(img) => {
                        let mut out = vec![0f32; img.data().len()];
                        let timing = timed(args.run.runs, device, args.run.phases, || {
                            label_mean_image_into(device, img.view(), &labels, &mut out)?;
                            Ok(())
                        })?;
                        (timing, out)
                    }
                    LabelImage::U8(img) => {
                        let mut out = vec![0u8; img.data().len()];
                        let timing = timed(args.run.runs, device, args.run.phases, || {
                            label_mean_image_into(device, img.view(), &labels, &mut out)?;
                            Ok(())
                        })?;
                        (timing, out.iter().map(|&v| f32::from(v)).collect())
                    }
                };
                let agrees = match &reference {
                    None => {
                        reference = Some(out);
                        true
                    }
                    // f32 means may differ in the last bit (f64 vs fixed-point sums).
                    Some(r) => r
                        .iter()
                        .zip(&out)
                        .all(|(&a, &b)| (a - b).abs() <= 1e-6 * a.abs().max(1e-30)),
                };
                let image_bytes = match &image {
                    LabelImage::F32(img) => img.data().len() * 4,
                    LabelImage::U8(img) => img.data().len(),
                };
                let what = Case {
                    op: "label-mean",
                    image: kind,
                    k: m,
                    pixels: h * w,
                    in_bytes: image_bytes + labels.len() * 4,
                    out_bytes: image_bytes,
                    phase_runs: phase_runs(&args.run),
                };
                what.record(&mut records, &mut cpu_ms, name, device, &timing, agrees);
            }
        }
    }
    finish(&records, args.run.json.as_ref(), h, w)
}

fn filter(common: &Common, args: &FilterBench) -> anyhow::Result<()> {
    let (h, w) = args.size;
    let devices = open_devices(common, &args.run.devices)?;
    print_header("filter", h, w, args.run.runs, &devices, "size");
    let mut records = Vec::new();
    for case in &args.cases {
        let (channels, size) = match case.as_str() {
            "uniform" | "stats" | "gabor" | "random15" | "maximum" | "minimum" | "median"
            | "erode-disk" | "median-disk" => (1, 15),
            "median3" => (1, 3),
            "gabor31" | "random31" => (1, 31),
            "layers" => (16, 3),
            other => bail!(
                "unknown filter case '{other}' (uniform, stats, layers, gabor, gabor31, random15, \
                 random31, maximum, minimum, median, median3, erode-disk, median-disk)"
            ),
        };
        let kernel = bench_kernel(case, size)?;
        // The disk cases: a disk of the window's width (radius 7 in 15×15).
        let window = if case.ends_with("-disk") {
            gpix::Footprint::disk(size / 2)
        } else {
            gpix::Footprint::rectangle([size, size])
        };
        let label = if channels > 1 {
            format!("{case}x{channels}")
        } else {
            case.clone()
        };
        let field = synth::smooth_field(h, w, channels, 11, 64, 0.02);
        let image = gpix::Image::from_vec(field, h, w, channels)?;
        let mut reference: Option<Vec<f32>> = None;
        let mut cpu_ms = None;
        for (name, device) in &devices {
            let mut out = vec![0f32; image.data().len()];
            let mode = BoundaryMode::Reflect;
            let timing = if case == "stats" {
                let mut var = vec![0f32; out.len()];
                let mut std = vec![0f32; out.len()];
                timed(args.run.runs, device, args.run.phases, || {
                    let outs = StatsOut {
                        mean: Some(&mut out),
                        var: Some(&mut var),
                        std: Some(&mut std),
                    };
                    local_stats_into(device, image.view(), [size, size], mode, outs)?;
                    Ok(())
                })?
            } else if let Some(kind) = extremum_case(case) {
                timed(args.run.runs, device, args.run.phases, || {
                    gpix::extremum_filter_into(
                        device,
                        image.view(),
                        kind,
                        &window,
                        mode,
                        &mut out,
                    )?;
                    Ok(())
                })?
            } else if case.starts_with("median") {
                timed(args.run.runs, device, args.run.phases, || {
                    gpix::rank_filter_into(
                        device,
                        image.view(),
                        gpix::Rank::Median,
                        &window,
                        mode,
                        &mut out,
                    )?;
                    Ok(())
                })?
            } else if let Some(k) = &kernel {
                timed(args.run.runs, device, args.run.phases, || {
                    convolve_into(device, image.view(), k, mode, &mut out)?;
                    Ok(())
                })?
            } else {
                timed(args.run.runs, device, args.run.phases, || {
                    uniform_filter_into(device, image.view(), [size, size], mode, &mut out)?;
                    Ok(())
                })?
            };
            let agrees = match &reference {
                None => {
                    reference = Some(out);
                    true
                }
                Some(r) => {
                    let gain = kernel
                        .as_ref()
                        .map_or(1.0, |k| k.weights().iter().map(|w| w.abs()).sum::<f64>());
                    let scale =
                        image.data().iter().fold(1e-30f32, |m, v| m.max(v.abs())) * gain as f32;
                    r.iter()
                        .zip(&out)
                        .all(|(a, b)| (a - b).abs() <= 1e-5 * scale)
                }
            };
            let what = Case {
                op: "filter",
                image: &label,
                k: size,
                pixels: h * w,
                in_bytes: image.data().len() * 4,
                out_bytes: image.data().len() * 4 * if case == "stats" { 3 } else { 1 },
                phase_runs: phase_runs(&args.run),
            };
            what.record(&mut records, &mut cpu_ms, name, device, &timing, agrees);
        }
    }
    finish(&records, args.run.json.as_ref(), h, w)
}

fn diff(common: &Common, args: &DiffBench) -> anyhow::Result<()> {
    let (h, w) = args.size;
    let devices = open_devices(common, &args.run.devices)?;
    print_header("diff", h, w, args.run.runs, &devices, "outs");
    let field: Vec<f64> = synth::smooth_field(h, w, 1, 13, 64, 0.02)
        .into_iter()
        .map(f64::from)
        .collect();
    let image = gpix::Image::from_vec(field, h, w, 1)?;
    let mut records = Vec::new();
    for case in &args.cases {
        let stencil = match case.as_str() {
            "gradient" => None,
            "hessian" => Some(Stencil::Gradient),
            "compact" => Some(Stencil::Compact),
            other => bail!("unknown diff case '{other}' (gradient, hessian, compact)"),
        };
        let n_out = if stencil.is_some() { 3 } else { 2 };
        let mut reference: Option<Vec<Vec<f64>>> = None;
        let mut cpu_ms = None;
        for (name, device) in &devices {
            let mut outs = vec![vec![0f64; h * w]; n_out];
            let timing = timed(args.run.runs, device, args.run.phases, || {
                let mut it = outs.iter_mut();
                match stencil {
                    None => gradient_into(
                        device,
                        image.view(),
                        &GradientOptions::default(),
                        GradientOut {
                            dy: it.next().map(Vec::as_mut_slice),
                            dx: it.next().map(Vec::as_mut_slice),
                            magnitude: None,
                        },
                    )?,
                    Some(stencil) => hessian_into(
                        device,
                        image.view(),
                        &HessianOptions {
                            stencil,
                            ..HessianOptions::default()
                        },
                        HessianOut {
                            dyy: it.next().map(Vec::as_mut_slice),
                            dxy: it.next().map(Vec::as_mut_slice),
                            dxx: it.next().map(Vec::as_mut_slice),
                            eigen: None,
                        },
                    )?,
                }
                Ok(())
            })?;
            let agrees = match &reference {
                None => {
                    reference = Some(outs);
                    true
                }
                Some(r) => r.iter().zip(&outs).all(|(a, b)| {
                    let scale = a.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
                    a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5 * scale)
                }),
            };
            let what = Case {
                op: "diff",
                image: case,
                k: n_out,
                pixels: h * w,
                in_bytes: h * w * 8,
                out_bytes: h * w * 8 * n_out,
                phase_runs: phase_runs(&args.run),
            };
            what.record(&mut records, &mut cpu_ms, name, device, &timing, agrees);
        }
    }
    finish(&records, args.run.json.as_ref(), h, w)
}

/// The extremum of a maximum / minimum filter case.
fn extremum_case(case: &str) -> Option<gpix::Extremum> {
    match case {
        "maximum" => Some(gpix::Extremum::Maximum),
        "minimum" | "erode-disk" => Some(gpix::Extremum::Minimum),
        _ => None,
    }
}

/// The kernel of a convolution case (`None` for box cases).
fn bench_kernel(case: &str, size: usize) -> anyhow::Result<Option<Kernel>> {
    Ok(match case {
        // The peers' W4 kernels: gabor_kernel(0.15, θ = π/2, σ = 5) with
        // n_stds 1.4 (15×15) or 3 (31×31); rank 1, found by the SVD.
        "gabor" | "gabor31" => {
            let n_stds = if case == "gabor" { 1.4 } else { 3.0 };
            let (re, _) = gabor_kernel(0.15, std::f64::consts::FRAC_PI_2, 5.0, 5.0, n_stds, 0.0)?;
            Some(re)
        }
        "random15" | "random31" => {
            let mut rng = synth::Rng::new(21);
            let w = (0..size * size).map(|_| rng.next_f64() - 0.5).collect();
            Some(Kernel::new(size, size, w)?)
        }
        _ => None,
    })
}

/// The image of one label-mean case.
enum LabelImage {
    F32(gpix::Image<f32>),
    U8(gpix::Image<u8>),
}

fn quantize(common: &Common, args: &QuantizeBench) -> anyhow::Result<()> {
    let (h, w) = args.size;
    let devices = open_devices(common, &args.run.devices)?;
    print_header("quantize", h, w, args.run.runs, &devices, "K");
    let mut records = Vec::new();
    for kind in &args.images {
        let input = make_input(kind, h, w)?;
        for &k in &args.colors {
            let mut reference: Option<Vec<u16>> = None;
            let mut cpu_ms = None;
            for (name, device) in &devices {
                // Index maps as the CLI makes them: u8 up to 256 colours.
                let (timing, out) = if k <= 256 {
                    let mut out = vec![0u8; h * w];
                    let timing = timed(args.run.runs, device, args.run.phases, || {
                        run_case(&input, k, device, &mut out)
                    })?;
                    (
                        timing,
                        out.iter().map(|&i| u16::from(i)).collect::<Vec<u16>>(),
                    )
                } else {
                    let mut out = vec![0u16; h * w];
                    let timing = timed(args.run.runs, device, args.run.phases, || {
                        run_case(&input, k, device, &mut out)
                    })?;
                    (timing, out)
                };
                let agrees = match &reference {
                    None => {
                        reference = Some(out.clone());
                        true
                    }
                    Some(r) => agree(&input, k, r, &out),
                };
                let what = Case {
                    op: "quantize",
                    image: kind,
                    k,
                    pixels: h * w,
                    in_bytes: input_bytes(&input),
                    out_bytes: h * w * if k <= 256 { 1 } else { 2 },
                    phase_runs: phase_runs(&args.run),
                };
                what.record(&mut records, &mut cpu_ms, name, device, &timing, agrees);
            }
        }
    }
    finish(&records, args.run.json.as_ref(), h, w)
}

/// Bytes of a quantize case's input.
fn input_bytes(input: &Input) -> usize {
    match input {
        Input::Rgb(img) | Input::GreyU8(img) => img.data().len(),
        Input::GreyF32(img) => img.data().len() * 4,
    }
}

/// Runs of the copy floor under `--phases`; 0 without it.
fn phase_runs(run: &RunArgs) -> usize {
    if run.phases {
        run.runs.max(1)
    } else {
        0
    }
}

/// One timed run, writing into a preallocated index map (as the `_into`
/// API lets callers do), so page faults of a fresh output are not counted.
fn run_case<I: PaletteIndex>(
    input: &Input,
    k: usize,
    device: &Device,
    out: &mut [I],
) -> anyhow::Result<()> {
    match input {
        Input::Rgb(img) => {
            let palette = Palette::new(3, synth::random_palette(k, 3, 100 + k as u64))?;
            nearest_palette_into(img.view(), &palette, device, out)?;
        }
        Input::GreyU8(img) => {
            let palette = Palette::new(1, synth::random_palette(k, 1, 100 + k as u64))?;
            nearest_palette_into(img.view(), &palette, device, out)?;
        }
        Input::GreyF32(img) => {
            let view: ImageView<'_, f32> = img.view();
            nearest_level_into(view, &bench_levels(k)?, device, out)?;
        }
    }
    Ok(())
}

/// The random levels of the grey-f32 case.
fn bench_levels(k: usize) -> gpix::Result<Levels> {
    let mut rng = synth::Rng::new(8);
    Levels::new((0..k).map(|_| rng.next_f64()).collect())
}

/// Whether two devices' index maps agree: identical for integer images; for
/// float levels, a pixel may differ only where its two candidate levels are
/// within f32 rounding of a tie (the GPU computes in f32; see `nearest_level`).
fn agree(input: &Input, k: usize, a: &[u16], b: &[u16]) -> bool {
    let Input::GreyF32(img) = input else {
        return a == b;
    };
    let Ok(levels) = bench_levels(k) else {
        return false;
    };
    let lv = levels.values();
    img.data()
        .iter()
        .zip(a.iter().zip(b))
        .all(|(&x, (&i, &j))| {
            let x = f64::from(x);
            let (li, lj) = (lv[usize::from(i)], lv[usize::from(j)]);
            let scale = x.abs().max(li.abs()).max(lj.abs());
            i == j
                || ((x - li).abs() - (x - lj).abs()).abs() <= 4.0 * f64::from(f32::EPSILON) * scale
        })
}

/// The `--phases` fields of a record, or nothing.
fn phases_json(r: &Record) -> String {
    let (Some(p), Some(floor)) = (r.phases, r.copy_floor_ms) else {
        return String::new();
    };
    format!(
        ", \"host_upload_ms\": {:.3}, \"host_readback_ms\": {:.3}, \"host_wait_ms\": {:.3}, \"device_ms\": {}, \"bands\": {}, \"copy_floor_ms\": {floor:.3}",
        p.upload,
        p.readback,
        p.wait,
        p.device.map_or("null".into(), |d| format!("{d:.3}")),
        p.bands
    )
}

fn to_json(records: &[Record], h: usize, w: usize) -> String {
    let rows: Vec<String> = records
        .iter()
        .map(|r| {
            format!(
                "  {{\"op\": \"{}\", \"image\": \"{}\", \"height\": {h}, \"width\": {w}, \"k\": {}, \"device\": \"{}\", \"median_ms\": {:.3}, \"mpx_per_s\": {:.3}, \"speedup_vs_cpu\": {}, \"agrees\": {}{}}}",
                r.op,
                r.image,
                r.k,
                r.device,
                r.median_ms,
                r.mpx_per_s,
                r.speedup_vs_cpu.map_or("null".into(), |s| format!("{s:.3}")),
                r.agrees,
                phases_json(r)
            )
        })
        .collect();
    format!("[\n{}\n]\n", rows.join(",\n"))
}
