// gpix render passes: how a kernel reads its input. Prepended to every
// render_*.wgsl kernel, after the host-written resource functions
// (src/render/io.rs): io_size() and load_raw(p) read the input texture or
// buffer; store_out, store_index and load_label the other resources.
//
// load_raw gives normalized values: k/255 for 8-bit texels and, for sRGB
// textures, the GPU's linear-light decode. That decode is only approximate on
// some drivers (lavapipe's is off by up to 1e-3), so the pass recovers the
// stored byte and, for linear light, decodes it itself:
//   EIGHT_BIT  snap to the stored byte k (exact: every decode is within far
//              less than half a step of it)
//   SRGB       an sRGB texture the GPU decodes: re-encode before snapping
//              (sRGB bytes in a buffer arrive encoded)
//   LINEAR     then decode k with the sRGB curve (IEC 61966-2-1) in f32
//   BYTES      work in byte units 0..255 (integer-valued, so palette
//              distances are exact integers below 2^24); else 0..1

override EIGHT_BIT: bool = false;
override SRGB: bool = false;
override LINEAR: bool = false;
override BYTES: bool = false;

fn srgb_encode(l: f32) -> f32 {
    if l <= 0.0031308 {
        return 12.92 * l;
    }
    return 1.055 * pow(l, 1.0 / 2.4) - 0.055;
}

fn srgb_decode(e: f32) -> f32 {
    if e <= 0.04045 {
        return e / 12.92;
    }
    return pow((e + 0.055) / 1.055, 2.4);
}

// The value of texel p in the pass's units.
fn load_value(p: vec2<i32>) -> vec4<f32> {
    var v = load_raw(p);
    if !EIGHT_BIT {
        return v;
    }
    if SRGB {
        v = vec4<f32>(srgb_encode(v.x), srgb_encode(v.y), srgb_encode(v.z), v.w);
    }
    let k = round(clamp(v, vec4<f32>(0.0), vec4<f32>(1.0)) * 255.0);
    if BYTES {
        return k;
    }
    v = k / 255.0;
    if LINEAR {
        v = vec4<f32>(srgb_decode(v.x), srgb_decode(v.y), srgb_decode(v.z), v.w);
    }
    return v;
}
