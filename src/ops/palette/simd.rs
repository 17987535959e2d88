//! Eight RGB pixels at a time with AVX2 (x86-64, chosen at run time).
//!
//! RGB: each pixel's cell entry holds three candidate colours with their
//! palette indices (see [`WideCells`]); the entries of eight pixels are
//! loaded as 16-byte rows and transposed into three colour registers, the
//! distances are 16-bit differences squared and summed by `madd`, strict `<`
//! so ties keep the lowest index, and the index rides in the winning
//! colour's top byte (K ≤ 256; up to 4096 colours, the tag word carries
//! the high bits too; beyond, the lanes keep where the index is and read
//! it at the end, see [`IndexIn`]). One gather per eight pixels reads their cells' tag
//! words (split or not); the entries themselves are plain loads: on the
//! 2026-12-01 host (AMD EPYC, Zen 3) one eight-lane gather cost about as
//! much as the whole distance work of eight pixels, and the previous loop
//! made four per eight pixels (cell entry, then three colours); tables with
//! few split cells skip even that one (see [`GATHER_ABOVE`]). The entry
//! offsets of 512 pixels are found before any entry is read, so their cache
//! misses overlap. An entry with more than three candidates chains on to
//! continuation entries of three more each, which the lanes that need them
//! follow together (the others reload their own entry).

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::PaletteIndex;

/// Eight-pixel groups whose entry offsets are found ahead of their
/// distances (64 groups = 512 pixels).
const GROUPS: usize = 64;

/// Whether this CPU can run [`apply_rgb8`].
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// The RGB loop's table, 16 bytes per entry. The first `1 << (3 · bits)`
/// entries are the cells of a `bits`-per-channel grid; each is three
/// candidates as `r | g << 8 | b << 16 | index << 24` words (ascending index,
/// the last repeated) and a tag word:
/// - tag 0: the three words are the cell's candidates;
/// - tag in a coarse cell: the entry index of its eight children one level
///   finer (child `(r_bit << 2) | (g_bit << 1) | b_bit`, the next lower bit of
///   each channel), each a three-word entry with tag 0 or a continuation tag;
/// - tag in a child (or in a continuation): the entry index of the
///   continuation holding its next three candidates, further on in
///   `entries` (a list of n candidates takes ⌈n/3⌉ chained entries, every
///   one scanned in ascending index order).
pub(super) struct WideCells {
    bits: u32,
    entries: Vec<[u32; 4]>,
    /// Where the candidates' palette indices are.
    mode: IndexIn,
    /// With [`IndexIn::Array`], the palette index of each entry's
    /// candidates plus one entry of padding (the loop reads each answer as
    /// a 32-bit word at its 16-bit slot); empty otherwise.
    index: Vec<[u16; 4]>,
    /// The bits of a tag word that are the tag.
    tag_mask: u32,
    /// Whether more than [`GATHER_ABOVE`] of the coarse cells are split.
    crowded: bool,
}

/// Where [`WideCells`] keeps its candidates' palette indices.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum IndexIn {
    /// K ≤ 256: each colour word's top byte.
    Byte,
    /// K ≤ 4096: the low 8 bits in the colour word's top byte, the high 4
    /// bits of slot `s` at bit `NIBBLE_AT + 4·s` of the entry's tag word
    /// (tags then stay below 2^NIBBLE_AT), so the answer needs no load.
    Nibbles,
    /// Otherwise: a separate array, one quad per entry, read once per
    /// eight pixels by a gather.
    Array,
}

/// The first tag-word bit of the high index nibbles ([`IndexIn::Nibbles`]).
const NIBBLE_AT: u32 = 20;

/// The fraction of split coarse cells above which the loop finds every
/// pixel's entry up front (one tag gather per eight pixels); below it,
/// lanes go to their child only in the groups that meet a split cell.
/// Measured on this host (`gpix bench quantize`, 4000², smooth): K=16
/// (2.6 % split) 22.9/23.8/22.5 -> 21.5/21.1/19.6 ms without the gather,
/// K=256 (7.7 %) 34.7/36.5/26.2 -> 41.1/46.4/40.0 ms.
const GATHER_ABOVE: f64 = 0.05;

