//! Where a pass reads and writes: the caller's textures or storage buffers.
//! Each kernel calls `input_size`, `load_raw`, `store_out`, `store_index`
//! and `load_label`; this module writes the WGSL declarations and functions
//! behind them for the resources at hand.

use super::name;
use crate::error::{Error, Result};

/// Pixels in a storage buffer: `width × height` texels, row-major, rows
/// tightly packed from offset 0, each texel laid out as in a texture of
/// `format` (`Rgba8Unorm`/`Rgba8UnormSrgb`: 4 bytes; `Rgba16Float`: 8;
/// `Rgba32Float`: 16; `R32Float`/`R32Uint`: 4).
#[derive(Debug, Clone, Copy)]
pub struct BufferImage<'a> {
    /// The buffer (`STORAGE` usage).
    pub buffer: &'a wgpu::Buffer,
    /// Texels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// The texel layout.
    pub format: wgpu::TextureFormat,
}

/// A pass's input or output: a texture or pixels in a buffer.
#[derive(Debug, Clone, Copy)]
pub enum Surface<'a> {
    /// A 2-D texture (mip level 0).
    Texture(&'a wgpu::Texture),
    /// A storage buffer.
    Buffer(BufferImage<'a>),
}

impl<'a> From<&'a wgpu::Texture> for Surface<'a> {
    fn from(t: &'a wgpu::Texture) -> Self {
        Surface::Texture(t)
    }
}

impl BufferImage<'_> {
    /// Bytes of the image: width × height texels of its format.
    pub(crate) fn bytes(&self) -> u64 {
        let texel = u64::from(self.format.block_copy_size(None).unwrap_or(0));
        u64::from(self.width) * u64::from(self.height) * texel
    }
}

impl<'a> From<BufferImage<'a>> for Surface<'a> {
    fn from(b: BufferImage<'a>) -> Self {
        Surface::Buffer(b)
    }
}

impl<'a> Surface<'a> {
    pub(crate) fn size(&self) -> (u32, u32) {
        match self {
            Surface::Texture(t) => (t.width(), t.height()),
            Surface::Buffer(b) => (b.width, b.height),
        }
    }

    pub(crate) fn format(&self) -> wgpu::TextureFormat {
        match self {
            Surface::Texture(t) => t.format(),
            Surface::Buffer(b) => b.format,
        }
    }

    pub(crate) fn describe(&self, what: impl std::fmt::Display) -> String {
        match self {
            Surface::Texture(t) => name(what, t),
            Surface::Buffer(b) => {
                format!("{what} (buffer of {}x{} {:?})", b.width, b.height, b.format)
            }
        }
    }

    pub(crate) fn binding(&self) -> super::cache::Binding<'a> {
        match self {
            Surface::Texture(t) => super::cache::Binding::Texture(t),
            Surface::Buffer(b) => super::cache::Binding::BufferRange(b.buffer, b.bytes()),
        }
    }

    pub(crate) fn same(&self, other: &Surface<'_>) -> bool {
        match (self, other) {
            (Surface::Texture(a), Surface::Texture(b)) => a == b,
            (Surface::Buffer(a), Surface::Buffer(b)) => a.buffer == b.buffer,
            _ => false,
        }
    }

    /// Checks a buffer image: STORAGE usage, at least one texel, enough
    /// bytes in the buffer, and no more than a binding of `device` may hold
    /// (only the image's bytes are bound, so a larger buffer is fine).
    pub(crate) fn check_buffer(
        &self,
        device: &wgpu::Device,
        what: impl std::fmt::Display + Copy,
    ) -> Result<()> {
        let Surface::Buffer(b) = self else {
            return Ok(());
        };
        let need = b.bytes();
        let bad = |why: String| Err(Error::invalid(format!("{}: {why}", self.describe(what))));
        if !b.buffer.usage().contains(wgpu::BufferUsages::STORAGE) {
            return bad("a buffer image needs STORAGE usage".into());
        }
        if b.width == 0 || b.height == 0 {
            return bad("a buffer image needs at least one texel".into());
        }
        if b.buffer.size() < need {
            return bad(format!(
                "the buffer holds {} bytes, the image needs {need}",
                b.buffer.size()
            ));
        }
        let limit = device.limits().max_storage_buffer_binding_size;
        if need > limit || u64::from(b.width) * u64::from(b.height) > u64::from(u32::MAX) {
            return bad(format!(
                "the image's {need} bytes exceed this device's largest storage binding \
                 ({limit} bytes); split it into tiles"
            ));
        }
        Ok(())
    }

    /// What the WGSL generators need to know.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Surface::Texture(_) => Kind::Texture,
            Surface::Buffer(b) => Kind::Buffer {
                width: b.width,
                height: b.height,
                format: b.format,
            },
        }
    }

    /// The tag of this surface's kind in pipeline keys (buffers bake their
    /// size into the pipeline).
    pub(crate) fn tag(&self) -> String {
        match self {
            Surface::Texture(_) => "t".into(),
            Surface::Buffer(b) => format!("b{}x{}", b.width, b.height),
        }
    }
}

