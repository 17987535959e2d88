"""gpix: exact pixel-array kernels on numpy arrays, on a GPU through wgpu or
on a fast native CPU path, with the names, arguments and results of
scipy.ndimage, numpy and skimage.

Every function takes ``device='auto' | 'gpu' | 'cpu'`` (default: the
``GPIX_DEVICE`` environment variable, else ``'auto'``: a hardware GPU where
gpix's cost model says it finishes first, else the CPU path) and writes into
``output=`` / ``out=`` when given, without allocating. C-contiguous float32
and float64 inputs are read in place; other arrays are converted once. The
GIL is released while gpix works, so threads (and Dask) run calls in
parallel.

>>> import numpy as np, gpix
>>> gpix.uniform_filter(np.arange(4.0), size=3)
array([0.33333333, 1.        , 2.        , 2.66666667])
"""

import functools
import math
import operator
from collections import namedtuple

import numpy as np

from . import _gpix
from ._args import (
    _MODES,
    FLOATS,
    c_array,
    Target,
    as4,
    axes_of,
    cast_into,
    border_pair,
    default_dtype,
    device_of,
    float_input,
    modes_of,
    origins_of,
    pair_of,
    per_axis,
    window_pair,
)

__version__ = _gpix.__version__

__all__ = [
    "uniform_filter",
    "minimum_filter",
    "maximum_filter",
    "median_filter",
    "rank_filter",
    "percentile_filter",
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
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "gabor",
    "gabor_kernel",
    "local_stats",
    "gradient",
    "hessian",
    "hessian_eigvals",
    "label_mean",
    "label_table",
    "nearest_palette",
    "quantize",
    "devices",
    "colour_counts",
    "median_cut",
    "imread",
    "describe_device",
    "LocalStats",
    "LabelTable",
]

LocalStats = namedtuple("LocalStats", ["mean", "var", "std"])
LocalStats.__doc__ = "Local mean, variance and standard deviation (None where not asked for)."

LabelTable = namedtuple("LabelTable", ["labels", "counts", "sums", "means"])
LabelTable.__doc__ = (
    "Per-label totals, labels ascending: counts of pixels, exact sums "
    "(int64 for integer images, float64 for float ones) and float64 means."
)


def _filter_axes(x, axes, widths):
    """The filtered pair for a window of ``widths`` over ``axes``: (a, the
    per-axis widths over all axes)."""
    if x.ndim == 2 and len(axes) == 2:
        return 0, (widths if axes[0] == 0 else widths[::-1])
    full = [1] * x.ndim
    for ax, w in zip(axes, widths):
        full[ax] = w
    active = [i for i, w in enumerate(full) if w > 1]
    return window_pair(x.shape, active), full


def _is_plain_2d(x):
    """Whether ``x`` is what the native module reads as it is: a 2-D
    C-contiguous aligned float32/float64 ndarray."""
    if type(x) is not np.ndarray or x.ndim != 2 or x.dtype not in FLOATS:
        return False
    f = x.flags
    return f.c_contiguous and f.aligned


def _direct(x, output):
    """``output`` when gpix can write ``x``'s result into it directly (a
    fresh array when None); else None."""
    if output is None:
        return np.empty(x.shape, x.dtype)
    if type(output) is np.ndarray and output.dtype == x.dtype and output.shape == x.shape:
        g = output.flags
        if g.c_contiguous and g.aligned and g.writeable and not np.may_share_memory(output, x):
            return output
    return None


def _plain_2d(x, output):
    """The array to write into for the common call (``x`` plain 2-D, the
    output None or writable directly); else None and the general path
    handles the call. Skipping the general path's layout work keeps a call
    on a tiny array within a few microseconds of the kernel."""
    return _direct(x, output) if _is_plain_2d(x) else None


def _as4(x):
    return x.reshape(1, x.shape[0], x.shape[1], 1)


def _fast_mode(mode, origin, axes):
    """The native mode name when the call takes the defaults the fast paths
    cover (one mode by name, origin 0, all axes), else None."""
    if type(mode) is str and axes is None and type(origin) is int and origin == 0:
        return _MODES.get(mode)
    return None


def uniform_filter(input, size=3, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None, device=None):
    """scipy.ndimage.uniform_filter: the mean over a ``size`` window.

    The window may be wider than 1 along at most two adjacent axes (an
    image's rows and columns, the last two axes of a stack, ...). Computed
    with running sums in float64 on the CPU (exact to the float64 rounding of
    the mean, independent of the window size); float32 on a GPU.

    >>> gpix.uniform_filter(np.ones((2, 3), np.float32), size=(3, 3))
    array([[1., 1., 1.],
           [1., 1., 1.]], dtype=float32)
    """
    m = _fast_mode(mode, origin, axes)
    if m is not None and type(size) is int and size >= 1:
        o = _plain_2d(input, output)
        if o is not None:
            _gpix.uniform_filter(_as4(input), _as4(o), (size, size), m, float(cval), device_of(device))
            return o
    x = np.asarray(input)
    axes = axes_of(axes, x.ndim)
    sizes = _window_sizes(size, len(axes))
    modes = modes_of(mode, len(axes))
    origins = origins_of(origin, len(axes))
    a, full = _filter_axes(x, axes, sizes)
    mode, origin = border_pair(modes, origins, axes, x.ndim, a, sizes)
    xf = float_input(x)
    target = Target(output, x.shape, xf.dtype, [x, xf], default_dtype(x.dtype))
    _gpix.uniform_filter(as4(xf, a), as4(target.native, a), pair_of(full, a, 1), mode, float(cval), device_of(device),
                         origin)
    return target.finish()


def minimum_filter(input, size=None, footprint=None, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None,
                   device=None):
    """scipy.ndimage.minimum_filter over a ``size`` window or any
    ``footprint`` (grey erosion by a flat structuring element, e.g. a disk).

    Each result is one of the inputs (or ``cval``): exact on the CPU, and
    on a GPU for float32, uint8, uint16, int16 and bool (float64 and other
    integers are rounded to float32 there). The output keeps the input's
    dtype; uint8, uint16, int16 and bool are filtered as they are, other
    integers (and a ``cval`` the dtype cannot hold, which scipy compares as
    given) as float64, exact up to 2**53. An ``output=`` of another dtype
    gets scipy's C conversion (truncated, wrapped). NaNs are skipped on the
    CPU; on a GPU a window holding one gives an unspecified value. As
    ``uniform_filter``, the window may be wider than 1 along at most two
    adjacent axes.

    A footprint that is not all ones (a disk, a cross) costs about two
    vectorised compares per run of marked values in its rows, per value
    (scipy compares every marked value); one ``mode`` (scipy takes no
    sequence with such footprints either) and ``cval`` converted to the
    input's dtype first, as scipy's non-separable filter does.

    >>> gpix.minimum_filter(np.array([[3, 1, 4, 1, 5]], np.uint8), size=(1, 3))
    array([[1, 1, 1, 1, 1]], dtype=uint8)
    """
    return _extremum(input, size, footprint, output, mode, cval, origin, axes, device, False)


def maximum_filter(input, size=None, footprint=None, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None,
                   device=None):
    """scipy.ndimage.maximum_filter over a rectangular ``size`` window (grey
    dilation by a flat box); as :func:`minimum_filter` otherwise.

    >>> gpix.maximum_filter(np.array([[3, 1, 4, 1, 5]], np.uint8), size=(1, 3))
    array([[3, 4, 4, 5, 5]], dtype=uint8)
    """
    return _extremum(input, size, footprint, output, mode, cval, origin, axes, device, True)


def _mask_of(footprint, n_axes):
    """A ``footprint`` as bools (scipy's ``np.asarray(footprint, bool)``)
    checked against the filtered axes; None for none."""
    if footprint is None:
        return None
    f = np.asarray(footprint, dtype=bool)
    if f.ndim != n_axes:
        raise RuntimeError("footprint array has incorrect shape.")
    return f


def _box_of(size, footprint, n_axes):
    """The window sizes of a ``size`` or an all-ones ``footprint``."""
    if footprint is not None:
        f = _mask_of(footprint, n_axes)
        if not f.any():
            raise ValueError("All-zero footprint is not supported.")
        return list(f.shape)
    if size is None:
        raise RuntimeError("no footprint provided")
    return _window_sizes(size, n_axes)


def _window_sizes(size, n_axes):
    """Per-axis box sizes of ``size`` (one, or one per axis), checked as
    scipy checks them; 0 (or 1) along an axis filters nothing along it."""
    sizes = per_axis(size, n_axes, "size")
    if any(s < 0 for s in sizes):
        raise RuntimeError("incorrect filter size")
    return [max(s, 1) for s in sizes]


def _extremum(input, size, footprint, output, mode, cval, origin, axes, device, maximum):
    m = _fast_mode(mode, origin, axes)
    if m is not None and footprint is None and type(size) is int and size >= 1:
        o = _plain_2d(input, output)
        if o is not None:
            _gpix.extremum_filter(_as4(input), _as4(o), maximum, (size, size), m, float(cval), device_of(device))
            return o
    x = np.asarray(input)
    axes = axes_of(axes, x.ndim)
    sizes = _box_of(size, footprint, len(axes))
    mask = _mask_of(footprint, len(axes))
    if mask is not None and not mask.all():
        if not isinstance(mode, str):
            raise RuntimeError("A sequence of modes is not supported for non-separable footprints")
        # scipy's non-separable minimum and maximum convert the constant to
        # the input's dtype (its separable ones compare it as given).
        return _footprint_run(x, mask, output, mode, _c_cast_cval(x, cval), origin, axes, device,
                              lambda flags: functools.partial(_gpix.extremum_filter, maximum=maximum, footprint=flags))

    def run(xin, out, pair, mode, cval, origin):
        _gpix.extremum_filter(xin, out, maximum, pair, mode, cval, device_of(device), origin)

    return _kept_dtype(x, output, sizes, mode, cval, origin, axes, run, skip_unit_origins=True)


