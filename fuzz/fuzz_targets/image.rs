//! Image files of every format gpix reads. The first byte picks the file's
//! extension (`EXTS[byte % EXTS.len()]`), the rest is the file: the
//! extension decides the decoder when the content matches no known
//! signature (TGA has none at all).

#![no_main]

mod common;

use gpix::io::{read_image, PaletteSource};
use libfuzzer_sys::fuzz_target;

/// Keep in step with fuzz/make_corpus.py and tests/fuzz_corpus.rs.
const EXTS: [&str; 10] = [
    "png", "jpg", "gif", "bmp", "tiff", "webp", "qoi", "ico", "pnm", "tga",
];

fuzz_target!(init: common::init(), |data: &[u8]| {
    let Some((&selector, content)) = data.split_first() else {
        return;
    };
    let ext = EXTS[usize::from(selector) % EXTS.len()];
    let file = common::scratch_file(&format!(".{ext}"), content);
    let image = read_image(file.path());
    if let Ok(source) = PaletteSource::read(file.path()) {
        common::match_palette(&source);
        if let Ok(image) = &image {
            let _ = source.for_image(image);
        }
    }
});
