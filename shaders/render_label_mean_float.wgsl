// gpix.render.label_mean_float: label means of float values (float
// textures, sRGB in linear light), deterministic: sums are exact integer
// sums of fixed-point values, so the order of the atomic adds does not
// matter and every frame gives the same bits.
//
//   exponents: per label and channel the largest binary exponent E of |v|
//   sums:      per label the count and per channel Σ round(v · 2^(34 − e)),
//              e = E − 127, as 64-bit two's-complement integers (|terms| <
//              2^35, ≤ 2^28 texels: no overflow); resolution 2^-34 of the
//              label's largest value, far below f32's 2^-24
//   paint:     mean = Σ / n · 2^(e − 34), in f32; a label holding an
//              infinity or NaN paints NaN
//
// A 16×16 tile first combines its texels per label in a workgroup table (a
// tile has at most 256 labels, so they always fit): global memory gets one
// update per label met per tile, however fragmented the map.
// Labels >= the table size are not counted and keep their own value.
//
// Bindings (group 0):
//   0 input   texture or buffer (io.rs)
//   1 labels  r32uint texture or u32 buffer
//   2 table   storage array<atomic<u32>>: per label the count, then per
//             channel (E, sum lo, sum hi); cleared by the host every frame
//   3 output  storage texture or buffer, paint

override CHANNELS: u32 = 4u;
// Labels 0..N_LABELS have table entries (the table may be longer).
override N_LABELS: u32 = 1u;
override WORDS: u32 = 1u + 3u * CHANNELS;
const K: i32 = 34;

@group(0) @binding(2) var<storage, read_write> table: array<atomic<u32>>;

// Words per slot of the tile's table (render_label_table.wgsl): count,
// then (E or sum lo, sum hi) per channel.
const SLOT_WORDS: u32 = 9u;
var<workgroup> slot_words: array<atomic<u32>, 2304>;

fn n_labels() -> u32 {
    return N_LABELS;
}

fn biased_exponent(v: f32) -> u32 {
    return (bitcast<u32>(v) >> 23u) & 0xffu;
}

// v as round(v · 2^(K − e)) in two's complement (lo, hi); 0 when the
// label's values are all zero or subnormal (E = 0) or not finite.
fn fixed(v: f32, e_biased: u32) -> vec2<u32> {
    if e_biased == 0u || e_biased == 255u {
        return vec2<u32>(0u);
    }
    let q = round(ldexp(v, K - (i32(e_biased) - 127)));
    let hi = floor(q / 4294967296.0);
    let lo = q - hi * 4294967296.0;
    return vec2<u32>(u32(lo), bitcast<u32>(i32(hi)));
}

fn add64_global(i: u32, v: vec2<u32>) {
    let old = atomicAdd(&table[i], v.x);
    atomicAdd(&table[i + 1u], v.y + select(0u, 1u, old + v.x < old));
}

fn add64_tile(i: u32, v: vec2<u32>) {
    let old = atomicAdd(&slot_words[i], v.x);
    atomicAdd(&slot_words[i + 1u], v.y + select(0u, 1u, old + v.x < old));
}

struct Texel {
    label: u32,
    value: vec4<f32>,
}

fn read_texel(gid: vec3<u32>) -> Texel {
    var t = Texel(0xffffffffu, vec4<f32>(0.0));
    if all(gid.xy < io_size()) {
        t.label = load_label(vec2<i32>(gid.xy));
        t.value = load_value(vec2<i32>(gid.xy));
    }
    return t;
}

// Clears the tile's table (lane i: slot i) and finds the texel's slot,
// inserting its label if new; EMPTY for labels outside the table, or if
// weak exchanges kept failing spuriously (then the texel goes to global
// memory directly).
fn start_tile(label: u32, local: u32) -> u32 {
    atomicStore(&slot_label[local], EMPTY);
    for (var j = 0u; j < SLOT_WORDS; j++) {
        atomicStore(&slot_words[local * SLOT_WORDS + j], 0u);
    }
    workgroupBarrier();
    if label >= n_labels() {
        return EMPTY;
    }
    return tile_slot(label);
}

@compute @workgroup_size(16, 16)
fn exponents(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let t = read_texel(gid);
    let s = start_tile(t.label, local);
    if t.label < n_labels() {
        for (var c = 0u; c < CHANNELS; c++) {
            let e = biased_exponent(t.value[c]);
            if s != EMPTY {
                atomicMax(&slot_words[s * SLOT_WORDS + 1u + c], e);
            } else {
                atomicMax(&table[t.label * WORDS + 1u + 3u * c], e);
            }
        }
    }
    workgroupBarrier();
    let held = atomicLoad(&slot_label[local]);
    if held != EMPTY {
        for (var c = 0u; c < CHANNELS; c++) {
            atomicMax(&table[held * WORDS + 1u + 3u * c], atomicLoad(&slot_words[local * SLOT_WORDS + 1u + c]));
        }
    }
}

@compute @workgroup_size(16, 16)
fn sums(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let t = read_texel(gid);
    let s = start_tile(t.label, local);
    if t.label < n_labels() {
        let base = t.label * WORDS;
        for (var c = 0u; c < CHANNELS; c++) {
            let q = fixed(t.value[c], atomicLoad(&table[base + 1u + 3u * c]));
            if s != EMPTY {
                add64_tile(s * SLOT_WORDS + 1u + 2u * c, q);
            } else {
                add64_global(base + 2u + 3u * c, q);
            }
        }
        if s != EMPTY {
            atomicAdd(&slot_words[s * SLOT_WORDS], 1u);
        } else {
            atomicAdd(&table[base], 1u);
        }
    }
    workgroupBarrier();
    let held = atomicLoad(&slot_label[local]);
    if held != EMPTY {
        let base = held * WORDS;
        let w = local * SLOT_WORDS;
        atomicAdd(&table[base], atomicLoad(&slot_words[w]));
        for (var c = 0u; c < CHANNELS; c++) {
            add64_global(base + 2u + 3u * c, vec2<u32>(atomicLoad(&slot_words[w + 1u + 2u * c]), atomicLoad(&slot_words[w + 2u + 2u * c])));
        }
    }
}
// A 64-bit two's-complement (lo, hi) as f32, through its magnitude so
// that small negative sums keep their precision.
fn to_f32(v: vec2<u32>) -> f32 {
    var lo = v.x;
    var hi = v.y;
    let negative = (hi >> 31u) == 1u;
    if negative {
        lo = ~lo + 1u;
        hi = ~hi + select(0u, 1u, lo == 0u);
    }
    let m = f32(hi) * 4294967296.0 + f32(lo);
    return select(m, -m, negative);
}

@compute @workgroup_size(16, 16)
fn paint(@builtin(global_invocation_id) gid: vec3<u32>) {
    if any(gid.xy >= io_size()) {
        return;
    }
    let p = vec2<i32>(gid.xy);
    let label = load_label(p);
    var out = load_value(p);
    if label < n_labels() {
        let base = label * WORDS;
        let n = f32(atomicLoad(&table[base]));
        for (var c = 0u; c < CHANNELS; c++) {
            let e = atomicLoad(&table[base + 1u + 3u * c]);
            let sum = vec2<u32>(atomicLoad(&table[base + 2u + 3u * c]), atomicLoad(&table[base + 3u + 3u * c]));
            if e == 255u {
                out[c] = bitcast<f32>(0x7fc00000u);
            } else {
                out[c] = ldexp(to_f32(sum) / n, (i32(e) - 127) - K);
            }
        }
    }
    store_out(p, out);
}
