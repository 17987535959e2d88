//! Shared test helpers: one GPU context per test binary.
#![allow(dead_code, unreachable_pub)]

pub mod cli;

#[cfg(feature = "gpu")]
use std::sync::OnceLock;

#[cfg(feature = "gpu")]
use gpix::GpuContext;

/// The test binary's GPU context (any adapter, software ones included).
/// `None` when there is no adapter; with `REQUIRE_GPU=1` (CI) that panics so
/// GPU tests can never skip silently.
#[cfg(feature = "gpu")]
pub fn gpu() -> Option<GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    let ctx = CTX
        .get_or_init(|| match GpuContext::new() {
            Ok(ctx) => Some(ctx),
            Err(e) => {
                if require_gpu() {
                    panic!("REQUIRE_GPU=1 but no GPU context: {e}");
                }
                None
            }
        })
        .clone();
    if ctx.is_none() {
        eprintln!("skipped: no GPU adapter");
    }
    ctx
}

/// Whether CI demands a GPU.
pub fn require_gpu() -> bool {
    std::env::var("REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// Case count for property tests that touch the GPU: lavapipe is slow.
pub const GPU_CASES: u32 = 24;
