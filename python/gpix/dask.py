"""gpix on Dask arrays: the functions of :mod:`gpix` with the same names and
arguments, taking ``dask.array`` inputs and returning dask arrays, on
whatever scheduler the caller runs (threads, processes,
``dask.distributed`` clusters).

- Filters, local statistics, gradient and Hessian run per chunk through
  ``map_overlap`` with the halo each window needs. The array's true edges are
  left to gpix itself (``boundary='none'``, or ``'periodic'`` for
  ``mode='wrap'``), so every scipy mode gives the whole-array call's numbers:
  gradients bit for bit, sums within float rounding.
- ``label_table`` / ``label_mean``: a label table per chunk (exact integer
  sums), merged by a tree reduction, then each chunk painted from the merged
  table. Integer images give the whole-array result exactly.

>>> import dask.array as da, gpix.dask
>>> x = da.random.random((3000, 3000), chunks=1000)
>>> m = gpix.dask.uniform_filter(x, 15)          # lazy; m.compute() runs it
"""

import functools
import operator

import numpy as np

import gpix

from ._args import axes_of, per_axis

try:
    import dask
    import dask.array as da
except ImportError as e:  # pragma: no cover - the message is the point
    raise ImportError("gpix.dask needs dask: pip install 'dask[array]' distributed") from e

__all__ = [
    "uniform_filter",
    "minimum_filter",
    "maximum_filter",
    "grey_erosion",
    "grey_dilation",
    "grey_opening",
    "grey_closing",
    "morphological_gradient",
    "white_tophat",
    "black_tophat",
    "binary_erosion",
    "binary_dilation",
    "binary_opening",
    "binary_closing",
    "rank_filter",
    "median_filter",
    "percentile_filter",
    "correlate",
    "convolve",
    "gaussian_filter",
    "correlate1d",
    "convolve1d",
    "uniform_filter1d",
    "minimum_filter1d",
    "maximum_filter1d",
    "gaussian_filter1d",
    "sobel",
    "prewitt",
    "laplace",
    "local_stats",
    "gradient",
    "hessian",
    "label_table",
    "label_mean",
    "quantize",
]


def _boundary(mode, axes, ndim):
    """dask's boundary per axis: periodic where the mode wraps (the halo is
    the other end of the array), none elsewhere (gpix applies the mode at
    the array's true edges)."""
    listed = axes_of(axes, ndim)
    modes = [mode] * len(listed) if isinstance(mode, str) else list(mode)
    out = {ax: "none" for ax in range(ndim)}
    for ax, m in zip(listed, modes):
        if m in ("wrap", "grid-wrap"):
            out[ax] = "periodic"
    return out


def _out_dtype(x):
    """The dtype gpix returns for ``x`` (floats kept, integers as float64)."""
    return x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)


def _overlap(x, func, depth, mode, dtype, axes=None):
    depth = {ax: int(d) for ax, d in enumerate(depth)}
    # A halo as long as the axis: that axis in one chunk instead (dask
    # refuses such depths; gpix then sees the axis whole, every mode exact).
    whole = [ax for ax, d in depth.items() if d and d >= x.shape[ax]]
    if whole:
        x = x.rechunk({ax: -1 for ax in whole})
        depth.update({ax: 0 for ax in whole})
    if all(d == 0 for d in depth.values()):
        return x.map_blocks(func, dtype=dtype, meta=np.empty((0,) * x.ndim, dtype))
    return x.map_overlap(func, depth=depth, boundary=_boundary(mode, axes, x.ndim), trim=True, dtype=dtype,
                         meta=np.empty((0,) * x.ndim, dtype))


def _window_depth(x, axes, widths, origin=0):
    """Per-axis halo of windows ``widths`` along ``axes``: the larger side of
    scipy's centring (``w // 2``), plus how far ``origin`` moves it."""
    listed = axes_of(axes, x.ndim)
    origins = per_axis(origin, len(listed), "origin")
    depth = [0] * x.ndim
    for ax, w, o in zip(listed, widths, origins):
        depth[ax] = int(w) // 2 + abs(int(o))
    return depth


