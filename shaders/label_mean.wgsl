// gpix.label_mean: exact per-label pixel counts and channel sums, and the
// recolour that paints every pixel with its label's mean.
//
// Integer atomics only (WGSL has no float atomics). Every total is a 96-bit
// two's-complement integer kept as three u32 words (low, mid, high); an
// atomicAdd returns the old word, and when old + v wraps the adder carries 1
// into the next word. Each step is atomic, so totals are exact under any
// interleaving of invocations.
//
// Integers (MODE 0 u8, 1 u16, 2 i32) are added as they are. Floats (MODE 4
// f32, 5 f64) are turned into fixed point first: the `exponents` pass finds,
// per row and channel, the largest exponent field E (and flags NaN/±inf);
// the `sums` pass then adds each finite value as the integer
// trunc(|x| · 2^(61 − (E − bias))) with its sign: the largest value of the
// row maps below 2^62, so a 96-bit total holds 2^32 of them, and a value
// loses less than one unit, 2^-61 of the row's largest magnitude. The host
// scales the total back (`SumValue::from_gpu`).
//
// Hot labels: labels are spatially coherent (superpixels, clusters), so each
// invocation walks RUN consecutive pixels as segments of equal labels,
// finds the segment's row once and sums it in registers: atomics are per
// segment, not per pixel. Segments of the workgroup's hot label (the label
// of its first pixel, which in a large region is every segment's label) go
// to workgroup-memory totals, flushed to global memory once per workgroup:
// a uniform region costs one global update per WG · RUN = 8192 pixels
// instead of serialising every invocation on one address. Rows come from the label by `label − offset` (dense) or a binary
// search in the sorted distinct labels `keys` (sparse, n_keys > 0).
//
// Bindings (group 0):
//   0 params  uniform  Params
//   1 pixels  storage  array<u32>          values packed as MODE says (f64: lo, hi words)
//   2 labels  storage  array<u32>          LABELS_PER_WORD labels per word
//   3 keys    storage  array<u32>          sorted distinct labels (sparse rows)
//   4 exps    storage  array<atomic<u32>>  per row and channel: max exponent, flags
//   5 totals  storage  array<atomic<u32>>  per row: count, then each channel; 3 words each
//   6 means   storage  array<u32>          per row and channel: the output element (f64: 2 words)
//   7 out     storage  array<u32>          recoloured band, OUT_BYTES per element, packed
//
// Work per pixel: C value reads, one label read, C + 1 register adds;
// atomics: 3 · (C + 1) per segment (plus C per segment for floats).

override MODE: u32 = 0u;
override CHANNELS: u32 = 3u;
override LABELS_PER_WORD: u32 = 1u;
override OUT_BYTES: u32 = 4u;

const WG: u32 = 256u;
const RUN: u32 = 32u;
const NO_ROW: u32 = 0xffffffffu;
// exps flags
const HAS_NAN: u32 = 1u;
const HAS_POS_INF: u32 = 2u;
const HAS_NEG_INF: u32 = 4u;

