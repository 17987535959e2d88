//! The streamed band path every buffer op runs on: a ring of reusable band
//! buffers so that, on a real GPU, band *i+1* is written by the host while
//! band *i* computes and band *i−1* is read back, with no blocking wait per
//! band.
//!
//! Per band and ring slot:
//! - the host writes the band's input straight into a mapped upload buffer
//!   (`MAP_WRITE | COPY_SRC`), converting dtypes on the way, on every core:
//!   there is no second host copy as `queue.write_buffer` would make;
//! - one command buffer copies it into the storage buffer, runs the op's
//!   dispatches in one compute pass (timed by timestamp queries where the
//!   adapter has them) and copies only the requested output regions into the
//!   slot's readback buffer;
//! - after submitting, the upload buffer is re-mapped and the readback
//!   mapped asynchronously; the host only waits when it needs the slot again
//!   (three bands later) or at the end, then copies the band out in parallel.

use std::ops::Range;
use std::sync::mpsc::{channel, Receiver};
use std::time::Instant;

use rayon::prelude::*;

use super::{GpuContext, Phases};
use crate::error::{Error, Result};

/// Bands in flight: one being written by the host, one computing, one being
/// read back.
pub(crate) const RING: usize = 3;

/// Bytes per band the streamed path aims for: small enough that several
/// bands are in flight on a 12000² image and that the ring's buffers cost
/// few first-touch page faults, large enough that a band's transfer (~0.3 ms
/// over PCIe 4.0) dwarfs the per-submission cost.
pub(crate) const TARGET_BAND_BYTES: u64 = 8 << 20;

/// What one streamed run allocates per ring slot.
pub(crate) struct StreamSpec<'a> {
    /// Buffer label prefix (`gpix.<op>`).
    pub label: &'a str,
    /// Number of bands.
    pub bands: usize,
    /// Capacity in bytes of each uploaded input (largest band).
    pub inputs: Vec<u64>,
    /// Capacity in bytes of each storage output (largest band).
    pub outputs: Vec<u64>,
}

/// A region of output buffer `output` (byte `offset`, `len` bytes, both
/// multiples of 4) to read back; a band's regions arrive one after another.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Region {
    pub output: usize,
    pub offset: u64,
    pub len: u64,
}

