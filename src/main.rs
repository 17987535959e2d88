//! `gpix`: the command-line tool. A thin clap layer over the library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
