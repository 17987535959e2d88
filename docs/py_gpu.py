"""numpy array in, numpy array out, on the CPU path and on a GPU: gpix's
Python package timed the way a user calls it (fresh outputs; the uniform
filter also into a preallocated `output=`), median of 5 after a warm-up.

    python docs/py_gpu.py [--size 12000] [--runs 5] [--json OUT.json]

Needs the gpix package (`maturin develop --release` in python/, or its wheel)
and a GPU that `gpix.devices()` lists; prints one markdown table.
"""
import argparse
import json
import time

import numpy as np

import gpix


def median_ms(call, runs):
    call()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2] * 1e3


def smooth_rgb(n, rng):
    """A photo-like RGB image: low-frequency gradients plus a little noise."""
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / max(n, 1)
    base = np.stack([np.sin(6 * x + 1), np.cos(5 * y), np.sin(4 * (x + y))], axis=-1)
    noise = rng.standard_normal((n, n, 3), dtype=np.float32) * 0.05
    return np.clip((base * 0.5 + 0.5 + noise) * 255, 0, 255).astype(np.uint8)


def cases(n, rng):
    x = rng.random((n, n), dtype=np.float32)
    x64 = x.astype(np.float64)
    rgb = smooth_rgb(n, rng)
    rgbf = rgb.astype(np.float32)
    labels = rng.integers(0, 10_000, (n, n), dtype=np.int32)
    kernel = rng.random((15, 15)) - 0.5
    palette = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    out = np.empty_like(x)
    return [
        ("uniform_filter 15×15, f32", lambda d: gpix.uniform_filter(x, 15, device=d)),
        ("uniform_filter 15×15, f32, output=", lambda d: gpix.uniform_filter(x, 15, output=out, device=d)),
        ("maximum_filter 15×15, f32", lambda d: gpix.maximum_filter(x, 15, device=d)),
        ("median_filter 15×15, f32", lambda d: gpix.median_filter(x, 15, device=d)),
        ("correlate, random 15×15 kernel, f32", lambda d: gpix.correlate(x, kernel, device=d)),
        ("gaussian_filter σ = 4, f32", lambda d: gpix.gaussian_filter(x, 4.0, device=d)),
        ("gradient, f64", lambda d: gpix.gradient(x64, device=d)),
        ("label_mean RGB f32, 10⁴ labels", lambda d: gpix.label_mean(rgbf, labels, device=d)),
        ("nearest_palette RGB u8, K = 256", lambda d: gpix.nearest_palette(rgb, palette, device=d)),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=12000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()
    n = args.size
    rng = np.random.default_rng(0)
    print(f"gpix devices: {gpix.devices()}")
    rows = []
    print(f"| {n}², numpy in → numpy out | cpu | gpu | gpu ÷ cpu speed |")
    print("|---|---|---|---|")
    for name, call in cases(n, rng):
        cpu = median_ms(lambda: call("cpu"), args.runs)
        gpu = median_ms(lambda: call("gpu"), args.runs)
        rows.append({"case": name, "size": n, "cpu_ms": round(cpu, 2), "gpu_ms": round(gpu, 2)})
        print(f"| {name} | {cpu:.1f} ms | {gpu:.1f} ms | {cpu / gpu:.2f}× |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