/// An op's part of the streamed path.
pub(crate) trait BandKernel: Sync {
    /// What the op keeps per ring slot (bind groups, parameter buffers).
    type Slot;
    /// Builds a slot's state around its storage buffers.
    ///
    /// # Errors
    /// Pipeline or buffer creation failures.
    fn bind(
        &self,
        ctx: &GpuContext,
        inputs: &[wgpu::Buffer],
        outputs: &[wgpu::Buffer],
    ) -> Result<Self::Slot>;
    /// Bytes of input `input` for `band` (at most the spec's capacity).
    fn upload_len(&self, band: usize, input: usize) -> u64;
    /// Writes input `input` of `band` into mapped upload memory: exactly
    /// `upload_len` bytes rounded up to whole words (pad with zeros). Called
    /// on one thread; spread the work with [`par_write`].
    fn fill(&self, band: usize, input: usize, dst: wgpu::WriteOnly<'_, [u8]>);
    /// Records the band's dispatches into `pass` (writing its parameters
    /// through `queue` first) and says which output regions to read back.
    ///
    /// # Errors
    /// Dispatch sizes over the device's limits.
    fn record(
        &self,
        ctx: &GpuContext,
        band: usize,
        slot: &Self::Slot,
        pass: &mut wgpu::ComputePass<'_>,
    ) -> Result<Vec<Region>>;
    /// Records copies after the band's pass (keeping an uploaded input on
    /// the device for a later sweep, say). Nothing by default.
    fn after_pass(&self, _band: usize, _slot: &Self::Slot, _encoder: &mut wgpu::CommandEncoder) {}
}

/// One ring slot's buffers.
struct Slot<S> {
    uploads: Vec<wgpu::Buffer>,
    inputs: Vec<wgpu::Buffer>,
    outputs: Vec<wgpu::Buffer>,
    readback: wgpu::Buffer,
    stamps: Option<(wgpu::QuerySet, wgpu::Buffer)>,
    state: S,
    pending: Option<Pending>,
}

/// A submitted band whose results are not yet copied out.
struct Pending {
    band: usize,
    submission: wgpu::SubmissionIndex,
    /// Bytes of output regions in the readback buffer.
    data_len: u64,
    /// Offset of the two timestamps in the readback buffer, if recorded.
    stamps_at: Option<u64>,
    maps: Vec<Receiver<std::result::Result<(), wgpu::BufferAsyncError>>>,
}

/// Runs `kernel` over `spec.bands` bands on a ring of [`RING`] slots and
/// hands each band's read-back bytes (its regions, one after another) to
/// `drain`, in band order. Host time spent writing inputs, waiting and
/// copying outputs out goes to the context's [`Phases`].
///
/// # Errors
/// Kernel errors, device errors while waiting or mapping, and whatever
/// `drain` returns.
pub(crate) fn stream<K: BandKernel>(
    ctx: &GpuContext,
    spec: &StreamSpec<'_>,
    kernel: &K,
    drain: impl FnMut(usize, &[u8]) -> Result<()>,
) -> Result<()> {
    Ring::new(ctx, spec, kernel)?.run(ctx, spec.bands, kernel, drain)
}

/// The ring's buffers, made once and reusable for several sweeps of the
/// same kernel (k-means iterations): after [`Ring::run`] returns `Ok` every
/// slot is idle with its upload buffers mapped again. After an `Err` the
/// ring is spent: drop it (its buffers may be unmapped or in flight).
pub(crate) struct Ring<S> {
    slots: Vec<Slot<S>>,
}

impl<S> Ring<S> {
    /// Slots for bands of at most `spec`'s sizes (at most [`RING`], at
    /// most one per band).
    ///
    /// # Errors
    /// The kernel's `bind` errors.
    pub(crate) fn new<K: BandKernel<Slot = S>>(
        ctx: &GpuContext,
        spec: &StreamSpec<'_>,
        kernel: &K,
    ) -> Result<Self> {
        let readback_cap = spec.outputs.iter().sum::<u64>().div_ceil(8) * 8 + STAMP_BYTES;
        let slots = (0..RING.min(spec.bands))
            .map(|i| new_slot(ctx, spec, kernel, readback_cap, i))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { slots })
    }

    /// Runs `bands` bands of `kernel` (the one the ring was made for)
    /// through the slots; see [`stream`].
    ///
    /// # Errors
    /// As [`stream`].
    pub(crate) fn run<K: BandKernel<Slot = S>>(
        &mut self,
        ctx: &GpuContext,
        bands: usize,
        kernel: &K,
        mut drain: impl FnMut(usize, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let n = self.slots.len();
        if bands == 0 || n == 0 {
            return Ok(());
        }
        for band in 0..bands {
            let slot = &mut self.slots[band % n];
            if let Some(p) = slot.pending.take() {
                retire(ctx, slot, p, &mut drain)?;
            }
            submit(ctx, slot, kernel, band)?;
        }
        // The remaining bands, oldest first.
        let next = bands % n;
        for k in 0..n {
            let slot = &mut self.slots[(next + k) % n];
            if let Some(p) = slot.pending.take() {
                retire(ctx, slot, p, &mut drain)?;
            }
        }
        Ok(())
    }
}

/// Bytes kept at the end of each readback buffer for two timestamps.
const STAMP_BYTES: u64 = 16;

fn new_slot<K: BandKernel>(
    ctx: &GpuContext,
    spec: &StreamSpec<'_>,
    kernel: &K,
    readback_cap: u64,
    i: usize,
) -> Result<Slot<K::Slot>> {
    use wgpu::BufferUsages as U;
    let device = ctx.device();
    let make = |what: &str, k: usize, size: u64, usage: U, mapped: bool| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(&format!("{}.{what}{k}.slot{i}", spec.label)),
            // At least a word: an input a sweep does not upload still
            // binds and maps.
            size: round4(size).max(4),
            usage,
            mapped_at_creation: mapped,
        })
    };
    let uploads = (spec.inputs.iter().enumerate())
        .map(|(k, &b)| make("upload", k, b, U::MAP_WRITE | U::COPY_SRC, true))
        .collect();
    let inputs: Vec<_> = (spec.inputs.iter().enumerate())
        .map(|(k, &b)| make("input", k, b, U::STORAGE | U::COPY_DST | U::COPY_SRC, false))
        .collect();
    let outputs: Vec<_> = (spec.outputs.iter().enumerate())
        .map(|(k, &b)| make("output", k, b, U::STORAGE | U::COPY_SRC, false))
        .collect();
    let readback = make(
        "readback",
        0,
        readback_cap,
        U::MAP_READ | U::COPY_DST,
        false,
    );
    let stamps = ctx.has_timestamps().then(|| {
        let set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("gpix.stamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let resolve = make(
            "stamps",
            0,
            STAMP_BYTES,
            U::QUERY_RESOLVE | U::COPY_SRC,
            false,
        );
        (set, resolve)
    });
    let state = kernel.bind(ctx, &inputs, &outputs)?;
    Ok(Slot {
        uploads,
        inputs,
        outputs,
        readback,
        stamps,
        state,
        pending: None,
    })
}

