//! k-means palettes: k-means++-style seeding (deterministic for a seed; colour
//! seeds drawn ∝ pixels × distance^1.1, see [`COLOUR_SEED_POWER`]), then
//! Lloyd iterations of assignment + per-cluster sums. Also the refinement
//! passes of the default palette ([`refined_palette`]).
//!
//! Colour images (2–4 channels): centroids are kept as integers (exact
//! round-half-up means of exact integer sums), so every assignment is the
//! exact nearest-palette kernel and every update the exact label-sum
//! reduction. Both devices iterate over the colour histogram instead of
//! the pixels (same sums, far fewer points): the CPU assigns with its
//! candidate grid, the GPU with the exact `palette.wgsl` kernel over the
//! distinct colours uploaded once (see `gpu.rs`); the weighted sums are the
//! host's on both, so the palettes are bit-identical.
//!
//! Greyscale (1 channel, integer or float): k-means runs on the distinct
//! values, each counted once by default ([`GreyWeights::Distinct`]), so a
//! flat background cannot swallow the levels, or weighted by their pixel
//! counts ([`GreyWeights::Pixels`]), which minimises the squared error over
//! the pixels (1–3 dB better PSNR on photographs); the result is sorted
//! ascending. In 1-D, clusters of sorted values are
//! intervals, so an iteration costs O(k log n) with prefix sums; this runs on
//! the CPU for every device (it is tiny next to the image).

#[cfg(feature = "gpu")]
mod gpu;

use crate::array::ImageView;
use crate::device::Device;
use crate::error::{Error, Result};
use crate::ops::label_sums::{label_sums_cpu, LabelSums};
use crate::ops::median_cut::{
    histogram_u16, histogram_u8, median_cut_balanced, median_cut_levels, Histogram,
};
use crate::ops::palette::{
    cpu::nearest_palette_cpu, nearest_palette_reference, GreyFloat, PaletteValue,
};
use crate::palette::{Levels, Palette, MAX_PALETTE_LEN};
use crate::synth::Rng;

/// Settings of a k-means run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KMeansOptions {
    /// Number of clusters, 1..=65536.
    pub k: usize,
    /// Seed of the k-means++ draw; the same seed gives the same palette.
    pub seed: u64,
    /// Most Lloyd iterations; stops earlier once no centroid moves. Default 50.
    pub max_iter: usize,
    /// What greyscale k-means counts; colour k-means always weights each
    /// colour by its pixel count. Default [`GreyWeights::Distinct`].
    pub weights: GreyWeights,
}

/// What greyscale k-means counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GreyWeights {
    /// Each distinct value once: levels spread over the values present, so
    /// a dominant value (a flat background, a masked area, zeros in a
    /// scientific array) cannot take most levels and rare detail keeps its
    /// own. For masks, plots, sparse data, or when every value matters.
    #[default]
    Distinct,
    /// Each pixel: levels minimise the squared error over the pixels, the
    /// best PSNR for photographs and smooth images.
    Pixels,
}

impl KMeansOptions {
    /// `k` clusters with seed 0 and at most 50 iterations.
    #[must_use]
    pub fn new(k: usize) -> Self {
        Self {
            k,
            seed: 0,
            max_iter: 50,
            weights: GreyWeights::Distinct,
        }
    }

    fn check(&self) -> Result<()> {
        if self.k == 0 || self.k > MAX_PALETTE_LEN {
            return Err(Error::invalid(format!(
                "k-means needs 1 to {MAX_PALETTE_LEN} colours, not {}",
                self.k
            )));
        }
        Ok(())
    }
}

/// Colour seeds are drawn with probability ∝ pixels × distance^1.1 rather
/// than k-means++'s pixels × distance²: fewer seeds go to rare far-off
/// colours, more to dense regions. On eight photos this takes the mean
/// CIEDE2000 below libimagequant's at K = 64 and 256 (the D² draw was above
/// it at every K) for 0.06–0.12 dB of PSNR, still above libimagequant's;
/// powers 0.45 and 0.7 were worse (docs/QUANTIZE_QUALITY.md).
pub const COLOUR_SEED_POWER: f64 = 0.55;

