//! Criterion benches for nearest-palette quantization, CPU and (when an
//! adapter exists) GPU. Photo-like and uniform-noise images from gpix::synth.
//! `cargo bench --bench quantize`; lavapipe numbers say nothing about real GPUs.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gpix::{nearest_level_into, nearest_palette_into, synth, Device, Levels, Palette};

const SIDE: usize = 2000;

fn devices() -> Vec<(&'static str, Device)> {
    let mut d = vec![("cpu", Device::Cpu)];
    if std::env::var("GPIX_BENCH_GPU").is_ok_and(|v| v == "1") {
        if let Ok(g) = Device::select(gpix::DeviceRequest::Gpu) {
            d.push(("gpu", g));
        }
    }
    d
}

fn rgb(c: &mut Criterion) {
    let images = [
        ("smooth", synth::smooth_rgb(SIDE, SIDE, 0)),
        ("uniform", synth::uniform_rgb(SIDE, SIDE, 1)),
    ];
    let mut group = c.benchmark_group("nearest_palette_rgb");
    group.throughput(Throughput::Elements((SIDE * SIDE) as u64));
    group.sample_size(10);
    for (device_name, device) in devices() {
        for (name, image) in &images {
            for k in [16usize, 256] {
                let palette = Palette::new(3, synth::random_palette(k, 3, 100 + k as u64)).unwrap();
                let mut out = vec![0u8; SIDE * SIDE];
                group.bench_with_input(
                    BenchmarkId::new(format!("{device_name}/{name}"), k),
                    &k,
                    |b, _| {
                        b.iter(|| {
                            nearest_palette_into(image.view(), &palette, &device, &mut out).unwrap()
                        })
                    },
                );
            }
        }
    }
    group.finish();
}

fn grey(c: &mut Criterion) {
    let image = synth::smooth_grey_f32(SIDE, SIDE, 3);
    let mut rng = synth::Rng::new(8);
    let levels = Levels::new((0..8).map(|_| rng.next_f64()).collect()).unwrap();
    let mut group = c.benchmark_group("nearest_level_f32");
    group.throughput(Throughput::Elements((SIDE * SIDE) as u64));
    group.sample_size(10);
    for (device_name, device) in devices() {
        let mut out = vec![0u8; SIDE * SIDE];
        group.bench_function(format!("{device_name}/8_levels"), |b| {
            b.iter(|| nearest_level_into(image.view(), &levels, &device, &mut out).unwrap())
        });
    }
    group.finish();
}

// criterion_group! generates an undocumented pub fn.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, rgb, grey);
}
use group::benches;
criterion_main!(benches);
