"""Argument handling shared by the public functions: scipy / numpy argument
forms in, the layouts the native module takes out (C-contiguous, float32 or
float64, 4-D ``(layers, height, width, channels)`` for the two filtered axes,
outputs preallocated)."""

import math
import operator
import os

import numpy as np

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# scipy.ndimage's mode names; the grid-* spellings mean the same for filters.
_MODES = {
    "reflect": "reflect",
    "grid-mirror": "reflect",
    "mirror": "mirror",
    "nearest": "nearest",
    "wrap": "wrap",
    "grid-wrap": "wrap",
    "constant": "constant",
    "grid-constant": "constant",
}


_DEVICES = ("auto", "gpu", "cpu")


# Read once: os.environ costs microseconds a call.
_ENV_DEVICE = os.environ.get("GPIX_DEVICE") or "auto"


def device_of(device):
    """The device request: the argument, else ``GPIX_DEVICE`` (as set when
    gpix was imported), else auto."""
    if device is None:
        device = _ENV_DEVICE
    if device not in _DEVICES:
        raise ValueError(f"device must be 'auto', 'gpu' or 'cpu', not {device!r}")
    return device


def modes_of(mode, naxes):
    """The native mode name of each listed axis: scipy's one name for all,
    or a sequence with one per axis."""
    modes = [mode] * naxes if isinstance(mode, str) else list(mode)
    if len(modes) != naxes:
        raise RuntimeError("sequence argument must have length equal to input rank")
    for m in modes:
        if m not in _MODES:
            raise RuntimeError(f"boundary mode not supported: {m!r}")
    return [_MODES[m] for m in modes]


def origins_of(origin, naxes):
    """scipy's origin per listed axis (one integer for all, or one each)."""
    return per_axis(origin, naxes, "origin")


def border_pair(modes, origins, axes, ndim, a, sizes=None):
    """The native mode ("m", or "my,mx" for the filtered pair) and origin
    pair from per-listed-axis modes and origins. An origin along an axis
    outside the pair must be 0 (its window is 1 wide) unless scipy skips
    that axis (``sizes`` given and at most 1 there)."""
    full_m = [modes[0]] * ndim
    full_o = [0] * ndim
    for i, ax in enumerate(axes):
        full_m[ax] = modes[i]
        skipped = sizes is not None and sizes[i] <= 1
        full_o[ax] = 0 if skipped else int(origins[i])
    # A 1-D array (a is None) is filtered along its one axis, the x of the pair.
    pair = [a, a + 1] if a is not None else [0]
    if any(o != 0 for ax, o in enumerate(full_o) if ax not in pair):
        raise ValueError("invalid origin: an axis without a window takes origin 0")
    if a is None:
        my, mx, oy, ox = full_m[0], full_m[0], 0, full_o[0]
    else:
        my, mx, oy, ox = full_m[a], full_m[a + 1], full_o[a], full_o[a + 1]
    return (my if my == mx else f"{my},{mx}"), (oy, ox)


def per_axis(value, naxes, name, convert=operator.index):
    """scipy's _normalize_sequence: a scalar for every axis, or one each."""
    if type(value) is int and convert is operator.index:
        return [value] * naxes
    if np.isscalar(value) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return [convert(value)] * naxes
    values = [convert(v) for v in value]
    if len(values) != naxes:
        raise RuntimeError(
            f"sequence argument must have length equal to input rank ({name})"
        )
    return values


