//! `gpix`: the command-line tool. A thin clap layer over the library.

mod cli;

/// Large buffers on transparent huge pages, as numpy's are: a fresh
/// 100 MB output then costs ~50 page faults instead of ~25,000.
#[global_allocator]
static ALLOC: gpix::mem::HugePageAlloc = gpix::mem::HugePageAlloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