def uniform_filter(input, size=3, mode="reflect", cval=0.0, origin=0, *, axes=None, device=None):
    """:func:`gpix.uniform_filter` chunk by chunk (see the module docs)."""
    x = da.asarray(input)
    sizes = per_axis(size, len(axes_of(axes, x.ndim)), "size")
    depth = _window_depth(x, axes, sizes, origin)

    def block(b):
        return gpix.uniform_filter(b, size, mode=mode, cval=cval, origin=origin, axes=axes, device=device)

    return _overlap(x, block, depth, mode, _out_dtype(x), axes)


def minimum_filter(input, size=None, footprint=None, mode="reflect", cval=0.0, origin=0, *, axes=None, device=None):
    """:func:`gpix.minimum_filter` chunk by chunk."""
    return _extremum(gpix.minimum_filter, input, size, footprint, mode, cval, origin, axes, device)


def maximum_filter(input, size=None, footprint=None, mode="reflect", cval=0.0, origin=0, *, axes=None, device=None):
    """:func:`gpix.maximum_filter` chunk by chunk."""
    return _extremum(gpix.maximum_filter, input, size, footprint, mode, cval, origin, axes, device)


def rank_filter(input, rank, size=None, footprint=None, mode="reflect", cval=0.0, origin=0, *, axes=None, device=None):
    """:func:`gpix.rank_filter` chunk by chunk."""
    return _extremum(functools.partial(gpix.rank_filter, rank=rank), input, size, footprint, mode, cval, origin, axes,
                     device)


def median_filter(input, size=None, footprint=None, mode="reflect", cval=0.0, origin=0, *, axes=None, device=None):
    """:func:`gpix.median_filter` chunk by chunk."""
    return _extremum(gpix.median_filter, input, size, footprint, mode, cval, origin, axes, device)


def percentile_filter(input, percentile, size=None, footprint=None, mode="reflect", cval=0.0, origin=0, *, axes=None,
                      device=None):
    """:func:`gpix.percentile_filter` chunk by chunk."""
    return _extremum(functools.partial(gpix.percentile_filter, percentile=percentile), input, size, footprint, mode,
                     cval, origin, axes, device)


def grey_erosion(input, size=None, footprint=None, structure=None, mode="reflect", cval=0.0, origin=0, *, axes=None,
                 device=None):
    """:func:`gpix.grey_erosion` chunk by chunk."""
    return _morphology(gpix.grey_erosion, input, size, footprint, structure, mode, cval, origin, axes, device)


def grey_dilation(input, size=None, footprint=None, structure=None, mode="reflect", cval=0.0, origin=0, *, axes=None,
                  device=None):
    """:func:`gpix.grey_dilation` chunk by chunk."""
    return _morphology(gpix.grey_dilation, input, size, footprint, structure, mode, cval, origin, axes, device)


def grey_opening(input, size=None, footprint=None, structure=None, mode="reflect", cval=0.0, origin=0, *, axes=None,
                 device=None):
    """:func:`gpix.grey_opening`: the dilation of the erosion, each chunk by
    chunk (two overlaps)."""
    args = (size, footprint, structure, mode, cval, origin)
    return grey_dilation(grey_erosion(input, *args, axes=axes, device=device), *args, axes=axes, device=device)


def grey_closing(input, size=None, footprint=None, structure=None, mode="reflect", cval=0.0, origin=0, *, axes=None,
                 device=None):
    """:func:`gpix.grey_closing`: the erosion of the dilation."""
    args = (size, footprint, structure, mode, cval, origin)
    return grey_erosion(grey_dilation(input, *args, axes=axes, device=device), *args, axes=axes, device=device)


def morphological_gradient(input, size=None, footprint=None, structure=None, mode="reflect", cval=0.0, origin=0, *,
                           axes=None, device=None):
    """:func:`gpix.morphological_gradient`: dilation minus erosion."""
    args = (size, footprint, structure, mode, cval, origin)
    return (grey_dilation(input, *args, axes=axes, device=device)
            - grey_erosion(input, *args, axes=axes, device=device))


