//! Argument parsing and the shared plumbing of every subcommand: device
//! selection, verbosity, progress bars, error reporting.

mod arrays;
mod bench;
mod devices;
mod diff;
mod filter;
mod labels;
mod quantize;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use gpix::{Device, DeviceRequest};

/// Exact pixel-array kernels on any GPU, with a fast CPU path.
#[derive(Parser, Debug)]
#[command(name = "gpix", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Args, Debug, Clone)]
pub(crate) struct Common {
    /// Where to run: auto (a hardware GPU if there is one, else the CPU), gpu
    /// (any adapter, software ones included) or cpu.
    #[arg(long, global = true, env = "GPIX_DEVICE", default_value = "auto", value_parser = parse_device)]
    pub(crate) device: DeviceRequest,
    /// Say which device ran and how long each phase took.
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    /// No progress bar.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Per-band GPU buffer budget in bytes (testing multi-band runs).
    #[arg(long, global = true, env = "GPIX_BAND_BYTES", hide = true)]
    pub(crate) band_bytes: Option<u64>,
}

fn parse_device(s: &str) -> Result<DeviceRequest, String> {
    s.parse().map_err(|e: gpix::Error| e.to_string())
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Map every pixel to the nearest colour of a palette (given or built).
    Quantize(quantize::QuantizeArgs),
    /// Paint every pixel with its label's mean; optionally the per-label table.
    LabelMean(labels::LabelMeanArgs),
    /// numpy.gradient over the first two axes (dy, dx, magnitude).
    Gradient(diff::GradientArgs),
    /// The Hessian (numpy.gradient twice, or the compact stencil), eigenvalues.
    Hessian(diff::HessianArgs),
    /// Sliding-window filters with scipy.ndimage's semantics.
    #[command(subcommand)]
    Filter(filter::FilterCommand),
    /// Local mean, variance and standard deviation over each window.
    Stats(filter::StatsArgs),
    /// List GPU adapters and say what --device auto picks.
    Devices,
    /// Benchmark the kernels on synthetic data, per device.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// Parses arguments, runs the command, prints `error: …` on failure.
pub(crate) fn main() -> ExitCode {
    quiet_mesa_warning();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Quantize(args) => quantize::run(&cli.common, &args),
        Command::LabelMean(args) => labels::run(&cli.common, &args),
        Command::Gradient(args) => diff::run_gradient(&cli.common, &args),
        Command::Hessian(args) => diff::run_hessian(&cli.common, &args),
        Command::Filter(cmd) => filter::run(&cli.common, &cmd),
        Command::Stats(args) => filter::run_stats(&cli.common, &args),
        Command::Devices => devices::run(&cli.common),
        Command::Bench(cmd) => bench::run(&cli.common, &cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

/// Mesa's Vulkan drivers print "error: XDG_RUNTIME_DIR is invalid or not
/// set" whenever wgpu looks for adapters on a machine without a session
/// (servers, containers, CI). It is harmless for compute but reads like a
/// failure of gpix, so point the variable at the temp folder when it is
/// unset. Runs first in `main`, before any thread exists.
fn quiet_mesa_warning() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
}

fn one_line(s: &str) -> String {
    s.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

impl Common {
    /// The device the request resolves to, with the band budget applied.
    pub(crate) fn device(&self) -> anyhow::Result<Device> {
        let device = Device::select(self.device)?;
        #[cfg(feature = "gpu")]
        if let (Device::Gpu(ctx), Some(bytes)) = (&device, self.band_bytes) {
            return Ok(Device::Gpu(ctx.with_band_budget(bytes)));
        }
        Ok(device)
    }

    /// Prints a line to stderr with `-v`.
    pub(crate) fn say(&self, msg: impl AsRef<str>) {
        if self.verbose {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// A progress bar over `total` rows, hidden with `--quiet` or when stderr
    /// is not a terminal.
    pub(crate) fn progress(&self, total: u64, what: &str) -> indicatif::ProgressBar {
        if self.quiet || !std::io::stderr().is_terminal() {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(total);
        let style =
            indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} rows ({eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(what.to_string());
        bar
    }
}

/// Times phases for `-v`.
pub(crate) struct Phases<'a> {
    common: &'a Common,
    start: Instant,
}

impl<'a> Phases<'a> {
    pub(crate) fn new(common: &'a Common) -> Self {
        Self {
            common,
            start: Instant::now(),
        }
    }

    /// Reports the phase that just ended and starts the next.
    pub(crate) fn done(&mut self, phase: &str) {
        let ms = self.start.elapsed().as_secs_f64() * 1e3;
        self.common.say(format!("{phase}: {ms:.1} ms"));
        self.start = Instant::now();
    }
}
