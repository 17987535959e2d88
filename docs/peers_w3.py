"""Time the fastest W3 peers (../shared/peers/w3_box.py: OpenCV, preallocated
outputs) on this machine, to compare with `gpix bench filter` run in the same
sitting.

    python3 -m venv /tmp/pv && /tmp/pv/bin/pip install numpy opencv-python-headless scipy numba
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /tmp/pv/bin/python docs/peers_w3.py

Uses the peers' own image generator (common.smooth_float) and the same calls
as w3_box.py. Prints median ms of 5 runs after a warm-up.
"""
import time  # noqa: F401  (some scripts time one-offs)

from peers_timing import median_ms  # noqa: E402  (also puts ../shared/peers on the path)


import cv2  # noqa: E402
import numpy as np  # noqa: E402
from common import smooth_float  # noqa: E402

cv2.setNumThreads(2)
R = cv2.BORDER_REFLECT




def main():
    x = smooth_float(5000, 5000, seed=11)
    dst = np.empty_like(x)
    sq = np.empty_like(x)
    print(f"threads: OpenCV {cv2.getNumThreads()}")
    ms = median_ms(lambda: cv2.boxFilter(x, -1, (15, 15), dst=dst, normalize=True, borderType=R))
    print(f"uniform 15x15 5000^2 f32   cv2.boxFilter, preallocated dst        {ms:8.1f} ms")

    def cv_var():
        cv2.boxFilter(x, -1, (15, 15), dst=dst, normalize=True, borderType=R)
        cv2.sqrBoxFilter(x, -1, (15, 15), dst=sq, normalize=True, borderType=R)
        sq[...] -= dst * dst
    ms = median_ms(cv_var)
    print(f"mean+var 15x15 5000^2 f32  cv2.boxFilter + sqrBoxFilter           {ms:8.1f} ms")
    del x, dst, sq
    xc = np.ascontiguousarray(np.moveaxis(smooth_float(5000, 5000, seed=12, channels=16), -1, 0))
    out = np.empty_like(xc)

    def cv_layers():
        for k in range(xc.shape[0]):
            cv2.blur(xc[k], (3, 3), dst=out[k], borderType=R)
    ms = median_ms(cv_layers, runs=3)
    print(f"3x3 on 16 layers 5000^2    cv2.blur per layer (CHW), preallocated {ms:8.1f} ms")


if __name__ == "__main__":
    main()
