"""gpix from Python beside the fastest peer for the same whole job, in one
process, outputs preallocated on both sides; prints a Markdown table.

    pip install ./python opencv-python-headless numba pillow scipy
    python python/bench.py [--runs 7] [--quick]

Each row: median of --runs timed calls after one warm-up (numba compiled
before), gpix's and the peer's calls alternating so both see the same
machine (a shared host's speed drifts between seconds). The peers are the fastest forms in the peers' RESULTS.md:
cv2.boxFilter / sqrBoxFilter into dst=, numba parallel loops into
preallocated outputs, Pillow's quantize(palette=...) (approximate: the
match column says how many pixels it gets right)."""

import argparse
import datetime
import os
import platform
import statistics
import time

import numpy as np

import gpix


def median_ms(f, runs):
    f()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def paired_ms(ours, peer, runs):
    """Medians of ``ours`` and ``peer`` timed in alternation."""
    ours()
    peer()
    times = ([], [])
    for _ in range(runs):
        for f, t in zip((ours, peer), times):
            start = time.perf_counter()
            f()
            t.append(time.perf_counter() - start)
    return tuple(1e3 * statistics.median(t) for t in times)


def call_overheads_us(runs):
    """Median per-call time of each function on a 1×1 (or 2×2 for the
    differences) array, over batches of 2000 calls."""
    x = np.zeros((1, 1), np.float32)
    out = np.empty_like(x)
    f = np.zeros((2, 2))
    rgb = np.zeros((1, 1, 3), np.uint8)
    palette = np.zeros((4, 3), np.uint8)
    labels = np.zeros((1, 1), np.int64)
    calls = {
        "uniform_filter": lambda: gpix.uniform_filter(x, 3, output=out),
        "local_stats": lambda: gpix.local_stats(x, 3),
        "correlate": lambda: gpix.correlate(x, np.ones((3, 3)), output=out),
        "gaussian_filter": lambda: gpix.gaussian_filter(x, 1.0, output=out),
        "gradient (2×2)": lambda: gpix.gradient(f),
        "hessian (2×2)": lambda: gpix.hessian(f),
        "label_mean": lambda: gpix.label_mean(x, labels),
        "nearest_palette": lambda: gpix.nearest_palette(rgb, palette),
    }
    result = {}
    for name, call in calls.items():

        def batch(call=call):
            for _ in range(2000):
                call()

        result[name] = median_ms(batch, runs) / 2000 * 1e3
    return result


# ---- peers -------------------------------------------------------------


def numba_peers():
    import numba

    @numba.njit(parallel=True, cache=True)
    def gradient_into(f, dy, dx):
        h, w = f.shape
        for i in numba.prange(h):
            for j in range(w):
                if i == 0:
                    dy[i, j] = f[1, j] - f[0, j]
                elif i == h - 1:
                    dy[i, j] = f[h - 1, j] - f[h - 2, j]
                else:
                    dy[i, j] = (f[i + 1, j] - f[i - 1, j]) / 2.0
            dx[i, 0] = f[i, 1] - f[i, 0]
            for j in range(1, w - 1):
                dx[i, j] = (f[i, j + 1] - f[i, j - 1]) / 2.0
            dx[i, w - 1] = f[i, w - 1] - f[i, w - 2]

    @numba.njit(parallel=True, cache=True)
    def label_mean_into(image, labels, nlabels, out):
        h, w, c = image.shape
        nthreads = numba.get_num_threads()
        sums = np.zeros((nthreads, nlabels, c), np.float64)
        counts = np.zeros((nthreads, nlabels), np.int64)
        rows = (h + nthreads - 1) // nthreads
        for t in numba.prange(nthreads):
            for i in range(t * rows, min(h, (t + 1) * rows)):
                for j in range(w):
                    lab = labels[i, j]
                    counts[t, lab] += 1
                    for k in range(c):
                        sums[t, lab, k] += image[i, j, k]
        total = sums.sum(axis=0)
        n = counts.sum(axis=0)
        means = np.zeros((nlabels, c), np.float32)
        for lab in range(nlabels):
            if n[lab] > 0:
                for k in range(c):
                    means[lab, k] = total[lab, k] / n[lab]
        for i in numba.prange(h):
            for j in range(w):
                for k in range(c):
                    out[i, j, k] = means[labels[i, j], k]

    return gradient_into, label_mean_into


def voronoi_labels(h, w, m, rng):
    from scipy.spatial import cKDTree

    seeds = rng.random((m, 2)) * [h, w]
    yy, xx = np.mgrid[:h, :w]
    _, lab = cKDTree(seeds).query(np.stack([yy.ravel(), xx.ravel()], 1), workers=-1)
    return lab.reshape(h, w).astype(np.int64)


