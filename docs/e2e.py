"""End to end, file to file: each `gpix` command beside the fastest peer doing
the same whole job in a warm Python process (np.load -> op -> np.save).

    pip install numpy scipy numba opencv-python-headless scikit-image pillow imagequant
    cargo build --release
    python3 docs/e2e.py                      # every case, median of 5
    python3 docs/e2e.py --only uniform,gradient --runs 7 --json e2e.json

gpix is timed as a user runs it: a new process per run (subprocess wall time,
process start and `--device auto`'s adapter probe included), reading and
writing .npy files in --dir. Each peer runs in one warm process (imports,
numba compilation and one warm-up excluded), loading the same input file and
saving its outputs to the same folder. Outputs are overwritten on every run,
as in a user's loop. Median of --runs runs after one warm-up each; the
ratio is gpix / peer (below 1: gpix is faster).

The peers are the fastest forms in ../shared/peers/RESULTS.md: OpenCV for the
box, local-variance and kernel filters (cv2.sepFilter2D given the Gabor's
rank-1 factors by hand), the numba fused loops for the finite differences
(interior only: an easier job than numpy.gradient's edges) and for the
label means; for the palette, the exact numba loop and Pillow's approximate
colour cache (a different, inexact job, for context); for building a palette
and mapping to it, libimagequant (`pip install imagequant`) and Pillow's
median cut (quality compared in docs/QUANTIZE_QUALITY.md).
"""
import argparse
import json
import os
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

from peers_timing import median_ms  # noqa: E402  (also puts ../shared/peers on the path)

import cv2  # noqa: E402
import numpy as np  # noqa: E402

cv2.setNumThreads(2)
R = cv2.BORDER_REFLECT


def make_inputs(d):
    """The inputs, made once (fixed seeds) and kept in `d`."""
    from common import smooth_float, smooth_rgb

    def save(name, make):
        path = os.path.join(d, name)
        if not os.path.exists(path):
            np.save(path, make())
        return path

    rng = np.random.default_rng(21)
    return {
        "f32": save("f32.npy", lambda: smooth_float(5000, 5000, seed=21)),
        "f64": save("f64.npy", lambda: smooth_float(5000, 5000, seed=31).astype(np.float64)),
        "k15": save("k15.npy", lambda: (rng.random((15, 15)) - 0.5).astype(np.float32)),
        "k31": save("k31.npy", lambda: (rng.random((31, 31)) - 0.5).astype(np.float32)),
        "rgbf": save("rgbf.npy", lambda: smooth_float(4000, 4000, seed=7, channels=3)),
        "labels": save("labels.npy", lambda: label_map()),
        "rgb": save("rgb.npy", lambda: smooth_rgb(4000, 4000, seed=0)),
        "pal": save("pal256.npy", lambda: palette_of(np.load(os.path.join(d, "rgb.npy")))),
    }


def label_map():
    from w2_labelmean import voronoi_labels

    return voronoi_labels(4000, 4000, 10000)


def palette_of(img):
    """256 colours drawn from the image (a fixed, realistic palette)."""
    rng = np.random.default_rng(3)
    flat = img.reshape(-1, 3)
    return flat[rng.choice(flat.shape[0], 256, replace=False)].astype(np.uint8)


def gabor_real(n_stds):
    from skimage.filters import gabor_kernel

    k = gabor_kernel(0.15, theta=np.pi / 2, sigma_x=5, sigma_y=5, n_stds=n_stds)
    return np.real(k).astype(np.float32)


