// gpix.render.filter: a separable filter (scipy's uniform_filter and
// gaussian_filter) of a texture, as two passes.
//
//   rows: input texels -> mid    Σ_j wx[j] · in[y, bx(x + j − cx)]
//   cols: mid -> output texels   Σ_i wy[i] · mid[by(y + i − cy), x]
//
// b· is scipy's boundary mapping (boundary.wgsl); outside the image in
// constant mode a tap reads cval. Each 1-D pass of scipy pads with cval, so
// two passes equal the 2-D window when the weights sum to 1 (box, gaussian).
// Accumulation in f32 with fused multiply-adds; per texel and tap one read
// (from cache: neighbouring invocations share them) and one FMA per channel.
//
// Bindings (group 0):
//   0 input    texture or buffer (io.rs)
//   1 params   uniform Params
//   2 weights  storage array<f32>: wx then wy
//   3 mid      storage array<f32>, CHANNELS per texel: rows write, cols read
//              (read_write in both: one declaration serves both entries)
//   4 output   storage texture or buffer, cols
//
// With REDUCE 1 or 2 each pass keeps its window's minimum or maximum per
// channel instead (a box's extremum is separable, cval included).

override CHANNELS: u32 = 4u;
// 0: weighted sums; 1: window minima, 2: window maxima (minimum_filter /
// maximum_filter: the weights are unused, the passes are exact).
override REDUCE: u32 = 0u;

struct Params {
    taps_x: u32,
    taps_y: u32,
    center_x: i32,
    center_y: i32,
    mode: u32,
    cval: f32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> weights: array<f32>;

fn size() -> vec2<i32> {
    return vec2<i32>(io_size());
}

@group(0) @binding(3) var<storage, read_write> mid: array<f32>;

// One tap: `acc + w · v`, or the running extremum (`first`: the first tap).
fn reduce(acc: vec4<f32>, w: f32, v: vec4<f32>, first: bool) -> vec4<f32> {
    if REDUCE == 0u {
        return fma(vec4<f32>(w), v, acc);
    }
    if first {
        return v;
    }
    return select(min(acc, v), max(acc, v), REDUCE == 2u);
}

@compute @workgroup_size(16, 16)
fn rows(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n = size();
    let p = vec2<i32>(gid.xy);
    if p.x >= n.x || p.y >= n.y {
        return;
    }
    var acc = vec4<f32>(0.0);
    for (var j = 0u; j < params.taps_x; j++) {
        let xi = boundary_index(p.x + i32(j) - params.center_x, n.x, params.mode);
        var v = vec4<f32>(params.cval);
        if xi != OUTSIDE {
            v = load_value(vec2<i32>(xi, p.y));
        }
        acc = reduce(acc, weights[j], v, j == 0u);
    }
    let base = (u32(p.y) * u32(n.x) + u32(p.x)) * CHANNELS;
    for (var c = 0u; c < CHANNELS; c++) {
        mid[base + c] = acc[c];
    }
}

@compute @workgroup_size(16, 16)
fn cols(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n = size();
    let p = vec2<i32>(gid.xy);
    if p.x >= n.x || p.y >= n.y {
        return;
    }
    var acc = vec4<f32>(0.0);
    for (var i = 0u; i < params.taps_y; i++) {
        let yi = boundary_index(p.y + i32(i) - params.center_y, n.y, params.mode);
        var v = vec4<f32>(params.cval);
        if yi != OUTSIDE {
            let base = (u32(yi) * u32(n.x) + u32(p.x)) * CHANNELS;
            for (var c = 0u; c < CHANNELS; c++) {
                v[c] = mid[base + c];
            }
        }
        acc = reduce(acc, weights[params.taps_x + i], v, i == 0u);
    }
    if CHANNELS == 1u {
        acc = vec4<f32>(acc.x, 0.0, 0.0, 1.0);
    }
    store_out(p, acc);
}