def white_tophat(input, size=None, footprint=None, structure=None, mode="reflect", cval=0.0, origin=0, *, axes=None,
                 device=None):
    """:func:`gpix.white_tophat`: the input minus its opening (bool: xor)."""
    x = da.asarray(input)
    opened = grey_opening(x, size, footprint, structure, mode, cval, origin, axes=axes, device=device)
    return x ^ opened if x.dtype == np.bool_ else x - opened


def black_tophat(input, size=None, footprint=None, structure=None, mode="reflect", cval=0.0, origin=0, *, axes=None,
                 device=None):
    """:func:`gpix.black_tophat`: the closing minus the input (bool: xor)."""
    x = da.asarray(input)
    closed = grey_closing(x, size, footprint, structure, mode, cval, origin, axes=axes, device=device)
    return closed ^ x if x.dtype == np.bool_ else closed - x


def binary_erosion(input, structure=None, iterations=1, mask=None, border_value=0, origin=0, brute_force=False, *,
                   axes=None, device=None):
    """:func:`gpix.binary_erosion` chunk by chunk (``iterations`` ≥ 1, no
    ``mask``: a halo per iteration)."""
    return _binary(gpix.binary_erosion, 1, input, structure, iterations, mask, border_value, origin, axes, device)


def binary_dilation(input, structure=None, iterations=1, mask=None, border_value=0, origin=0, brute_force=False, *,
                    axes=None, device=None):
    """:func:`gpix.binary_dilation` chunk by chunk (as :func:`binary_erosion`)."""
    return _binary(gpix.binary_dilation, 1, input, structure, iterations, mask, border_value, origin, axes, device)


def binary_opening(input, structure=None, iterations=1, origin=0, mask=None, border_value=0, brute_force=False, *,
                   axes=None, device=None):
    """:func:`gpix.binary_opening` chunk by chunk (as :func:`binary_erosion`)."""
    return _binary(gpix.binary_opening, 2, input, structure, iterations, mask, border_value, origin, axes, device)


def binary_closing(input, structure=None, iterations=1, origin=0, mask=None, border_value=0, brute_force=False, *,
                   axes=None, device=None):
    """:func:`gpix.binary_closing` chunk by chunk (as :func:`binary_erosion`)."""
    return _binary(gpix.binary_closing, 2, input, structure, iterations, mask, border_value, origin, axes, device)


def _binary(f, steps, input, structure, iterations, mask, border_value, origin, axes, device):
    """A binary operation of ``steps`` erosions / dilations per iteration:
    each reaches at most the structure's side, so a halo of that many sides
    per step makes every chunk exact."""
    x = da.asarray(input)
    iterations = operator.index(iterations)
    if iterations < 1 or mask is not None:
        raise NotImplementedError(
            "gpix.dask: binary morphology with iterations < 1 or a mask needs the whole array; "
            "use gpix's on a numpy array")
    n = len(axes_of(axes, x.ndim))
    shape = np.shape(structure) if structure is not None else (3,) * n
    depth = _window_depth(x, axes, [2 * steps * iterations * s + 1 for s in shape], 0)

    def block(b):
        if structure is None:
            return f(b, iterations=iterations, border_value=border_value, origin=origin, axes=axes, device=device)
        return f(b, structure, iterations=iterations, border_value=border_value, origin=origin, axes=axes,
                 device=device)

    return _overlap(x, block, depth, "constant", np.dtype(bool), axes)


def _morphology(f, input, size, footprint, structure, mode, cval, origin, axes, device):
    """An erosion or dilation chunk by chunk: the halo of the window (the
    dilation's reflected one reaches as far the other way, one more for an
    even side: a halo of the full width on both sides covers both)."""
    x = da.asarray(input)
    n = len(axes_of(axes, x.ndim))
    if size is None and footprint is None and structure is None:
        raise ValueError("size, footprint, or structure must be specified")
    shaped = footprint if footprint is not None else structure
    sizes = list(np.shape(shaped)) if shaped is not None else per_axis(size, n, "size")
    depth = _window_depth(x, axes, [2 * s + 1 for s in sizes], 0)

    def block(b):
        return f(b, size=size, footprint=footprint, structure=structure, mode=mode, cval=cval, origin=origin, axes=axes,
                 device=device)

    return _overlap(x, block, depth, mode, x.dtype, axes)


