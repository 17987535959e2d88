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
// Tiles: a workgroup of WG lanes owns TILE = WG · STEPS consecutive pixels
// and reads them in STEPS rounds of WG consecutive pixels, lane i reading
// pixel i of the round, so the lanes of a round read one contiguous span of
// labels and values (coalesced), and each lane reads all of its pixel's
// channels once, in GROUP-channel groups held in registers.
//
// Privatisation: the workgroup first inserts the rows its labels map to in
// a hash table in workgroup memory (SLOTS keys, SLOT_WORDS totals each).
// When every row fits, lanes add runs of equal rows (a lane's pixels WG
// apart, equal in any region wider than WG) to the table with workgroup
// atomics and the table is added to global memory once per workgroup: one
// global update per row met per TILE pixels, however few labels the map
// has. When the rows do not fit (a fragmented map with more labels per tile
// than slots), each round is reduced by segments instead: lanes stage their
// pixel's row and values in workgroup memory and the first lane of every run
// of equal rows sums the run and adds it to global memory, so atomics are
// per segment of consecutive pixels, not per pixel. Rows come from the label
// by `label − offset` (dense) or a binary search in the sorted distinct
// labels `keys` (sparse, n_keys > 0), once per change of label along a lane.
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
// Work per pixel: one label read, C value reads, C + 1 register adds and, at
// a change of row along a lane, C + 1 workgroup atomics (table) or a staged
// segment sum (segments); global atomics: 3 · (C + 1) per row met per tile
// (table) or per segment (segments), plus C per row for floats' exponents.

override MODE: u32 = 0u;
override CHANNELS: u32 = 3u;
override LABELS_PER_WORD: u32 = 1u;
override OUT_BYTES: u32 = 4u;
// The workgroup table (set by the host from the device's workgroup memory):
// SLOTS keys, then SLOT_WORDS words per slot; SCRATCH words in all, at least
// what the segment staging needs (WG + WG · GROUP · 2).
override SLOTS: u32 = 256u;
override SLOT_WORDS: u32 = 4u;
override SCRATCH: u32 = 2304u;

const WG: u32 = 256u;
const STEPS: u32 = 16u;
// Channels summed per pass over a lane's pixels (register accumulators).
const GROUP: u32 = 4u;
const NO_ROW: u32 = 0xffffffffu;
const EMPTY: u32 = 0xffffffffu;
// Probes before an insertion gives up and the tile takes the segment path.
const MAX_PROBES: u32 = 32u;
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

// Table mode: keys in [0, SLOTS), slot s's words at SLOTS + s · SLOT_WORDS.
// Segment mode: the round's rows in [0, WG), staged values after them.
var<workgroup> scratch: array<atomic<u32>, SCRATCH>;
var<workgroup> overflowed: atomic<u32>;
var<workgroup> table_full: u32;

// Per lane: the row and table slot of each of its STEPS pixels.
var<private> rows: array<u32, STEPS>;
var<private> slots: array<u32, STEPS>;

// Words per table total: sums of at most TILE 8- or 16-bit values fit one
// word (4096 · 65535 < 2^32); others take 96 bits.
fn table_words() -> u32 {
    return select(3u, 1u, MODE < 2u);
}

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

fn thread_id(wg: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
    return (wg.y * groups.x + wg.x) * WG + local;
}

// The first pixel of the workgroup's tile.
fn tile_start(wg: vec3<u32>, groups: vec3<u32>) -> u32 {
    return (wg.y * groups.x + wg.x) * WG * STEPS;
}

// ---- the workgroup table ---------------------------------------------------

// The slot holding `row`, inserted if new; EMPTY when no slot was found.
fn find_slot(row: u32) -> u32 {
    if SLOTS == 0u {
        return EMPTY;
    }
    // max(): SLOTS 0 must not fold into a division by zero.
    var h = (row * 0x9e3779b1u) % max(SLOTS, 1u);
    for (var probe = 0u; probe < MAX_PROBES; probe++) {
        let seen = atomicLoad(&scratch[h]);
        if seen == row {
            return h;
        }
        if seen == EMPTY {
            let r = atomicCompareExchangeWeak(&scratch[h], EMPTY, row);
            if r.exchanged {
                // Nobody adds to the slot before the barrier that ends
                // the insertions.
                for (var w = 0u; w < SLOT_WORDS; w++) {
                    atomicStore(&scratch[SLOTS + h * SLOT_WORDS + w], 0u);
                }
                return h;
            }
            if r.old_value == row {
                return h;
            }
            if r.old_value == EMPTY {
                // A weak exchange may fail spuriously: the same slot again.
                continue;
            }
        }
        h = select(h + 1u, 0u, h + 1u == SLOTS);
    }
    return EMPTY;
}

