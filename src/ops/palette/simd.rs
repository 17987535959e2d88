//! Eight RGB pixels at a time with AVX2 (x86-64, chosen at run time): the
//! same compact grid as the scalar loop — cell number, three inline
//! candidates, three squared distances, strict `<` so ties keep the lowest
//! index — with the table and palette reads done as gathers and the
//! distances as 16-bit differences squared and summed by `madd`.
//! Cells tagged as holding more than three candidates fall back, per lane,
//! to their full list, packed in one array next to its colours. The table
//! entries of 512 pixels are gathered before any distance is computed, so
//! their cache misses overlap.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::PaletteIndex;

/// Eight-pixel groups whose table entries are gathered ahead of their
/// distances (64 groups = 512 pixels, 2 KiB of entries).
const GROUPS: usize = 64;

/// Whether this CPU can run [`apply_rgb8`].
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// Nearest indices of 8-bit RGB `pixels` (3 bytes each) into `out`.
///
/// `cells` has `1 << (3 · bits)` entries: three candidate indices (ascending)
/// and a zero tag byte, or a 24-bit word offset into `long` and a non-zero
/// tag (see `PackedCells` in cpu.rs); `colors[i]` is palette colour `i`
/// packed as `r | g << 8 | b << 16`, for the `palette_len` colours.
pub(super) fn apply_rgb8<I: PaletteIndex>(
    cells: &[[u8; 4]],
    bits: u32,
    colors: &[u32; 256],
    palette_len: usize,
    pixels: &[u8],
    out: &mut [I],
    long: &[u32],
) {
    assert!(available(), "AVX2 path called without AVX2");
    assert_eq!(cells.len(), 1usize << (3 * bits), "cell table size");
    assert!((1..=8).contains(&bits));
    // SAFETY: AVX2 is present (asserted); every gather index is in range:
    // cell numbers are < 2^(3·bits) = cells.len() (each channel contributes
    // `bits` bits of an 8-bit value), candidate indices are bytes and
    // `colors` has 256 entries; pixel loads stay inside `pixels` (the loop
    // leaves the last pixels, whose 16-byte loads would overrun, to the
    // scalar tail).
    unsafe { apply_rgb8_avx2(cells, bits, colors, palette_len, pixels, out, long) }
}

