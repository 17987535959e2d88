// gpix.palette_grid: index of the nearest palette entry for every pixel of a
// band, searching only the entries that can win near the pixel's colour.
//
// Colour images (`nearest_in_grid`): colour space is cut into a grid of
// cells (`bits` per channel, made on the host: the CPU path's candidate
// grid); each cell lists, in ascending palette order, every entry that is
// nearest to some point of the cell. A pixel scans its cell's list with a
// strict `<`, so the answer and its lowest-index tie-break are the brute
// force's. 8-bit distances are f32 (every squared distance is an integer of
// at most 4·255² < 2^24, so f32 holds it exactly in any summation order);
// 16-bit distances are a 64-bit sum in two u32 words.
//
// Float grey (`nearest_level`): the levels sorted on the host (equal values
// merged, keeping the lowest index); a binary search finds the two levels
// around the pixel, then the runs of levels at exactly the same f32 distance
// on either side (rounding can make several tie) give the lowest index.
//
// Bindings (group 0):
//   0 params      uniform  Params
//   1 pixels      storage  array<u32>        band values packed little-endian:
//                                            4 x u8, 2 x u16 or 1 x f32 per word
//   2 palette     storage  array<vec4<u32>>  MODE 0: colours as f32 bits;
//                                            MODE 1: colours; MODE 2: sorted
//                                            levels as f32 bits in .x, their
//                                            palette index in .y
//   3 indices     storage  array<u32>        output, INDICES_PER_WORD per word
//   4 cells       storage  array<vec2<u32>>  per cell: first candidate, count
//   5 candidates  storage  array<u32>        palette indices, ascending per cell
//
// Work per pixel: 2 reads of the tables plus, per candidate, one palette
// read (cached: the lists of neighbouring pixels overlap) and C
// subtractions, C multiply-adds and a compare. The host splits a band's
// dispatches by pixels (and long lists by position) so that none evaluates
// more than ~2^32 pixel-candidate pairs.

override MODE: u32 = 0u;              // 0: u8 values, 1: u16 values, 2: f32 grey
override CHANNELS: u32 = 3u;          // 1..=4 values per pixel
override INDICES_PER_WORD: u32 = 4u;  // 4 (u8 indices) or 2 (u16 indices)

const WG: u32 = 256u;
const NONE: u32 = 0xffffffffu;

struct Params {
    n_pixels: u32,   // pixels in the band
    first_word: u32, // this dispatch's first output word
    n_words: u32,    // output words this dispatch writes
    pos_start: u32,  // list positions pos_start..pos_end of every cell
    pos_end: u32,
    bits: u32,       // cell coordinate bits per channel
    shift: u32,      // value >> shift is the cell coordinate
    n_levels: u32,   // sorted levels (MODE 2)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> palette: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> indices: array<u32>;
@group(0) @binding(4) var<storage, read> cells: array<vec2<u32>>;
@group(0) @binding(5) var<storage, read> candidates: array<u32>;

fn load_pixel(p: u32) -> vec4<u32> {
    var v = vec4<u32>(0u);
    let base = p * CHANNELS;
    for (var c = 0u; c < CHANNELS; c++) {
        v[c] = value(base + c);
    }
    return v;
}

fn cell_of(v: vec4<u32>) -> u32 {
    var cell = 0u;
    for (var c = 0u; c < CHANNELS; c++) {
        cell = (cell << params.bits) | (v[c] >> params.shift);
    }
    return cell;
}

// Distance as (high word, low word). MODE 0: the exact f32 squared distance,
// whose bits order like the value (it is never negative).
fn distance(px: vec4<u32>, pxf: vec4<f32>, entry: vec4<u32>) -> vec2<u32> {
    if MODE == 0u {
        let d = pxf - bitcast<vec4<f32>>(entry);
        return vec2<u32>(0u, bitcast<u32>(dot(d, d)));
    }
    let d = select(entry - px, px - entry, px > entry);
    let sq = d * d;
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

fn word_index(wg: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (wg.y * groups.x + wg.x) * WG + local;
}

@compute @workgroup_size(256)
fn nearest_in_grid(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let w = word_index(wg, groups, local);
    if w >= params.n_words {
        return;
    }
    let word = params.first_word + w;
    let first = word * INDICES_PER_WORD;
    let bits = 32u / INDICES_PER_WORD;
    let mask = (1u << bits) - 1u;
    var previous = 0u;
    if params.pos_start > 0u {
        previous = indices[word];
    }
    var packed = 0u;
    for (var q = 0u; q < INDICES_PER_WORD; q++) {
        let p = first + q;
        if p >= params.n_pixels {
            break;
        }
        let px = load_pixel(p);
        let pxf = vec4<f32>(px);
        let span = cells[cell_of(px)];
        var best_i = NONE;
        var best_d = vec2<u32>(NONE, NONE);
        if params.pos_start > 0u {
            // Carry on from the earlier dispatches' answer: later list
            // positions hold higher indices, so strict < keeps ties low.
            best_i = (previous >> (q * bits)) & mask;
            best_d = distance(px, pxf, palette[best_i]);
        }
        let end = min(span.y, params.pos_end);
        for (var j = params.pos_start; j < end; j++) {
            let i = candidates[span.x + j];
            let d = distance(px, pxf, palette[i]);
            if best_i == NONE || less(d, best_d) {
                best_d = d;
                best_i = i;
            }
        }
        packed |= best_i << (q * bits);
    }
    indices[word] = packed;
}

fn level_at(j: u32) -> f32 {
    return bitcast<f32>(palette[j].x);
}

// The lowest index among the levels nearest to `x` (f32 distances).
fn level_index(x: f32) -> u32 {
    // NaN and the infinities are equally far from every level: index 0, as
    // the reference. Tested on the bits: a shader compiler may assume floats
    // are finite.
    if (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u {
        return 0u;
    }
    let n = params.n_levels;
    // First sorted level not below x.
    var lo = 0u;
    var hi = n;
    while lo < hi {
        let mid = (lo + hi) / 2u;
        if level_at(mid) < x {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    // Distances grow (weakly) away from x on both sides, so the nearest are
    // runs starting at lo - 1 going down and at lo going up.
    var nearest = 3.0e38;
    var found = false;
    if lo < n {
        nearest = abs(level_at(lo) - x);
        found = true;
    }
    if lo > 0u {
        let d = abs(x - level_at(lo - 1u));
        if !found || d < nearest {
            nearest = d;
        }
    }
    var best = NONE;
    for (var j = lo; j < n; j++) {
        if abs(level_at(j) - x) != nearest {
            break;
        }
        best = min(best, palette[j].y);
    }
    for (var j = lo; j > 0u; j--) {
        if abs(x - level_at(j - 1u)) != nearest {
            break;
        }
        best = min(best, palette[j - 1u].y);
    }
    return best;
}

@compute @workgroup_size(256)
fn nearest_level(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let w = word_index(wg, groups, local);
    if w >= params.n_words {
        return;
    }
    let word = params.first_word + w;
    let first = word * INDICES_PER_WORD;
    let bits = 32u / INDICES_PER_WORD;
    var packed = 0u;
    for (var q = 0u; q < INDICES_PER_WORD; q++) {
        let p = first + q;
        if p >= params.n_pixels {
            break;
        }
        packed |= level_index(bitcast<f32>(pixels[p])) << (q * bits);
    }
    indices[word] = packed;
}