/// A resource as the WGSL generators see it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Texture,
    Buffer {
        width: u32,
        height: u32,
        format: wgpu::TextureFormat,
    },
}

/// The WGSL expression reading texel `i` of `buf` as `vec4<f32>`.
fn read_expr(format: wgpu::TextureFormat, buf: &str) -> Result<String> {
    use wgpu::TextureFormat as F;
    Ok(match format {
        F::Rgba8Unorm | F::Rgba8UnormSrgb => format!("unpack4x8unorm({buf}[i])"),
        F::Rgba16Float => format!(
            "vec4<f32>(unpack2x16float({buf}[2u * i]), unpack2x16float({buf}[2u * i + 1u]))"
        ),
        F::Rgba32Float => format!(
            "bitcast<vec4<f32>>(vec4<u32>({buf}[4u * i], {buf}[4u * i + 1u], {buf}[4u * i + 2u], {buf}[4u * i + 3u]))"
        ),
        F::R32Float => format!("vec4<f32>(bitcast<f32>({buf}[i]), 0.0, 0.0, 1.0)"),
        other => return Err(Error::invalid(format!("{other:?} is not a buffer image format of the gpix passes"))),
    })
}

/// Statements storing `v: vec4<f32>` as texel `i` of `buf`.
fn write_stmts(format: wgpu::TextureFormat, buf: &str) -> Result<String> {
    use wgpu::TextureFormat as F;
    Ok(match format {
        F::Rgba8Unorm => format!("{buf}[i] = pack4x8unorm(v);"),
        F::Rgba16Float => format!(
            "{buf}[2u * i] = pack2x16float(v.xy); {buf}[2u * i + 1u] = pack2x16float(v.zw);"
        ),
        F::Rgba32Float => format!(
            "let w = bitcast<vec4<u32>>(v); {buf}[4u * i] = w.x; {buf}[4u * i + 1u] = w.y; {buf}[4u * i + 2u] = w.z; {buf}[4u * i + 3u] = w.w;"
        ),
        F::R32Float => format!("{buf}[i] = bitcast<u32>(v.x);"),
        other => return Err(Error::invalid(format!("{other:?} is not a buffer output format of the gpix passes"))),
    })
}

const INDEX: &str = "let i = u32(p.y) * io_size().x + u32(p.x);";

/// Declarations and `input_size`/`load_raw` for the input at `binding`.
pub(crate) fn input_wgsl(input: Kind, binding: u32) -> Result<String> {
    Ok(match input {
        Kind::Texture => format!(
            "@group(0) @binding({binding}) var input: texture_2d<f32>;\n\
             fn io_size() -> vec2<u32> {{ return textureDimensions(input); }}\n\
             fn load_raw(p: vec2<i32>) -> vec4<f32> {{ return textureLoad(input, p, 0); }}\n"
        ),
        Kind::Buffer {
            width,
            height,
            format,
        } => format!(
            "@group(0) @binding({binding}) var<storage, read> input: array<u32>;\n\
             fn io_size() -> vec2<u32> {{ return vec2<u32>({width}u, {height}u); }}\n\
             fn load_raw(p: vec2<i32>) -> vec4<f32> {{ {INDEX} return {}; }}\n",
            read_expr(format, "input")?
        ),
    })
}

