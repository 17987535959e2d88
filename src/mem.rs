//! Memory for big arrays: transparent huge pages where the OS offers them.
//!
//! A fresh buffer costs one page fault per 4 KiB page at its first touch
//! (~3 µs each on a small VM: 75 ms for a 100 MB array, as much as the work
//! on it). Linux can back memory with 2 MiB pages instead, 512 times fewer
//! faults, but in its common `madvise` mode only where a program asks with
//! `madvise(MADV_HUGEPAGE)` — which numpy does for every array of 4 MiB or
//! more. [`HugePageAlloc`] does the same for every large Rust allocation of
//! a program that installs it as its global allocator (the `gpix` command
//! does). Elsewhere (other OSes, THP `never`) it is the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations of at least this many bytes ask for huge pages (numpy's
/// threshold).
pub const HUGE_PAGE_THRESHOLD: usize = 4 << 20;

/// The system allocator, asking the OS for transparent huge pages on
/// allocations of [`HUGE_PAGE_THRESHOLD`] bytes or more.
///
/// ```ignore
/// #[global_allocator]
/// static ALLOC: gpix::mem::HugePageAlloc = gpix::mem::HugePageAlloc;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HugePageAlloc;

// SAFETY: every call is forwarded to `System` with the same arguments; the
// advice only changes how the OS backs the returned memory, never its
// contents, address or size.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        advise_huge_pages(ptr, layout.size());
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`. A large zeroed block is fresh mapped memory
        // that nobody has touched yet, so the advice precedes every fault.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        advise_huge_pages(ptr, layout.size());
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `System` via this type.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        advise_huge_pages(new, new_size);
        new
    }
}

/// Asks for huge pages on the whole pages inside `ptr..ptr + len` when the
/// block is large enough. Only advice: a refusal changes nothing.
#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, len: usize) {
    const PAGE: usize = 4096;
    if ptr.is_null() || len < HUGE_PAGE_THRESHOLD {
        return;
    }
    let start = (ptr as usize).next_multiple_of(PAGE);
    let end = (ptr as usize + len) & !(PAGE - 1);
    if end > start {
        // SAFETY: the range lies inside a block the allocator just handed
        // out; MADV_HUGEPAGE neither frees nor changes memory.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_: *mut u8, _: usize) {}

/// Whether the OS gives huge pages to memory that asks for them, for `-v`
/// and the docs: Linux's `/sys/kernel/mm/transparent_hugepage/enabled`
/// (`always` or `madvise` means yes); `None` where that cannot be read.
#[must_use]
pub fn huge_pages_mode() -> Option<String> {
    let text = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
    let mode = text.split_whitespace().find(|w| w.starts_with('['))?;
    Some(mode.trim_matches(['[', ']']).to_owned())
}

/// The allocation limit where the machine's available memory cannot be
/// read (other OSes): big enough for a 12000×12000 RGBA 16-bit image several
/// times over.
pub const DEFAULT_MAX_BYTES: u64 = 16 << 30;

/// The most bytes one array or scratch buffer may take: `GPIX_MAX_BYTES` if
/// set to a number, else the memory the OS says is available now (Linux's
/// `MemAvailable`), else [`DEFAULT_MAX_BYTES`]. Every reader checks a file's
/// claimed size, and every operation its buffers, against it before
/// allocating, so a lying header or a huge window is an error, not an abort.
#[must_use]
pub fn max_bytes() -> u64 {
    env_max_bytes()
        .or_else(available_memory)
        .unwrap_or(DEFAULT_MAX_BYTES)
}

fn env_max_bytes() -> Option<u64> {
    std::env::var("GPIX_MAX_BYTES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
}

/// Requests up to this size pass [`check_bytes`] without reading
/// `/proc/meminfo` (a few microseconds, which small calls from Python would
/// pay every time); `GPIX_MAX_BYTES` still applies to them.
const UNCHECKED_BYTES: u128 = 64 << 20;

/// `MemAvailable` from `/proc/meminfo`, in bytes.
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Fails with [`crate::Error::TooLarge`] when `what` would need more than
/// [`max_bytes`]: `count` values of `size` bytes each, counted without
/// overflow (`None` stands for a count that overflowed).
///
/// # Errors
/// [`crate::Error::TooLarge`] over the limit.
pub fn check_bytes(
    what: impl FnOnce() -> String,
    count: Option<u128>,
    size: usize,
) -> crate::Result<()> {
    let bytes = count.and_then(|n| n.checked_mul(size as u128));
    let limit = env_max_bytes().unwrap_or_else(|| match bytes {
        Some(b) if b <= UNCHECKED_BYTES => u64::MAX,
        _ => available_memory().unwrap_or(DEFAULT_MAX_BYTES),
    });
    match bytes {
        Some(b) if b <= u128::from(limit) => Ok(()),
        _ => Err(crate::Error::too_large(
            what(),
            bytes.map_or(u64::MAX, |b| u64::try_from(b).unwrap_or(u64::MAX)),
            limit,
        )),
    }
}

/// Outputs smaller than this are not pre-faulted (a few pages: nothing to
/// spread over cores).
const PREFAULT_MIN_BYTES: usize = 4 << 20;

/// Writes a zero byte into every 4 KiB page of `out`, on every core, before
/// a GPU path fills it band by band. Its first-touch faults (with
/// transparent huge pages, the zeroing of each 2 MiB page) then happen in
/// parallel instead of a few pages at a time inside each band's readback:
/// on an H200 machine a fresh 576 MB output cost the GPU path 41 ms more
/// than a reused one, the CPU path (whose threads fault their own rows)
/// 11 ms. A reused output costs one write per page. `out` must be about to
/// be overwritten whole.
pub(crate) fn prefault<T: bytemuck::Pod>(out: &mut [T]) {
    use rayon::prelude::*;
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(out);
    if bytes.len() < PREFAULT_MIN_BYTES {
        return;
    }
    bytes.par_chunks_mut(2 << 20).for_each(|chunk| {
        // Writes 4096 apart reach every page the chunk starts in or crosses;
        // the last byte covers a final page a misaligned start leaves out.
        for i in (0..chunk.len()).step_by(4096) {
            chunk[i] = 0;
        }
        if let Some(last) = chunk.last_mut() {
            *last = 0;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 4 KiB page a (misaligned) output covers gets a write, and the
    /// writes are zeros; small outputs are left alone.
    #[test]
    fn prefault_writes_every_page_of_the_output() {
        let mut data = vec![7u8; (5 << 20) + 9000];
        for start in [0usize, 1, 4095] {
            data.fill(7);
            let out = &mut data[start..start + (4 << 20) + 5000];
            prefault(out);
            let base = out.as_ptr() as usize;
            let mut touched = std::collections::BTreeSet::new();
            for (i, &b) in out.iter().enumerate() {
                assert!(b == 0 || b == 7);
                if b == 0 {
                    touched.insert((base + i) / 4096);
                }
            }
            let pages: std::collections::BTreeSet<usize> =
                (base / 4096..=(base + out.len() - 1) / 4096).collect();
            assert_eq!(touched, pages, "start {start}");
        }
        let mut small = vec![7u8; 1 << 20];
        prefault(&mut small);
        assert!(small.iter().all(|&b| b == 7));
    }
}