// Reads the lane's labels, maps them to rows and inserts the rows in the
// table; true (uniformly) when every row of the tile found a slot.
fn build_table(base: u32, local: u32) -> bool {
    // Only the keys: a slot's words are cleared by the lane that claims it.
    for (var i = local; i < SLOTS; i += WG) {
        atomicStore(&scratch[i], EMPTY);
    }
    if local == 0u {
        atomicStore(&overflowed, 0u);
    }
    workgroupBarrier();
    var last_label = 0u;
    var last_row = NO_ROW;
    var last_slot = EMPTY;
    var known = false;
    for (var k = 0u; k < STEPS; k++) {
        let p = base + k * WG + local;
        var r = NO_ROW;
        if p < params.n_pixels {
            let l = label(p);
            if !known || l != last_label {
                known = true;
                last_label = l;
                r = row_of(l);
            } else {
                r = last_row;
            }
        }
        var s = EMPTY;
        if r != NO_ROW {
            if r == last_row {
                s = last_slot;
            } else {
                s = find_slot(r);
            }
            if s == EMPTY {
                atomicStore(&overflowed, 1u);
            }
        }
        if r != NO_ROW {
            last_row = r;
            last_slot = s;
        }
        rows[k] = r;
        slots[k] = s;
    }
    workgroupBarrier();
    if local == 0u {
        table_full = atomicLoad(&overflowed);
    }
    return workgroupUniformLoad(&table_full) == 0u;
}

// Adds a 96-bit value to workgroup words w, w + 1, w + 2 (carries atomic).
fn shared_add96(w: u32, v: vec3<u32>) {
    if v.x != 0u {
        let old = atomicAdd(&scratch[w], v.x);
        if old > 0xffffffffu - v.x {
            let mid = atomicAdd(&scratch[w + 1u], 1u);
            if mid == 0xffffffffu {
                atomicAdd(&scratch[w + 2u], 1u);
            }
        }
    }
    if v.y != 0u {
        let old = atomicAdd(&scratch[w + 1u], v.y);
        if old > 0xffffffffu - v.y {
            atomicAdd(&scratch[w + 2u], 1u);
        }
    }
    if v.z != 0u {
        atomicAdd(&scratch[w + 2u], v.z);
    }
}

// Adds total `t` (0: count, 1 + c: channel c) of table slot `s`.
fn table_add(s: u32, t: u32, v: vec3<u32>) {
    let w = SLOTS + s * SLOT_WORDS + t * table_words();
    if table_words() == 1u {
        if v.x != 0u {
            atomicAdd(&scratch[w], v.x);
        }
    } else {
        shared_add96(w, v);
    }
}

// Total `t` of table slot `s` as 96 bits.
fn table_total(s: u32, t: u32) -> vec3<u32> {
    let w = SLOTS + s * SLOT_WORDS + t * table_words();
    if table_words() == 1u {
        return vec3<u32>(atomicLoad(&scratch[w]), 0u, 0u);
    }
    return vec3<u32>(atomicLoad(&scratch[w]), atomicLoad(&scratch[w + 1u]), atomicLoad(&scratch[w + 2u]));
}

// ---- 96-bit integer arithmetic -------------------------------------------