def _kept_dtype(x, output, sizes, mode, cval, origin, axes, run, skip_unit_origins):
    """The general path of a filter whose results are inputs (or ``cval``):
    the output keeps ``x``'s dtype, filtered natively where it can be (see
    ``_extremum_input``), converted as scipy's C code converts otherwise.
    ``run(x4, out4, (ny, nx), mode, cval, origin)`` filters."""
    modes = modes_of(mode, len(axes))
    origins = origins_of(origin, len(axes))
    a, full = _filter_axes(x, axes, sizes)
    mode, origin = border_pair(modes, origins, axes, x.ndim, a, sizes if skip_unit_origins else None)
    xf, cval = _extremum_input(x, cval)
    # bool runs as its bytes; every other input in the dtype it is read in.
    compute = np.dtype(np.bool_) if x.dtype == np.bool_ and xf.dtype == np.uint8 else xf.dtype
    target = Target(output, x.shape, compute, [x, xf], x.dtype)
    native = target.native.view(np.uint8) if compute == np.bool_ else target.native
    run(as4(xf, a), as4(native, a), pair_of(full, a, 1), mode, cval, origin)
    return target.finish(_c_cast)


def rank_filter(input, rank, size=None, footprint=None, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None,
                device=None):
    """scipy.ndimage.rank_filter over a ``size`` window or any
    ``footprint`` (e.g. a disk): the value of ``rank`` in each window's
    sorted values (0 the smallest, -1 the largest).

    Each result is one of the inputs (or ``cval``): exact on the CPU, and on
    a GPU for float32, uint8, uint16, int16 and bool (float64 and other
    integers are rounded to float32 there). dtypes and ``output=`` as
    :func:`minimum_filter`; ``cval`` is first converted to the input's dtype
    as scipy's rank filters convert it (C's conversion: 300 is 44 for
    uint8, 2.7 is 2; on 1-D inputs to int64 or the float type, as scipy's
    1-D path). One ``mode`` (scipy's rank filters take no sequence). Ranks
    0 and n - 1 (percentiles 0 and 100) are :func:`minimum_filter` and
    :func:`maximum_filter`, as in scipy, with their rules. Other ranks
    sort NaNs above every number (``numpy.sort``'s order); scipy's result
    with NaNs depends on where they are. The CPU costs O(window height) per
    value (scipy's O(window area)); a footprint O(the runs of its marked
    values per row). The window may be wider than 1 along at most two
    adjacent axes. A 1-D input with a footprint that is not all ones reads
    the marked values only (scipy's 1-D path reads the whole window).

    >>> gpix.rank_filter(np.array([[3, 1, 4, 1, 5]], np.uint8), 1, size=(1, 3))
    array([[3, 3, 1, 4, 5]], dtype=uint8)
    """
    return _rank(input, operator.index(rank), size, footprint, output, mode, cval, origin, axes, device, "rank")


def median_filter(input, size=None, footprint=None, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None,
                  device=None):
    """scipy.ndimage.median_filter: rank ``n // 2`` of each window of ``n``
    values (of an even ``n`` the upper middle one, as scipy); as
    :func:`rank_filter` otherwise.

    >>> gpix.median_filter(np.array([[3, 1, 4, 1, 5]], np.uint8), size=(1, 3))
    array([[3, 3, 1, 4, 5]], dtype=uint8)
    """
    return _rank(input, 0, size, footprint, output, mode, cval, origin, axes, device, "median")


def percentile_filter(input, percentile, size=None, footprint=None, output=None, mode="reflect", cval=0.0, origin=0, *,
                      axes=None, device=None):
    """scipy.ndimage.percentile_filter: rank ``int(n * percentile / 100)`` of
    each window of ``n`` values (-100 <= percentile < 0 counts from 100); as
    :func:`rank_filter` otherwise.

    >>> gpix.percentile_filter(np.array([[3, 1, 4, 1, 5]], np.uint8), 90, size=(1, 3))
    array([[3, 4, 4, 5, 5]], dtype=uint8)
    """
    return _rank(input, percentile, size, footprint, output, mode, cval, origin, axes, device, "percentile")


def _rank_of(n, rank, operation):
    """The 0-based rank in a window of ``n`` values, by scipy's rules (and
    its exceptions: a NaN percentile is a ValueError, a string one a
    TypeError)."""
    if operation == "median":
        rank = n // 2
    elif operation == "percentile":
        percentile = rank
        if percentile < 0.0:
            percentile += 100.0
        if percentile < 0 or percentile > 100:
            raise RuntimeError("invalid percentile")
        rank = n - 1 if percentile == 100.0 else int(float(n) * percentile / 100.0)
    if rank < 0:
        rank += n
    if rank < 0 or rank >= n:
        raise RuntimeError("rank not within filter footprint size")
    return rank


def _rank(input, rank, size, footprint, output, mode, cval, origin, axes, device, operation):
    m = _fast_mode(mode, origin, axes)
    if m is not None and footprint is None and type(size) is int and size >= 1:
        o = _plain_2d(input, output)
        if o is not None:
            n = size * size
            k = _rank_of(n, rank, operation)
            if k == 0 or k == n - 1:
                return _extremum(input, size, None, o, mode, cval, origin, axes, device, k > 0)
            _gpix.rank_filter(_as4(input), _as4(o), k, (size, size), m, float(cval), device_of(device))
            return o
    x = np.asarray(input)
    # scipy's rank filters are non-separable: the window in array order.
    axes, origin = _array_order(axes, x.ndim, origin)
    sizes = _rank_box(size, footprint, len(axes))
    origins = origins_of(origin, len(axes))
    _check_origins(sizes, origins)
    mask = _mask_of(footprint, len(axes))
    if mask is not None and mask.all():
        mask = None
    n = math.prod(sizes) if mask is None else int(mask.sum())
    k = _rank_of(n, rank, operation)
    if k == 0 or k == n - 1:
        # scipy's rank filters hand these ranks to its minimum and maximum
        # filters (their constants compared as given, NaNs skipped, a
        # sequence of modes allowed): so does gpix.
        return _extremum(input, size, footprint, output, mode, cval, origin, axes, device, k > 0)
    if not isinstance(mode, str):
        raise RuntimeError("A sequence of modes is not supported by non-separable rank filters")
    if mask is not None:
        return _footprint_run(x, mask, output, mode, _c_cast_cval(x, cval), origin, axes, device,
                              lambda flags: functools.partial(_gpix.rank_filter, rank=k, footprint=flags))
    cval = _rank_cval(x, n, origins[0], cval)

    def run(xin, out, pair, mode, cval, origin):
        _gpix.rank_filter(xin, out, k, pair, mode, cval, device_of(device), origin)

    return _kept_dtype(x, output, sizes, mode, cval, origin, axes, run, skip_unit_origins=False)


def _array_order(axes, ndim, origin):
    """scipy's non-separable filters (rank filters, footprints that are not
    all ones, structures) read a window's dimensions in the array's axis
    order whatever the order of ``axes``, and the origins in the order of
    ``axes`` when some axes are left out, else in the array's: the axes
    sorted, and the origins for them."""
    axes = axes_of(axes, ndim)
    origins = per_axis(origin, len(axes), "origin")
    order = sorted(range(len(axes)), key=lambda i: axes[i])
    if len(axes) < ndim:
        origins = [origins[i] for i in order]
    return sorted(axes), origins


