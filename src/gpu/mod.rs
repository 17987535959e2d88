//! GPU plumbing shared by every kernel: the context, dispatch sizing, readback.

mod context;
pub(crate) mod stream;

pub(crate) use context::build_pipeline;
pub use context::{cache_dir, hardware_gpu_possible, list_adapters, AdapterSummary, GpuContext};

use crate::error::{Error, Result};

/// Where the time of streamed GPU work went, summed over bands (seconds).
/// Host phases are CPU work whatever the GPU: they bound what any GPU can
/// gain end to end.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Phases {
    /// Host writing inputs into mapped upload memory (with dtype conversion).
    pub upload_s: f64,
    /// Host blocked waiting for the device.
    pub wait_s: f64,
    /// Host copying read-back outputs out (with dtype conversion).
    pub readback_s: f64,
    /// Device time of the bands' compute passes, from timestamp queries;
    /// 0 where the device has none ([`GpuContext::has_timestamps`]).
    pub device_s: f64,
    /// Bands run.
    pub bands: u64,
}

impl Phases {
    fn add(&mut self, o: &Phases) {
        self.upload_s += o.upload_s;
        self.wait_s += o.wait_s;
        self.readback_s += o.readback_s;
        self.device_s += o.device_s;
        self.bands += o.bands;
    }
}

/// Splits `groups` workgroups into a 2-D dispatch `(x, y)` with `x * y >= groups`
/// and both at most `max_per_dim` (wgpu allows 65535 per dimension). Kernels
/// recover the linear workgroup number as `wg.y * num_workgroups.x + wg.x`.
///
/// # Errors
/// [`Error::TooLarge`] if even a square dispatch cannot hold `groups`.
pub(crate) fn dispatch_size(groups: u64, max_per_dim: u32) -> Result<(u32, u32)> {
    let max = u64::from(max_per_dim.max(1));
    let x = groups.clamp(1, max);
    let y = groups.div_ceil(x).max(1);
    if y > max {
        return Err(Error::too_large("a GPU dispatch", groups, max * max));
    }
    Ok((x as u32, y as u32))
}

/// Maps the first `bytes` of `staging` once `submission` is done and copies
/// `dst.len()` (≤ `bytes`) of them into `dst`.
pub(crate) fn read_mapped(
    ctx: &GpuContext,
    staging: &wgpu::Buffer,
    bytes: u64,
    submission: wgpu::SubmissionIndex,
    dst: &mut [u8],
) -> Result<()> {
    let slice = staging.slice(..bytes);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        // The receiver outlives the wait below; a failed send cannot happen.
        let _ = tx.send(r);
    });
    ctx.wait(Some(submission))?;
    rx.recv()
        .map_err(|_| Error::Gpu("readback callback never ran".into()))?
        .map_err(|e| Error::Gpu(format!("mapping a readback buffer: {e}")))?;
    {
        let view = slice
            .get_mapped_range()
            .map_err(|e| Error::Gpu(format!("reading a mapped buffer: {e}")))?;
        dst.copy_from_slice(&view[..dst.len()]);
    }
    staging.unmap();
    Ok(())
}

/// A buffer of at least `bytes` (rounded up to whole words, at least one).
pub(crate) fn buffer(
    ctx: &GpuContext,
    label: &str,
    bytes: u64,
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.div_ceil(4).max(1) * 4,
        usage,
        mapped_at_creation: false,
    })
}

/// A bind group of `pipeline`'s group 0 with whole buffers at the given bindings.
pub(crate) fn bind_buffers(
    ctx: &GpuContext,
    pipeline: &wgpu::ComputePipeline,
    entries: &[(u32, &wgpu::Buffer)],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry<'_>> = entries
        .iter()
        .map(|&(binding, b)| wgpu::BindGroupEntry {
            binding,
            resource: b.as_entire_binding(),
        })
        .collect();
    ctx.device().create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("gpix.bind"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    })
}

/// One compute dispatch: pipeline, its bind group, workgroups `(x, y)`.
pub(crate) type Pass<'a> = (&'a wgpu::ComputePipeline, &'a wgpu::BindGroup, (u32, u32));

/// Records `passes` in order (each its own compute pass, so later passes see
/// earlier writes), lets `extra` append copies, and submits.
pub(crate) fn submit_passes(
    ctx: &GpuContext,
    label: &str,
    passes: &[Pass<'_>],
    extra: impl FnOnce(&mut wgpu::CommandEncoder),
) -> wgpu::SubmissionIndex {
    let mut encoder = ctx
        .device()
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
    for &(pipeline, group, (x, y)) in passes {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(label),
            timestamp_writes: None,
        });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, group, &[]);
        pass.dispatch_workgroups(x, y, 1);
    }
    extra(&mut encoder);
    ctx.queue().submit([encoder.finish()])
}

/// Uploads `bytes` at offset 0, padding the last partial word with zeros
/// (wgpu copies whole 4-byte words only).
pub(crate) fn write_padded(queue: &wgpu::Queue, buffer: &wgpu::Buffer, bytes: &[u8]) {
    let whole = bytes.len() / 4 * 4;
    if whole > 0 {
        queue.write_buffer(buffer, 0, &bytes[..whole]);
    }
    if whole < bytes.len() {
        let mut tail = [0u8; 4];
        tail[..bytes.len() - whole].copy_from_slice(&bytes[whole..]);
        queue.write_buffer(buffer, whole as u64, &tail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_covers_groups_within_limits() {
        for groups in [0u64, 1, 2, 65535, 65536, 1 << 20, 65535 * 65535] {
            let (x, y) = dispatch_size(groups, 65535).unwrap();
            assert!(u64::from(x) * u64::from(y) >= groups);
            assert!(x <= 65535 && y <= 65535);
        }
        assert!(dispatch_size(65535 * 65535 + 1, 65535).is_err());
    }
}
