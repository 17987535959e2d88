"""gpix's filters against scipy.ndimage and skimage on random inputs."""

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.filters

import gpix
from conftest import assert_close

MODES = ["reflect", "mirror", "nearest", "wrap", "constant"]
SHAPES = [(1, 1), (0, 5), (5, 0), (7, 9), (40, 33)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
def test_uniform_filter_matches_scipy(rng, device, shape, dtype, mode):
    x = rng.standard_normal(shape).astype(dtype)
    for size in [1, 2, 3, (4, 1), (3, 6), (15, 15)]:
        got = gpix.uniform_filter(x, size, mode=mode, cval=0.5, device=device)
        want = ndi.uniform_filter(x, size, mode=mode, cval=0.5)
        assert got.dtype == x.dtype
        assert_close(got, want, device)


def assert_exact(got, want, device):
    """Equal to scipy's; on a GPU float64 results are their float32 rounding."""
    if device == "gpu" and want.dtype == np.float64:
        want = want.astype(np.float32).astype(np.float64)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.uint16, np.int16])
@pytest.mark.parametrize("mode", MODES)
def test_minimum_and_maximum_filters_match_scipy_exactly(rng, device, shape, dtype, mode):
    x = (rng.standard_normal(shape) * 50).astype(dtype)
    for size in [1, 2, 3, (4, 1), (3, 6), (15, 15)]:
        for ours, theirs in [(gpix.minimum_filter, ndi.minimum_filter), (gpix.maximum_filter, ndi.maximum_filter)]:
            got = ours(x, size, mode=mode, cval=3, device=device)
            want = theirs(x, size, mode=mode, cval=3)
            assert got.dtype == x.dtype
            assert_exact(got, want, device)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int32, np.int64, bool])
def test_minimum_and_maximum_filters_keep_integer_types_and_scipys_constants(rng, device, dtype):
    """uint8, uint16, int16 and bool run natively; a constant the dtype
    cannot hold is compared as given and the result converted as scipy's C
    cast does (300 -> 44 for uint8, 2.7 -> 2)."""
    x = rng.integers(-40, 300, (17, 23)).astype(dtype)
    cvals = [0, 1, 255] if dtype is bool else [300, -1, 0.5, 2.7, 255, 0, 2, -70000.5]
    for cval in cvals:
        for ours, theirs in [(gpix.minimum_filter, ndi.minimum_filter), (gpix.maximum_filter, ndi.maximum_filter)]:
            got = ours(x, (2, 5), mode="constant", cval=cval, device=device)
            want = theirs(x, (2, 5), mode="constant", cval=cval)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_minimum_and_maximum_filters_convert_as_scipy():
    """Outputs of another dtype get scipy's C conversion; uint64 beyond
    2**63 and float outputs of integer inputs keep their values; absurd
    windows are a MemoryError, not a crash."""
    cases = [
        (np.array([[2**63, 2**64 - 2048, 5]], np.uint64), dict(size=(1, 2))),
        (np.array([[1, 100, 1]], np.uint8), dict(size=(1, 3), mode="constant", cval=-1, output=np.float64)),
        (np.array([[1, 100, 1]], np.uint8), dict(size=(1, 3), mode="constant", cval=0.5, output=np.float64)),
        (np.zeros((1, 4), bool), dict(size=(1, 3), mode="constant", cval=0.5)),
        (np.array([[0.6, 0.2]]), dict(size=(1, 2), output=np.uint8)),
        (np.array([[-1, 3]], np.int16), dict(size=(1, 2), output=np.uint8)),
    ]
    for x, kw in cases:
        for ours, theirs in [(gpix.minimum_filter, ndi.minimum_filter), (gpix.maximum_filter, ndi.maximum_filter)]:
            got, want = ours(x, **kw), theirs(x, **kw)
            assert got.dtype == want.dtype, (x, kw)
            np.testing.assert_array_equal(got, want)
    with pytest.raises(MemoryError):
        gpix.maximum_filter(np.zeros((3, 3), np.float32), size=((2**64 + 4) // 5, 1))


def test_minimum_and_maximum_filter_options(rng, device):
    x = rng.standard_normal((23, 31))
    for mode, origin in [(["reflect", "wrap"], (2, -3)), (["constant", "nearest"], 0), ("mirror", (-1, 1))]:
        got = gpix.maximum_filter(x, (7, 8), mode=mode, cval=0.5, origin=origin, device=device)
        assert_exact(got, ndi.maximum_filter(x, (7, 8), mode=mode, cval=0.5, origin=origin), device)
    got = gpix.minimum_filter(x, footprint=np.ones((3, 5), bool), device=device)
    assert_exact(got, ndi.minimum_filter(x, footprint=np.ones((3, 5), bool)), device)
    stack = rng.random((4, 20, 17)).astype(np.float32)
    got = gpix.maximum_filter(stack, 5, axes=(1, 2), device=device)
    np.testing.assert_array_equal(got, ndi.maximum_filter(stack, (1, 5, 5)))
    hwc = rng.integers(0, 256, (20, 17, 3), dtype=np.uint8)
    np.testing.assert_array_equal(gpix.minimum_filter(hwc, (3, 5, 1), device=device),
                                  ndi.minimum_filter(hwc, (3, 5, 1)))
    out = np.empty(x.shape, np.float32)
    assert gpix.maximum_filter(x, 3, output=out, device=device) is out
    np.testing.assert_array_equal(out, ndi.maximum_filter(x, 3).astype(np.float32))
    mask = rng.random((30, 30)) > 0.9
    np.testing.assert_array_equal(gpix.maximum_filter(mask, 3, device=device), ndi.maximum_filter(mask, 3))
    plus = [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    assert_exact(gpix.maximum_filter(x, footprint=plus, device=device), ndi.maximum_filter(x, footprint=plus), device)
    with pytest.raises(RuntimeError, match="sequence of modes"):
        gpix.minimum_filter(x, footprint=plus, mode=["reflect", "wrap"])
    with pytest.raises(ValueError, match="invalid origin"):
        gpix.minimum_filter(x, footprint=[[1, 0, 1]], origin=(1, 0))
    for empty in [np.ones((0, 3), bool), np.zeros((3, 3), bool)]:
        with pytest.raises(ValueError, match="All-zero footprint"):
            gpix.maximum_filter(x, footprint=empty)
    with pytest.raises(RuntimeError):
        gpix.maximum_filter(x)
    with pytest.raises(ValueError):
        gpix.maximum_filter(x, 3, origin=2)


RANK_CASES = [
    (gpix.median_filter, ndi.median_filter, ()),
    (gpix.rank_filter, ndi.rank_filter, (1,)),
    (gpix.rank_filter, ndi.rank_filter, (-2,)),
    (gpix.percentile_filter, ndi.percentile_filter, (30,)),
    (gpix.percentile_filter, ndi.percentile_filter, (-10,)),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.uint16, np.int16])
@pytest.mark.parametrize("mode", MODES)
def test_rank_filters_match_scipy_exactly(rng, device, shape, dtype, mode):
    """Ties included (integers of a small range)."""
    x = (rng.standard_normal(shape) * 50).astype(dtype)
    for size in [2, 3, (4, 1), (3, 6), (15, 15)]:
        for ours, theirs, args in RANK_CASES:
            got = ours(x, *args, size=size, mode=mode, cval=3, device=device)
            want = theirs(x, *args, size=size, mode=mode, cval=3)
            assert got.dtype == x.dtype
            assert_exact(got, want, device)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, bool])
