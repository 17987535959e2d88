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
