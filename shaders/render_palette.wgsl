// gpix.render.palette: nearest palette colour of every texel of a texture.
//
// Exact like gpix.palette: in byte units (8-bit inputs) every squared
// distance is an integer below 2^24, so f32 holds it exactly; entries are
// visited in order and only a strictly smaller distance wins, so ties go to
// the lowest index. Float inputs compare f32 squared distances.
//
// Bindings (group 0):
//   0 input      texture or buffer (io.rs)
//   1 palette    storage array<vec4<f32>>, colours in the pass's units;
//                with DITHER, COLORS colours then the 64 ordered-dither
//                offsets (16 vec4, row-major over the 8×8 Bayer tile)
//   2 index_out  r32uint storage texture or u32 buffer, when wanted
//   3 output     colour storage texture or buffer, when wanted
//
// The palette streams through workgroup memory in tiles of 256 entries, one
// load per invocation per tile. Per texel and entry: 4 subtractions, a dot
// product and a compare; global memory: one texel in, one texel (or two) out.

override CHANNELS: u32 = 4u;       // leading channels compared (1..=4)
override OUT_SCALE: f32 = 1.0;     // palette units -> stored colour (1/255 for bytes)
// Ordered dithering (byte units): each compared colour channel but alpha
// gets its integer Bayer offset and is clamped to 0..=255 before the search,
// exactly as the library's `Dither::Ordered` does on the host.
override DITHER: bool = false;
override COLORS: u32 = 0u;         // palette entries when DITHER (0: the whole buffer)

const WG: u32 = 256u;

@group(0) @binding(1) var<storage, read> palette: array<vec4<f32>>;

var<workgroup> tile: array<vec4<f32>, WG>;

fn distance(a: vec4<f32>, b: vec4<f32>) -> f32 {
    let mask = select(vec4<f32>(0.0), vec4<f32>(1.0), vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(CHANNELS));
    let d = (a - b) * mask;
    return dot(d, d);
}

// Index of the entry nearest to the texel at `p` (every invocation of the
// workgroup must call this: it loads tiles between barriers).
fn search(px: vec4<f32>, local: u32) -> u32 {
    let k = select(arrayLength(&palette), COLORS, COLORS > 0u);
    var best_i = 0u;
    var best_d = 0.0;
    for (var start = 0u; start < k; start += WG) {
        if start + local < k {
            tile[local] = palette[start + local];
        }
        workgroupBarrier();
        let n = min(WG, k - start);
        for (var j = 0u; j < n; j++) {
            let d = distance(px, tile[j]);
            // The first entry always wins, so a NaN texel gets index 0.
            if (start == 0u && j == 0u) || d < best_d {
                best_d = d;
                best_i = start + j;
            }
        }
        workgroupBarrier();
    }
    return best_i;
}

fn texel(gid: vec3<u32>) -> vec4<f32> {
    let size = io_size();
    let p = min(gid.xy, max(size, vec2<u32>(1u)) - 1u);
    return dithered(load_value(vec2<i32>(p)), p);
}

fn dithered(px: vec4<f32>, p: vec2<u32>) -> vec4<f32> {
    if !DITHER {
        return px;
    }
    let i = (p.y % 8u) * 8u + p.x % 8u;
    let offset = palette[COLORS + i / 4u][i % 4u];
    // Alpha (the last of 2 or 4 compared channels) is not dithered.
    let n = select(CHANNELS, CHANNELS - 1u, CHANNELS == 2u || CHANNELS == 4u);
    var out = px;
    for (var ch = 0u; ch < n; ch++) {
        out[ch] = clamp(px[ch] + offset, 0.0, 255.0);
    }
    return out;
}

fn inside(gid: vec3<u32>) -> bool {
    return all(gid.xy < io_size());
}

fn colour(i: u32, gid: vec3<u32>) -> vec4<f32> {
    // Compared channels take the palette colour; the others keep the input's.
    var out = load_value(vec2<i32>(gid.xy)) * OUT_SCALE;
    let c = palette[i] * OUT_SCALE;
    for (var ch = 0u; ch < CHANNELS; ch++) {
        out[ch] = c[ch];
    }
    return out;
}
@compute @workgroup_size(16, 16)
fn nearest(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = search(texel(gid), local);
    if inside(gid) {
        // Either store is a no-op when the caller did not ask for it.
        store_index(vec2<i32>(gid.xy), i);
        store_out(vec2<i32>(gid.xy), colour(i, gid));
    }
}
