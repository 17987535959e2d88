//! Criterion benches for the per-label mean recolour (sums + recolour into a
//! preallocated output), CPU and, with GPIX_BENCH_GPU=1, the GPU.
//! Photo-like RGB with superpixel-like Voronoi labels from gpix::synth.
//! `cargo bench --bench label_mean`; lavapipe numbers say nothing about real GPUs.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gpix::{label_mean_image_into, label_sums, synth, Device};

const SIDE: usize = 2000;
const LABELS: usize = 4000;

fn devices() -> Vec<(&'static str, Device)> {
    let mut d = vec![("cpu", Device::Cpu)];
    if std::env::var("GPIX_BENCH_GPU").is_ok_and(|v| v == "1") {
        if let Ok(g) = Device::select(gpix::DeviceRequest::Gpu) {
            d.push(("gpu", g));
        }
    }
    d
}

fn label_mean(c: &mut Criterion) {
    let f32_image = synth::smooth_rgb_f32(SIDE, SIDE, 7);
    let u8_image = synth::smooth_rgb(SIDE, SIDE, 7);
    let labels = synth::voronoi_labels(SIDE, SIDE, LABELS, 5);
    let mut group = c.benchmark_group("label_mean");
    group.throughput(Throughput::Elements((SIDE * SIDE) as u64));
    group.sample_size(20);
    for (name, device) in devices() {
        let mut out_f32 = vec![0f32; f32_image.data().len()];
        group.bench_function(BenchmarkId::new(name, "f32 recolour"), |b| {
            b.iter(|| {
                label_mean_image_into(&device, f32_image.view(), &labels, &mut out_f32).unwrap()
            })
        });
        let mut out_u8 = vec![0u8; u8_image.data().len()];
        group.bench_function(BenchmarkId::new(name, "u8 recolour"), |b| {
            b.iter(|| {
                label_mean_image_into(&device, u8_image.view(), &labels, &mut out_u8).unwrap()
            })
        });
        group.bench_function(BenchmarkId::new(name, "f32 table"), |b| {
            b.iter(|| label_sums(&device, f32_image.view(), &labels).unwrap())
        });
    }
    group.finish();
}

// criterion_group! generates an undocumented pub fn.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, label_mean);
}
use group::benches;
criterion_main!(benches);