def smooth_rgb(h, w, rng):
    """A photo-like RGB image as the peers make it: a coarse random grid
    (one point per 64 pixels) upscaled by cubic interpolation, plus noise."""
    import cv2

    small = rng.uniform(0, 255, (max(2, h // 64), max(2, w // 64), 3)).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    big += rng.normal(0, 6.0, big.shape).astype(np.float32)
    return np.ascontiguousarray(np.clip(big, 0, 255).astype(np.uint8))


# ---- rows ----------------------------------------------------------------


def rows(runs, quick):
    import cv2
    from PIL import Image

    rng = np.random.default_rng(0)
    n = 1000 if quick else 5000
    x = rng.random((n, n), dtype=np.float32) * 255
    out, out2, t1, t2 = (np.empty_like(x) for _ in range(4))
    reflect = cv2.BORDER_REFLECT

    def cv_box():
        cv2.boxFilter(x, -1, (15, 15), dst=out, borderType=reflect)

    yield (f"uniform_filter 15x15, {n}² float32", *paired_ms(lambda: gpix.uniform_filter(x, 15, output=out), cv_box, runs),
           "cv2.boxFilter(dst=)", "")

    def cv_stats():
        cv2.boxFilter(x, -1, (15, 15), dst=out, borderType=reflect)
        cv2.sqrBoxFilter(x, -1, (15, 15), dst=t1, borderType=reflect)
        cv2.multiply(out, out, dst=t2)
        cv2.subtract(t1, t2, dst=out2)

    def gp_stats():
        gpix.local_stats(x, 15, stats=("mean", "var"), out=(out, out2))

    yield (f"local_stats mean + var 15x15, {n}² float32", *paired_ms(gp_stats, cv_stats, runs),
           "cv2.boxFilter + sqrBoxFilter (+ mean², subtract)", "")

    def cv_sobel():
        cv2.Sobel(x, cv2.CV_32F, 0, 1, dst=out, ksize=3, borderType=reflect)

    yield (f"sobel (axis 0), {n}² float32", *paired_ms(lambda: gpix.sobel(x, 0, output=out), cv_sobel, runs),
           "cv2.Sobel(dst=)", "")

    def cv_laplace():
        cv2.Laplacian(x, cv2.CV_32F, dst=out, ksize=1, borderType=reflect)

    yield (f"laplace, {n}² float32", *paired_ms(lambda: gpix.laplace(x, output=out), cv_laplace, runs),
           "cv2.Laplacian(ksize=1, dst=)", "")

    square = np.ones((15, 15), np.uint8)

    def cv_dilate():
        cv2.dilate(x, square, dst=out, borderType=reflect)

    yield (f"maximum_filter 15x15, {n}² float32",
           *paired_ms(lambda: gpix.maximum_filter(x, 15, output=out), cv_dilate, runs),
           "cv2.dilate(15×15 ones, dst=)", "")

    grey = x.astype(np.uint8)  # x holds 0..255
    grey_out = np.empty_like(grey)

    def cv_dilate_u8():
        cv2.dilate(grey, square, dst=grey_out, borderType=reflect)

    yield (f"maximum_filter 15x15, {n}² uint8",
           *paired_ms(lambda: gpix.maximum_filter(grey, 15, output=grey_out), cv_dilate_u8, runs),
           "cv2.dilate(15×15 ones, dst=)", "")

    # Grey erosion by a disk of radius 7 (the same 0/1 mask for both).
    i, j = np.mgrid[-7:8, -7:8]
    disk = i * i + j * j <= 49
    disk_u8 = disk.astype(np.uint8)

    def cv_erode_u8():
        cv2.erode(grey, disk_u8, dst=grey_out, borderType=reflect)

    yield (f"minimum_filter disk r=7, {n}² uint8",
           *paired_ms(lambda: gpix.minimum_filter(grey, footprint=disk, output=grey_out), cv_erode_u8, runs),
           "cv2.erode(disk, dst=)", "")

    def cv_erode():
        cv2.erode(x, disk_u8, dst=out, borderType=reflect)

    yield (f"minimum_filter disk r=7, {n}² float32",
           *paired_ms(lambda: gpix.minimum_filter(x, footprint=disk, output=out), cv_erode, runs),
           "cv2.erode(disk, dst=)", "")

    def cv_median_u8():
        cv2.medianBlur(grey, 15, dst=grey_out)

    yield (f"median_filter 15x15, {n}² uint8",
           *paired_ms(lambda: gpix.median_filter(grey, 15, output=grey_out), cv_median_u8, runs),
           "cv2.medianBlur(15, dst=)", "")

    def cv_median3_u8():
        cv2.medianBlur(grey, 3, dst=grey_out)

    yield (f"median_filter 3x3, {n}² uint8",
           *paired_ms(lambda: gpix.median_filter(grey, 3, output=grey_out), cv_median3_u8, runs),
           "cv2.medianBlur(3, dst=)", "")

    def cv_median3():
        cv2.medianBlur(x, 3, dst=out)

    yield (f"median_filter 3x3, {n}² float32",
           *paired_ms(lambda: gpix.median_filter(x, 3, output=out), cv_median3, runs),
           "cv2.medianBlur(3, dst=)", "")
    del grey, grey_out

    # No fast peer takes a float32 median over 5×5 (cv2.medianBlur stops
    # there): scipy's (O(window) per value) on a 1000² crop, one run, scaled
    # by the pixel count (the whole array takes it ~50 s).
    import scipy.ndimage as ndi

    crop = np.ascontiguousarray(x[:1000, :1000])
    crop_out = np.empty_like(crop)
    scipy_ms = median_ms(lambda: ndi.median_filter(crop, 15, output=crop_out), 1) * (n * n) / 1e6
    yield (f"median_filter 15x15, {n}² float32",
           median_ms(lambda: gpix.median_filter(x, 15, output=out), runs), scipy_ms,
           "scipy.ndimage.median_filter (1000² crop × pixels)", "")
    # Morphology: scipy's binary opening on the whole array (its C loop);
    # its grey white top-hat (O(footprint) per value) on the crop, scaled.
    small_disk = np.add.outer(np.arange(-3, 4) ** 2, np.arange(-3, 4) ** 2) <= 9
    mask = x > 127
    yield (f"binary_opening 5x5, {n}² bool",
           *paired_ms(lambda: gpix.binary_opening(mask, np.ones((5, 5))), lambda: ndi.binary_opening(mask, np.ones((5, 5))),
                      runs),
           "scipy.ndimage.binary_opening", "")
    del mask
    scipy_top = median_ms(lambda: ndi.white_tophat(crop, footprint=small_disk, output=crop_out), 1) * (n * n) / 1e6
    yield (f"white_tophat disk r=3, {n}² float32",
           median_ms(lambda: gpix.white_tophat(x, footprint=small_disk, output=out), runs), scipy_top,
           "scipy.ndimage.white_tophat (1000² crop × pixels)", "")
    scipy_ms = median_ms(lambda: ndi.median_filter(crop, footprint=disk, output=crop_out), 1) * (n * n) / 1e6
    yield (f"median_filter disk r=7, {n}² float32",
           median_ms(lambda: gpix.median_filter(x, footprint=disk, output=out), runs), scipy_ms,
           "scipy.ndimage.median_filter (1000² crop × pixels)", "")

    gradient_into, label_mean_into = numba_peers()
    f = rng.random((n, n))
    dy, dx = np.empty_like(f), np.empty_like(f)
    yield (f"gradient, {n}² float64", *paired_ms(lambda: gpix.gradient(f, out=(dy, dx)), lambda: gradient_into(f, dy, dx), runs),
           "numba parallel fused loop", "")
    del f, dy, dx

    m = 4000 if not quick else 1000
    nlab = 10_000 if not quick else 1000
    image = rng.random((m, m, 3), dtype=np.float32)
    labels = voronoi_labels(m, m, nlab, rng)
    lout = np.empty_like(image)
    yield (f"label_mean {m}²×3 float32, {nlab} labels (int64)",
           *paired_ms(lambda: gpix.label_mean(image, labels, output=lout), lambda: label_mean_into(image, labels, nlab, lout), runs),
           "numba parallel accumulate + gather", "")
    del image, labels, lout

    rgb = smooth_rgb(m, m, rng)
    palette = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    iout = np.empty((m, m), np.uint8)
    pal_img = Image.new("P", (1, 1))
    pal_img.putpalette(palette.ravel().tolist())

    def pillow():
        return np.asarray(Image.fromarray(rgb).quantize(palette=pal_img, dither=Image.Dither.NONE))

    exact = gpix.nearest_palette(rgb, palette)
    match = float(np.mean(pillow() == exact))
    yield (f"nearest_palette {m}² RGB, 256 colours",
           *paired_ms(lambda: gpix.nearest_palette(rgb, palette, output=iout), pillow, runs),
           "Pillow quantize(palette=, dither=NONE)",
           f"Pillow exact on {100 * match:.1f} % of pixels")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test, not the README figures)")
    args = ap.parse_args()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"gpix {gpix.__version__} on {gpix.describe_device()}, {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}, numpy {np.__version__}; {now}; median of {args.runs}\n")
    print("| job | gpix ms | fastest peer | peer ms | peer / gpix | note |")
    print("|---|---|---|---|---|---|")
    for job, g, p, peer, note in rows(args.runs, args.quick):
        print(f"| {job} | {g:.1f} | {peer} | {p:.1f} | {p / g:.2f}× | {note} |", flush=True)
    print("\n| call on a 1×1 array | µs |\n|---|---|")
    for name, us in call_overheads_us(args.runs).items():
        print(f"| {name} | {us:.1f} |")


if __name__ == "__main__":
    main()