impl WideCells {
    /// The table, or `None` when a tag points outside `entries` or a
    /// continuation tag does not point forward (the loop reads entries
    /// unchecked and follows chains to their end, so this is checked once
    /// here).
    ///
    /// `index`: empty when every index fits the colour words' top byte
    /// (whose low byte the words always carry), else each entry's quad.
    pub(super) fn new(
        bits: u32,
        mut entries: Vec<[u32; 4]>,
        mut index: Vec<[u16; 4]>,
    ) -> Option<Self> {
        if bits > 7 || entries.len() < 1 << (3 * bits) || entries.len() > 1 << 28 {
            return None;
        }
        let fits_nibbles =
            entries.len() <= 1 << NIBBLE_AT && index.iter().all(|q| q.iter().all(|&i| i < 1 << 12));
        let mode = match index.len() {
            0 => IndexIn::Byte,
            n if n != entries.len() => return None,
            _ if fits_nibbles => IndexIn::Nibbles,
            _ => IndexIn::Array,
        };
        let tag_mask = match mode {
            IndexIn::Nibbles => (1 << NIBBLE_AT) - 1,
            _ => u32::MAX,
        };
        let tag = |e: &[u32; 4]| (e[3] & tag_mask) as usize;
        let (coarse, fine) = entries.split_at(1 << (3 * bits));
        let coarse_ok = coarse.iter().all(|e| {
            let t = tag(e);
            t == 0 || (t >= coarse.len() && t + 8 <= entries.len())
        });
        let fine_ok = fine.iter().enumerate().all(|(k, e)| {
            let t = tag(e);
            t == 0 || (t > coarse.len() + k && t < entries.len())
        });
        let split = coarse.iter().filter(|e| tag(e) != 0).count();
        let crowded = split as f64 > GATHER_ABOVE * coarse.len() as f64;
        match mode {
            IndexIn::Byte => {}
            IndexIn::Nibbles => {
                // The nibbles go above the tags: a tag reaching there is not one.
                if entries.iter().any(|e| e[3] & !tag_mask != 0) {
                    return None;
                }
                for (e, q) in entries.iter_mut().zip(&index) {
                    for (s, &i) in q[..3].iter().enumerate() {
                        e[3] |= u32::from(i >> 8) << (NIBBLE_AT + 4 * s as u32);
                    }
                }
                index = Vec::new();
            }
            IndexIn::Array => index.push([0; 4]),
        }
        (coarse_ok && fine_ok).then_some(Self {
            bits,
            entries,
            mode,
            index,
            tag_mask,
            crowded,
        })
    }

    /// Where this table keeps its indices.
    #[cfg(test)]
    pub(super) fn mode(&self) -> IndexIn {
        self.mode
    }

    /// The tag of entry `e`.
    fn tag(&self, e: &[u32; 4]) -> usize {
        (e[3] & self.tag_mask) as usize
    }

    /// How many coarse cells are split, how many finer entries chain on,
    /// and the most entries one chain spans.
    #[cfg(test)]
    pub(super) fn shape(&self) -> (usize, usize, usize) {
        let coarse = 1 << (3 * self.bits);
        let split = self.entries[..coarse]
            .iter()
            .filter(|e| self.tag(e) != 0)
            .count();
        let chained = self.entries[coarse..]
            .iter()
            .filter(|e| self.tag(e) != 0)
            .count();
        let span = |mut e: [u32; 4]| {
            let mut n = 1;
            while self.tag(&e) != 0 {
                e = self.entries[self.tag(&e)];
                n += 1;
            }
            n
        };
        let longest = self.entries[coarse..].iter().map(|&e| span(e)).max();
        (split, chained, longest.unwrap_or(0))
    }

    /// Makes the loop find entries with (`true`) or without the tag gather.
    #[cfg(test)]
    pub(super) fn set_crowded(&mut self, crowded: bool) {
        self.crowded = crowded;
    }

    /// The table's entries.
    #[cfg(test)]
    pub(super) fn entries(&self) -> &[[u32; 4]] {
        &self.entries
    }

