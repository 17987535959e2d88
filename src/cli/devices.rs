//! `gpix devices`: adapters, their limits, and what `--device auto` picks.

use gpix::Device;

use super::Common;

pub(crate) fn run(common: &Common) -> anyhow::Result<()> {
    #[cfg(feature = "gpu")]
    {
        let adapters = gpix::list_adapters();
        if adapters.is_empty() {
            println!("no GPU adapters found");
        }
        for (i, a) in adapters.iter().enumerate() {
            println!(
                "[{i}] {}\n    backend: {}, type: {}{}\n    driver: {}\n    max storage binding: {} MiB, max buffer: {} MiB, \
                 max workgroups per dimension: {}, workgroup memory: {} KiB",
                a.name,
                a.backend,
                a.device_type,
                if a.software { " (software rasterizer)" } else { "" },
                if a.driver.is_empty() { "-" } else { &a.driver },
                a.max_storage_binding_bytes >> 20,
                a.max_buffer_bytes >> 20,
                a.max_workgroups_per_dimension,
                a.max_workgroup_storage_bytes >> 10,
            );
            println!(
                "    pipeline cache on disk: {}; kernel timestamps: {}",
                if a.pipeline_cache {
                    gpix::gpu::cache_dir().map_or_else(
                        || "supported, off (GPIX_CACHE_DIR=off or no cache folder)".into(),
                        |d| format!("yes, {}", d.display()),
                    )
                } else {
                    "not supported by this adapter".into()
                },
                if a.timestamps { "yes" } else { "no" },
            );
        }
    }
    #[cfg(not(feature = "gpu"))]
    println!("built without the `gpu` feature: no GPU adapters");
    let auto = Device::select(gpix::DeviceRequest::Auto)?;
    println!("--device auto picks: {}", auto.describe());
    #[cfg(feature = "gpu")]
    if !gpix::gpu::hardware_gpu_possible() {
        println!(
            "  (no GPU device nodes in /dev: auto does not probe adapters; \
             WGPU_BACKEND or WGPU_ADAPTER_NAME makes it)"
        );
    }
    if !matches!(common.device, gpix::DeviceRequest::Auto) {
        println!(
            "--device {} picks: {}",
            common.device,
            common.device()?.describe()
        );
    }
    Ok(())
}
