"""gpix.gradient and gpix.hessian against numpy.gradient."""

from itertools import combinations_with_replacement

import numpy as np
import pytest

import gpix
from conftest import assert_close


@pytest.mark.parametrize("shape", [(2, 2), (3, 7), (31, 40)])
@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_is_numpys_bit_for_bit(rng, shape, edge_order):
    if min(shape) < edge_order + 1:
        pytest.skip("too small for this edge order")
    f = rng.standard_normal(shape)
    for spacing in [(), (0.5,), (2.0, 0.25)]:
        got = gpix.gradient(f, *spacing, edge_order=edge_order, device="cpu")
        want = np.gradient(f, *spacing, edge_order=edge_order)
        assert len(got) == 2
        for g, w in zip(got, want):
            assert np.array_equal(g, w)


def test_gradient_on_the_gpu(rng):
    from conftest import gpu_or_skip

    gpu_or_skip()
    f = rng.standard_normal((33, 47))
    for g, w in zip(gpix.gradient(f, 1.0, 2.0, device="gpu"), np.gradient(f, 1.0, 2.0)):
        assert_close(g, w, "gpu")


def test_gradient_axes_and_shapes(rng):
    f = rng.standard_normal((6, 5, 4))
    for axis in [0, 1, 2, (1, 2), (0, 1), -1]:
        got = gpix.gradient(f, axis=axis)
        want = np.gradient(f, axis=axis)
        if isinstance(axis, tuple):
            for g, w in zip(got, want):
                assert np.array_equal(g, w)
        else:
            assert np.array_equal(got, want)
    # The default: rows and columns of an (H, W, C) stack.
    for g, w in zip(gpix.gradient(f), np.gradient(f, axis=(0, 1))):
        assert np.array_equal(g, w)
    one = rng.standard_normal(20)
    assert np.array_equal(gpix.gradient(one), np.gradient(one))
    assert np.array_equal(gpix.gradient(one, edge_order=2), np.gradient(one, edge_order=2))
    thin = rng.standard_normal((9, 1))
    assert np.array_equal(gpix.gradient(thin, axis=0), np.gradient(thin, axis=0))
    ints = rng.integers(0, 100, (5, 6))
    got = gpix.gradient(ints)
    assert got[0].dtype == np.float64
    assert np.array_equal(got[1], np.gradient(ints)[1])
    with pytest.raises(ValueError):
        gpix.gradient(np.zeros((1, 5)))
    with pytest.raises(NotImplementedError):
        gpix.gradient(f, np.arange(6.0), np.arange(5.0))


def test_gradient_out(rng):
    f = rng.standard_normal((10, 12)).astype(np.float32)
    dy, dx = np.empty_like(f), np.empty_like(f)
    got = gpix.gradient(f, out=(dy, dx))
    assert got[0] is dy and got[1] is dx
    want = np.gradient(f)
    assert_close(dy, want[0])
    assert_close(dx, want[1])


def skimage_terms(f, spacing=(1.0, 1.0)):
    g = np.gradient(f, *spacing)
    return [np.gradient(g[a], spacing[b], axis=b) for a, b in combinations_with_replacement(range(2), 2)]


def test_hessian_is_gradient_twice(rng, device):
    f = rng.standard_normal((25, 30))
    got = gpix.hessian(f, device=device)
    for g, w in zip(got, skimage_terms(f)):
        assert_close(g, w, device)
    got = gpix.hessian(f, 0.5, 2.0, device=device)
    for g, w in zip(got, skimage_terms(f, (0.5, 2.0))):
        assert_close(g, w, device)
    l1, l2 = gpix.hessian_eigvals(f, device=device)
    dyy, dxy, dxx = skimage_terms(f)
    m = np.stack([np.stack([dyy, dxy], -1), np.stack([dxy, dxx], -1)], -2)
    ev = np.linalg.eigvalsh(m)
    assert_close(l1, ev[..., 1], device)
    assert_close(l2, ev[..., 0], device)


def test_hessian_compact_stencil(rng):
    f = rng.standard_normal((12, 14))
    dyy, dxy, dxx = gpix.hessian(f, stencil="compact")
    inner = (slice(1, -1), slice(1, -1))
    assert_close(dyy[inner], (f[2:, 1:-1] - 2 * f[1:-1, 1:-1] + f[:-2, 1:-1]))
    assert_close(dxx[inner], (f[1:-1, 2:] - 2 * f[1:-1, 1:-1] + f[1:-1, :-2]))
    assert_close(dxy[inner], (f[2:, 2:] - f[2:, :-2] - f[:-2, 2:] + f[:-2, :-2]) / 4)
    assert np.all(dyy[0] == 0) and np.all(dxx[:, -1] == 0)