def _extremum(f, input, size, footprint, mode, cval, origin, axes, device):
    x = da.asarray(input)
    n = len(axes_of(axes, x.ndim))
    if size is None and footprint is None:
        raise RuntimeError("no footprint provided")
    sizes = list(np.shape(footprint)) if footprint is not None else per_axis(size, n, "size")
    depth = _window_depth(x, axes, sizes, origin)

    def block(b):
        return f(b, size=size, footprint=footprint, mode=mode, cval=cval, origin=origin, axes=axes, device=device)

    return _overlap(x, block, depth, mode, x.dtype, axes)


def _correlate(input, weights, mode, cval, origin, axes, device, method, flip):
    x = da.asarray(input)
    w = np.asarray(weights)
    # The convolution's flipped origin is one further for even sides.
    depth = [d + 1 if d else 0 for d in _window_depth(x, axes, w.shape, origin)]
    f = gpix.convolve if flip else gpix.correlate

    def block(b):
        return f(b, w, mode=mode, cval=cval, origin=origin, axes=axes, device=device, method=method)

    return _overlap(x, block, depth, mode, _out_dtype(x), axes)


def correlate(input, weights, mode="reflect", cval=0.0, origin=0, *, axes=None, device=None, method="auto"):
    """:func:`gpix.correlate` chunk by chunk."""
    return _correlate(input, weights, mode, cval, origin, axes, device, method, False)


def convolve(input, weights, mode="reflect", cval=0.0, origin=0, *, axes=None, device=None, method="auto"):
    """:func:`gpix.convolve` chunk by chunk."""
    return _correlate(input, weights, mode, cval, origin, axes, device, method, True)


def gaussian_filter(input, sigma, order=0, mode="reflect", cval=0.0, truncate=4.0, *, axes=None, device=None):
    """:func:`gpix.gaussian_filter` chunk by chunk (halo: scipy's radius
    ``int(truncate * sigma + 0.5)``)."""
    x = da.asarray(input)
    sigmas = per_axis(sigma, len(axes_of(axes, x.ndim)), "sigma", float)
    widths = [2 * int(truncate * s + 0.5) + 1 for s in sigmas]
    depth = _window_depth(x, axes, widths)

    def block(b):
        return gpix.gaussian_filter(b, sigma, order=order, mode=mode, cval=cval, truncate=truncate, axes=axes, device=device)

    return _overlap(x, block, depth, mode, _out_dtype(x), axes)


def _along(x, axis, width, origin, mode, func):
    """``func`` per chunk with the halo of a ``width`` window along one axis."""
    ax = axes_of([axis], x.ndim)[0]
    depth = _window_depth(x, [ax], [width], origin)
    return _overlap(x, func, depth, mode, _out_dtype(x), [ax])


def correlate1d(input, weights, axis=-1, mode="reflect", cval=0.0, origin=0, *, device=None):
    """:func:`gpix.correlate1d` chunk by chunk."""
    x = da.asarray(input)
    w = np.asarray(weights)
    return _along(x, axis, len(w) + 1, origin, mode,
                  lambda b: gpix.correlate1d(b, w, axis, mode=mode, cval=cval, origin=origin, device=device))


def convolve1d(input, weights, axis=-1, mode="reflect", cval=0.0, origin=0, *, device=None):
    """:func:`gpix.convolve1d` chunk by chunk."""
    x = da.asarray(input)
    w = np.asarray(weights)
    return _along(x, axis, len(w) + 1, origin, mode,
                  lambda b: gpix.convolve1d(b, w, axis, mode=mode, cval=cval, origin=origin, device=device))


