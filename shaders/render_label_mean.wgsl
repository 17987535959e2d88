// gpix.render.label_mean: every texel painted with the mean of its label's
// texels (8-bit inputs, byte units, exact).
//
//   sums:  per label, the texel count and per channel the sum of the byte
//          values, as 64-bit integers (u32 words with carries); a 16×16
//          tile first sums its texels per label in a workgroup table (a
//          tile has at most 256 labels: they always fit), so global memory
//          gets one update per label met per tile, not per texel
//   paint: mean = floor((2·sum + n) / (2·n)) (round half up, as the CPU
//          path), from exact 64-bit integers
//
// Labels >= the table size are not counted and keep their own value.
//
// Bindings (group 0):
//   0 input   texture or buffer (io.rs)
//   1 labels  r32uint texture or u32 buffer
//   2 table   storage array<atomic<u32>>: per label the count, then
//             (lo, hi) per channel; cleared by the host every frame
//   3 output  storage texture or buffer, paint
// Per texel: two texel reads and one write per entry point, 1 + C
// workgroup atomics in sums, a few dozen integer ops in paint.

override CHANNELS: u32 = 4u;
// Labels 0..N_LABELS have table entries (the table may be longer).
override N_LABELS: u32 = 1u;
override WORDS: u32 = 1u + 2u * CHANNELS;

@group(0) @binding(2) var<storage, read_write> table: array<atomic<u32>>;

// Slot s of the tile's table (render_label_table.wgsl) holds the count and
// up to four channel sums (≤ 256 × 255: no carry within a tile).
var<workgroup> slot_sums: array<atomic<u32>, 1280>;

fn n_labels() -> u32 {
    return N_LABELS;
}

// Adds v to the 64-bit counter at words (i, i + 1).
fn add64(i: u32, v: u32) {
    let old = atomicAdd(&table[i], v);
    if old + v < old {
        atomicAdd(&table[i + 1u], 1u);
    }
}

@compute @workgroup_size(16, 16)
fn sums(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let size = io_size();
    let inside = all(gid.xy < size);
    var label = 0xffffffffu;
    var v = vec4<u32>(0u);
    if inside {
        label = load_label(vec2<i32>(gid.xy));
        v = vec4<u32>(load_value(vec2<i32>(gid.xy)));
    }
    atomicStore(&slot_label[local], EMPTY);
    for (var j = 0u; j < 5u; j++) {
        atomicStore(&slot_sums[local * 5u + j], 0u);
    }
    workgroupBarrier();
    if label < n_labels() {
        let s = tile_slot(label);
        if s != EMPTY {
            atomicAdd(&slot_sums[s * 5u], 1u);
            for (var c = 0u; c < CHANNELS; c++) {
                atomicAdd(&slot_sums[s * 5u + 1u + c], v[c]);
            }
        } else {
            let base = label * WORDS;
            atomicAdd(&table[base], 1u);
            for (var c = 0u; c < CHANNELS; c++) {
                add64(base + 1u + 2u * c, v[c]);
            }
        }
    }
    workgroupBarrier();
    // Lane i flushes slot i.
    let held = atomicLoad(&slot_label[local]);
    if held != EMPTY {
        let base = held * WORDS;
        atomicAdd(&table[base], atomicLoad(&slot_sums[local * 5u]));
        for (var c = 0u; c < CHANNELS; c++) {
            add64(base + 1u + 2u * c, atomicLoad(&slot_sums[local * 5u + 1u + c]));
        }
    }
}

// q·d as 64 bits (hi, lo) for q ≤ 256 and any d.
fn mul64(q: u32, d: u32) -> vec2<u32> {
    let a = q * (d >> 16u);
    let b = q * (d & 0xffffu);
    let lo = (a << 16u) + b;
    let carry = select(0u, 1u, lo < b);
    return vec2<u32>((a >> 16u) + carry, lo);
}

fn le64(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.x < b.x || (a.x == b.x && a.y <= b.y);
}

// floor((2·sum + n) / (2·n)) for sum = (hi, lo) ≤ 255·n and n < 2^31.
fn rounded_mean(hi: u32, lo: u32, n: u32) -> u32 {
    // num = 2·sum + n as 64 bits
    let lo2 = lo << 1u;
    let hi2 = (hi << 1u) | (lo >> 31u);
    let num_lo = lo2 + n;
    let num = vec2<u32>(hi2 + select(0u, 1u, num_lo < lo2), num_lo);
    let den = 2u * n;
    // An f32 estimate within one of the answer (≤ 255), then exact fix-ups.
    let estimate = (f32(num.x) * 4294967296.0 + f32(num.y)) / f32(den);
    var q = u32(clamp(estimate, 0.0, 255.0));
    if !le64(mul64(q, den), num) {
        q -= 1u;
    } else if q < 255u && le64(mul64(q + 1u, den), num) {
        q += 1u;
    }
    return q;
}


@compute @workgroup_size(16, 16)
fn paint(@builtin(global_invocation_id) gid: vec3<u32>) {
    let size = io_size();
    if any(gid.xy >= size) {
        return;
    }
    let p = vec2<i32>(gid.xy);
    let label = load_label(p);
    var out = load_value(p);
    if label < n_labels() {
        let base = label * WORDS;
        let n = atomicLoad(&table[base]);
        for (var c = 0u; c < CHANNELS; c++) {
            let lo = atomicLoad(&table[base + 1u + 2u * c]);
            let hi = atomicLoad(&table[base + 2u + 2u * c]);
            out[c] = f32(rounded_mean(hi, lo, n));
        }
    }
    store_out(p, out / 255.0);
}
