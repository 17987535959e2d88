//! Helpers shared by the fuzz targets (each target includes this file as a module).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gpix::io::PaletteSource;
use tempfile::NamedTempFile;

/// Allocation limit given to the library through `GPIX_MAX_BYTES`: well
/// under libFuzzer's default `-rss_limit_mb=2048`, so a header that lies
/// about its size must be refused, not allocated.
pub const MAX_BYTES: u64 = 64 << 20;

/// Call once from `fuzz_target!(init: ...)`: sets `GPIX_MAX_BYTES`.
///
/// libfuzzer-sys aborts on every panic, even one the library catches (gpix
/// turns a panic inside a third-party decoder into an error). With
/// `GPIX_FUZZ_CAUGHT_PANICS_OK=1` in the environment, the standard panic
/// hook is put back: a caught panic is printed and fuzzing goes on, while a
/// panic that escapes the library still aborts (libfuzzer-sys aborts when
/// one reaches it).
pub fn init() {
    std::env::set_var("GPIX_MAX_BYTES", MAX_BYTES.to_string());
    if std::env::var_os("GPIX_FUZZ_CAUGHT_PANICS_OK").is_some_and(|v| v == "1") {
        // `take_hook` removes libfuzzer-sys's aborting hook, leaving the default one.
        drop(std::panic::take_hook());
    }
}

/// Where scratch files go: `/dev/shm` (memory) where there is one.
fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        }
    })
}

/// Writes `data` to a new temporary file whose name ends in `suffix`
/// (`".png"`); the file is deleted when the returned guard is dropped.
pub fn scratch_file(suffix: &str, data: &[u8]) -> NamedTempFile {
    let mut file = tempfile::Builder::new()
        .prefix("gpix-fuzz-")
        .suffix(suffix)
        .tempfile_in(scratch_dir())
        .expect("cannot create a scratch file");
    file.write_all(data).expect("cannot write the scratch file");
    file.flush().expect("cannot write the scratch file");
    file
}

/// Matches a palette read from a file to every kind of image it could meet.
pub fn match_palette(source: &PaletteSource) {
    for channels in 1..=4 {
        for bits in [8, 16] {
            let _ = source.for_integer_image(channels, bits);
        }
    }
    let _ = source.for_float_image();
}