/// Most points the k-means++ seeding looks at: seeding costs points × k.
const SEED_SAMPLE: usize = 1 << 16;

/// k-means++: the first centre uniformly (by weight), each next one with
/// probability proportional to weight × (squared distance to the nearest
/// chosen centre)^`power` (1 is the classic D² draw). Returns indices into
/// `points`; fewer than `k` when the points run out of distinct positions.
fn kmeans_pp(
    n: usize,
    k: usize,
    weight: impl Fn(usize) -> f64,
    dist2: impl Fn(usize, usize) -> f64 + Sync,
    power: f64,
    seed: u64,
) -> Vec<usize> {
    use rayon::prelude::*;
    // SplitMix64: its sequence is fixed by the seed on every platform, so the
    // palette cannot depend on a crate version.
    let mut rng = Rng::new(seed);
    let mut chosen = Vec::with_capacity(k);
    if n == 0 {
        return chosen;
    }
    let weights: Vec<f64> = (0..n).map(&weight).collect();
    let first = draw(&weights, rng.next_f64());
    chosen.push(first);
    let mut d2: Vec<f64> = (0..n).into_par_iter().map(|i| dist2(i, first)).collect();
    while chosen.len() < k {
        let scores: Vec<f64> = if power == 1.0 {
            d2.iter().zip(&weights).map(|(d, w)| d * w).collect()
        } else {
            d2.iter()
                .zip(&weights)
                .map(|(d, w)| d.powf(power) * w)
                .collect()
        };
        if scores.iter().all(|&s| s <= 0.0) {
            break; // every point coincides with a centre
        }
        let next = draw(&scores, rng.next_f64());
        chosen.push(next);
        d2.par_iter_mut()
            .enumerate()
            .for_each(|(i, d)| *d = d.min(dist2(i, next)));
    }
    chosen
}

/// Index `i` with probability `scores[i] / sum`, for `u` in [0, 1).
fn draw(scores: &[f64], u: f64) -> usize {
    let total: f64 = scores.iter().sum();
    let target = u * total;
    let mut acc = 0.0;
    let mut last_positive = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > 0.0 {
            acc += s;
            last_positive = i;
            if acc > target {
                return i;
            }
        }
    }
    last_positive
}

/// Up to [`SEED_SAMPLE`] pixels at evenly spaced positions, as distinct
/// colours with their multiplicities. Depends only on the image, so the CPU
/// and GPU paths seed identically.
fn seed_sample<T: PaletteValue>(image: &ImageView<'_, T>) -> (Vec<u16>, Vec<u64>) {
    let c = image.channels();
    let n = image.pixels();
    let step = n.div_ceil(SEED_SAMPLE).max(1);
    let mut picks: Vec<Vec<u16>> = (0..n)
        .step_by(step)
        .map(|p| {
            image.data()[p * c..(p + 1) * c]
                .iter()
                .map(|&v| v.into())
                .collect()
        })
        .collect();
    picks.sort_unstable();
    let mut colors = Vec::new();
    let mut counts: Vec<u64> = Vec::new();
    for (i, p) in picks.iter().enumerate() {
        if i > 0 && picks[i - 1] == *p {
            if let Some(last) = counts.last_mut() {
                *last += 1;
            }
        } else {
            colors.extend_from_slice(p);
            counts.push(1);
        }
    }
    (colors, counts)
}

fn squared(a: &[u16], b: &[u16]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum()
}

/// Integer centroids after one update: the rounded mean of each non-empty
/// cluster, the previous centroid for an empty one.
fn update_centroids(previous: &Palette, sums: &LabelSums) -> Result<Palette> {
    let c = previous.channels();
    let mut values = previous.values().to_vec();
    for l in 0..previous.len() {
        for ch in 0..c {
            if let Some(m) = sums.rounded_mean(l, ch) {
                values[l * c + ch] = m as u16;
            }
        }
    }
    Palette::new(c, values)
}