def _check_origins(sizes, origins):
    """scipy's origin rule of a non-separable window, on every axis."""
    if any(s // 2 + o < 0 or s // 2 + o >= s for s, o in zip(sizes, origins)):
        raise ValueError("invalid origin")


def _flat(x, structure, footprint, mode, cval, origin, axes):
    """(footprint, cval, origin, axes) for scipy's ``structure=`` when it is
    flat (all zeros: a full footprint of its shape, run as scipy's
    non-separable filter runs it: one mode, the window in array order, every
    origin checked, ``cval`` converted to the input's dtype first); other
    structuring elements are not supported."""
    if structure is None:
        return footprint, cval, origin, axes
    s = np.asarray(structure)
    if np.any(s):
        raise NotImplementedError(
            "gpix: non-flat structuring elements (structure= with non-zero values); "
            "pass footprint= for a flat one")
    if not isinstance(mode, str):
        raise RuntimeError("A sequence of modes is not supported for non-separable footprints")
    shape = np.shape(footprint) if footprint is not None else s.shape
    axes, origin = _array_order(axes, np.ndim(x), origin)
    _check_origins(shape, origin)
    footprint = np.ones(s.shape, bool) if footprint is None else footprint
    return footprint, _c_cast_cval(np.asarray(x), cval), origin, axes


def grey_erosion(input, size=None, footprint=None, structure=None, output=None, mode="reflect", cval=0.0, origin=0, *,
                 axes=None, device=None):
    """scipy.ndimage.grey_erosion with a flat structuring element: the
    :func:`minimum_filter` of ``size`` or ``footprint`` (a disk, ...); a
    ``structure`` of zeros is a full footprint of its shape, others raise
    NotImplementedError.

    >>> gpix.grey_erosion(np.array([[3, 1, 4, 1, 5]], np.uint8), size=(1, 3))
    array([[1, 1, 1, 1, 1]], dtype=uint8)
    """
    if size is None and footprint is None and structure is None:
        raise ValueError("size, footprint, or structure must be specified")
    footprint, cval, origin, axes = _flat(input, structure, footprint, mode, cval, origin, axes)
    return minimum_filter(input, size, footprint, output, mode, cval, origin, axes=axes, device=device)


def grey_dilation(input, size=None, footprint=None, structure=None, output=None, mode="reflect", cval=0.0, origin=0, *,
                  axes=None, device=None):
    """scipy.ndimage.grey_dilation with a flat structuring element: the
    :func:`maximum_filter` of the reflected footprint (its origin negated,
    one less along an even side), as scipy.

    >>> gpix.grey_dilation(np.array([[3, 1, 4, 1, 5]], np.uint8), size=(1, 2))
    array([[3, 4, 4, 5, 5]], dtype=uint8)
    """
    if size is None and footprint is None and structure is None:
        raise ValueError("size, footprint, or structure must be specified")
    x = np.asarray(input)
    n = len(axes_of(axes, x.ndim))
    shaped = footprint if footprint is not None else structure
    sizes = list(np.shape(shaped)) if shaped is not None else per_axis(size, n, "size")
    origins = [-o - (0 if sz & 1 else 1) for o, sz in zip(per_axis(origin, n, "origin"), sizes)]
    footprint, cval, origins, axes = _flat(x, structure, footprint, mode, cval, origins, axes)
    if footprint is not None:
        footprint = np.asarray(footprint)
        footprint = footprint[(slice(None, None, -1),) * footprint.ndim]
    return maximum_filter(x, size, footprint, output, mode, cval, origins, axes=axes, device=device)


def grey_opening(input, size=None, footprint=None, structure=None, output=None, mode="reflect", cval=0.0, origin=0, *,
                 axes=None, device=None):
    """scipy.ndimage.grey_opening: :func:`grey_dilation` of
    :func:`grey_erosion` (flat structuring elements)."""
    tmp = grey_erosion(input, size, footprint, structure, None, mode, cval, origin, axes=axes, device=device)
    return grey_dilation(tmp, size, footprint, structure, output, mode, cval, origin, axes=axes, device=device)


def grey_closing(input, size=None, footprint=None, structure=None, output=None, mode="reflect", cval=0.0, origin=0, *,
                 axes=None, device=None):
    """scipy.ndimage.grey_closing: :func:`grey_erosion` of
    :func:`grey_dilation` (flat structuring elements)."""
    tmp = grey_dilation(input, size, footprint, structure, None, mode, cval, origin, axes=axes, device=device)
    return grey_erosion(tmp, size, footprint, structure, output, mode, cval, origin, axes=axes, device=device)


def morphological_gradient(input, size=None, footprint=None, structure=None, output=None, mode="reflect", cval=0.0,
                           origin=0, *, axes=None, device=None):
    """scipy.ndimage.morphological_gradient: dilation minus erosion, in the
    input's dtype as scipy subtracts (numpy's rules)."""
    tmp = grey_dilation(input, size, footprint, structure, None, mode, cval, origin, axes=axes, device=device)
    if isinstance(output, np.ndarray):
        grey_erosion(input, size, footprint, structure, output, mode, cval, origin, axes=axes, device=device)
        return np.subtract(tmp, output, output)
    return tmp - grey_erosion(input, size, footprint, structure, None, mode, cval, origin, axes=axes, device=device)


def white_tophat(input, size=None, footprint=None, structure=None, output=None, mode="reflect", cval=0.0, origin=0, *,
                 axes=None, device=None):
    """scipy.ndimage.white_tophat: the input minus its :func:`grey_opening`
    (bool: exclusive or), as scipy."""
    x = np.asarray(input)
    tmp = grey_erosion(x, size, footprint, structure, None, mode, cval, origin, axes=axes, device=device)
    tmp = grey_dilation(tmp, size, footprint, structure, output, mode, cval, origin, axes=axes, device=device)
    if x.dtype == np.bool_ and tmp.dtype == np.bool_:
        np.bitwise_xor(x, tmp, out=tmp)
    else:
        np.subtract(x, tmp, out=tmp)
    return tmp


def black_tophat(input, size=None, footprint=None, structure=None, output=None, mode="reflect", cval=0.0, origin=0, *,
                 axes=None, device=None):
    """scipy.ndimage.black_tophat: :func:`grey_closing` minus the input
    (bool: exclusive or), as scipy."""
    x = np.asarray(input)
    tmp = grey_dilation(x, size, footprint, structure, None, mode, cval, origin, axes=axes, device=device)
    tmp = grey_erosion(tmp, size, footprint, structure, output, mode, cval, origin, axes=axes, device=device)
    if x.dtype == np.bool_ and tmp.dtype == np.bool_:
        np.bitwise_xor(tmp, x, out=tmp)
    else:
        np.subtract(tmp, x, out=tmp)
    return tmp


def _binary_structure(structure, n_axes):
    """scipy's structuring element of a binary operation: the cross of
    ``generate_binary_structure(n_axes, 1)`` by default."""
    if structure is None:
        grid = np.indices((3,) * n_axes) - 1
        return np.abs(grid).sum(axis=0) <= 1
    s = np.asarray(structure, dtype=bool)
    if s.ndim != n_axes:
        raise RuntimeError("structure and input must have same dimensionality")
    if s.size < 1:
        raise RuntimeError("structure must not be empty")
    return s


def _binary(input, structure, iterations, mask, output, border_value, origin, axes, device, dilate):
    """scipy's binary erosion (``dilate``: dilation, by the reflected
    structure) as the minimum (maximum) filter of the array as bools over the
    structure's footprint, outside ``border_value``; repeated ``iterations``
    times (below 1: until nothing changes), ``mask`` False keeping values."""
    x = np.asarray(input)
    if np.iscomplexobj(x):
        raise TypeError("Complex type not supported")
    axes = axes_of(axes, x.ndim)
    s = _binary_structure(structure, len(axes))
    origins = per_axis(origin, len(axes), "origin")
    if dilate:
        s = s[(slice(None, None, -1),) * s.ndim]
        origins = [-o - (0 if n & 1 else 1) for o, n in zip(origins, s.shape)]
    # Non-separable in scipy: the structure in array order.
    axes, origins = _array_order(axes, x.ndim, origins)
    _check_origins(s.shape, origins)
    keep = None if mask is None else ~np.asarray(mask, dtype=bool)
    border = bool(border_value)
    f = maximum_filter if dilate else minimum_filter
    current = x != 0

    def step(values):
        if not s.any():
            # The extremum over no position: scipy's erosion keeps every
            # value True, its dilation none.
            result = np.full(values.shape, not dilate)
        else:
            result = f(values, footprint=s, mode="constant", cval=border, origin=origins, axes=axes, device=device)
        if keep is not None:
            result[keep] = values[keep]
        return result

    iterations = operator.index(iterations)
    if iterations >= 1:
        for _ in range(iterations):
            current = step(current)
    else:
        # A structure holding its centre changes at least one value per
        # step until it stops; one without it may cycle for ever (scipy then
        # never returns): after one step per value, refuse.
        for _ in range(current.size + 2):
            following = step(current)
            if np.array_equal(following, current):
                break
            current = following
        else:
            raise RuntimeError(
                "iterations < 1 did not converge: the structuring element leaves out its centre and the "
                "result cycles")
    if isinstance(output, np.ndarray):
        if output.shape != x.shape:
            raise RuntimeError("output shape not correct")
        output[...] = current
        return output
    return current


def binary_erosion(input, structure=None, iterations=1, mask=None, output=None, border_value=0, origin=0,
                   brute_force=False, *, axes=None, device=None):
    """scipy.ndimage.binary_erosion: each value True where every value of the
    structuring element (default: the cross) around it is (outside the
    array: ``border_value``); ``iterations`` times, or until nothing changes
    for ``iterations`` < 1; only where ``mask`` is True. Returns bools (or
    writes ``output=`` an array). ``brute_force`` changes nothing here.

    >>> gpix.binary_erosion(np.array([[0, 1, 1, 1, 0]]), structure=[[1, 1, 1]]).astype(int)
    array([[0, 0, 1, 0, 0]])
    """
    return _binary(input, structure, iterations, mask, output, border_value, origin, axes, device, False)


def binary_dilation(input, structure=None, iterations=1, mask=None, output=None, border_value=0, origin=0,
                    brute_force=False, *, axes=None, device=None):
    """scipy.ndimage.binary_dilation: True where any value of the reflected
    structuring element around it is; as :func:`binary_erosion` otherwise.

    >>> gpix.binary_dilation(np.array([[0, 0, 1, 0, 0]]), structure=[[1, 1, 0]]).astype(int)
    array([[0, 1, 1, 0, 0]])
    """
    return _binary(input, structure, iterations, mask, output, border_value, origin, axes, device, True)


def binary_opening(input, structure=None, iterations=1, output=None, origin=0, mask=None, border_value=0,
                   brute_force=False, *, axes=None, device=None):
    """scipy.ndimage.binary_opening: :func:`binary_dilation` of
    :func:`binary_erosion`, each ``iterations`` times."""
    n = len(axes_of(axes, np.ndim(input)))
    structure = _binary_structure(structure, n)
    tmp = binary_erosion(input, structure, iterations, mask, None, border_value, origin, axes=axes, device=device)
    return binary_dilation(tmp, structure, iterations, mask, output, border_value, origin, axes=axes, device=device)


def binary_closing(input, structure=None, iterations=1, output=None, origin=0, mask=None, border_value=0,
                   brute_force=False, *, axes=None, device=None):
    """scipy.ndimage.binary_closing: :func:`binary_erosion` of
    :func:`binary_dilation`, each ``iterations`` times."""
    n = len(axes_of(axes, np.ndim(input)))
    structure = _binary_structure(structure, n)
    tmp = binary_dilation(input, structure, iterations, mask, None, border_value, origin, axes=axes, device=device)
    return binary_erosion(tmp, structure, iterations, mask, output, border_value, origin, axes=axes, device=device)


def _footprint_run(x, mask, output, mode, cval, origin, axes, device, native):
    """A filter over the values a footprint ``mask`` (bools over ``axes``,
    not all ones) marks; the mode one name, origins checked. ``native(flags)``
    is the binding taking the pair's flags row by row."""
    sizes = list(mask.shape)
    axes, origin = _array_order(axes, x.ndim, origin)
    _check_origins(sizes, origin)
    a, full = _filter_axes(x, axes, sizes)
    ny, nx = pair_of(full, a, 1)
    # The mask's dimensions are the sorted axes'; every axis but the pair's
    # is 1 wide, so the reshape keeps the row-major order of the pair.
    call = native(mask.reshape(ny, nx).ravel().tolist())

    def run(xin, out, pair, mode, cval, origin):
        call(xin, out, size=pair, mode=mode, cval=cval, device=device_of(device), origin=origin)

    return _kept_dtype(x, output, sizes, mode, cval, origin, axes, run, skip_unit_origins=False)


def _rank_box(size, footprint, n_axes):
    """The window sizes of a rank filter, refused as scipy refuses them."""
    if footprint is not None and not np.any(footprint):
        raise RuntimeError("rank not within filter footprint size")
    if footprint is None and size is not None:
        sizes = per_axis(size, n_axes, "size")
        if any(s < 0 for s in sizes):
            raise ValueError("negative dimensions are not allowed")
        if 0 in sizes:
            raise RuntimeError("a rank filter's window needs every size at least 1")
    return _box_of(size, footprint, n_axes)


def _c_cast_cval(x, cval):
    """The constant in ``x``'s dtype by C's conversion (scipy's N-D rank
    filter)."""
    return _c_cast(np.array([float(cval)]), x.dtype)[0].item()


def _rank_cval(x, n, origin, cval):
    """The constant as scipy's rank filters compare it: converted to the
    input's dtype as C converts, except on scipy's 1-D path (a 1-D input
    whose window reaches no further than the array), which compares in
    int64 (integers, bool) or the float type."""
    reach = x.size - ((n - 1) // 2 - origin)
    if x.ndim == 1 and (reach >= 0 or x.size == 1):
        if x.dtype.kind in "biu":
            return float(np.int64(cval))
        return float(np.dtype(np.float32 if x.dtype == np.float16 else x.dtype).type(cval))
    return _c_cast_cval(x, cval)


def _c_cast(a, dtype):
    """``a`` as ``dtype`` the way C converts, as scipy's filters write their
    results: floats truncated toward zero, integers wrapped (300.0 and 300
    are 44 as uint8, -1 is 255), bool a byte that is not 0."""
    dtype = np.dtype(dtype)
    if a.dtype == dtype:
        return a
    with np.errstate(invalid="ignore", over="ignore"):
        if dtype == np.bool_:
            return _c_cast(a, np.uint8) != 0
        if a.dtype.kind == "f" and dtype.kind in "iu" and dtype != np.uint64:
            return a.astype(np.int64).astype(dtype)
        return a.astype(dtype)


_NATIVE_INTS = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.int16))


