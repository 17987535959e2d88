//! Box filter and local statistics: reference ≡ fast CPU ≡ GPU (one band and
//! a tiny band budget) for every boundary mode, odd and even windows from 1×1
//! to larger than the image, 1..=16 channels; the WGSL boundary function ≡
//! the Rust one; no drift over long rows; variance on a large offset.

mod common;

use gpix::{
    boundary_index, local_stats, local_stats_reference, uniform_filter, uniform_filter_reference,
    BoundaryMode, Device, FilterValue, ImageView,
};
use proptest::prelude::*;

fn mode_strategy() -> impl Strategy<Value = BoundaryMode> {
    prop_oneof![
        Just(BoundaryMode::Reflect),
        Just(BoundaryMode::Mirror),
        Just(BoundaryMode::Nearest),
        Just(BoundaryMode::Wrap),
        (-2.0f64..2.0).prop_map(BoundaryMode::Constant),
    ]
}

/// (h, w, c, values, [ny, nx], mode)
type Case = (usize, usize, usize, Vec<f64>, [usize; 2], BoundaryMode);

fn case() -> impl Strategy<Value = Case> {
    (
        0usize..=9,
        0usize..=9,
        prop_oneof![4 => 1usize..=4, 1 => Just(16usize)],
    )
        .prop_flat_map(|(h, w, c)| {
            (
                Just(h),
                Just(w),
                Just(c),
                prop::collection::vec(-1000.0f64..1000.0, h * w * c),
                [1usize..=12, 1usize..=12],
                mode_strategy(),
            )
        })
}

/// CPU, GPU, and GPU with bands of a few rows (halo rows added on top).
fn devices(w: usize, c: usize, values_per_row: usize) -> Vec<(Device, f64)> {
    devices_for(w, c, values_per_row, 13)
}

/// As [`devices`], the tiny budget fitting windows of `ky` rows.
fn devices_for(w: usize, c: usize, values_per_row: usize, ky: usize) -> Vec<(Device, f64)> {
    let mut out = vec![(Device::Cpu, 0.0)];
    #[cfg(feature = "gpu")]
    if let Some(ctx) = common::gpu() {
        out.push((Device::Gpu(ctx.clone()), 1.0));
        let row = (w * c * 4 * values_per_row) as u64;
        out.push((
            Device::Gpu(ctx.with_band_budget(row * (ky as u64 + 1) + 8)),
            1.0,
        ));
    }
    #[cfg(not(feature = "gpu"))]
    let _ = (w, c, values_per_row, ky);
    out
}

/// Largest magnitude the windows can see (values and cval).
fn scale(values: &[f64], mode: BoundaryMode) -> f64 {
    values
        .iter()
        .fold(mode.cval().abs(), |m, v| m.max(v.abs()))
        .max(1e-30)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

fn check_uniform<T: FilterValue>(case: &Case, cast: impl Fn(f64) -> T, cpu_tol: f64) {
    let (h, w, c, values, size, mode) = case;
    let data: Vec<T> = values.iter().map(|&v| cast(v)).collect();
    let image = ImageView::new(&data, *h, *w, *c).unwrap();
    let want = uniform_filter_reference(image, *size, *mode).unwrap();
    let s = scale(values, *mode);
    for (device, is_gpu) in devices(*w, *c, 2) {
        let got = uniform_filter(&device, image, *size, *mode).unwrap();
        // f32 on any device: 1e-5 of the largest magnitude (the GPU's f32
        // sums are compensated); f64 on the CPU: 1e-12.
        let tol = if is_gpu > 0.0 { 1e-5 * s } else { cpu_tol * s };
        for (i, (&a, &b)) in got.data().iter().zip(want.data()).enumerate() {
            assert!(
                close(a.to_f64(), b, tol),
                "{device:?} {size:?} {mode:?} value {i}: {} vs {b}",
                a.to_f64()
            );
        }
    }
}

fn check_stats<T: FilterValue>(case: &Case, cast: impl Fn(f64) -> T, cpu_tol: f64) {
    let (h, w, c, values, size, mode) = case;
    let data: Vec<T> = values.iter().map(|&v| cast(v)).collect();
    let image = ImageView::new(&data, *h, *w, *c).unwrap();
    let (mean, var) = local_stats_reference(image, *size, *mode).unwrap();
    let s = scale(values, *mode);
    for (device, is_gpu) in devices(*w, *c, 3) {
        let got = local_stats(&device, image, *size, *mode).unwrap();
        let tol = if is_gpu > 0.0 { 1e-5 } else { cpu_tol };
        for i in 0..mean.data().len() {
            let (m, v, sd) = (
                got.mean.data()[i].to_f64(),
                got.var.data()[i].to_f64(),
                got.std.data()[i].to_f64(),
            );
            assert!(
                close(m, mean.data()[i], tol * s),
                "{device:?} mean {i}: {m} vs {}",
                mean.data()[i]
            );
            assert!(v >= 0.0, "{device:?}: negative variance {v}");
            assert!(
                close(v, var.data()[i], 4.0 * tol * s * s),
                "{device:?} var {i}: {v} vs {}",
                var.data()[i]
            );
            assert!(
                close(sd * sd, v, 4.0 * tol * s * s),
                "{device:?} std {i}: {sd}² vs {v}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    #[test]
    fn uniform_f64_agrees(case in case()) {
        check_uniform(&case, |v| v, 1e-12);
    }

    #[test]
    fn uniform_f32_agrees(case in case()) {
        check_uniform(&case, |v| v as f32, 4e-6);
    }

    #[test]
    fn stats_f64_agree(case in case()) {
        check_stats(&case, |v| v, 1e-12);
    }

    #[test]
    fn stats_f32_agree(case in case()) {
        check_stats(&case, |v| v as f32, 1e-6);
    }
}

/// The WGSL `boundary_index` (shaders/boundary.wgsl) returns what the Rust
/// one does for every mode, lengths 1..=6 and positions far outside.
#[cfg(feature = "gpu")]
#[test]
fn wgsl_boundary_index_matches_rust() {
    let Some(ctx) = common::gpu() else { return };
    let modes = [
        BoundaryMode::Reflect,
        BoundaryMode::Mirror,
        BoundaryMode::Nearest,
        BoundaryMode::Wrap,
        BoundaryMode::Constant(0.0),
    ];
    let mut queries: Vec<[i32; 4]> = Vec::new();
    for mode in modes {
        for n in 1..=6i32 {
            for i in -25..=25i32 {
                queries.push([i, n, mode.code() as i32, 0]);
            }
        }
    }
    let got = run_boundary_kernel(&ctx, &queries);
    for (q, g) in queries.iter().zip(got) {
        let mode = modes[q[2] as usize];
        let want = boundary_index(i64::from(q[0]), q[1] as usize, mode).map_or(-1, |v| v as i32);
        assert_eq!(g, want, "i {} n {} {mode:?}", q[0], q[1]);
    }
}

#[cfg(feature = "gpu")]
fn run_boundary_kernel(ctx: &gpix::GpuContext, queries: &[[i32; 4]]) -> Vec<i32> {
    use wgpu::util::DeviceExt;
    let source = format!(
        "{}\n{}",
        include_str!("../shaders/boundary.wgsl"),
        r"
@group(0) @binding(0) var<storage, read> q: array<vec4<i32>>;
@group(0) @binding(1) var<storage, read_write> r: array<i32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x < arrayLength(&q) {
        let v = q[id.x];
        r[id.x] = boundary_index(v.x, v.y, u32(v.z));
    }
}"
    );
    let device = ctx.device();
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("boundary test"),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("boundary test"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let input = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: bytemuck::cast_slice(queries),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let bytes = (queries.len() * 4) as u64;
    let output = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: input.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: output.as_entire_binding(),
            },
        ],
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &group, &[]);
        pass.dispatch_workgroups((queries.len() as u32).div_ceil(64), 1, 1);
    }
    encoder.copy_buffer_to_buffer(&output, 0, &staging, 0, bytes);
    ctx.queue().submit([encoder.finish()]);
    let slice = staging.slice(..);
    slice.map_async(wgpu::MapMode::Read, |r| r.unwrap());
    device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
    let data = slice.get_mapped_range().unwrap();
    bytemuck::cast_slice(&data).to_vec()
}