def peers(inp, d):
    """name -> (peer description, function doing the whole job once)."""
    out = lambda name: os.path.join(d, "peer_" + name)  # noqa: E731
    load = np.load

    def uniform():
        x = load(inp["f32"])
        np.save(out("u.npy"), cv2.boxFilter(x, -1, (15, 15), borderType=R))

    square = np.ones((15, 15), np.uint8)

    def maximum():
        x = load(inp["f32"])
        np.save(out("mx.npy"), cv2.dilate(x, square, borderType=R))

    def stats():
        x = load(inp["f32"])
        m = cv2.boxFilter(x, -1, (15, 15), borderType=R)
        v = cv2.sqrBoxFilter(x, -1, (15, 15), borderType=R)
        v -= m * m
        np.save(out("m.npy"), m)
        np.save(out("v.npy"), v)

    g31 = gabor_real(3)
    u, s, vt = np.linalg.svd(g31.astype(np.float64))
    ky, kx = (u[:, 0] * np.sqrt(s[0])).astype(np.float32), (vt[0] * np.sqrt(s[0])).astype(np.float32)

    def gabor():
        x = load(inp["f32"])
        np.save(out("g.npy"), cv2.sepFilter2D(x, -1, kx, ky, borderType=R))

    def correlate(k):
        def job():
            x = load(inp["f32"])
            np.save(out("c.npy"), cv2.filter2D(x, -1, load(inp[k]), borderType=R))
        return job

    import w5_diff as w5
    from w1_palette import nb_nearest_index
    from w2_labelmean import nb_label_mean

    def gradient():
        gy, gx = w5.nb_grad(load(inp["f64"]))
        np.save(out("gy.npy"), gy)
        np.save(out("gx.npy"), gx)

    def hessian():
        for name, a in zip(["yy", "xy", "xx"], w5.nb_hessian(load(inp["f64"]))):
            np.save(out(f"h{name}.npy"), a)

    def hessian_numpy():
        for name, a in zip(["yy", "xy", "xx"], w5.gradient_hessian(load(inp["f64"]))):
            np.save(out(f"h{name}.npy"), a)

    def label_mean():
        lab = load(inp["labels"])
        np.save(out("lm.npy"), nb_label_mean(load(inp["rgbf"]), lab, int(lab.max()) + 1))

    def quantize_numba():
        img, pal = load(inp["rgb"]), load(inp["pal"])
        np.save(out("q.npy"), pal[nb_nearest_index(img, pal)])

    def quantize_pillow():
        from PIL import Image

        img, pal = load(inp["rgb"]), load(inp["pal"])
        p = Image.new("P", (1, 1))
        p.putpalette(pal.ravel().tolist())
        q = Image.fromarray(img).quantize(palette=p, dither=Image.Dither.NONE)
        np.save(out("qp.npy"), pal[np.asarray(q)])

    def build_pillow():
        from PIL import Image

        img = load(inp["rgb"])
        np.save(out("qb.npy"), np.asarray(Image.fromarray(img).quantize(256).convert("RGB")))

    def build_liq():
        import imagequant

        img = load(inp["rgb"])
        h, w, _ = img.shape
        rgba = np.dstack([img, np.full((h, w), 255, np.uint8)]).tobytes()
        idx, pal = imagequant.quantize_raw_rgba_bytes(rgba, w, h, dithering_level=0.0, max_colors=256)
        pal = np.array(pal, np.uint8).reshape(-1, 4)[:, :3]
        np.save(out("qb.npy"), pal[np.frombuffer(idx, np.uint8)].reshape(h, w, 3))

    return {
        "uniform": [("cv2.boxFilter", uniform)],
        "stats": [("cv2.boxFilter + sqrBoxFilter", stats)],
        "maximum": [("cv2.dilate", maximum)],
        "gabor": [("cv2.sepFilter2D, factors by hand", gabor)],
        "random15": [("cv2.filter2D", correlate("k15"))],
        "random31": [("cv2.filter2D", correlate("k31"))],
        "gradient": [("numba fused loop (interior)", gradient)],
        "hessian": [("numba fused loop (compact, interior)", hessian),
                    ("np.gradient twice", hessian_numpy)],
        "hessian-compact": [("numba fused loop (compact, interior)", hessian)],
        "label-mean": [("numba accumulate + gather", label_mean)],
        "quantize": [
            ("numba loop (exact)", quantize_numba),
            ("Pillow quantize (approximate)", quantize_pillow),
        ],
        "quantize-build": [
            ("libimagequant 2.15 (imagequant)", build_liq),
            ("Pillow quantize(256) (median cut, approximate mapping)", build_pillow),
        ],
    }


