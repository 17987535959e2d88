// gpix.filter: separable box sums in two passes over a band of rows.
//
// The host uploads the band's input rows with their halo rows already
// resolved by the boundary mode along y (rows outside the array are copied
// from where the mode says, or filled with cval), so the kernels apply the
// mode along x only, with `boundary_index` from boundary.wgsl (prepended).
//
// With REDUCE 1 or 2 the same passes keep each window's minimum or maximum
// instead of its sum (exact: no rounding).
//
// `rows` pass: for each input row, channel and x, the sums over the nx
// window along x of each feature of the value: F = 1 (the value, box
// filter) or F = 2 (v − K and (v − K)², local variance). A workgroup of 256
// invocations covers 256 outputs of one row and channel; the window streams
// through workgroup memory in chunks of CHUNK taps (tile + halo), so any nx
// works with a fixed tile.
// `cols` pass: for each output row, the sums over ny rows of the `rows`
// results, from 16×16 tiles with CHUNK_Y-row halos in workgroup memory, then
// the output: the mean (F = 1) or mean, variance, std (F = 2).
//
// `direct` pass: a 2-D correlation with every tap of the kernel w2d
// (ky × kx, params.ny × params.nx): 16×16 output tiles; the input window
// streams through workgroup memory in blocks of DCHUNK × DCHUNK taps, so any
// kernel size works with a fixed tile.
//
// `rank` pass: the value of rank params.rank (0: the smallest) of each
// ny × nx window, 16×16 output tiles. The answer's order key is found bit by
// bit from the top: bit b is 0 when at least rank + 1 window keys are at or
// below the answer's bits so far with b and every lower bit 0 then 1s.
// 32 counting passes, no sort; the window's keys sit in workgroup memory
// (loaded once when the window fits DCHUNK × DCHUNK, else block by block
// on every pass). Keys order numbers by value and NaNs above them all.
// WEIGHTED: the window is a footprint, w2d its flags (0: not read); rank
// counts the flagged values only. REDUCE 1 or 2 (rank 0 or n − 1, a
// footprint's minimum or maximum): one pass keeps the smallest or largest
// key instead of the 32 counting passes (the same answer, NaNs largest).
//
// f32 with compensated (Kahan) sums: a window sum is within about
// 2 ε Σ|terms| of exact whatever the window size. The compensation must
// survive compilers that reassociate floats (Metal's fast math, DX12's
// optimiser): every step goes through `opaque`, an identity the compiler
// cannot see through (XOR with a uniform that is 0 at run time), so
// `(t − s) − y` is computed as written and never folded to 0.
//
// Bindings (group 0):
//   0 params  uniform  Params
//   1 src     storage  array<f32>  rows_in × w × c input values (rows pass)
//   2 xs      storage  array<f32>  rows_in × w × c × F row sums (rows: write, cols: read)
//   3 out     storage  array<f32>  rows_out × w × c × (1 or 3) outputs (cols pass)

override FEATURES: u32 = 1u;
// Weighted taps (correlation, gaussian): weights from wx / wy instead of 1.
override WEIGHTED: bool = false;
// The cols pass adds to `out` (further separable terms of a low-rank kernel).
override ACCUMULATE: bool = false;
// false only in a test that shows the compensation matters (plain sums
// must fail the bound that compensated ones meet).
override COMPENSATE: bool = true;
// 0: window sums; 1: window minima, 2: window maxima (F = 1, unweighted;
// minimum_filter / maximum_filter).
override REDUCE: u32 = 0u;

const WG_X: u32 = 256u;
const CHUNK: u32 = 256u;
const TILE: u32 = 16u;
const CHUNK_Y: u32 = 64u;
// Kernel taps per axis of one `direct` tile load: (16 + 47)² values = 15.9 KiB.
const DCHUNK: u32 = 48u;