def _extremum_input(x, cval):
    """The array the native filter reads: uint8, uint16 and int16 as they
    are when ``cval`` is one of the dtype's values (bool as uint8 when it is
    0 or 1); else as ``float_input`` (scipy compares with the constant as
    given, then casts the result: -1 is below every uint8 for a maximum and
    becomes 255 for a minimum)."""
    cval = float(cval)
    native = x.dtype in _NATIVE_INTS or x.dtype == np.bool_
    if native and cval.is_integer():
        if x.dtype == np.bool_ and cval in (0.0, 1.0):
            return c_array(x).view(np.uint8), cval
        if x.dtype != np.bool_:
            info = np.iinfo(x.dtype)
            if info.min <= cval <= info.max:
                return c_array(x), cval
    return float_input(x), cval


def local_stats(input, size=3, mode="reflect", cval=0.0, origin=0, *, axes=None, stats=("mean", "var", "std"), out=None,
                device=None):
    """Local mean, population variance and standard deviation over ``size``
    windows (the windows of :func:`uniform_filter`, ``origin`` included), in
    one pass.

    The variance is computed from sums of ``x - K`` with ``K`` a sample mean,
    in float64 on the CPU: no cancellation for data on a large offset, never
    negative (``uniform_filter(x*x) - uniform_filter(x)**2`` loses all digits
    there). Returns ``LocalStats(mean, var, std)``; entries not named in
    ``stats`` are None. ``out``: arrays, one per name in ``stats``.

    >>> s = gpix.local_stats(np.float32([[1, 2], [3, 4]]), size=2, mode="nearest")
    >>> float(s.var[1, 1])
    1.25
    """
    stats = (stats,) if isinstance(stats, str) else tuple(stats)
    unknown = set(stats) - {"mean", "var", "std"}
    if unknown or not stats:
        raise ValueError(f"stats must name some of 'mean', 'var', 'std', not {stats}")
    if out is not None and len(out) != len(stats):
        raise ValueError(f"out has {len(out)} arrays for {len(stats)} stats")
    fast = _local_stats_2d(input, size, mode, cval, origin, axes, stats, out, device)
    if fast is not None:
        return fast
    x = np.asarray(input)
    axes = axes_of(axes, x.ndim)
    sizes = _window_sizes(size, len(axes))
    modes = modes_of(mode, len(axes))
    origins = origins_of(origin, len(axes))
    a, full = _filter_axes(x, axes, sizes)
    mode, origin = border_pair(modes, origins, axes, x.ndim, a, sizes)
    xf = float_input(x)
    targets = {}
    for i, name in enumerate(stats):
        given = None if out is None else out[i]
        targets[name] = Target(given, x.shape, xf.dtype, [x, xf], default_dtype(x.dtype), name)
    native = [as4(targets[n].native, a) if n in targets else None for n in ("mean", "var", "std")]
    _gpix.local_stats(as4(xf, a), *native, pair_of(full, a, 1), mode, float(cval), device_of(device), origin)
    return LocalStats(*(targets[n].finish() if n in targets else None for n in ("mean", "var", "std")))


def _local_stats_2d(x, size, mode, cval, origin, axes, stats, out, device):
    """local_stats' common call without the general layout work (None when
    the call is not that)."""
    m = _fast_mode(mode, origin, axes)
    if m is None or type(size) is not int or size < 1 or not _is_plain_2d(x):
        return None
    found = {}
    for name, o in zip(stats, (None,) * len(stats) if out is None else out):
        o = _direct(x, o)
        if o is None or name in found or any(o is p for p in found.values()):
            return None
        found[name] = o
    get = found.get
    mean, var, std = get("mean"), get("var"), get("std")
    _gpix.local_stats(
        _as4(x),
        None if mean is None else _as4(mean),
        None if var is None else _as4(var),
        None if std is None else _as4(std),
        (size, size), m, float(cval), device_of(device),
    )
    return LocalStats(mean, var, std)


_METHODS = ("auto", "direct", "separable", "fft")


def _correlate(input, weights, output, mode, cval, origin, axes, device, method, flip):
    m = _fast_mode(mode, origin, axes)
    if (
        m is not None
        and type(weights) is np.ndarray
        and weights.ndim == 2
        and weights.dtype == np.float64
        and weights.size > 0
        and method in _METHODS
    ):
        o = _plain_2d(input, output)
        if o is not None:
            _gpix.correlate(_as4(input), _as4(o), c_array(weights), flip, m, float(cval), method, device_of(device))
            return o
    x = np.asarray(input)
    w = np.asarray(weights)
    if w.dtype.kind == "c":
        raise TypeError("complex weights are not supported; filter the real and imaginary parts")
    w = w.astype(np.float64, copy=False)
    axes = axes_of(axes, x.ndim)
    if w.ndim != len(axes):
        raise RuntimeError("filter weights array has incorrect shape.")
    if any(n == 0 for n in w.shape):
        raise ValueError("no filter weights given")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, not {method!r}")
    modes = modes_of(mode, len(axes))
    if not isinstance(mode, str) and len(set(modes)) > 1:
        raise RuntimeError("A sequence of modes is not supported")
    origins = origins_of(origin, len(axes))
    a, full = _filter_axes(x, axes, list(w.shape))
    mode, origin = border_pair(modes, origins, axes, x.ndim, a)
    ky, kx = pair_of(full, a, 1)
    xf = float_input(x)
    target = Target(output, x.shape, xf.dtype, [x, xf], default_dtype(x.dtype))
    _gpix.correlate(
        as4(xf, a), as4(target.native, a), c_array(w.reshape(ky, kx)),
        flip, mode, float(cval), method, device_of(device), origin,
    )
    return target.finish()


def correlate(input, weights, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None, device=None, method="auto"):
    """scipy.ndimage.correlate with an arbitrary kernel (wider than 1 along at
    most two adjacent axes).

    ``method``: 'auto' runs separable passes when the kernel's SVD shows a
    low rank (a Gaussian, an axis-aligned Gabor), FFT tiles for large
    kernels on the CPU, else the direct sum; or force one of 'direct',
    'separable', 'fft'.

    >>> gpix.correlate(np.arange(5.0), [1.0, 0.0, -1.0], mode="nearest")
    array([-1., -2., -2., -2., -1.])
    """
    return _correlate(input, weights, output, mode, cval, origin, axes, device, method, False)


def convolve(input, weights, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None, device=None, method="auto"):
    """scipy.ndimage.convolve: :func:`correlate` with the kernel flipped
    (and scipy's centre for even sizes).

    >>> gpix.convolve(np.arange(5.0), [1.0, 0.0, -1.0], mode="nearest")
    array([1., 2., 2., 2., 1.])
    """
    return _correlate(input, weights, output, mode, cval, origin, axes, device, method, True)


def gaussian_filter(input, sigma, order=0, output=None, mode="reflect", cval=0.0, truncate=4.0, *, radius=None, axes=None, device=None):
    """scipy.ndimage.gaussian_filter: separable Gaussian passes with scipy's
    kernel (radius ``int(truncate * sigma + 0.5)``, or ``radius``);
    ``order`` 1 to 3 along an axis filters with that derivative of the
    Gaussian. Axes with ``sigma`` 0 are left alone, as scipy does.

    >>> float(gpix.gaussian_filter(np.eye(3), sigma=1)[1, 1].round(6))
    0.341653
    """
    m = _fast_mode(mode, 0, axes)
    plain = type(order) is int and order == 0 and radius is None
    if m is not None and plain and type(sigma) in (int, float):
        o = _plain_2d(input, output)
        if o is not None:
            s = float(sigma)
            _gpix.gaussian_filter(_as4(input), _as4(o), (s, s), (0, 0), None, float(truncate), "filter", m, float(cval), device_of(device))
            return o
    return _gaussian(input, sigma, order, output, mode, cval, truncate, radius, axes, device, "filter")