#[target_feature(enable = "avx2")]
unsafe fn apply_rgb8_avx2<I: PaletteIndex>(
    cells: &[[u8; 4]],
    bits: u32,
    colors: &[u32; 256],
    palette_len: usize,
    pixels: &[u8],
    out: &mut [I],
    long: &[u32],
) {
    let n = out.len().min(pixels.len() / 3);
    let shift = _mm_cvtsi32_si128((8 - bits) as i32);
    let (s_r, s_g) = (
        _mm_cvtsi32_si128(2 * bits as i32),
        _mm_cvtsi32_si128(bits as i32),
    );
    let byte = _mm256_set1_epi32(0xff);
    // Byte k·3 + ch of each 128-bit half into 32-bit lane k.
    let pick = |ch: i8| {
        let z = -1i8;
        _mm256_setr_epi8(
            ch,
            z,
            z,
            z,
            3 + ch,
            z,
            z,
            z,
            6 + ch,
            z,
            z,
            z,
            9 + ch,
            z,
            z,
            z, //
            ch,
            z,
            z,
            z,
            3 + ch,
            z,
            z,
            z,
            6 + ch,
            z,
            z,
            z,
            9 + ch,
            z,
            z,
            z,
        )
    };
    let (pr, pg, pb) = (pick(0), pick(1), pick(2));
    let cells_ptr = cells.as_ptr().cast::<i32>();
    let colors_ptr = colors.as_ptr().cast::<i32>();
    // Palettes of at most 16 colours live in two registers: two permutes
    // and a blend replace each colour gather.
    let small = palette_len <= 16;
    let lo_cols = _mm256_loadu_si256(colors.as_ptr().cast());
    let hi_cols = _mm256_loadu_si256(colors.as_ptr().add(8).cast());
    let seven = _mm256_set1_epi32(7);
    let mut lanes = [0i32; 8];
    let mut entries = [_mm256_setzero_si256(); GROUPS];
    // Groups of eight pixels starting at j need bytes 3j..3j+28 (the second
    // 16-byte load reads bytes 3j+12..3j+28).
    let groups_total = if pixels.len() >= 28 {
        (n / 8).min((pixels.len() - 28) / 24 + 1)
    } else {
        0
    };
    let mut group = 0;
    while group < groups_total {
        let count = (groups_total - group).min(GROUPS);
        // Pass 1: the table entries of the whole chunk. The gathers do not
        // depend on one another, so the core keeps several cache misses in
        // flight (the 2^18-cell table is larger than L2); interleaving them
        // with the distance work below held only one or two.
        for (k, slot) in entries.iter_mut().take(count).enumerate() {
            let (r, g, b) = load_rgb(pixels.as_ptr().add(24 * (group + k)), pr, pg, pb);
            let cell = _mm256_or_si256(
                _mm256_or_si256(
                    _mm256_sll_epi32(_mm256_srl_epi32(r, shift), s_r),
                    _mm256_sll_epi32(_mm256_srl_epi32(g, shift), s_g),
                ),
                _mm256_srl_epi32(b, shift),
            );
            *slot = _mm256_i32gather_epi32::<4>(cells_ptr, cell);
        }
        // Pass 2: three candidate distances per pixel.
        for (k, &e) in entries.iter().take(count).enumerate() {
            let i = 8 * (group + k);
            let (r, g, b) = load_rgb(pixels.as_ptr().add(3 * i), pr, pg, pb);
            // Pixel as 16-bit pairs: (r, g) and (b, 0).
            let prg = _mm256_or_si256(r, _mm256_slli_epi32(g, 16));
            let dist = |c: __m256i| {
                let col = if small {
                    _mm256_blendv_epi8(
                        _mm256_permutevar8x32_epi32(lo_cols, c),
                        _mm256_permutevar8x32_epi32(hi_cols, c),
                        _mm256_cmpgt_epi32(c, seven),
                    )
                } else {
                    _mm256_i32gather_epi32::<4>(colors_ptr, c)
                };
                distance(col, prg, b, byte)
            };
            let c0 = _mm256_and_si256(e, byte);
            let c1 = _mm256_and_si256(_mm256_srli_epi32(e, 8), byte);
            let c2 = _mm256_and_si256(_mm256_srli_epi32(e, 16), byte);
            let (mut best, mut best_d) = (c0, dist(c0));
            let d1 = dist(c1);
            let m1 = _mm256_cmpgt_epi32(best_d, d1);
            best = _mm256_blendv_epi8(best, c1, m1);
            best_d = _mm256_min_epi32(best_d, d1);
            let d2 = dist(c2);
            best = _mm256_blendv_epi8(best, c2, _mm256_cmpgt_epi32(best_d, d2));
            _mm256_storeu_si256(lanes.as_mut_ptr().cast(), best);
            let tags = _mm256_srli_epi32(e, 24);
            let tagged = _mm256_testz_si256(tags, tags) == 0;
            let o: &mut [I; 8] = (&mut out[i..i + 8])
                .try_into()
                .unwrap_or_else(|_| unreachable!("eight lanes"));
            for (dst, &v) in o.iter_mut().zip(&lanes) {
                *dst = I::from_index(v as usize);
            }
            if tagged {
                let mut words = [0u32; 8];
                _mm256_storeu_si256(words.as_mut_ptr().cast(), e);
                for (l, &entry) in words.iter().enumerate().filter(|(_, &v)| v >> 24 != 0) {
                    let offset = (entry & 0x00ff_ffff) as usize;
                    out[i + l] = I::from_index(usize::from(nearest_in_list(
                        long,
                        offset,
                        rgb(pixels, i + l),
                    )));
                }
            }
        }
        group += count;
    }
    let i = 8 * groups_total;
    // The tail, one pixel at a time through the same table.
    for (j, dst) in out.iter_mut().enumerate().take(n).skip(i) {
        let px = rgb(pixels, j);
        let cell = px
            .iter()
            .fold(0usize, |c, &v| (c << bits) | usize::from(v >> (8 - bits)));
        let e = cells[cell];
        let idx = if e[3] != 0 {
            nearest_in_list(long, u32::from_le_bytes([e[0], e[1], e[2], 0]) as usize, px)
        } else {
            let d = |k: u8| {
                let c = colors[usize::from(k)];
                (0..3)
                    .map(|ch| {
                        let diff = i32::from(px[ch]) - ((c >> (8 * ch)) & 0xff) as i32;
                        diff * diff
                    })
                    .sum::<i32>()
            };
            let (mut best, mut best_d) = (e[0], d(e[0]));
            for &k in &e[1..3] {
                let dk = d(k);
                if dk < best_d {
                    best = k;
                    best_d = dk;
                }
            }
            u16::from(best)
        };
        *dst = I::from_index(usize::from(idx));
    }
}

