//! Replays the committed fuzz corpus, `fuzz/corpus/<target>/*`, through the
//! same library calls as the cargo-fuzz targets in `fuzz/fuzz_targets/`, on
//! stable Rust and without libFuzzer, so that every crash once found stays
//! fixed.
//!
//! Every call must return (never panic), within a bounded time and without
//! allocating more than the reader limit (`GPIX_MAX_BYTES`, set here to
//! 256 MiB; a counting global allocator watches). Beyond that:
//!
//! - seeds named `valid_*` must be read (`Ok`);
//! - the hostile inputs listed in [`HOSTILE`] must be refused (`Err`);
//! - every error must be one printable line naming the file, with no Rust
//!   debug structures, and short.
//!
//! Inputs added later (crashes found by fuzzing) only need to pass the
//! generic checks. `fuzz/README.md` explains how to add one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Display;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gpix::io::npy::{read_npy, read_npy_from};
use gpix::io::palette_file::parse_palette_text;
use gpix::io::{read_image, PaletteSource};

/// `GPIX_MAX_BYTES` for this test: the most any one call may allocate.
const MAX_BYTES: usize = 256 << 20;

/// The limit the `npy` target passes to the `.npy` readers.
const NPY_MAX_BYTES: u64 = 1 << 26;

/// Longest any one call may take (the inputs are a few KB).
const MAX_CALL_TIME: Duration = Duration::from_secs(3);

/// Longest acceptable error message, in characters (path included).
const MAX_MESSAGE_CHARS: usize = 300;

/// The `image` target's extensions, picked by the first byte of an input.
/// Keep in step with fuzz/fuzz_targets/image.rs and fuzz/make_corpus.py.
const EXTS: [&str; 10] = [
    "png", "jpg", "gif", "bmp", "tiff", "webp", "qoi", "ico", "pnm", "tga",
];

/// Inputs that lie or are malformed: every call on them must fail cleanly.
const HOSTILE: &[(&str, &str)] = &[
    ("npy", "npy_shape_100000x100000_f8_10_bytes.npy"),
    ("npy", "npy_shape_negative.npy"),
    ("npy", "npy_shape_absurd.npy"),
    ("npy", "npy_shape_product_overflows_u64.npy"),
    ("npy", "npy_header_not_a_dict.npy"),
    ("npy", "npy_header_truncated.npy"),
    ("palette_text", "text_nul_and_control_chars.txt"),
    ("palette_text", "text_5000_digit_number.txt"),
    ("palette_text", "gpl_garbage_header.gpl"),
    ("palette_text", "text_empty.txt"),
    ("palette_text", "text_only_comments.txt"),
    ("palette_image", "png_ihdr_40000x40000_rgb.png"),
    ("palette_image", "png_ihdr_2147483647x1_rgb.png"),
    ("palette_image", "png_plte_49_bytes.png"),
    ("palette_image", "jpeg_sof_65535x65535.jpg"),
    ("palette_image", "gif_screen_65535x65535.gif"),
    ("palette_image", "jpeg_cmyk_adobe_sof_30000x30000.jpg"),
    ("image", "tga_header_65535x65535"),
];

// ---------------------------------------------------------------------------
// Allocation accounting

/// The system allocator, counting live bytes, their peak and the largest
/// single request.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments and
// only adds bookkeeping on atomics (no allocation, no unwinding).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// ---------------------------------------------------------------------------
// Replaying

/// What a call must return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Ok,
    Err,
    Either,
}

/// The expectations for one corpus file: of its main calls (the readers)
/// and of the others (matching a palette that was read to images).
fn expectations(target: &str, name: &str) -> (Expect, Expect) {
    if HOSTILE.contains(&(target, name)) {
        (Expect::Err, Expect::Err)
    } else if name.starts_with("valid_") {
        (Expect::Ok, Expect::Either)
    } else {
        (Expect::Either, Expect::Either)
    }
}

/// Replays one corpus file; collects everything that went wrong.
struct Replay<'a> {
    /// `target/name`, for messages.
    label: String,
    main: Expect,
    other: Expect,
    failures: &'a mut Vec<String>,
}