/// Running sums restart from direct sums, so a long row on a large offset
/// stays within f64 rounding of the direct window sums (no drift).
#[test]
fn long_rows_do_not_drift() {
    let w = 5000;
    let data: Vec<f64> = (0..w)
        .map(|i| 1.0e6 + ((i * 7919) % 1000) as f64 * 1e-3)
        .collect();
    let image = ImageView::new(&data, 1, w, 1).unwrap();
    for size in [[1, 15], [1, 4]] {
        let want = uniform_filter_reference(image, size, BoundaryMode::Reflect).unwrap();
        let got = uniform_filter(&Device::Cpu, image, size, BoundaryMode::Reflect).unwrap();
        for (a, b) in got.data().iter().zip(want.data()) {
            assert!((a - b).abs() <= 1e-15 * 1e6 * 8.0, "{a} vs {b}");
        }
    }
}

/// The same down a tall column: the column sums slide one row per output
/// row and restart from direct sums too.
#[test]
fn tall_columns_do_not_drift() {
    let h = 5000;
    let data: Vec<f64> = (0..2 * h)
        .map(|i| 1.0e6 + ((i * 7919) % 1000) as f64 * 1e-3)
        .collect();
    let image = ImageView::new(&data, h, 2, 1).unwrap();
    for size in [[15, 1], [4, 3]] {
        for mode in [BoundaryMode::Reflect, BoundaryMode::Constant(1.0e6)] {
            let want = uniform_filter_reference(image, size, mode).unwrap();
            let got = uniform_filter(&Device::Cpu, image, size, mode).unwrap();
            for (a, b) in got.data().iter().zip(want.data()) {
                assert!((a - b).abs() <= 1e-15 * 1e6 * 8.0, "{a} vs {b}");
            }
        }
    }
}

/// Values 1000 ± 0.01 in f32: the variance comes out within 1 % on every
/// device (E[x²] − E[x]² in f32 would lose it entirely).
#[test]
fn variance_survives_a_large_offset() {
    let (h, w) = (40, 50);
    let data: Vec<f32> = (0..h * w)
        .map(|i| 1000.0 + 0.01 * (((i * 7919) % 201) as f32 / 100.0 - 1.0))
        .collect();
    let image = ImageView::new(&data, h, w, 1).unwrap();
    let (_, want) = local_stats_reference(image, [15, 15], BoundaryMode::Reflect).unwrap();
    for (device, _) in devices(w, 1, 3) {
        let got = local_stats(&device, image, [15, 15], BoundaryMode::Reflect).unwrap();
        for (a, b) in got.var.data().iter().zip(want.data()) {
            let a = f64::from(*a);
            assert!((a - b).abs() <= 0.01 * b, "{device:?}: {a} vs {b}");
        }
    }
}