    /// The nearest palette index of every pixel, one at a time.
    #[cfg(test)]
    pub(super) fn nearest_each(&self, pixels: &[u8]) -> Vec<u16> {
        pixels
            .chunks_exact(3)
            .map(|p| self.nearest([p[0], p[1], p[2]].map(u16::from)))
            .collect()
    }

    /// The entry for a pixel: its cell's, or its child's when the cell is split.
    /// The number of the entry for a pixel: its cell's, or its child's
    /// when the cell is split.
    #[inline(always)]
    fn resolve(&self, px: [u16; 3]) -> usize {
        let b = self.bits;
        let cell = px
            .iter()
            .fold(0usize, |c, &v| (c << b) | usize::from(v >> (8 - b)));
        match self.tag(&self.entries[cell]) {
            0 => cell,
            first => {
                let child = px
                    .iter()
                    .fold(0usize, |c, &v| (c << 1) | usize::from((v >> (7 - b)) & 1));
                first + child
            }
        }
    }

    /// The palette index of candidate `slot` of entry `at`.
    fn slot_index(&self, at: usize, slot: usize) -> u16 {
        let e = &self.entries[at];
        let low = (e[slot] >> 24) as u16;
        match self.mode {
            IndexIn::Byte => low,
            IndexIn::Nibbles => low | ((e[3] >> (NIBBLE_AT + 4 * slot as u32)) as u16 & 0xf) << 8,
            IndexIn::Array => self.index[at][slot],
        }
    }

    /// The nearest palette index of one pixel (the loop's tail and check).
    fn nearest(&self, px: [u16; 3]) -> u16 {
        let mut at = self.resolve(px);
        let mut best = (i32::MAX, 0u16);
        loop {
            let e = self.entries[at];
            for (slot, &w) in e[..3].iter().enumerate() {
                let d = word_distance(w, px);
                if d < best.0 {
                    best = (d, self.slot_index(at, slot));
                }
            }
            match self.tag(&e) {
                0 => return best.1,
                next => at = next,
            }
        }
    }
}

/// Nearest indices of 8-bit RGB `pixels` (3 bytes each) into `out`.
pub(super) fn apply_rgb8<I: PaletteIndex>(table: &WideCells, pixels: &[u8], out: &mut [I]) {
    assert!(available(), "AVX2 path called without AVX2");
    // SAFETY: AVX2 is present (asserted). Entry reads (the tag gather reads
    // word 3 of a cell's entry): a cell number is below 2^(3·bits) (each
    // channel contributes `bits` bits of an 8-bit value), a child's is a
    // coarse tag plus at most 7 and a continuation's is a finer entry's
    // tag, all in range as `WideCells::new` checked (finer tags also point
    // forward, so chains end); its 2^28-entry cap keeps byte offsets within
    // 32 bits. Pixel loads stay inside `pixels` (the loop leaves the last
    // pixels, whose 16-byte loads would overrun, to the scalar tail).
    // The index reads (with `table.index`) are at 2·(4·entry + slot) bytes
    // for an entry the same lane read, plus 4 bytes, within the padded
    // array.
    unsafe {
        const BYTE: u8 = IndexIn::Byte as u8;
        const NIBBLES: u8 = IndexIn::Nibbles as u8;
        const ARRAY: u8 = IndexIn::Array as u8;
        match (table.crowded, table.mode) {
            (true, IndexIn::Byte) => apply_rgb8_avx2::<I, true, BYTE>(table, pixels, out),
            (false, IndexIn::Byte) => apply_rgb8_avx2::<I, false, BYTE>(table, pixels, out),
            (true, IndexIn::Nibbles) => apply_rgb8_avx2::<I, true, NIBBLES>(table, pixels, out),
            (false, IndexIn::Nibbles) => apply_rgb8_avx2::<I, false, NIBBLES>(table, pixels, out),
            (true, IndexIn::Array) => apply_rgb8_avx2::<I, true, ARRAY>(table, pixels, out),
            (false, IndexIn::Array) => apply_rgb8_avx2::<I, false, ARRAY>(table, pixels, out),
        }
    }
}