/// Writes band `band`'s inputs into the slot's mapped upload buffers, records
/// and submits its commands, then asks for the buffers to be mapped again.
fn submit<K: BandKernel>(
    ctx: &GpuContext,
    slot: &mut Slot<K::Slot>,
    kernel: &K,
    band: usize,
) -> Result<()> {
    if ctx.phases_isolated() {
        ctx.wait(None)?;
    }
    let t = Instant::now();
    let mut lens = Vec::with_capacity(slot.uploads.len());
    for (k, upload) in slot.uploads.iter().enumerate() {
        debug_assert!(round4(kernel.upload_len(band, k)) <= upload.size());
        let len = round4(kernel.upload_len(band, k)).min(upload.size());
        if len > 0 && kernel.upload_len(band, k) > 0 {
            let mut view = upload
                .get_mapped_range_mut(..len)
                .map_err(|e| Error::Gpu(format!("writing an upload buffer: {e}")))?;
            kernel.fill(band, k, view.slice(..));
        }
        lens.push(if kernel.upload_len(band, k) > 0 {
            len
        } else {
            0
        });
    }
    for upload in &slot.uploads {
        upload.unmap();
    }
    ctx.add_phases(&Phases {
        upload_s: t.elapsed().as_secs_f64(),
        ..Phases::default()
    });

    let mut encoder = ctx
        .device()
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
    for ((upload, input), &len) in slot.uploads.iter().zip(&slot.inputs).zip(&lens) {
        if len > 0 {
            encoder.copy_buffer_to_buffer(upload, 0, input, 0, len);
        }
    }
    let regions = {
        let timestamp_writes =
            slot.stamps
                .as_ref()
                .map(|(set, _)| wgpu::ComputePassTimestampWrites {
                    query_set: set,
                    beginning_of_pass_write_index: Some(0),
                    end_of_pass_write_index: Some(1),
                });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("gpix.band"),
            timestamp_writes,
        });
        kernel.record(ctx, band, &slot.state, &mut pass)?
    };
    kernel.after_pass(band, &slot.state, &mut encoder);
    let mut at = 0;
    for r in &regions {
        encoder.copy_buffer_to_buffer(&slot.outputs[r.output], r.offset, &slot.readback, at, r.len);
        at += r.len;
    }
    let data_len = at;
    let stamps_at = slot.stamps.as_ref().map(|(set, resolve)| {
        let offset = at.div_ceil(8) * 8;
        encoder.resolve_query_set(set, 0..2, resolve, 0);
        encoder.copy_buffer_to_buffer(resolve, 0, &slot.readback, offset, STAMP_BYTES);
        offset
    });
    let submission = ctx.queue().submit([encoder.finish()]);

    let mut maps = Vec::new();
    let mut map = |buffer: &wgpu::Buffer, mode: wgpu::MapMode, range: Range<u64>| {
        let (tx, rx) = channel();
        buffer.map_async(mode, range, move |r| {
            // The receiver lives until the slot is retired.
            let _ = tx.send(r);
        });
        maps.push(rx);
    };
    for upload in &slot.uploads {
        map(upload, wgpu::MapMode::Write, 0..upload.size());
    }
    let read_end = stamps_at.map_or(data_len, |o| o + STAMP_BYTES);
    if read_end > 0 {
        map(&slot.readback, wgpu::MapMode::Read, 0..read_end);
    }
    slot.pending = Some(Pending {
        band,
        submission,
        data_len,
        stamps_at,
        maps,
    });
    Ok(())
}

