"""Golden files for gpix's finite-difference tests, computed with numpy.

Run from the repository root:  python3 tests/data/make_diff_golden.py
Needs numpy. Writes tests/data/diff/*.npy:
  input.npy                 (7, 9, 2) float64, values in [-1, 1)
  grad_e<k>_<axis>.npy      numpy.gradient(x, 0.5, 2.0, axis=(0, 1), edge_order=k),
                            axis 'dy' or 'dx' (k = 1, 2)
  hess_e<k>_<term>.npy      numpy.gradient applied twice with the same spacing
                            and edge order: dyy = d/dy(dy), dxy = d/dx(dy),
                            dxx = d/dx(dx)
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


if __name__ == "__main__":
    main()