def test_rank_filters_keep_integer_types_and_scipys_constants(rng, device, dtype):
    x = rng.integers(-40, 300, (17, 23)).astype(dtype)
    cvals = [0, 1] if dtype is bool else [300, -1, 2.7, 0, -70000.5]
    for cval in cvals:
        for ours, theirs, args in RANK_CASES:
            got = ours(x, *args, size=(3, 4), mode="constant", cval=cval, device=device)
            want = theirs(x, *args, size=(3, 4), mode="constant", cval=cval)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_rank_filter_options(rng, device):
    x = rng.standard_normal((23, 31))
    for origin in [(2, -3), 0, (-1, 1)]:
        got = gpix.median_filter(x, (7, 8), mode="wrap", origin=origin, device=device)
        assert_exact(got, ndi.median_filter(x, (7, 8), mode="wrap", origin=origin), device)
    got = gpix.rank_filter(x, 4, footprint=np.ones((3, 5), bool), device=device)
    assert_exact(got, ndi.rank_filter(x, 4, footprint=np.ones((3, 5), bool)), device)
    stack = rng.random((4, 20, 17)).astype(np.float32)
    got = gpix.median_filter(stack, 5, axes=(1, 2), device=device)
    np.testing.assert_array_equal(got, ndi.median_filter(stack, (1, 5, 5)))
    hwc = rng.integers(0, 256, (20, 17, 3), dtype=np.uint8)
    np.testing.assert_array_equal(gpix.percentile_filter(hwc, 75, (3, 5, 1), device=device),
                                  ndi.percentile_filter(hwc, 75, (3, 5, 1)))
    line = rng.standard_normal(200)
    np.testing.assert_array_equal(gpix.median_filter(line, 9), ndi.median_filter(line, 9))
    out = np.empty(x.shape, np.float32)
    assert gpix.median_filter(x, 3, output=out, device=device) is out
    np.testing.assert_array_equal(out, ndi.median_filter(x, 3).astype(np.float32))
    mask = rng.random((30, 30)) > 0.5
    np.testing.assert_array_equal(gpix.median_filter(mask, 3, device=device), ndi.median_filter(mask, 3))
    # scipy's errors, with scipy's exception types.
    with pytest.raises(RuntimeError, match="sequence of modes"):
        gpix.median_filter(x, 3, mode=["reflect", "reflect"])
    with pytest.raises(RuntimeError, match="rank not within"):
        gpix.rank_filter(x, 9, size=3)
    with pytest.raises(RuntimeError, match="rank not within"):
        gpix.rank_filter(x, -10, size=3)
    with pytest.raises(RuntimeError, match="invalid percentile"):
        gpix.percentile_filter(x, 101, size=3)
    with pytest.raises(RuntimeError):
        gpix.median_filter(x, 0)
    with pytest.raises(RuntimeError):
        gpix.median_filter(x)
    with pytest.raises(ValueError):
        gpix.median_filter(x, 3, origin=2)
    with pytest.raises(ValueError):
        gpix.median_filter(x, (1, 3), origin=(1, 0))
    plus = [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    assert_exact(gpix.median_filter(x, footprint=plus, device=device), ndi.median_filter(x, footprint=plus), device)


def _disk(r):
    i, j = np.mgrid[-r : r + 1, -r : r + 1]
    return i * i + j * j <= r * r


FOOTPRINTS = [
    _disk(1),
    _disk(3),
    np.array([[1, 0, 1], [0, 1, 0]], bool),
    np.array([[0, 0, 0], [0, 1, 1], [0, 1, 0], [0, 0, 0]], bool),
    np.eye(5, dtype=bool),
]
FOOTPRINT_CASES = RANK_CASES + [
    (gpix.minimum_filter, ndi.minimum_filter, ()),
    (gpix.maximum_filter, ndi.maximum_filter, ()),
    (gpix.rank_filter, ndi.rank_filter, (0,)),
    (gpix.percentile_filter, ndi.percentile_filter, (100,)),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.uint16, np.int16, np.int32, bool])
@pytest.mark.parametrize("mode", MODES)
def test_footprints_match_scipy_exactly(rng, device, shape, dtype, mode):
    """Any footprint (disks, corners, an off-centre one, a diagonal), every
    rank form and the minimum / maximum, with ties; constants scipy converts
    to the dtype (300 and -1 wrap for uint8)."""
    x = (rng.standard_normal(shape) * 50).astype(dtype)
    for i, footprint in enumerate(FOOTPRINTS):
        origin = (0, -1) if i == 2 else 0
        cval = [3, 300, -1][i % 3]
        for ours, theirs, args in FOOTPRINT_CASES:
            kw = dict(footprint=footprint, mode=mode, cval=cval, origin=origin)
            want = theirs(x, *args, **kw)
            got = ours(x, *args, device=device, **kw)
            assert got.dtype == want.dtype
            assert_exact(got, want, device)


