//! `gpix bench label-mean | filter | diff` on tiny inputs: every case runs on
//! the CPU and (when an adapter exists) the GPU, and the devices agree.

mod common;

use common::cli::gpix;

fn bench(args: &[&str]) {
    let devices = if common::gpu().is_some() {
        "cpu,gpu"
    } else {
        "cpu"
    };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    let out = gpix()
        .args(args)
        .args(["--devices", devices, "--runs", "1", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains(" NO"), "{stdout}");
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(text.contains("\"agrees\": true"), "{text}");
}

#[test]
fn label_mean_bench_runs_and_devices_agree() {
    bench(&[
        "bench",
        "label-mean",
        "--size",
        "64x48",
        "--labels",
        "10,500",
    ]);
}

#[test]
fn filter_bench_runs_every_case_and_devices_agree() {
    bench(&["bench", "filter", "--size", "40x36"]);
}

#[test]
fn diff_bench_runs_every_case_and_devices_agree() {
    bench(&["bench", "diff", "--size", "40x36"]);
}