struct Params {
    w: u32,
    c: u32,
    rows_in: u32,
    rows_out: u32,
    nx: u32,
    ny: u32,
    mode: u32,
    groups_x: u32,
    cval: f32,
    shift: f32,
    inv_n: f32,
    left: u32,
    // 0 at run time; see `opaque`.
    zero: u32,
    // The rank a `rank` pass keeps (0: the smallest).
    rank: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> xs: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> wx: array<f32>;
@group(0) @binding(5) var<storage, read> wy: array<f32>;
@group(0) @binding(6) var<storage, read> w2d: array<f32>;

var<workgroup> tile0: array<f32, WG_X + CHUNK>;
var<workgroup> tile1: array<f32, WG_X + CHUNK>;
var<workgroup> ytile0: array<f32, (TILE + CHUNK_Y) * TILE>;
var<workgroup> ytile1: array<f32, (TILE + CHUNK_Y) * TILE>;
var<workgroup> dtile: array<f32, (TILE + DCHUNK - 1u) * (TILE + DCHUNK - 1u)>;
var<workgroup> ktile: array<u32, (TILE + DCHUNK - 1u) * (TILE + DCHUNK - 1u)>;

fn linear_group(wg: vec3<u32>, groups: vec3<u32>) -> u32 {
    return wg.y * groups.x + wg.x;
}

// `v` unchanged, through an operation the compiler cannot fold.
fn opaque(v: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(v) ^ params.zero);
}

// Kahan step: (sum, compensation) + v, each rounding as written.
fn kahan(acc: vec2<f32>, v: f32) -> vec2<f32> {
    if !COMPENSATE {
        return vec2<f32>(acc.x + v, 0.0);
    }
    let y = opaque(v - acc.y);
    let t = opaque(acc.x + y);
    return vec2<f32>(t, opaque(t - acc.x) - y);
}

// The running extremum with `v` (`first`: the window's first value).
fn extremum(acc: f32, v: f32, first: bool) -> f32 {
    if first {
        return v;
    }
    return select(min(acc, v), max(acc, v), REDUCE == 2u);
}

@compute @workgroup_size(256)
fn rows(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lx: u32,
) {
    // Workgroup g covers x0..x0+256 of row r, channel ch.
    let g = linear_group(wg, groups);
    let gx = g % params.groups_x;
    let rc = g / params.groups_x;
    let ch = rc % params.c;
    let r = rc / params.c;
    let valid = r < params.rows_in;
    let x0 = gx * WG_X;
    let left = i32(params.left);
    let row_base = r * params.w;
    var acc0 = vec2<f32>(0.0);
    var acc1 = vec2<f32>(0.0);
    var ext = 0.0;
    for (var j0 = 0u; j0 < params.nx; j0 += CHUNK) {
        let taps = min(CHUNK, params.nx - j0);
        // Load positions x0 - left + j0 + t, t < WG_X + taps - 1.
        for (var t = lx; t < WG_X + taps - 1u; t += WG_X) {
            var v = params.cval;
            if valid {
                let xi = boundary_index(i32(x0 + j0 + t) - left, i32(params.w), params.mode);
                if xi != OUTSIDE {
                    v = src[(row_base + u32(xi)) * params.c + ch];
                }
            }
            let d = v - params.shift;
            tile0[t] = select(d, v, FEATURES == 1u);
            tile1[t] = d * d;
        }
        workgroupBarrier();
        for (var j = 0u; j < taps && REDUCE != 0u; j++) {
            ext = extremum(ext, tile0[lx + j], j0 + j == 0u);
        }
        for (var j = 0u; j < taps && REDUCE == 0u; j++) {
            let wj = select(1.0, wx[j0 + j], WEIGHTED);
            acc0 = kahan(acc0, wj * tile0[lx + j]);
            if FEATURES == 2u {
                acc1 = kahan(acc1, tile1[lx + j]);
            }
        }
        workgroupBarrier();
    }
    let x = x0 + lx;
    if valid && x < params.w {
        let e = ((row_base + x) * params.c + ch) * FEATURES;
        xs[e] = select(acc0.x, ext, REDUCE != 0u);
        if FEATURES == 2u {
            xs[e + 1u] = acc1.x;
        }
    }
}