/// The nearest candidate of the packed list at word `offset` of `long`
/// (its length, then `r | g << 8 | b << 16 | index << 24` per candidate in
/// ascending index order); strict `<` keeps the lowest index on ties.
#[inline]
fn nearest_in_list(long: &[u32], offset: usize, px: [u16; 3]) -> u16 {
    let len = long[offset] as usize;
    let (p0, p1, p2) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
    let mut best = (i32::MAX, 0u16);
    for &w in &long[offset + 1..offset + 1 + len] {
        let d0 = p0 - (w & 0xff) as i32;
        let d1 = p1 - ((w >> 8) & 0xff) as i32;
        let d2 = p2 - ((w >> 16) & 0xff) as i32;
        let d = d0 * d0 + d1 * d1 + d2 * d2;
        if d < best.0 {
            best = (d, (w >> 24) as u16);
        }
    }
    best.1
}

/// The eight pixels at `p` (24 bytes, 28 readable) split into channel
/// lanes with the byte shuffles `pr`, `pg`, `pb`.
#[inline(always)]
unsafe fn load_rgb(
    p: *const u8,
    pr: __m256i,
    pg: __m256i,
    pb: __m256i,
) -> (__m256i, __m256i, __m256i) {
    let lo = _mm_loadu_si128(p.cast());
    let hi = _mm_loadu_si128(p.add(12).cast());
    let both = _mm256_set_m128i(hi, lo);
    (
        _mm256_shuffle_epi8(both, pr),
        _mm256_shuffle_epi8(both, pg),
        _mm256_shuffle_epi8(both, pb),
    )
}

/// Squared distances from the pixels (`prg` = r | g << 16, `b`) to the
/// packed colours `col`.
#[inline(always)]
unsafe fn distance(col: __m256i, prg: __m256i, b: __m256i, byte: __m256i) -> __m256i {
    let crg = _mm256_or_si256(
        _mm256_and_si256(col, byte),
        _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(col, 8), byte), 16),
    );
    let cb = _mm256_and_si256(_mm256_srli_epi32(col, 16), byte);
    let d_rg = _mm256_sub_epi16(prg, crg);
    let d_b = _mm256_sub_epi16(b, cb);
    _mm256_add_epi32(_mm256_madd_epi16(d_rg, d_rg), _mm256_madd_epi16(d_b, d_b))
}

fn rgb(pixels: &[u8], i: usize) -> [u16; 3] {
    [
        u16::from(pixels[3 * i]),
        u16::from(pixels[3 * i + 1]),
        u16::from(pixels[3 * i + 2]),
    ]
}

/// The float-level fast path's constants (see `LevelFastPath` in cpu.rs),
/// as AVX2 registers.
pub(super) struct LevelLanes {
    /// The midpoints between consecutive sorted levels, in f32.
    mids: Vec<f32>,
    /// Palette index of sorted level p, for p in 0..=16, in three registers.
    index: [[u32; 8]; 3],
    max_abs: f32,
    min_gap: f32,
}

impl LevelLanes {
    /// `mids`: at most 16 midpoints; `index[p]` the answer for a pixel with
    /// `p` midpoints below it.
    pub(super) fn new(mids: &[f32], index: &[u16], max_abs: f32, min_gap: f32) -> Self {
        assert!(mids.len() <= 16 && index.len() == mids.len() + 1);
        let mut table = [[0u32; 8]; 3];
        for (p, &i) in index.iter().enumerate() {
            table[p / 8][p % 8] = u32::from(i);
        }
        Self {
            mids: mids.to_vec(),
            index: table,
            max_abs,
            min_gap,
        }
    }
}

/// Nearest-level indices of f32 pixels, eight at a time, deciding a lane
/// exactly as `LevelFastPath::nearest_lanes` does (the same f32 operations,
/// so the same answers); lanes it cannot decide, and the last `len % 8`
/// pixels, go to `exact` (one pixel's exact answer).
pub(super) fn apply_levels_f32<I: PaletteIndex>(
    lanes: &LevelLanes,
    pixels: &[f32],
    out: &mut [I],
    exact: impl Fn(f32) -> u16,
) {
    assert!(available(), "AVX2 path called without AVX2");
    // SAFETY: AVX2 is present (asserted); loads and stores stay inside
    // `pixels` and `out` (whole groups of eight only).
    unsafe { apply_levels_f32_avx2(lanes, pixels, out, exact) }
}