/// Drops clusters that ended empty and duplicates, and sorts the colours
/// lexicographically so the palette does not depend on seeding order.
fn finish_palette(palette: &Palette, sums: &LabelSums) -> Result<Palette> {
    let c = palette.channels();
    let mut colours: Vec<&[u16]> = (0..palette.len())
        .filter(|&l| sums.counts[l] > 0)
        .map(|l| palette.color(l))
        .collect();
    colours.sort_unstable();
    colours.dedup();
    Palette::new(c, colours.concat())
}

/// A k-means palette for an 8- or 16-bit image (see the module docs).
///
/// # Errors
/// [`Error::InvalidArgument`] for `k` outside 1..=65536 or an image without
/// pixels; GPU errors from the GPU path.
///
/// # Examples
/// ```
/// use gpix::{kmeans_palette, Device, ImageView, KMeansOptions};
/// let px = [0u8, 0, 0, 2, 2, 2, 250, 250, 250, 252, 252, 252];
/// let image = ImageView::new(&px, 2, 2, 3)?;
/// let palette = kmeans_palette(image, &KMeansOptions::new(2), &Device::Cpu)?;
/// assert_eq!(palette.values(), &[1, 1, 1, 251, 251, 251]);
/// # Ok::<(), gpix::Error>(())
/// ```
pub fn kmeans_palette<T: PaletteValue>(
    image: ImageView<'_, T>,
    options: &KMeansOptions,
    device: &Device,
) -> Result<Palette> {
    options.check()?;
    if image.pixels() == 0 {
        return Err(Error::invalid(
            "cannot build a palette from an image with no pixels",
        ));
    }
    if image.channels() == 1 {
        return kmeans_grey_int(image, options);
    }
    let palette = seed_palette(&image, options)?;
    // Both devices iterate over the distinct colours, weighted by their
    // pixel counts: the same sums as over the pixels, far fewer points.
    let hist = if T::BITS == 8 {
        histogram_u8(cast_view::<T, u8>(&image))
    } else {
        histogram_u16(cast_view::<T, u16>(&image))
    };
    lloyd(&hist, palette, options.max_iter, device)
}

/// Lloyd iterations over a colour histogram from a starting palette, as
/// [`kmeans_palette`] runs them after seeding: each distinct colour goes to
/// its exact nearest colour, each colour becomes the rounded mean of its
/// pixels (an empty cluster keeps its colour), until nothing moves or after
/// `max_iter` iterations (at least one). Returns the colours that kept
/// pixels, sorted, without duplicates. The same palette on every device.
///
/// # Errors
/// [`Error::InvalidArgument`] for an empty histogram or one whose channel
/// count differs from the palette's; GPU errors from the GPU path.
pub fn refine_palette(
    hist: &Histogram,
    palette: Palette,
    max_iter: usize,
    device: &Device,
) -> Result<Palette> {
    if hist.is_empty() || hist.channels != palette.channels() {
        return Err(Error::invalid(format!(
            "refining a {}-channel palette needs a non-empty histogram of as many channels",
            palette.channels()
        )));
    }
    check_histogram(hist)?;
    lloyd(hist, palette, max_iter, device)
}

/// Most pixels a refined histogram may count: the cluster sums (count ×
/// value, u64) cannot wrap below this. Images never come near it; only
/// hand-made counts can.
const MAX_REFINE_PIXELS: u64 = 1 << 47;

/// A histogram the Lloyd passes can take: one count per colour, some pixels,
/// and few enough that the sums cannot wrap.
fn check_histogram(hist: &Histogram) -> Result<()> {
    if hist.colors.len() != hist.counts.len() * hist.channels {
        return Err(Error::invalid(format!(
            "a histogram needs one count per colour: {} values of {} channels, {} counts",
            hist.colors.len(),
            hist.channels,
            hist.counts.len()
        )));
    }
    let pixels = hist.counts.iter().try_fold(0u64, |n, &c| n.checked_add(c));
    match pixels {
        Some(0) => Err(Error::invalid(
            "cannot build a palette from a histogram with no pixels",
        )),
        Some(n) if n <= MAX_REFINE_PIXELS => Ok(()),
        _ => Err(Error::invalid(
            "the histogram counts more than 2^47 pixels; refining sums them exactly in 64 bits",
        )),
    }
}

