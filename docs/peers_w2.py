"""Time the W2 label-mean peers (../shared/peers/w2_labelmean.py) on this
machine, to compare with `gpix bench label-mean` run in the same sitting.

    python3 -m venv /tmp/pv && /tmp/pv/bin/pip install numpy numba scipy scikit-image
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /tmp/pv/bin/python docs/peers_w2.py

Uses the peers' own image and label generators and kernels (imported, not
copied): float32 RGB, Voronoi labels of M random seeds stored as int64.
Prints median ms of 5 runs after a warm-up.
"""
import time  # noqa: F401  (some scripts time one-offs)

from peers_timing import median_ms  # noqa: E402  (also puts ../shared/peers on the path)


import w2_labelmean as w2  # noqa: E402
from common import smooth_float  # noqa: E402




def main():
    print(f"threads: numba {w2.NB_THR}")
    for h, w, m in [(1000, 1000, 1000), (4000, 4000, 10000)]:
        img = smooth_float(h, w, seed=7, channels=3)
        lab = w2.voronoi_labels(h, w, m)
        case = f"{h}x{w}x3 f32 M={m}"
        print(f"{case:<26} numba parallel accumulate + gather {median_ms(lambda: w2.nb_label_mean(img, lab, m)):9.1f} ms")
        print(f"{case:<26} np.bincount per channel + gather   {median_ms(lambda: w2.bincount_mean(img, lab, m)):9.1f} ms")


if __name__ == "__main__":
    main()
