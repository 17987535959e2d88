// gpix shared WGSL helpers, prepended to every kernel (concat!/include_str!).
// A kernel that includes this file declares `pixels` (its packed values) and
// the override `MODE` (0: u8 values, four per word; 1: u16 values, two per
// word; otherwise one 32-bit value per word).

// Value number `i` of the band (channel-interleaved order).
fn value(i: u32) -> u32 {
    if MODE == 0u {
        return (pixels[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
    }
    if MODE == 1u {
        return (pixels[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu;
    }
    return pixels[i];
}

