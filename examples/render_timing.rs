//! Times gpix's render passes on the default adapter: each pass recorded
//! alone, submitted and waited for, over a synthetic frame; prints the
//! median per pass. On lavapipe the figures show how a pass's cost grows
//! (palette size, window size, label count), not GPU speed.
//!
//! ```sh
//! cargo run --release --example render_timing -- 1920x1080 9
//! ```

use std::process::ExitCode;
use std::time::Instant;

use gpix::render::{
    ColorSpace, FilterPass, GradientOutput, GradientPass, LabelMeanPass, PalettePass,
    PaletteTargets,
};
use gpix::{BoundaryMode, Palette};
use wgpu::{TextureFormat as F, TextureUsages as U};

const USAGE: &str = "usage: render_timing [WIDTHxHEIGHT] [FRAMES]   (defaults: 1920x1080 9)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let size = args.first().map_or(Some((1920, 1080)), |s| {
        let (w, h) = s.split_once('x')?;
        Some((w.parse().ok()?, h.parse().ok()?))
    });
    let frames = args.get(1).map_or(Some(9), |s| s.parse().ok());
    let (Some((w, h)), Some(frames)) = (size, frames) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if args.len() > 2 || w == 0 || h == 0 || frames == 0 {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    match run(w, h, frames) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    size: (u32, u32),
}

impl Gpu {
    fn texture(&self, format: F, usage: U, data: Option<&[u8]>) -> wgpu::Texture {
        let (w, h) = self.size;
        let t = self.device.create_texture(&wgpu::TextureDescriptor {
            label: None,
            size: wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: usage | U::COPY_DST,
            view_formats: &[],
        });
        if let Some(data) = data {
            self.queue.write_texture(
                t.as_image_copy(),
                data,
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(w * 4),
                    rows_per_image: None,
                },
                t.size(),
            );
        }
        t
    }

    /// Median milliseconds of `frames` frames of `record`, after one warm-up.
    fn time(
        &self,
        frames: usize,
        mut record: impl FnMut(&mut wgpu::CommandEncoder) -> Result<(), gpix::Error>,
    ) -> Result<f64, Box<dyn std::error::Error>> {
        let mut times = Vec::with_capacity(frames);
        for i in 0..=frames {
            let start = Instant::now();
            let mut encoder = self.device.create_command_encoder(&Default::default());
            record(&mut encoder)?;
            self.queue.submit([encoder.finish()]);
            self.device.poll(wgpu::PollType::wait_indefinitely())?;
            if i > 0 {
                times.push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
        times.sort_by(f64::total_cmp);
        Ok(times[times.len() / 2])
    }
}

fn run(w: u32, h: u32, frames: usize) -> Result<(), Box<dyn std::error::Error>> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapter =
        pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))?;
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        required_limits: adapter.limits(),
        ..Default::default()
    }))?;
    println!(
        "adapter: {} — {w}x{h}, median of {frames} frames",
        adapter.get_info().name
    );
    let gpu = Gpu {
        device,
        queue,
        size: (w, h),
    };
    let (wu, hu) = (w as usize, h as usize);
    let rgb = gpix::synth::smooth_rgb(hu, wu, 1);
    let rgba: Vec<u8> = rgb
        .data()
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    let source = gpu.texture(F::Rgba8Unorm, U::TEXTURE_BINDING, Some(&rgba));
    let colour = gpu.texture(F::Rgba8Unorm, U::STORAGE_BINDING, None);
    let index = gpu.texture(F::R32Uint, U::STORAGE_BINDING, None);
    let device = &gpu.device;

    println!("{:<34} {:>10}", "pass", "median ms");
    for k in [16, 256] {
        let palette = Palette::new(3, gpix::synth::random_palette(k, 3, 7))?;
        let mut pass = PalettePass::from_palette(device, &palette)?;
        let targets = PaletteTargets::default().color(&colour).index(&index);
        let ms = gpu.time(frames, |e| pass.encode(e, &source, targets))?;
        println!(
            "{:<34} {ms:>10.1}",
            format!("palette K={k}, index + colour")
        );
    }
    for sigma in [2.0, 4.0] {
        let mut pass = FilterPass::gaussian(
            device,
            [sigma, sigma],
            4.0,
            BoundaryMode::Reflect,
            ColorSpace::Encoded,
        )?;
        let ms = gpu.time(frames, |e| pass.encode(e, &source, &colour))?;
        println!("{:<34} {ms:>10.1}", format!("gaussian sigma={sigma}"));
    }
    let mut pass = GradientPass::new(
        device,
        [1.0, 1.0],
        1,
        GradientOutput::Magnitude,
        ColorSpace::Encoded,
    )?;
    let ms = gpu.time(frames, |e| pass.encode(e, &source, &colour))?;
    println!("{:<34} {ms:>10.1}", "gradient magnitude");
    for m in [1usize, 16, 10_000] {
        let labels = gpix::synth::voronoi_labels(hu, wu, m, 3);
        let label_tex = gpu.texture(
            F::R32Uint,
            U::TEXTURE_BINDING,
            Some(bytemuck::cast_slice(&labels)),
        );
        let mut pass = LabelMeanPass::new(device, m as u32, 3, ColorSpace::Encoded)?;
        let ms = gpu.time(frames, |e| pass.encode(e, &source, &label_tex, &colour))?;
        println!(
            "{:<34} {ms:>10.1}",
            format!("label mean, {m} Voronoi labels")
        );
    }
    Ok(())
}
