//! Criterion benches for the sliding-window filters on the CPU (and, with
//! GPIX_BENCH_GPU=1, the GPU): box, local statistics, separable gabor and a
//! full-rank kernel, on a photo-like float32 field.
//! `cargo bench --bench filter`; lavapipe numbers say nothing about real GPUs.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gpix::{
    convolve_into, gabor_kernel, local_stats_into, synth, uniform_filter_into, BoundaryMode,
    Device, Image, Kernel, StatsOut,
};

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

fn filters(c: &mut Criterion) {
    let image = Image::from_vec(
        synth::smooth_field(SIDE, SIDE, 1, 11, 64, 0.02),
        SIDE,
        SIDE,
        1,
    )
    .unwrap();
    let mode = BoundaryMode::Reflect;
    let (gabor, _) = gabor_kernel(0.15, std::f64::consts::FRAC_PI_2, 5.0, 5.0, 1.4, 0.0).unwrap();
    let mut rng = synth::Rng::new(21);
    let random = Kernel::new(15, 15, (0..225).map(|_| rng.next_f64() - 0.5).collect()).unwrap();
    let mut group = c.benchmark_group("filter");
    group.throughput(Throughput::Elements((SIDE * SIDE) as u64));
    group.sample_size(10);
    for (name, device) in devices() {
        let mut out = vec![0f32; SIDE * SIDE];
        let mut var = vec![0f32; SIDE * SIDE];
        group.bench_function(BenchmarkId::new(name, "uniform 15x15"), |b| {
            b.iter(|| uniform_filter_into(&device, image.view(), [15, 15], mode, &mut out).unwrap())
        });
        group.bench_function(BenchmarkId::new(name, "mean+var 15x15"), |b| {
            b.iter(|| {
                let outs = StatsOut {
                    mean: Some(&mut out),
                    var: Some(&mut var),
                    std: None,
                };
                local_stats_into(&device, image.view(), [15, 15], mode, outs).unwrap()
            })
        });
        group.bench_function(BenchmarkId::new(name, "gabor 15x15"), |b| {
            b.iter(|| convolve_into(&device, image.view(), &gabor, mode, &mut out).unwrap())
        });
        group.bench_function(BenchmarkId::new(name, "random 15x15"), |b| {
            b.iter(|| convolve_into(&device, image.view(), &random, mode, &mut out).unwrap())
        });
    }
    group.finish();
}

// criterion_group! generates an undocumented pub fn.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, filters);
}
use group::benches;
criterion_main!(benches);
