"""gpix.label_mean / label_table against np.bincount, and the palette
functions against a brute-force argmin."""

from pathlib import Path

import numpy as np
import pytest

import gpix
from conftest import assert_close


def voronoi_labels(rng, h, w, m):
    seeds = rng.integers(0, [h, w], (m, 2))
    yy, xx = np.mgrid[:h, :w]
    d = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
    return d.argmin(-1).astype(np.int64) * 3  # sparse label values


def bincount_table(image, labels):
    lab = labels.ravel()
    x = image.reshape(lab.size, -1)
    counts = np.bincount(lab)
    keep = np.nonzero(counts)[0]
    sums = np.stack([np.bincount(lab, weights=x[:, c].astype(np.float64)) for c in range(x.shape[1])], -1)
    return keep, counts[keep], sums[keep]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32, np.float64])
def test_label_table_and_mean(rng, device, dtype):
    labels = voronoi_labels(rng, 37, 41, 20)
    if np.dtype(dtype).kind == "f":
        image = rng.standard_normal((37, 41, 3)).astype(dtype) * 100
    else:
        image = rng.integers(0, 200, (37, 41, 3)).astype(dtype)
    table = gpix.label_table(image, labels, device=device)
    keep, counts, sums = bincount_table(image, labels)
    assert np.array_equal(table.labels, keep)
    assert np.array_equal(table.counts, counts)
    if np.dtype(dtype).kind == "f":
        assert_close(table.sums, sums)
    else:
        assert table.sums.dtype == np.int64
        assert np.array_equal(table.sums, sums.astype(np.int64))
    means = sums / counts[:, None]
    assert_close(table.means, means)
    got = gpix.label_mean(image, labels, device=device)
    assert got.dtype == image.dtype
    lookup = np.zeros((labels.max() + 1, 3))
    lookup[keep] = means
    want = lookup[labels]
    if np.dtype(dtype).kind == "f":
        assert_close(got, want.astype(dtype))
    else:
        # Integer means rounded half up, from exact integer sums.
        s = np.zeros((labels.max() + 1, 3), np.int64)
        c = np.ones(labels.max() + 1, np.int64)
        s[keep], c[keep] = sums.astype(np.int64), counts
        exact = (2 * s + c[:, None]) // (2 * c[:, None])
        assert np.array_equal(got, exact[labels].astype(dtype))
    as64 = gpix.label_mean(image, labels, output=np.float64, device=device)
    assert_close(as64, want)


def test_label_mean_shapes_and_dtypes(rng):
    labels = voronoi_labels(rng, 20, 30, 8)
    grey = rng.random((20, 30)).astype(np.float32)
    got = gpix.label_mean(grey, labels.astype(np.uint16))
    assert got.shape == grey.shape
    table = gpix.label_table(grey, labels.astype(np.uint32))
    assert table.sums.ndim == 1 and table.means.ndim == 1
    out = np.empty((20, 30), np.float32)
    assert gpix.label_mean(grey, labels, out) is out
    assert np.array_equal(out, got)
    with pytest.raises(ValueError, match="label -1"):
        gpix.label_mean(grey, labels - 1)
    with pytest.raises(ValueError):
        gpix.label_mean(grey, labels[:10])
    with pytest.raises(TypeError):
        gpix.label_mean(grey, labels.astype(np.float32))
    big = rng.integers(0, 1000, (20, 30)).astype(np.int64)
    assert gpix.label_mean(big, labels).dtype == np.int64


def brute_nearest(image, palette):
    x = image.reshape(-1, 1, image.shape[-1]).astype(np.int64)
    d = ((x - palette.astype(np.int64)[None]) ** 2).sum(-1)
    return d.argmin(-1).reshape(image.shape[:2])


@pytest.mark.parametrize("k", [1, 7, 256, 300])
def test_nearest_palette_is_exact(rng, device, k):
    image = rng.integers(0, 256, (31, 29, 3)).astype(np.uint8)
    palette = rng.integers(0, 256, (k, 3)).astype(np.uint8)
    got = gpix.nearest_palette(image, palette, device=device)
    assert got.dtype == (np.uint8 if k <= 256 else np.uint16)
    assert np.array_equal(got, brute_nearest(image, palette))


def test_nearest_palette_other_kinds(rng):
    u16 = rng.integers(0, 65536, (20, 10, 4)).astype(np.uint16)
    p16 = rng.integers(0, 65536, (12, 4)).astype(np.uint16)
    assert np.array_equal(gpix.nearest_palette(u16, p16), brute_nearest(u16, p16))
    grey = rng.integers(0, 256, (15, 16)).astype(np.uint8)
    levels = np.array([200, 10, 90, 255], np.uint8)
    want = np.abs(grey[..., None].astype(int) - levels.astype(int)).argmin(-1)
    assert np.array_equal(gpix.nearest_palette(grey, levels), want)
    f = rng.random((15, 16)).astype(np.float32)
    lv = np.array([0.9, 0.1, 0.5])
    want = np.abs(f[..., None].astype(np.float64) - lv).argmin(-1)
    assert np.array_equal(gpix.nearest_palette(f, lv), want)
    with pytest.raises(ValueError):
        gpix.nearest_palette(u16, p16[:, :3])
    with pytest.raises(TypeError):
        gpix.nearest_palette(u16.astype(np.int32), p16)