@compute @workgroup_size(16, 16)
fn cols(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    // Workgroup g covers x0..x0+16, rows y0..y0+16 of channel ch.
    let g = linear_group(wg, groups);
    let gx = g % params.groups_x;
    let rest = g / params.groups_x;
    let ch = rest % params.c;
    let y0 = (rest / params.c) * TILE;
    let x0 = gx * TILE;
    let x = x0 + lid.x;
    let y = y0 + lid.y;
    var acc0 = vec2<f32>(0.0);
    var acc1 = vec2<f32>(0.0);
    var ext = 0.0;
    for (var i0 = 0u; i0 < params.ny; i0 += CHUNK_Y) {
        let taps = min(CHUNK_Y, params.ny - i0);
        // Rows y0 + i0 + t, t < TILE + taps - 1, of columns x0..x0+16.
        for (var t = lid.y; t < TILE + taps - 1u; t += TILE) {
            let row = y0 + i0 + t;
            var a = 0.0;
            var b = 0.0;
            if row < params.rows_in && x < params.w {
                let e = ((row * params.w + x) * params.c + ch) * FEATURES;
                a = xs[e];
                if FEATURES == 2u {
                    b = xs[e + 1u];
                }
            }
            ytile0[t * TILE + lid.x] = a;
            ytile1[t * TILE + lid.x] = b;
        }
        workgroupBarrier();
        for (var i = 0u; i < taps && REDUCE != 0u; i++) {
            ext = extremum(ext, ytile0[(lid.y + i) * TILE + lid.x], i0 + i == 0u);
        }
        for (var i = 0u; i < taps && REDUCE == 0u; i++) {
            let wi = select(1.0, wy[i0 + i], WEIGHTED);
            acc0 = kahan(acc0, wi * ytile0[(lid.y + i) * TILE + lid.x]);
            if FEATURES == 2u {
                acc1 = kahan(acc1, ytile1[(lid.y + i) * TILE + lid.x]);
            }
        }
        workgroupBarrier();
    }
    if y >= params.rows_out || x >= params.w {
        return;
    }
    let o = (y * params.w + x) * params.c + ch;
    if REDUCE != 0u {
        out[o] = ext;
        return;
    }
    if FEATURES == 1u {
        let v = acc0.x * params.inv_n;
        out[o] = select(v, out[o] + v, ACCUMULATE);
        return;
    }
    let n_values = params.rows_out * params.w * params.c;
    let m = acc0.x * params.inv_n;
    let v = max(acc1.x * params.inv_n - m * m, 0.0);
    out[o] = m + params.shift;
    out[n_values + o] = v;
    out[2u * n_values + o] = sqrt(v);
}

@compute @workgroup_size(16, 16)
fn direct(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let g = linear_group(wg, groups);
    let gx = g % params.groups_x;
    let rest = g / params.groups_x;
    let ch = rest % params.c;
    let y0 = (rest / params.c) * TILE;
    let x0 = gx * TILE;
    var acc = vec2<f32>(0.0);
    for (var i0 = 0u; i0 < params.ny; i0 += DCHUNK) {
        let bi = min(DCHUNK, params.ny - i0);
        for (var j0 = 0u; j0 < params.nx; j0 += DCHUNK) {
            let bj = min(DCHUNK, params.nx - j0);
            let th = TILE + bi - 1u;
            let tw = TILE + bj - 1u;
            for (var t = li; t < th * tw; t += TILE * TILE) {
                dtile[t] = block_value(vec3<u32>(x0, y0, ch), i0, j0, t, tw);
            }
            workgroupBarrier();
            for (var i = 0u; i < bi; i++) {
                for (var j = 0u; j < bj; j++) {
                    let wij = w2d[(i0 + i) * params.nx + j0 + j];
                    acc = kahan(acc, wij * dtile[(lid.y + i) * tw + lid.x + j]);
                }
            }
            workgroupBarrier();
        }
    }
    let x = x0 + lid.x;
    let y = y0 + lid.y;
    if y < params.rows_out && x < params.w {
        out[(y * params.w + x) * params.c + ch] = acc.x;
    }
}

