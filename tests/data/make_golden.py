"""Golden files for gpix's CLI tests, computed independently with numpy.

Run from the repository root:  python3 tests/data/make_golden.py
Needs numpy and Pillow (pip install numpy pillow). Writes:
  tests/data/coffee_cga16_index.npy   exact nearest-palette index map (uint8)
      of assets/coffee.png against assets/cga16.gpl: squared Euclidean
      distance in int64, ties to the lowest palette index (np.argmin keeps
      the first minimum).
  tests/data/grey_levels.npy / grey_levels_index.npy   a float32 (H, W)
      array and its nearest-level index map against tests/data/levels.txt,
      distances |x - level| in float64.
"""
import numpy as np
from PIL import Image


def read_gpl(path):
    colours = []
    for line in open(path):
        parts = line.split()
        if len(parts) >= 3 and all(p.isdigit() for p in parts[:3]):
            colours.append([int(p) for p in parts[:3]])
    return np.array(colours, dtype=np.int64)


def nearest(pixels, palette):
    d = ((pixels[:, None, :].astype(np.int64) - palette[None, :, :]) ** 2).sum(-1)
    return d.argmin(1)


def main():
    img = np.asarray(Image.open("assets/coffee.png").convert("RGB"))
    pal = read_gpl("assets/cga16.gpl")
    idx = nearest(img.reshape(-1, 3), pal).astype(np.uint8).reshape(img.shape[:2])
    np.save("tests/data/coffee_cga16_index.npy", idx)

    rng = np.random.default_rng(7)
    grey = (rng.random((37, 53)) * 2 - 0.5).astype(np.float32)
    levels = np.array([float(l) for l in open("tests/data/levels.txt") if l.strip()])
    d = np.abs(grey.astype(np.float64).reshape(-1, 1) - levels[None, :])
    np.save("tests/data/grey_levels.npy", grey)
    np.save("tests/data/grey_levels_index.npy", d.argmin(1).astype(np.uint8).reshape(grey.shape))


if __name__ == "__main__":
    main()