@pytest.mark.parametrize("method", ["refined", "median-cut", "kmeans"])
def test_quantize(rng, method):
    image = rng.integers(0, 256, (40, 50, 3)).astype(np.uint8)
    indices, palette = gpix.quantize(image, colors=16, method=method, seed=3)
    assert palette.dtype == np.uint8 and palette.shape[1] == 3 and len(palette) <= 16
    assert np.array_equal(indices, brute_nearest(image, palette))
    again = gpix.quantize(image, colors=16, method=method, seed=3)
    assert np.array_equal(again[1], palette)
    grey = rng.random((30, 30))
    idx, levels = gpix.quantize(grey, colors=4, method=method)
    assert levels.ndim == 1 and np.all(np.diff(levels) > 0)
    assert np.array_equal(idx, np.abs(grey[..., None] - levels).argmin(-1))
    with pytest.raises(ValueError):
        gpix.quantize(image, colors=0)


@pytest.mark.parametrize("method", ["kmeans", "refined"])
def test_grey_weights(method):
    # 90 % zeros, the rest spread over 1..255: counted per pixel, the zeros
    # get a level of their own; counted once, they do not.
    i = np.arange(10_000)
    grey = np.where(i % 10 == 0, 1 + (i // 10) % 255, 0).astype(np.uint8).reshape(100, 100)
    _, distinct = gpix.quantize(grey, colors=2, method=method)
    _, pixels = gpix.quantize(grey, colors=2, method=method, weights="pixels")
    assert distinct[0] > 30 and pixels[0] < 10
    _, explicit = gpix.quantize(grey, colors=2, method=method, weights="distinct")
    np.testing.assert_array_equal(explicit, distinct)
    with pytest.raises(ValueError, match="greyscale"):
        gpix.quantize(np.zeros((4, 4, 3), np.uint8), colors=2, method=method, weights="pixels")
    with pytest.raises(ValueError, match="weights"):
        gpix.quantize(grey, colors=2, method=method, weights="all")
    with pytest.raises(ValueError, match="palette="):
        gpix.quantize(grey, palette=[0, 128, 255], weights="pixels")
    with pytest.raises(ValueError, match="median-cut"):
        gpix.quantize(grey, colors=2, method="median-cut", weights="pixels")


@pytest.mark.parametrize("method", ["refined", "median-cut"])
def test_palette_from_counts_is_the_images_palette(rng, method):
    # What gpix.dask merges chunk counts into: the whole image's palette.
    image = (rng.integers(0, 40, (60, 70, 3)) * 6).astype(np.uint8)
    colors, counts = gpix.colour_counts(image)
    _, palette = gpix.quantize(image, colors=32, method=method)
    np.testing.assert_array_equal(gpix.median_cut(colors, counts, 32, method=method), palette)
    grey = image[..., 0]
    colors, counts = gpix.colour_counts(grey)
    _, levels = gpix.quantize(grey, colors=5, method=method)
    np.testing.assert_array_equal(gpix.median_cut(colors, counts, 5, method=method)[:, 0], levels)
    with pytest.raises(ValueError, match="method"):
        gpix.median_cut(colors, counts, 5, method="kmeans")
    with pytest.raises(ValueError, match="greyscale"):
        gpix.median_cut(colors, counts, 5, method="median-cut", weights="pixels")
    # Hand-made counts: unsorted, repeated and empty values are the image's.
    pixels = gpix.median_cut(colors, counts, 5, method="refined", weights="pixels")
    shuffled = np.r_[colors[::-1], colors[:1]], np.r_[counts[::-1], [0]]
    np.testing.assert_array_equal(gpix.median_cut(*shuffled, 5, method="refined", weights="pixels"), pixels)


def test_dithering():
    grey = np.full((64, 64), 100, np.uint8)
    bw = np.uint8([0, 255])
    for dither in ("floyd-steinberg", "ordered"):
        idx = gpix.nearest_palette(grey, bw, dither=dither)
        assert abs(idx.mean() - 100 / 255) < 0.01
    np.testing.assert_array_equal(gpix.nearest_palette(grey, bw, dither="ordered", dither_strength=0), gpix.nearest_palette(grey, bw))
    rgb = gpix.imread(Path(__file__).resolve().parents[2] / "assets" / "coffee.png")
    a, pal = gpix.quantize(rgb, colors=16, dither="floyd-steinberg")
    b, _ = gpix.quantize(rgb, colors=16, dither="floyd-steinberg")
    np.testing.assert_array_equal(a, b)
    plain, _ = gpix.quantize(rgb, colors=16)
    assert (a != plain).mean() > 0.1
    with pytest.raises(ValueError, match="dither"):
        gpix.nearest_palette(grey, bw, dither="random")
    with pytest.raises(ValueError, match="float"):
        gpix.nearest_palette(grey.astype(np.float32), np.float32([0, 255]), dither="ordered")
    with pytest.raises(ValueError, match="strength"):
        gpix.nearest_palette(grey, bw, dither="ordered", dither_strength=-1)