#[target_feature(enable = "avx2")]
unsafe fn apply_levels_f32_avx2<I: PaletteIndex>(
    lanes: &LevelLanes,
    pixels: &[f32],
    out: &mut [I],
    exact: impl Fn(f32) -> u16,
) {
    let n = pixels.len().min(out.len());
    let mids: Vec<__m256> = lanes.mids.iter().map(|&m| _mm256_set1_ps(m)).collect();
    let abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
    let scale = _mm256_set1_ps((1.0 / (1u64 << 20) as f64) as f32);
    let max_abs = _mm256_set1_ps(lanes.max_abs);
    let min_gap = _mm256_set1_ps(lanes.min_gap);
    let table = lanes
        .index
        .map(|t| _mm256_loadu_si256(t.as_ptr().cast::<__m256i>()));
    let (seven, fifteen) = (_mm256_set1_epi32(7), _mm256_set1_epi32(15));
    let mut picked = [0u32; 8];
    let mut i = 0;
    while i + 8 <= n {
        let x = _mm256_loadu_ps(pixels.as_ptr().add(i));
        let mut count = _mm256_setzero_si256();
        let mut closest = _mm256_set1_ps(f32::INFINITY);
        for &m in &mids {
            // All-ones lanes (−1) where m < x: subtracting counts them.
            let below = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LT_OQ>(m, x));
            count = _mm256_sub_epi32(count, below);
            closest = _mm256_min_ps(closest, _mm256_and_ps(_mm256_sub_ps(x, m), abs_mask));
        }
        let tol = _mm256_mul_ps(_mm256_add_ps(_mm256_and_ps(x, abs_mask), max_abs), scale);
        // Ordered compares: NaN and huge pixels are undecided.
        let decided = _mm256_and_ps(
            _mm256_cmp_ps::<_CMP_GT_OQ>(closest, tol),
            _mm256_cmp_ps::<_CMP_LT_OQ>(tol, min_gap),
        );
        let mask = _mm256_movemask_ps(decided);
        let pick = _mm256_blendv_epi8(
            _mm256_blendv_epi8(
                _mm256_permutevar8x32_epi32(table[0], count),
                _mm256_permutevar8x32_epi32(table[1], count),
                _mm256_cmpgt_epi32(count, seven),
            ),
            table[2],
            _mm256_cmpgt_epi32(count, fifteen),
        );
        _mm256_storeu_si256(picked.as_mut_ptr().cast(), pick);
        let o: &mut [I; 8] = (&mut out[i..i + 8])
            .try_into()
            .unwrap_or_else(|_| unreachable!("eight lanes"));
        for (dst, &v) in o.iter_mut().zip(&picked) {
            *dst = I::from_index(v as usize);
        }
        if mask != 0xff {
            for l in (0..8).filter(|l| mask & (1 << l) == 0) {
                o[l] = I::from_index(usize::from(exact(pixels[i + l])));
            }
        }
        i += 8;
    }
    for (dst, &x) in out[i..n].iter_mut().zip(&pixels[i..n]) {
        *dst = I::from_index(usize::from(exact(x)));
    }
}

/// Nearest indices of 8-bit grey pixels whose answer table (by value) is at
/// most 16 runs of equal answers, as it is for up to 16 grey levels (each
/// level wins one interval of values): 32 pixels per step count the run
/// starts at or below them with byte compares, and a byte shuffle maps the
/// run number to its answer. `starts[j]` is the first value of run `j + 1`
/// (ascending, so at least 1), `answers[j]` the answer of run `j`.
pub(super) fn apply_runs_u8(starts: &[u8], answers: &[u8], pixels: &[u8], out: &mut [u8]) {
    assert!(available(), "AVX2 path called without AVX2");
    assert!(answers.len() <= 16 && starts.len() + 1 == answers.len());
    // SAFETY: AVX2 is present (asserted); loads and stores cover whole
    // 32-byte groups inside `pixels` and `out`.
    unsafe { apply_runs_u8_avx2(starts, answers, pixels, out) }
}

#[target_feature(enable = "avx2")]
unsafe fn apply_runs_u8_avx2(starts: &[u8], answers: &[u8], pixels: &[u8], out: &mut [u8]) {
    let n = pixels.len().min(out.len());
    let flip = _mm256_set1_epi8(i8::MIN);
    // x ≥ start ⇔ x > start − 1, compared as signed bytes after flipping
    // the top bit.
    let below: Vec<__m256i> = starts
        .iter()
        .map(|&s| _mm256_set1_epi8(((s - 1) ^ 0x80) as i8))
        .collect();
    let mut table = [0u8; 16];
    table[..answers.len()].copy_from_slice(answers);
    let table = _mm256_broadcastsi128_si256(_mm_loadu_si128(table.as_ptr().cast()));
    let mut i = 0;
    while i + 32 <= n {
        let x = _mm256_xor_si256(_mm256_loadu_si256(pixels.as_ptr().add(i).cast()), flip);
        let mut run = _mm256_setzero_si256();
        for &b in &below {
            // All-ones (−1) where the pixel is at or past the start.
            run = _mm256_sub_epi8(run, _mm256_cmpgt_epi8(x, b));
        }
        let answer = _mm256_shuffle_epi8(table, run);
        _mm256_storeu_si256(out.as_mut_ptr().add(i).cast(), answer);
        i += 32;
    }
    for (o, &x) in out[i..n].iter_mut().zip(&pixels[i..n]) {
        *o = answers[starts.iter().filter(|&&s| s <= x).count()];
    }
}
