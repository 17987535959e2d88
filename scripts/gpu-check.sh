#!/usr/bin/env bash
# The GPU check for a machine with a hardware GPU and only the gpix binary
# (no Rust toolchain): lists the adapters, then benches every op at
# 12000x12000 on the CPU and the GPU with --phases. Each bench compares the
# devices' outputs and exits non-zero if they disagree: that comparison is
# the correctness test there. Everything lands in one folder: the printed
# tables (gpu-check.txt) and one JSON file of every case (gpu-check.json).
#
#   scripts/gpu-check.sh [GPIX_BINARY] [OUT_DIR]
#
# Make the binary here (x86-64 Linux; ~14 MB stripped):
#   cargo build --release && strip -o dist/gpix target/release/gpix
# About 90 s on an NVIDIA H200 machine with 16 host threads (2026-12-04); set
# SIZE=4000x4000 for a quick look, RUNS=1 for fewer repetitions.
set -uo pipefail

bin="${1:-./dist/gpix}"
out="${2:-./gpu-check}"
size="${SIZE:-12000x12000}"
runs="${RUNS:-3}"
mkdir -p "$out"
log="$out/gpu-check.txt"
: >"$log"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

# NVIDIA containers often ship the Vulkan ICD outside the loader's path.
nv_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -e "$nv_icd" ]; then
  export VK_DRIVER_FILES="$nv_icd"
fi
ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' \
  || echo "warning: no Vulkan loader (libvulkan.so.1) found; wgpu may see no GPU" | tee -a "$log"

say() { echo "== $*" | tee -a "$log"; }
status=0
say "date: $(date -u +%FT%TZ)  host: $(uname -n)  cores: $(nproc)"
say "gpix devices"
"$bin" devices 2>&1 | tee -a "$log" || status=1

# name | bench arguments
cases=(
  "quantize|quantize --images smooth --colors 16,256"
  "label-mean|label-mean --images f32,u8 --labels 10000"
  "filter|filter --cases uniform,stats,gabor31,random15,maximum,median,median3,erode-disk,median-disk"
  "diff|diff --cases gradient,hessian,compact"
)
json="$out/gpu-check.json"
echo "{" >"$json"
first=1
for entry in "${cases[@]}"; do
  name="${entry%%|*}"
  args="${entry#*|}"
  part="$out/$name.json"
  say "gpix bench $args --size $size --devices cpu,gpu --runs $runs --phases"
  start=$(date +%s)
  # shellcheck disable=SC2086
  if ! "$bin" bench $args --size "$size" --devices cpu,gpu --runs "$runs" --phases --json "$part" 2>&1 | tee -a "$log"; then
    status=1
    say "FAILED: $name"
  fi
  say "$name took $(( $(date +%s) - start )) s"
  [ $first -eq 1 ] || echo "," >>"$json"
  first=0
  printf '"%s": ' "$name" >>"$json"
  if [ -s "$part" ]; then cat "$part" >>"$json"; else echo "null" >>"$json"; fi
  rm -f "$part"
done
echo "}" >>"$json"
say "done, status $status: $log and $json"
exit $status
