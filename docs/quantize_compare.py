"""Palette quality of gpix against libimagequant, pngquant and Pillow on
photographs, and the speed of gpix's default against libimagequant on two
4000² photos.

For each of scikit-image's eight colour photos and each K, every method
builds a K-colour palette and maps the photo to it; the table gives mean
PSNR (RGB, dB, higher is better), mean CIEDE2000 colour difference (lower is
better), PSNR after a slight blur of both images (how dithered images are
judged: their noise is meant to average out), and seconds per photo (file
to file for the command-line tools, in memory for libimagequant).
Optionally writes side-by-side crops. With --big, times gpix file to file
(PNG in, PNG out, a new process per run) against libimagequant in memory
(raw RGBA in, indices out) on astronaut and coffee upscaled to 4000²
(bicubic; 0.9 M and 0.5 M distinct colours), alternating, median of --runs.

    python docs/quantize_compare.py --gpix target/release/gpix --colors 16,64,256
    python docs/quantize_compare.py --crops docs/img --colors 16   # README crops
    python docs/quantize_compare.py --big --colors 16,64,256 --runs 7

Needs: numpy, scipy, scikit-image, Pillow, `imagequant` (libimagequant 2.15
bindings), and for pngquant the `pngquant-cli` wheel (`pip install
pngquant-cli imagequant`).
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

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "retina", "immunohistochemistry", "hubble_deep_field", "motorcycle"]


def photo(name):
    if name == "motorcycle":  # the left view of the stereo pair
        return np.ascontiguousarray(skimage.data.stereo_motorcycle()[0])
    return np.ascontiguousarray(getattr(skimage.data, name)()[..., :3])


def photos():
    for name in PHOTOS:
        yield name, photo(name)


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


def libimagequant_method():
    try:
        import imagequant
    except ImportError:
        return None

    def run(x, k, tmp):
        h, w, _ = x.shape
        rgba = np.dstack([x, np.full((h, w), 255, np.uint8)]).tobytes()
        idx, pal = imagequant.quantize_raw_rgba_bytes(rgba, w, h, dithering_level=0.0, max_colors=k)
        pal = np.array(pal, np.uint8).reshape(-1, 4)[:, :3]
        return pal[np.frombuffer(idx, np.uint8)].reshape(h, w, 3)

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
    ap.add_argument("--big", action="store_true", help="time the default against libimagequant on 4000² photos instead")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    ks = [int(k) for k in args.colors.split(",")]
    if args.big:
        return big(args, ks)
    methods = {
        "gpix refined (default)": gpix_method(args.gpix, []),
        "gpix median-cut": gpix_method(args.gpix, ["--method", "median-cut"]),
        "gpix k-means": gpix_method(args.gpix, ["--method", "kmeans"]),
        "gpix refined + Floyd-Steinberg": gpix_method(args.gpix, ["--dither", "floyd-steinberg"]),
        "gpix k-means + Floyd-Steinberg": gpix_method(args.gpix, ["--method", "kmeans", "--dither", "floyd-steinberg"]),
        "gpix refined + ordered": gpix_method(args.gpix, ["--dither", "ordered"]),
        "libimagequant 2.15 (no dithering)": libimagequant_method(),
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
                    f"| {name} | {np.mean(ps):.2f} | {np.mean(des):.3f} | {np.mean(bl):.2f} | {np.median(secs):.2f} |",
                    flush=True,
                )
        if args.crops:
            os.makedirs(args.crops, exist_ok=True)
            x = dict(images)["coffee"]
            box = (slice(100, 300), slice(150, 450))
            for tag, name in [
                ("refined", "gpix refined (default)"),
                ("median-cut", "gpix median-cut"),
                ("kmeans", "gpix k-means"),
                ("floyd-steinberg", "gpix refined + Floyd-Steinberg"),
                ("libimagequant", "libimagequant 2.15 (no dithering)"),
                ("pillow-fs", "Pillow median cut + Floyd-Steinberg"),
                ("pngquant", "pngquant (dithered)"),
            ]:
                if name in methods:
                    y = methods[name](x, ks[0], tmp)
                    Image.fromarray(y[box]).save(os.path.join(args.crops, f"coffee-{ks[0]}-{tag}.png"), optimize=True)
            Image.fromarray(x[box]).save(os.path.join(args.crops, "coffee-original.png"), optimize=True)


def big(args, ks):
    """gpix's default against libimagequant: both in memory (numpy array in,
    indices and palette out, in this process), and gpix file to file."""
    liq = libimagequant_method()
    if liq is None:
        sys.exit("--big needs the imagequant module (pip install imagequant)")
    try:
        import gpix
    except ImportError:
        gpix = None  # the in-memory column needs the gpix Python package
    with tempfile.TemporaryDirectory() as tmp:
        print("| 4000² photo | K | libimagequant 2.15, in memory (s) | gpix default, in memory (s) | gpix default, PNG to PNG (s) | gpix median-cut, PNG to PNG (s) | gpix k-means, PNG to PNG (s) |")
        print("|---|---|---|---|---|---|---|")
        for name in ["astronaut", "coffee"]:
            x = np.asarray(Image.fromarray(photo(name)).resize((4000, 4000), Image.BICUBIC))
            src, dst = os.path.join(tmp, "in.png"), os.path.join(tmp, "out.png")
            Image.fromarray(x).save(src)
            for k in ks:
                cli = [args.gpix, "quantize", src, dst, "--colors", str(k), "--device", "cpu", "-q"]
                runs = {
                    "liq": lambda: liq(x, k, tmp),
                    "mem": (lambda: gpix.quantize(x, colors=k, device="cpu")) if gpix else None,
                    "cli": lambda: subprocess.run(cli, check=True),
                    "mc": lambda: subprocess.run([*cli, "--method", "median-cut"], check=True),
                    "km": lambda: subprocess.run([*cli, "--method", "kmeans"], check=True),
                }
                times = {key: [] for key in runs}
                for _ in range(args.runs):
                    for key, run in runs.items():
                        if run is not None:
                            t = time.perf_counter()
                            run()
                            times[key].append(time.perf_counter() - t)
                m = {key: np.median(v) if v else float("nan") for key, v in times.items()}
                print(
                    f"| {name} | {k} | {m['liq']:.2f} | {m['mem']:.3f} ({m['liq'] / m['mem']:.1f}× faster) "
                    f"| {m['cli']:.2f} ({m['liq'] / m['cli']:.1f}× faster) | {m['mc']:.2f} | {m['km']:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