impl Replay<'_> {
    fn fail(&mut self, what: &str, problem: impl Display) {
        let line = format!("{}: {what}: {problem}", self.label);
        eprintln!("FAIL {line}");
        self.failures.push(line);
    }

    /// Runs `f`, a library call on the file `named` (the path its errors
    /// must name), and checks it; returns its value when it succeeded.
    fn call<T>(
        &mut self,
        what: &str,
        expect: Expect,
        named: &Path,
        f: impl FnOnce() -> gpix::Result<T>,
    ) -> Option<T> {
        let live_before = LIVE.load(Ordering::Relaxed);
        PEAK.store(live_before, Ordering::Relaxed);
        LARGEST.store(0, Ordering::Relaxed);
        let start = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(f));
        let elapsed = start.elapsed();
        let largest = LARGEST.load(Ordering::Relaxed);
        let peak = PEAK.load(Ordering::Relaxed).saturating_sub(live_before);

        if elapsed > MAX_CALL_TIME {
            self.fail(
                what,
                format!("took {elapsed:.2?} (limit {MAX_CALL_TIME:?})"),
            );
        }
        if largest > MAX_BYTES {
            self.fail(
                what,
                format!("allocated {largest} bytes at once (limit {MAX_BYTES})"),
            );
        }
        if peak > 2 * MAX_BYTES {
            self.fail(
                what,
                format!("held {peak} bytes at its peak (limit {})", 2 * MAX_BYTES),
            );
        }
        match &outcome {
            Ok(Ok(_)) => eprintln!("  {what}: Ok"),
            Ok(Err(error)) => eprintln!("  {what}: Err: {error}"),
            Err(_) => eprintln!("  {what}: panicked"),
        }
        match outcome {
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(non-string panic payload)".into());
                self.fail(what, format!("PANICKED: {message}"));
                None
            }
            Ok(Ok(value)) => {
                if expect == Expect::Err {
                    self.fail(what, "returned Ok for a hostile input (expected an error)");
                }
                Some(value)
            }
            Ok(Err(error)) => {
                if expect == Expect::Ok {
                    self.fail(what, format!("failed on a valid seed: {error}"));
                }
                for problem in message_problems(&error.to_string(), named) {
                    self.fail(what, problem);
                }
                None
            }
        }
    }

    /// As the fuzz targets' `common::match_palette`.
    fn match_palette(&mut self, source: &PaletteSource, named: &Path) {
        for channels in 1..=4 {
            for bits in [8, 16] {
                let what = format!("for_integer_image({channels}, {bits})");
                self.call(&what, self.other, named, || {
                    source.for_integer_image(channels, bits)
                });
            }
        }
        self.call("for_float_image", self.other, named, || {
            source.for_float_image()
        });
    }
}

/// What is wrong with an error's `message` for the file `named`.
fn message_problems(message: &str, named: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let quoted = format!("error message {message:?}");
    if let Some(c) = message.chars().find(|c| c.is_control()) {
        let kind = if c == '\n' || c == '\r' {
            "is not one line"
        } else {
            "holds a control character"
        };
        problems.push(format!("{quoted} {kind} ({})", c.escape_default()));
    }
    if !message.contains(&named.display().to_string()) {
        problems.push(format!(
            "{quoted} does not name the file {}",
            named.display()
        ));
    }
    // `\u{1b}` is how the library quotes control characters; any other
    // brace is a `Debug` rendering such as `Chunk { .. }`.
    let unescaped = without_unicode_escapes(message);
    if unescaped.contains("Chunk") || unescaped.contains('{') || unescaped.contains('}') {
        problems.push(format!("{quoted} shows a Rust debug structure"));
    }
    let chars = message.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        problems.push(format!(
            "{quoted} is {chars} characters long (limit {MAX_MESSAGE_CHARS})"
        ));
    }
    problems
}

