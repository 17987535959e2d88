#!/usr/bin/env bash
# Re-measures the benchmark JSON the plots in docs/img are drawn from
# (docs/plots.py), with a release build of gpix, CPU path. Takes ~10 minutes on
# a 2-vCPU VM. Run from the repository root:   bash docs/bench.sh
# Then redraw:                                   python3 docs/plots.py
# The end-to-end table (docs/e2e.json, gpix beside the peers) comes from
# python3 docs/e2e.py, which needs the peers' Python packages.
set -euo pipefail
cargo build --release --quiet
gpix=target/release/gpix
out=docs/bench
mkdir -p "$out"
devices=${DEVICES:-cpu}

# Palette time against K, 4000² photo-like RGB.
$gpix -q bench quantize --size 4000x4000 --colors 16,64,256,1024,4096,16384,65536 \
    --images smooth --devices "$devices" --runs 3 --json "$out/quantize_k.json"

# Time against image size, one case per op.
for n in 1000 2000 4000 8000 12000; do
    size=${n}x${n}
    $gpix -q bench filter --size "$size" --cases uniform --devices "$devices" --runs 3 \
        --json "$out/filter_$n.json"
    $gpix -q bench diff --size "$size" --cases gradient --devices "$devices" --runs 3 \
        --json "$out/diff_$n.json"
    $gpix -q bench quantize --size "$size" --colors 256 --images smooth --devices "$devices" \
        --runs 3 --json "$out/quantize_$n.json"
    $gpix -q bench label-mean --size "$size" --labels 10000 --images f32 --devices "$devices" \
        --runs 3 --json "$out/label_mean_$n.json"
done
echo "wrote $out/*.json ($(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(nproc) CPUs)"
