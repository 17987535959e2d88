//! The GPU context: one device + queue, pipelines built once and cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Phases;
use crate::error::{Error, Result};

/// Facts about one wgpu adapter, as `gpix devices` prints them.
#[derive(Debug, Clone)]
pub struct AdapterSummary {
    /// Adapter name as the driver reports it.
    pub name: String,
    /// Backend (Vulkan, Metal, Dx12, Gl).
    pub backend: String,
    /// Device type (DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu, Other).
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
    /// True for software rasterizers (llvmpipe/lavapipe, WARP, SwiftShader).
    pub software: bool,
    /// `max_storage_buffer_binding_size` in bytes.
    pub max_storage_binding_bytes: u64,
    /// `max_buffer_size` in bytes.
    pub max_buffer_bytes: u64,
    /// `max_compute_workgroups_per_dimension`.
    pub max_workgroups_per_dimension: u32,
    /// `max_compute_workgroup_storage_size` in bytes.
    pub max_workgroup_storage_bytes: u32,
    /// Whether compiled pipelines can be kept on disk between runs
    /// (wgpu's `PIPELINE_CACHE`: Vulkan adapters).
    pub pipeline_cache: bool,
    /// Whether kernels can be timed on the device (`TIMESTAMP_QUERY`).
    pub timestamps: bool,
}

impl AdapterSummary {
    fn new(info: &wgpu::AdapterInfo, limits: &wgpu::Limits, features: wgpu::Features) -> Self {
        Self {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            software: is_software(info),
            max_storage_binding_bytes: limits.max_storage_buffer_binding_size,
            max_buffer_bytes: limits.max_buffer_size,
            max_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_workgroup_storage_bytes: limits.max_compute_workgroup_storage_size,
            pipeline_cache: features.contains(wgpu::Features::PIPELINE_CACHE)
                && wgpu::util::pipeline_cache_key(info).is_some(),
            timestamps: features.contains(wgpu::Features::TIMESTAMP_QUERY),
        }
    }
}

/// Software rasterizers are slower than gpix's own CPU path, so `auto` never picks them.
fn is_software(info: &wgpu::AdapterInfo) -> bool {
    !matches!(
        info.device_type,
        wgpu::DeviceType::DiscreteGpu
            | wgpu::DeviceType::IntegratedGpu
            | wgpu::DeviceType::VirtualGpu
    )
}

fn new_instance() -> wgpu::Instance {
    // `_from_env` keeps WGPU_BACKEND and friends meaning what wgpu users expect.
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// All adapters wgpu can see, filtered by `WGPU_ADAPTER_NAME` when it is set
/// (a case-insensitive substring of the adapter name, as in wgpu's own helpers).
fn adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    let all = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    let wanted = std::env::var("WGPU_ADAPTER_NAME")
        .ok()
        .map(|s| s.to_lowercase());
    all.into_iter()
        .filter(|a| match &wanted {
            Some(w) => a.get_info().name.to_lowercase().contains(w),
            None => true,
        })
        .collect()
}

/// Lists every adapter wgpu finds on this machine.
#[must_use]
pub fn list_adapters() -> Vec<AdapterSummary> {
    adapters(&new_instance())
        .iter()
        .map(|a| AdapterSummary::new(&a.get_info(), &a.limits(), a.features()))
        .collect()
}

/// Preference among adapters: discrete, integrated, virtual, then software;
/// Vulkan/Metal/Dx12 before GL for the same device type.
fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let ty = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    let backend = u8::from(info.backend == wgpu::Backend::Gl);
    (ty, backend)
}

/// Picks the best adapter; `hardware_only` drops software rasterizers.
fn pick_adapter(instance: &wgpu::Instance, hardware_only: bool) -> Option<wgpu::Adapter> {
    adapters(instance)
        .into_iter()
        .filter(|a| !hardware_only || !is_software(&a.get_info()))
        .min_by_key(|a| rank(&a.get_info()))
}

