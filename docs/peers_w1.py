"""Time the fastest W1 peers (../shared/peers/w1_palette.py) on this machine,
to compare with `gpix bench quantize` run in the same sitting.

    python3 -m venv /tmp/pv && /tmp/pv/bin/pip install numpy numba opencv-python-headless pillow
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /tmp/pv/bin/python docs/peers_w1.py

Uses the peers' own image generators and kernels (imported, not copied).
Prints median ms of 5 runs after a warm-up, outputs preallocated where the
peer allows it.
"""
import time  # noqa: F401  (some scripts time one-offs)

from peers_timing import median_ms  # noqa: E402  (also puts ../shared/peers on the path)


import numpy as np  # noqa: E402
import cv2  # noqa: E402
import w1_palette as w1  # noqa: E402
from common import smooth_rgb, uniform_rgb, smooth_float  # noqa: E402




def main():
    rows = []
    h = w = 4000
    images = {"smooth": smooth_rgb(h, w, seed=0), "uniform": uniform_rgb(h, w, seed=1)}
    for k in (16, 256):
        pal = np.random.default_rng(100 + k).integers(0, 256, size=(k, 3), dtype=np.uint8)
        t = time.perf_counter()
        lut = w1.nb_build_cube_lut(pal)
        t = time.perf_counter()
        lut = w1.nb_build_cube_lut(pal)
        build = (time.perf_counter() - t) * 1e3
        palimg = w1.pil_palette_image(pal)
        for name, img in images.items():
            rows.append((f"RGB {name} K={k}", "numba 256^3 LUT apply", median_ms(lambda: w1.nb_apply_cube_lut(img, lut))))
            rows.append((f"RGB {name} K={k}", "numba 256^3 LUT build (one-off)", build))
            rows.append((f"RGB {name} K={k}", "Pillow quantize (approximate)", median_ms(lambda: w1.pil_quantize_np(img, palimg))))
            if k == 16:
                rows.append((f"RGB {name} K={k}", "numba loop (exact, no precompute)", median_ms(lambda: w1.nb_nearest_index(img, pal), runs=3)))
    h = w = 12000
    x = smooth_float(h, w, seed=3)
    lv = np.sort(np.random.default_rng(8).random(8).astype(np.float32))
    mids = ((lv[1:] + lv[:-1]) / 2).astype(np.float32)
    rows.append(("grey f32 12000^2 K=8", "numba count(x > midpoints)", median_ms(lambda: w1.nb_levels_count(x, mids))))
    x8 = np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)
    del x
    lut8 = np.abs(np.arange(256, dtype=np.float32)[:, None] - lv[None, :] * 255).argmin(1).astype(np.uint8)
    dst = np.empty_like(x8)
    rows.append(("grey u8 12000^2 K=8", "cv2.LUT, preallocated dst", median_ms(lambda: cv2.LUT(x8, lut8, dst=dst))))
    print(f"threads: numba {w1.nb.get_num_threads()}, OpenCV {cv2.getNumThreads()}")
    for case, impl, ms in rows:
        print(f"{case:<24} {impl:<36} {ms:9.1f} ms")


if __name__ == "__main__":
    main()
