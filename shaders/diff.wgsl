// gpix.diff: numpy.gradient and the Hessian (gradient applied twice, or the
// compact stencil) in one fused kernel per command.
//
// A workgroup computes a 16×16 tile of one channel. It loads the tile with a
// HALO of 3 pixels (the edge formulas of the gradient of the gradient reach
// three rows in) into workgroup memory once, then every output is made from
// that tile: dy, dx and their derivatives are recomputed per use, with
// numpy's formulas and operation order, in f32.
//
// Bands: the host uploads rows row0 .. row0 + rows_in of the array (the
// output rows plus up to HALO rows each side that exist); `h` is the whole
// array's height, so the edge formulas apply at the array's edges only.
//
// Bindings (group 0):
//   0 params  uniform  Params
//   1 src     storage  array<f32>  rows_in × w × c values
//   2 out     storage  array<f32>  N_OUT arrays of rows_out × w × c, one after another
//   3 coef    storage  array<vec4<f32>>  h + w entries: per row, then per column,
//             numpy's coefficients for sample coordinates [a, b, c, two]
//             (two = 1: (f[base+1] − f[base]) / a), read where params.coords
//             has the axis's bit (1: y, 2: x)
//
// Per output value: 1 value read from global memory (plus the halo share),
// the requested outputs written; flops ≈ 10 (gradient) to 60 (Hessian).

// 0: gradient (dy, dx, magnitude); 1: Hessian by the gradient twice;
// 2: compact Hessian. Outputs of 1 and 2: dyy, dxy, dxx, eig1, eig2.
override KIND: u32 = 0u;

const T: u32 = 16u;
const HALO: u32 = 3u;
const S: u32 = T + 2u * HALO;

