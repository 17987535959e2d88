"""Time the W5 peers (../shared/peers/w5_diff.py) on this machine, to compare
with `gpix bench diff` run in the same sitting.

    python3 -m venv /tmp/pv && /tmp/pv/bin/pip install numpy numba scikit-image
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /tmp/pv/bin/python docs/peers_w5.py

The peers' field (common.smooth_float, float64 5000x5000) and their kernels,
imported: numpy.gradient, numpy.gradient twice, and the numba fused loops
(interior only) with preallocated outputs. Median ms of 5 runs after a warm-up.
"""
import time  # noqa: F401  (some scripts time one-offs)

from peers_timing import median_ms  # noqa: E402  (also puts ../shared/peers on the path)


import numpy as np  # noqa: E402
import w5_diff as w5  # noqa: E402
from common import smooth_float  # noqa: E402




def main():
    x = smooth_float(5000, 5000, seed=31).astype(np.float64)
    g = [np.ones((x.shape[0] - 2, x.shape[1] - 2)) for _ in range(3)]
    print(f"threads: numba {w5.NB_THR}")
    print(f"gradient  np.gradient(x)                              {median_ms(lambda: np.gradient(x)):8.1f} ms")
    print(f"gradient  numba fused, preallocated (interior)        {median_ms(lambda: w5.nb_grad_into(x, g[0], g[1])):8.1f} ms")
    print(f"hessian   np.gradient twice                           {median_ms(lambda: w5.gradient_hessian(x), runs=3):8.1f} ms")
    print(f"hessian   numba fused compact, preallocated           {median_ms(lambda: w5.nb_hessian_into(x, g[0], g[1], g[2])):8.1f} ms")


if __name__ == "__main__":
    main()
