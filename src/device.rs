//! Where an operation runs: the native CPU path or a GPU through wgpu.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
#[cfg(feature = "gpu")]
use crate::gpu::GpuContext;

/// What the user asked for (`--device`, env `GPIX_DEVICE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceRequest {
    /// A hardware GPU if there is one, else the native CPU path. Software
    /// rasterizers (llvmpipe/lavapipe, WARP, SwiftShader) are never chosen:
    /// they are slower than gpix's CPU path.
    #[default]
    Auto,
    /// Any GPU adapter, software ones included; an error if there is none.
    Gpu,
    /// The native CPU path; wgpu is never initialised.
    Cpu,
}

impl FromStr for DeviceRequest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "gpu" => Ok(Self::Gpu),
            "cpu" => Ok(Self::Cpu),
            other => Err(Error::invalid(format!(
                "unknown device '{other}' (expected auto, gpu or cpu)"
            ))),
        }
    }
}

impl fmt::Display for DeviceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Gpu => "gpu",
            Self::Cpu => "cpu",
        })
    }
}

/// The device an operation runs on.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Device {
    /// gpix's multithreaded native CPU path.
    Cpu,
    /// A wgpu device.
    #[cfg(feature = "gpu")]
    Gpu(GpuContext),
}

impl Device {
    /// Resolves a request into a device, following the rules of [`DeviceRequest`].
    ///
    /// # Errors
    /// [`Error::NoAdapter`] for [`DeviceRequest::Gpu`] when wgpu finds no
    /// adapter (or gpix was built without the `gpu` feature);
    /// [`Error::Gpu`] if an adapter exists but its device cannot be created.
    pub fn select(request: DeviceRequest) -> Result<Self> {
        match request {
            DeviceRequest::Cpu => Ok(Device::Cpu),
            #[cfg(feature = "gpu")]
            DeviceRequest::Gpu => Ok(Device::Gpu(GpuContext::new()?)),
            #[cfg(feature = "gpu")]
            DeviceRequest::Auto => Ok(GpuContext::new_hardware()?.map_or(Device::Cpu, Device::Gpu)),
            #[cfg(not(feature = "gpu"))]
            DeviceRequest::Gpu => Err(Error::NoAdapter(
                " (gpix was built without the `gpu` feature)".into(),
            )),
            #[cfg(not(feature = "gpu"))]
            DeviceRequest::Auto => Ok(Device::Cpu),
        }
    }

    /// One line saying what this device is, for `-v` output.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Device::Cpu => format!("cpu ({} threads)", rayon::current_num_threads()),
            #[cfg(feature = "gpu")]
            Device::Gpu(ctx) => {
                let a = ctx.adapter();
                format!("gpu: {} ({}, {})", a.name, a.backend, a.device_type)
            }
        }
    }

    /// True for the CPU path.
    #[must_use]
    pub fn is_cpu(&self) -> bool {
        matches!(self, Device::Cpu)
    }
}