def gaussian_laplace(input, sigma, output=None, mode="reflect", cval=0.0, *, axes=None, device=None, truncate=4.0, radius=None):
    """scipy.ndimage.gaussian_laplace: the sum of second derivatives of
    Gaussians along the filtered axes (at most two adjacent ones).

    >>> float(gpix.gaussian_laplace(np.eye(5), sigma=1)[2, 2].round(6))
    -0.27023
    """
    return _gaussian(input, sigma, 0, output, mode, cval, truncate, radius, axes, device, "laplace")


def gaussian_gradient_magnitude(input, sigma, output=None, mode="reflect", cval=0.0, *, axes=None, device=None, truncate=4.0, radius=None):
    """scipy.ndimage.gaussian_gradient_magnitude: the root of the summed
    squares of first derivatives of Gaussians along the filtered axes (at
    most two adjacent ones).

    >>> float(gpix.gaussian_gradient_magnitude(np.eye(5), sigma=1)[2, 1].round(6))
    0.156006
    """
    return _gaussian(input, sigma, 0, output, mode, cval, truncate, radius, axes, device, "gradient_magnitude")


def _gaussian(input, sigma, order, output, mode, cval, truncate, radius, axes, device, op):
    x = np.asarray(input)
    axes = axes_of(axes, x.ndim)
    sigmas = per_axis(sigma, len(axes), "sigma", float)
    orders = per_axis(order, len(axes), "order")
    if any(o < 0 for o in orders):
        raise ValueError("order must be non-negative")
    radii = None if radius is None else per_axis(radius, len(axes), "radius")
    if radii is not None and any(r < 0 for r in radii):
        raise ValueError("radius must be a nonnegative integer")
    modes = modes_of(mode, len(axes))
    if op == "gradient_magnitude" and len(axes) < x.ndim:
        # scipy's gaussian_gradient_magnitude passes the full sigma to every
        # axis of each derivative's gaussian_filter, so it also blurs the
        # axes not listed (unlike gaussian_laplace): not per channel.
        raise NotImplementedError(
            "scipy's gaussian_gradient_magnitude with axes= also blurs the other axes; "
            "gpix filters two axes at a time: call it per channel (e.g. x[..., c])"
        )
    # scipy skips an axis whose sigma is at most 1e-15.
    widths = [3 if s > 1e-15 else 1 for s in sigmas]
    if op != "filter" and (x.ndim > 2 or len(axes) > 2) and 1 in widths:
        # scipy sums a term per listed axis, and an axis it does not smooth
        # adds the image blurred along the others: list the filtered axes.
        raise NotImplementedError(
            f"gpix.{'gaussian_' + op} filters the axes it is given: pass axes= with "
            f"the axes whose sigma is > 0 (here {[a for a, w in zip(axes, widths) if w > 1]})"
        )
    filtered = [ax for ax, w in zip(axes, widths) if w > 1]
    if "constant" in modes and float(cval) != 0.0 and filtered != sorted(filtered) and any(orders):
        # scipy runs the 1-D passes in the order of axes=, and with a
        # constant border the second pass pads the first one's result.
        raise NotImplementedError(
            "gpix.gaussian_filter with mode='constant', a derivative order and axes= in "
            "descending order: list the axes in ascending order"
        )
    a, _ = _filter_axes(x, axes, widths)
    mode, _ = border_pair(modes, [0] * len(axes), axes, x.ndim, a)
    full = {"sigma": [0.0] * x.ndim, "order": [0] * x.ndim, "radius": [0] * x.ndim}
    for i, ax in enumerate(axes):
        full["sigma"][ax] = sigmas[i]
        full["order"][ax] = orders[i]
        if radii is not None:
            full["radius"][ax] = radii[i]
    # One listed axis in the filtered pair (a 1-D array, or axes= naming
    # one): scipy's sum has that axis's term only, which the native pair
    # would add a blurred copy to: one derivative pass instead.
    pair = [0] if a is None else [a, a + 1]
    listed = [ax for ax in pair if ax in axes]
    absolute = False
    if op != "filter" and len(listed) == 1:
        full["order"][listed[0]] = 2 if op == "laplace" else 1
        absolute = op == "gradient_magnitude"
        op = "filter"
    xf = float_input(x)
    target = Target(output, x.shape, xf.dtype, [x, xf], default_dtype(x.dtype))
    _gpix.gaussian_filter(
        as4(xf, a),
        as4(target.native, a),
        pair_of(full["sigma"], a, 0.0),
        pair_of(full["order"], a, 0),
        None if radii is None else pair_of(full["radius"], a, 0),
        float(truncate),
        op,
        mode,
        float(cval),
        device_of(device),
    )
    if absolute:
        # scipy: √(d·d), the magnitude of the one derivative.
        np.abs(target.native, out=target.native)
    return target.finish()


def _axis_of(axis, ndim):
    """numpy's one ``axis``, negatives wrapped; numpy's AxisError (a
    ValueError and an IndexError) when out of range, as scipy raises."""
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise _AxisError(axis, ndim)
    return axis % ndim


_AxisError = getattr(np, "exceptions", np).AxisError


def _along_axis(f, input, weights, axis, output, mode, cval, origin, device):
    """``f`` (correlate or convolve) with 1-D ``weights`` along one axis."""
    x = np.asarray(input)
    w = np.asarray(weights)
    if w.ndim != 1 or w.shape[0] < 1:
        raise RuntimeError("no filter weights given")
    return f(x, w, output, mode, cval, origin, axes=(_axis_of(axis, x.ndim),), device=device)


def correlate1d(input, weights, axis=-1, output=None, mode="reflect", cval=0.0, origin=0, *, device=None):
    """scipy.ndimage.correlate1d: :func:`correlate` along one ``axis`` with
    1-D ``weights``.

    >>> gpix.correlate1d([2.0, 8, 0, 4, 1, 9, 9, 0], [1, 3])
    array([ 8., 26.,  8., 12.,  7., 28., 36.,  9.])
    """
    return _along_axis(correlate, input, weights, axis, output, mode, cval, origin, device)


def convolve1d(input, weights, axis=-1, output=None, mode="reflect", cval=0.0, origin=0, *, device=None):
    """scipy.ndimage.convolve1d: :func:`convolve` along one ``axis`` with
    1-D ``weights``.

    >>> gpix.convolve1d([2.0, 8, 0, 4, 1, 9, 9, 0], [1, 3])
    array([14., 24.,  4., 13., 12., 36., 27.,  0.])
    """
    return _along_axis(convolve, input, weights, axis, output, mode, cval, origin, device)


def uniform_filter1d(input, size, axis=-1, output=None, mode="reflect", cval=0.0, origin=0, *, device=None):
    """scipy.ndimage.uniform_filter1d: the running mean of ``size`` values
    along one ``axis``.

    >>> gpix.uniform_filter1d([2.0, 8, 0, 4, 1, 9, 9, 0], size=3)
    array([4.        , 3.33333333, 4.        , 1.66666667, 4.66666667,
           6.33333333, 6.        , 3.        ])
    """
    x = np.asarray(input)
    if operator.index(size) < 1:
        raise RuntimeError("incorrect filter size")
    return uniform_filter(x, size, output, mode, cval, origin, axes=(_axis_of(axis, x.ndim),), device=device)


def minimum_filter1d(input, size, axis=-1, output=None, mode="reflect", cval=0.0, origin=0, *, device=None):
    """scipy.ndimage.minimum_filter1d: the running minimum of ``size``
    values along one ``axis`` (:func:`minimum_filter`'s rules and dtypes).

    >>> gpix.minimum_filter1d(np.array([2, 8, 0, 4, 1, 9, 9, 0], np.uint8), size=3)
    array([2, 0, 0, 0, 1, 1, 0, 0], dtype=uint8)
    """
    return _extremum1d(minimum_filter, input, size, axis, output, mode, cval, origin, device)


def maximum_filter1d(input, size, axis=-1, output=None, mode="reflect", cval=0.0, origin=0, *, device=None):
    """scipy.ndimage.maximum_filter1d: the running maximum of ``size``
    values along one ``axis``.

    >>> gpix.maximum_filter1d(np.array([2, 8, 0, 4, 1, 9, 9, 0], np.uint8), size=3)
    array([8, 8, 8, 4, 9, 9, 9, 9], dtype=uint8)
    """
    return _extremum1d(maximum_filter, input, size, axis, output, mode, cval, origin, device)


def _extremum1d(f, input, size, axis, output, mode, cval, origin, device):
    x = np.asarray(input)
    if operator.index(size) < 1:
        raise RuntimeError("incorrect filter size")
    _check_origins([size], [operator.index(origin)])
    return f(x, size, None, output, mode, cval, origin, axes=(_axis_of(axis, x.ndim),), device=device)


def gaussian_filter1d(input, sigma, axis=-1, order=0, output=None, mode="reflect", cval=0.0, truncate=4.0, *,
                      radius=None, device=None):
    """scipy.ndimage.gaussian_filter1d: :func:`gaussian_filter` along one
    ``axis`` (``order`` 0–3 takes that derivative of the Gaussian).

    >>> gpix.gaussian_filter1d([1.0, 2, 3, 4, 5], 1).round(4)
    array([1.427 , 2.0678, 3.    , 3.9322, 4.573 ])
    """
    x = np.asarray(input)
    return gaussian_filter(x, sigma, order, output, mode, cval, truncate, radius=radius,
                           axes=(_axis_of(axis, x.ndim),), device=device)