def test_footprint_layouts(rng, device):
    """Footprints over chosen axes, of layers and channels, given as lists
    of ints; output= of another dtype; a 1-D input reads the marked values
    (as scipy does in 2-D; its 1-D path reads the whole window)."""
    disk = _disk(2)
    stack = rng.random((4, 20, 17)).astype(np.float32)
    got = gpix.median_filter(stack, footprint=disk, axes=(1, 2), device=device)
    np.testing.assert_array_equal(got, ndi.median_filter(stack, footprint=disk[None]))
    got = gpix.median_filter(stack, footprint=disk[None], device=device)
    np.testing.assert_array_equal(got, ndi.median_filter(stack, footprint=disk[None]))
    hwc = rng.integers(0, 256, (20, 17, 3), dtype=np.uint8)
    corner = [[1, 1, 0], [1, 0, 0]]
    got = gpix.percentile_filter(hwc, 60, footprint=corner, axes=(1, 0), device=device)
    np.testing.assert_array_equal(got, ndi.percentile_filter(hwc, 60, footprint=corner, axes=(1, 0)))
    got = gpix.minimum_filter(hwc, footprint=np.array(corner)[:, :, None], device=device)
    np.testing.assert_array_equal(got, ndi.minimum_filter(hwc, footprint=np.array(corner)[:, :, None]))
    x = rng.standard_normal((23, 31))
    out = np.empty(x.shape, np.int16)
    assert gpix.rank_filter(x * 100, 2, footprint=disk, output=out, device=device) is out
    np.testing.assert_array_equal(out, ndi.rank_filter(x * 100, 2, footprint=disk, output=np.int16))
    line = rng.standard_normal(40)
    got = gpix.median_filter(line, footprint=[1, 0, 1, 1], device=device)
    assert_exact(got, ndi.median_filter(line[None], footprint=[[1, 0, 1, 1]])[0], device)
    with pytest.raises(RuntimeError, match="incorrect shape"):
        gpix.median_filter(x, footprint=[1, 0, 1])
    with pytest.raises(NotImplementedError):
        gpix.median_filter(stack, footprint=np.ones((3, 3, 3), bool) & (rng.random((3, 3, 3)) > 0.3))


MORPHOLOGY = ["grey_erosion", "grey_dilation", "grey_opening", "grey_closing", "morphological_gradient",
              "white_tophat", "black_tophat"]


@pytest.mark.parametrize("name", MORPHOLOGY)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int16, np.int32, bool])
@pytest.mark.parametrize("mode", MODES)
def test_grey_morphology_matches_scipy(rng, device, name, dtype, mode):
    """scipy.ndimage's grey morphology with flat structuring elements: sizes
    (even ones shift the dilation), footprints (a disk, an off-centre one),
    a zero structure, origins, constants scipy converts."""
    ours, theirs = getattr(gpix, name), getattr(ndi, name)
    x = (rng.standard_normal((23, 17)) * 40).astype(dtype)
    odd = np.array([[1, 0, 0], [1, 1, 0]], bool)
    for kw in [dict(size=3), dict(size=(2, 4), origin=(0, 1)), dict(footprint=_disk(2)),
               dict(footprint=odd, origin=(-1, 0), cval=300), dict(structure=np.zeros((3, 2)), cval=-1)]:
        kw = dict(kw, mode=mode)
        try:
            want = theirs(x, **kw)
        except TypeError:  # scipy's bool subtraction in the gradient
            with pytest.raises(TypeError):
                ours(x, device=device, **kw)
            continue
        got = ours(x, device=device, **kw)
        assert got.dtype == want.dtype, kw
        if device == "gpu" and dtype == np.float64 and name not in MORPHOLOGY[:4]:
            # Differences of float32-rounded terms on a GPU.
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(x).max())
        else:
            assert_exact(got, want, device)