/// Waits for a slot's band, hands its bytes to `drain`, unmaps the readback.
fn retire<S>(
    ctx: &GpuContext,
    slot: &Slot<S>,
    p: Pending,
    drain: &mut impl FnMut(usize, &[u8]) -> Result<()>,
) -> Result<()> {
    let t = Instant::now();
    ctx.wait(Some(p.submission))?;
    for rx in &p.maps {
        await_map(ctx, rx)?;
    }
    if ctx.phases_isolated() {
        ctx.wait(None)?;
    }
    let waited = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let read_end = p.stamps_at.map_or(p.data_len, |o| o + STAMP_BYTES);
    let mut device_s = 0.0;
    if read_end > 0 {
        {
            let view = slot
                .readback
                .get_mapped_range(0..read_end)
                .map_err(|e| Error::Gpu(format!("reading a band: {e}")))?;
            if let Some(at) = p.stamps_at {
                let at = at as usize;
                let stamp = |k: usize| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&view[at + 8 * k..at + 8 * k + 8]);
                    u64::from_le_bytes(b)
                };
                let ticks = stamp(1).saturating_sub(stamp(0));
                device_s = ticks as f64 * f64::from(ctx.queue().get_timestamp_period()) * 1e-9;
            }
            let drained = drain(p.band, &view[..p.data_len as usize]);
            drop(view);
            slot.readback.unmap();
            drained?;
        }
    } else {
        drain(p.band, &[])?;
    }
    ctx.add_phases(&Phases {
        wait_s: waited,
        readback_s: t.elapsed().as_secs_f64(),
        device_s,
        bands: 1,
        ..Phases::default()
    });
    Ok(())
}

/// Waits for a map callback. Callbacks run inside `poll`, possibly on
/// another thread sharing the device (tests, multithreaded callers), which
/// may be running ours right now: so wait on the channel, polling again
/// between short waits in case no one else is polling.
fn await_map(
    ctx: &GpuContext,
    rx: &Receiver<std::result::Result<(), wgpu::BufferAsyncError>>,
) -> Result<()> {
    use std::sync::mpsc::RecvTimeoutError;
    use std::time::Duration;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match rx.recv_timeout(Duration::from_millis(2)) {
            Ok(r) => return r.map_err(|e| Error::Gpu(format!("mapping a band buffer: {e}"))),
            Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => ctx.wait(None)?,
            Err(_) => return Err(Error::Gpu("a buffer mapping never completed".into())),
        }
    }
}

fn round4(bytes: u64) -> u64 {
    bytes.div_ceil(4) * 4
}

/// Bytes per parallel piece of a host copy: large enough to amortise a
/// task, small enough that 2 cores (or 64) share a band evenly.
const PIECE_BYTES: usize = 256 << 10;

/// Bytes of scratch a worker converts before copying them into mapped
/// memory: small enough to stay in L1, so the conversion costs no extra
/// pass over memory.
const SCRATCH_BYTES: usize = 16 << 10;

