//! gpix passes in a renderer's frame, headless: the sample photo goes into a
//! texture; one command encoder records a 16-colour palette mapping, a
//! gaussian blur and the gradient magnitude of the blurred image; one submit,
//! one readback, two PNGs.
//!
//! ```sh
//! cargo run --release --example render_passes -- assets/coffee.png /tmp
//! ```
//!
//! Any adapter works, software ones included (lavapipe, llvmpipe).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gpix::render::{
    ColorSpace, FilterPass, GradientOutput, GradientPass, PalettePass, PaletteTargets,
};
use gpix::{BoundaryMode, Palette};

/// The CGA palette (assets/cga16.gpl), in sRGB bytes.
const CGA: [[u16; 3]; 16] = [
    [0, 0, 0],
    [0, 0, 170],
    [0, 170, 0],
    [0, 170, 170],
    [170, 0, 0],
    [170, 0, 170],
    [170, 85, 0],
    [170, 170, 170],
    [85, 85, 85],
    [85, 85, 255],
    [85, 255, 85],
    [85, 255, 255],
    [255, 85, 85],
    [255, 85, 255],
    [255, 255, 85],
    [255, 255, 255],
];

const USAGE: &str = "usage: render_passes [PHOTO] [OUT_DIR]   \
     (defaults: assets/coffee.png, the current folder; run from the repository root)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") || args.len() > 2 {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let input = PathBuf::from(args.first().map_or("assets/coffee.png", String::as_str));
    let out_dir = PathBuf::from(args.get(1).map_or(".", String::as_str));
    if !input.is_file() {
        eprintln!("error: {}: no such file\n{USAGE}", input.display());
        return ExitCode::from(2);
    }
    if !out_dir.is_dir() {
        eprintln!("error: {}: no such folder\n{USAGE}", out_dir.display());
        return ExitCode::from(2);
    }
    match run(&input, &out_dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(input: &Path, out_dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let photo = image::open(input)
        .map_err(|e| format!("{}: {e}", input.display()))?
        .to_rgba8();
    let (w, h) = photo.dimensions();

    // Your renderer already has these.
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapter =
        pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))?;
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        required_limits: adapter.limits(),
        ..Default::default()
    }))?;
    println!("adapter: {}", adapter.get_info().name);

    let texture = |format, usage| {
        device.create_texture(&wgpu::TextureDescriptor {
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
            usage,
            view_formats: &[],
        })
    };
    use wgpu::{TextureFormat as F, TextureUsages as U};
    let source = texture(F::Rgba8UnormSrgb, U::TEXTURE_BINDING | U::COPY_DST);
    let quantized = texture(F::Rgba8Unorm, U::STORAGE_BINDING | U::COPY_SRC);
    let blurred = texture(F::Rgba16Float, U::STORAGE_BINDING | U::TEXTURE_BINDING);
    let edges = texture(F::Rgba8Unorm, U::STORAGE_BINDING | U::COPY_SRC);
    queue.write_texture(
        source.as_image_copy(),
        &photo,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(4 * w),
            rows_per_image: None,
        },
        source.size(),
    );

    // Made once, recorded every frame.
    let palette = Palette::new(3, CGA.concat())?;
    let mut quantize = PalettePass::from_palette(&device, &palette)?;
    let mut blur = FilterPass::gaussian(
        &device,
        [2.0, 2.0],
        4.0,
        BoundaryMode::Reflect,
        ColorSpace::Encoded,
    )?;
    let mut gradient = GradientPass::new(
        &device,
        [1.0, 1.0],
        1,
        GradientOutput::Magnitude,
        ColorSpace::Encoded,
    )?;

    let mut encoder = device.create_command_encoder(&Default::default());
    quantize.encode(
        &mut encoder,
        &source,
        PaletteTargets::default().color(&quantized),
    )?;
    blur.encode(&mut encoder, &source, &blurred)?;
    gradient.encode(&mut encoder, &blurred, &edges)?;

    // One readback of both results.
    let row = (4 * w).div_ceil(256) * 256;
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: u64::from(row * h) * 2,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    for (i, t) in [&quantized, &edges].into_iter().enumerate() {
        encoder.copy_texture_to_buffer(
            t.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: u64::from(row * h) * i as u64,
                    bytes_per_row: Some(row),
                    rows_per_image: None,
                },
            },
            t.size(),
        );
    }
    queue.submit([encoder.finish()]);
    readback
        .slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.expect("map the readback"));
    device.poll(wgpu::PollType::wait_indefinitely())?;
    let data = readback.slice(..).get_mapped_range()?;

    for (i, name) in ["coffee-cga.png", "coffee-edges.png"]
        .into_iter()
        .enumerate()
    {
        let mut pixels = Vec::with_capacity((4 * w * h) as usize);
        for y in 0..h {
            let start = (row * h) as usize * i + (row * y) as usize;
            pixels.extend_from_slice(&data[start..start + (4 * w) as usize]);
        }
        let mut image = image::RgbaImage::from_raw(w, h, pixels).ok_or("readback size")?;
        if i == 1 {
            // Gradient magnitudes of 0-1 values are small: stretch for viewing.
            for p in image.pixels_mut() {
                for c in &mut p.0[..3] {
                    *c = c.saturating_mul(4);
                }
            }
        }
        let path = out_dir.join(name);
        image.save(&path)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