// An unsigned key in the order of the values: positives with the sign bit
// set, negatives with every bit flipped; every NaN the largest key.
fn order_key(v: f32) -> u32 {
    let b = bitcast<u32>(v);
    if (b & 0x7fffffffu) > 0x7f800000u {
        return 0xffffffffu;
    }
    return select(b | 0x80000000u, ~b, (b >> 31u) == 1u);
}

// The value of an order key (the NaN key gives a NaN).
fn key_value(k: u32) -> f32 {
    return bitcast<f32>(select(~k, k ^ 0x80000000u, (k >> 31u) == 1u));
}

// Keys of the window block (i0, j0) of size bi × bj for the tile at
// (x0, y0) of channel ch into ktile, row by row of TILE + bj − 1.
fn load_keys(x0: u32, y0: u32, ch: u32, i0: u32, j0: u32, bi: u32, bj: u32, li: u32) {
    let th = TILE + bi - 1u;
    let tw = TILE + bj - 1u;
    for (var t = li; t < th * tw; t += TILE * TILE) {
        ktile[t] = order_key(block_value(vec3<u32>(x0, y0, ch), i0, j0, t, tw));
    }
}

// The input value at position t (rows of tw) of window block (i0, j0) for
// the tile whose first output is (x, y) of channel z of `tile`: the x mode
// applied here (the host resolved the rows), cval outside.
fn block_value(tile: vec3<u32>, i0: u32, j0: u32, t: u32, tw: u32) -> f32 {
    let row = tile.y + i0 + t / tw;
    let x = i32(tile.x + j0 + t % tw) - i32(params.left);
    let xi = boundary_index(x, i32(params.w), params.mode);
    if row < params.rows_in && xi != OUTSIDE {
        return src[(row * params.w + u32(xi)) * params.c + tile.z];
    }
    return params.cval;
}

@compute @workgroup_size(16, 16)
fn rank(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let g = linear_group(wg, groups);
    let gx = g % params.groups_x;
    let rest = g / params.groups_x;
    let ch = rest % params.c;
    let y0 = (rest / params.c) * TILE;
    let x0 = gx * TILE;
    let single = params.ny <= DCHUNK && params.nx <= DCHUNK;
    if single {
        load_keys(x0, y0, ch, 0u, 0u, params.ny, params.nx, li);
        workgroupBarrier();
    }
    var answer = 0u;
    // REDUCE 1 / 2: one walk over the window keeps its extreme key in `acc`.
    var acc = select(0u, 0xffffffffu, REDUCE == 1u);
    let passes = select(32u, 1u, REDUCE != 0u);
    for (var b = 0u; b < passes; b++) {
        let bit = 31u - b;
        let t = answer | ((1u << bit) - 1u);
        var count = 0u;
        for (var i0 = 0u; i0 < params.ny; i0 += DCHUNK) {
            let bi = min(DCHUNK, params.ny - i0);
            for (var j0 = 0u; j0 < params.nx; j0 += DCHUNK) {
                let bj = min(DCHUNK, params.nx - j0);
                let tw = TILE + bj - 1u;
                if !single {
                    load_keys(x0, y0, ch, i0, j0, bi, bj, li);
                    workgroupBarrier();
                }
                for (var i = 0u; i < bi; i++) {
                    let base = (lid.y + i) * tw + lid.x;
                    let flags = (i0 + i) * params.nx + j0;
                    for (var j = 0u; j < bj; j++) {
                        // WEIGHTED: a footprint; its 0 flags are not in the window.
                        let inside = !WEIGHTED || w2d[flags + j] != 0.0;
                        let k = ktile[base + j];
                        if REDUCE == 0u {
                            count += u32(inside && k <= t);
                        } else if inside {
                            acc = select(max(acc, k), min(acc, k), REDUCE == 1u);
                        }
                    }
                }
                if !single {
                    workgroupBarrier();
                }
            }
        }
        if REDUCE == 0u && count <= params.rank {
            answer |= 1u << bit;
        }
    }
    if REDUCE != 0u {
        answer = acc;
    }
    let x = x0 + lid.x;
    let y = y0 + lid.y;
    if y < params.rows_out && x < params.w {
        out[(y * params.w + x) * params.c + ch] = key_value(answer);
    }
}
