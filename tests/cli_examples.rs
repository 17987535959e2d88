//! Every subcommand's `--help` ends with 2–4 examples, and each runs as
//! written from the repository root on the shipped samples (outputs under
//! /tmp are redirected to a temporary folder) and writes what it names.

mod common;

use std::path::Path;

use common::cli::gpix;

/// `gpix ARGS --help` as text.
fn help(args: &[&str]) -> String {
    let out = gpix().args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "{args:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommand names listed under `Commands:` (without `help`).
fn subcommands(args: &[&str]) -> Vec<String> {
    let text = help(args);
    let Some(list) = text.split("Commands:").nth(1) else {
        return Vec::new();
    };
    list.lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command path: the top level, each subcommand, each nested one.
fn command_paths() -> Vec<Vec<String>> {
    let mut paths = vec![Vec::new()];
    for name in subcommands(&[]) {
        let nested = subcommands(&[&name]);
        paths.push(vec![name.clone()]);
        paths.extend(nested.into_iter().map(|n| vec![name.clone(), n]));
    }
    paths
}

/// The example lines after `Examples:` in a help text.
fn examples(text: &str) -> Vec<String> {
    let Some(section) = text.split("\nExamples:\n").nth(1) else {
        return Vec::new();
    };
    section
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("gpix "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_help_ends_with_examples_that_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let tmp = format!("{}/", dir.path().display());
    let paths = command_paths();
    assert!(paths.len() >= 20, "{paths:?}");
    for path in paths {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let lines = examples(&help(&args));
        assert!(
            (2..=4).contains(&lines.len()),
            "gpix {} --help: {} examples, 2–4 expected",
            path.join(" "),
            lines.len()
        );
        for line in lines {
            // No quoting in the examples: plain whitespace splitting.
            let words: Vec<String> = line
                .split_whitespace()
                .skip(1)
                .map(|w| w.replace("/tmp/", &tmp))
                .collect();
            let out = gpix()
                .current_dir(root)
                .args(&words)
                .env("GPIX_DEVICE", "auto")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "`{line}` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            for w in words.iter().flat_map(|w| w.split(',')) {
                if w.starts_with(&tmp) {
                    assert!(Path::new(w).exists(), "`{line}` did not write {w}");
                }
            }
        }
    }
}
