#!/usr/bin/env bash
# Re-measures the benchmark JSON the plots in docs/img are drawn from
# (docs/plots.py), with a release build of gpix, CPU path. Takes ~10 minutes on
# a 2-vCPU VM. Run from the repository root:   bash docs/bench.sh
# Then redraw:                                   python3 docs/plots.py
# The end-to-end table (docs/e2e.json, gpix beside the peers) comes from
# python3 docs/e2e.py, which needs the peers' Python packages.
#
# On a machine with a GPU (no Rust toolchain needed there: GPIX names a
# prebuilt binary), the CPU and GPU series land in their own folder:
#   GPIX=./dist/gpix DEVICES=cpu,gpu BENCH_OUT=docs/bench-gpu bash docs/bench.sh
# SIZES and K_SIZE shrink the run for a quick look (SIZES="500 1000").
set -euo pipefail
if [ -n "${GPIX:-}" ]; then
    gpix=$GPIX
else
    cargo build --release --quiet
    gpix=target/release/gpix
fi
out=${BENCH_OUT:-docs/bench}
mkdir -p "$out"
devices=${DEVICES:-cpu}
sizes=${SIZES:-1000 2000 4000 8000 12000}
k_size=${K_SIZE:-4000x4000}
# With a GPU, also the phases: host upload / readback and the device's own time.
phases=()
case "$devices" in *gpu*) phases=(--phases) ;; esac

# Palette time against K, 4000² photo-like RGB.
$gpix -q bench quantize --size "$k_size" --colors 16,64,256,1024,4096,16384,65536 \
    --images smooth --devices "$devices" --runs 3 "${phases[@]}" --json "$out/quantize_k.json"

# Time against image size, one case per op.
for n in $sizes; do
    size=${n}x${n}
    $gpix -q bench filter --size "$size" --cases uniform --devices "$devices" --runs 3 "${phases[@]}" \
        --json "$out/filter_$n.json"
    $gpix -q bench diff --size "$size" --cases gradient --devices "$devices" --runs 3 "${phases[@]}" \
        --json "$out/diff_$n.json"
    $gpix -q bench quantize --size "$size" --colors 256 --images smooth --devices "$devices" \
        --runs 3 "${phases[@]}" --json "$out/quantize_$n.json"
    $gpix -q bench label-mean --size "$size" --labels 10000 --images f32 --devices "$devices" \
        --runs 3 "${phases[@]}" --json "$out/label_mean_$n.json"
done
echo "wrote $out/*.json ($(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(nproc) CPUs)"
