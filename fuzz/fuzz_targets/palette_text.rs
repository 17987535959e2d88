//! Palette text: plain colour lists and GIMP palettes, parsed from a string
//! and read from `.txt` / `.gpl` files (which must also be UTF-8).

#![no_main]

mod common;

use std::path::Path;

use gpix::io::palette_file::parse_palette_text;
use gpix::io::PaletteSource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: common::init(), |data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_palette_text(&text, Path::new("fuzz.txt"));
    for suffix in [".txt", ".gpl"] {
        let file = common::scratch_file(suffix, data);
        if let Ok(source) = PaletteSource::read(file.path()) {
            common::match_palette(&source);
        }
    }
});