/// `GATHER`: find each lane's entry in pass 1 (a tag gather per group);
/// otherwise pass 1 finds the coarse cell and pass 2 sends the lanes in
/// split cells to their child, in groups that have one. `MODE`: an
/// [`IndexIn`] as `u8`; with `Array`, each lane keeps its best candidate's
/// byte offset in `table.index`, and one gather per group reads the answers.
#[target_feature(enable = "avx2")]
unsafe fn apply_rgb8_avx2<I: PaletteIndex, const GATHER: bool, const MODE: u8>(
    table: &WideCells,
    pixels: &[u8],
    out: &mut [I],
) {
    let n = out.len().min(pixels.len() / 3);
    let bits = table.bits;
    let shift = _mm_cvtsi32_si128((8 - bits) as i32);
    let child_shift = _mm_cvtsi32_si128((7 - bits) as i32);
    let (s_r, s_g) = (
        _mm_cvtsi32_si128(2 * bits as i32),
        _mm_cvtsi32_si128(bits as i32),
    );
    let one = _mm256_set1_epi32(1);
    // Each lane's child number within its cell (the next lower bit of each
    // channel, red highest).
    let kid = |r: __m256i, g: __m256i, b: __m256i| {
        let bit = |v: __m256i| _mm256_and_si256(_mm256_srl_epi32(v, child_shift), one);
        _mm256_or_si256(
            _mm256_or_si256(_mm256_slli_epi32(bit(r), 2), _mm256_slli_epi32(bit(g), 1)),
            bit(b),
        )
    };
    let z = -1i8;
    let (pr, pg, pb) = (pick(0), pick(1), pick(2));
    // A colour word's (r, g) as 16-bit pairs, its b alone, its index byte.
    #[rustfmt::skip]
    let rg = _mm256_setr_epi8(
        0, z, 1, z, 4, z, 5, z, 8, z, 9, z, 12, z, 13, z,
        0, z, 1, z, 4, z, 5, z, 8, z, 9, z, 12, z, 13, z,
    );
    #[rustfmt::skip]
    let bb = _mm256_setr_epi8(
        2, z, z, z, 6, z, z, z, 10, z, z, z, 14, z, z, z,
        2, z, z, z, 6, z, z, z, 10, z, z, z, 14, z, z, z,
    );
    #[rustfmt::skip]
    let top = _mm256_setr_epi8(
        3, 7, 11, 15, z, z, z, z, z, z, z, z, z, z, z, z,
        3, 7, 11, 15, z, z, z, z, z, z, z, z, z, z, z, z,
    );
    let entries = table.entries.as_ptr();
    let index_ptr = table.index.as_ptr().cast::<i32>();
    let (two, four) = (_mm256_set1_epi32(2), _mm256_set1_epi32(4));
    let low16 = _mm256_set1_epi32(0xffff);
    let (nibble, nibble_up) = (_mm256_set1_epi32(0xf), _mm256_set1_epi32(0xf00));
    let tag_mask = _mm256_set1_epi32(table.tag_mask as i32);
    const NIBBLES: u8 = IndexIn::Nibbles as u8;
    const ARRAY: u8 = IndexIn::Array as u8;
    // A tag word's tag (with nibbles, its low NIBBLE_AT bits).
    let tag_of = |word: __m256i| {
        if MODE == NIBBLES {
            _mm256_and_si256(word, tag_mask)
        } else {
            word
        }
    };
    // Per group, each lane's entry as a byte offset into `entries`.
    let mut offsets = [[0u32; 8]; GROUPS];
    let tags_ptr = entries.cast::<i32>();
    let three = _mm256_set1_epi32(3);
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
        // Pass 1: the entry of every pixel of the chunk, as a byte offset,
        // so that the loads below do not wait on this arithmetic and the
        // gathers' cache misses overlap.
        for (k, slot) in offsets.iter_mut().enumerate().take(count) {
            let (r, g, b) = load_rgb(pixels.as_ptr().add(24 * (group + k)), pr, pg, pb);
            let cell = _mm256_or_si256(
                _mm256_or_si256(
                    _mm256_sll_epi32(_mm256_srl_epi32(r, shift), s_r),
                    _mm256_sll_epi32(_mm256_srl_epi32(g, shift), s_g),
                ),
                _mm256_srl_epi32(b, shift),
            );
            let entry = if GATHER {
                // The tag words of the eight cells (one gather: it also
                // brings their lines in for pass 2), then each lane's
                // entry: its cell, or its child when the cell is split.
                let tag = tag_of(_mm256_i32gather_epi32::<4>(
                    tags_ptr,
                    _mm256_or_si256(_mm256_slli_epi32(cell, 2), three),
                ));
                let whole = _mm256_cmpeq_epi32(tag, _mm256_setzero_si256());
                _mm256_blendv_epi8(_mm256_add_epi32(tag, kid(r, g, b)), cell, whole)
            } else {
                cell
            };
            // As byte offsets (WideCells::new keeps the table under 2^28
            // entries).
            _mm256_storeu_si256(slot.as_mut_ptr().cast(), _mm256_slli_epi32(entry, 4));
        }
        // Pass 2: eight entries, transposed into colour registers, then
        // three distances per pixel; lanes whose entry chains on go on to
        // its continuations (all eight lanes together, the others reloading
        // their own entry, which changes nothing).
        for (k, offset) in offsets.iter().enumerate().take(count) {
            let i = 8 * (group + k);
            let (r, g, b) = load_rgb(pixels.as_ptr().add(3 * i), pr, pg, pb);
            // Pixel as 16-bit pairs: (r, g) and (b, 0).
            let prg = _mm256_or_si256(r, _mm256_slli_epi32(g, 16));
            let dist = |c: __m256i| {
                let d_rg = _mm256_sub_epi16(prg, _mm256_shuffle_epi8(c, rg));
                let d_b = _mm256_sub_epi16(b, _mm256_shuffle_epi8(c, bb));
                _mm256_add_epi32(_mm256_madd_epi16(d_rg, d_rg), _mm256_madd_epi16(d_b, d_b))
            };
            // Candidates come in ascending index order: strict < keeps
            // the lowest index on ties, and a repeat never wins. A lane
            // keeps its best candidate's `mark`: the colour word (its top
            // byte is the index), the index (nibbles), or the byte offset
            // of its index (array).
            let closer = |(best, best_d): (__m256i, __m256i), c: __m256i, mark: __m256i| {
                let d = dist(c);
                (
                    _mm256_blendv_epi8(best, mark, _mm256_cmpgt_epi32(best_d, d)),
                    _mm256_min_epi32(best_d, d),
                )
            };
            // `at`: the entries' byte offsets; `word`: their tag words.
            let marks = |at: __m256i, c: [__m256i; 3], word: __m256i| {
                if MODE == ARRAY {
                    // Entry e's slot s is at 2·(4e + s) bytes; `at` is 16e.
                    let half = _mm256_srli_epi32(at, 1);
                    [
                        half,
                        _mm256_add_epi32(half, two),
                        _mm256_add_epi32(half, four),
                    ]
                } else if MODE == NIBBLES {
                    // Slot s's high nibble is at bit NIBBLE_AT + 4s.
                    let high = _mm256_srli_epi32::<{ NIBBLE_AT as i32 }>(word);
                    let up = [
                        _mm256_slli_epi32(_mm256_and_si256(high, nibble), 8),
                        _mm256_and_si256(_mm256_slli_epi32(high, 4), nibble_up),
                        _mm256_and_si256(high, nibble_up),
                    ];
                    std::array::from_fn(|k| _mm256_or_si256(_mm256_srli_epi32(c[k], 24), up[k]))
                } else {
                    c
                }
            };
            let [mut col0, mut col1, mut col2, mut word] = transposed_entries(entries, offset);
            let mut tags = tag_of(word);
            let mut at = _mm256_loadu_si256(offset.as_ptr().cast());
            let mut next = [0u32; 8];
            if !GATHER && _mm256_testz_si256(tags, tags) == 0 {
                // Lanes in split cells go to their child (a coarse cell's
                // tag is its first child); the others reload their own
                // entry, which changes nothing.
                let whole = _mm256_cmpeq_epi32(tags, _mm256_setzero_si256());
                let child = _mm256_slli_epi32(_mm256_add_epi32(tags, kid(r, g, b)), 4);
                at = _mm256_blendv_epi8(child, at, whole);
                _mm256_storeu_si256(next.as_mut_ptr().cast(), at);
                [col0, col1, col2, word] = transposed_entries(entries, &next);
                tags = tag_of(word);
            }
            let m = marks(at, [col0, col1, col2], word);
            let mut best = closer(closer((m[0], dist(col0)), col1, m[1]), col2, m[2]);
            if _mm256_testz_si256(tags, tags) == 0 {
                loop {
                    let done = _mm256_cmpeq_epi32(tags, _mm256_setzero_si256());
                    at = _mm256_blendv_epi8(_mm256_slli_epi32(tags, 4), at, done);
                    _mm256_storeu_si256(next.as_mut_ptr().cast(), at);
                    let [c0, c1, c2, w] = transposed_entries(entries, &next);
                    let m = marks(at, [c0, c1, c2], w);
                    best = closer(closer(closer(best, c0, m[0]), c1, m[1]), c2, m[2]);
                    tags = tag_of(w);
                    if _mm256_testz_si256(tags, tags) != 0 {
                        break;
                    }
                }
            }
            let o: &mut [I; 8] = (&mut out[i..i + 8])
                .try_into()
                .unwrap_or_else(|_| unreachable!("eight lanes"));
            if MODE != IndexIn::Byte as u8 {
                let index = if MODE == ARRAY {
                    let words = _mm256_i32gather_epi32::<1>(index_ptr, best.0);
                    _mm256_and_si256(words, low16)
                } else {
                    best.0
                };
                let mut lanes = [0u32; 8];
                _mm256_storeu_si256(lanes.as_mut_ptr().cast(), index);
                for (dst, &v) in o.iter_mut().zip(&lanes) {
                    *dst = I::from_index(v as usize);
                }
                continue;
            }
            let s = _mm256_shuffle_epi8(best.0, top);
            let packed =
                _mm_unpacklo_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s));
            let index = (_mm_cvtsi128_si64(packed) as u64).to_le_bytes();
            for (dst, &v) in o.iter_mut().zip(&index) {
                *dst = I::from_index(usize::from(v));
            }
        }
        group += count;
    }
    // The tail, one pixel at a time through the same table.
    for (j, dst) in out.iter_mut().enumerate().take(n).skip(8 * groups_total) {
        *dst = I::from_index(usize::from(table.nearest(rgb(pixels, j))));
    }
}