def _derivative_then_smooth(input, axis, output, mode, cval, device, derivative, smooth):
    """scipy's sobel and prewitt: ``derivative`` along ``axis``, then
    ``smooth`` along every other axis, each pass applying its axis's mode to
    the previous pass's result. A 2-D array with one mode other than
    constant is one separable correlation (its rank-1 kernel runs as two
    passes): the same numbers, since such modes commute with filtering along
    the other axis; scipy's constant border pads the intermediate with
    ``cval``, so constant modes run as the chain."""
    x = np.asarray(input)
    axis = _axis_of(axis, x.ndim)
    modes = [mode] * x.ndim if isinstance(mode, str) else list(mode)
    if len(modes) != x.ndim:
        raise RuntimeError("sequence argument must have length equal to input rank")
    if x.ndim == 2 and modes[0] == modes[1] and modes[0] not in ("constant", "grid-constant"):
        pair = [smooth, smooth]
        pair[axis] = derivative
        return correlate(x, np.outer(*pair), output, modes[0], cval, device=device)
    # The passes stay in the float type (an integer output= would round and
    # clip the derivative before it is smoothed); the result is cast once.
    out = correlate1d(x, derivative, axis, None, modes[axis], cval, device=device)
    for other in (a for a in range(x.ndim) if a != axis):
        out = correlate1d(out, smooth, other, out, modes[other], cval, device=device)
    return _copy_into(out, output, x)


def sobel(input, axis=-1, output=None, mode="reflect", cval=0.0, *, device=None):
    """scipy.ndimage.sobel: the derivative ``[-1, 0, 1]`` along ``axis``,
    smoothed by ``[1, 2, 1]`` along every other axis. Integer inputs give
    float64 (scipy keeps the integer type, and uint8 wraps around).

    >>> gpix.sobel(np.float32([[0, 0, 1, 1]] * 3), axis=1)
    array([[0., 4., 4., 0.],
           [0., 4., 4., 0.],
           [0., 4., 4., 0.]], dtype=float32)
    """
    return _derivative_then_smooth(input, axis, output, mode, cval, device, [-1.0, 0.0, 1.0], [1.0, 2.0, 1.0])


def prewitt(input, axis=-1, output=None, mode="reflect", cval=0.0, *, device=None):
    """scipy.ndimage.prewitt: as :func:`sobel` with ``[1, 1, 1]`` smoothing.

    >>> gpix.prewitt(np.float32([[0, 0, 1, 1]] * 3), axis=1)
    array([[0., 3., 3., 0.],
           [0., 3., 3., 0.],
           [0., 3., 3., 0.]], dtype=float32)
    """
    return _derivative_then_smooth(input, axis, output, mode, cval, device, [-1.0, 0.0, 1.0], [1.0, 1.0, 1.0])


def laplace(input, output=None, mode="reflect", cval=0.0, *, axes=None, device=None):
    """scipy.ndimage.laplace: the sum over ``axes`` of second differences
    ``[1, -2, 1]``. Over the two axes of an image with one mode it is a
    single 3×3 correlation, computed in float64 and rounded once.

    >>> gpix.laplace(np.float64([[0, 0, 0], [0, 1, 0], [0, 0, 0]]), mode="constant")
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]])
    """
    x = np.asarray(input)
    axes = axes_of(axes, x.ndim)
    modes = [mode] * len(axes) if isinstance(mode, str) else list(mode)
    if len(modes) != len(axes):
        raise RuntimeError("sequence argument must have length equal to input rank")
    if not axes:
        return _copy_into(x, output)
    second = np.array([1.0, -2.0, 1.0])
    if len(axes) == 2 and abs(axes[0] - axes[1]) == 1 and modes[0] == modes[1]:
        cross = np.zeros((3, 3))
        cross[1] += second
        cross[:, 1] += second
        return correlate(x, cross, output, modes[0], cval, axes=sorted(axes), device=device)
    # Summed in the float type from the untouched input, cast once (also
    # when output= is the input: scipy's second pass would read its own
    # first pass there).
    out = correlate1d(x, second, axes[0], None, modes[0], cval, device=device)
    for ax, m in zip(axes[1:], modes[1:]):
        out += correlate1d(x, second, ax, None, m, cval, device=device)
    return _copy_into(out, output, x)


def _copy_into(values, output, like=None):
    """``values`` written to ``output``, or returned as a new array of
    gpix's default dtype for ``like`` (the input; ``values`` itself when
    None): an integer output is rounded and clipped once."""
    like = values if like is None else np.asarray(like)
    if output is None and values is not like and values.dtype == default_dtype(like.dtype):
        return values
    target = Target(output, values.shape, values.dtype, [values, like], default_dtype(like.dtype))
    target.native[...] = values
    return target.finish()


def _sigma_prefactor(bandwidth):
    b = float(bandwidth)
    return 1.0 / np.pi * np.sqrt(np.log(2) / 2.0) * (2.0**b + 1) / (2.0**b - 1)


def gabor_kernel(frequency, theta=0, bandwidth=1, sigma_x=None, sigma_y=None, n_stds=3, offset=0, dtype=np.complex128):
    """skimage.filters.gabor_kernel: the complex Gabor kernel (``sigma_x``,
    ``sigma_y`` from ``bandwidth`` when not given).

    >>> gpix.gabor_kernel(0.2).shape
    (19, 19)"""
    if sigma_x is None:
        sigma_x = _sigma_prefactor(bandwidth) / frequency
    if sigma_y is None:
        sigma_y = _sigma_prefactor(bandwidth) / frequency
    re, im = _gpix.gabor_kernel(float(frequency), float(theta), float(sigma_x), float(sigma_y), float(n_stds), float(offset))
    return (re + 1j * im).astype(dtype)


def gabor(image, frequency, theta=0, bandwidth=1, sigma_x=None, sigma_y=None, n_stds=3, offset=0, mode="reflect", cval=0, *, out=None, device=None, method="auto"):
    """skimage.filters.gabor: ``(real, imag)``, the image convolved with the
    real and imaginary parts of :func:`gabor_kernel` (float32 images with
    the kernel rounded to float32, as skimage does).

    ``out``: a pair of arrays to write into.

    >>> real, imag = gpix.gabor(np.ones((9, 9), np.float32), frequency=0.2)
    """
    x = np.asarray(image)
    if x.ndim not in (2, 3):
        raise ValueError("gabor takes a 2-D image, or (H, W, C) filtered per channel")
    xf = float_input(x)
    kernel = gabor_kernel(frequency, theta, bandwidth, sigma_x, sigma_y, n_stds, offset)
    if xf.dtype == np.float32:
        kernel = kernel.astype(np.complex64)
    axes = (0, 1)
    outs = (None, None) if out is None else out
    parts = []
    for part, o in zip((kernel.real, kernel.imag), outs):
        parts.append(_correlate(xf, part, o, mode, cval, 0, axes, device, method, True))
    return tuple(parts)


def _spacing(varargs, n):
    """numpy.gradient's ``varargs`` for ``n`` axes: (spacings, coordinates),
    a 1-D coordinate array replacing that axis's spacing (float32 kept,
    everything else as float64, numpy's types)."""
    if len(varargs) == 0:
        return [1.0] * n, [None] * n
    if len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        return [float(varargs[0])] * n, [None] * n
    if len(varargs) != n:
        raise TypeError("invalid number of arguments")
    steps, coords = [], []
    for v in varargs:
        if np.ndim(v) == 0:
            steps.append(float(v))
            coords.append(None)
            continue
        c = np.asarray(v)
        if c.ndim != 1:
            raise ValueError("distances must be either scalars or 1d")
        c = np.ascontiguousarray(c, np.float32 if c.dtype == np.float32 else np.float64)
        steps.append(1.0)
        coords.append(c)
    return steps, coords


def _diff_setup(f, axis, varargs, edge_order, default_axes):
    x = np.asarray(f)
    if x.ndim == 0:
        raise ValueError("the array must have at least one dimension")
    single = axis is not None and np.isscalar(axis)
    axes = axes_of(default_axes(x.ndim) if axis is None else axis, x.ndim)
    spacing = _spacing(varargs, len(axes))
    if edge_order not in (1, 2):
        raise ValueError("'edge_order' greater than 2 not supported")
    for ax in axes:
        if x.shape[ax] < edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, "
                "at least (edge_order + 1) elements are required."
            )
    return x, single, axes, spacing


def _pair_for(x, axes, need):
    """Lays ``x`` out so the differentiated axes are the 4-D pair; a partner
    axis that numpy does not differentiate is edge-padded up to the kernels'
    minimum and cut back afterwards."""
    srt = sorted(axes)
    if len(srt) == 2 and srt[1] != srt[0] + 1:
        raise NotImplementedError("gpix differentiates two adjacent axes at a time")
    if x.ndim == 1:
        x = x.reshape(-1, 1)
        a, partner = 0, 1
    else:
        a = min(srt[0], x.ndim - 2)
        partner = a + 1 if srt[0] == a else a
        if len(srt) == 2:
            partner = None
    pad = None
    if partner is not None and x.shape[partner] < need:
        pad = (partner, x.shape[partner])
        widths = [(0, 0)] * x.ndim
        widths[partner] = (0, need - x.shape[partner])
        x = np.pad(x, widths, mode="edge") if x.shape[partner] > 0 else np.zeros(
            tuple(need if i == partner else s for i, s in enumerate(x.shape)), x.dtype)
    return x, a, pad


def _unpad(arr, pad, shape):
    if pad is not None:
        ax, n = pad
        arr = arr.take(np.arange(n), axis=ax)
    return arr.reshape(shape)


def _gradient_2d(f, varargs, axis, edge_order, out, device):
    """The common call, a 2-D float array over both axes, without the
    general path's layout work (None when the call is not that)."""
    if not (
        axis is None
        and out is None
        and isinstance(f, np.ndarray)
        and f.ndim == 2
        and f.dtype in FLOATS
        and f.flags.c_contiguous
        and f.flags.aligned
        and (edge_order == 1 or edge_order == 2)
        and f.shape[0] > edge_order
        and f.shape[1] > edge_order
    ):
        return None
    spacing, coords = _spacing(varargs, 2)
    h, w = f.shape
    dy, dx = np.empty((h, w), f.dtype), np.empty((h, w), f.dtype)
    shape4 = (1, h, w, 1)
    _gpix.gradient(f.reshape(shape4), dy.reshape(shape4), dx.reshape(shape4), (spacing[0], spacing[1]), edge_order,
                   device_of(device), *coords)
    return dy, dx


