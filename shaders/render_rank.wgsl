// gpix.render.rank: scipy's rank_filter / median_filter / percentile_filter
// of a texture, each channel on its own: the value of rank params.rank
// (0: the smallest) in each taps_y × taps_x window, in one pass.
//
// A 16×16 tile of outputs keeps its window's order keys in workgroup
// memory (one vec4 of keys per texel: numbers by value, NaNs above them
// all). The answer's key is found bit by bit from the top: bit b is 0 when
// at least rank + 1 keys are at or below the answer's bits so far with b
// and every lower bit 0 then 1s. 32 counting passes per output, no sort;
// windows wider than CHUNK along an axis stream through workgroup memory
// block by block on every pass. Every result is one of the inputs (or
// cval): exact in the texture's units.
//
// FOOTPRINT: the window is a footprint; `flags` (taps_y × taps_x, row by
// row) marks the taps counted (0: not in the window).
// REDUCE 1 or 2 (rank 0 or n − 1: a minimum or maximum): one pass keeps
// the smallest or largest key instead of the 32 counting passes.
//
// Bindings (group 0):
//   0 input    texture or buffer (io.rs)
//   1 params   uniform Params
//   2 flags    storage array<f32> (bound for a rectangle too)
//   4 output   storage texture or buffer

override CHANNELS: u32 = 4u;
override FOOTPRINT: bool = false;
override REDUCE: u32 = 0u;

struct Params {
    taps_x: u32,
    taps_y: u32,
    center_x: i32,
    center_y: i32,
    mode: u32,
    cval: f32,
    rank: u32,
    pad: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> flags: array<f32>;

const TILE: u32 = 16u;
// Window taps per axis of one block: (16 + 15)² keys of 16 bytes = 15.4 KiB.
const CHUNK: u32 = 16u;

var<workgroup> keys: array<vec4<u32>, (TILE + CHUNK - 1u) * (TILE + CHUNK - 1u)>;

fn size() -> vec2<i32> {
    return vec2<i32>(io_size());
}

// Unsigned keys in the order of the values: positives with the sign bit
// set, negatives with every bit flipped; every NaN the largest key.
fn order_keys(v: vec4<f32>) -> vec4<u32> {
    let b = bitcast<vec4<u32>>(v);
    let negative = (b >> vec4<u32>(31u)) == vec4<u32>(1u);
    let k = select(b | vec4<u32>(0x80000000u), ~b, negative);
    let nan = (b & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
    return select(k, vec4<u32>(0xffffffffu), nan);
}

// The values of order keys.
fn key_values(k: vec4<u32>) -> vec4<f32> {
    let positive = (k >> vec4<u32>(31u)) == vec4<u32>(1u);
    return bitcast<vec4<f32>>(select(~k, k ^ vec4<u32>(0x80000000u), positive));
}

// The keys of window block (i0, j0), bi × bj taps, for the tile at
// `origin`, row by row of TILE + bj − 1.
fn load_block(origin: vec2<i32>, i0: u32, j0: u32, bi: u32, bj: u32, li: u32) {
    let n = size();
    let th = TILE + bi - 1u;
    let tw = TILE + bj - 1u;
    for (var t = li; t < th * tw; t += TILE * TILE) {
        let y = origin.y + i32(i0 + t / tw) - params.center_y;
        let x = origin.x + i32(j0 + t % tw) - params.center_x;
        let yi = boundary_index(y, n.y, params.mode);
        let xi = boundary_index(x, n.x, params.mode);
        var v = vec4<f32>(params.cval);
        if yi != OUTSIDE && xi != OUTSIDE {
            v = load_value(vec2<i32>(xi, yi));
        }
        keys[t] = order_keys(v);
    }
}

@compute @workgroup_size(16, 16)
fn rank(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let origin = vec2<i32>(wg.xy * TILE);
    let single = params.taps_y <= CHUNK && params.taps_x <= CHUNK;
    if single {
        load_block(origin, 0u, 0u, params.taps_y, params.taps_x, li);
        workgroupBarrier();
    }
    var answer = vec4<u32>(0u);
    // REDUCE 1 / 2: one walk over the window keeps its extreme keys in `acc`.
    var acc = vec4<u32>(select(0u, 0xffffffffu, REDUCE == 1u));
    let passes = select(32u, 1u, REDUCE != 0u);
    for (var b = 0u; b < passes; b++) {
        let bit = 31u - b;
        let t = answer | vec4<u32>((1u << bit) - 1u);
        var count = vec4<u32>(0u);
        for (var i0 = 0u; i0 < params.taps_y; i0 += CHUNK) {
            let bi = min(CHUNK, params.taps_y - i0);
            for (var j0 = 0u; j0 < params.taps_x; j0 += CHUNK) {
                let bj = min(CHUNK, params.taps_x - j0);
                let tw = TILE + bj - 1u;
                if !single {
                    load_block(origin, i0, j0, bi, bj, li);
                    workgroupBarrier();
                }
                for (var i = 0u; i < bi; i++) {
                    let row = (lid.y + i) * tw + lid.x;
                    let flag_row = (i0 + i) * params.taps_x + j0;
                    for (var j = 0u; j < bj; j++) {
                        let inside = !FOOTPRINT || flags[flag_row + j] != 0.0;
                        let k = keys[row + j];
                        if REDUCE == 0u {
                            let below = (k <= t) & vec4<bool>(inside);
                            count += select(vec4<u32>(0u), vec4<u32>(1u), below);
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
        answer = select(answer | vec4<u32>(1u << bit), answer, count > vec4<u32>(params.rank));
    }
    if REDUCE != 0u {
        answer = acc;
    }
    let n = size();
    let p = origin + vec2<i32>(lid.xy);
    if p.x >= n.x || p.y >= n.y {
        return;
    }
    var v = key_values(answer);
    if CHANNELS == 1u {
        v = vec4<f32>(v.x, 0.0, 0.0, 1.0);
    }
    store_out(p, v);
}