def gpix_commands(inp, d):
    o = lambda name: os.path.join(d, "gpix_" + name)  # noqa: E731
    gabor = ["--frequency", "0.15", "--theta", str(np.pi / 2), "--sigma-x", "5", "--sigma-y", "5"]
    return {
        "uniform": ("uniform 15×15, 5000² f32", ["filter", "uniform", inp["f32"], o("u.npy"), "--size", "15"]),
        "maximum": ("maximum filter 15×15, 5000² f32",
                    ["filter", "maximum", inp["f32"], o("mx.npy"), "--size", "15"]),
        "stats": ("local mean + var 15×15, 5000² f32",
                  ["stats", inp["f32"], "--size", "15", "--mean", o("m.npy"), "--var", o("v.npy")]),
        "gabor": ("Gabor 31×31 (σ 5, θ π/2), 5000² f32", ["filter", "gabor", inp["f32"], o("g.npy")] + gabor),
        "random15": ("random 15×15 kernel, 5000² f32",
                     ["filter", "correlate", inp["f32"], o("c.npy"), "--kernel", inp["k15"]]),
        "random31": ("random 31×31 kernel, 5000² f32",
                     ["filter", "correlate", inp["f32"], o("c.npy"), "--kernel", inp["k31"]]),
        "gradient": ("gradient (dy, dx), 5000² f64",
                     ["gradient", inp["f64"], "--dy", o("gy.npy"), "--dx", o("gx.npy")]),
        "hessian": ("Hessian (gradient twice), 5000² f64",
                    ["hessian", inp["f64"], "--dyy", o("hyy.npy"), "--dxy", o("hxy.npy"), "--dxx", o("hxx.npy")]),
        "hessian-compact": ("Hessian (compact), 5000² f64",
                            ["hessian", inp["f64"], "--stencil", "compact", "--dyy", o("hyy.npy"),
                             "--dxy", o("hxy.npy"), "--dxx", o("hxx.npy")]),
        "label-mean": ("label-mean 4000²×3 f32, 10⁴ labels",
                       ["label-mean", inp["rgbf"], inp["labels"], o("lm.npy")]),
        "quantize": ("quantize 4000² RGB, 256-colour palette",
                     ["quantize", inp["rgb"], o("q.npy"), "--palette", inp["pal"]]),
        "quantize-build": ("quantize 4000² RGB, 256-colour palette built",
                           ["quantize", inp["rgb"], o("qb.npy"), "--colors", "256"]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gpix", default=os.path.join(ROOT, "target", "release", "gpix"))
    ap.add_argument("--dir", default="/tmp/gpix-e2e", help="inputs and outputs (made once)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", help="comma-separated case names")
    ap.add_argument("--gpix-args", default="", help="extra gpix flags, e.g. '--device cpu'")
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    inp = make_inputs(args.dir)
    cmds = gpix_commands(inp, args.dir)
    jobs = peers(inp, args.dir)
    names = args.only.split(",") if args.only else list(cmds)
    extra = args.gpix_args.split()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"{stamp}, {args.runs} runs, gpix {' '.join(extra) or '(default flags)'}")
    print("| job | gpix CLI | fastest peer end to end | ratio |")
    print("|---|---|---|---|")
    rows = []
    for name in names:
        what, argv = cmds[name]
        full = [args.gpix] + argv + extra + ["-q"]
        g = median_ms(lambda: subprocess.run(full, check=True), args.runs)
        results = [(peer, median_ms(fn, args.runs)) for peer, fn in jobs[name]]
        best = min(results, key=lambda r: r[1])
        others = "; ".join(f"{p} {ms:.0f} ms" for p, ms in results if (p, ms) != best)
        note = f" ({others})" if others else ""
        print(f"| {what} | {g:.0f} ms | {best[0]} {best[1]:.0f} ms{note} | {g / best[1]:.2f} |", flush=True)
        rows.append({"case": name, "job": what, "gpix_ms": g, "argv": argv + extra,
                     "peers": [{"peer": p, "ms": ms} for p, ms in results]})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"when": stamp, "runs": args.runs, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