struct Params {
    n_pixels: u32,
    n_rows: u32,
    offset: u32,
    n_keys: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> keys: array<u32>;
@group(0) @binding(4) var<storage, read_write> exps: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> totals: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read> means: array<u32>;
@group(0) @binding(7) var<storage, read_write> out: array<u32>;

// The workgroup's hot label (the label of its first pixel): segments with it
// are added here first, and one flush per workgroup goes to global memory.
var<workgroup> hot: array<atomic<u32>, (CHANNELS + 1u) * 3u>;
var<workgroup> hot_exp: array<atomic<u32>, CHANNELS * 2u>;

fn label(p: u32) -> u32 {
    if LABELS_PER_WORD == 4u {
        return (labels[p >> 2u] >> ((p & 3u) * 8u)) & 0xffu;
    }
    if LABELS_PER_WORD == 2u {
        return (labels[p >> 1u] >> ((p & 1u) * 16u)) & 0xffffu;
    }
    return labels[p];
}

fn row_of(l: u32) -> u32 {
    if params.n_keys == 0u {
        let r = l - params.offset;
        return select(NO_ROW, r, r < params.n_rows);
    }
    var lo = 0u;
    var hi = params.n_keys;
    while lo < hi {
        let mid = (lo + hi) >> 1u;
        if keys[mid] < l {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return select(NO_ROW, lo, lo < params.n_keys && keys[lo] == l);
}

// The end of the segment of equal labels that starts at `a` (before `end`).
fn segment_end(a: u32, end: u32, l: u32) -> u32 {
    var b = a + 1u;
    while b < end && label(b) == l {
        b++;
    }
    return b;
}

fn thread_id(wg: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (wg.y * groups.x + wg.x) * WG + local;
}

// The row of the first pixel of the workgroup's RUN · WG pixels.
fn hot_row(wg: vec3<u32>, groups: vec3<u32>) -> u32 {
    let first = (wg.y * groups.x + wg.x) * WG * RUN;
    if first >= params.n_pixels {
        return NO_ROW;
    }
    return row_of(label(first));
}

// ---- 96-bit integer arithmetic -------------------------------------------

fn add96(a: vec3<u32>, b: vec3<u32>) -> vec3<u32> {
    let x = a.x + b.x;
    let y1 = a.y + b.y;
    let y = y1 + select(0u, 1u, x < a.x);
    let z = a.z + b.z + select(0u, 1u, y1 < a.y) + select(0u, 1u, y < y1);
    return vec3<u32>(x, y, z);
}

// atomic_add96 on the workgroup's hot totals.
fn hot_add96(w: u32, v: vec3<u32>) {
    if v.x != 0u {
        let old = atomicAdd(&hot[w], v.x);
        if old > 0xffffffffu - v.x {
            let mid = atomicAdd(&hot[w + 1u], 1u);
            if mid == 0xffffffffu {
                atomicAdd(&hot[w + 2u], 1u);
            }
        }
    }
    if v.y != 0u {
        let old = atomicAdd(&hot[w + 1u], v.y);
        if old > 0xffffffffu - v.y {
            atomicAdd(&hot[w + 2u], 1u);
        }
    }
    if v.z != 0u {
        atomicAdd(&hot[w + 2u], v.z);
    }
}

fn atomic_add96(w: u32, v: vec3<u32>) {
    if v.x != 0u {
        let old = atomicAdd(&totals[w], v.x);
        if old > 0xffffffffu - v.x {
            let mid = atomicAdd(&totals[w + 1u], 1u);
            if mid == 0xffffffffu {
                atomicAdd(&totals[w + 2u], 1u);
            }
        }
    }
    if v.y != 0u {
        let old = atomicAdd(&totals[w + 1u], v.y);
        if old > 0xffffffffu - v.y {
            atomicAdd(&totals[w + 2u], 1u);
        }
    }
    if v.z != 0u {
        atomicAdd(&totals[w + 2u], v.z);
    }
}

// v · 2^s for a 64-bit v = (lo, hi), s in [-inf, 63]; bits shifted out are lost.
fn shift64(v: vec2<u32>, s: i32) -> vec2<u32> {
    if s == 0 {
        return v;
    }
    if s > 0 {
        let k = u32(s);
        if k >= 32u {
            return vec2<u32>(0u, v.x << (k - 32u));
        }
        return vec2<u32>(v.x << k, (v.y << k) | (v.x >> (32u - k)));
    }
    let k = u32(-s);
    if k >= 64u {
        return vec2<u32>(0u);
    }
    if k >= 32u {
        return vec2<u32>(v.y >> (k - 32u), 0u);
    }
    return vec2<u32>((v.x >> k) | (v.y << (32u - k)), v.y >> k);
}

// ---- values ----------------------------------------------------------------

// An integer value as a 96-bit two's-complement number.
fn int96(i: u32) -> vec3<u32> {
    let v = value(i);
    if MODE == 2u {
        let s = select(0u, 0xffffffffu, i32(v) < 0);
        return vec3<u32>(v, s, s);
    }
    return vec3<u32>(v, 0u, 0u);
}

// A float's parts: x = exponent field, y = sign, z = special flags
// (0 for finite), and its mantissa with the implicit bit.
struct FloatParts {
    exponent: u32,
    negative: bool,
    flags: u32,
    mantissa: vec2<u32>,
}

fn float_parts(i: u32) -> FloatParts {
    var f: FloatParts;
    if MODE == 4u {
        let bits = pixels[i];
        f.exponent = (bits >> 23u) & 0xffu;
        f.negative = (bits >> 31u) != 0u;
        let m = bits & 0x7fffffu;
        if f.exponent == 0xffu {
            f.flags = select(select(HAS_POS_INF, HAS_NEG_INF, f.negative), HAS_NAN, m != 0u);
        }
        f.mantissa = vec2<u32>(m | select(0u, 0x800000u, f.exponent != 0u), 0u);
    } else {
        let lo = pixels[2u * i];
        let hi = pixels[2u * i + 1u];
        f.exponent = (hi >> 20u) & 0x7ffu;
        f.negative = (hi >> 31u) != 0u;
        let m_hi = hi & 0xfffffu;
        if f.exponent == 0x7ffu {
            f.flags = select(select(HAS_POS_INF, HAS_NEG_INF, f.negative), HAS_NAN, (m_hi | lo) != 0u);
        }
        f.mantissa = vec2<u32>(lo, m_hi | select(0u, 0x100000u, f.exponent != 0u));
    }
    return f;
}

// A finite float as fixed point for a row whose largest exponent field is
// `row_exp`: |x| · 2^(61 − (row_exp − bias)), truncated, with its sign.
fn fixed96(f: FloatParts, row_exp: u32) -> vec3<u32> {
    if f.flags != 0u {
        return vec3<u32>(0u);
    }
    // Mantissa bits: 23 (f32), 52 (f64); 61 − 23 = 38, 61 − 52 = 9.
    let top = select(9, 38, MODE == 4u);
    let s = i32(max(f.exponent, 1u)) - i32(max(row_exp, 1u)) + top;
    let mag = shift64(f.mantissa, s);
    if !f.negative {
        return vec3<u32>(mag.x, mag.y, 0u);
    }
    return add96(vec3<u32>(~mag.x, ~mag.y, 0xffffffffu), vec3<u32>(1u, 0u, 0u));
}

// ---- entry points ----------------------------------------------------------

@compute @workgroup_size(256)
fn exponents(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    for (var i = local; i < CHANNELS * 2u; i += WG) {
        atomicStore(&hot_exp[i], 0u);
    }
    workgroupBarrier();
    let hot_r = hot_row(wg, groups);
    let start = thread_id(wg, groups, local) * RUN;
    let end = min(start + RUN, params.n_pixels);
    var a = start;
    while a < end {
        let l = label(a);
        let b = segment_end(a, end, l);
        let r = row_of(l);
        if r != NO_ROW {
            for (var c = 0u; c < CHANNELS; c++) {
                var e = 0u;
                var flags = 0u;
                for (var p = a; p < b; p++) {
                    let f = float_parts(p * CHANNELS + c);
                    flags |= f.flags;
                    if f.flags == 0u {
                        e = max(e, f.exponent);
                    }
                }
                if r == hot_r {
                    atomicMax(&hot_exp[c * 2u], e);
                    atomicOr(&hot_exp[c * 2u + 1u], flags);
                } else {
                    merge_exponent((r * CHANNELS + c) * 2u, e, flags);
                }
            }
        }
        a = b;
    }
    workgroupBarrier();
    if hot_r != NO_ROW {
        for (var c = local; c < CHANNELS; c += WG) {
            let e = atomicLoad(&hot_exp[c * 2u]);
            let flags = atomicLoad(&hot_exp[c * 2u + 1u]);
            merge_exponent((hot_r * CHANNELS + c) * 2u, e, flags);
        }
    }
}

fn merge_exponent(w: u32, e: u32, flags: u32) {
    if e > atomicLoad(&exps[w]) {
        atomicMax(&exps[w], e);
    }
    if flags != 0u {
        atomicOr(&exps[w + 1u], flags);
    }
}

@compute @workgroup_size(256)
fn sums(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    for (var i = local; i < (CHANNELS + 1u) * 3u; i += WG) {
        atomicStore(&hot[i], 0u);
    }
    workgroupBarrier();
    let hot_r = hot_row(wg, groups);
    let start = thread_id(wg, groups, local) * RUN;
    let end = min(start + RUN, params.n_pixels);
    var a = start;
    while a < end {
        let l = label(a);
        let b = segment_end(a, end, l);
        let r = row_of(l);
        if r != NO_ROW {
            add_total(r, hot_r, 0u, vec3<u32>(b - a, 0u, 0u));
            for (var c = 0u; c < CHANNELS; c++) {
                var acc = vec3<u32>(0u);
                if MODE >= 4u {
                    let row_exp = atomicLoad(&exps[(r * CHANNELS + c) * 2u]);
                    for (var p = a; p < b; p++) {
                        acc = add96(acc, fixed96(float_parts(p * CHANNELS + c), row_exp));
                    }
                } else {
                    for (var p = a; p < b; p++) {
                        acc = add96(acc, int96(p * CHANNELS + c));
                    }
                }
                add_total(r, hot_r, c + 1u, acc);
            }
        }
        a = b;
    }
    workgroupBarrier();
    if hot_r != NO_ROW {
        for (var t = local; t < CHANNELS + 1u; t += WG) {
            let v = vec3<u32>(
                atomicLoad(&hot[t * 3u]),
                atomicLoad(&hot[t * 3u + 1u]),
                atomicLoad(&hot[t * 3u + 2u]),
            );
            atomic_add96((hot_r * (CHANNELS + 1u) + t) * 3u, v);
        }
    }
}

// Adds total `t` (0: count, 1 + c: channel c) of row `r`: into workgroup
// memory for the hot row, else straight into global memory.
fn add_total(r: u32, hot_r: u32, t: u32, v: vec3<u32>) {
    if r == hot_r {
        hot_add96(t * 3u, v);
    } else {
        atomic_add96((r * (CHANNELS + 1u) + t) * 3u, v);
    }
}

// One output word per invocation: 4 / OUT_BYTES elements (OUT_BYTES ≤ 4) or
// half of an 8-byte element.
@compute @workgroup_size(256)
fn paint(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let w = thread_id(wg, groups, local);
    let n_elements = params.n_pixels * CHANNELS;
    if OUT_BYTES == 8u {
        let e = w >> 1u;
        if e >= n_elements {
            return;
        }
        let r = row_of(label(e / CHANNELS));
        out[w] = select(means[(r * CHANNELS + e % CHANNELS) * 2u + (w & 1u)], 0u, r == NO_ROW);
        return;
    }
    let per_word = 4u / OUT_BYTES;
    let first = w * per_word;
    if first >= n_elements {
        return;
    }
    let bits = min(OUT_BYTES, 4u) * 8u;
    let mask = 0xffffffffu >> (32u - bits);
    var word = 0u;
    var last = NO_ROW;
    var r = NO_ROW;
    for (var j = 0u; j < per_word; j++) {
        let e = first + j;
        if e >= n_elements {
            break;
        }
        let l = label(e / CHANNELS);
        if j == 0u || l != last {
            last = l;
            r = row_of(l);
        }
        if r != NO_ROW {
            word |= (means[r * CHANNELS + e % CHANNELS] & mask) << (j * bits);
        }
    }
    out[w] = word;
}
