// gpix.render.gradient: numpy.gradient of a texture along y (rows) and x
// (columns) with uniform spacing, and the gradient magnitude.
//
// Inside: (f[i+1] − f[i−1]) / (2h). Edges, EDGE_ORDER 1: one-sided
// (f[1] − f[0]) / h; EDGE_ORDER 2: (−1.5 f[0] + 2 f[1] − 0.5 f[2]) / h and
// its mirror, as numpy. The host refuses sides shorter than EDGE_ORDER + 1
// (numpy raises there too).
//
// OUTPUT 0 (magnitude): per channel sqrt(dy² + dx²); four-channel inputs keep
//   their alpha, one-channel inputs write (m, 0, 0, 1).
// OUTPUT 1 (components): (dy, dx, m, 1) of channel CHANNEL.
//
// Bindings (group 0):
//   0 input   texture or buffer (io.rs)
//   1 params  uniform Params
//   2 output  storage texture or buffer
// Per texel: five texel reads (from cache), a few FMAs per channel, one write.

override EDGE_ORDER: u32 = 1u;
override OUTPUT: u32 = 0u;
override CHANNEL: u32 = 0u;
override CHANNELS: u32 = 4u;

struct Params {
    inv_hy: f32,
    inv_hx: f32,
}

@group(0) @binding(1) var<uniform> params: Params;

fn at(p: vec2<i32>, axis: vec2<i32>, k: i32) -> vec4<f32> {
    return load_value(p + axis * k);
}

// d/d(axis) at p, where p is at position i of n along the axis.
fn derivative(p: vec2<i32>, axis: vec2<i32>, i: i32, n: i32, inv_h: f32) -> vec4<f32> {
    if i == 0 {
        if EDGE_ORDER == 2u {
            return (-1.5 * at(p, axis, 0) + 2.0 * at(p, axis, 1) - 0.5 * at(p, axis, 2)) * inv_h;
        }
        return (at(p, axis, 1) - at(p, axis, 0)) * inv_h;
    }
    if i == n - 1 {
        if EDGE_ORDER == 2u {
            return (0.5 * at(p, axis, -2) - 2.0 * at(p, axis, -1) + 1.5 * at(p, axis, 0)) * inv_h;
        }
        return (at(p, axis, 0) - at(p, axis, -1)) * inv_h;
    }
    return (at(p, axis, 1) - at(p, axis, -1)) * (0.5 * inv_h);
}

@compute @workgroup_size(16, 16)
fn gradient(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n = vec2<i32>(io_size());
    let p = vec2<i32>(gid.xy);
    if p.x >= n.x || p.y >= n.y {
        return;
    }
    let dy = derivative(p, vec2<i32>(0, 1), p.y, n.y, params.inv_hy);
    let dx = derivative(p, vec2<i32>(1, 0), p.x, n.x, params.inv_hx);
    let m = sqrt(dy * dy + dx * dx);
    var out: vec4<f32>;
    if OUTPUT == 1u {
        out = vec4<f32>(dy[CHANNEL], dx[CHANNEL], m[CHANNEL], 1.0);
    } else if CHANNELS == 1u {
        out = vec4<f32>(m.x, 0.0, 0.0, 1.0);
    } else {
        out = vec4<f32>(m.xyz, load_value(p).w);
    }
    store_out(p, out);
}
