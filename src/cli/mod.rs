//! Argument parsing and the shared plumbing of every subcommand: device
//! selection, verbosity, progress bars, error reporting.

mod arrays;
mod bench;
mod devices;
mod diff;
mod examples;
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
#[command(name = "gpix", version, about, propagate_version = true, after_help = examples::GPIX)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Args, Debug, Clone)]
pub(crate) struct Common {
    /// Where to run: auto (per op, the CPU or a hardware GPU, whichever a
    /// cost model says finishes first; -v prints both estimates), gpu (any
    /// adapter, software ones included; palette building, label tables and
    /// Gabor magnitudes still run on the CPU, and float64 is computed in
    /// f32: -v says so) or cpu (float64 kept, numpy's results bit for bit).
    #[arg(long, global = true, env = "GPIX_DEVICE", default_value = "auto", value_parser = parse_device)]
    pub(crate) device: DeviceRequest,
    /// Say which device ran each phase, in what precision, why (the route
    /// for auto), and how long each phase took.
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
    #[command(after_help = examples::QUANTIZE)]
    Quantize(quantize::QuantizeArgs),
    /// Paint every pixel with its label's mean; optionally the per-label table.
    #[command(after_help = examples::LABEL_MEAN)]
    LabelMean(labels::LabelMeanArgs),
    /// numpy.gradient over the first two axes (dy, dx, magnitude).
    #[command(after_help = examples::GRADIENT)]
    Gradient(diff::GradientArgs),
    /// The Hessian (numpy.gradient twice, or the compact stencil), eigenvalues.
    #[command(after_help = examples::HESSIAN)]
    Hessian(diff::HessianArgs),
    /// Sliding-window filters with scipy.ndimage's semantics.
    #[command(subcommand, after_help = examples::FILTER)]
    Filter(filter::FilterCommand),
    /// Local mean, variance and standard deviation over each window.
    #[command(after_help = examples::STATS)]
    Stats(filter::StatsArgs),
    /// List GPU adapters and say what --device auto picks.
    #[command(after_help = examples::DEVICES)]
    Devices,
    /// Benchmark the kernels on synthetic data, per device.
    #[command(subcommand, after_help = examples::BENCH)]
    Bench(bench::BenchCommand),
}

/// Parses arguments, runs the command, prints `error: …` on failure.
pub(crate) fn main() -> ExitCode {
    quiet_mesa_warning();
    let cli = Cli::parse();
    quiet_panics();
    cli.common.say(memory_line());
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Quantize(args) => quantize::run(&cli.common, &args),
        Command::LabelMean(args) => labels::run(&cli.common, &args),
        Command::Gradient(args) => diff::run_gradient(&cli.common, &args),
        Command::Hessian(args) => diff::run_hessian(&cli.common, &args),
        Command::Filter(cmd) => filter::run(&cli.common, &cmd),
        Command::Stats(args) => filter::run_stats(&cli.common, &args),
        Command::Devices => devices::run(&cli.common),
        Command::Bench(cmd) => bench::run(&cli.common, &cmd),
    });
    let result = match result {
        Ok(result) => result,
        Err(_) => {
            // Temporary files were removed as the panic unwound.
            let what = LAST_PANIC.lock().map(|p| p.clone()).unwrap_or_default();
            eprintln!(
                "error: internal error, please report it: {}",
                gpix::io::printable(&what, 300)
            );
            return ExitCode::from(101);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_line(&e));
            if e.downcast_ref::<Usage>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Checks a command's outputs as a set before any work: one file named for
/// two outputs is a usage error, a name that is a folder a plain one.
pub(crate) fn check_outputs_distinct<P: AsRef<std::path::Path>>(
    paths: &[Option<P>],
) -> anyhow::Result<()> {
    let paths: Vec<&std::path::Path> = paths.iter().flatten().map(AsRef::as_ref).collect();
    gpix::io::check_output_paths(&paths).map_err(|e| match e {
        gpix::Error::InvalidArgument(why) => Usage(why).into(),
        other => other.into(),
    })
}

/// A combination of arguments that cannot apply, found after parsing: exits
/// with 2, as clap's own usage errors do.
#[derive(Debug)]
pub(crate) struct Usage(pub(crate) String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// What `-v` says about memory: whether large buffers get huge pages.
fn memory_line() -> String {
    match gpix::mem::huge_pages_mode().as_deref() {
        Some(mode @ ("always" | "madvise")) => format!(
            "memory: transparent huge pages '{mode}': buffers of 4 MiB or more ask for them"
        ),
        Some(mode) => format!(
            "memory: transparent huge pages '{mode}': large buffers fault in 4 KiB pages \
             (~3 µs each on a VM), as numpy's do on this system"
        ),
        None => "memory: no transparent huge pages on this system".to_owned(),
    }
}

/// The message and place of the last panic, for the one-line report.
static LAST_PANIC: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Panics are not printed where they happen: those inside third-party
/// decoders are caught by the library and reported as bad input, and any
/// other reaches `main`, which prints one `error:` line (no backtrace, no
/// Rust debug output).
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let text = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = format!("{text}{at}");
        }
    }));
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

/// The error and its causes on one line, each reason said once: a library
/// error usually quotes its cause already (`file: reason`), so a cause whose
/// text is already in the line is skipped. Control characters are escaped.
fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = one_line(&cause.to_string());
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    gpix::io::printable(&line, usize::MAX)
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
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

    /// Runs `work` (reading the inputs) while the device is selected on
    /// another thread: `--device auto` probes the adapters, which takes
    /// ~50 ms where a Vulkan driver is installed, and costs nothing extra
    /// when reading takes longer. `work`'s error wins over the device's.
    pub(crate) fn device_alongside<T: Send>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send,
    ) -> anyhow::Result<(T, Device)> {
        if self.device == DeviceRequest::Cpu {
            return Ok((work()?, self.device()?));
        }
        std::thread::scope(|s| {
            let probe = s.spawn(|| self.device());
            let done = work();
            let device = probe
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the GPU probe failed")));
            Ok((done?, device?))
        })
    }

    /// The device an op of `work` runs on: under `--device auto` with a
    /// hardware GPU, where the cost model (`gpix::route`) says it finishes
    /// first; `-v` prints the decision and both estimates. `--device gpu`
    /// and `cpu` are obeyed as given.
    pub(crate) fn route(&self, device: Device, work: &gpix::route::Work) -> Device {
        match self.device {
            DeviceRequest::Auto if !device.is_cpu() => {
                let (chosen, estimate) = gpix::route::route(&device, work);
                if let Some(e) = estimate {
                    self.say(e.describe());
                }
                chosen
            }
            DeviceRequest::Gpu => {
                self.say(format!("route: gpu ({}: --device gpu)", work.op));
                device
            }
            _ => device,
        }
    }

    /// The `-v` lines naming the device and, on a GPU, its pipeline cache.
    pub(crate) fn say_device(&self, device: &Device) {
        self.say(format!("device: {}", device.describe()));
        #[cfg(feature = "gpu")]
        if let Device::Gpu(ctx) = device {
            self.say(match ctx.pipeline_cache() {
                Some((path, 0)) => format!("pipeline cache: {} (empty: compiling)", path.display()),
                Some((path, n)) => format!("pipeline cache: {} ({n} bytes loaded)", path.display()),
                None => "pipeline cache: none (adapter without PIPELINE_CACHE, or off)".into(),
            });
        }
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
