//! `.npy` arrays: from a stream (unknown length, chunked reads) and from a
//! file (known length, parallel positional reads), then as an image and as
//! a palette.

#![no_main]

mod common;

use std::io::Cursor;
use std::path::Path;

use gpix::io::npy::{read_npy, read_npy_from};
use gpix::io::{read_image, PaletteSource};
use libfuzzer_sys::fuzz_target;

/// The limit passed to the readers explicitly.
const NPY_MAX_BYTES: u64 = 1 << 26;

fuzz_target!(init: common::init(), |data: &[u8]| {
    let _ = read_npy_from(Cursor::new(data), Path::new("fuzz.npy"), NPY_MAX_BYTES);
    if data.len() < 1 << 20 {
        let file = common::scratch_file(".npy", data);
        let path = file.path();
        let _ = read_npy(path, NPY_MAX_BYTES);
        let _ = read_image(path);
        if let Ok(source) = PaletteSource::read(path) {
            common::match_palette(&source);
        }
    }
});
