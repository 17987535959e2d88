//! Writes a deterministic photo-like RGB image (the benchmark generator) to a
//! file, for end-to-end timings of `gpix quantize` on big inputs:
//!
//! ```sh
//! cargo run --release --example synth_image -- 12000x12000 big.png
//! /usr/bin/time -v target/release/gpix quantize big.png out.png --colors 256 -v
//! ```

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let size = args.next().unwrap_or_else(|| "4000x4000".into());
    let out = PathBuf::from(args.next().unwrap_or_else(|| "synth.png".into()));
    let (h, w) = size.split_once('x').ok_or("size is HEIGHTxWIDTH")?;
    let (h, w): (usize, usize) = (h.parse()?, w.parse()?);
    let image = gpix::synth::smooth_rgb(h, w, 0);
    gpix::io::write_image(&out, image.view(), &[h, w, 3])?;
    println!("wrote {} ({h}x{w} RGB)", out.display());
    Ok(())
}
