"""Time the fastest W4 peers (../shared/peers/w4_conv.py: OpenCV with
preallocated outputs) on this machine, to compare with `gpix bench filter`
run in the same sitting.

    python3 -m venv /tmp/pv && /tmp/pv/bin/pip install numpy opencv-python-headless scikit-image
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /tmp/pv/bin/python docs/peers_w4.py

The peers' image generator (common.smooth_float) and kernels: the real part
of skimage's gabor_kernel(0.15, theta=pi/2, sigma 5), n_stds 1.4 (15x15) and 3
(31x31), with cv2.filter2D (direct) and cv2.sepFilter2D (given the rank-1
factors by hand); and random full-rank 15x15 / 31x31 kernels with
cv2.filter2D. Median ms of 5 runs after a warm-up.
"""
import time  # noqa: F401  (some scripts time one-offs)

from peers_timing import median_ms  # noqa: E402  (also puts ../shared/peers on the path)


import cv2  # noqa: E402
import numpy as np  # noqa: E402
from skimage.filters import gabor_kernel  # noqa: E402
from common import smooth_float  # noqa: E402

cv2.setNumThreads(2)
R = cv2.BORDER_REFLECT




def main():
    x = smooth_float(5000, 5000, seed=21)
    dst = np.empty_like(x)
    print(f"threads: OpenCV {cv2.getNumThreads()}")
    for n_stds, tag in [(1.4, "15x15"), (3, "31x31")]:
        k = np.real(gabor_kernel(0.15, theta=np.pi / 2, sigma_x=5, sigma_y=5, n_stds=n_stds)).astype(np.float32)
        u, s, vt = np.linalg.svd(k.astype(np.float64))
        ky = (u[:, 0] * np.sqrt(s[0])).astype(np.float32)
        kx = (vt[0] * np.sqrt(s[0])).astype(np.float32)
        ms = median_ms(lambda: cv2.filter2D(x, -1, k, dst=dst, borderType=R))
        print(f"gabor {tag}   cv2.filter2D, preallocated dst           {ms:8.1f} ms")
        ms = median_ms(lambda: cv2.sepFilter2D(x, -1, kx, ky, dst=dst, borderType=R))
        print(f"gabor {tag}   cv2.sepFilter2D (hand-made factors)      {ms:8.1f} ms")
        r = (np.random.default_rng(21).random(k.shape) - 0.5).astype(np.float32)
        ms = median_ms(lambda: cv2.filter2D(x, -1, r, dst=dst, borderType=R))
        print(f"random {tag}  cv2.filter2D, preallocated dst           {ms:8.1f} ms")


if __name__ == "__main__":
    main()