fn lloyd(
    hist: &Histogram,
    mut palette: Palette,
    max_iter: usize,
    device: &Device,
) -> Result<Palette> {
    let bits = value_bits(hist, &palette);
    let mut step: Box<Step<'_>> = match device {
        Device::Cpu => {
            let mut steps = HistogramSteps::new(hist, bits);
            Box::new(move |palette: &Palette| steps.sums(palette))
        }
        #[cfg(feature = "gpu")]
        Device::Gpu(ctx) => {
            let mut runner = ctx.checked("k-means set-up", || {
                gpu::KMeansGpu::new(ctx, hist, bits, palette.len())
            })?;
            Box::new(move |palette: &Palette| runner.sums(palette))
        }
    };
    let mut sums;
    let mut iter = 0;
    loop {
        sums = step(&palette)?;
        iter += 1;
        let next = update_centroids(&palette, &sums)?;
        if next == palette || iter >= max_iter {
            break;
        }
        palette = next;
    }
    finish_palette(&palette, &sums)
}

/// The finite values of a float greyscale image, as `f64`, in pixel order.
pub(crate) fn finite_values<T: GreyFloat>(image: ImageView<'_, T>) -> Vec<f64> {
    (image.data().iter())
        .map(|v| v.to_f64())
        .filter(|v| v.is_finite())
        .collect()
}

/// Lloyd passes (assignment + sums) of the default palette method after its
/// median cut. On eight photographs (docs/QUANTIZE_QUALITY.md) 12 gain
/// 0.01–0.03 dB and 0.001–0.005 ΔE2000 over 10, 16 as much again: 12 keeps
/// the default 3–4× faster than libimagequant on 4000² photos.
pub const REFINE_PASSES: usize = 12;

/// The default palette (`PaletteMethod::Refined`) from a colour histogram:
/// [`median_cut_balanced`], then up to [`REFINE_PASSES`] Lloyd passes over
/// the histogram ([`refine_palette`]). 1-channel histograms refine their
/// levels in 1-D, counting each distinct value once or by its pixels as
/// `weights` says. The same palette on every device.
///
/// # Errors
/// As [`median_cut_balanced`]; GPU errors from the GPU path.
pub fn refined_palette(
    hist: &Histogram,
    k: usize,
    weights: GreyWeights,
    device: &Device,
) -> Result<Palette> {
    let start = median_cut_balanced(hist, k)?;
    check_histogram(hist)?;
    if hist.channels != 1 {
        return lloyd(hist, start, REFINE_PASSES, device);
    }
    let (values, counts) = grey_counts(hist);
    let weights = (weights == GreyWeights::Pixels).then_some(counts.as_slice());
    let levels = lloyd_1d(
        &values,
        weights,
        start.values().iter().map(|&v| f64::from(v)).collect(),
        REFINE_PASSES,
        |sum, count| (sum / count).round(),
    );
    Palette::new(1, levels.iter().map(|&l| l as u16).collect())
}

/// The values of a 1-channel histogram that have pixels, ascending and
/// distinct (counts of repeated values merged), with their counts: what the
/// 1-D passes need whatever order a caller's histogram is in.
fn grey_counts(hist: &Histogram) -> (Vec<f64>, Vec<f64>) {
    let mut pairs: Vec<(u16, u64)> = (hist.colors.iter().copied())
        .zip(hist.counts.iter().copied())
        .filter(|&(_, n)| n > 0)
        .collect();
    pairs.sort_unstable();
    let mut values: Vec<f64> = Vec::with_capacity(pairs.len());
    let mut counts: Vec<f64> = Vec::with_capacity(pairs.len());
    for (i, &(v, n)) in pairs.iter().enumerate() {
        if i > 0 && pairs[i - 1].0 == v {
            if let Some(last) = counts.last_mut() {
                *last += n as f64;
            }
        } else {
            values.push(f64::from(v));
            counts.push(n as f64);
        }
    }
    (values, counts)
}

