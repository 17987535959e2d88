// gpix.label_sums: exact per-label pixel counts and per-channel value sums.
//
// Shared by k-means (labels = nearest-palette indices) and label-mean.
// Integer atomics only (WGSL has no float atomics). Every total is 64 bits,
// kept as two u32 words (low, high): an atomicAdd on the low word returns the
// old value, and when old + v wraps, the adder carries 1 into the high word.
// Each step is atomic, so the pair is exact under any interleaving.
//
// Hot labels: labels are spatially coherent (clusters, superpixels), so each
// invocation walks RUN consecutive pixels and accumulates runs of equal labels
// in registers, touching global memory once per run instead of once per
// pixel. A run of at most RUN pixels of 16-bit values sums to < 2^32.
//
// Bindings (group 0):
//   0 params  uniform  Params
//   1 pixels  storage  array<u32>   values packed as in palette.wgsl (MODE 0: u8, 1: u16, 3: u32)
//   2 labels  storage  array<u32>   LABELS_PER_WORD labels per word (4 x u8, 2 x u16, 1 x u32)
//   3 sums    storage  array<atomic<u32>>  per label: count (lo, hi), then per channel (lo, hi)
//
// Per pixel: C+1 register adds; global traffic per pixel: C value bytes +
// label bytes read, plus (C+1) x 2 atomics per run.

override MODE: u32 = 0u;
override CHANNELS: u32 = 3u;
override LABELS_PER_WORD: u32 = 4u;

const WG: u32 = 256u;
const RUN: u32 = 32u;

struct Params {
    n_pixels: u32,
    n_labels: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> sums: array<atomic<u32>>;

fn label(p: u32) -> u32 {
    if LABELS_PER_WORD == 4u {
        return (labels[p >> 2u] >> ((p & 3u) * 8u)) & 0xffu;
    }
    if LABELS_PER_WORD == 2u {
        return (labels[p >> 1u] >> ((p & 1u) * 16u)) & 0xffffu;
    }
    return labels[p];
}

fn add64(word: u32, v: u32) {
    if v == 0u {
        return;
    }
    let old = atomicAdd(&sums[word], v);
    if old > 0xffffffffu - v {
        atomicAdd(&sums[word + 1u], 1u);
    }
}

fn flush(l: u32, count: u32, acc: vec4<u32>) {
    if count == 0u || l >= params.n_labels {
        return;
    }
    let base = l * (CHANNELS + 1u) * 2u;
    add64(base, count);
    for (var c = 0u; c < CHANNELS; c++) {
        add64(base + 2u + c * 2u, acc[c]);
    }
}

@compute @workgroup_size(256)
fn label_sums(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let thread = (wg.y * groups.x + wg.x) * WG + local;
    let start = thread * RUN;
    if start >= params.n_pixels {
        return;
    }
    let end = min(start + RUN, params.n_pixels);
    var current = label(start);
    var count = 0u;
    var acc = vec4<u32>(0u);
    for (var p = start; p < end; p++) {
        let l = label(p);
        if l != current {
            flush(current, count, acc);
            current = l;
            count = 0u;
            acc = vec4<u32>(0u);
        }
        count += 1u;
        let base = p * CHANNELS;
        for (var c = 0u; c < CHANNELS; c++) {
            acc[c] += value(base + c);
        }
    }
    flush(current, count, acc);
}