def test_grey_morphology_options(rng, device):
    x = rng.standard_normal((4, 20, 17)).astype(np.float32)
    disk = _disk(3)
    got = gpix.white_tophat(x, footprint=disk, axes=(1, 2), device=device)
    np.testing.assert_array_equal(got, ndi.white_tophat(x, footprint=disk, axes=(1, 2)))
    out = np.empty_like(x)
    assert gpix.morphological_gradient(x, size=(1, 5, 3), output=out, device=device) is out
    np.testing.assert_array_equal(out, ndi.morphological_gradient(x, size=(1, 5, 3)))
    for call, error in [
        (lambda m: m.grey_erosion(x), ValueError),
        (lambda m: m.grey_dilation(x[0], footprint=[[0, 0], [0, 0]]), ValueError),
        (lambda m: m.grey_opening(x[0], structure=np.zeros((3, 3)), mode=["reflect", "wrap"]), RuntimeError),
    ]:
        for m in (ndi, gpix):
            with pytest.raises(error):
                call(m)
    with pytest.raises(NotImplementedError, match="non-flat"):
        gpix.grey_erosion(x[0], structure=np.ones((3, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int16, np.int32, bool])
@pytest.mark.parametrize("mode", MODES)
def test_extremum_filters_1d_match_scipy(rng, device, dtype, mode):
    x = (rng.standard_normal((9, 14)) * 40).astype(dtype)
    for name in ["minimum_filter1d", "maximum_filter1d"]:
        for size, axis, origin in [(1, -1, 0), (3, 0, 1), (4, 1, -2), (20, -1, 0)]:
            want = getattr(ndi, name)(x, size, axis, mode=mode, cval=300, origin=origin)
            got = getattr(gpix, name)(x, size, axis, mode=mode, cval=300, origin=origin, device=device)
            assert got.dtype == want.dtype
            assert_exact(got, want, device)
        for m in (ndi, gpix):
            with pytest.raises(RuntimeError):
                getattr(m, name)(x, 0)


BINARY = ["binary_erosion", "binary_dilation", "binary_opening", "binary_closing"]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtype", [bool, np.uint8, np.float32])
def test_binary_morphology_matches_scipy(rng, device, name, dtype):
    """scipy.ndimage's binary morphology: the default cross, boxes, disks,
    off-centre and even structures with origins, border values, masks,
    iterations (to convergence too), axes and output arrays."""
    ours, theirs = getattr(gpix, name), getattr(ndi, name)
    x = (rng.random((21, 18)) < 0.6).astype(dtype) * (3 if dtype != bool else 1)
    mask = rng.random(x.shape) < 0.8
    odd = np.array([[1, 0, 1], [0, 1, 1]], bool)
    for kw in [dict(), dict(structure=np.ones((3, 3))), dict(structure=_disk(2), iterations=2),
               dict(structure=odd, origin=(0, 1)), dict(structure=[[1, 1, 1, 1]], origin=(0, -1), border_value=1),
               dict(iterations=0), dict(iterations=-1, mask=mask), dict(mask=mask, border_value=1)]:
        want = theirs(x, **kw)
        got = ours(x, device=device, **kw)
        assert got.dtype == want.dtype == bool, kw
        np.testing.assert_array_equal(got, want, err_msg=str(kw))
    stack = rng.random((3, 12, 9)) < 0.5
    np.testing.assert_array_equal(ours(stack, axes=(1, 2), device=device), theirs(stack, axes=(1, 2)))
    out = np.zeros(x.shape, np.int32)
    assert ours(x, output=out, device=device) is out
    np.testing.assert_array_equal(out, theirs(x))


def test_binary_morphology_iterates_the_one_step_operation(rng):
    """With a shifted origin scipy's iterated erosion reads out of bounds
    (wrong values, sometimes a crash): gpix's is the one-step erosion
    repeated. A structure without its centre that cycles under
    iterations < 1 is refused (scipy never returns)."""
    x = rng.random((3, 4, 2)) < 0.6
    st = np.array([[0, 1, 1, 1]], bool)
    kw = dict(axes=(1, 2), origin=(0, 1), border_value=1)
    once = gpix.binary_erosion(x, st, **kw)
    np.testing.assert_array_equal(once, ndi.binary_erosion(x, st, **kw))
    thrice = gpix.binary_erosion(gpix.binary_erosion(once, st, **kw), st, **kw)
    np.testing.assert_array_equal(gpix.binary_erosion(x, st, 3, **kw), thrice)
    alternating = np.array([0, 1, 0, 1, 0, 1, 0, 1], bool)
    with pytest.raises(RuntimeError, match="did not converge"):
        gpix.binary_erosion(alternating, [1, 0, 1], iterations=0, border_value=1)
    with pytest.raises(RuntimeError, match="same dimensionality"):
        gpix.binary_erosion(x, [1, 1])


def test_non_separable_windows_read_axes_in_array_order(rng, device):
    """scipy's rank filters, footprints that are not all ones and structures
    read the window's dimensions in the array's axis order whatever the
    order of ``axes`` (its separable filters follow ``axes``): so does gpix."""
    x = rng.standard_normal((6, 7, 5))
    row = [[1, 0, 1]]
    cases = [
        ("minimum_filter", (), dict(footprint=row, axes=(1, 0))),
        ("minimum_filter", (), dict(size=(1, 3), axes=(1, 0))),
        ("median_filter", (), dict(size=(1, 3), axes=(1, 0))),
        ("rank_filter", (1,), dict(size=(2, 3), axes=(2, 1), origin=(1, 0))),
        ("percentile_filter", (30,), dict(footprint=[[1, 1, 0], [0, 1, 1]], axes=(2, 1), origin=(0, -1))),
        ("grey_erosion", (), dict(structure=np.zeros((1, 3)), axes=(1, 0))),
        ("binary_erosion", (), dict(structure=[[1, 1, 1, 0]], axes=(1, 0))),
    ]
    for name, args, kw in cases:
        data = x > 0 if name.startswith("binary") else x
        want = getattr(ndi, name)(data, *args, **kw)
        assert_exact(getattr(gpix, name)(data, *args, device=device, **kw), want, device)
    for m in (ndi, gpix):
        with pytest.raises(ValueError):
            m.minimum_filter1d(x, 1, origin=1)


def test_rank_filters_follow_scipys_special_cases():
    """Ranks 0 and n - 1 are scipy's minimum / maximum filters (constants
    compared as given, mode sequences allowed); 1-D inputs compare the
    constant in int64 as scipy's 1-D path; empty arrays of any layout give
    empty results; bad arguments raise scipy's exception types."""
    cases = [
        (ndi.rank_filter, gpix.rank_filter, (np.uint8([[5, 7, 9]]), 0), dict(size=(1, 3), mode="constant", cval=-1)),
        (ndi.median_filter, gpix.median_filter, (np.uint8([[50, 60]]),), dict(size=(1, 2), mode="constant", cval=300)),
        (ndi.percentile_filter, gpix.percentile_filter, (np.array([[False, True, False]]), -100),
         dict(size=(1, 3), mode="constant", cval=-1)),
        (ndi.rank_filter, gpix.rank_filter, (np.arange(12.0).reshape(3, 4), -1), dict(size=2, mode=["reflect", "wrap"])),
        (ndi.median_filter, gpix.median_filter, (np.uint8([50, 60, 70, 80]),), dict(size=3, mode="constant", cval=300)),
        (ndi.median_filter, gpix.median_filter, (np.array([True, False, True, True]),),
         dict(size=3, mode="constant", cval=-1)),
        (ndi.median_filter, gpix.median_filter, (np.int32([1, 5, 2, 8, 3]),), dict(size=3, mode="constant", cval=2.7)),
        (ndi.median_filter, gpix.median_filter, (np.zeros((2, 3, 0)),), dict(size=(3, 5), axes=(0, 1))),
        (ndi.median_filter, gpix.median_filter, (np.zeros((0, 3, 2)),), dict(size=(1, 3, 4))),
    ]
    for theirs, ours, args, kw in cases:
        want, got = theirs(*args, **kw), ours(*args, **kw)
        assert got.dtype == want.dtype and got.shape == want.shape, (args, kw)
        np.testing.assert_array_equal(got, want)
    x = np.zeros((3, 3))
    for call, error in [
        (lambda m: m.median_filter(x, size=-1), ValueError),
        (lambda m: m.percentile_filter(x, np.nan, size=3), ValueError),
        (lambda m: m.percentile_filter(x, "50", size=3), TypeError),
        (lambda m: m.median_filter(x, footprint=np.zeros((3, 3))), RuntimeError),
        (lambda m: m.median_filter(x, size=(1, 3), origin=(1, 0)), ValueError),
        (lambda m: m.median_filter(x, size=(3, 3), mode=["reflect", "wrap"]), RuntimeError),
    ]:
        for m in (ndi, gpix):
            with pytest.raises(error):
                call(m)


def test_rank_filters_put_nans_last():
    """NaNs sort above every number (scipy's answer depends on where they
    are): a median of more NaNs than numbers is NaN, of fewer a number."""
    x = np.array([[np.nan, 1.0, np.nan, 2.0, 3.0]])
    got = gpix.median_filter(x, (1, 3), mode="nearest")
    np.testing.assert_array_equal(got, [[np.nan, np.nan, 2.0, 3.0, 3.0]])
    np.testing.assert_array_equal(gpix.rank_filter(x, 0, (1, 3), mode="nearest"), [[1.0, 1.0, 1.0, 2.0, 2.0]])


def test_uniform_filter_layouts(rng):
    hwc = rng.random((20, 17, 3))
    assert_close(gpix.uniform_filter(hwc, (3, 5, 1)), ndi.uniform_filter(hwc, (3, 5, 1)))
    assert_close(gpix.uniform_filter(hwc, 3, axes=(0, 1)), ndi.uniform_filter(hwc, (3, 3, 1)))
    chw = rng.random((4, 20, 17))
    assert_close(gpix.uniform_filter(chw, (1, 3, 5)), ndi.uniform_filter(chw, (1, 3, 5)))
    assert_close(gpix.uniform_filter(chw, 5, axes=(1, 2)), ndi.uniform_filter(chw, (1, 5, 5)))
    assert_close(gpix.uniform_filter(chw, 4, axes=(-1,)), ndi.uniform_filter(chw, (1, 1, 4)))
    one = rng.random(50)
    assert_close(gpix.uniform_filter(one, 7, mode="wrap"), ndi.uniform_filter(one, 7, mode="wrap"))
    strided = rng.random((30, 40))[::2, ::3]
    assert_close(gpix.uniform_filter(strided, 3), ndi.uniform_filter(strided, 3))
    with pytest.raises(NotImplementedError):
        gpix.uniform_filter(hwc, 3)  # scipy would average across channels too


def test_outputs_are_written_in_place(rng):
    x = rng.random((30, 20)).astype(np.float32)
    out = np.empty_like(x)
    got = gpix.uniform_filter(x, 5, output=out)
    assert got is out
    assert_close(out, ndi.uniform_filter(x, 5))
    # The input as its own output, as scipy allows.
    y = x.copy()
    gpix.uniform_filter(y, 5, output=y)
    assert_close(y, ndi.uniform_filter(x, 5))
    # A dtype, or an array of another dtype: converted once.
    assert gpix.uniform_filter(x, 3, output=np.float64).dtype == np.float64
    o16 = np.empty(x.shape, np.float16)
    assert gpix.uniform_filter(x, 3, output=o16) is o16


def test_integer_inputs(rng):
    x = rng.integers(0, 255, (20, 30)).astype(np.uint8)
    got = gpix.uniform_filter(x, 3)
    assert got.dtype == np.float64
    assert_close(got, ndi.uniform_filter(x.astype(np.float64), 3))
    rounded = gpix.uniform_filter(x, 3, output=np.uint8)
    assert rounded.dtype == np.uint8
    assert np.array_equal(rounded, np.rint(got).astype(np.uint8))
    half = gpix.uniform_filter(x.astype(np.float16), 3)
    assert half.dtype == np.float16


def test_size_zero_filters_nothing_along_that_axis(rng):
    x = rng.random((10, 12, 2))
    for size in [(0, 3, 1), (4, 0, 0), 0]:
        assert np.array_equal(gpix.uniform_filter(x, size), ndi.uniform_filter(x, size)) or \
            np.allclose(gpix.uniform_filter(x, size), ndi.uniform_filter(x, size), rtol=0, atol=1e-12)
    s = gpix.local_stats(x, (0, 3, 1))
    assert np.allclose(s.mean, ndi.uniform_filter(x, (1, 3, 1)), rtol=0, atol=1e-12)


def test_empty_arrays_give_empty_results():
    for shape in [(1, 0), (0, 5), (0, 0, 3)]:
        x = np.zeros(shape)
        axes = (0, 1)
        for got in [gpix.uniform_filter(x, 3, axes=axes), gpix.gaussian_filter(x, 1.0, axes=axes),
                    gpix.correlate(x[..., 0] if x.ndim == 3 else x, np.ones((3, 3))),
                    gpix.gaussian_laplace(x, 1.0, axes=axes), gpix.local_stats(x, 3, axes=axes).var]:
            assert got.shape in (shape, shape[:2]) and got.dtype == np.float64


@pytest.mark.parametrize("origin", [0, 1, -1, (1, -2), (-2, 1)])
def test_origins_match_scipy(rng, device, origin):
    x = rng.standard_normal((14, 17))
    assert_close(gpix.uniform_filter(x, (5, 4), origin=origin, device=device),
                 ndi.uniform_filter(x, (5, 4), origin=origin), device)
    w = rng.standard_normal((4, 5))
    for f, g in [(gpix.correlate, ndi.correlate), (gpix.convolve, ndi.convolve)]:
        try:
            want = g(x, w, mode="nearest", origin=origin)
        except ValueError:
            with pytest.raises(ValueError):
                f(x, w, mode="nearest", origin=origin, device=device)
            continue
        assert_close(f(x, w, mode="nearest", origin=origin, device=device), want, device)
    # A stack, the window over the last two axes, origin per axis.
    stack = rng.standard_normal((3, 9, 10))
    o = origin if np.isscalar(origin) else (0,) + tuple(origin)
    size = (1, 5, 4)
    if np.isscalar(origin):
        o = (0, origin, origin)
    assert_close(gpix.uniform_filter(stack, size, origin=o, device=device),
                 ndi.uniform_filter(stack, size, origin=o), device)


@pytest.mark.parametrize("origin", [0, 2, -1, (1, -2), (-2, 1), (3, 0)])
def test_local_stats_origins_match_scipy(rng, device, origin):
    # The windows of uniform_filter with the same origin; an origin scipy
    # refuses for the window is refused too.
    x = rng.standard_normal((14, 17))
    for size in [(5, 4), 5]:
        try:
            mean = ndi.uniform_filter(x, size, origin=origin, mode="wrap")
        except ValueError:
            with pytest.raises(ValueError):
                gpix.local_stats(x, size, mode="wrap", origin=origin, device=device)
            continue
        s = gpix.local_stats(x, size, mode="wrap", origin=origin, device=device)
        var = ndi.uniform_filter(x * x, size, origin=origin, mode="wrap") - mean * mean
        assert_close(s.mean, mean, device)
        tol = 1e-12 if device == "cpu" else 1e-4
        assert np.max(np.abs(s.var - var)) <= tol
        # A stack through the general path: the window over the last two axes.
        stack = np.stack([x, -x])
        o = (0, origin, origin) if np.isscalar(origin) else (0,) + tuple(origin)
        got = gpix.local_stats(stack, (1,) + (size if isinstance(size, tuple) else (size, size)), mode="wrap",
                               origin=o, stats="mean", device=device)
        assert_close(got.mean[1], -mean, device)


def test_origin_on_1d_arrays(rng):
    x = rng.standard_normal(20)
    assert_close(gpix.uniform_filter(x, 3, origin=1), ndi.uniform_filter(x, 3, origin=1))
    assert_close(gpix.correlate(x, [1.0, 2.0, 3.0, 4.0], origin=1), ndi.correlate(x, [1.0, 2.0, 3.0, 4.0], origin=1))
    # scipy skips axes of size 1, origin and all.
    y = rng.standard_normal((8, 9))
    assert_close(gpix.uniform_filter(y, (1, 5), origin=(1, -2)), ndi.uniform_filter(y, (1, 5), origin=(1, -2)))


@pytest.mark.parametrize("modes", [("reflect", "wrap"), ("constant", "nearest"), ("mirror", "constant")])
def test_per_axis_modes_match_scipy(rng, device, modes):
    x = rng.standard_normal((13, 16))
    modes = list(modes)
    assert_close(gpix.uniform_filter(x, (5, 4), mode=modes, cval=0.5, device=device),
                 ndi.uniform_filter(x, (5, 4), mode=modes, cval=0.5), device)
    for order in [0, (1, 2)]:
        assert_close(gpix.gaussian_filter(x, (1.5, 0.8), order=order, mode=modes, cval=0.5, device=device),
                     ndi.gaussian_filter(x, (1.5, 0.8), order=order, mode=modes, cval=0.5), device)
    assert_close(gpix.gaussian_laplace(x, (1.5, 0.8), mode=modes, cval=0.5, device=device),
                 ndi.gaussian_laplace(x, (1.5, 0.8), mode=modes, cval=0.5), device)
    assert_close(gpix.gaussian_gradient_magnitude(x, (1.5, 0.8), mode=modes, cval=0.5, device=device),
                 ndi.gaussian_gradient_magnitude(x, (1.5, 0.8), mode=modes, cval=0.5), device)
    # Modes listed for axes=(1, 0) follow those axes.
    assert_close(gpix.uniform_filter(x, (4, 5), mode=modes, axes=(1, 0), cval=0.5, device=device),
                 ndi.uniform_filter(x, (4, 5), mode=modes, axes=(1, 0), cval=0.5), device)


def test_filter_errors(rng):
    x = rng.random((10, 10))
    with pytest.raises(RuntimeError):
        gpix.uniform_filter(x, -1)
    with pytest.raises(RuntimeError):
        gpix.uniform_filter(x, 3, mode="bogus")
    with pytest.raises(ValueError):
        gpix.uniform_filter(x, 3, origin=2)
    with pytest.raises(RuntimeError):
        gpix.correlate(x, np.ones((3, 3)), mode=["reflect", "wrap"])
    with pytest.raises(ValueError):
        gpix.correlate(x, np.ones((3, 3)), origin=(0, 2))
    with pytest.raises(RuntimeError):
        gpix.uniform_filter(x, 3, output=np.empty((3, 3)))
    with pytest.raises(TypeError):
        gpix.uniform_filter(x.astype(np.complex64), 3)
    with pytest.raises(ValueError):
        gpix.uniform_filter(x, 3, device="tpu")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
def test_correlate_and_convolve_match_scipy(rng, device, dtype, mode):
    x = rng.standard_normal((23, 31)).astype(dtype)
    for kshape in [(1, 1), (3, 3), (2, 5), (4, 4), (7, 1), (9, 11)]:
        w = rng.standard_normal(kshape)
        for method in ["auto", "direct"] if device == "gpu" else ["auto", "direct", "fft"]:
            got = gpix.correlate(x, w, mode=mode, cval=-1.0, device=device, method=method)
            assert_close(got, ndi.correlate(x, w, mode=mode, cval=-1.0), device)
            got = gpix.convolve(x, w, mode=mode, cval=-1.0, device=device, method=method)
            assert_close(got, ndi.convolve(x, w, mode=mode, cval=-1.0), device)


def test_separable_kernels(rng):
    x = rng.standard_normal((40, 50))
    w = np.outer(rng.random(7), rng.random(5))
    for method in ["auto", "separable"]:
        assert_close(gpix.correlate(x, w, method=method), ndi.correlate(x, w))
    with pytest.raises(RuntimeError):
        gpix.correlate(x, rng.random((3, 3, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_filter_matches_scipy(rng, device, dtype):
    x = rng.standard_normal((37, 29)).astype(dtype)
    for sigma in [0.5, 1.0, 2.5, (1.0, 3.0), (0, 2.0)]:
        for mode in MODES:
            got = gpix.gaussian_filter(x, sigma, mode=mode, truncate=3.0, device=device)
            assert_close(got, ndi.gaussian_filter(x, sigma, mode=mode, truncate=3.0), device)
    stack = rng.standard_normal((3, 20, 21)).astype(dtype)
    got = gpix.gaussian_filter(stack, (0, 1.5, 2.0), device=device)
    assert_close(got, ndi.gaussian_filter(stack, (0, 1.5, 2.0)), device)
    with pytest.raises(ValueError):
        gpix.gaussian_filter(x, 1.0, order=4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_derivatives_match_scipy(rng, device, dtype):
    x = rng.standard_normal((31, 26)).astype(dtype)
    for order in [1, (0, 1), (2, 0), (1, 3), (3, 2)]:
        for mode in MODES:
            kw = dict(mode=mode, cval=0.5, truncate=3.0)
            got = gpix.gaussian_filter(x, (1.5, 0.9), order, device=device, **kw)
            assert_close(got, ndi.gaussian_filter(x, (1.5, 0.9), order, **kw), device)
    got = gpix.gaussian_filter(x, 2.0, (1, 0), radius=(3, 6), device=device)
    assert_close(got, ndi.gaussian_filter(x, 2.0, (1, 0), radius=(3, 6)), device)
    stack = rng.standard_normal((3, 20, 21)).astype(dtype)
    got = gpix.gaussian_filter(stack, (0, 1.5, 2.0), (0, 1, 2), device=device)
    assert_close(got, ndi.gaussian_filter(stack, (0, 1.5, 2.0), (0, 1, 2)), device)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_laplace_and_gradient_magnitude_match_scipy(rng, device, dtype):
    x = rng.standard_normal((33, 27)).astype(dtype)
    pairs = [(gpix.gaussian_laplace, ndi.gaussian_laplace),
             (gpix.gaussian_gradient_magnitude, ndi.gaussian_gradient_magnitude)]
    for ours, theirs in pairs:
        for sigma in [1.0, (2.0, 0.7), (0, 1.5)]:
            for mode in MODES:
                got = ours(x, sigma, mode=mode, cval=0.5, device=device, truncate=3.0)
                assert_close(got, theirs(x, sigma, mode=mode, cval=0.5, truncate=3.0), device)
        rgb = rng.standard_normal((19, 23, 3)).astype(dtype)
        with pytest.raises(NotImplementedError):
            ours(rgb, (1.2, 1.2, 0), device=device)
    rgb = rng.standard_normal((19, 23, 3)).astype(dtype)
    got = gpix.gaussian_laplace(rgb, 1.2, axes=(0, 1), device=device)
    assert_close(got, ndi.gaussian_laplace(rgb, 1.2, axes=(0, 1)), device)
    # scipy blurs the unlisted channel axis here; gpix says so.
    with pytest.raises(NotImplementedError, match="per channel"):
        gpix.gaussian_gradient_magnitude(rgb, 1.2, axes=(0, 1), device=device)
    # One axis: a 1-D signal, or axes= naming one axis of an image.
    line = rng.standard_normal(40).astype(dtype)
    for ours, theirs in pairs:
        assert_close(ours(line, 1.5, mode="nearest", device=device), theirs(line, 1.5, mode="nearest"), device)
    got = gpix.gaussian_laplace(x, 1.3, axes=(1,), mode="constant", cval=0.5, device=device)
    assert_close(got, ndi.gaussian_laplace(x, 1.3, axes=(1,), mode="constant", cval=0.5), device)
    # Passes in descending axis order with a constant border and a derivative.
    with pytest.raises(NotImplementedError, match="ascending"):
        gpix.gaussian_filter(x, 1.0, (1, 0), mode="constant", cval=0.5, axes=(1, 0))
    got = gpix.gaussian_filter(x, 1.0, (1, 0), mode="constant", cval=0.5, axes=(0, 1), device=device)
    assert_close(got, ndi.gaussian_filter(x, 1.0, (1, 0), mode="constant", cval=0.5, axes=(0, 1)), device)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gabor_matches_skimage(rng, device, dtype):
    x = rng.random((40, 45)).astype(dtype)
    for kwargs in [
        dict(frequency=0.15, theta=np.pi / 2, sigma_x=5, sigma_y=5, n_stds=1.4),
        dict(frequency=0.3, theta=0.7, bandwidth=1.5),
        dict(frequency=0, sigma_x=1.5, sigma_y=2.5),
        dict(frequency=0.2, theta=0.3, offset=0.5, mode="wrap"),
    ]:
        real, imag = gpix.gabor(x, device=device, **kwargs)
        want_real, want_imag = skimage.filters.gabor(x, **kwargs)
        assert real.dtype == want_real.dtype
        assert_close(real, want_real, device)
        assert_close(imag, want_imag, device)


def test_gabor_kernel_matches_skimage():
    for args in [(0.1,), (0.25, 0.5), (0.2, 1.0, 2.0)]:
        got = gpix.gabor_kernel(*args)
        want = skimage.filters.gabor_kernel(*args)
        assert got.shape == want.shape
        assert np.max(np.abs(got - want)) < 1e-12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_local_stats_match_a_two_pass_variance(rng, device, dtype):
    # Data on a large offset: the one-pass formula loses every digit here.
    x = (1e4 + rng.standard_normal((30, 26))).astype(dtype)
    for mode in MODES:
        s = gpix.local_stats(x, (5, 3), mode=mode, cval=1e4, device=device)
        x64 = x.astype(np.float64)
        mean = ndi.uniform_filter(x64, (5, 3), mode=mode, cval=1e4)
        var = ndi.uniform_filter((x64 - mean) ** 2, (5, 3), mode=mode, cval=0)
        # The two-pass variance needs each window's own mean: brute force.
        pad = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge", "wrap": "wrap", "constant": "constant"}[mode]
        kw = {"constant_values": 1e4} if mode == "constant" else {}
        p = np.pad(x64, ((2, 2), (1, 1)), mode=pad, **kw)
        win = np.lib.stride_tricks.sliding_window_view(p, (5, 3))
        var = win.var(axis=(2, 3))
        assert_close(s.mean, mean, device)
        tol = 1e-9 if (device == "cpu" and dtype == np.float64) else 2e-2
        assert np.max(np.abs(s.var - var)) <= tol, np.max(np.abs(s.var - var))
        assert np.all(s.var >= 0)
        assert_close(s.std, np.sqrt(s.var.astype(np.float64)).astype(dtype), device)
    only = gpix.local_stats(x, 3, stats=("var",))
    assert only.mean is None and only.std is None and only.var is not None


@pytest.mark.parametrize("mode", MODES + ["grid-constant"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_axis_filters_match_scipy(rng, device, mode, dtype):
    x = rng.standard_normal((13, 17)).astype(dtype)
    stack = rng.standard_normal((3, 8, 11)).astype(dtype)
    w = [1.0, 3.0, -2.0, 0.5]
    for arr in [x, stack, x[0]]:
        for axis in range(-1, arr.ndim):
            for origin in [0, 1, -2]:
                for f, g in [(gpix.correlate1d, ndi.correlate1d), (gpix.convolve1d, ndi.convolve1d)]:
                    got = f(arr, w, axis, mode=mode, cval=0.5, origin=origin, device=device)
                    assert got.dtype == arr.dtype
                    assert_close(got, g(arr, w, axis, mode=mode, cval=0.5, origin=origin), device)
                assert_close(gpix.uniform_filter1d(arr, 4, axis, mode=mode, cval=0.5, origin=origin, device=device),
                             ndi.uniform_filter1d(arr, 4, axis, mode=mode, cval=0.5, origin=origin), device)
            for order in range(4):
                assert_close(gpix.gaussian_filter1d(arr, 1.5, axis, order, mode=mode, cval=0.5, device=device),
                             ndi.gaussian_filter1d(arr, 1.5, axis, order, mode=mode, cval=0.5), device)
            assert_close(gpix.gaussian_filter1d(arr, 2.0, axis, radius=2, mode=mode, device=device),
                         ndi.gaussian_filter1d(arr, 2.0, axis, radius=2, mode=mode), device)


@pytest.mark.parametrize("mode", MODES + ["grid-constant", ("wrap", "nearest")])
def test_sobel_prewitt_laplace_match_scipy(rng, device, mode):
    # 2-D with one mode is a single correlation, constant borders and mode
    # pairs chain 1-D passes as scipy does; stacks chain over every axis.
    x = rng.standard_normal((19, 23))
    for f, g in [(gpix.sobel, ndi.sobel), (gpix.prewitt, ndi.prewitt)]:
        for axis in [0, 1, -1]:
            assert_close(f(x, axis, mode=mode, cval=0.75, device=device), g(x, axis, mode=mode, cval=0.75), device)
        if isinstance(mode, str):
            stack = rng.standard_normal((3, 9, 10)).astype(np.float32)
            for axis in range(3):
                got = f(stack, axis, mode=mode, cval=0.75, device=device)
                assert got.dtype == np.float32
                assert_close(got, g(stack, axis, mode=mode, cval=0.75), device)
    assert_close(gpix.laplace(x, mode=mode, cval=0.75, device=device), ndi.laplace(x, mode=mode, cval=0.75), device)
    if isinstance(mode, str):
        stack = rng.standard_normal((3, 9, 10))
        for axes in [None, (1, 2), (2, 1), (0, 2), (0,)]:
            assert_close(gpix.laplace(stack, mode=mode, axes=axes, device=device),
                         ndi.laplace(stack, mode=mode, axes=axes), device)


def test_sobel_family_outputs_and_errors(rng):
    # Integers give float64 (scipy keeps uint8 and wraps around); output=
    # an integer dtype rounds each pass as scipy does; in place works.
    img = rng.integers(0, 256, (12, 15)).astype(np.uint8)
    got = gpix.sobel(img)
    assert got.dtype == np.float64
    assert_close(got, ndi.sobel(img.astype(np.float64)))
    as_int = gpix.sobel(img, output=np.int32)
    assert as_int.dtype == np.int32
    np.testing.assert_array_equal(as_int, ndi.sobel(img.astype(np.int32)))
    np.testing.assert_array_equal(gpix.laplace(img, output=np.int16), ndi.laplace(img.astype(np.int16)))
    x = rng.standard_normal((10, 11))
    want = ndi.prewitt(x, 0, mode="constant")
    same = x.copy()
    assert gpix.prewitt(same, 0, output=same, mode="constant") is same
    assert_close(same, want)
    out = np.empty_like(x)
    assert gpix.correlate1d(x, [1, 2], 0, output=out) is out
    assert_close(out, ndi.correlate1d(x, [1, 2], 0))
    assert_close(gpix.laplace(x, axes=()), x)
    with pytest.raises(np.exceptions.AxisError if hasattr(np, "exceptions") else np.AxisError):
        gpix.sobel(x, axis=2)
    with pytest.raises(RuntimeError):
        gpix.correlate1d(x, [])
    with pytest.raises(RuntimeError):
        gpix.correlate1d(x, [[1.0, 2.0]])
    with pytest.raises(RuntimeError):
        gpix.uniform_filter1d(x, 0)
    with pytest.raises(RuntimeError):
        gpix.sobel(x, mode=("wrap",))


def test_edge_filters_cast_once_on_every_path(rng):
    # Integer outputs get the true value rounded and clipped once, whether
    # the filter runs as one correlation or as passes (mode pairs, constant
    # borders); in place gives the true result too.
    x = np.uint8([[0, 9, 0], [9, 0, 9], [0, 9, 0]]) * 20
    true = ndi.laplace(x.astype(np.float64))
    for mode in ["reflect", ("reflect", "nearest")]:
        o = np.zeros_like(x)
        want = np.clip(ndi.laplace(x.astype(np.float64), mode=mode), 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(gpix.laplace(x, output=o, mode=mode), want)
    assert np.abs(true).max() > 255
    y = np.uint8([[50, 0, 0], [0, 50, 0], [0, 0, 0]])
    for mode in ["reflect", ("reflect", "nearest"), "constant"]:
        want = np.clip(ndi.sobel(y.astype(np.float64), 0, mode=mode), 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(gpix.sobel(y, 0, output=np.zeros_like(y), mode=mode), want)
    for mode in ["reflect", ("wrap", "nearest")]:
        a = np.arange(12.0).reshape(3, 4) ** 2
        want = ndi.laplace(a.copy(), mode=mode)
        assert gpix.laplace(a, output=a, mode=mode) is a
        assert_close(a, want)