def gradient(f, *varargs, axis=None, edge_order=1, out=None, device=None):
    """numpy.gradient: central differences inside, one-sided (first or
    second order) differences at the edges.

    ``axis`` defaults to ``(0, 1)``, the rows and columns of an image or an
    (H, W, C) stack (numpy would also differentiate the channel axis); any one
    axis or two adjacent axes may be given. float64 results on the CPU are
    numpy's bit for bit. Returns a tuple of arrays, or one array for an int
    ``axis`` or a 1-D input. ``out``: arrays to write into, one per axis.

    >>> gpix.gradient(np.array([[1.0, 2.0, 4.0], [2.0, 4.0, 8.0]]))[1]
    array([[1. , 1.5, 2. ],
           [2. , 3. , 4. ]])
    """
    fast = _gradient_2d(f, varargs, axis, edge_order, out, device)
    if fast is not None:
        return fast
    x, single, axes, spacing = _diff_setup(f, axis, varargs, edge_order, lambda n: [0, 1] if n >= 2 else [0])
    single = single or x.ndim == 1
    xf = float_input(x, "f")
    if xf.size == 0:
        results = tuple(np.empty(x.shape, default_dtype(x.dtype)) for _ in axes)
        return results[0] if single else results
    laid, a, pad = _pair_for(xf, axes, edge_order + 1)
    outs = [None] * len(axes) if out is None else ([out] if single and isinstance(out, np.ndarray) else list(out))
    if len(outs) != len(axes):
        raise ValueError(f"out has {len(outs)} arrays for {len(axes)} axes")
    targets = {}
    for ax, o in zip(axes, outs):
        # Padded layouts compute into scratch and copy back.
        targets[ax] = Target(None if pad else o, laid.shape, xf.dtype, [x, xf], default_dtype(x.dtype))
    if x.ndim == 1:
        which = {0: 0}
    else:
        which = {a: 0, a + 1: 1}
    natives = [None, None]
    steps = [1.0, 1.0]
    coords = [None, None]
    for ax, s, c in zip(axes, *spacing):
        natives[which[ax]] = as4(targets[ax].native, a)
        steps[which[ax]] = s
        coords[which[ax]] = c
    _gpix.gradient(as4(laid, a), natives[0], natives[1], tuple(steps), int(edge_order), device_of(device), *coords)
    results = []
    for ax, o in zip(axes, outs):
        r = targets[ax].finish()
        if pad is not None or x.ndim == 1:
            r = _unpad(r, pad, x.shape)
            if o is not None:
                cast_into(o, r)
                r = o
            elif r.dtype != default_dtype(x.dtype):
                r = r.astype(default_dtype(x.dtype))
        results.append(r)
    return results[0] if single else tuple(results)


def _hessian_2d(f, varargs, edge_order, axes, stencil, device, eig):
    """The common call, a 2-D float array over axes (0, 1) into new arrays,
    without the general path's layout work (None when the call is not
    that)."""
    if not (
        type(axes) is tuple
        and axes == (0, 1)
        and (edge_order == 1 or edge_order == 2)
        and (stencil == "gradient" or stencil == "compact")
    ):
        return None
    first = _plain_2d(f, None)
    if first is None:
        return None
    spacing, coords = _spacing(varargs, 2)
    outs = [first] + [np.empty(f.shape, f.dtype) for _ in range(1 if eig else 2)]
    natives = [_as4(o) for o in outs]
    args = [None, None, None] + natives if eig else natives + [None, None]
    _gpix.hessian(_as4(f), *args, (spacing[0], spacing[1]), int(edge_order), stencil, device_of(device), *coords)
    return tuple(outs)


def _hessian_outputs(f, varargs, edge_order, axes, stencil, out, device, eig):
    if out is None:
        fast = _hessian_2d(f, varargs, edge_order, axes, stencil, device, eig)
        if fast is not None:
            return fast
    x = np.asarray(f)
    if x.ndim < 2:
        raise ValueError("hessian needs an array of at least 2 dimensions")
    axes = axes_of(axes, x.ndim)
    if len(axes) != 2 or sorted(axes)[1] != sorted(axes)[0] + 1:
        raise NotImplementedError("gpix.hessian differentiates two adjacent axes")
    spacing, coords = _spacing(varargs, 2)
    if axes[0] > axes[1]:
        axes = axes[::-1]
        spacing, coords = spacing[::-1], coords[::-1]
    if edge_order not in (1, 2):
        raise ValueError("'edge_order' greater than 2 not supported")
    if stencil not in ("gradient", "compact"):
        raise ValueError(f"stencil must be 'gradient' or 'compact', not {stencil!r}")
    a = axes[0]
    xf = float_input(x, "f")
    n = 2 if eig else 3
    outs = [None] * n if out is None else list(out)
    if len(outs) != n:
        raise ValueError(f"out has {len(outs)} arrays, expected {n}")
    targets = [Target(o, x.shape, xf.dtype, [x, xf], default_dtype(x.dtype)) for o in outs]
    natives = [as4(t.native, a) for t in targets]
    args = [None, None, None] + natives if eig else natives + [None, None]
    _gpix.hessian(as4(xf, a), *args, tuple(spacing), int(edge_order), stencil, device_of(device), *coords)
    return tuple(t.finish() for t in targets)


def hessian(f, *varargs, edge_order=1, stencil="gradient", axes=(0, 1), out=None, device=None):
    """The Hessian ``(dyy, dxy, dxx)`` of an image over two adjacent axes.

    ``stencil='gradient'``: numpy.gradient applied twice (skimage's
    ``hessian_matrix(..., use_gaussian_derivatives=False)`` terms without
    its Gaussian); ``'compact'``: the three-point second differences and the
    four-point cross term inside, 0 on the one-pixel border.

    >>> dyy, dxy, dxx = gpix.hessian(np.add.outer(np.arange(4.0)**2, np.arange(4.0)))
    """
    return _hessian_outputs(f, varargs, edge_order, axes, stencil, out, device, False)


def hessian_eigvals(f, *varargs, edge_order=1, stencil="gradient", axes=(0, 1), out=None, device=None):
    """The eigenvalues of :func:`hessian` at every pixel, larger first
    (skimage's ``hessian_matrix_eigvals`` order), without storing the terms.

    >>> l1, l2 = gpix.hessian_eigvals(np.add.outer(np.arange(4.0) ** 2, np.zeros(4)))
    >>> float(l1[1, 1]), float(l2[1, 1])
    (1.5, 0.0)"""
    return _hessian_outputs(f, varargs, edge_order, axes, stencil, out, device, True)


_LABEL_DTYPES = (np.uint8, np.uint16, np.int32, np.float32, np.float64)


def _label_image(image):
    """(the array as given, its values (H, W, C) in a dtype gpix sums)."""
    original = x = np.asarray(image)
    if x.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {x.shape}")
    if x.dtype not in [np.dtype(t) for t in _LABEL_DTYPES]:
        if x.dtype.kind in "biu" and x.dtype.itemsize <= 2 or x.dtype == np.int8:
            x = x.astype(np.int32)
        elif x.dtype.kind in "iu" and x.size and x.min() >= -(2**31) and x.max() < 2**31:
            x = x.astype(np.int32)
        elif x.dtype.kind in "biuf":
            x = x.astype(np.float64)
        else:
            raise TypeError(f"image: unsupported dtype {x.dtype}")
    x3 = c_array(x).reshape(x.shape[0], x.shape[1], -1)
    return original, x3


def _labels(labels, image):
    lab = np.asarray(labels)
    if lab.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, got dtype {lab.dtype}")
    if lab.shape != image.shape[:2]:
        raise ValueError(f"labels of shape {lab.shape} for an image of shape {image.shape}")
    return c_array(lab)


def _table(labels, counts, sums, image):
    means = sums / counts.reshape(-1, 1) if len(counts) else sums.astype(np.float64)
    if image.ndim == 2:
        sums, means = sums[:, 0], means[:, 0]
    return LabelTable(labels, counts, sums, means.astype(np.float64, copy=False))


def label_mean(image, labels, output=None, *, device=None):
    """Every pixel painted with the mean of its label's pixels, in
    O(pixels + labels).

    Sums are exact (integers, or a 96-bit fixed point for floats), so the
    means are the exact means rounded once. The output is the image's dtype
    (integer means rounded half up) unless ``output`` says otherwise
    (float32 or float64, or an array to write into). ``labels``: (H, W)
    non-negative integers of any integer dtype.

    >>> gpix.label_mean(np.float32([[1, 3], [5, 7]]), np.array([[0, 0], [1, 1]]))
    array([[2., 2.],
           [6., 6.]], dtype=float32)
    """
    x, x3 = _label_image(image)
    lab = _labels(labels, x)
    allowed = (x3.dtype, np.dtype(np.float32), np.dtype(np.float64))
    if output is None:
        final = x.dtype
    elif isinstance(output, np.ndarray):
        if output.shape != x.shape:
            raise RuntimeError(f"output shape {output.shape} not correct, expected {x.shape}")
        final = output.dtype
    else:
        final = np.dtype(output)
    direct = (
        isinstance(output, np.ndarray)
        and output.dtype in allowed
        and output.flags.c_contiguous
        and output.flags.aligned
        and output.flags.writeable
        and not np.may_share_memory(output, x3)
    )
    if direct:
        native = output
    else:
        native = np.empty(x.shape, final if final in allowed else np.float64)
    _gpix.label_mean(x3, lab, native.reshape(x3.shape), device_of(device))
    if isinstance(output, np.ndarray):
        if native is not output:
            cast_into(output, native)
        return output
    return native if native.dtype == final else native.astype(final)


