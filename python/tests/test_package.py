"""The package as a whole: devices, errors as Python exceptions, the GIL
released while gpix works, docstring examples."""

import doctest
import threading
import time

import numpy as np
import pytest

import gpix


def test_devices_and_description():
    for d in gpix.devices():
        assert {"name", "backend", "device_type", "software"} <= set(d)
    assert gpix.describe_device("cpu").startswith("cpu")


def test_memory_limit_is_a_memory_error(monkeypatch):
    monkeypatch.setenv("GPIX_MAX_BYTES", "1000")
    with pytest.raises(MemoryError, match="GPIX_MAX_BYTES"):
        gpix.uniform_filter(np.zeros((100, 100)), 15)


def test_the_gil_is_released_while_gpix_works():
    x = np.random.default_rng(0).random((3000, 3000)).astype(np.float32)
    out = np.empty_like(x)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.0005)

    t = threading.Thread(target=count)
    t.start()
    time.sleep(0.01)
    before = len(ticks)
    start = time.perf_counter()
    for _ in range(5):
        gpix.correlate(x, np.ones((9, 9)) / 81, output=out, method="direct", device="cpu")
    elapsed = time.perf_counter() - start
    during = len(ticks) - before
    stop.set()
    t.join()
    # Holding the GIL, the counter could not run at all during the calls.
    assert during >= min(20, elapsed / 0.0005 / 10), (during, elapsed)


def test_docstring_examples():
    result = doctest.testmod(gpix, extraglobs={"np": np, "gpix": gpix}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_imread(tmp_path):
    import pathlib

    rgb = gpix.imread(pathlib.Path(__file__).resolve().parents[2] / "assets" / "coffee.png")
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    with pytest.raises(OSError, match="missing.png"):
        gpix.imread(tmp_path / "missing.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="bad.png"):
        gpix.imread(bad)


def test_unaligned_and_fortran_order_inputs():
    import scipy.ndimage as ndi

    rng = np.random.default_rng(3)
    buf = bytearray(8 * 120 + 1)
    x = np.frombuffer(buf, np.float64, count=120, offset=1).reshape(10, 12)
    x[...] = rng.random((10, 12))
    assert not x.flags.aligned
    want = ndi.uniform_filter(np.array(x), 3)
    assert np.allclose(gpix.uniform_filter(x, 3), want, rtol=0, atol=1e-12)
    f = np.asfortranarray(np.array(x))
    assert np.allclose(gpix.uniform_filter(f, 3), want, rtol=0, atol=1e-12)
    labels = np.frombuffer(bytearray(8 * 120 + 3), np.int64, count=120, offset=3).reshape(10, 12)
    assert not labels.flags.aligned
    assert gpix.label_table(np.array(x), labels).counts.tolist() == [120]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_common_calls_equal_the_general_path(dtype):
    """2-D calls take a short path past the argument handling; they must
    give the general path's numbers bit for bit (the same image as one
    layer of a stack, which goes the general way), in place too."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((23, 31)).astype(dtype)
    stack = x[None]
    w = rng.standard_normal((3, 4))
    same = np.testing.assert_array_equal
    same(gpix.uniform_filter(x, 5, mode="wrap"), gpix.uniform_filter(stack, 5, mode="wrap", axes=(1, 2))[0])
    same(gpix.correlate(x, w), gpix.correlate(stack, w, axes=(1, 2))[0])
    same(gpix.convolve(x, w), gpix.convolve(stack, w, axes=(1, 2))[0])
    same(gpix.gaussian_filter(x, 1.5), gpix.gaussian_filter(stack, 1.5, axes=(1, 2))[0])
    for a, b in zip(gpix.local_stats(x, 4), gpix.local_stats(stack, 4, axes=(1, 2))):
        same(a, b[0])
    for a, b in zip(gpix.hessian(x, 0.5, 2.0), gpix.hessian(stack, 0.5, 2.0, axes=(1, 2))):
        same(a, b[0])
    for a, b in zip(gpix.hessian_eigvals(x), gpix.hessian_eigvals(stack, axes=(1, 2))):
        same(a, b[0])
    # The input as its own output, and outputs of another dtype.
    want = gpix.gaussian_filter(x, 2.0)
    y = x.copy()
    assert gpix.gaussian_filter(y, 2.0, output=y) is y
    same(y, want)
    y = x.copy()
    mean, var, _ = gpix.local_stats(y, 3, stats=("mean", "var"), out=(y, np.empty_like(y)))
    assert mean is y
    same(mean, gpix.local_stats(x, 3).mean)
    other = np.float64 if dtype == np.float32 else np.float32
    o = np.empty(x.shape, other)
    assert gpix.correlate(x, w, output=o) is o
    same(o, gpix.correlate(x, w).astype(other))