/// The default levels (`PaletteMethod::Refined`) of a float greyscale
/// image: median cut over its distinct finite values
/// ([`crate::ops::median_cut::median_cut_levels`]), then up to
/// [`REFINE_PASSES`] 1-D Lloyd passes counting each distinct value once or
/// by its pixels as `weights` says. Sorted ascending; NaN pixels ignored.
///
/// # Errors
/// [`Error::InvalidArgument`] for `k` outside 1..=65536 or an image without
/// finite values.
pub fn refined_levels<T: GreyFloat>(
    image: ImageView<'_, T>,
    k: usize,
    weights: GreyWeights,
) -> Result<Levels> {
    let mut values = finite_values(image);
    let start = median_cut_levels(&values, k)?;
    {
        use rayon::prelude::*;
        values.par_sort_unstable_by(f64::total_cmp);
    }
    let (distinct, counts) = run_lengths(&values);
    let weights = (weights == GreyWeights::Pixels).then_some(counts.as_slice());
    Levels::new(lloyd_1d(
        &distinct,
        weights,
        start.values().to_vec(),
        REFINE_PASSES,
        |sum, count| sum / count,
    ))
}

/// One k-means iteration's assignment and sums for a palette.
type Step<'a> = dyn FnMut(&Palette) -> Result<LabelSums> + 'a;

/// Reinterprets a view of `T` as `U` when they are the same type.
fn cast_view<'a, T: PaletteValue, U: PaletteValue>(image: &ImageView<'a, T>) -> ImageView<'a, U> {
    let data: &[U] = bytemuck::cast_slice(image.data());
    // Same type by construction (T::BITS was checked by the caller), so the
    // shape is unchanged and `new` cannot fail.
    ImageView::new(data, image.height(), image.width(), image.channels())
        .unwrap_or_else(|_| unreachable!("same element type"))
}

fn seed_palette<T: PaletteValue>(
    image: &ImageView<'_, T>,
    options: &KMeansOptions,
) -> Result<Palette> {
    let c = image.channels();
    let (colors, counts) = seed_sample(image);
    let n = counts.len();
    let chosen = kmeans_pp(
        n,
        options.k,
        |i| counts[i] as f64,
        |i, j| squared(&colors[i * c..(i + 1) * c], &colors[j * c..(j + 1) * c]),
        COLOUR_SEED_POWER,
        options.seed,
    );
    let values: Vec<u16> = chosen
        .iter()
        .flat_map(|&i| colors[i * c..(i + 1) * c].iter().copied())
        .collect();
    Palette::new(c, values)
}

/// Assignment + sums over a colour histogram, each distinct colour once,
/// weighted by its pixel count; the buffers live across iterations.
struct HistogramSteps<'a> {
    hist: &'a Histogram,
    /// The colours as bytes when every value fits one (the AVX2 table reads
    /// bytes only; 16-bit points take a slower grid).
    bytes: Option<Vec<u8>>,
    labels: Vec<u16>,
}

/// Points per row of the view the assignment sees: the kernels split work
/// by rows, so one long row would run on one thread.
const POINTS_PER_ROW: usize = 4096;

impl<'a> HistogramSteps<'a> {
    fn new(hist: &'a Histogram, bits: u32) -> Self {
        let bytes = (bits == 8).then(|| hist.colors.iter().map(|&v| v as u8).collect());
        Self {
            hist,
            bytes,
            labels: vec![0; hist.counts.len()],
        }
    }

    fn sums(&mut self, palette: &Palette) -> Result<LabelSums> {
        let c = self.hist.channels;
        match &self.bytes {
            Some(bytes) => assign_points(bytes, c, palette, &mut self.labels)?,
            None => assign_points(&self.hist.colors, c, palette, &mut self.labels)?,
        }
        label_sums_cpu(
            &self.hist.colors,
            c,
            &self.labels,
            palette.len(),
            Some(&self.hist.counts),
        )
    }
}

