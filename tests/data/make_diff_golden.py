"""Golden files for gpix's finite-difference tests, computed with numpy.

Run from the repository root:  python3 tests/data/make_diff_golden.py
Needs numpy. Writes tests/data/diff/*.npy:
  input.npy                 (7, 9, 2) float64, values in [-1, 1)
  grad_e<k>_<axis>.npy      numpy.gradient(x, 0.5, 2.0, axis=(0, 1), edge_order=k),
                            axis 'dy' or 'dx' (k = 1, 2)
  hess_e<k>_<term>.npy      numpy.gradient applied twice with the same spacing
                            and edge order: dyy = d/dy(dy), dxy = d/dx(dy),
                            dxx = d/dx(dx)
  coords_y.npy, coords_x.npy     uneven float64 sample coordinates (7 and 9 values)
  coords_x_even.npy              evenly spaced float64 coordinates (numpy's scalar branch)
  coords_y_f32.npy               uneven float32 coordinates (float32 coefficients)
  coords_x_int.npy               uneven int64 coordinates (float64 in numpy)
  gradc_e<k>_<axis>.npy          numpy.gradient(x, coords_y, coords_x, edge_order=k)
  hessc_e<k>_<term>.npy          the same applied twice
  gradc32_e<k>_<axis>.npy        float32 x with float64 coordinates (float32 results)
  gradcmix_e<k>_<axis>.npy       numpy.gradient(x, coords_y_f32, coords_x_even, ...)
  gradcint_e<k>_dx.npy           numpy.gradient(x, coords_x_int, axis=1, ...)
  input_f16.npy                  x as float16
  grad16_e<k>_<axis>.npy         numpy.gradient(input_f16, 0.5, 2.0, axis=(0, 1)): float16,
                                 computed by numpy in float16 (gpix computes in float32)
"""
import numpy as np

OUT = "tests/data/diff"


def main():
    rng = np.random.default_rng(3)
    x = rng.random((7, 9, 2)) * 2 - 1
    np.save(f"{OUT}/input.npy", x)
    for k in (1, 2):
        dy, dx = np.gradient(x, 0.5, 2.0, axis=(0, 1), edge_order=k)
        np.save(f"{OUT}/grad_e{k}_dy.npy", dy)
        np.save(f"{OUT}/grad_e{k}_dx.npy", dx)
        dyy, dxy = np.gradient(dy, 0.5, 2.0, axis=(0, 1), edge_order=k)
        dxx = np.gradient(dx, 2.0, axis=1, edge_order=k)
        np.save(f"{OUT}/hess_e{k}_dyy.npy", dyy)
        np.save(f"{OUT}/hess_e{k}_dxy.npy", dxy)
        np.save(f"{OUT}/hess_e{k}_dxx.npy", dxx)
    coordinates(rng, x)
    x16 = x.astype(np.float16)
    np.save(f"{OUT}/input_f16.npy", x16)
    for k in (1, 2):
        dy, dx = np.gradient(x16, 0.5, 2.0, axis=(0, 1), edge_order=k)
        assert dy.dtype == np.float16
        np.save(f"{OUT}/grad16_e{k}_dy.npy", dy)
        np.save(f"{OUT}/grad16_e{k}_dx.npy", dx)


def coordinates(rng, x):
    cy = np.cumsum(rng.random(7) + 0.1) - 2.0
    cx = np.cumsum(rng.random(9) * 3 + 0.05)
    even = np.arange(9) * 0.25 + 1.0
    cy32 = (np.cumsum(rng.random(7) + 0.1)).astype(np.float32)
    cxi = np.cumsum(rng.integers(1, 5, 9)).astype(np.int64)
    for name, c in [("coords_y", cy), ("coords_x", cx), ("coords_x_even", even),
                    ("coords_y_f32", cy32), ("coords_x_int", cxi)]:
        np.save(f"{OUT}/{name}.npy", c)
    for k in (1, 2):
        dy, dx = np.gradient(x, cy, cx, axis=(0, 1), edge_order=k)
        np.save(f"{OUT}/gradc_e{k}_dy.npy", dy)
        np.save(f"{OUT}/gradc_e{k}_dx.npy", dx)
        dyy, dxy = np.gradient(dy, cy, cx, axis=(0, 1), edge_order=k)
        dxx = np.gradient(dx, cx, axis=1, edge_order=k)
        np.save(f"{OUT}/hessc_e{k}_dyy.npy", dyy)
        np.save(f"{OUT}/hessc_e{k}_dxy.npy", dxy)
        np.save(f"{OUT}/hessc_e{k}_dxx.npy", dxx)
        dy, dx = np.gradient(x.astype(np.float32), cy, cx, axis=(0, 1), edge_order=k)
        np.save(f"{OUT}/gradc32_e{k}_dy.npy", dy)
        np.save(f"{OUT}/gradc32_e{k}_dx.npy", dx)
        dy, dx = np.gradient(x, cy32, even, axis=(0, 1), edge_order=k)
        np.save(f"{OUT}/gradcmix_e{k}_dy.npy", dy)
        np.save(f"{OUT}/gradcmix_e{k}_dx.npy", dx)
        np.save(f"{OUT}/gradcint_e{k}_dx.npy", np.gradient(x, cxi, axis=1, edge_order=k))


if __name__ == "__main__":
    main()