def uniform_filter1d(input, size, axis=-1, mode="reflect", cval=0.0, origin=0, *, device=None):
    """:func:`gpix.uniform_filter1d` chunk by chunk."""
    x = da.asarray(input)
    return _along(x, axis, size, origin, mode,
                  lambda b: gpix.uniform_filter1d(b, size, axis, mode=mode, cval=cval, origin=origin, device=device))


def minimum_filter1d(input, size, axis=-1, mode="reflect", cval=0.0, origin=0, *, device=None):
    """:func:`gpix.minimum_filter1d` chunk by chunk (the input's dtype kept)."""
    return _extremum1d(gpix.minimum_filter1d, input, size, axis, mode, cval, origin, device)


def maximum_filter1d(input, size, axis=-1, mode="reflect", cval=0.0, origin=0, *, device=None):
    """:func:`gpix.maximum_filter1d` chunk by chunk (the input's dtype kept)."""
    return _extremum1d(gpix.maximum_filter1d, input, size, axis, mode, cval, origin, device)


def _extremum1d(f, input, size, axis, mode, cval, origin, device):
    x = da.asarray(input)
    ax = axes_of([axis], x.ndim)[0]
    depth = _window_depth(x, [ax], [size], origin)
    return _overlap(x, lambda b: f(b, size, axis, mode=mode, cval=cval, origin=origin, device=device), depth, mode,
                    x.dtype, [ax])


def gaussian_filter1d(input, sigma, axis=-1, order=0, mode="reflect", cval=0.0, truncate=4.0, *, radius=None,
                      device=None):
    """:func:`gpix.gaussian_filter1d` chunk by chunk."""
    x = da.asarray(input)
    r = int(truncate * float(sigma) + 0.5) if radius is None else int(radius)

    def block(b):
        return gpix.gaussian_filter1d(b, sigma, axis, order, mode=mode, cval=cval, truncate=truncate, radius=radius,
                                      device=device)

    return _along(x, axis, 2 * r + 1, 0, mode, block)


def _three_wide(input, mode, axes, func):
    """``func`` per chunk with a one-element halo along ``axes`` (3-wide
    windows: sobel, prewitt, laplace)."""
    x = da.asarray(input)
    listed = axes_of(axes, x.ndim)
    depth = _window_depth(x, listed, [3] * len(listed))
    return _overlap(x, func, depth, mode, _out_dtype(x), listed)


def sobel(input, axis=-1, mode="reflect", cval=0.0, *, device=None):
    """:func:`gpix.sobel` chunk by chunk."""
    return _three_wide(input, mode, None, lambda b: gpix.sobel(b, axis, mode=mode, cval=cval, device=device))


def prewitt(input, axis=-1, mode="reflect", cval=0.0, *, device=None):
    """:func:`gpix.prewitt` chunk by chunk."""
    return _three_wide(input, mode, None, lambda b: gpix.prewitt(b, axis, mode=mode, cval=cval, device=device))


def laplace(input, mode="reflect", cval=0.0, *, axes=None, device=None):
    """:func:`gpix.laplace` chunk by chunk."""
    return _three_wide(input, mode, axes, lambda b: gpix.laplace(b, mode=mode, cval=cval, axes=axes, device=device))


def local_stats(input, size=3, mode="reflect", cval=0.0, origin=0, *, axes=None, stats=("mean", "var", "std"),
                device=None):
    """:func:`gpix.local_stats` chunk by chunk: a ``gpix.LocalStats`` of
    dask arrays (None where not asked for)."""
    x = da.asarray(input)
    stats = (stats,) if isinstance(stats, str) else tuple(stats)
    sizes = per_axis(size, len(axes_of(axes, x.ndim)), "size")
    depth = _window_depth(x, axes, sizes, origin)
    result = {}
    for name in stats:

        def block(b, name=name):
            s = gpix.local_stats(b, size, mode=mode, cval=cval, origin=origin, axes=axes, stats=(name,), device=device)
            return getattr(s, name)

        result[name] = _overlap(x, block, depth, mode, _out_dtype(x), axes)
    return gpix.LocalStats(*(result.get(n) for n in ("mean", "var", "std")))


