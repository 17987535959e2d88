// gpix.palette: index of the nearest palette entry for every pixel of a band.
//
// Exact: integer pixels use integer squared distances (u32 for 8-bit values,
// a 64-bit sum emulated with two u32 words for 16-bit values); ties go to the
// lowest palette index because entries are visited in order and only a
// strictly smaller distance replaces the best. Float greyscale uses f32 |x - l|.
//
// Bindings (group 0):
//   0 params   uniform  Params
//   1 pixels   storage  array<u32>        band values packed little-endian:
//                                         4 x u8, 2 x u16 or 1 x f32 per word
//   2 palette  storage  array<vec4<u32>>  one entry per colour, unused channels 0;
//                                         f32 levels bit-cast into .x
//   3 indices  storage  array<u32>        output, INDICES_PER_WORD indices per word
//                                         (4 x u8 when K <= 256, else 2 x u16)
//
// Each invocation produces one output word (2 or 4 pixels), so every palette
// entry read from workgroup memory is reused for several pixels. The palette
// streams through workgroup memory in tiles of WG entries. Per pixel and
// palette entry: C subtractions, C multiplies, C adds and a compare; bytes per
// pixel from global memory: C x bytes_per_value in, 1 or 2 out.

override MODE: u32 = 0u;              // 0: u8 values, 1: u16 values, 2: f32 grey
override CHANNELS: u32 = 3u;          // 1..=4 values per pixel
override INDICES_PER_WORD: u32 = 4u;  // 4 (u8 indices) or 2 (u16 indices)

const WG: u32 = 256u;
// Palette entries per tile: 16 KiB of workgroup memory (WebGPU's default
// limit); four loads per invocation, and few barriers even for 65536 colours.
const TILE: u32 = 1024u;
const NONE: u32 = 0xffffffffu;

// One dispatch scans palette entries k_start..k_end. Large palettes are
// split over several dispatches (see the host code): each later one starts
// from the index the previous ones wrote, so no dispatch runs long enough to
// trip a driver watchdog (or llvmpipe's limit of 65535 loop iterations per
// invocation, past which it silently stops looping).
struct Params {
    n_pixels: u32,
    k: u32,
    k_start: u32,
    k_end: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> palette: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> indices: array<u32>;

var<workgroup> tile: array<vec4<u32>, TILE>;

fn load_pixel(p: u32) -> vec4<u32> {
    var v = vec4<u32>(0u);
    let base = p * CHANNELS;
    for (var c = 0u; c < CHANNELS; c++) {
        v[c] = value(base + c);
    }
    return v;
}

fn abs_diff(a: vec4<u32>, b: vec4<u32>) -> vec4<u32> {
    return select(b - a, a - b, a > b);
}

// Distance as (high word, low word); the high word is only used for 16-bit
// values, where four squared differences can exceed 2^32.
fn distance(a: vec4<u32>, b: vec4<u32>) -> vec2<u32> {
    if MODE == 2u {
        let d = abs(bitcast<f32>(a.x) - bitcast<f32>(b.x));
        // Non-negative floats order like their bit patterns; NaN never wins.
        return vec2<u32>(0u, bitcast<u32>(d));
    }
    let d = abs_diff(a, b);
    let sq = d * d;
    if MODE == 0u {
        return vec2<u32>(0u, sq.x + sq.y + sq.z + sq.w);
    }
    var lo = sq.x;
    var hi = 0u;
    for (var c = 1u; c < 4u; c++) {
        let s = lo + sq[c];
        hi += select(0u, 1u, s < lo);
        lo = s;
    }
    return vec2<u32>(hi, lo);
}

fn less(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.x < b.x || (a.x == b.x && a.y < b.y);
}

@compute @workgroup_size(256)
fn nearest(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let word = (wg.y * groups.x + wg.x) * WG + local;
    let first = word * INDICES_PER_WORD;

    var px: array<vec4<u32>, 4>;
    var best_d: array<vec2<u32>, 4>;
    var best_i: array<u32, 4>;
    let n_words = (params.n_pixels + INDICES_PER_WORD - 1u) / INDICES_PER_WORD;
    let bits = 32u / INDICES_PER_WORD;
    var previous = 0u;
    if params.k_start > 0u && word < n_words {
        previous = indices[word];
    }
    for (var q = 0u; q < INDICES_PER_WORD; q++) {
        let p = first + q;
        best_i[q] = NONE;
        best_d[q] = vec2<u32>(NONE, NONE);
        if p < params.n_pixels {
            px[q] = load_pixel(p);
            if params.k_start > 0u {
                // Carry on from the earlier dispatches' answer; entries from
                // here on have higher indices, so strict < keeps ties low.
                let i = (previous >> (q * bits)) & ((1u << bits) - 1u);
                best_i[q] = i;
                best_d[q] = distance(px[q], palette[i]);
            }
        }
    }

    // Every invocation takes part in loading tiles, including those past the
    // end of the band: the barriers need the whole workgroup.
    for (var start = params.k_start; start < params.k_end; start += TILE) {
        for (var t = local; t < TILE; t += WG) {
            if start + t < params.k_end {
                tile[t] = palette[start + t];
            }
        }
        workgroupBarrier();
        let n = min(TILE, params.k_end - start);
        for (var j = 0u; j < n; j++) {
            let entry = tile[j];
            for (var q = 0u; q < INDICES_PER_WORD; q++) {
                let d = distance(px[q], entry);
                // NONE marks "no entry yet": the first entry always wins, so a
                // NaN pixel (whose distances never compare less) gets index 0.
                if best_i[q] == NONE || less(d, best_d[q]) {
                    best_d[q] = d;
                    best_i[q] = start + j;
                }
            }
        }
        workgroupBarrier();
    }

    if word >= n_words {
        return;
    }
    var packed = 0u;
    for (var q = 0u; q < INDICES_PER_WORD; q++) {
        if first + q < params.n_pixels {
            packed |= best_i[q] << (q * bits);
        }
    }
    indices[word] = packed;
}
