// gpix shared WGSL helper: scipy.ndimage's boundary modes, the twin of
// `gpix::boundary_index` in Rust (tests/filter.rs runs both on the same
// indices). Prepended to the filter kernels.

const MODE_REFLECT: u32 = 0u;
const MODE_MIRROR: u32 = 1u;
const MODE_NEAREST: u32 = 2u;
const MODE_WRAP: u32 = 3u;
const OUTSIDE: i32 = -1;

// i mod p in 0..p for any i. `%` is only applied to non-negative operands:
// GLSL leaves `%` of negative numbers undefined, and naga's GL backend
// passes it through.
fn floor_mod(i: i32, p: i32) -> i32 {
    if i >= 0 {
        return i % p;
    }
    return p - 1 - ((-(i + 1)) % p);
}

// The index in 0..n that position i reads, or OUTSIDE for the constant.
fn boundary_index(i: i32, n: i32, mode: u32) -> i32 {
    if n <= 0 {
        return OUTSIDE;
    }
    if i >= 0 && i < n {
        return i;
    }
    if mode == MODE_NEAREST {
        return clamp(i, 0, n - 1);
    }
    if mode == MODE_WRAP {
        return floor_mod(i, n);
    }
    if mode == MODE_REFLECT {
        let p = 2 * n;
        let k = floor_mod(i, p);
        return select(p - 1 - k, k, k < n);
    }
    if mode == MODE_MIRROR {
        if n == 1 {
            return 0;
        }
        let p = 2 * n - 2;
        let k = floor_mod(i, p);
        return select(p - k, k, k < n);
    }
    return OUTSIDE;
}