def _diff_axes(x, axis):
    if axis is None:
        return [0, 1] if x.ndim >= 2 else [0]
    return axes_of(axis, x.ndim)


def _scalar_spacings(varargs):
    if any(np.ndim(v) != 0 for v in varargs):
        raise NotImplementedError("gpix.dask takes scalar spacings; coordinate arrays are not split by chunk yet")


def gradient(f, *varargs, axis=None, edge_order=1, device=None):
    """:func:`gpix.gradient` chunk by chunk (halo 1; one-sided differences
    only at the array's true edges): numpy's numbers bit for bit. Scalar
    spacings only (no coordinate arrays)."""
    _scalar_spacings(varargs)
    x = da.asarray(f)
    axes = _diff_axes(x, axis)
    depth = [1 if ax in axes else 0 for ax in range(x.ndim)]
    single = (axis is not None and np.isscalar(axis)) or x.ndim == 1
    dtype = _out_dtype(x)
    parts = []
    for ax in axes:

        def block(b, ax=ax):
            return gpix.gradient(b, *varargs, axis=ax, edge_order=edge_order, device=device) if len(axes) == 1 \
                else gpix.gradient(b, *varargs, axis=tuple(axes), edge_order=edge_order, device=device)[axes.index(ax)]

        parts.append(_overlap(x, block, depth, "nearest", dtype))
    return parts[0] if single else tuple(parts)


def hessian(f, *varargs, edge_order=1, stencil="gradient", axes=(0, 1), device=None):
    """:func:`gpix.hessian` chunk by chunk (halo 2): ``(dyy, dxy, dxx)``."""
    _scalar_spacings(varargs)
    x = da.asarray(f)
    axes = axes_of(axes, x.ndim)
    depth = [2 if ax in axes else 0 for ax in range(x.ndim)]
    dtype = _out_dtype(x)
    parts = []
    for i in range(3):

        def block(b, i=i):
            return gpix.hessian(b, *varargs, edge_order=edge_order, stencil=stencil, axes=axes, device=device)[i]

        parts.append(_overlap(x, block, depth, "nearest", dtype))
    return tuple(parts)


# ---- labels --------------------------------------------------------------


def _aligned(image, labels):
    """Image and labels with matching chunks over (H, W); channels whole."""
    image = da.asarray(image)
    labels = da.asarray(labels)
    if labels.shape != image.shape[:2]:
        raise ValueError(f"labels of shape {labels.shape} for an image of shape {image.shape}")
    if image.ndim == 3:
        image = image.rechunk({2: -1})
    labels = labels.rechunk(image.chunks[:2])
    return image, labels


def _chunk_table(image, labels, device):
    t = gpix.label_table(image, labels, device=device)
    sums = t.sums.reshape(len(t.labels), -1)
    return t.labels.astype(np.int64), t.counts.astype(np.int64), sums


def _merge(*tables):
    """Adds label tables (labels ascending; counts and sums added)."""
    labels = np.concatenate([t[0] for t in tables])
    union, where = np.unique(labels, return_inverse=True)
    counts = np.zeros(len(union), np.int64)
    sums = np.zeros((len(union), tables[0][2].shape[1]), tables[0][2].dtype)
    start = 0
    for lab, cnt, s in tables:
        idx = where[start:start + len(lab)]
        counts[idx] += cnt  # labels are unique within a table
        sums[idx] += s
        start += len(lab)
    return union, counts, sums


