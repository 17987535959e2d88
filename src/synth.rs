//! Deterministic synthetic images for benchmarks and tests, shaped like the
//! peers' generators (../shared/peers/common.py): a coarse random grid
//! upscaled with bicubic interpolation plus Gaussian noise ("photo-like"),
//! and uniform noise.

use rayon::prelude::*;

use crate::array::Image;

/// SplitMix64, fixed across platforms.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Cubic convolution weight (a = -0.75, as OpenCV's INTER_CUBIC).
fn cubic(x: f64) -> f64 {
    const A: f64 = -0.75;
    let x = x.abs();
    if x <= 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A
    } else {
        0.0
    }
}

/// Source position and 4 weights for each output coordinate (pixel centres aligned).
fn taps(out: usize, src: usize) -> Vec<(isize, [f64; 4])> {
    let scale = src as f64 / out as f64;
    (0..out)
        .map(|i| {
            let x = (i as f64 + 0.5) * scale - 0.5;
            let base = x.floor();
            let t = x - base;
            let w = [cubic(1.0 + t), cubic(t), cubic(1.0 - t), cubic(2.0 - t)];
            (base as isize - 1, w)
        })
        .collect()
}

/// Smooth random field: `(h/cells) × (w/cells)` uniform values in [0, 1)
/// upscaled bicubically, plus N(0, `noise`) per value; `channels` per pixel.
#[must_use]
pub fn smooth_field(
    h: usize,
    w: usize,
    channels: usize,
    seed: u64,
    cells: usize,
    noise: f64,
) -> Vec<f32> {
    let (ch, cw) = ((h / cells).max(2), (w / cells).max(2));
    let mut rng = Rng::new(seed);
    let small: Vec<f64> = (0..ch * cw * channels).map(|_| rng.next_f64()).collect();
    let ty = taps(h, ch);
    let tx = taps(w, cw);
    let clamp = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
    let mut out = vec![0f32; h * w * channels];
    out.par_chunks_mut((w * channels).max(1))
        .enumerate()
        .for_each(|(y, row)| {
            let mut rng = Rng::new(seed ^ (0xA5A5_0000_0000 + y as u64));
            let (y0, wy) = ty[y];
            for (x, px) in row.chunks_exact_mut(channels).enumerate() {
                let (x0, wx) = tx[x];
                for (c, dst) in px.iter_mut().enumerate() {
                    let mut acc = 0.0;
                    for (j, wyj) in wy.iter().enumerate() {
                        let sy = clamp(y0 + j as isize, ch);
                        for (i, wxi) in wx.iter().enumerate() {
                            let sx = clamp(x0 + i as isize, cw);
                            acc += wyj * wxi * small[(sy * cw + sx) * channels + c];
                        }
                    }
                    *dst = (acc + noise * rng.normal()) as f32;
                }
            }
        });
    out
}

/// Photo-like RGB: the peers' `smooth_rgb` (64-pixel cells, noise σ = 6 of 255).
#[must_use]
pub fn smooth_rgb(h: usize, w: usize, seed: u64) -> Image<u8> {
    let field = smooth_field(h, w, 3, seed, 64, 6.0 / 255.0);
    let data = field
        .par_iter()
        .map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect();
    Image::from_vec(data, h, w, 3).unwrap_or_else(|_| unreachable!("shape matches"))
}

/// Uniform random RGB.
#[must_use]
pub fn uniform_rgb(h: usize, w: usize, seed: u64) -> Image<u8> {
    let mut data = vec![0u8; h * w * 3];
    data.par_chunks_mut(1 << 16)
        .enumerate()
        .for_each(|(i, chunk)| {
            let mut rng = Rng::new(seed ^ ((i as u64) << 20));
            for c in chunk.chunks_mut(8) {
                let bits = rng.next_u64().to_le_bytes();
                c.copy_from_slice(&bits[..c.len()]);
            }
        });
    Image::from_vec(data, h, w, 3).unwrap_or_else(|_| unreachable!("shape matches"))
}

/// Photo-like float greyscale in about [0, 1] (the peers' `smooth_float`).
#[must_use]
pub fn smooth_grey_f32(h: usize, w: usize, seed: u64) -> Image<f32> {
    let data = smooth_field(h, w, 1, seed, 64, 0.02);
    Image::from_vec(data, h, w, 1).unwrap_or_else(|_| unreachable!("shape matches"))
}

/// Photo-like float RGB in about [0, 1] (the peers' `smooth_float` with 3 channels).
#[must_use]
pub fn smooth_rgb_f32(h: usize, w: usize, seed: u64) -> Image<f32> {
    let data = smooth_field(h, w, 3, seed, 64, 0.02);
    Image::from_vec(data, h, w, 3).unwrap_or_else(|_| unreachable!("shape matches"))
}

/// Superpixel-like labels: the Voronoi cells of about `m` seeds, one seed
/// jittered inside each cell of a square grid, each pixel labelled with the
/// nearest seed of its own and the 8 neighbouring grid cells. Label values
/// are a random permutation of `0..cells`, so neighbours are not consecutive
/// (as the peers' KD-tree Voronoi labels of random seeds).
#[must_use]
pub fn voronoi_labels(h: usize, w: usize, m: usize, seed: u64) -> Vec<u32> {
    let step = (((h * w) as f64 / m.max(1) as f64).sqrt().ceil() as usize).max(1);
    let (gh, gw) = (h.div_ceil(step).max(1), w.div_ceil(step).max(1));
    let mut rng = Rng::new(seed);
    let seeds: Vec<(f64, f64)> = (0..gh * gw)
        .map(|i| {
            let (gy, gx) = ((i / gw) as f64, (i % gw) as f64);
            let s = step as f64;
            ((gy + rng.next_f64()) * s, (gx + rng.next_f64()) * s)
        })
        .collect();
    // Fisher–Yates: label of cell i is perm[i].
    let mut perm: Vec<u32> = (0..(gh * gw) as u32).collect();
    for i in (1..perm.len()).rev() {
        perm.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    let mut out = vec![0u32; h * w];
    out.par_chunks_mut(w.max(1))
        .enumerate()
        .for_each(|(y, row)| {
            let gy = y / step;
            for (x, dst) in row.iter_mut().enumerate() {
                let gx = x / step;
                let mut best = (f64::INFINITY, 0usize);
                for cy in gy.saturating_sub(1)..(gy + 2).min(gh) {
                    for cx in gx.saturating_sub(1)..(gx + 2).min(gw) {
                        let (sy, sx) = seeds[cy * gw + cx];
                        let d = (sy - y as f64).powi(2) + (sx - x as f64).powi(2);
                        if d < best.0 {
                            best = (d, cy * gw + cx);
                        }
                    }
                }
                *dst = perm[best.1];
            }
        });
    out
}

/// `k` random colours of `channels` 8-bit values.
#[must_use]
pub fn random_palette(k: usize, channels: usize, seed: u64) -> Vec<u16> {
    let mut rng = Rng::new(seed);
    (0..k * channels)
        .map(|_| (rng.next_u64() % 256) as u16)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_weights_sum_to_one() {
        for t in [0.0, 0.25, 0.5, 0.9] {
            let s: f64 = [cubic(1.0 + t), cubic(t), cubic(1.0 - t), cubic(2.0 - t)]
                .iter()
                .sum();
            assert!((s - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn generators_are_deterministic() {
        assert_eq!(smooth_rgb(37, 53, 1), smooth_rgb(37, 53, 1));
        assert_eq!(uniform_rgb(5, 7, 2), uniform_rgb(5, 7, 2));
    }
}
