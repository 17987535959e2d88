"""gpix from Python on the shipped sample photo: a 16-colour palette, a
box filter, local variance and gradients, each beside the scipy / numpy
call it replaces. Run: python python/examples/quickstart.py"""

import pathlib
import time

import numpy as np

import gpix

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_sample():
    """assets/coffee.png as an (H, W, 3) uint8 array."""
    return gpix.imread(ROOT / "assets" / "coffee.png")


def timed(label, f):
    start = time.perf_counter()
    result = f()
    print(f"{label:<44} {1e3 * (time.perf_counter() - start):8.1f} ms")
    return result


def main():
    rgb = load_sample()
    print(f"image {rgb.shape[1]}x{rgb.shape[0]}, device: {gpix.describe_device()}")
    indices, palette = timed("quantize to 16 colours (median cut)", lambda: gpix.quantize(rgb, colors=16))
    print(f"  {len(palette)} colours, index map {indices.dtype} {indices.shape}")
    grey = rgb.astype(np.float32).mean(axis=2)
    out = np.empty_like(grey)
    timed("uniform_filter 15x15 into a preallocated out", lambda: gpix.uniform_filter(grey, 15, output=out))
    stats = timed("local mean, var, std 15x15", lambda: gpix.local_stats(grey, 15))
    print(f"  variance range {stats.var.min():.1f} .. {stats.var.max():.1f}")
    dy, dx = timed("gradient (numpy.gradient semantics)", lambda: gpix.gradient(grey))
    print(f"  largest |gradient| {np.hypot(dy, dx).max():.1f}")
    labels = (np.arange(grey.size).reshape(grey.shape) // 997) % 500
    means = timed("label_mean with 500 labels", lambda: gpix.label_mean(rgb, labels))
    print(f"  recoloured {means.shape} {means.dtype}")


if __name__ == "__main__":
    main()