def _tree(parts, fan_in=8):
    while len(parts) > 1:
        parts = [dask.delayed(_merge)(*parts[i:i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]


def _merged_table(image, labels, device):
    image, labels = _aligned(image, labels)
    blocks = zip(image.to_delayed().ravel(), labels.to_delayed().ravel())
    parts = [dask.delayed(_chunk_table)(i, l, device) for i, l in blocks]
    return image, labels, _tree(parts)


def _as_table(merged, grey):
    labels, counts, sums = merged
    means = sums / counts[:, None] if len(counts) else sums.astype(np.float64)
    if grey:
        sums, means = sums[:, 0], means[:, 0]
    return gpix.LabelTable(labels.astype(np.uint32), counts.astype(np.uint64), sums, means.astype(np.float64))


def label_table(image, labels, *, device=None):
    """:func:`gpix.label_table` over chunks: a ``dask.delayed`` that computes
    to a ``gpix.LabelTable`` (exact sums for integer images)."""
    image = da.asarray(image)
    _, _, merged = _merged_table(image, labels, device)
    return dask.delayed(_as_table)(merged, image.ndim == 2)


def _paint(labels, merged, dtype, channels):
    keys, counts, sums = merged
    idx = np.searchsorted(keys, labels)
    if np.dtype(dtype).kind in "iu":
        # Rounded half up from the exact integer sums, as gpix.label_mean.
        c = counts[:, None]
        means = (2 * sums + c) // (2 * c)
        info = np.iinfo(dtype)
        means = np.clip(means, info.min, info.max)
    else:
        means = sums / counts[:, None]
    out = means[idx].astype(dtype)
    return out if channels else out[..., 0]


def label_mean(image, labels, *, dtype=None, device=None):
    """:func:`gpix.label_mean` over chunks: sums per chunk, merged, then every
    chunk painted with its labels' means (the image's dtype unless
    ``dtype`` says otherwise)."""
    image = da.asarray(image)
    grey = image.ndim == 2
    dtype = np.dtype(dtype or image.dtype)
    image, labels, merged = _merged_table(image, labels, device)
    if grey:
        return da.map_blocks(_paint, labels, merged, dtype, False, dtype=dtype)
    return da.map_blocks(
        _paint, labels, merged, dtype, True, dtype=dtype,
        new_axis=2, chunks=labels.chunks + (image.shape[2],),
    )


# ---- palettes ------------------------------------------------------------


def _merge_counts(*parts):
    colors = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts])
    union, where = np.unique(colors, axis=0, return_inverse=True)
    return union, np.bincount(where.ravel(), weights=counts, minlength=len(union)).astype(np.uint64)


def _count_tree(parts, fan_in=8):
    while len(parts) > 1:
        parts = [dask.delayed(_merge_counts)(*parts[i:i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]


def _indices(block, palette, device):
    return gpix.nearest_palette(block, palette, device=device)


def quantize(image, colors=256, method="refined", *, palette=None, device=None):
    """:func:`gpix.quantize` over chunks: ``(indices, palette)``, a dask
    array and a ``dask.delayed`` palette. The palette ('refined', the
    default, or 'median-cut') is built from the colour counts of every chunk
    merged (the whole image's histogram), so it is the whole-array call's;
    then each chunk's nearest colours. uint8/uint16 images; k-means over
    chunks is not offered yet."""
    x = da.asarray(image)
    if palette is not None and not dask.is_dask_collection(palette):
        palette = np.asarray(palette)
    if palette is None:
        if method not in ("refined", "median-cut", "median_cut"):
            raise NotImplementedError("gpix.dask.quantize builds palettes by 'refined' or 'median-cut' only (k-means: not yet)")
        if x.dtype not in (np.uint8, np.uint16):
            raise TypeError(f"image must be uint8 or uint16, not {x.dtype}")
        if x.ndim == 3:
            x = x.rechunk({2: -1})
        parts = [dask.delayed(gpix.colour_counts)(b) for b in x.to_delayed().ravel()]
        merged = _count_tree(parts)
        palette = dask.delayed(lambda m: gpix.median_cut(m[0], m[1], colors, method).astype(x.dtype))(merged)
        if x.ndim == 2:
            palette = dask.delayed(lambda p: p[:, 0])(palette)
    k = len(palette) if isinstance(palette, np.ndarray) else colors
    index = np.uint8 if k <= 256 else np.uint16
    if x.ndim == 3:
        indices = da.map_blocks(_indices, x, palette, device, dtype=index, drop_axis=2)
    else:
        indices = da.map_blocks(_indices, x, palette, device, dtype=index)
    return indices, palette