/// Size 0 along an axis filters nothing there (scipy's uniform_filter).
#[test]
fn zero_sizes_filter_nothing_along_that_axis() {
    let data: Vec<f32> = (0..20).map(|i| (i * i % 7) as f32).collect();
    let image = ImageView::new(&data, 4, 5, 1).unwrap();
    for (device, _) in devices(5, 1, 2) {
        for (zero, one) in [([0, 3], [1, 3]), ([3, 0], [3, 1]), ([0, 0], [1, 1])] {
            let m = BoundaryMode::Reflect;
            assert_eq!(
                uniform_filter(&device, image, zero, m).unwrap(),
                uniform_filter(&device, image, one, m).unwrap()
            );
            let (a, b) = (
                local_stats(&device, image, zero, BoundaryMode::Wrap).unwrap(),
                local_stats(&device, image, one, BoundaryMode::Wrap).unwrap(),
            );
            assert_eq!((a.mean, a.var), (b.mean, b.var));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Rows of 512+ values take the four-segment running sums.
    #[test]
    fn wide_rows_agree(
        w in 512usize..700,
        c in 1usize..=2,
        size in [1usize..=5, 1usize..=40],
        mode in mode_strategy(),
        seed in any::<u64>(),
    ) {
        let h = 3;
        let mut rng = gpix::synth::Rng::new(seed);
        let values: Vec<f64> = (0..h * w * c).map(|_| rng.next_f64() * 100.0 - 50.0).collect();
        let case: Case = (h, w, c, values, size, mode);
        let (_, _, _, values, size, mode) = &case;
        let image = ImageView::new(values, h, w, c).unwrap();
        let want = uniform_filter_reference(image, *size, *mode).unwrap();
        let got = uniform_filter(&Device::Cpu, image, *size, *mode).unwrap();
        for (a, b) in got.data().iter().zip(want.data()) {
            prop_assert!((a - b).abs() <= 1e-12 * 50.0);
        }
        check_stats(&case, |v| v, 1e-12);
        // Full rank (direct, two rows per step) and rank one (separable).
        let taps: Vec<f64> = (0..35).map(|_| rng.next_f64() - 0.5).collect();
        check_correlate(&case, &gpix::Kernel::new(5, 7, taps.clone()).unwrap(), |v| v, 1e-13);
        check_correlate(&case, &gpix::Kernel::outer(&taps[..5], &taps[5..12]), |v| v as f32, 2e-6);
    }
}

/// Random kernels of every kind the planner distinguishes: full rank
/// (direct), outer products (separable), sums of two (low rank), rows,
/// columns, 1×1, and sizes past the image.
fn kernel_strategy() -> impl Strategy<Value = gpix::Kernel> {
    let weights = |n: usize| prop::collection::vec(-2.0f64..2.0, n);
    prop_oneof![
        (1usize..=13, 1usize..=13).prop_flat_map(move |(ky, kx)| {
            weights(ky * kx).prop_map(move |w| gpix::Kernel::new(ky, kx, w).unwrap())
        }),
        (1usize..=13, 1usize..=13).prop_flat_map(move |(ky, kx)| {
            (weights(ky), weights(kx)).prop_map(|(a, b)| gpix::Kernel::outer(&a, &b))
        }),
        (4usize..=12, 4usize..=12).prop_flat_map(move |(ky, kx)| {
            (weights(ky), weights(kx), weights(ky), weights(kx)).prop_map(move |(a, b, c, d)| {
                let (p, q) = (gpix::Kernel::outer(&a, &b), gpix::Kernel::outer(&c, &d));
                let w = p
                    .weights()
                    .iter()
                    .zip(q.weights())
                    .map(|(x, y)| x + y)
                    .collect();
                gpix::Kernel::new(ky, kx, w).unwrap()
            })
        }),
    ]
}

fn check_correlate<T: FilterValue>(
    case: &Case,
    kernel: &gpix::Kernel,
    cast: impl Fn(f64) -> T,
    cpu_tol: f64,
) {
    let (h, w, c, values, _, mode) = case;
    let data: Vec<T> = values.iter().map(|&v| cast(v)).collect();
    let image = ImageView::new(&data, *h, *w, *c).unwrap();
    // Scale: the largest |x| times the kernel's absolute sum.
    let s = scale(values, *mode) * kernel.weights().iter().map(|v| v.abs()).sum::<f64>();
    for convolve in [false, true] {
        let want = if convolve {
            gpix::convolve_reference(image, kernel, *mode).unwrap()
        } else {
            gpix::correlate_reference(image, kernel, *mode).unwrap()
        };
        for (device, is_gpu) in devices_for(*w, *c, 1, kernel.height()) {
            let got = if convolve {
                gpix::convolve(&device, image, kernel, *mode).unwrap()
            } else {
                gpix::correlate(&device, image, kernel, *mode).unwrap()
            };
            let tol = if is_gpu > 0.0 { 2e-6 * s } else { cpu_tol * s };
            for (i, (&a, &b)) in got.data().iter().zip(want.data()).enumerate() {
                assert!(
                    close(a.to_f64(), b, tol),
                    "{device:?} convolve={convolve} {}x{} {mode:?} value {i}: {} vs {b}",
                    kernel.height(),
                    kernel.width(),
                    a.to_f64()
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    #[test]
    fn correlate_f64_agrees(case in case(), kernel in kernel_strategy()) {
        check_correlate(&case, &kernel, |v| v, 1e-13);
    }

    #[test]
    fn correlate_f32_agrees(case in case(), kernel in kernel_strategy()) {
        check_correlate(&case, &kernel, |v| v as f32, 2e-6);
    }

    #[test]
    fn gaussian_agrees(case in case(), sy in 0.0f64..3.0, sx in 0.0f64..3.0, truncate in 1.0f64..4.0) {
        let (h, w, c, values, _, mode) = &case;
        let image = ImageView::new(values, *h, *w, *c).unwrap();
        let kernel = gpix::gaussian_kernel([sy, sx], truncate).unwrap();
        let want = gpix::correlate_reference(image, &kernel, *mode).unwrap();
        let s = scale(values, *mode);
        for (device, is_gpu) in devices_for(*w, *c, 1, kernel.height()) {
            let got = gpix::gaussian_filter(&device, image, [sy, sx], truncate, *mode).unwrap();
            let tol = if is_gpu > 0.0 { 2e-6 * s } else { 1e-13 * s };
            for (&a, &b) in got.data().iter().zip(want.data()) {
                prop_assert!(close(a, b, tol), "{device:?}: {a} vs {b}");
            }
        }
    }

    /// Derivatives of Gaussians (orders 0–3 per axis, σ = 0 skipping an
    /// axis, truncate or an explicit radius) against scipy's definition,
    /// two 1-D passes each padding per mode (constant included, where the
    /// separable passes need a correction), on every device; Laplace,
    /// gradient magnitude and difference of Gaussians against the same
    /// reference combined.
    #[test]
    fn gaussian_derivatives_agree(
        case in case(),
        sigma in [prop_oneof![1 => Just(0.0f64), 4 => 0.5f64..3.0], prop_oneof![1 => Just(0.0f64), 4 => 0.5f64..3.0]],
        order in [0u32..=3, 0u32..=3],
        radius in prop::option::of([0usize..=6, 0usize..=6]),
        truncate in 1.0f64..4.0,
    ) {
        let (h, w, c, values, _, mode) = &case;
        let image = ImageView::new(values, *h, *w, *c).unwrap();
        let mut g = gpix::Gaussian::new(sigma).with_truncate(truncate);
        if let Some(r) = radius {
            g = g.with_radius(r);
        }
        let abs_sum = |axis| g.with_order(order).taps(axis).unwrap().iter().map(|v: &f64| v.abs()).sum::<f64>();
        let s = scale(values, *mode) * abs_sum(0).max(1.0) * abs_sum(1).max(1.0) * 4.0;
        let reference = |o: [u32; 2]| gpix::gaussian_filter_reference(image, &g.with_order(o), *mode).unwrap().into_vec();
        let want = reference(order);
        let (dy2, dx2) = (reference([2, 0]), reference([0, 2]));
        let (dy, dx) = (reference([1, 0]), reference([0, 1]));
        let wider = gpix::Gaussian { sigma: sigma.map(|v| v * 1.6), ..g };
        let blur_wide = gpix::gaussian_filter_reference(image, &wider, *mode).unwrap().into_vec();
        let blur = reference([0, 0]);
        for (device, is_gpu) in devices_for(*w, *c, 1, 2 * g.taps(0).unwrap().len() + 8) {
            let tol = if is_gpu > 0.0 { 4e-6 * s } else { 1e-12 * s };
            let got = gpix::gaussian_filter_with(&device, image, &g.with_order(order), *mode).unwrap();
            for (i, (&a, &b)) in got.data().iter().zip(&want).enumerate() {
                prop_assert!(close(a, b, tol), "{device:?} {order:?} value {i}: {a} vs {b}");
            }
            let lap = gpix::gaussian_laplace(&device, image, &g, *mode).unwrap();
            let mag = gpix::gaussian_gradient_magnitude(&device, image, &g, *mode).unwrap();
            let dog = gpix::difference_of_gaussians(&device, image, &g, &wider, *mode).unwrap();
            for i in 0..want.len() {
                prop_assert!(close(lap.data()[i], dy2[i] + dx2[i], tol), "{device:?} laplace {i}");
                prop_assert!(close(mag.data()[i], dy[i].hypot(dx[i]), tol), "{device:?} magnitude {i}");
                prop_assert!(close(dog.data()[i], blur[i] - blur_wide[i], tol), "{device:?} dog {i}");
            }
        }
    }
}

/// A derivative order on the composite filters, or past 3, is an error,
/// not a silent answer.
#[test]
fn gaussian_family_rejects_bad_orders() {
    let data = [1.0f64; 12];
    let image = ImageView::new(&data, 3, 4, 1).unwrap();
    let g = gpix::Gaussian::new([1.0, 1.0]);
    let mode = BoundaryMode::Reflect;
    let err = gpix::gaussian_filter_with(&Device::Cpu, image, &g.with_order([4, 0]), mode);
    assert!(err.unwrap_err().to_string().contains("order 4"));
    let err = gpix::gaussian_laplace(&Device::Cpu, image, &g.with_order([1, 0]), mode);
    assert!(err.unwrap_err().to_string().contains("gaussian_laplace"));
    assert!(
        gpix::difference_of_gaussians(&Device::Cpu, image, &g, &g.with_order([0, 1]), mode)
            .is_err()
    );
    // skimage: the second blur is at least as wide as the first on each axis.
    let narrow = gpix::Gaussian::new([2.0, 0.5]);
    let err = gpix::difference_of_gaussians(&Device::Cpu, image, &g, &narrow, mode);
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("at least the low sigma"));
}

/// scipy.ndimage and skimage's own numbers (tests/data/make_filter_golden.py):
/// float64 on the CPU within 1e-10, float32 on every device within 2e-5,
/// relative to the largest output magnitude.
mod golden {
    use super::*;
    use gpix::io::npy::{read_npy, NpyData};

    const MODES: [&str; 5] = ["reflect", "mirror", "nearest", "wrap", "constant"];

    fn load(name: &str) -> (Vec<usize>, Vec<f64>) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/filter")
            .join(format!("{name}.npy"));
        let a = read_npy(&path, 1 << 30).unwrap();
        let NpyData::F64(v) = a.data else {
            panic!("{name}: not float64")
        };
        (a.shape, v)
    }

    fn mode(name: &str) -> BoundaryMode {
        name.parse::<BoundaryMode>().unwrap().with_cval(0.5)
    }

    /// Runs `f` on the golden input in f64 (CPU) and f32 (every device).
    fn check(
        name: &str,
        f: impl Fn(&Device, ImageView<'_, f64>, ImageView<'_, f32>) -> (Vec<f64>, Vec<f32>),
    ) {
        let (shape, x) = load("input");
        let (_, want) = load(name);
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let (h, w, c) = (shape[0], shape[1], shape[2]);
        let v64 = ImageView::new(&x, h, w, c).unwrap();
        let v32 = ImageView::new(&x32, h, w, c).unwrap();
        let top = want.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
        for (device, _) in devices_for(w, c, 3, 15) {
            let (a64, a32) = f(&device, v64, v32);
            if device.is_cpu() {
                for (i, (a, b)) in a64.iter().zip(&want).enumerate() {
                    assert!((a - b).abs() <= 1e-10 * top, "{name} f64 {i}: {a} vs {b}");
                }
            }
            for (i, (a, b)) in a32.iter().zip(&want).enumerate() {
                let a = f64::from(*a);
                assert!(
                    (a - b).abs() <= 2e-5 * top,
                    "{name} f32 {device:?} {i}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn uniform_matches_scipy() {
        for m in MODES {
            for (ny, nx) in [(3, 3), (4, 2), (15, 1)] {
                check(&format!("uniform_{m}_{ny}x{nx}"), |d, a, b| {
                    (
                        uniform_filter(d, a, [ny, nx], mode(m)).unwrap().into_vec(),
                        uniform_filter(d, b, [ny, nx], mode(m)).unwrap().into_vec(),
                    )
                });
            }
        }
    }

    #[test]
    fn correlate_and_convolve_match_scipy() {
        for m in MODES {
            for k in ["3x3", "4x6", "13x2"] {
                let (shape, wts) = load(&format!("kernel_{k}"));
                let kernel = gpix::Kernel::new(shape[0], shape[1], wts).unwrap();
                check(&format!("correlate_{m}_{k}"), |d, a, b| {
                    (
                        gpix::correlate(d, a, &kernel, mode(m)).unwrap().into_vec(),
                        gpix::correlate(d, b, &kernel, mode(m)).unwrap().into_vec(),
                    )
                });
                check(&format!("convolve_{m}_{k}"), |d, a, b| {
                    (
                        gpix::convolve(d, a, &kernel, mode(m)).unwrap().into_vec(),
                        gpix::convolve(d, b, &kernel, mode(m)).unwrap().into_vec(),
                    )
                });
            }
        }
    }

    #[test]
    fn gaussian_and_variance_match_scipy() {
        for m in MODES {
            check(&format!("gaussian_{m}"), |d, a, b| {
                (
                    gpix::gaussian_filter(d, a, [1.5, 0.8], 3.0, mode(m))
                        .unwrap()
                        .into_vec(),
                    gpix::gaussian_filter(d, b, [1.5, 0.8], 3.0, mode(m))
                        .unwrap()
                        .into_vec(),
                )
            });
            check(&format!("var_{m}"), |d, a, b| {
                (
                    local_stats(d, a, [5, 4], mode(m)).unwrap().var.into_vec(),
                    local_stats(d, b, [5, 4], mode(m)).unwrap().var.into_vec(),
                )
            });
        }
    }

    /// Derivatives of Gaussians (orders 0–3 per axis), an explicit radius,
    /// Laplace, gradient magnitude and difference of Gaussians: scipy's and
    /// skimage's numbers on every device.
    #[test]
    fn gaussian_family_matches_scipy_and_skimage() {
        let base = gpix::Gaussian::new([1.5, 0.8]).with_truncate(3.0);
        for m in MODES {
            for (oy, ox) in [(1, 0), (0, 1), (2, 0), (0, 2), (1, 1), (3, 0), (2, 3)] {
                let g = base.with_order([oy, ox]);
                check(&format!("gaussian_order{oy}{ox}_{m}"), |d, a, b| {
                    (
                        gpix::gaussian_filter_with(d, a, &g, mode(m))
                            .unwrap()
                            .into_vec(),
                        gpix::gaussian_filter_with(d, b, &g, mode(m))
                            .unwrap()
                            .into_vec(),
                    )
                });
            }
            let g = base.with_order([1, 0]).with_radius([2, 5]);
            check(&format!("gaussian_radius_{m}"), |d, a, b| {
                (
                    gpix::gaussian_filter_with(d, a, &g, mode(m))
                        .unwrap()
                        .into_vec(),
                    gpix::gaussian_filter_with(d, b, &g, mode(m))
                        .unwrap()
                        .into_vec(),
                )
            });
            check(&format!("laplace_{m}"), |d, a, b| {
                (
                    gpix::gaussian_laplace(d, a, &base, mode(m))
                        .unwrap()
                        .into_vec(),
                    gpix::gaussian_laplace(d, b, &base, mode(m))
                        .unwrap()
                        .into_vec(),
                )
            });
            check(&format!("gradmag_{m}"), |d, a, b| {
                (
                    gpix::gaussian_gradient_magnitude(d, a, &base, mode(m))
                        .unwrap()
                        .into_vec(),
                    gpix::gaussian_gradient_magnitude(d, b, &base, mode(m))
                        .unwrap()
                        .into_vec(),
                )
            });
            let low = gpix::Gaussian::new([1.0, 1.0]).with_truncate(3.0);
            let high = gpix::Gaussian::new([2.5, 2.5]).with_truncate(3.0);
            check(&format!("dog_{m}"), |d, a, b| {
                (
                    gpix::difference_of_gaussians(d, a, &low, &high, mode(m))
                        .unwrap()
                        .into_vec(),
                    gpix::difference_of_gaussians(d, b, &low, &high, mode(m))
                        .unwrap()
                        .into_vec(),
                )
            });
        }
        let (low, high) = (
            gpix::Gaussian::new([1.2; 2]),
            gpix::Gaussian::new([1.2 * 1.6; 2]),
        );
        check("dog_default", |d, a, b| {
            let nearest = BoundaryMode::Nearest;
            (
                gpix::difference_of_gaussians(d, a, &low, &high, nearest)
                    .unwrap()
                    .into_vec(),
                gpix::difference_of_gaussians(d, b, &low, &high, nearest)
                    .unwrap()
                    .into_vec(),
            )
        });
    }

    #[test]
    fn gabor_matches_skimage() {
        let (shape, x) = load("input");
        let (h, w, c) = (shape[0], shape[1], shape[2]);
        let first: Vec<f64> = x.chunks(c).map(|p| p[0]).collect();
        let image = ImageView::new(&first, h, w, 1).unwrap();
        let (re, im) = gpix::gabor_kernel(0.2, 0.6, 1.5, 2.5, 3.0, 0.0).unwrap();
        for (part, kernel) in [("real", re), ("imag", im)] {
            let (_, want) = load(&format!("gabor_{part}"));
            let got = gpix::convolve(&Device::Cpu, image, &kernel, BoundaryMode::Reflect).unwrap();
            let top = want.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
            for (a, b) in got.data().iter().zip(&want) {
                assert!((a - b).abs() <= 1e-10 * top, "gabor {part}: {a} vs {b}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    /// Every method, forced, gives the reference's numbers on every device
    /// (FFT tiles on the CPU; the GPU runs FFT requests as direct tiles).
    #[test]
    fn every_forced_method_agrees(case in case(), kernel in kernel_strategy(), convolve in any::<bool>()) {
        use gpix::CorrelationMethod as M;
        let (h, w, c, values, _, mode) = &case;
        let image = ImageView::new(values, *h, *w, *c).unwrap();
        let want = if convolve {
            gpix::convolve_reference(image, &kernel, *mode).unwrap()
        } else {
            gpix::correlate_reference(image, &kernel, *mode).unwrap()
        };
        let s = scale(values, *mode) * kernel.weights().iter().map(|v| v.abs()).sum::<f64>();
        for method in [M::Direct, M::Separable, M::Fft] {
            for (device, is_gpu) in devices_for(*w, *c, 1, kernel.height()) {
                let mut out = vec![0f64; values.len()];
                let run = if convolve { gpix::convolve_with } else { gpix::correlate_with };
                run(&device, image, &kernel, *mode, method, &mut out).unwrap();
                let tol = if is_gpu > 0.0 { 2e-6 * s } else { 1e-12 * s };
                for (i, (&a, &b)) in out.iter().zip(want.data()).enumerate() {
                    prop_assert!(close(a, b, tol), "{method:?} {device:?} {i}: {a} vs {b}");
                }
            }
        }
    }
}

/// FFT tiles across a big image: many tiles, two per transform, odd
/// remainders, every mode, against the direct sum.
#[test]
fn fft_tiles_cover_a_large_image() {
    let (h, w) = (300, 257);
    let mut rng = gpix::synth::Rng::new(9);
    let values: Vec<f64> = (0..h * w * 2).map(|_| rng.next_f64() - 0.5).collect();
    let image = ImageView::new(&values, h, w, 2).unwrap();
    let taps: Vec<f64> = (0..33 * 31).map(|_| rng.next_f64() - 0.5).collect();
    let kernel = gpix::Kernel::new(33, 31, taps).unwrap();
    for mode in [
        BoundaryMode::Reflect,
        BoundaryMode::Wrap,
        BoundaryMode::Constant(0.25),
    ] {
        let mut fft = vec![0f64; values.len()];
        let mut direct = vec![0f64; values.len()];
        let info = gpix::convolve_with(
            &Device::Cpu,
            image,
            &kernel,
            mode,
            gpix::CorrelationMethod::Auto,
            &mut fft,
        )
        .unwrap();
        assert!(info.method.contains("FFT"), "{}", info.method);
        gpix::convolve_with(
            &Device::Cpu,
            image,
            &kernel,
            mode,
            gpix::CorrelationMethod::Direct,
            &mut direct,
        )
        .unwrap();
        for (a, b) in fft.iter().zip(&direct) {
            assert!((a - b).abs() <= 1e-11 * 250.0, "{mode:?}: {a} vs {b}");
        }
    }
}

/// The GPU filter's chunk loops: a box window wider than 256 taps (x
/// chunks) and taller than 64 (y chunks), and a direct kernel larger than
/// 48 × 48 (direct blocks), on whole-device and few-row bands.
#[test]
fn gpu_chunk_loops_agree() {
    #[cfg(feature = "gpu")]
    if let Some(ctx) = common::gpu() {
        let (h, w) = (75, 300);
        let mut rng = gpix::synth::Rng::new(5);
        let values: Vec<f64> = (0..h * w).map(|_| rng.next_f64() * 10.0 - 5.0).collect();
        let data: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        let image = ImageView::new(&data, h, w, 1).unwrap();
        let reference = ImageView::new(&values, h, w, 1).unwrap();
        let row = (w * 4) as u64;
        for mode in [BoundaryMode::Reflect, BoundaryMode::Constant(1.5)] {
            let size = [70, 290];
            let want = uniform_filter_reference(reference, size, mode).unwrap();
            let (m_want, v_want) = local_stats_reference(reference, size, mode).unwrap();
            for ctx in [ctx.clone(), ctx.with_band_budget(row * 2 * 76 + 8)] {
                let device = Device::Gpu(ctx);
                let got = uniform_filter(&device, image, size, mode).unwrap();
                for (a, b) in got.data().iter().zip(want.data()) {
                    assert!(close(f64::from(*a), *b, 1e-5 * 5.0), "{a} vs {b}");
                }
                let stats = local_stats(&device, image, size, mode).unwrap();
                for (a, b) in stats.mean.data().iter().zip(m_want.data()) {
                    assert!(close(f64::from(*a), *b, 1e-5 * 5.0), "mean {a} vs {b}");
                }
                for (a, b) in stats.var.data().iter().zip(v_want.data()) {
                    assert!(close(f64::from(*a), *b, 1e-4 * 25.0), "var {a} vs {b}");
                }
            }
            let taps: Vec<f64> = (0..50 * 53).map(|_| rng.next_f64() - 0.5).collect();
            let kernel = gpix::Kernel::new(50, 53, taps).unwrap();
            let want = gpix::correlate_reference(reference, &kernel, mode).unwrap();
            let s = 5.0 * kernel.weights().iter().map(|v| v.abs()).sum::<f64>();
            for ctx in [ctx.clone(), ctx.with_band_budget(row * 51 + 8)] {
                let got = gpix::correlate(&Device::Gpu(ctx), image, &kernel, mode).unwrap();
                for (a, b) in got.data().iter().zip(want.data()) {
                    assert!(close(f64::from(*a), *b, 1e-5 * s), "direct {a} vs {b}");
                }
            }
        }
    }
}

/// The GPU's compensated f32 sums meet the documented bound (a window sum
/// within about 2 ε Σ|terms|, so a mean of equal values within a few ε) on
/// windows of 1025 taps along x (rows pass) and y (cols pass), where plain
/// f32 sums do not: a shader compiler that reassociated the compensation
/// away would fail this test on its GPU.
#[cfg(feature = "gpu")]
#[test]
fn compensated_gpu_sums_meet_the_bound_plain_ones_do_not() {
    let Some(ctx) = common::gpu() else { return };
    let n = 1025;
    let value = 0.1f32;
    let row = vec![value; 1200];
    let column = vec![value; 1200];
    let cases = [
        (ImageView::new(&row, 1, 1200, 1).unwrap(), [1, n]),
        (ImageView::new(&column, 1200, 1, 1).unwrap(), [n, 1]),
    ];
    let bound = 4.0 * f64::from(f32::EPSILON) * f64::from(value);
    let worst = |ctx: &gpix::GpuContext, image: ImageView<'_, f32>, size| {
        let out = uniform_filter(
            &Device::Gpu(ctx.clone()),
            image,
            size,
            BoundaryMode::Reflect,
        )
        .unwrap();
        out.data()
            .iter()
            .map(|&m| (f64::from(m) - f64::from(value)).abs())
            .fold(0.0, f64::max)
    };
    for (image, size) in cases {
        let compensated = worst(&ctx, image, size);
        assert!(
            compensated <= bound,
            "{size:?}: compensated error {compensated:e} > {bound:e}"
        );
        let plain = worst(&ctx.with_plain_filter_sums(), image, size);
        assert!(
            plain > bound,
            "{size:?}: plain sums within the bound ({plain:e}): the test cannot tell"
        );
    }
}

/// Per-axis modes (one cval, as scipy) and an origin valid for `size`.
fn border_for(size: [usize; 2]) -> impl Strategy<Value = gpix::Border> {
    let origin = |n: usize| {
        let n = n as isize;
        -(n / 2)..=(n - 1) / 2
    };
    (
        mode_strategy(),
        mode_strategy(),
        -2.0f64..2.0,
        origin(size[0]),
        origin(size[1]),
    )
        .prop_map(|(y, x, cval, oy, ox)| {
            gpix::Border::per_axis(y.with_cval(cval), x.with_cval(cval)).with_origin([oy, ox])
        })
}

fn border_scale(values: &[f64], b: &gpix::Border) -> f64 {
    scale(values, b.modes[0]).max(scale(values, b.modes[1]))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    /// Per-axis modes and origins: uniform and stats (fast CPU, GPU, tiny
    /// bands) against the references.
    #[test]
    fn borders_agree_for_windows(
        (case, border) in case().prop_flat_map(|case| {
            let size = case.4;
            (Just(case), border_for(size))
        })
    ) {
        let (h, w, c, values, size, _) = &case;
        let image = ImageView::new(values, *h, *w, *c).unwrap();
        let s = border_scale(values, &border);
        let want = uniform_filter_reference(image, *size, border).unwrap();
        let (mean, var) = local_stats_reference(image, *size, border).unwrap();
        let data32: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        let image32 = ImageView::new(&data32, *h, *w, *c).unwrap();
        for (device, is_gpu) in devices(*w, *c, 3) {
            let tol = if is_gpu > 0.0 { 1e-5 } else { 1e-12 };
            let got = if is_gpu > 0.0 {
                uniform_filter(&device, image32, *size, border).unwrap().data().iter().map(|&v| f64::from(v)).collect()
            } else {
                uniform_filter(&device, image, *size, border).unwrap().into_vec()
            };
            for (i, (&a, &b)) in got.iter().zip(want.data()).enumerate() {
                prop_assert!(close(a, b, tol * s), "{device:?} {border:?} uniform {i}: {a} vs {b}");
            }
            let st = local_stats(&device, image, *size, border).unwrap();
            let tol = if is_gpu > 0.0 { 1e-5 } else { 1e-12 };
            for i in 0..mean.data().len() {
                prop_assert!(close(st.mean.data()[i], mean.data()[i], tol * s), "{device:?} mean {i}");
                prop_assert!(close(st.var.data()[i], var.data()[i], 4.0 * tol * s * s), "{device:?} var {i}");
            }
        }
    }

    /// Origins on correlate and convolve (scipy's rule, the convolution's
    /// flipped origin), every device.
    #[test]
    fn origins_agree_for_kernels(case in case(), kernel in kernel_strategy(), oy in -3isize..=3, ox in -3isize..=3) {
        let (h, w, c, values, _, mode) = &case;
        let image = ImageView::new(values, *h, *w, *c).unwrap();
        let border = gpix::Border::from(*mode).with_origin([oy, ox]);
        let s = scale(values, *mode) * kernel.weights().iter().map(|v| v.abs()).sum::<f64>();
        let (ky, kx) = (kernel.height() as isize, kernel.width() as isize);
        let valid = |o: isize, n: isize| -(n / 2) <= o && o <= (n - 1) / 2;
        for convolve in [false, true] {
            let flip = |o: isize, n: isize| if convolve { -o - isize::from(n % 2 == 0) } else { o };
            let ok = valid(flip(oy, ky), ky) && valid(flip(ox, kx), kx);
            let want = if convolve {
                gpix::convolve_reference(image, &kernel, border)
            } else {
                gpix::correlate_reference(image, &kernel, border)
            };
            prop_assert_eq!(want.is_ok(), ok, "{} {:?}", convolve, border);
            let Ok(want) = want else { continue };
            for (device, is_gpu) in devices_for(*w, *c, 1, kernel.height()) {
                let got = if convolve {
                    gpix::convolve(&device, image, &kernel, border).unwrap()
                } else {
                    gpix::correlate(&device, image, &kernel, border).unwrap()
                };
                let tol = if is_gpu > 0.0 { 2e-6 * s } else { 1e-13 * s };
                for (i, (&a, &b)) in got.data().iter().zip(want.data()).enumerate() {
                    prop_assert!(close(a, b, tol), "{device:?} convolve={convolve} {border:?} {i}: {a} vs {b}");
                }
            }
        }
    }

    /// Per-axis modes on the Gaussian family (derivatives, the constant
    /// correction along x only), every device.
    #[test]
    fn per_axis_modes_agree_for_gaussians(
        case in case(),
        my in mode_strategy(),
        sigma in [0.5f64..2.5, 0.5f64..2.5],
        order in [0u32..=2, 0u32..=2],
    ) {
        let (h, w, c, values, _, mx) = &case;
        let image = ImageView::new(values, *h, *w, *c).unwrap();
        let border = gpix::Border::per_axis(my.with_cval(mx.cval()), *mx);
        let g = gpix::Gaussian::new(sigma).with_truncate(3.0).with_order(order);
        let abs_sum = |axis| g.taps(axis).unwrap().iter().map(|v: &f64| v.abs()).sum::<f64>();
        let s = border_scale(values, &border) * abs_sum(0).max(1.0) * abs_sum(1).max(1.0) * 4.0;
        let want = gpix::gaussian_filter_reference(image, &g, border).unwrap();
        for (device, is_gpu) in devices_for(*w, *c, 1, 2 * g.taps(0).unwrap().len() + 8) {
            let tol = if is_gpu > 0.0 { 4e-6 * s } else { 1e-12 * s };
            let got = gpix::gaussian_filter_with(&device, image, &g, border).unwrap();
            for (i, (&a, &b)) in got.data().iter().zip(want.data()).enumerate() {
                prop_assert!(close(a, b, tol), "{device:?} {border:?} {order:?} {i}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn border_errors_are_clear() {
    let data = [1.0f64; 12];
    let image = ImageView::new(&data, 3, 4, 1).unwrap();
    let k = gpix::Kernel::new(3, 3, vec![1.0; 9]).unwrap();
    let two = gpix::Border::per_axis(BoundaryMode::Reflect, BoundaryMode::Wrap);
    let e = gpix::correlate(&Device::Cpu, image, &k, two)
        .unwrap_err()
        .to_string();
    assert!(e.contains("one mode"), "{e}");
    let far = gpix::Border::from(BoundaryMode::Reflect).with_origin([2, 0]);
    let e = uniform_filter(&Device::Cpu, image, [3, 3], far)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("origin 2 along y") && e.contains("-1 ..= 1"),
        "{e}"
    );
    let e = gpix::gaussian_filter(
        &Device::Cpu,
        image,
        [1.0, 1.0],
        4.0,
        far.with_origin([1, 0]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("origin"), "{e}");
}

/// scipy's uniform_filter skips axes of size ≤ 1, origin and all.
#[test]
fn origins_on_unit_axes_are_ignored_as_scipy() {
    let data: Vec<f64> = (0..30).map(|i| f64::from(i * 7 % 11)).collect();
    let image = ImageView::new(&data, 5, 6, 1).unwrap();
    for (device, _) in devices(6, 1, 2) {
        for size in [[1, 5], [0, 5]] {
            let shifted = gpix::Border::from(BoundaryMode::Reflect).with_origin([1, -2]);
            let plain = gpix::Border::from(BoundaryMode::Reflect).with_origin([0, -2]);
            assert_eq!(
                uniform_filter(&device, image, size, shifted).unwrap(),
                uniform_filter(&device, image, size, plain).unwrap()
            );
        }
    }
}

fn edge_filter_strategy() -> impl Strategy<Value = gpix::EdgeFilter> {
    prop_oneof![
        (0usize..2).prop_map(|axis| gpix::EdgeFilter::Sobel { axis }),
        (0usize..2).prop_map(|axis| gpix::EdgeFilter::Prewitt { axis }),
        Just(gpix::EdgeFilter::Laplace),
    ]
}

fn check_edges<T: FilterValue>(
    case: &Case,
    filter: gpix::EdgeFilter,
    border: gpix::Border,
    cast: impl Fn(f64) -> T,
    cpu_tol: f64,
) {
    let (h, w, c, values, _, _) = case;
    let data: Vec<T> = values.iter().map(|&v| cast(v)).collect();
    let image = ImageView::new(&data, *h, *w, *c).unwrap();
    let want = gpix::edge_filter_reference(image, filter, border).unwrap();
    // Weights' absolute sums: at most 8 (sobel 2·4, laplace 8).
    let s = 8.0 * scale(values, border.modes[0]).max(scale(values, border.modes[1]));
    for (device, is_gpu) in devices_for(*w, *c, 1, 3) {
        let got = gpix::edge_filter(&device, image, filter, border).unwrap();
        let tol = if is_gpu > 0.0 { 1e-5 * s } else { cpu_tol * s };
        for (i, (&a, &b)) in got.data().iter().zip(want.data()).enumerate() {
            assert!(
                close(a.to_f64(), b, tol),
                "{device:?} {filter:?} {border:?} value {i}: {} vs {b}",
                a.to_f64()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    /// scipy's sobel, prewitt and laplace ≡ their definition (scipy's 1-D
    /// passes, each padding the previous result) for one mode or one per
    /// axis, constant included (where sobel and prewitt run two passes),
    /// f32 and f64, on every device.
    #[test]
    fn edge_filters_agree(case in case(), filter in edge_filter_strategy(), other in mode_strategy()) {
        let mode = case.5;
        // A constant border every time: sobel and prewitt run two passes there.
        let constant = gpix::Border::per_axis(BoundaryMode::Constant(1.25), other.with_cval(1.25));
        for border in [gpix::Border::from(mode), gpix::Border::per_axis(mode, other.with_cval(mode.cval())), constant] {
            check_edges(&case, filter, border, |v| v, 1e-13);
            check_edges(&case, filter, border, |v| v as f32, 2e-6);
        }
    }
}

/// The constant border really is scipy's: the derivative padded with cval,
/// not the image (scipy.ndimage.sobel(x, 1, mode='constant', cval=2) of a
/// 1×3 row [1, 2, 4] is [4, 10, 4]: derivatives [0, 3, 0] smoothed along y
/// with cval 2 above and below; a 3×3 kernel over the padded image would
/// give [0, 6, 0]). Axis 2 and origins are refused.
#[test]
fn edge_filters_match_scipy_at_the_border() {
    let data = [1.0f64, 2.0, 4.0];
    let image = ImageView::new(&data, 1, 3, 1).unwrap();
    let sobel_x = gpix::EdgeFilter::Sobel { axis: 1 };
    let got = gpix::edge_filter(&Device::Cpu, image, sobel_x, BoundaryMode::Constant(2.0)).unwrap();
    assert_eq!(got.data(), [4.0, 10.0, 4.0]);
    let lap = gpix::edge_filter(
        &Device::Cpu,
        image,
        gpix::EdgeFilter::Laplace,
        BoundaryMode::Nearest,
    )
    .unwrap();
    assert_eq!(lap.data(), [1.0, 1.0, -2.0]);
    let e = gpix::edge_filter(
        &Device::Cpu,
        image,
        gpix::EdgeFilter::Prewitt { axis: 2 },
        BoundaryMode::Reflect,
    )
    .unwrap_err();
    assert!(e.to_string().contains("axis 2"), "{e}");
    let shifted = gpix::Border::from(BoundaryMode::Reflect).with_origin([1, 0]);
    let e = gpix::edge_filter(&Device::Cpu, image, gpix::EdgeFilter::Laplace, shifted).unwrap_err();
    assert!(e.to_string().contains("origin"), "{e}");
}

/// Every device's minimum or maximum filter equals the reference exactly
/// (after rounding the reference to the device's precision: f32 on a GPU).
fn check_extremum<T: FilterValue + gpix::ExtremumValue>(
    case: &Case,
    kind: gpix::Extremum,
    border: gpix::Border,
    cast: impl Fn(f64) -> T,
) {
    let (h, w, c, values, size, _) = case;
    let data: Vec<T> = values.iter().map(|&v| cast(v)).collect();
    let image = ImageView::new(&data, *h, *w, *c).unwrap();
    let want = gpix::extremum_filter_reference(image, kind, *size, border).unwrap();
    for (device, is_gpu) in devices_for(*w, *c, 1, size[0]) {
        let got = gpix::extremum_filter(&device, image, kind, *size, border).unwrap();
        for (i, (&a, &b)) in got.data().iter().zip(want.data()).enumerate() {
            let b = if is_gpu > 0.0 {
                f64::from(b as f32)
            } else {
                T::from_f64(b).to_f64()
            };
            assert_eq!(
                a.to_f64(),
                b,
                "{device:?} {kind:?} {size:?} {border:?} value {i}"
            );
        }
    }
}

fn extremum_strategy() -> impl Strategy<Value = gpix::Extremum> {
    prop_oneof![Just(gpix::Extremum::Minimum), Just(gpix::Extremum::Maximum)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    /// scipy's minimum_filter and maximum_filter: reference ≡ CPU ≡ GPU ≡
    /// GPU in bands of a few rows, exactly, for one mode, one per axis
    /// (constants of their own: the corners read the x constant), any valid
    /// origin, windows from 1×1 to wider than the array, f32 and f64.
    #[test]
    fn extremum_filters_agree(
        case in case(),
        kind in extremum_strategy(),
        other in mode_strategy(),
        shift in [0.0f64..1.0, 0.0f64..1.0],
    ) {
        let size = case.4;
        // Any origin in scipy's range -(n/2) ..= (n-1)/2.
        let origin = [0, 1].map(|k| {
            let n = size[k] as isize;
            let span = (n - 1) / 2 + n / 2;
            (shift[k] * (span + 1) as f64) as isize % (span + 1) - n / 2
        });
        let own_constants = gpix::Border::per_axis(BoundaryMode::Constant(-1500.0), BoundaryMode::Constant(1500.5));
        for border in [
            gpix::Border::from(case.5).with_origin(origin),
            gpix::Border::per_axis(case.5, other),
            gpix::Border::per_axis(other, case.5).with_origin(origin),
            own_constants,
        ] {
            check_extremum(&case, kind, border, |v| v);
            check_extremum(&case, kind, border, |v| v as f32);
        }
    }
}

/// scipy's own numbers, NaNs skipped (scipy's result depends on where they
/// are: it gives [nan, nan, 1, nan] below), each axis's constant read.
#[test]
fn extremum_filters_match_scipy() {
    // scipy.ndimage.maximum_filter(a, size=3, mode='reflect'),
    // minimum_filter(a, size=(1, 2), mode='constant', cval=-1)
    let a = [1.0f64, 5.0, 2.0, 0.0, 3.0, 4.0, 7.0, 6.0, 8.0];
    let image = ImageView::new(&a, 3, 3, 1).unwrap();
    let max = gpix::maximum_filter(&Device::Cpu, image, [3, 3], BoundaryMode::Reflect).unwrap();
    assert_eq!(max.data(), [5.0, 5.0, 5.0, 7.0, 8.0, 8.0, 7.0, 8.0, 8.0]);
    let min =
        gpix::minimum_filter(&Device::Cpu, image, [1, 2], BoundaryMode::Constant(-1.0)).unwrap();
    assert_eq!(min.data(), [-1.0, 1.0, 2.0, -1.0, 0.0, 3.0, -1.0, 6.0, 6.0]);
    let nan = [f32::NAN, 1.0, f32::NAN, f32::NAN];
    let row = ImageView::new(&nan, 1, 4, 1).unwrap();
    let got = gpix::maximum_filter(&Device::Cpu, row, [1, 2], BoundaryMode::Nearest).unwrap();
    assert!(got.data()[0].is_nan());
    assert_eq!(&got.data()[1..3], [1.0, 1.0]);
    assert!(got.data()[3].is_nan());
    let corner = gpix::Border::per_axis(BoundaryMode::Constant(9.0), BoundaryMode::Constant(-9.0));
    let one = [0.0f64];
    let got = gpix::maximum_filter(
        &Device::Cpu,
        ImageView::new(&one, 1, 1, 1).unwrap(),
        [3, 3],
        corner,
    )
    .unwrap();
    assert_eq!(got.data(), [9.0]);
    let got = gpix::minimum_filter(
        &Device::Cpu,
        ImageView::new(&one, 1, 1, 1).unwrap(),
        [3, 3],
        corner,
    )
    .unwrap();
    assert_eq!(got.data(), [-9.0]);
    let bad = gpix::Border::from(BoundaryMode::Reflect).with_origin([0, 2]);
    let e = gpix::maximum_filter(&Device::Cpu, image, [3, 3], bad).unwrap_err();
    assert!(e.to_string().contains("origin"), "{e}");
}

/// Windows longer than the doubling sweeps take (van Herk's blocks) on
/// both axes, over several channels, and one wider than the array; on the
/// GPU, windows longer than its chunks.
#[test]
fn long_extremum_windows_agree() {
    let mut state = 7u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    for (h, w, c, size) in [
        (3, 300, 2, [1, 150]),
        (300, 3, 1, [200, 1]),
        (140, 150, 1, [130, 257]),
    ] {
        let data: Vec<f64> = (0..h * w * c).map(|_| next()).collect();
        let image = ImageView::new(&data, h, w, c).unwrap();
        for kind in [gpix::Extremum::Minimum, gpix::Extremum::Maximum] {
            for mode in [
                BoundaryMode::Reflect,
                BoundaryMode::Wrap,
                BoundaryMode::Constant(0.75),
            ] {
                let want = gpix::extremum_filter_reference(image, kind, size, mode).unwrap();
                let got = gpix::extremum_filter(&Device::Cpu, image, kind, size, mode).unwrap();
                assert_eq!(got.data(), want.data(), "{kind:?} {size:?} {mode:?}");
                // The GPU passes stream windows over 256 (rows) and 64
                // (columns) taps through workgroup memory in chunks.
                #[cfg(feature = "gpu")]
                if let Some(ctx) = common::gpu() {
                    let got =
                        gpix::extremum_filter(&Device::Gpu(ctx.clone()), image, kind, size, mode)
                            .unwrap();
                    let want: Vec<f64> = want.data().iter().map(|&v| f64::from(v as f32)).collect();
                    assert_eq!(got.data(), want, "gpu {kind:?} {size:?} {mode:?}");
                }
            }
        }
    }
}

/// NaNs anywhere (some rows with, some without: the two kinds of sweep
/// meet in one call) are skipped as the reference skips them; a window of
/// NaNs only gives NaN.
#[test]
fn extremum_filters_skip_nans() {
    let (h, w, c) = (40, 37, 2);
    let data: Vec<f32> = (0..h * w * c)
        .map(|i| {
            let row = i / (w * c);
            if row % 5 == 2 && (i * 7919) % 11 < 4 || row == 30 {
                f32::NAN
            } else {
                ((i * 2654435761) % 1000) as f32 / 10.0
            }
        })
        .collect();
    let image = ImageView::new(&data, h, w, c).unwrap();
    for kind in [gpix::Extremum::Minimum, gpix::Extremum::Maximum] {
        for size in [[1, 2], [3, 3], [4, 9], [9, 1], [1, 1]] {
            for mode in [
                BoundaryMode::Reflect,
                BoundaryMode::Constant(f64::NAN),
                BoundaryMode::Constant(5.0),
            ] {
                let want = gpix::extremum_filter_reference(image, kind, size, mode).unwrap();
                let got = gpix::extremum_filter(&Device::Cpu, image, kind, size, mode).unwrap();
                for (i, (&a, &b)) in got.data().iter().zip(want.data()).enumerate() {
                    let b = b as f32;
                    assert!(
                        a == b || a.is_nan() && b.is_nan(),
                        "{kind:?} {size:?} {mode:?} value {i}: {a} vs {b}"
                    );
                }
            }
        }
    }
}

fn check_int_extremum<T: gpix::ExtremumValue>(
    (h, w, c): (usize, usize, usize),
    data: &[T],
    kind: gpix::Extremum,
    size: [usize; 2],
    border: gpix::Border,
) {
    let image = ImageView::new(data, h, w, c).unwrap();
    let want = gpix::extremum_filter_reference(image, kind, size, border).unwrap();
    for (device, _) in devices_for(w, c, 1, size[0]) {
        let got = gpix::extremum_filter(&device, image, kind, size, border).unwrap();
        let got: Vec<f64> = got.data().iter().map(|&v| v.into_f64()).collect();
        assert_eq!(got, want.data(), "{device:?} {kind:?} {size:?} {border:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::GPU_CASES, ..ProptestConfig::default() })]

    /// u8, u16 and i16 images keep their type: reference ≡ CPU ≡ GPU
    /// (through f32) ≡ GPU in bands, exactly, integer constants included.
    #[test]
    fn integer_extremum_filters_agree(
        (h, w, c) in (0usize..=9, 0usize..=9, 1usize..=4),
        seed in any::<u64>(),
        size in [1usize..=12, 1usize..=12],
        kind in extremum_strategy(),
        mode in mode_strategy(),
        cval in -300i32..300,
    ) {
        let mode = match mode { BoundaryMode::Constant(_) => BoundaryMode::Constant(f64::from(cval.clamp(0, 255))), m => m };
        let mut rng = gpix::synth::Rng::new(seed);
        let n = h * w * c;
        let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
        let words: Vec<u16> = (0..n).map(|_| rng.next_u64() as u16).collect();
        let signed: Vec<i16> = (0..n).map(|_| rng.next_u64() as i16).collect();
        check_int_extremum((h, w, c), &bytes, kind, size, mode.into());
        check_int_extremum((h, w, c), &words, kind, size, mode.into());
        let signed_mode = match mode { BoundaryMode::Constant(_) => BoundaryMode::Constant(f64::from(cval)), m => m };
        check_int_extremum((h, w, c), &signed, kind, size, gpix::Border::per_axis(signed_mode, BoundaryMode::Wrap));
    }
}

/// A constant the integer type cannot hold is refused, naming it.
#[test]
fn integer_extremum_filters_refuse_foreign_constants() {
    let data = [1u8, 2, 3, 4];
    let image = ImageView::new(&data, 2, 2, 1).unwrap();
    for cval in [0.5, -1.0, 256.0] {
        let e = gpix::maximum_filter(&Device::Cpu, image, [3, 3], BoundaryMode::Constant(cval))
            .unwrap_err();
        assert!(e.to_string().contains("not a uint8 value"), "{e}");
    }
    let got =
        gpix::maximum_filter(&Device::Cpu, image, [3, 3], BoundaryMode::Constant(255.0)).unwrap();
    assert_eq!(got.data(), [255; 4]);
}
