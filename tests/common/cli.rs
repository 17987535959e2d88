//! Helpers for tests of the `gpix` command.

use std::path::Path;

use assert_cmd::Command;

/// The `gpix` binary with no device or band-budget variables inherited,
/// and compiled pipelines cached under the temp folder, not the user's.
pub fn gpix() -> Command {
    let mut cmd = Command::cargo_bin("gpix").expect("binary built");
    cmd.env_remove("GPIX_DEVICE")
        .env_remove("GPIX_BAND_BYTES")
        .env(
            "GPIX_CACHE_DIR",
            std::env::temp_dir().join("gpix-test-cache"),
        );
    cmd
}

/// Files in `dir` (to prove a failed run left nothing behind).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `gpix args`, expecting failure with one `error:` line containing
/// `needle`, exit code `code`, and an unchanged `dir`.
pub fn fails(args: &[&str], dir: &Path, needle: &str, code: i32) {
    fails_with_env(args, &[], dir, needle, code);
}

/// [`fails`] with variables set in gpix's environment (limits that would
/// otherwise follow the machine's memory).
pub fn fails_with_env(args: &[&str], env: &[(&str, &str)], dir: &Path, needle: &str, code: i32) {
    let before = listing(dir);
    let mut cmd = gpix();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "args {args:?}: stderr {stderr}"
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line expected, got: {stderr}");
    assert!(
        errors[0].contains(needle),
        "'{needle}' not in: {}",
        errors[0]
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    assert_eq!(
        listing(dir),
        before,
        "a failed run changed {}",
        dir.display()
    );
}

/// A path as the `&str` an argument list wants.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 test path")
}

/// Runs `gpix args` and expects success.
pub fn run(args: &[&str]) {
    let out = gpix().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A float `.npy` as (shape, f64 values).
pub fn f64s(path: &Path) -> (Vec<usize>, Vec<f64>) {
    use gpix::io::npy::{read_npy, NpyData};
    let a = read_npy(path, 1 << 30).unwrap();
    match a.data {
        NpyData::F64(v) => (a.shape, v),
        NpyData::F32(v) => (a.shape, v.into_iter().map(f64::from).collect()),
        NpyData::F16(v) => (a.shape, v.into_iter().map(f64::from).collect()),
        other => panic!("expected floats, got {:?}", other.dtype()),
    }
}

/// The dtype name of a `.npy` file.
pub fn dtype_of(path: &Path) -> &'static str {
    gpix::io::npy::read_npy(path, 1 << 30)
        .unwrap()
        .data
        .dtype()
        .name()
}