/// Whether this machine can have a hardware GPU at all. On Linux every GPU
/// driver a Vulkan or GL adapter runs on shows a device node (DRM render
/// nodes for Mesa and AMD/Intel, `/dev/nvidia*`, WSL's `/dev/dxg`, Adreno's
/// `/dev/kgsl*`, Mali's `/dev/mali*`); without one, the only adapters wgpu
/// could find are software rasterizers, which `auto` never picks, so the
/// probe (~50 ms of loading drivers) is skipped. `WGPU_BACKEND` or
/// `WGPU_ADAPTER_NAME` in the environment always probe.
#[must_use]
pub fn hardware_gpu_possible() -> bool {
    if !cfg!(target_os = "linux")
        || std::env::var_os("WGPU_BACKEND").is_some()
        || std::env::var_os("WGPU_ADAPTER_NAME").is_some()
    {
        return true;
    }
    let has_entry = |dir: &str, prefixes: &[&str]| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                prefixes.iter().any(|p| name.starts_with(p))
            })
        })
    };
    has_entry("/dev/dri", &["renderD", "card"])
        || has_entry("/dev", &["nvidia", "dxg", "kgsl", "mali"])
}

struct Inner {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    band_budget: Option<u64>,
    dispatch_pairs: u64,
    compensated: bool,
    pipelines: Mutex<HashMap<String, Arc<wgpu::ComputePipeline>>>,
    cache: Option<Arc<DiskCache>>,
    phases: Mutex<Phases>,
    isolate_phases: std::sync::atomic::AtomicBool,
}

/// Pixel-candidate pairs one palette dispatch evaluates by default: about
/// 15 ms on a mid-range GPU (~3·10^11 distance evaluations a second), far
/// below desktop watchdogs (~2 s).
const DISPATCH_PAIRS: u64 = 1 << 32;

/// A wgpu device and queue plus gpix's cached pipelines. Cheap to clone
/// (shared). Build one and reuse it: creating a device costs ~0.3 s.
#[derive(Clone)]
pub struct GpuContext {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.inner.info.name)
            .field("backend", &self.inner.info.backend)
            .field("band_budget", &self.inner.band_budget)
            .finish()
    }
}

impl GpuContext {
    /// A context on the best adapter, software rasterizers included
    /// (`--device gpu`).
    ///
    /// # Errors
    /// [`Error::NoAdapter`] when wgpu finds none; [`Error::Gpu`] if the
    /// device cannot be created.
    pub fn new() -> Result<Self> {
        Self::pick(false)
    }

