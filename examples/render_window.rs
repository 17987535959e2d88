//! gpix passes in a live window (winit): the sample photo, quantized to a
//! 16-colour palette, blurred or edge-detected on the GPU every frame.
//! Keys: 1 quantized, 2 gaussian blur, 3 gradient magnitude, Esc quits.
//!
//! ```sh
//! cargo run --release --features window --example render_window -- assets/coffee.png
//! ```
//!
//! Not built in CI (it needs a display); `render_passes` is the headless twin.

use std::sync::Arc;

use gpix::render::{
    ColorSpace, FilterPass, GradientOutput, GradientPass, PalettePass, PaletteTargets,
};
use gpix::{BoundaryMode, Palette};
use winit::application::ApplicationHandler;
use winit::event::{ElementState, KeyEvent, WindowEvent};
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::keyboard::{Key, NamedKey};
use winit::window::{Window, WindowId};

/// Draws a texture over the whole window (one triangle covering the screen).
const BLIT: &str = r"
@group(0) @binding(0) var shown: texture_2d<f32>;
@group(0) @binding(1) var linear: sampler;

struct Out { @builtin(position) pos: vec4<f32>, @location(0) uv: vec2<f32> }

@vertex
fn vs(@builtin(vertex_index) i: u32) -> Out {
    let uv = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    return Out(vec4<f32>(uv * vec2<f32>(2.0, -2.0) + vec2<f32>(-1.0, 1.0), 0.0, 1.0), uv);
}

@fragment
fn fs(v: Out) -> @location(0) vec4<f32> {
    return textureSample(shown, linear, v.uv);
}
";

/// Pico-8's 16 colours, as sRGB bytes.
const PICO8: [[u16; 3]; 16] = [
    [0, 0, 0],
    [29, 43, 83],
    [126, 37, 83],
    [0, 135, 81],
    [171, 82, 54],
    [95, 87, 79],
    [194, 195, 199],
    [255, 241, 232],
    [255, 0, 77],
    [255, 163, 0],
    [255, 236, 39],
    [0, 228, 54],
    [41, 173, 255],
    [131, 118, 156],
    [255, 119, 168],
    [255, 204, 170],
];

struct Gpu {
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    device: wgpu::Device,
    queue: wgpu::Queue,
    photo: wgpu::Texture,
    results: [wgpu::Texture; 3],
    groups: [wgpu::BindGroup; 3],
    blit: wgpu::RenderPipeline,
    quantize: PalettePass,
    blur: FilterPass,
    edges: GradientPass,
    shown: usize,
}

struct App {
    image: image::RgbaImage,
    gpu: Option<Gpu>,
}

fn texture(
    device: &wgpu::Device,
    (w, h): (u32, u32),
    format: wgpu::TextureFormat,
    usage: wgpu::TextureUsages,
) -> wgpu::Texture {
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
}

