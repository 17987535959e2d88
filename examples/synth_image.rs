//! Writes a deterministic photo-like RGB image (the benchmark generator) to a
//! file, for end-to-end timings of `gpix quantize` on big inputs:
//!
//! ```sh
//! cargo run --release --example synth_image -- 12000x12000 big.png
//! /usr/bin/time -v target/release/gpix quantize big.png out.png --colors 256 -v
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: synth_image [HEIGHTxWIDTH] [OUT]   (defaults: 4000x4000 synth.png)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") || args.len() > 2 {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let size = args.first().map_or("4000x4000", String::as_str);
    let out = PathBuf::from(args.get(1).map_or("synth.png", String::as_str));
    let Some((h, w)) = size
        .split_once('x')
        .and_then(|(h, w)| Some((h.parse::<usize>().ok()?, w.parse::<usize>().ok()?)))
    else {
        eprintln!("error: size '{size}' is not HEIGHTxWIDTH\n{USAGE}");
        return ExitCode::from(2);
    };
    match run(h, w, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(h: usize, w: usize, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let bytes = h
        .checked_mul(w)
        .and_then(|n| n.checked_mul(3))
        .ok_or("size overflows")?;
    let limit = gpix::io::max_bytes();
    if bytes as u64 > limit {
        return Err(
            gpix::Error::too_large(format!("a {h}x{w} RGB image"), bytes as u64, limit).into(),
        );
    }
    let image = gpix::synth::smooth_rgb(h, w, 0);
    gpix::io::write_image(out, image.view(), &[h, w, 3])?;
    println!("wrote {} ({h}x{w} RGB)", out.display());
    Ok(())
}