/// The value a texture store of `v` writes into a `wgsl_format` texture.
///
/// Vulkan lets a store into an 8-bit unorm texture convert `v · 255` to
/// either neighbouring integer (an NVIDIA H200 took the lower one: 85.53
/// became 85), so the pass rounds to the nearest byte k itself and stores
/// (k + ¼) / 255, which both rounding to nearest and towards zero turn into k.
pub(crate) fn stored_value(wgsl_format: &str) -> &'static str {
    if wgsl_format == "rgba8unorm" {
        "(round(clamp(v, vec4<f32>(0.0), vec4<f32>(1.0)) * 255.0) + 0.25) / 255.0"
    } else {
        "v"
    }
}

/// Declarations and `store_out(p, v)` for a value output at `binding`, or
/// a no-op without one.
pub(crate) fn output_wgsl(output: Option<Kind>, binding: u32, wgsl_format: &str) -> Result<String> {
    Ok(match output {
        None => "fn store_out(p: vec2<i32>, v: vec4<f32>) {}\n".into(),
        Some(Kind::Texture) => format!(
            "@group(0) @binding({binding}) var output: texture_storage_2d<{wgsl_format}, write>;\n\
             fn store_out(p: vec2<i32>, v: vec4<f32>) {{ textureStore(output, p, {}); }}\n",
            stored_value(wgsl_format)
        ),
        Some(Kind::Buffer { format, .. }) => format!(
            "@group(0) @binding({binding}) var<storage, read_write> output: array<u32>;\n\
             fn store_out(p: vec2<i32>, v: vec4<f32>) {{ {INDEX} {} }}\n",
            write_stmts(format, "output")?
        ),
    })
}

/// Declarations and `store_index(p, k)` for an index output at `binding`,
/// or a no-op without one.
pub(crate) fn index_wgsl(index: Option<Kind>, binding: u32) -> String {
    match index {
        None => "fn store_index(p: vec2<i32>, k: u32) {}\n".into(),
        Some(Kind::Texture) => format!(
            "@group(0) @binding({binding}) var index_out: texture_storage_2d<r32uint, write>;\n\
             fn store_index(p: vec2<i32>, k: u32) {{ textureStore(index_out, p, vec4<u32>(k, 0u, 0u, 0u)); }}\n"
        ),
        Some(Kind::Buffer { .. }) => format!(
            "@group(0) @binding({binding}) var<storage, read_write> index_out: array<u32>;\n\
             fn store_index(p: vec2<i32>, k: u32) {{ {INDEX} index_out[i] = k; }}\n"
        ),
    }
}

/// Declarations and `load_label(p)` for labels at `binding`.
pub(crate) fn labels_wgsl(labels: Kind, binding: u32) -> String {
    match labels {
        Kind::Texture => format!(
            "@group(0) @binding({binding}) var labels: texture_2d<u32>;\n\
             fn load_label(p: vec2<i32>) -> u32 {{ return textureLoad(labels, p, 0).x; }}\n"
        ),
        Kind::Buffer { .. } => format!(
            "@group(0) @binding({binding}) var<storage, read> labels: array<u32>;\n\
             fn load_label(p: vec2<i32>) -> u32 {{ {INDEX} return labels[i]; }}\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::stored_value;

    /// The stored value's byte is the nearest one under either conversion
    /// Vulkan allows, even with the few ulps of error WGSL's division and
    /// the hardware's scaling may add.
    #[test]
    fn an_eight_bit_store_rounds_to_nearest_under_either_conversion() {
        assert_eq!(stored_value("rgba32float"), "v");
        assert!(stored_value("rgba8unorm").contains("0.25"));
        let ulps = |x: f32, n: i32| f32::from_bits((x.to_bits() as i32 + n) as u32);
        for step in 0..=255 * 64 {
            let v = step as f32 / (255.0 * 64.0);
            let k = (v * 255.0).round_ties_even();
            for e in -3..=3 {
                let stored = ulps((k + 0.25) / 255.0, e);
                // 1.0 is stored as 255 exactly (Vulkan's rule for the top).
                let clamped = stored.clamp(0.0, 1.0);
                let errors = if clamped == 1.0 { 0..=0 } else { -3..=3 };
                for e2 in errors {
                    let scaled = ulps(clamped * 255.0, e2);
                    assert_eq!(scaled.round(), k, "{v}");
                    assert_eq!(scaled.trunc(), k, "{v}");
                }
            }
        }
    }
}