/// Below this many point-colour pairs a pass scans the whole palette: the
/// candidate grid's set-up (≈ 14 ms for 4 channels, whatever K) would cost
/// more than the distances.
const BRUTE_FORCE_PAIRS: usize = 1 << 20;

/// Nearest palette colour of each of `points` (`c` values each), ties to
/// the lowest index: by scanning the palette when that is cheap, else
/// through the image kernel on rows of [`POINTS_PER_ROW`] points and a last
/// short row.
fn assign_points<T: PaletteValue>(
    points: &[T],
    c: usize,
    palette: &Palette,
    labels: &mut [u16],
) -> Result<()> {
    if labels.len().saturating_mul(palette.len()) <= BRUTE_FORCE_PAIRS {
        scan_points(points, c, palette, labels)
    } else {
        grid_points(points, c, palette, labels)
    }
}

/// [`assign_points`] by the definition: every point against every colour.
fn scan_points<T: PaletteValue>(
    points: &[T],
    c: usize,
    palette: &Palette,
    labels: &mut [u16],
) -> Result<()> {
    let view = ImageView::new(points, 1, labels.len(), c)?;
    let nearest: Vec<u16> = nearest_palette_reference(view, palette)?;
    labels.copy_from_slice(&nearest);
    Ok(())
}

/// [`assign_points`] through the candidate grid of the image kernel.
fn grid_points<T: PaletteValue>(
    points: &[T],
    c: usize,
    palette: &Palette,
    labels: &mut [u16],
) -> Result<()> {
    let n = labels.len();
    let rows = n / POINTS_PER_ROW;
    let (head, tail) = labels.split_at_mut(rows * POINTS_PER_ROW);
    let split = head.len() * c;
    if rows > 0 {
        let view = ImageView::new(&points[..split], rows, POINTS_PER_ROW, c)?;
        nearest_palette_cpu(view, palette, head, &|_, _| {});
    }
    if !tail.is_empty() {
        let view = ImageView::new(&points[split..], 1, tail.len(), c)?;
        nearest_palette_cpu(view, palette, tail, &|_, _| {});
    }
    Ok(())
}

/// The narrowest sample size (8 or 16 bits) holding every value of the
/// histogram and the palette: with 8 the assignment reads bytes.
fn value_bits(hist: &Histogram, palette: &Palette) -> u32 {
    let max = hist.colors.iter().chain(palette.values()).max().copied();
    if max.unwrap_or(0) <= u16::from(u8::MAX) {
        8
    } else {
        16
    }
}

