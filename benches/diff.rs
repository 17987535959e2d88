//! Criterion benches for the finite differences on the CPU (and, with
//! GPIX_BENCH_GPU=1, the GPU): gradient and Hessian of a float64 field into
//! preallocated outputs. `cargo bench --bench diff`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gpix::{
    gradient_into, hessian_into, synth, Device, GradientOptions, GradientOut, HessianOptions,
    HessianOut, Image, Stencil,
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

fn diff(c: &mut Criterion) {
    let field: Vec<f64> = synth::smooth_field(SIDE, SIDE, 1, 13, 64, 0.02)
        .into_iter()
        .map(f64::from)
        .collect();
    let image = Image::from_vec(field, SIDE, SIDE, 1).unwrap();
    let mut group = c.benchmark_group("diff");
    group.throughput(Throughput::Elements((SIDE * SIDE) as u64));
    group.sample_size(20);
    for (name, device) in devices() {
        let (mut a, mut b, mut d) = (
            vec![0f64; SIDE * SIDE],
            vec![0f64; SIDE * SIDE],
            vec![0f64; SIDE * SIDE],
        );
        group.bench_function(BenchmarkId::new(name, "gradient"), |bench| {
            bench.iter(|| {
                let out = GradientOut {
                    dy: Some(&mut a),
                    dx: Some(&mut b),
                    magnitude: None,
                };
                gradient_into(&device, image.view(), &GradientOptions::default(), out).unwrap()
            })
        });
        for (label, stencil) in [
            ("hessian", Stencil::Gradient),
            ("hessian compact", Stencil::Compact),
        ] {
            group.bench_function(BenchmarkId::new(name, label), |bench| {
                bench.iter(|| {
                    let out = HessianOut {
                        dyy: Some(&mut a),
                        dxy: Some(&mut b),
                        dxx: Some(&mut d),
                        eigen: None,
                    };
                    let o = HessianOptions {
                        stencil,
                        ..HessianOptions::default()
                    };
                    hessian_into(&device, image.view(), &o, out).unwrap()
                })
            });
        }
    }
    group.finish();
}

// criterion_group! generates an undocumented pub fn.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, diff);
}
use group::benches;
criterion_main!(benches);