/// `message` without its `\u{hex}` escapes.
fn without_unicode_escapes(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("\\u{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        match after.find('}') {
            Some(end) if end > 0 && after[..end].chars().all(|c| c.is_ascii_hexdigit()) => {
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[at..at + 3]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `npy` target: stream and file readers, then image and palette.
fn replay_npy(r: &mut Replay<'_>, path: &Path, data: &[u8]) {
    let (main, other) = (r.main, r.other);
    r.call("read_npy_from", main, path, || {
        read_npy_from(Cursor::new(data), path, NPY_MAX_BYTES)
    });
    r.call("read_npy", main, path, || read_npy(path, NPY_MAX_BYTES));
    r.call("read_image", other, path, || read_image(path));
    if let Some(source) = r.call("PaletteSource::read", other, path, || {
        PaletteSource::read(path)
    }) {
        r.match_palette(&source, path);
    }
}

/// The `palette_text` target: parsed as a string, read as `.txt` and `.gpl`.
fn replay_palette_text(r: &mut Replay<'_>, path: &Path, data: &[u8], scratch: &Path) {
    let main = r.main;
    let text = String::from_utf8_lossy(data);
    r.call("parse_palette_text", main, path, || {
        parse_palette_text(&text, path)
    });
    for ext in ["txt", "gpl"] {
        let copy = scratch_copy(scratch, path, ext, data);
        let what = format!("PaletteSource::read(.{ext})");
        if let Some(source) = r.call(&what, main, &copy, || PaletteSource::read(&copy)) {
            r.match_palette(&source, &copy);
        }
    }
}

/// The `palette_image` target: the bytes as a `.png` file, read as a
/// palette and as an image.
fn replay_palette_image(r: &mut Replay<'_>, path: &Path, data: &[u8], scratch: &Path) {
    let main = r.main;
    let copy = scratch_copy(scratch, path, "png", data);
    if let Some(source) = r.call("PaletteSource::read", main, &copy, || {
        PaletteSource::read(&copy)
    }) {
        r.match_palette(&source, &copy);
    }
    r.call("read_image", main, &copy, || read_image(&copy));
}

/// The `image` target: the first byte picks the extension, the rest is the
/// file.
fn replay_image(r: &mut Replay<'_>, path: &Path, data: &[u8], scratch: &Path) {
    let Some((&selector, content)) = data.split_first() else {
        return;
    };
    let (main, other) = (r.main, r.other);
    let ext = EXTS[usize::from(selector) % EXTS.len()];
    let copy = scratch_copy(scratch, path, ext, content);
    let image = r.call(&format!("read_image(.{ext})"), main, &copy, || {
        read_image(&copy)
    });
    if let Some(source) = r.call(&format!("PaletteSource::read(.{ext})"), main, &copy, || {
        PaletteSource::read(&copy)
    }) {
        r.match_palette(&source, &copy);
        if let Some(image) = &image {
            r.call("for_image", other, &copy, || source.for_image(image));
        }
    }
}

/// Writes `data` to `scratch/<file name of path>.<ext>` and returns that path.
fn scratch_copy(scratch: &Path, path: &Path, ext: &str, data: &[u8]) -> PathBuf {
    let name = path
        .file_name()
        .expect("corpus file name")
        .to_string_lossy();
    let copy = scratch.join(format!("{name}.{ext}"));
    std::fs::write(&copy, data).expect("write scratch copy");
    copy
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    entries
}

/// One test function: `GPIX_MAX_BYTES` is set once, before any thread reads
/// it, and the allocation counters see no other test.
#[test]
fn fuzz_corpus_replays_without_panics() {
    std::env::set_var("GPIX_MAX_BYTES", MAX_BYTES.to_string());
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let scratch = tempfile::tempdir().expect("scratch directory");
    let mut failures = Vec::new();
    let mut seen = Vec::new();
    let mut replayed = 0;

    for dir in sorted_entries(&corpus) {
        let target = dir
            .file_name()
            .expect("target directory name")
            .to_string_lossy()
            .into_owned();
        let files = sorted_entries(&dir);
        assert!(!files.is_empty(), "{} is empty", dir.display());
        for path in files {
            let name = path
                .file_name()
                .expect("corpus file name")
                .to_string_lossy()
                .into_owned();
            let data = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let (main, other) = expectations(&target, &name);
            eprintln!("replaying {target}/{name} ({} bytes)", data.len());
            let mut r = Replay {
                label: format!("{target}/{name}"),
                main,
                other,
                failures: &mut failures,
            };
            match target.as_str() {
                "npy" => replay_npy(&mut r, &path, &data),
                "palette_text" => replay_palette_text(&mut r, &path, &data, scratch.path()),
                "palette_image" => replay_palette_image(&mut r, &path, &data, scratch.path()),
                "image" => replay_image(&mut r, &path, &data, scratch.path()),
                other => panic!("fuzz/corpus/{other}/ has no replay here: add one"),
            }
            seen.push((target.clone(), name));
            replayed += 1;
        }
    }

    for (target, name) in HOSTILE {
        if !seen
            .iter()
            .any(|(t, n)| t.as_str() == *target && n.as_str() == *name)
        {
            failures.push(format!(
                "{target}/{name}: listed as hostile but missing from fuzz/corpus \
                 (run python3 fuzz/make_corpus.py)"
            ));
        }
    }
    eprintln!("replayed {replayed} corpus files");
    assert!(
        failures.is_empty(),
        "{} problem(s) replaying fuzz/corpus:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
