//! Render passes allocate nothing on the host once they have seen a frame's
//! resources: recording 100 frames costs no more heap allocations than
//! recording the same number of compute dispatches by hand with wgpu (whose
//! command recording allocates on its own). A counting global allocator in
//! this test binary (only) measures it, on the recording thread only.
#![cfg(feature = "gpu")]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use gpix::render::{
    BufferImage, ColorSpace, FilterPass, GradientOutput, GradientPass, LabelMeanPass, PalettePass,
    PaletteTargets,
};
use gpix::{BoundaryMode, GpuContext, Palette};
use wgpu::{TextureFormat as F, TextureUsages as U};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

fn texture(ctx: &GpuContext, format: F, usage: U) -> wgpu::Texture {
    ctx.device().create_texture(&wgpu::TextureDescriptor {
        label: Some("test"),
        size: wgpu::Extent3d {
            width: 32,
            height: 24,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage,
        view_formats: &[],
    })
}

fn storage_buffer(ctx: &GpuContext, bytes: u64) -> wgpu::Buffer {
    ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("test"),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    })
}

/// A trivial kernel with four storage buffers, for recording the same
/// number of dispatches by hand.
fn baseline_pipeline(ctx: &GpuContext) -> (wgpu::ComputePipeline, wgpu::BindGroup) {
    let module = ctx
        .device()
        .create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("baseline"),
            source: wgpu::ShaderSource::Wgsl(
                "@group(0) @binding(0) var<storage, read_write> a: array<u32>;
                 @group(0) @binding(1) var<storage, read_write> b: array<u32>;
                 @group(0) @binding(2) var<storage, read_write> c: array<u32>;
                 @group(0) @binding(3) var<storage, read_write> d: array<u32>;
                 @compute @workgroup_size(1) fn main() { a[0] = b[0] + c[0] + d[0]; }"
                    .into(),
            ),
        });
    let pipeline = ctx
        .device()
        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("baseline"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions::default(),
            cache: None,
        });
    let buffers: Vec<wgpu::Buffer> = (0..4).map(|_| storage_buffer(ctx, 16)).collect();
    let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    let group = ctx.device().create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("baseline"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    (pipeline, group)
}

#[test]
fn recorded_frames_allocate_no_more_than_wgpu_itself() {
    let Some(ctx) = common::gpu() else { return };
    let device = ctx.device();
    let palette =
        Palette::new(4, vec![0, 0, 0, 255, 255, 255, 255, 255, 200, 30, 30, 255]).unwrap();
    let mut quantize = PalettePass::from_palette(device, &palette).unwrap();
    let mut blur = FilterPass::gaussian(
        device,
        [1.5, 1.5],
        4.0,
        BoundaryMode::Reflect,
        ColorSpace::Encoded,
    )
    .unwrap();
    let mut edges = GradientPass::new(
        device,
        [1.0, 1.0],
        1,
        GradientOutput::Magnitude,
        ColorSpace::Encoded,
    )
    .unwrap();
    let mut means = LabelMeanPass::new(device, 5, 4, ColorSpace::Encoded).unwrap();
    let input = texture(&ctx, F::Rgba8Unorm, U::TEXTURE_BINDING);
    let index = texture(&ctx, F::R32Uint, U::STORAGE_BINDING);
    let blurred = texture(
        &ctx,
        F::Rgba16Float,
        U::STORAGE_BINDING | U::TEXTURE_BINDING,
    );
    let labels = texture(&ctx, F::R32Uint, U::TEXTURE_BINDING);
    let painted = texture(&ctx, F::Rgba8Unorm, U::STORAGE_BINDING);
    // A buffer image too: its binding is a range of the buffer.
    let grad_buffer = storage_buffer(&ctx, 32 * 24 * 16);
    let grad = BufferImage {
        buffer: &grad_buffer,
        width: 32,
        height: 24,
        format: F::Rgba32Float,
    };
    let mut frame = |enc: &mut wgpu::CommandEncoder| {
        quantize
            .encode(enc, &input, PaletteTargets::default().index(&index))
            .unwrap();
        blur.encode(enc, &input, &blurred).unwrap();
        edges.encode(enc, &blurred, grad).unwrap();
        means.encode(enc, &input, &labels, &painted).unwrap();
    };
    let new_encoder = || device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
    // The first frame builds pipelines and bind groups.
    let mut enc = new_encoder();
    frame(&mut enc);
    ctx.queue().submit([enc.finish()]);
    // Wait for it: lavapipe compiles and runs it on its own thread, and a
    // process that exits meanwhile can crash in LLVM's torn-down state.
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("the first frame ran");

    // The same recording by hand: 1 + 2 + 1 + 2 dispatches and a clear.
    let (pipeline, group) = baseline_pipeline(&ctx);
    let table = storage_buffer(&ctx, 64);
    let by_hand = |enc: &mut wgpu::CommandEncoder| {
        enc.clear_buffer(&table, 0, None);
        for _ in 0..6 {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("by hand"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(2, 2, 1);
        }
    };
    let (mut ours, mut theirs) = (0, 0);
    for _ in 0..100 {
        let mut enc = new_encoder();
        ours += allocations(|| frame(&mut enc));
        drop(enc);
        let mut enc = new_encoder();
        theirs += allocations(|| by_hand(&mut enc));
        drop(enc);
    }
    assert!(
        ours <= theirs,
        "100 frames of the passes made {ours} heap allocations, \
         the same dispatches recorded by hand {theirs}"
    );
    eprintln!("100 frames: passes {ours} allocations, by hand {theirs}");
}