def axes_of(axes, ndim):
    """scipy's ``axes=``: all axes when None, negatives wrapped, no repeats."""
    if axes is None:
        return list(range(ndim))
    if np.isscalar(axes):
        axes = [axes]
    out = []
    for a in axes:
        a = operator.index(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of bounds for an array of {ndim} dimensions")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError("axes must be unique")
    return out


def c_array(x, dtype=None):
    """``x`` C-contiguous and aligned (arrays rebuilt from pickled buffers,
    as Dask's workers receive them, may be unaligned), copied only if not."""
    a = np.asarray(x, dtype=dtype)
    f = a.flags
    if f.c_contiguous and f.aligned:
        return a
    return np.require(a, requirements=["C", "A"])


def float_input(x, name="input"):
    """The array in the float type gpix computes in: float32 and float64
    as they are, float16 as float32, integers and bools as float64."""
    x = np.asarray(x)
    if x.dtype in FLOATS:
        return c_array(x)
    if x.dtype.kind == "c":
        raise TypeError(f"{name}: complex arrays are not supported")
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric array, got dtype {x.dtype}")
    return c_array(x, np.float32 if x.dtype == np.float16 else np.float64)


def default_dtype(original):
    """The output dtype when none is given: the input's for floats (float16
    included), float64 for integers (scipy would truncate after every axis
    pass; pass ``output=`` an integer dtype to get rounded values)."""
    return original if original.kind == "f" else np.dtype(np.float64)


def window_pair(shape, active):
    """The first of the two adjacent axes the 2-D kernels run over, given the
    axes whose window is wider than 1. Raises for windows gpix cannot run."""
    ndim = len(shape)
    if ndim == 2:
        return 0
    if len(active) > 2 or (len(active) == 2 and active[1] != active[0] + 1):
        raise NotImplementedError(
            f"gpix filters two adjacent axes at a time; this window spans axes {active} "
            f"(use axes=, or a size of 1 along the other axes)"
        )
    if ndim < 2:
        return None
    a = active[0] if active else ndim - 2
    return min(a, ndim - 2)


def as4(x, a):
    """``x`` as (layers, height, width, channels) with axes a, a+1 filtered;
    ``a`` None for a 1-D array (one row)."""
    if a is None:
        return x.reshape(1, 1, x.size, 1)
    shape = x.shape
    return x.reshape(math.prod(shape[:a]), shape[a], shape[a + 1], math.prod(shape[a + 2 :]))


def pair_of(values, a, neutral):
    """The two entries of a per-axis list for the filtered pair."""
    if a is None:
        return (neutral, values[0])
    return (values[a], values[a + 1])


class Target:
    """Where a native call writes and what the caller gets back: the user's
    array when it can be written directly (right dtype, C-contiguous, not
    overlapping the input), else a scratch array copied out at the end."""

    def __init__(self, output, shape, compute, inputs, default, name="output"):
        if output is None:
            final = np.dtype(default)
            self.native = self.result = np.empty(shape, compute)
            self.final = final
            if final != compute:
                self.result = None
            return
        if isinstance(output, np.ndarray):
            if output.shape != tuple(shape):
                raise RuntimeError(f"{name} shape {output.shape} not correct, expected {tuple(shape)}")
            self.result = output
            self.final = output.dtype
        else:
            self.result = None
            self.final = np.dtype(output)
        direct = (
            self.result is not None
            and self.result.dtype == compute
            and self.result.flags.c_contiguous
            and self.result.flags.aligned
            and self.result.flags.writeable
            and not any(np.may_share_memory(self.result, i) for i in inputs)
        )
        if direct:
            self.native = self.result
        elif self.result is None and self.final == compute:
            self.native = self.result = np.empty(shape, compute)
        else:
            self.native = np.empty(shape, compute)

    def finish(self, convert=None):
        """The caller's array; ``convert(values, dtype)`` replaces the
        default rounding and clipping into another dtype (``cast_into``)."""
        if self.native is self.result:
            return self.result
        if self.result is None:
            self.result = np.empty(self.native.shape, self.final)
        if convert is None:
            cast_into(self.result, self.native)
        else:
            np.copyto(self.result, convert(self.native, self.final), casting="unsafe")
        return self.result


def cast_into(dst, src):
    """Copies float results into ``dst``: rounded and clipped for integer
    outputs (scipy truncates), plain casts otherwise."""
    if dst.dtype.kind in "iu":
        info = np.iinfo(dst.dtype)
        np.copyto(dst, np.clip(np.rint(src), info.min, info.max), casting="unsafe")
    elif dst.dtype.kind == "b":
        np.copyto(dst, src != 0)
    else:
        np.copyto(dst, src, casting="unsafe")
