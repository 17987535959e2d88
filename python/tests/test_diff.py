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
    for g, w in zip(gpix.gradient(f, np.arange(6.0), np.arange(5.0)), np.gradient(f, np.arange(6.0), np.arange(5.0), axis=(0, 1))):
        assert np.array_equal(g, w)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_with_coordinates_is_numpys_bit_for_bit(rng, edge_order):
    f = rng.standard_normal((9, 11))
    cy = np.cumsum(rng.random(9) + 0.1)
    cx = -np.cumsum(rng.random(11) + 0.2)
    for args in [(cy, cx), (cy, 0.5), (2.0, cx), (cy.astype(np.float32), cx), (np.arange(9) ** 2, cx),
                 (np.linspace(0, 2, 9), cx)]:
        got = gpix.gradient(f, *args, edge_order=edge_order, device="cpu")
        want = np.gradient(f, *args, edge_order=edge_order)
        for g, w in zip(got, want):
            assert np.array_equal(g, w), args
    # One axis, a 1-D array, a stack, float32 data (numpy computes in float64).
    assert np.array_equal(gpix.gradient(f, cx, axis=1, edge_order=edge_order), np.gradient(f, cx, axis=1, edge_order=edge_order))
    assert np.array_equal(gpix.gradient(cy ** 2, cy, edge_order=edge_order), np.gradient(cy ** 2, cy, edge_order=edge_order))
    stack = rng.standard_normal((9, 11, 3))
    for g, w in zip(gpix.gradient(stack, cy, cx, edge_order=edge_order), np.gradient(stack, cy, cx, axis=(0, 1), edge_order=edge_order)):
        assert np.array_equal(g, w)
    f32 = f.astype(np.float32)
    for g, w in zip(gpix.gradient(f32, cy, cx, edge_order=edge_order), np.gradient(f32, cy, cx, edge_order=edge_order)):
        assert g.dtype == np.float32
        assert np.array_equal(g, w)
    # The Hessian: numpy.gradient twice with the same coordinates.
    dy, dx = np.gradient(f, cy, cx, edge_order=edge_order)
    want = [np.gradient(dy, cy, axis=0, edge_order=edge_order), np.gradient(dy, cx, axis=1, edge_order=edge_order),
            np.gradient(dx, cx, axis=1, edge_order=edge_order)]
    for g, w in zip(gpix.hessian(f, cy, cx, edge_order=edge_order, device="cpu"), want):
        assert np.array_equal(g, w)


def test_gradient_coordinates_on_the_gpu(rng):
    from conftest import gpu_or_skip

    gpu_or_skip()
    f = rng.standard_normal((33, 47))
    cy, cx = np.cumsum(rng.random(33) + 0.5), np.cumsum(rng.random(47) + 0.5)
    for g, w in zip(gpix.gradient(f, cy, cx, device="gpu"), np.gradient(f, cy, cx)):
        assert_close(g, w, "gpu")


def test_bad_coordinates(rng):
    f = rng.standard_normal((6, 5))
    with pytest.raises(ValueError, match="length"):
        gpix.gradient(f, np.arange(5.0), np.arange(5.0))
    with pytest.raises(ValueError, match="1d"):
        gpix.gradient(f, np.zeros((6, 1)), np.arange(5.0))
    with pytest.raises(ValueError, match="repeat"):
        gpix.gradient(f, np.array([0, 1, 1, 2, 3, 4.0]), 1.0)
    with pytest.raises(ValueError, match="compact"):
        gpix.hessian(f, np.arange(6.0), np.arange(5.0), stencil="compact")


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
