"""Palette quality of gpix against Pillow and pngquant on photographs.

For each of scikit-image's colour photos and each K, every method builds a
K-colour palette and maps the photo to it; the table gives mean PSNR (RGB,
dB, higher is better), mean CIEDE2000 colour difference (lower is better),
PSNR after a slight blur of both images (how dithered images are judged:
their noise is meant to average out), and seconds per photo (file to file
for the command-line tools). Optionally writes side-by-
side crops.

    python docs/quantize_compare.py --gpix target/release/gpix --colors 16,64,256
    python docs/quantize_compare.py --crops docs/img --colors 16   # README crops

Needs: numpy, scipy, scikit-image, Pillow, and for pngquant the `pngquant-cli`
wheel (`pip install pngquant-cli`, which puts `pngquant` on PATH).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import skimage.data
from PIL import Image
from skimage.color import deltaE_ciede2000, rgb2lab

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "retina", "immunohistochemistry", "hubble_deep_field"]


def photos():
    for name in PHOTOS:
        fn = getattr(skimage.data, name, None)
        if fn is None:
            continue
        x = fn()
        if x.ndim == 3 and x.shape[2] >= 3:
            yield name, np.ascontiguousarray(x[..., :3])


def gpix_method(exe, extra):
    def run(x, k, tmp):
        src, dst = os.path.join(tmp, "in.png"), os.path.join(tmp, "out.png")
        Image.fromarray(x).save(src)
        subprocess.run([exe, "quantize", src, dst, "--colors", str(k), "--device", "cpu", "-q", *extra], check=True)
        return np.asarray(Image.open(dst).convert("RGB"))

    return run


def pillow_method(method, dither):
    def run(x, k, tmp):
        im = Image.fromarray(x)
        q = im.quantize(k, method=method)
        if dither != Image.Dither.NONE:
            # Pillow dithers only when mapping to a given palette.
            q = im.quantize(palette=q, dither=dither)
        return np.asarray(q.convert("RGB"))

    return run


def pngquant_method(extra):
    exe = shutil.which("pngquant")
    if exe is None:
        return None

    def run(x, k, tmp):
        src, dst = os.path.join(tmp, "in.png"), os.path.join(tmp, "pq.png")
        Image.fromarray(x).save(src)
        subprocess.run([exe, "--force", "--speed", "1", "--output", dst, *extra, str(k), src], check=True)
        return np.asarray(Image.open(dst).convert("RGB"))

    return run


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / mse) if mse > 0 else float("inf")


def blurred_psnr(a, b, sigma=1.5):
    """PSNR after a Gaussian blur of both: roughly what the eye sees at a
    normal viewing distance, where dithering's fine noise averages out."""
    from scipy.ndimage import gaussian_filter

    fa = gaussian_filter(a.astype(np.float64), (sigma, sigma, 0))
    fb = gaussian_filter(b.astype(np.float64), (sigma, sigma, 0))
    mse = np.mean((fa - fb) ** 2)
    return 10 * np.log10(255.0**2 / mse) if mse > 0 else float("inf")


def delta_e(a, b):
    return float(np.mean(deltaE_ciede2000(rgb2lab(a), rgb2lab(b))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpix", default="target/release/gpix")
    ap.add_argument("--colors", default="16,64,256")
    ap.add_argument("--crops", help="folder for side-by-side crops of coffee at the first K")
    args = ap.parse_args()
    ks = [int(k) for k in args.colors.split(",")]
    methods = {
        "gpix median-cut (default)": gpix_method(args.gpix, []),
        "gpix k-means": gpix_method(args.gpix, ["--method", "kmeans"]),
        "gpix median-cut + Floyd-Steinberg": gpix_method(args.gpix, ["--dither", "floyd-steinberg"]),
        "gpix k-means + Floyd-Steinberg": gpix_method(args.gpix, ["--method", "kmeans", "--dither", "floyd-steinberg"]),
        "gpix median-cut + ordered": gpix_method(args.gpix, ["--dither", "ordered"]),
        "Pillow median cut": pillow_method(Image.Quantize.MEDIANCUT, Image.Dither.NONE),
        "Pillow median cut + Floyd-Steinberg": pillow_method(Image.Quantize.MEDIANCUT, Image.Dither.FLOYDSTEINBERG),
        "pngquant --nofs": pngquant_method(["--nofs"]),
        "pngquant (dithered)": pngquant_method([]),
    }
    methods = {n: m for n, m in methods.items() if m is not None}
    images = list(photos())
    print(f"{len(images)} photos: {', '.join(n for n, _ in images)}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        for k in ks:
            print(f"\n### K = {k}\n")
            print("| method | mean PSNR (dB) | mean ΔE2000 | PSNR after σ=1.5 blur (dB) | s per photo |")
            print("|---|---|---|---|---|")
            for name, run in methods.items():
                ps, des, bl, secs = [], [], [], []
                for _, x in images:
                    t = time.perf_counter()
                    y = run(x, k, tmp)
                    secs.append(time.perf_counter() - t)
                    ps.append(psnr(x, y))
                    des.append(delta_e(x, y))
                    bl.append(blurred_psnr(x, y))
                print(
                    f"| {name} | {np.mean(ps):.2f} | {np.mean(des):.2f} | {np.mean(bl):.2f} | {np.median(secs):.2f} |",
                    flush=True,
                )
        if args.crops:
            os.makedirs(args.crops, exist_ok=True)
            x = dict(images)["coffee"]
            box = (slice(100, 300), slice(150, 450))
            for tag, name in [
                ("median-cut", "gpix median-cut (default)"),
                ("kmeans", "gpix k-means"),
                ("floyd-steinberg", "gpix median-cut + Floyd-Steinberg"),
                ("pillow-fs", "Pillow median cut + Floyd-Steinberg"),
                ("pngquant", "pngquant (dithered)"),
            ]:
                if name in methods:
                    y = methods[name](x, ks[0], tmp)
                    Image.fromarray(y[box]).save(os.path.join(args.crops, f"coffee-{ks[0]}-{tag}.png"), optimize=True)
            Image.fromarray(x[box]).save(os.path.join(args.crops, "coffee-original.png"), optimize=True)


if __name__ == "__main__":
    main()