/// Distinct values of a greyscale integer image, ascending, with their
/// pixel counts.
fn distinct_grey<T: PaletteValue>(image: &ImageView<'_, T>) -> (Vec<f64>, Vec<f64>) {
    use rayon::prelude::*;
    let bins = 1usize << T::BITS;
    let counts = image
        .data()
        .par_chunks(1 << 16)
        .fold(
            || vec![0u64; bins],
            |mut acc, chunk| {
                for &v in chunk {
                    acc[usize::from(v.into())] += 1;
                }
                acc
            },
        )
        .reduce(
            || vec![0u64; bins],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
    (counts.iter().enumerate())
        .filter(|(_, &n)| n > 0)
        .map(|(v, &n)| (v as f64, n as f64))
        .unzip()
}

fn kmeans_grey_int<T: PaletteValue>(
    image: ImageView<'_, T>,
    options: &KMeansOptions,
) -> Result<Palette> {
    let (values, counts) = distinct_grey(&image);
    let weights = (options.weights == GreyWeights::Pixels).then_some(counts.as_slice());
    let levels = kmeans_1d(&values, weights, options, |sum, count| {
        (sum / count).round()
    })?;
    Palette::new(1, levels.iter().map(|&l| l as u16).collect())
}

/// k-means levels for a float greyscale image, on its distinct values,
/// sorted ascending. NaN pixels are ignored.
///
/// # Errors
/// [`Error::InvalidArgument`] for `k` outside 1..=65536 or an image without
/// finite values.
pub fn kmeans_levels<T: GreyFloat>(
    image: ImageView<'_, T>,
    options: &KMeansOptions,
) -> Result<Levels> {
    options.check()?;
    let mut values = finite_values(image);
    if values.is_empty() {
        return Err(Error::invalid(
            "cannot build levels from an image with no finite values",
        ));
    }
    {
        use rayon::prelude::*;
        values.par_sort_unstable_by(f64::total_cmp);
    }
    if options.weights == GreyWeights::Pixels {
        let (distinct, counts) = run_lengths(&values);
        return Levels::new(kmeans_1d(
            &distinct,
            Some(&counts),
            options,
            |sum, count| sum / count,
        )?);
    }
    values.dedup();
    Levels::new(kmeans_1d(&values, None, options, |sum, count| sum / count)?)
}

/// The distinct values of sorted `values` and how often each occurs.
fn run_lengths(values: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut distinct = Vec::new();
    let mut counts: Vec<f64> = Vec::new();
    for &v in values {
        match distinct.last() {
            Some(&last) if last == v => *counts.last_mut().unwrap_or(&mut 0.0) += 1.0,
            _ => {
                distinct.push(v);
                counts.push(1.0);
            }
        }
    }
    (distinct, counts)
}

/// Prefix sums of sorted values in double-double precision, so interval means
/// stay accurate even over 10^8 values.
struct PrefixSums {
    hi: Vec<f64>,
    lo: Vec<f64>,
}

impl PrefixSums {
    fn new(values: impl ExactSizeIterator<Item = f64>) -> Self {
        let mut hi = Vec::with_capacity(values.len() + 1);
        let mut lo = Vec::with_capacity(values.len() + 1);
        let (mut h, mut l) = (0.0f64, 0.0f64);
        hi.push(h);
        lo.push(l);
        for v in values {
            // Knuth's two-sum: h + v exactly equals s + err.
            let s = h + v;
            let bv = s - h;
            let err = (h - (s - bv)) + (v - bv);
            h = s;
            l += err;
            hi.push(h);
            lo.push(l);
        }
        Self { hi, lo }
    }
    /// Sum of values[a..b].
    fn range(&self, a: usize, b: usize) -> f64 {
        (self.hi[b] - self.hi[a]) + (self.lo[b] - self.lo[a])
    }
}

/// 1-D k-means over sorted distinct `values`, unweighted or with `weights`
/// (pixel counts). `centre` maps an interval's (weighted sum, weight) to its
/// centroid.
fn kmeans_1d(
    values: &[f64],
    weights: Option<&[f64]>,
    options: &KMeansOptions,
    centre: impl Fn(f64, f64) -> f64,
) -> Result<Vec<f64>> {
    let n = values.len();
    if options.k >= n {
        return Ok(values.to_vec());
    }
    // Seed on an evenly spaced sample: seeding costs sample × k.
    let step = n.div_ceil(SEED_SAMPLE).max(1);
    let sample: Vec<f64> = values.iter().step_by(step).copied().collect();
    let chosen = kmeans_pp(
        sample.len(),
        options.k,
        |i| weights.map_or(1.0, |w| w[i * step]),
        |i, j| (sample[i] - sample[j]).powi(2),
        1.0,
        options.seed,
    );
    let centres: Vec<f64> = chosen.iter().map(|&i| sample[i]).collect();
    Ok(lloyd_1d(values, weights, centres, options.max_iter, centre))
}

/// 1-D Lloyd iterations over sorted distinct `values` (unweighted or with
/// `weights`) from the starting `centres`, at most `max_iter` of them;
/// returns the sorted distinct centres that kept values.
fn lloyd_1d(
    values: &[f64],
    weights: Option<&[f64]>,
    mut centres: Vec<f64>,
    max_iter: usize,
    centre: impl Fn(f64, f64) -> f64,
) -> Vec<f64> {
    centres.sort_by(f64::total_cmp);
    // Σ w·v and Σ w over any interval (w = 1 without weights; counts are
    // integers, so their prefix sums are exact).
    let (prefix, mass) = match weights {
        None => (PrefixSums::new(values.iter().copied()), None),
        Some(w) => {
            let products = values.iter().zip(w).map(|(v, w)| v * w);
            (
                PrefixSums::new(products),
                Some(PrefixSums::new(w.iter().copied())),
            )
        }
    };
    let weight_of = |a: usize, b: usize| mass.as_ref().map_or((b - a) as f64, |m| m.range(a, b));
    for _ in 0..max_iter {
        let bounds = interval_bounds(values, &centres);
        let next: Vec<f64> = bounds
            .windows(2)
            .zip(&centres)
            .map(|(w, &old)| {
                let (a, b) = (w[0], w[1]);
                if b > a {
                    centre(prefix.range(a, b), weight_of(a, b))
                } else {
                    old
                }
            })
            .collect();
        if next == centres {
            break;
        }
        centres = next;
    }
    let bounds = interval_bounds(values, &centres);
    let mut levels: Vec<f64> = bounds
        .windows(2)
        .zip(&centres)
        .filter(|(w, _)| w[1] > w[0])
        .map(|(_, &c)| c)
        .collect();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    levels
}

/// Cluster `j` holds `values[bounds[j]..bounds[j + 1]]`: points up to the
/// midpoint between consecutive sorted centres go to the lower one.
fn interval_bounds(values: &[f64], centres: &[f64]) -> Vec<usize> {
    let mut bounds = Vec::with_capacity(centres.len() + 1);
    bounds.push(0);
    for w in centres.windows(2) {
        let mid = w[0] + (w[1] - w[0]) / 2.0;
        let b = values.partition_point(|&v| v <= mid);
        bounds.push(b.max(*bounds.last().unwrap_or(&0)));
    }
    bounds.push(values.len());
    bounds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanning_and_the_grid_assign_alike() {
        let mut rng = Rng::new(9);
        for (c, limit, k) in [
            (1, 256, 5),
            (3, 256, 7),
            (3, 65536, 300),
            (4, 256, 40),
            (2, 65536, 1),
        ] {
            let n = 2 * POINTS_PER_ROW + 77;
            let points: Vec<u16> = (0..n * c)
                .map(|_| (rng.next_u64() % limit) as u16)
                .collect();
            let colours: Vec<u16> = (0..k * c)
                .map(|_| (rng.next_u64() % limit) as u16)
                .collect();
            let palette = Palette::new(c, colours).unwrap();
            let (mut scanned, mut gridded) = (vec![0u16; n], vec![0u16; n]);
            scan_points(&points, c, &palette, &mut scanned).unwrap();
            grid_points(&points, c, &palette, &mut gridded).unwrap();
            assert_eq!(scanned, gridded, "{c} channels, K {k}");
            if limit == 256 {
                let bytes: Vec<u8> = points.iter().map(|&v| v as u8).collect();
                grid_points(&bytes, c, &palette, &mut gridded).unwrap();
                assert_eq!(scanned, gridded, "{c} channels, K {k}, bytes");
            }
        }
    }

    #[test]
    fn splitmix_is_fixed() {
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn flat_background_does_not_swallow_grey_levels() {
        let mut data = vec![0.5f32; 10_000];
        data.extend([0.0, 0.1, 0.2, 0.3, 0.7, 0.8, 0.9]);
        let image = ImageView::new(&data, 1, data.len(), 1).unwrap();
        let levels = kmeans_levels(image, &KMeansOptions::new(8)).unwrap();
        assert_eq!(levels.len(), 8);
        assert!(levels.values().windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn same_seed_same_palette() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let image = ImageView::new(&data, 20, 50, 3).unwrap();
        let opts = KMeansOptions {
            k: 8,
            seed: 3,
            max_iter: 20,
            weights: GreyWeights::Distinct,
        };
        let a = kmeans_palette(image, &opts, &Device::Cpu).unwrap();
        let b = kmeans_palette(image, &opts, &Device::Cpu).unwrap();
        assert_eq!(a, b);
        assert!(a.len() <= 8);
    }
}