fn add96(a: vec3<u32>, b: vec3<u32>) -> vec3<u32> {
    let x = a.x + b.x;
    let y1 = a.y + b.y;
    let y = y1 + select(0u, 1u, x < a.x);
    let z = a.z + b.z + select(0u, 1u, y1 < a.y) + select(0u, 1u, y < y1);
    return vec3<u32>(x, y, z);
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

// Element `i` of the band as raw words: the integer value, the f32 bits, or
// the f64's (lo, hi) words.
fn raw(i: u32) -> vec2<u32> {
    if MODE == 5u {
        return vec2<u32>(pixels[2u * i], pixels[2u * i + 1u]);
    }
    if MODE == 4u {
        return vec2<u32>(pixels[i], 0u);
    }
    return vec2<u32>(value(i), 0u);
}

// Raw words per staged value.
fn raw_words() -> u32 {
    return select(1u, 2u, MODE == 5u);
}

// A float's parts: exponent field, sign, special flags (0 for finite), and
// its mantissa with the implicit bit.
struct FloatParts {
    exponent: u32,
    negative: bool,
    flags: u32,
    mantissa: vec2<u32>,
}

fn float_parts(v: vec2<u32>) -> FloatParts {
    var f: FloatParts;
    if MODE == 4u {
        let bits = v.x;
        f.exponent = (bits >> 23u) & 0xffu;
        f.negative = (bits >> 31u) != 0u;
        let m = bits & 0x7fffffu;
        if f.exponent == 0xffu {
            f.flags = select(select(HAS_POS_INF, HAS_NEG_INF, f.negative), HAS_NAN, m != 0u);
        }
        f.mantissa = vec2<u32>(m | select(0u, 0x800000u, f.exponent != 0u), 0u);
    } else {
        let lo = v.x;
        let hi = v.y;
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

// A value as the 96-bit two's-complement number the totals add: integers as
// they are, floats in their row's fixed point.
fn value96(v: vec2<u32>, row_exp: u32) -> vec3<u32> {
    if MODE >= 4u {
        return fixed96(float_parts(v), row_exp);
    }
    if MODE == 2u {
        let s = select(0u, 0xffffffffu, i32(v.x) < 0);
        return vec3<u32>(v.x, s, s);
    }
    return vec3<u32>(v.x, 0u, 0u);
}

// The largest exponent fields of row `r`'s channels c0 .. c0 + GROUP.
fn row_exps(r: u32, c0: u32) -> vec4<u32> {
    var e = vec4<u32>(0u);
    for (var j = 0u; j < GROUP && c0 + j < CHANNELS; j++) {
        e[j] = atomicLoad(&exps[(r * CHANNELS + c0 + j) * 2u]);
    }
    return e;
}

// ---- exponents (floats' first sweep) -------------------------------------

@compute @workgroup_size(256)
fn exponents(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let base = tile_start(wg, groups);
    let table = build_table(base, local);
    exponents_of_runs(base, local, table);
    workgroupBarrier();
    if table {
        flush_table_exponents(local);
    }
}

// Each lane's runs of equal rows, per channel group: the largest exponent
// field and the special flags, merged into the table (or global memory).
fn exponents_of_runs(base: u32, local: u32, table: bool) {
    for (var c0 = 0u; c0 < CHANNELS; c0 += GROUP) {
        var key = EMPTY;
        var row = NO_ROW;
        var e = vec4<u32>(0u);
        var flags = vec4<u32>(0u);
        for (var k = 0u; k < STEPS; k++) {
            let r = rows[k];
            if r == NO_ROW {
                continue;
            }
            let s = select(r, slots[k], table);
            if s != key {
                exponent_run(table, key, row, c0, e, flags);
                key = s;
                row = r;
                e = vec4<u32>(0u);
                flags = vec4<u32>(0u);
            }
            let p = base + k * WG + local;
            for (var j = 0u; j < GROUP && c0 + j < CHANNELS; j++) {
                let f = float_parts(raw(p * CHANNELS + c0 + j));
                flags[j] |= f.flags;
                if f.flags == 0u {
                    e[j] = max(e[j], f.exponent);
                }
            }
        }
        exponent_run(table, key, row, c0, e, flags);
    }
}

fn exponent_run(table: bool, key: u32, row: u32, c0: u32, e: vec4<u32>, flags: vec4<u32>) {
    if key == EMPTY {
        return;
    }
    for (var j = 0u; j < GROUP && c0 + j < CHANNELS; j++) {
        if table {
            let w = SLOTS + key * SLOT_WORDS + (c0 + j) * 2u;
            if e[j] > atomicLoad(&scratch[w]) {
                atomicMax(&scratch[w], e[j]);
            }
            if flags[j] != 0u {
                atomicOr(&scratch[w + 1u], flags[j]);
            }
        } else {
            merge_exponent((row * CHANNELS + c0 + j) * 2u, e[j], flags[j]);
        }
    }
}

fn flush_table_exponents(local: u32) {
    for (var s = local; s < SLOTS; s += WG) {
        let r = atomicLoad(&scratch[s]);
        if r == EMPTY {
            continue;
        }
        for (var c = 0u; c < CHANNELS; c++) {
            let w = SLOTS + s * SLOT_WORDS + c * 2u;
            merge_exponent((r * CHANNELS + c) * 2u, atomicLoad(&scratch[w]), atomicLoad(&scratch[w + 1u]));
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

// ---- sums ------------------------------------------------------------------

@compute @workgroup_size(256)
fn sums(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let base = tile_start(wg, groups);
    let table = build_table(base, local);
    if table {
        sums_into_table(base, local);
    } else {
        sums_by_segments(base, local);
    }
    workgroupBarrier();
    if table {
        flush_table_sums(local);
    }
}

// Table mode: each lane's runs of equal rows summed in registers, one
// channel group at a time, then added to the row's slot.
fn sums_into_table(base: u32, local: u32) {
    for (var c0 = 0u; c0 < CHANNELS; c0 += GROUP) {
        var slot = EMPTY;
        var n = 0u;
        var acc: array<vec3<u32>, GROUP>;
        var e = vec4<u32>(0u);
        for (var k = 0u; k < STEPS; k++) {
            let s = slots[k];
            if s == EMPTY {
                continue;
            }
            if s != slot {
                table_run(slot, c0, n, acc);
                slot = s;
                n = 0u;
                acc = array<vec3<u32>, GROUP>();
                if MODE >= 4u {
                    e = row_exps(rows[k], c0);
                }
            }
            n++;
            let p = base + k * WG + local;
            for (var j = 0u; j < GROUP && c0 + j < CHANNELS; j++) {
                acc[j] = add96(acc[j], value96(raw(p * CHANNELS + c0 + j), e[j]));
            }
        }
        table_run(slot, c0, n, acc);
    }
}

fn table_run(s: u32, c0: u32, n: u32, acc: array<vec3<u32>, GROUP>) {
    if s == EMPTY {
        return;
    }
    if c0 == 0u {
        table_add(s, 0u, vec3<u32>(n, 0u, 0u));
    }
    for (var j = 0u; j < GROUP && c0 + j < CHANNELS; j++) {
        table_add(s, 1u + c0 + j, acc[j]);
    }
}

fn flush_table_sums(local: u32) {
    for (var s = local; s < SLOTS; s += WG) {
        let r = atomicLoad(&scratch[s]);
        if r == EMPTY {
            continue;
        }
        for (var t = 0u; t <= CHANNELS; t++) {
            atomic_add96((r * (CHANNELS + 1u) + t) * 3u, table_total(s, t));
        }
    }
}

// Segment mode: per round of WG consecutive pixels, lanes stage their row
// and values; the first lane of each run of equal rows sums the run and adds
// it to global memory.
fn sums_by_segments(base: u32, local: u32) {
    let vw = raw_words();
    for (var c0 = 0u; c0 < CHANNELS; c0 += GROUP) {
        for (var k = 0u; k < STEPS; k++) {
            let r = rows[k];
            let p = base + k * WG + local;
            atomicStore(&scratch[local], r);
            if r != NO_ROW {
                for (var j = 0u; j < GROUP && c0 + j < CHANNELS; j++) {
                    let v = raw(p * CHANNELS + c0 + j);
                    let w = WG + (local * GROUP + j) * vw;
                    atomicStore(&scratch[w], v.x);
                    if vw == 2u {
                        atomicStore(&scratch[w + 1u], v.y);
                    }
                }
            }
            workgroupBarrier();
            if r != NO_ROW && (local == 0u || atomicLoad(&scratch[local - 1u]) != r) {
                sum_segment(local, r, c0, vw);
            }
            workgroupBarrier();
        }
    }
}

// Sums the staged run of row `r` that starts at lane `first`.
fn sum_segment(first: u32, r: u32, c0: u32, vw: u32) {
    var e = vec4<u32>(0u);
    if MODE >= 4u {
        e = row_exps(r, c0);
    }
    var acc: array<vec3<u32>, GROUP>;
    var q = first;
    while q < WG && atomicLoad(&scratch[q]) == r {
        for (var j = 0u; j < GROUP && c0 + j < CHANNELS; j++) {
            let w = WG + (q * GROUP + j) * vw;
            var v = vec2<u32>(atomicLoad(&scratch[w]), 0u);
            if vw == 2u {
                v.y = atomicLoad(&scratch[w + 1u]);
            }
            acc[j] = add96(acc[j], value96(v, e[j]));
        }
        q++;
    }
    let at = r * (CHANNELS + 1u);
    if c0 == 0u {
        atomic_add96(at * 3u, vec3<u32>(q - first, 0u, 0u));
    }
    for (var j = 0u; j < GROUP && c0 + j < CHANNELS; j++) {
        atomic_add96((at + 1u + c0 + j) * 3u, acc[j]);
    }
}

// ---- recolour --------------------------------------------------------------

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