struct Params {
    w: u32,
    c: u32,
    h: u32,
    row0: u32,
    rows_in: u32,
    out_row0: u32,
    rows_out: u32,
    groups_x: u32,
    edge_order: u32,
    interior_only: u32,
    mask: u32,
    coords: u32,
    hy: f32,
    hx: f32,
    _pad1: f32,
    _pad2: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> coef: array<vec4<f32>>;

var<workgroup> tile: array<f32, S * S>;
// Image coordinates of the tile's (0, 0), as i32.
var<private> ty0: i32;
var<private> tx0: i32;

fn f(y: i32, x: i32) -> f32 {
    return tile[u32(y - ty0) * S + u32(x - tx0)];
}

// With interior_only the whole one-pixel frame is 0 in every output.
fn on_frame(y: i32, x: i32) -> bool {
    return y <= 0 || x <= 0 || y >= i32(params.h) - 1 || x >= i32(params.w) - 1;
}

// With coordinates: the first position that position i's formula reads.
fn base_of(i: i32, n: i32, two: bool) -> i32 {
    if i > 0 && i < n - 1 {
        return i - 1;
    }
    if i == 0 {
        return 0;
    }
    if two {
        return n - 2;
    }
    return n - 3;
}

fn coef_y(y: i32) -> vec4<f32> {
    return coef[u32(y)];
}

fn coef_x(x: i32) -> vec4<f32> {
    return coef[params.h + u32(x)];
}

// d/dy of f at (y, x): numpy.gradient along axis 0.
fn dy(y: i32, x: i32) -> f32 {
    let n = i32(params.h);
    let hy = params.hy;
    if params.interior_only != 0u && on_frame(y, x) {
        return 0.0;
    }
    if (params.coords & 1u) != 0u {
        let k = coef_y(y);
        let b = base_of(y, n, k.w != 0.0);
        if k.w != 0.0 {
            return (f(b + 1, x) - f(b, x)) / k.x;
        }
        return k.x * f(b, x) + k.y * f(b + 1, x) + k.z * f(b + 2, x);
    }
    if y > 0 && y < n - 1 {
        return (f(y + 1, x) - f(y - 1, x)) / (2.0 * hy);
    }
    if params.edge_order == 1u {
        if y == 0 {
            return (f(1, x) - f(0, x)) / hy;
        }
        return (f(n - 1, x) - f(n - 2, x)) / hy;
    }
    if y == 0 {
        return (-1.5 / hy) * f(0, x) + (2.0 / hy) * f(1, x) + (-0.5 / hy) * f(2, x);
    }
    return (0.5 / hy) * f(n - 3, x) + (-2.0 / hy) * f(n - 2, x) + (1.5 / hy) * f(n - 1, x);
}

// d/dx of f at (y, x).
fn dx(y: i32, x: i32) -> f32 {
    let n = i32(params.w);
    let hx = params.hx;
    if params.interior_only != 0u && on_frame(y, x) {
        return 0.0;
    }
    if (params.coords & 2u) != 0u {
        let k = coef_x(x);
        let b = base_of(x, n, k.w != 0.0);
        if k.w != 0.0 {
            return (f(y, b + 1) - f(y, b)) / k.x;
        }
        return k.x * f(y, b) + k.y * f(y, b + 1) + k.z * f(y, b + 2);
    }
    if x > 0 && x < n - 1 {
        return (f(y, x + 1) - f(y, x - 1)) / (2.0 * hx);
    }
    if params.edge_order == 1u {
        if x == 0 {
            return (f(y, 1) - f(y, 0)) / hx;
        }
        return (f(y, n - 1) - f(y, n - 2)) / hx;
    }
    if x == 0 {
        return (-1.5 / hx) * f(y, 0) + (2.0 / hx) * f(y, 1) + (-0.5 / hx) * f(y, 2);
    }
    return (0.5 / hx) * f(y, n - 3) + (-2.0 / hx) * f(y, n - 2) + (1.5 / hx) * f(y, n - 1);
}

// d/dy of dy.
fn dyy(y: i32, x: i32) -> f32 {
    let n = i32(params.h);
    let hy = params.hy;
    if (params.coords & 1u) != 0u {
        let k = coef_y(y);
        let b = base_of(y, n, k.w != 0.0);
        if k.w != 0.0 {
            return (dy(b + 1, x) - dy(b, x)) / k.x;
        }
        return k.x * dy(b, x) + k.y * dy(b + 1, x) + k.z * dy(b + 2, x);
    }
    if y > 0 && y < n - 1 {
        return (dy(y + 1, x) - dy(y - 1, x)) / (2.0 * hy);
    }
    if params.edge_order == 1u {
        if y == 0 {
            return (dy(1, x) - dy(0, x)) / hy;
        }
        return (dy(n - 1, x) - dy(n - 2, x)) / hy;
    }
    if y == 0 {
        return (-1.5 / hy) * dy(0, x) + (2.0 / hy) * dy(1, x) + (-0.5 / hy) * dy(2, x);
    }
    return (0.5 / hy) * dy(n - 3, x) + (-2.0 / hy) * dy(n - 2, x) + (1.5 / hy) * dy(n - 1, x);
}

// d/dx of g at (y, x), where g is dy (which = 0u) or dx (which = 1u).
fn g_at(which: u32, y: i32, x: i32) -> f32 {
    if which == 0u {
        return dy(y, x);
    }
    return dx(y, x);
}

fn d_dx(which: u32, y: i32, x: i32) -> f32 {
    let n = i32(params.w);
    let hx = params.hx;
    if (params.coords & 2u) != 0u {
        let k = coef_x(x);
        let b = base_of(x, n, k.w != 0.0);
        if k.w != 0.0 {
            return (g_at(which, y, b + 1) - g_at(which, y, b)) / k.x;
        }
        return k.x * g_at(which, y, b) + k.y * g_at(which, y, b + 1)
            + k.z * g_at(which, y, b + 2);
    }
    if x > 0 && x < n - 1 {
        return (g_at(which, y, x + 1) - g_at(which, y, x - 1)) / (2.0 * hx);
    }
    if params.edge_order == 1u {
        if x == 0 {
            return (g_at(which, y, 1) - g_at(which, y, 0)) / hx;
        }
        return (g_at(which, y, n - 1) - g_at(which, y, n - 2)) / hx;
    }
    if x == 0 {
        return (-1.5 / hx) * g_at(which, y, 0) + (2.0 / hx) * g_at(which, y, 1)
            + (-0.5 / hx) * g_at(which, y, 2);
    }
    return (0.5 / hx) * g_at(which, y, n - 3) + (-2.0 / hx) * g_at(which, y, n - 2)
        + (1.5 / hx) * g_at(which, y, n - 1);
}

fn put(k: u32, o: u32, v: f32) {
    if (params.mask & (1u << k)) != 0u {
        out[k * params.rows_out * params.w * params.c + o] = v;
    }
}

@compute @workgroup_size(16, 16)
fn diff(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let g = wg.y * groups.x + wg.x;
    let gx = g % params.groups_x;
    let rest = g / params.groups_x;
    let ch = rest % params.c;
    let oy0 = (rest / params.c) * T;
    // Image coordinates of this tile's outputs and of the loaded block.
    let y_first = i32(params.out_row0 + oy0);
    let x_first = i32(gx * T);
    ty0 = y_first - i32(HALO);
    tx0 = x_first - i32(HALO);
    for (var t = li; t < S * S; t += T * T) {
        let iy = ty0 + i32(t / S);
        let ix = tx0 + i32(t % S);
        let ly = iy - i32(params.row0);
        var v = 0.0;
        if ly >= 0 && u32(ly) < params.rows_in && ix >= 0 && u32(ix) < params.w {
            v = src[(u32(ly) * params.w + u32(ix)) * params.c + ch];
        }
        tile[t] = v;
    }
    workgroupBarrier();
    let oy = oy0 + lid.y;
    let x = x_first + i32(lid.x);
    if oy >= params.rows_out || u32(x) >= params.w {
        return;
    }
    let y = y_first + i32(lid.y);
    let o = (oy * params.w + u32(x)) * params.c + ch;
    if KIND == 0u {
        let a = dy(y, x);
        let b = dx(y, x);
        put(0u, o, a);
        put(1u, o, b);
        put(2u, o, sqrt(a * a + b * b));
        return;
    }
    var hyy = 0.0;
    var hxy = 0.0;
    var hxx = 0.0;
    if KIND == 1u {
        hyy = dyy(y, x);
        hxy = d_dx(0u, y, x);
        hxx = d_dx(1u, y, x);
    } else if y > 0 && y < i32(params.h) - 1 && x > 0 && x < i32(params.w) - 1 {
        let m = f(y, x);
        hyy = (f(y + 1, x) - 2.0 * m + f(y - 1, x)) / (params.hy * params.hy);
        hxx = (f(y, x + 1) - 2.0 * m + f(y, x - 1)) / (params.hx * params.hx);
        hxy = (f(y + 1, x + 1) - f(y + 1, x - 1) - f(y - 1, x + 1) + f(y - 1, x - 1))
            / (4.0 * params.hy * params.hx);
    }
    put(0u, o, hyy);
    put(1u, o, hxy);
    put(2u, o, hxx);
    let mean = 0.5 * (hyy + hxx);
    let r = length(vec2<f32>(0.5 * (hyy - hxx), hxy));
    put(3u, o, mean + r);
    put(4u, o, mean - r);
}