/// Fills `dst` in parallel: it is cut into pieces (multiples of `unit`
/// bytes) spread over every core; each piece is filled a few KiB at a time
/// by `write(first_byte, buf)` into a zeroed, 8-byte aligned scratch `buf`
/// that is then copied into the mapped memory, so conversions run on every
/// core and mapped memory (which may be write-combined) is only ever
/// written, in order.
pub(crate) fn par_write(
    dst: wgpu::WriteOnly<'_, [u8]>,
    unit: usize,
    write: impl Fn(usize, &mut [u8]) + Sync,
) {
    let unit = unit.max(1);
    let per_piece = (PIECE_BYTES / unit).max(1) * unit;
    let per_chunk = (SCRATCH_BYTES / unit).max(1) * unit;
    let mut pieces = Vec::with_capacity(dst.len() / per_piece + 1);
    let mut rest = dst;
    while !rest.is_empty() {
        let take = per_piece.min(rest.len());
        let (mut head, tail) = rest.split_at(take);
        pieces.push(Piece(head.as_raw_ptr()));
        rest = tail;
    }
    pieces.into_par_iter().enumerate().for_each_init(
        Vec::new,
        |scratch: &mut Vec<u64>, (i, piece)| {
            // SAFETY: the pieces are disjoint parts of `dst`, which stays
            // borrowed (valid, and written by no one else) for this call.
            let mut rest = unsafe { wgpu::WriteOnly::new(piece.0) };
            let mut at = i * per_piece;
            while !rest.is_empty() {
                let take = per_chunk.min(rest.len());
                let (mut chunk, tail) = rest.split_at(take);
                // u64 words keep the scratch aligned for any value type.
                scratch.clear();
                scratch.resize(take.div_ceil(8), 0);
                let buf = &mut bytemuck::cast_slice_mut(scratch.as_mut_slice())[..take];
                write(at, buf);
                chunk.copy_from_slice(buf);
                at += take;
                rest = tail;
            }
        },
    );
}

/// One disjoint piece of mapped memory handed to a worker thread
/// (`WriteOnly<[u8]>` itself is not `Send`).
struct Piece(std::ptr::NonNull<[u8]>);
// SAFETY: a piece is written by exactly one task (see `par_write`).
unsafe impl Send for Piece {}

/// Splits `src` (read-back bytes) and `dst` into matching pieces of whole
/// units and runs `read(src_piece, dst_piece)` on every core.
pub(crate) fn par_read<T: Send>(
    src: &[u8],
    src_unit: usize,
    dst: &mut [T],
    dst_unit: usize,
    read: impl Fn(&[u8], &mut [T]) + Sync,
) {
    let units = (PIECE_BYTES / src_unit.max(1)).max(1);
    src.par_chunks(units * src_unit.max(1))
        .zip(dst.par_chunks_mut(units * dst_unit.max(1)))
        .for_each(|(s, d)| read(s, d));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_write_fills_every_unit_in_order() {
        let mut buf = vec![0u8; 3 * 100_003];
        par_write(
            wgpu::WriteOnly::from_mut(buf.as_mut_slice()),
            3,
            |first, out| {
                assert_eq!(first % 3, 0);
                for (k, px) in out.chunks_mut(3).enumerate() {
                    let v = ((first / 3 + k) % 251) as u8;
                    px.copy_from_slice(&[v, v, v]);
                }
            },
        );
        for (i, px) in buf.chunks(3).enumerate() {
            assert_eq!(px, [(i % 251) as u8; 3]);
        }
    }

    #[test]
    fn par_read_pairs_matching_pieces() {
        let src: Vec<u8> = (0..400_000u32).map(|i| (i % 256) as u8).collect();
        let mut dst = vec![0u16; src.len()];
        par_read(&src, 1, &mut dst, 1, |s, d| {
            for (a, b) in d.iter_mut().zip(s) {
                *a = u16::from(*b);
            }
        });
        assert!(dst.iter().zip(&src).all(|(&a, &b)| a == u16::from(b)));
    }
}