    /// A context on the best hardware adapter, or `None` when there is only a
    /// software rasterizer or nothing (`--device auto`).
    ///
    /// # Errors
    /// [`Error::Gpu`] if a hardware adapter exists but the device cannot be created.
    pub fn new_hardware() -> Result<Option<Self>> {
        if !hardware_gpu_possible() {
            return Ok(None);
        }
        match Self::pick(true) {
            Ok(ctx) => Ok(Some(ctx)),
            Err(Error::NoAdapter(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn pick(hardware_only: bool) -> Result<Self> {
        let instance = new_instance();
        let adapter = pick_adapter(&instance, hardware_only).ok_or_else(|| {
            Error::NoAdapter(if hardware_only {
                " (software rasterizers are not used by --device auto)".into()
            } else {
                " (install a Vulkan/Metal/DX12 driver, e.g. mesa-vulkan-drivers)".into()
            })
        })?;
        Self::from_adapter(&adapter)
    }

    /// A context on a given adapter, requesting the adapter's own buffer and
    /// workgroup limits (wgpu's defaults are lower).
    ///
    /// # Errors
    /// [`Error::Gpu`] if the device cannot be created.
    pub fn from_adapter(adapter: &wgpu::Adapter) -> Result<Self> {
        let limits = wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits());
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: adapter.limits().max_storage_buffer_binding_size,
            max_buffer_size: adapter.limits().max_buffer_size,
            max_storage_buffers_per_shader_stage: adapter
                .limits()
                .max_storage_buffers_per_shader_stage
                .min(8),
            max_compute_workgroup_storage_size: adapter.limits().max_compute_workgroup_storage_size,
            max_compute_invocations_per_workgroup: 256,
            max_compute_workgroup_size_x: 256,
            ..limits
        };
        // Timestamps time each band's kernels (`gpix bench` phases); a
        // pipeline cache spares later runs the driver's shader compiles.
        let features =
            adapter.features() & (wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::PIPELINE_CACHE);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("gpix"),
            required_limits: limits,
            required_features: features,
            ..Default::default()
        }))
        .map_err(|e| Error::Gpu(format!("cannot create a device: {e}")))?;
        let mut ctx = Self::from_device(device, queue);
        if let Some(cache) = DiskCache::open(&ctx.inner.device, &ctx.inner.info) {
            if let Some(inner) = Arc::get_mut(&mut ctx.inner) {
                inner.cache = Some(Arc::new(cache));
            }
        }
        Ok(ctx)
    }

    /// A context on the caller's existing device and queue (render tools).
    /// gpix uses the device's own limits for band sizes.
    #[must_use]
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue) -> Self {
        let info = device.adapter_info();
        let limits = device.limits();
        Self {
            inner: Arc::new(Inner {
                device,
                queue,
                info,
                limits,
                band_budget: None,
                dispatch_pairs: DISPATCH_PAIRS,
                compensated: true,
                pipelines: Mutex::new(HashMap::new()),
                cache: None,
                phases: Mutex::new(Phases::default()),
                isolate_phases: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// The same device with the per-band buffer budget lowered to `bytes`
    /// (at least 4). Tests use tiny budgets so multi-band code runs on small
    /// images; the `GPIX_BAND_BYTES` variable does the same for the CLI.
    #[must_use]
    pub fn with_band_budget(&self, bytes: u64) -> Self {
        self.derived(
            Some(bytes.max(4)),
            self.inner.dispatch_pairs,
            self.inner.compensated,
        )
    }

    /// The same device with at most `pairs` pixel-candidate pairs per
    /// palette dispatch (default 2^32, ~15 ms on a mid-range GPU): lower
    /// it where a slow GPU's watchdog kills long dispatches; tests lower it
    /// so small images take the split path.
    #[must_use]
    pub fn with_dispatch_pairs(&self, pairs: u64) -> Self {
        self.derived(self.inner.band_budget, pairs.max(1), self.inner.compensated)
    }

    /// Pixel-candidate pairs one palette dispatch evaluates at most.
    pub(crate) fn dispatch_pairs(&self) -> u64 {
        self.inner.dispatch_pairs
    }

    /// The same device with the filters' f32 sums left uncompensated: a
    /// test shows the compensation is what meets the documented bound (a
    /// compiler that dropped it would fail the same test). Not for use.
    #[doc(hidden)]
    #[must_use]
    pub fn with_plain_filter_sums(&self) -> Self {
        self.derived(self.inner.band_budget, self.inner.dispatch_pairs, false)
    }

    /// Whether the filter kernels compensate their f32 sums (always, but
    /// for [`GpuContext::with_plain_filter_sums`]).
    pub(crate) fn compensated_sums(&self) -> bool {
        self.inner.compensated
    }

    fn derived(&self, band_budget: Option<u64>, dispatch_pairs: u64, compensated: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                device: self.inner.device.clone(),
                queue: self.inner.queue.clone(),
                info: self.inner.info.clone(),
                limits: self.inner.limits.clone(),
                band_budget,
                dispatch_pairs,
                compensated,
                pipelines: Mutex::new(self.pipelines_snapshot()),
                cache: self.inner.cache.clone(),
                phases: Mutex::new(Phases::default()),
                isolate_phases: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    fn pipelines_snapshot(&self) -> HashMap<String, Arc<wgpu::ComputePipeline>> {
        self.inner
            .pipelines
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// The wgpu device.
    #[must_use]
    pub fn device(&self) -> &wgpu::Device {
        &self.inner.device
    }
    /// The wgpu queue.
    #[must_use]
    pub fn queue(&self) -> &wgpu::Queue {
        &self.inner.queue
    }
    /// The adapter's description.
    #[must_use]
    pub fn adapter(&self) -> AdapterSummary {
        AdapterSummary::new(
            &self.inner.info,
            &self.inner.limits,
            self.inner.device.features(),
        )
    }
    /// True on a software rasterizer (lavapipe and the like).
    #[must_use]
    pub fn is_software(&self) -> bool {
        is_software(&self.inner.info)
    }

    /// Largest buffer a band may use: the device's binding and buffer limits,
    /// lowered by [`GpuContext::with_band_budget`].
    #[must_use]
    pub fn band_bytes(&self) -> u64 {
        let limit = self
            .inner
            .limits
            .max_storage_buffer_binding_size
            .min(self.inner.limits.max_buffer_size);
        // Kernels index values with u32: a band holds at most 2^32 − 1
        // values even where a binding may exceed 4 GiB (Metal).
        let limit = limit.min(u64::from(u32::MAX));
        // Keep to a multiple of 4: every buffer gpix binds holds u32 words.
        let limit = match self.inner.band_budget {
            Some(b) => limit.min(b),
            None => limit,
        };
        (limit / 4 * 4).max(4)
    }

    /// Bytes per band the streamed path aims for: [`GpuContext::band_bytes`]
    /// capped at a few MiB so several bands are in flight.
    #[must_use]
    pub fn stream_band_bytes(&self) -> u64 {
        self.band_bytes().min(super::stream::TARGET_BAND_BYTES)
    }

    /// True where the device records timestamps, so phases include device time.
    #[must_use]
    pub fn has_timestamps(&self) -> bool {
        self.inner
            .device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Host and device time of the streamed band path since the last call
    /// (and resets it): what `gpix bench --phases` prints.
    #[must_use]
    pub fn take_phases(&self) -> Phases {
        self.inner
            .phases
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    /// With `true`, the streamed path lets the device go idle before each
    /// host phase, so host and device times are measured apart. Only for
    /// measuring (`gpix bench --phases`): on a software adapter host and
    /// device share the same cores and would slow each other down; on a
    /// hardware GPU it removes the overlap that hides host work.
    pub fn isolate_phases(&self, on: bool) {
        self.inner
            .isolate_phases
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn phases_isolated(&self) -> bool {
        self.inner
            .isolate_phases
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn add_phases(&self, more: &Phases) {
        if let Ok(mut p) = self.inner.phases.lock() {
            p.add(more);
        }
    }

    /// Largest number of workgroups along one dispatch dimension.
    #[must_use]
    pub fn max_workgroups_per_dimension(&self) -> u32 {
        self.inner.limits.max_compute_workgroups_per_dimension
    }

    /// The compute pipeline labelled `name` (`gpix.<kernel>[.<variant>]`),
    /// built from `source` with the given override `constants` on first use
    /// and cached. Creation errors come back as [`Error::Gpu`], not a panic.
    pub(crate) fn pipeline(
        &self,
        name: &str,
        source: &str,
        entry_point: &str,
        constants: &[(&str, f64)],
    ) -> Result<Arc<wgpu::ComputePipeline>> {
        let mut cache = self
            .inner
            .pipelines
            .lock()
            .map_err(|_| Error::Gpu("pipeline cache poisoned".into()))?;
        if let Some(p) = cache.get(name) {
            return Ok(p.clone());
        }
        let disk = self.inner.cache.as_deref();
        let pipeline = build_pipeline_cached(
            &self.inner.device,
            name,
            source,
            entry_point,
            constants,
            disk.map(|c| &c.cache),
        )?;
        if let Some(c) = disk {
            c.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let pipeline = Arc::new(pipeline);
        cache.insert(name.to_string(), pipeline.clone());
        Ok(pipeline)
    }

    /// Runs `work` inside a validation + out-of-memory error scope and turns
    /// any captured error into [`Error::Gpu`].
    pub(crate) fn checked<T>(&self, what: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
        let device = &self.inner.device;
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = work();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        if let Some(err) = v.or(o) {
            return Err(Error::Gpu(format!("{what}: {err}")));
        }
        result
    }

    /// Blocks until `submission` (or, with `None`, everything submitted) is done
    /// and its map callbacks have run.
    pub(crate) fn wait(&self, submission: Option<wgpu::SubmissionIndex>) -> Result<()> {
        self.inner
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: submission,
                timeout: None,
            })
            .map(|_| ())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))
    }
}

/// A compute pipeline (see [`build_pipeline_cached`]) without a cache.
pub(crate) fn build_pipeline(
    device: &wgpu::Device,
    name: &str,
    source: &str,
    entry_point: &str,
    constants: &[(&str, f64)],
) -> Result<wgpu::ComputePipeline> {
    build_pipeline_cached(device, name, source, entry_point, constants, None)
}

/// A compute pipeline named `name` from WGSL `source` with override
/// `constants` and a layout derived from the shader, inside a validation
/// error scope so a bad shader is an [`Error::Gpu`], not a panic. Workgroup
/// memory is not zeroed: every kernel initialises what it reads.
fn build_pipeline_cached(
    device: &wgpu::Device,
    name: &str,
    source: &str,
    entry_point: &str,
    constants: &[(&str, f64)],
    cache: Option<&wgpu::PipelineCache>,
) -> Result<wgpu::ComputePipeline> {
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(name),
        layout: None,
        module: &module,
        entry_point: Some(entry_point),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants,
            zero_initialize_workgroup_memory: false,
        },
        cache,
    });
    if let Some(err) = pollster::block_on(scope.pop()) {
        return Err(Error::Gpu(format!("building pipeline {name}: {err}")));
    }
    Ok(pipeline)
}

/// Compiled pipelines kept on disk between runs: a `wgpu::PipelineCache`
/// loaded from the user's cache folder when the device is made and written
/// back (atomically) when the context goes away, if a pipeline was built.
struct DiskCache {
    cache: wgpu::PipelineCache,
    path: std::path::PathBuf,
    loaded_bytes: usize,
    dirty: std::sync::atomic::AtomicBool,
}

/// Cache files larger than this are ignored (a corrupt or foreign file).
const MAX_CACHE_BYTES: u64 = 256 << 20;

impl DiskCache {
    fn open(device: &wgpu::Device, info: &wgpu::AdapterInfo) -> Option<Self> {
        if !device.features().contains(wgpu::Features::PIPELINE_CACHE) {
            return None;
        }
        let key = wgpu::util::pipeline_cache_key(info)?;
        let path = cache_dir()?.join(format!("{key}.bin"));
        let data = std::fs::metadata(&path)
            .ok()
            .filter(|m| m.len() <= MAX_CACHE_BYTES)
            .and_then(|_| std::fs::read(&path).ok());
        // SAFETY: the file holds what `get_data` returned for an adapter of
        // the same `pipeline_cache_key` (its name); wgpu checks the header
        // and the driver its own, and `fallback` turns data it rejects into
        // an empty cache.
        let cache = unsafe {
            device.create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
                label: Some("gpix.pipeline_cache"),
                data: data.as_deref(),
                fallback: true,
            })
        };
        Some(Self {
            cache,
            path,
            loaded_bytes: data.map_or(0, |d| d.len()),
            dirty: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Writes the cache next to its final name and renames it into place,
    /// so concurrent runs never see half a file. Best effort: a cache that
    /// cannot be written only costs the next run its compiles.
    fn save(&self) {
        if !self.dirty.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let Some(data) = self.cache.get_data() else {
            return;
        };
        let Some(dir) = self.path.parent() else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            self.path.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        if std::fs::write(&tmp, &data).is_ok() && std::fs::rename(&tmp, &self.path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

impl Drop for DiskCache {
    fn drop(&mut self) {
        self.save();
    }
}

/// Where compiled pipelines are kept: `GPIX_CACHE_DIR` (empty or `off`
/// disables the cache), else the platform's user cache folder + `gpix`.
#[must_use]
pub fn cache_dir() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    if let Some(dir) = std::env::var_os("GPIX_CACHE_DIR") {
        if dir.is_empty() || dir == "off" {
            return None;
        }
        return Some(PathBuf::from(dir));
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = if cfg!(target_os = "windows") {
        env("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library").join("Caches"))
    } else {
        env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache")))
    };
    base.map(|b| b.join("gpix"))
}

impl GpuContext {
    /// Where this context keeps compiled pipelines and how many bytes it
    /// loaded from there, or `None` where there is no disk cache (adapter
    /// without `PIPELINE_CACHE`, no cache folder, `GPIX_CACHE_DIR=off`, or
    /// a caller's device).
    #[must_use]
    pub fn pipeline_cache(&self) -> Option<(std::path::PathBuf, usize)> {
        self.inner
            .cache
            .as_ref()
            .map(|c| (c.path.clone(), c.loaded_bytes))
    }
}
