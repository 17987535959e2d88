//! Image files as palettes (pixels in row order are the colours) and as
//! images. The file is named `.png`; the image crate recognises PNG, JPEG,
//! GIF, BMP, TIFF, WebP, QOI, ICO and PNM by their content whatever the name.

#![no_main]

mod common;

use gpix::io::{read_image, PaletteSource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: common::init(), |data: &[u8]| {
    let file = common::scratch_file(".png", data);
    if let Ok(source) = PaletteSource::read(file.path()) {
        common::match_palette(&source);
    }
    let _ = read_image(file.path());
});