impl Gpu {
    fn new(
        event_loop: &ActiveEventLoop,
        window: Arc<Window>,
        image: &image::RgbaImage,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_with_display_handle(
            Box::new(event_loop.owned_display_handle()),
        ));
        let surface = instance.create_surface(window.clone())?;
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            compatible_surface: Some(&surface),
            ..Default::default()
        }))?;
        let (device, queue) =
            pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
                required_limits: adapter.limits(),
                ..Default::default()
            }))?;
        let size = window.inner_size();
        let mut config = surface
            .get_default_config(&adapter, size.width.max(1), size.height.max(1))
            .ok_or("the adapter cannot present to this window")?;
        // The passes' outputs hold display-ready (sRGB-encoded) values, so the
        // blit writes them through a non-sRGB view of the swapchain image.
        config.view_formats.push(config.format.remove_srgb_suffix());
        surface.configure(&device, &config);

        use wgpu::{TextureFormat as F, TextureUsages as U};
        let dims = image.dimensions();
        let photo = texture(
            &device,
            dims,
            F::Rgba8UnormSrgb,
            U::TEXTURE_BINDING | U::COPY_DST,
        );
        queue.write_texture(
            photo.as_image_copy(),
            image,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(4 * dims.0),
                rows_per_image: None,
            },
            photo.size(),
        );
        // Passes write linear-or-encoded values into storage textures; the
        // blit samples them (Rgba8Unorm holds the sRGB bytes of the palette).
        let results = [F::Rgba8Unorm, F::Rgba16Float, F::Rgba16Float]
            .map(|f| texture(&device, dims, f, U::STORAGE_BINDING | U::TEXTURE_BINDING));

        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("blit"),
            source: wgpu::ShaderSource::Wgsl(BLIT.into()),
        });
        let blit = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("blit"),
            layout: None,
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs"),
                compilation_options: Default::default(),
                targets: &[Some(config.format.remove_srgb_suffix().into())],
            }),
            primitive: Default::default(),
            depth_stencil: None,
            multisample: Default::default(),
            multiview_mask: None,
            cache: None,
        });
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        let groups = [0, 1, 2].map(|i| {
            let view = results[i].create_view(&Default::default());
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &blit.get_bind_group_layout(0),
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::TextureView(&view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::Sampler(&sampler),
                    },
                ],
            })
        });

        let palette = Palette::new(3, PICO8.concat())?;
        let quantize = PalettePass::from_palette(&device, &palette)?;
        let blur = FilterPass::gaussian(
            &device,
            [4.0, 4.0],
            4.0,
            BoundaryMode::Reflect,
            ColorSpace::Encoded,
        )?;
        let edges = GradientPass::new(
            &device,
            [0.25, 0.25],
            1,
            GradientOutput::Magnitude,
            ColorSpace::Encoded,
        )?;
        Ok(Self {
            window,
            surface,
            config,
            device,
            queue,
            photo,
            results,
            groups,
            blit,
            quantize,
            blur,
            edges,
            shown: 0,
        })
    }

    fn frame(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        let frame = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f)
            | wgpu::CurrentSurfaceTexture::Suboptimal(f) => f,
            _ => {
                self.surface.configure(&self.device, &self.config);
                return Ok(());
            }
        };
        let mut encoder = self.device.create_command_encoder(&Default::default());
        // Every frame, as a renderer would: the passes reuse everything.
        match self.shown {
            0 => self.quantize.encode(
                &mut encoder,
                &self.photo,
                PaletteTargets::default().color(&self.results[0]),
            )?,
            1 => self
                .blur
                .encode(&mut encoder, &self.photo, &self.results[1])?,
            _ => self
                .edges
                .encode(&mut encoder, &self.photo, &self.results[2])?,
        }
        let view = frame.texture.create_view(&wgpu::TextureViewDescriptor {
            format: Some(self.config.format.remove_srgb_suffix()),
            ..Default::default()
        });
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("blit"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                ..Default::default()
            });
            pass.set_pipeline(&self.blit);
            pass.set_bind_group(0, &self.groups[self.shown], &[]);
            pass.draw(0..3, 0..1);
        }
        self.queue.submit([encoder.finish()]);
        self.queue.present(frame);
        Ok(())
    }
}

impl ApplicationHandler for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.gpu.is_some() {
            return;
        }
        let (w, h) = self.image.dimensions();
        let attributes = Window::default_attributes()
            .with_title("gpix render passes: 1 palette, 2 blur, 3 edges")
            .with_inner_size(winit::dpi::PhysicalSize::new(w, h));
        let result = event_loop
            .create_window(attributes)
            .map_err(|e| e.into())
            .and_then(|window| Gpu::new(event_loop, Arc::new(window), &self.image));
        match result {
            Ok(gpu) => self.gpu = Some(gpu),
            Err(e) => {
                eprintln!("error: {e}");
                event_loop.exit();
            }
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _: WindowId, event: WindowEvent) {
        let Some(gpu) = self.gpu.as_mut() else { return };
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::KeyboardInput {
                event:
                    KeyEvent {
                        logical_key,
                        state: ElementState::Pressed,
                        ..
                    },
                ..
            } => match logical_key {
                Key::Named(NamedKey::Escape) => event_loop.exit(),
                Key::Character(c) if ["1", "2", "3"].contains(&c.as_str()) => {
                    gpu.shown = c.parse::<usize>().unwrap_or(1) - 1;
                    gpu.window.request_redraw();
                }
                _ => {}
            },
            WindowEvent::Resized(size) => {
                gpu.config.width = size.width.max(1);
                gpu.config.height = size.height.max(1);
                gpu.surface.configure(&gpu.device, &gpu.config);
            }
            WindowEvent::RedrawRequested => {
                if let Err(e) = gpu.frame() {
                    eprintln!("error: {e}");
                    event_loop.exit();
                }
                gpu.window.request_redraw();
            }
            _ => {}
        }
    }
}

const USAGE: &str =
    "usage: render_window [PHOTO]   (default assets/coffee.png; run from the repository root)";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "assets/coffee.png".into());
    if path == "-h" || path == "--help" || !std::path::Path::new(&path).is_file() {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
    let image = image::open(&path)
        .map_err(|e| format!("{path}: {e}"))?
        .to_rgba8();
    let event_loop = EventLoop::new()?;
    event_loop.run_app(&mut App { image, gpu: None })?;
    Ok(())
}
