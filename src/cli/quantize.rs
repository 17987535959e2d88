//! `gpix quantize INPUT OUTPUT`: files in, palette chosen or built, files out.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use gpix::io::{self, AnyPalette, ImageFormat, PaletteSource, Staged};
use gpix::ops::median_cut::RgbCounter;
use gpix::ops::quantize::{
    build_palette, describe_build, describe_indices, paint, palette_from_histogram,
    quantize_indices_dithered, IndexMap, PaletteMethod,
};
use gpix::{AnyImage, Device, Dither, GreyWeights, MAX_PALETTE_LEN};

use super::{check_outputs_distinct, Common, Phases, Usage};

/// Map every pixel to the nearest palette colour (squared Euclidean over all
/// channels, ties to the lowest index), exactly, on the CPU or a GPU.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["palette", "colors"])))]
pub(crate) struct QuantizeArgs {
    /// Image file (PNG, JPEG, TIFF, BMP, WebP, …; 8/16-bit grey, RGB, RGBA) or
    /// .npy: (H,W,3)/(H,W,4) uint8 or (H,W) uint8/uint16/float16/float32/float64.
    input: PathBuf,
    /// Quantized image: .png (indexed when K ≤ 256 and 8-bit), other image
    /// formats, or .npy with the input's shape and dtype.
    output: PathBuf,
    /// Palette file: GIMP .gpl; text with one colour per line (#rrggbb,
    /// rrggbb, "r g b", "r,g,b", or one grey level per line); .npy (K,3),
    /// (K,4) or (K,); or an image whose pixels, in row order, are the colours.
    #[arg(long, value_name = "FILE")]
    palette: Option<PathBuf>,
    /// Build a palette of at most K colours from the image instead (1..=65536).
    #[arg(long, value_name = "K", value_parser = parse_colors)]
    colors: Option<usize>,
    /// How to build the palette with --colors [default: refined].
    #[arg(long, value_enum, conflicts_with = "palette")]
    method: Option<Method>,
    /// Seed of the k-means seeding (--method kmeans): the same seed gives the
    /// same palette [default: 0].
    #[arg(long, conflicts_with = "palette")]
    seed: Option<u64>,
    /// Most k-means iterations (--method kmeans) [default: 50].
    #[arg(long, conflicts_with = "palette", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    max_iter: Option<u64>,
    /// What greyscale k-means and refinement count (--method kmeans or
    /// refined on 1-channel images; colour images always weight each colour
    /// by its pixel count) [default: distinct].
    #[arg(long, value_enum, conflicts_with = "palette")]
    weights: Option<Weights>,
    /// How pixels are mapped to the palette: none (each pixel's exact
    /// nearest colour), floyd-steinberg (error diffusion, serpentine, on
    /// the CPU) or ordered (8×8 Bayer, the same on every device); 8/16-bit
    /// images.
    #[arg(long, value_enum, default_value = "none")]
    dither: DitherArg,
    /// Ordered dithering's amplitude: 1 spans the palette's typical spacing
    /// between neighbouring colours [default: 1].
    #[arg(long, value_name = "S")]
    dither_strength: Option<f32>,
    /// Also write the index map: .npy (H,W), uint8 when K ≤ 256 else uint16.
    #[arg(long, value_name = "FILE.npy")]
    index_out: Option<PathBuf>,
    /// Also write the palette used (.gpl, .txt or .npy by extension).
    #[arg(long, value_name = "FILE")]
    palette_out: Option<PathBuf>,
    /// Pixels per band handed from the PNG decoder to the colour count
    /// (testing many bands on small images).
    #[arg(long, env = "GPIX_DECODE_BAND_PIXELS", hide = true)]
    decode_band_pixels: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DitherArg {
    /// Each pixel's exact nearest colour (ties to the lowest index).
    None,
    /// Floyd–Steinberg error diffusion in serpentine order (CPU).
    FloydSteinberg,
    /// 8×8 Bayer ordered dithering, identical on every device.
    Ordered,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Weights {
    /// Each distinct value once: a dominant value (flat background, zeros)
    /// cannot take most levels; for masks, plots and sparse data.
    Distinct,
    /// Each pixel: least squared error over the pixels; best PSNR on
    /// photographs.
    Pixels,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Method {
    /// Median cut weighing pixel mass as well as error, refined by up to 12
    /// k-means passes over the colour histogram: the best quality for its
    /// time (above libimagequant's PSNR and CIEDE2000 on photographs)
    Refined,
    /// Plain median cut over the colour histogram: the fastest.
    MedianCut,
    /// k-means: seeds drawn as in k-means++ (∝ pixels × distance^1.1), then
    /// Lloyd iterations over the colour histogram
    Kmeans,
}

/// `--weights` for a `c`-channel image: greyscale only.
fn grey_weights(weights: Option<Weights>, c: usize) -> anyhow::Result<GreyWeights> {
    match weights {
        Some(_) if c > 1 => Err(Usage(format!(
            "--weights applies to greyscale images; this one has {c} channels \
             (colour palettes always weight each colour by its pixel count)"
        ))
        .into()),
        Some(Weights::Pixels) => Ok(GreyWeights::Pixels),
        Some(Weights::Distinct) | None => Ok(GreyWeights::Distinct),
    }
}

fn parse_colors(s: &str) -> Result<usize, String> {
    let k: usize = s
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number"))?;
    if k == 0 || k > MAX_PALETTE_LEN {
        return Err(format!("must be 1 to {MAX_PALETTE_LEN}, not {k}"));
    }
    Ok(k)
}

pub(crate) fn run(common: &Common, args: &QuantizeArgs) -> anyhow::Result<()> {
    let kmeans = matches!(args.method, Some(Method::Kmeans));
    // --weights says what the greyscale passes of k-means and refined count.
    let has_grey_passes = kmeans || matches!(args.method, None | Some(Method::Refined));
    if args.weights.is_some() && !has_grey_passes {
        return Err(Usage("--weights applies to --method kmeans or refined only".into()).into());
    }
    if !kmeans {
        if let Some(flag) = [
            ("--seed", args.seed.is_some()),
            ("--max-iter", args.max_iter.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, given)| given.then_some(flag))
        {
            return Err(Usage(format!("{flag} applies to --method kmeans only")).into());
        }
    }
    if args.dither_strength.is_some() && args.dither != DitherArg::Ordered {
        return Err(Usage("--dither-strength applies to --dither ordered only".into()).into());
    }
    let dither = match args.dither {
        DitherArg::None => Dither::None,
        DitherArg::FloydSteinberg => Dither::FloydSteinberg,
        DitherArg::Ordered => Dither::Ordered {
            strength: args.dither_strength.unwrap_or(1.0),
        },
    };
    dither.check().map_err(|e| Usage(e.to_string()))?;
    check_outputs(args)?;
    let mut phases = Phases::new(common);
    let ((image, counted), device) = common.device_alongside(|| read_input(args))?;
    let (h, w, c) = image.shape();
    common.say(format!(
        "input: {} ({h}×{w}×{c} {})",
        args.input.display(),
        image.dtype_name()
    ));
    check_image_output(&image, &args.output)?;
    if counted.is_some() {
        common.say("colours counted while decoding");
    }
    phases.done("decode");
    common.say_device(&device);
    let k = match (&args.palette, args.colors) {
        (None, Some(k)) => k,
        // A palette file's size is not known yet: assume a large one.
        _ => 256,
    };
    let device = common.route(device, &quantize_work(&image, k));
    let palette = match (&args.palette, args.colors) {
        (Some(path), _) => PaletteSource::read(path)?.for_image(&image)?,
        (None, Some(k)) => {
            let method = match args.method.unwrap_or(Method::Refined) {
                Method::Refined => PaletteMethod::Refined {
                    weights: grey_weights(args.weights, c)?,
                },
                Method::MedianCut => PaletteMethod::MedianCut,
                Method::Kmeans => PaletteMethod::KMeans {
                    seed: args.seed.unwrap_or(0),
                    max_iter: args.max_iter.unwrap_or(50) as usize,
                    weights: grey_weights(args.weights, c)?,
                },
            };
            common.say(format!(
                "palette: {}",
                describe_build(&image, method, &device)
            ));
            let built = match counted {
                Some(counter) => palette_from_histogram(&counter.finish(), k, method, &device)
                    .map(AnyPalette::Colors),
                None => build_palette(&image, k, method, &device),
            };
            built.with_context(|| args.input.display().to_string())?
        }
        (None, None) => bail!("give --palette FILE or --colors K"),
    };
    common.say(format!("palette: {} colours", palette.len()));
    phases.done("palette");

    let device = match dither {
        // Error diffusion is sequential: it runs on the CPU.
        Dither::FloydSteinberg => Device::Cpu,
        _ => device,
    };
    common.say(format!(
        "quantize: {}{}",
        describe_indices(&image, &device),
        match dither {
            Dither::None => String::new(),
            Dither::FloydSteinberg => ", Floyd–Steinberg dithering (serpentine)".into(),
            Dither::Ordered { strength } =>
                format!(", ordered dithering (8×8 Bayer, strength {strength})"),
        }
    ));
    let bar = common.progress(h as u64, "quantize");
    let report = |done: usize, _total: usize| bar.set_position(done as u64);
    let indices = quantize_indices_dithered(&image, &palette, dither, &device, &report)
        .with_context(|| args.input.display().to_string())?;
    bar.finish_and_clear();
    phases.done("compute");

    let staged = stage_outputs(args, &image, &indices, &palette)?;
    io::commit_all(staged)?;
    phases.done("encode");
    Ok(())
}

/// The cost model's view of quantizing `image` to `k` colours
/// (`gpix::route`): k-means and the index map run where this says.
fn quantize_work(image: &AnyImage, k: usize) -> gpix::route::Work {
    let (h, w, c) = image.shape();
    let (value_bytes, integer) = match image {
        AnyImage::U8(_) => (1, true),
        AnyImage::U16(_) => (2, true),
        AnyImage::F32(_) => (4, false),
        // F64 and any later float type.
        _ => (8, false),
    };
    gpix::route::Work::quantize((h * w) as u64, c as u64, value_bytes, integer, k)
}

/// Reads the input. For a median-cut palette of a large RGB `u8` image, its
/// colours are counted band by band while the rest decodes (decoding is
/// serial, so this uses an otherwise idle core); the counts come back too.
fn read_input(args: &QuantizeArgs) -> anyhow::Result<(AnyImage, Option<RgbCounter>)> {
    // Median cut (plain or refined) starts from the colour histogram.
    let median_cut = args.palette.is_none() && !matches!(args.method, Some(Method::Kmeans));
    if !median_cut {
        return Ok((io::read_image(&args.input)?, None));
    }
    let band_pixels = args.decode_band_pixels.unwrap_or(RgbCounter::PIECE_PIXELS);
    let (mut counter, mut declined) = (None, false);
    let image = io::read_image_in_bands(&args.input, band_pixels, |band| {
        if counter.is_none() && !declined {
            // Counting pays only for a large RGB image that arrives in
            // several bands; one band (small PNGs, other formats) is faster
            // through the parallel whole-image histogram.
            let pixels = band.image_height * band.rows.width();
            let whole = band.rows.height() == band.image_height;
            declined = whole || band.rows.channels() != 3 || !RgbCounter::suits(pixels);
        }
        if !declined {
            counter
                .get_or_insert_with(RgbCounter::new)
                .add(band.rows.data());
        }
    })?;
    Ok((image, counter))
}

/// Output names are checked before any work, so a typo costs nothing.
fn check_outputs(args: &QuantizeArgs) -> anyhow::Result<()> {
    ImageFormat::from_path(&args.output)?;
    check_outputs_distinct(&[
        Some(&args.output),
        args.index_out.as_ref(),
        args.palette_out.as_ref(),
    ])?;
    if let Some(p) = &args.index_out {
        if io::extension(p) != "npy" {
            bail!("{}: the index map is written as .npy", p.display());
        }
    }
    if let Some(p) = &args.palette_out {
        if !matches!(io::extension(p).as_str(), "gpl" | "txt" | "npy") {
            bail!(
                "{}: the palette is written as .gpl, .txt or .npy",
                p.display()
            );
        }
    }
    Ok(())
}

/// Float images can only become .npy; say so before computing.
fn check_image_output(image: &AnyImage, output: &Path) -> anyhow::Result<()> {
    let float = matches!(image, AnyImage::F32(_) | AnyImage::F64(_));
    if float && ImageFormat::from_path(output)? != ImageFormat::Npy {
        bail!(
            "{}: a {} image is quantized to grey levels and written as .npy",
            output.display(),
            image.dtype_name()
        );
    }
    Ok(())
}

/// Every output is written to a temporary file first; they are renamed into
/// place only once all of them were written.
fn stage_outputs(
    args: &QuantizeArgs,
    image: &AnyImage,
    indices: &IndexMap,
    palette: &AnyPalette,
) -> anyhow::Result<Vec<Staged>> {
    let mut staged = vec![stage_quantized(&args.output, image, indices, palette)?];
    let (h, w) = indices.shape();
    if let Some(path) = &args.index_out {
        staged.push(match indices {
            IndexMap::U8(ix) => io::stage_image(path, ix.view(), &[h, w])?,
            IndexMap::U16(ix) => io::stage_image(path, ix.view(), &[h, w])?,
        });
    }
    if let Some(path) = &args.palette_out {
        let eight_bit = matches!(image, AnyImage::U8(_));
        staged.push(io::stage_palette(path, palette, eight_bit)?);
    }
    Ok(staged)
}

fn stage_quantized(
    path: &Path,
    image: &AnyImage,
    indices: &IndexMap,
    palette: &AnyPalette,
) -> anyhow::Result<Staged> {
    let format = ImageFormat::from_path(path)?;
    if let (ImageFormat::Png, AnyImage::U8(_), IndexMap::U8(ix), AnyPalette::Colors(p)) =
        (format, image, indices, palette)
    {
        return Ok(io::stage_indexed_png(path, ix.view(), p)?);
    }
    let painted = paint(image, indices, palette)?;
    let (h, w, c) = painted.shape();
    let shape = npy_shape(h, w, c);
    Ok(match &painted {
        AnyImage::U8(i) => io::stage_image(path, i.view(), &shape)?,
        AnyImage::U16(i) => io::stage_image(path, i.view(), &shape)?,
        AnyImage::F32(i) => io::stage_image(path, i.view(), &shape)?,
        AnyImage::F64(i) => io::stage_image(path, i.view(), &shape)?,
        _ => bail!("unsupported image type"),
    })
}

/// `.npy` outputs keep the input's layout: (H, W) for single-channel images.
fn npy_shape(h: usize, w: usize, c: usize) -> Vec<usize> {
    if c == 1 {
        vec![h, w]
    } else {
        vec![h, w, c]
    }
}