/// The 16-byte entries at byte offsets `at` of `entries`, transposed:
/// candidate words 0, 1, 2 and the tag words, lane `l` from entry `at[l]`.
#[inline(always)]
unsafe fn transposed_entries(entries: *const [u32; 4], at: &[u32; 8]) -> [__m256i; 4] {
    let entry = |l: usize| _mm_loadu_si128(entries.cast::<u8>().add(at[l] as usize).cast());
    let pair =
        |a: usize| _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(entry(a)), entry(a + 4));
    let (ya, yb, yc, yd) = (pair(0), pair(1), pair(2), pair(3));
    let (t0, t1) = (_mm256_unpacklo_epi32(ya, yb), _mm256_unpackhi_epi32(ya, yb));
    let (t2, t3) = (_mm256_unpacklo_epi32(yc, yd), _mm256_unpackhi_epi32(yc, yd));
    [
        _mm256_unpacklo_epi64(t0, t2),
        _mm256_unpackhi_epi64(t0, t2),
        _mm256_unpacklo_epi64(t1, t3),
        _mm256_unpackhi_epi64(t1, t3),
    ]
}

/// Byte `k·3 + ch` of each 128-bit half into 32-bit lane `k`.
#[inline(always)]
unsafe fn pick(ch: i8) -> __m256i {
    let z = -1i8;
    #[rustfmt::skip]
    let v = _mm256_setr_epi8(
        ch, z, z, z, 3 + ch, z, z, z, 6 + ch, z, z, z, 9 + ch, z, z, z,
        ch, z, z, z, 3 + ch, z, z, z, 6 + ch, z, z, z, 9 + ch, z, z, z,
    );
    v
}

/// Squared distance from `px` to the colour of word `w`.
#[inline]
fn word_distance(w: u32, px: [u16; 3]) -> i32 {
    (0..3)
        .map(|ch| {
            let d = i32::from(px[ch]) - ((w >> (8 * ch)) & 0xff) as i32;
            d * d
        })
        .sum()
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