def label_table(image, labels, *, device=None):
    """Per-label pixel counts, exact sums and means: ``LabelTable(labels,
    counts, sums, means)``, labels ascending, only labels that occur.

    Sums of integer images are int64 and exact; float images get float64
    sums rounded once from exact totals. Tables of chunks merge by adding
    counts and sums (what :mod:`gpix.dask` does).

    >>> t = gpix.label_table(np.uint8([[1, 3], [5, 8]]), np.array([[0, 0], [7, 7]]))
    >>> t.labels.tolist(), t.counts.tolist(), t.sums.tolist(), t.means.tolist()
    ([0, 7], [2, 2], [4, 13], [2.0, 6.5])
    """
    x, x3 = _label_image(image)
    lab = _labels(labels, x)
    return _table(*_gpix.label_table(x3, lab, device_of(device)), x)


def _index_dtype(k):
    return np.uint8 if k <= 256 else np.uint16


def nearest_palette(image, palette, output=None, *, device=None, dither="none", dither_strength=1.0):
    """The index of the nearest palette colour of every pixel (exact
    squared-distance argmin, ties to the lower index).

    uint8/uint16 images (H, W) or (H, W, C) take a (K, C) palette of
    integers; float images (H, W) take K grey levels. Indices are uint8 for
    K <= 256, else uint16. Pillow's ``quantize(palette=...)`` gets 90-97 % of
    pixels right; this gets all of them.

    ``dither`` (integer images): 'none' (the exact nearest colour),
    'floyd-steinberg' (error diffusion in serpentine order, on the CPU,
    deterministic) or 'ordered' (8x8 Bayer; ``dither_strength`` scales its
    amplitude, 1 = the palette's typical colour spacing; the same indices on
    every device). Alpha is not dithered.

    >>> gpix.nearest_palette(np.uint8([[[0, 0, 0], [250, 250, 250]]]), np.uint8([[0, 0, 0], [255, 255, 255]]))
    array([[0, 1]], dtype=uint8)
    """
    if (
        output is None
        and dither == "none"
        and type(image) is np.ndarray
        and type(palette) is np.ndarray
        and image.ndim == 3
        and image.dtype == palette.dtype
        and image.dtype in (np.uint8, np.uint16)
        and palette.ndim == 2
        and 1 <= palette.shape[0] <= 256
        and image.flags.c_contiguous
        and image.flags.aligned
        and palette.flags.c_contiguous
    ):
        # The common call, without the general path's checks and copies.
        indices = np.empty(image.shape[:2], np.uint8)
        _gpix.nearest_palette(image, palette, indices, device_of(device))
        return indices
    x = np.asarray(image)
    p = np.asarray(palette)
    k = p.shape[0] if p.ndim else 0
    if not 1 <= k <= 65536:
        raise ValueError(f"a palette needs 1 to 65536 colours, got {k}")
    shape = x.shape[:2]
    target = Target(output, shape, np.dtype(_index_dtype(k)), [x], np.dtype(_index_dtype(k)))
    if dither not in ("none", "floyd-steinberg", "ordered"):
        raise ValueError(f"dither must be 'none', 'floyd-steinberg' or 'ordered', not {dither!r}")
    if x.dtype.kind == "f":
        if dither != "none":
            raise ValueError("dithering applies to uint8 and uint16 images, not float ones")
        if x.ndim != 2 and not (x.ndim == 3 and x.shape[2] == 1):
            raise ValueError("float images must be greyscale (H, W) to be quantized")
        levels = p.astype(np.float64).reshape(-1)
        order = np.argsort(levels, kind="stable")
        xf = float_input(x).reshape(shape[0], shape[1], 1)
        _gpix.nearest_level(xf, levels[order].tolist(), target.native, device_of(device))
        if not np.all(order[:-1] < order[1:]):
            target.native[...] = order.astype(target.native.dtype)[target.native]
        return target.finish()
    if x.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"image must be uint8, uint16 or float, not {x.dtype}")
    x3 = c_array(x).reshape(shape[0], shape[1], -1)
    p2 = c_array(p.reshape(k, -1), dtype=x.dtype)
    if p.dtype != x.dtype and not np.array_equal(p2, p.reshape(k, -1)):
        raise ValueError(f"palette values do not fit the image's dtype {x.dtype}")
    if dither != "none":
        _gpix.dither_palette(x3, p2, target.native, dither, float(dither_strength), device_of(device))
    else:
        _gpix.nearest_palette(x3, p2, target.native, device_of(device))
    return target.finish()


def quantize(image, colors=256, method="refined", seed=0, *, palette=None, max_iter=50, weights=None, dither="none", dither_strength=1.0, output=None, device=None):
    """Palette quantization: ``(indices, palette)``.

    The palette is ``palette`` when given, else built from the image by
    ``method``: 'refined' (the default: a median cut that weighs pixel mass
    as well as error, refined by up to 12 k-means passes over the colour
    histogram; above libimagequant's PSNR and CIEDE2000 on photographs, and
    deterministic), 'median-cut' (plain median cut, the fastest) or
    'kmeans' (seeds drawn as in k-means++ from ``seed``, colour seeds
    ∝ pixels × distance^1.1; at most ``max_iter`` Lloyd
    steps). For greyscale images, 'refined' and 'kmeans' count values as
    ``weights`` says: 'distinct' (the default: each distinct value once, so
    a dominant value cannot take most levels: masks, plots, sparse data) or
    'pixels' (least squared error over the pixels: best PSNR on
    photographs); colour palettes always weight by pixels. Integer images get (K, C) colours of their dtype, float images
    ascending grey levels. Then every pixel's nearest colour, exactly.
    ``palette[indices]`` is the quantized image.

    >>> grey = np.uint8([[0, 10, 200], [210, 250, 5]])
    >>> indices, palette = gpix.quantize(grey, colors=2)
    >>> palette[indices]
    array([[  5,   5, 220],
           [220, 220,   5]], dtype=uint8)
    """
    x = np.asarray(image)
    if palette is not None and weights is not None:
        raise ValueError("weights applies when the palette is built from the image, not with palette=")
    if palette is None:
        if x.dtype.kind == "f":
            xf = float_input(x).reshape(x.shape[0], x.shape[1], -1)
        elif x.dtype in (np.uint8, np.uint16):
            xf = c_array(x).reshape(x.shape[0], x.shape[1], -1)
        else:
            raise TypeError(f"image must be uint8, uint16 or float, not {x.dtype}")
        if weights is not None and method not in ("refined", "kmeans", "k-means"):
            raise ValueError(f"weights applies to method='refined' or 'kmeans', not {method!r}")
        if weights is not None and x.ndim == 3 and x.shape[2] > 1:
            raise ValueError("weights applies to greyscale images (colour palettes weight every colour by its pixel count)")
        weights = "distinct" if weights is None else weights
        if weights not in ("distinct", "pixels"):
            raise ValueError(f"weights must be 'distinct' or 'pixels', not {weights!r}")
        palette = _gpix.build_palette(xf, int(colors), method, int(seed), int(max_iter), weights, device_of(device))
        if x.ndim == 2 and palette.ndim == 2:
            palette = palette[:, 0]
        if x.dtype == np.float32:
            palette = palette.astype(np.float32)
    indices = nearest_palette(x, palette, output, device=device, dither=dither, dither_strength=dither_strength)
    return indices, palette


def imread(path):
    """An image file (PNG, JPEG, TIFF, WebP, ...) as a numpy array of its own
    type: (H, W) for grey, (H, W, C) otherwise. Errors name the file.

    >>> gpix.imread("assets/coffee.png").shape  # doctest: +SKIP
    (400, 600, 3)"""
    return _gpix.imread(str(path))


def colour_counts(image):
    """The distinct colours of a uint8/uint16 image, ascending
    (lexicographic), with their pixel counts: ``(colors (N, C), counts)``.
    The histogram median cut works on; counts of several images (or chunks)
    merge by adding (:mod:`gpix.dask` does).

    >>> colors, counts = gpix.colour_counts(np.uint8([[[1, 2], [1, 2], [0, 9]]]))
    >>> colors.tolist(), counts.tolist()
    ([[0, 9], [1, 2]], [1, 2])"""
    x = np.asarray(image)
    if x.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"image must be uint8 or uint16, not {x.dtype}")
    colors, counts = _gpix.colour_counts(c_array(x).reshape(x.shape[0], x.shape[1] if x.ndim > 1 else 1, -1))
    return colors, counts


def median_cut(colors, counts, colors_wanted=256, method="median-cut", weights="distinct"):
    """Median cut over a colour histogram (:func:`colour_counts`' output, or
    merged counts): the (K, C) palette ``quantize(method=method)`` builds
    from an image with that histogram, for ``method`` 'median-cut' or
    'refined' (``weights`` as in :func:`quantize`, greyscale only).

    >>> gpix.median_cut([[0], [10], [200]], [5, 5, 1], 2).ravel().tolist()
    [5, 200]"""
    colors = np.asarray(colors)
    dtype = colors.dtype if colors.dtype in (np.uint8, np.uint16) else np.dtype(np.uint16)
    c16 = c_array(colors.reshape(len(colors), -1), np.uint16)
    if weights != "distinct" and (method != "refined" or c16.shape[1] != 1):
        raise ValueError("weights applies to greyscale histograms with method='refined'")
    return _gpix.median_cut(c16, c_array(counts, np.uint64), int(colors_wanted), method, weights).astype(dtype)


def devices():
    """Every GPU adapter wgpu finds: dicts with name, backend, device_type,
    driver, software, max_buffer_bytes, pipeline_cache, timestamps.

    >>> all("name" in d for d in gpix.devices())
    True"""
    return _gpix.devices()


def describe_device(device="auto"):
    """What ``device`` resolves to on this machine, e.g. ``'cpu (16
    threads)'`` or ``'gpu: NVIDIA H200 (Vulkan, DiscreteGpu)'``.

    >>> gpix.describe_device("cpu").startswith("cpu")
    True"""
    return _gpix.describe_device(device_of(device))
