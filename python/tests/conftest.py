"""Shared fixtures: a seeded generator, the devices under test, and float
tolerances. GPU cases run on any adapter (lavapipe in CI); with
REQUIRE_GPU=1 a missing adapter fails instead of skipping."""

import os

import numpy as np
import pytest

import gpix


def _has_gpu():
    return len(gpix.devices()) > 0


HAS_GPU = _has_gpu()


@pytest.fixture
def rng():
    return np.random.default_rng(int(os.environ.get("GPIX_TEST_SEED", "0")))


def gpu_or_skip():
    if HAS_GPU:
        return
    if os.environ.get("REQUIRE_GPU") == "1":
        pytest.fail("REQUIRE_GPU=1 but wgpu finds no adapter")
    pytest.skip("no GPU adapter")


@pytest.fixture(params=["cpu", "gpu"])
def device(request):
    if request.param == "gpu":
        gpu_or_skip()
    return request.param


def assert_close(got, want, device="cpu", dtype=None):
    """float64 on the CPU to 1e-10 of the largest magnitude (the issue's
    bound); float32 results and every GPU result (f32 on the device) to
    1e-5 of it."""
    dtype = dtype or got.dtype
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    tol = 1e-10 if (dtype == np.float64 and device == "cpu") else 2e-5
    err = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)))) if want.size else 0.0
    assert err <= tol * scale, f"max error {err:.3g} > {tol * scale:.3g}"
