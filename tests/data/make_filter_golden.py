"""Golden files for gpix's filter tests, computed with scipy.ndimage and
skimage in float64.

Run from the repository root:  python3 tests/data/make_filter_golden.py
Needs numpy, scipy and scikit-image. Writes tests/data/filter/*.npy:
  input.npy            (9, 11, 2) float64 input, values in [-1, 1)
  uniform_<mode>_<ny>x<nx>.npy      scipy.ndimage.uniform_filter, size=(ny, nx, 1)
  correlate_<mode>_<k>.npy / convolve_<mode>_<k>.npy   scipy.ndimage.correlate /
      convolve with weights kernel_<k>.npy (2-D, applied per channel as
      weights[:, :, None])
  gaussian_<mode>.npy  scipy.ndimage.gaussian_filter, sigma=(1.5, 0.8, 0), truncate=3
  gabor_real.npy / gabor_imag.npy   skimage.filters.gabor on channel 0,
      frequency 0.2, theta 0.6, sigma_x 1.5, sigma_y 2.5 (mode reflect)
  gabor_bandwidth_real.npy   the same, frequency 0.25, theta 0.3, bandwidth 1.4
  gabor_f0_real.npy    the same, frequency 0, sigma_x 1.5, sigma_y 2.5
  var_<mode>.npy       uniform_filter(x*x) - uniform_filter(x)**2, size (5, 4)
  gaussian_order<oy><ox>_<mode>.npy   gaussian_filter, sigma=(1.5, 0.8, 0),
      order=(oy, ox, 0), truncate=3
  gaussian_radius_<mode>.npy   gaussian_filter, sigma=(1.5, 0.8, 0), order=(1, 0, 0),
      radius=(2, 5, 0)
  laplace_<mode>.npy / gradmag_<mode>.npy   gaussian_laplace /
      gaussian_gradient_magnitude per channel (2-D), sigma=(1.5, 0.8), truncate=3
  dog_<mode>.npy       skimage.filters.difference_of_gaussians, low 1.0, high 2.5,
      channel_axis=-1, truncate=3
  dog_default.npy      difference_of_gaussians(x, 1.2, channel_axis=-1): high 1.6 × low,
      mode nearest, truncate 4
  uniform_size0_<mode>.npy   uniform_filter, size=(0, 4, 1): size 0 filters nothing along y
  input_f16.npy        the input's channel 0 as float16
  gabor_f16_real.npy   skimage.filters.gabor on input_f16 (float32 result, skimage's
      float16 promotion), frequency 0.2, theta 0.6, sigma_x 1.5, sigma_y 2.5
  uniform_origin_<oy>_<ox>.npy   uniform_filter, size=(5, 4, 1), origin=(oy, ox, 0), reflect
  correlate_origin_<oy>_<ox>.npy / convolve_origin_<oy>_<ox>.npy   kernel_4x6 (weights[:, :, None]),
      origin=(oy, ox, 0), mode nearest
  uniform_modes_<my>_<mx>.npy     uniform_filter, size=(5, 4, 1), mode=[my, mx, 'reflect']
  gaussian_modes_<my>_<mx>.npy    gaussian_filter, sigma=(1.5, 0.8, 0), order=(1, 2, 0), truncate=3,
      mode=[my, mx, 'reflect']
  laplace_modes_<my>_<mx>.npy     gaussian_laplace per channel, sigma=(1.5, 0.8), mode=[my, mx]
  sobel<axis>_<mode>.npy / prewitt<axis>_<mode>.npy / edge_laplace_<mode>.npy
      scipy.ndimage.sobel / prewitt (axis 0 or 1) / laplace per channel (2-D)
  sobel1_modes_<my>_<mx>.npy / edge_laplace_modes_<my>_<mx>.npy   the same with mode=[my, mx]
  minimum_<mode>.npy / maximum_<mode>.npy   minimum_filter / maximum_filter, size=(5, 4, 1)
  maximum_origin_<oy>_<ox>.npy   maximum_filter, size=(5, 4, 1), origin=(oy, ox, 0), reflect
  minimum_modes_<my>_<mx>.npy    minimum_filter, size=(5, 4, 1), mode=[my, mx, 'reflect']
  median_<mode>.npy              median_filter, size=(5, 4, 1)
  rank_m3_origin_<oy>_<ox>.npy   rank_filter, rank=-3, size=(5, 4, 1), origin=(oy, ox, 0), reflect
  percentile_<p>.npy             percentile_filter, percentile=p (30, -20), size=(3, 5, 1), nearest
  median_disk2_<mode>.npy        median_filter, footprint=disk(2) (over rows and columns)
  minimum_disk2.npy              minimum_filter, footprint=disk(2), nearest
  footprint_3x4.npy              an irregular 3x4 footprint (uint8 0/1)
  rank_m2_footprint_3x4.npy      rank_filter, rank=-2, footprint_3x4, origin=(1, -1, 0), reflect
  grey_dilation_footprint_3x4.npy   grey_dilation, footprint_3x4, origin=(1, -1, 0), reflect
  white_tophat_disk2.npy         white_tophat, footprint=disk(2), constant
  grey_closing_4x3_wrap.npy      grey_closing, size=(4, 3, 1), wrap
Constant mode uses cval = 0.5 everywhere. `python3 tests/data/make_filter_golden.py edges`
(or `extrema`, `ranks`) writes the edge (or minimum / maximum, rank) filters' files only.
"""
import numpy as np
import scipy.ndimage as ndi
from skimage.filters import difference_of_gaussians, gabor

OUT = "tests/data/filter"
MODES = ["reflect", "mirror", "nearest", "wrap", "constant"]
CVAL = 0.5
# Derivative orders (rows, columns) of the gaussian_order goldens.
ORDERS = [(1, 0), (0, 1), (2, 0), (0, 2), (1, 1), (3, 0), (2, 3)]
# Origins (rows, columns) of the origin goldens: size 5 takes -2..2, 4 takes -2..1,
# the 4x6 kernel -2..1 and -3..2 (correlate) or their flips (convolve).
ORIGINS = [(-2, 1), (2, -2), (1, 0), (-1, -1)]
# Per-axis modes (rows, columns).
MODE_PAIRS = [("reflect", "wrap"), ("constant", "nearest"), ("mirror", "constant"), ("wrap", "constant")]


def save(name, a):
    np.save(f"{OUT}/{name}.npy", np.ascontiguousarray(a))


def main():
    rng = np.random.default_rng(42)
    x = rng.random((9, 11, 2)) * 2 - 1
    save("input", x)
    kernels = {
        "3x3": rng.random((3, 3)) - 0.5,
        "4x6": rng.random((4, 6)) - 0.5,       # even sizes
        "13x2": rng.random((13, 2)) - 0.5,     # taller than the image
    }
    for k, w in kernels.items():
        save(f"kernel_{k}", w)
    for mode in MODES:
        for ny, nx in [(3, 3), (4, 2), (15, 1)]:
            save(f"uniform_{mode}_{ny}x{nx}",
                 ndi.uniform_filter(x, size=(ny, nx, 1), mode=mode, cval=CVAL))
        for k, w in kernels.items():
            save(f"correlate_{mode}_{k}", ndi.correlate(x, w[:, :, None], mode=mode, cval=CVAL))
            save(f"convolve_{mode}_{k}", ndi.convolve(x, w[:, :, None], mode=mode, cval=CVAL))
        save(f"gaussian_{mode}",
             ndi.gaussian_filter(x, sigma=(1.5, 0.8, 0), truncate=3.0, mode=mode, cval=CVAL))
        m = ndi.uniform_filter(x, size=(5, 4, 1), mode=mode, cval=CVAL)
        m2 = ndi.uniform_filter(x * x, size=(5, 4, 1), mode=mode, cval=CVAL * CVAL)
        save(f"var_{mode}", m2 - m * m)
        for oy, ox in ORDERS:
            save(f"gaussian_order{oy}{ox}_{mode}",
                 ndi.gaussian_filter(x, sigma=(1.5, 0.8, 0), order=(oy, ox, 0), truncate=3.0,
                                     mode=mode, cval=CVAL))
        save(f"gaussian_radius_{mode}",
             ndi.gaussian_filter(x, sigma=(1.5, 0.8, 0), order=(1, 0, 0), radius=(2, 5, 0),
                                 mode=mode, cval=CVAL))
        per_channel = lambda f: np.stack([f(x[:, :, c]) for c in range(x.shape[2])], axis=2)
        save(f"laplace_{mode}", per_channel(lambda a: ndi.gaussian_laplace(
            a, sigma=(1.5, 0.8), mode=mode, cval=CVAL, truncate=3.0)))
        save(f"gradmag_{mode}", per_channel(lambda a: ndi.gaussian_gradient_magnitude(
            a, sigma=(1.5, 0.8), mode=mode, cval=CVAL, truncate=3.0)))
        save(f"dog_{mode}", difference_of_gaussians(
            x, 1.0, 2.5, mode=mode, cval=CVAL, channel_axis=-1, truncate=3.0))
    save("dog_default", difference_of_gaussians(x, 1.2, channel_axis=-1))
    re, im = gabor(x[:, :, 0], frequency=0.2, theta=0.6, sigma_x=1.5, sigma_y=2.5)
    save("gabor_real", re)
    save("gabor_imag", im)
    re, _ = gabor(x[:, :, 0], frequency=0.25, theta=0.3, bandwidth=1.4)
    save("gabor_bandwidth_real", re)
    re, _ = gabor(x[:, :, 0], frequency=0, sigma_x=1.5, sigma_y=2.5)
    save("gabor_f0_real", re)
    for mode in MODES:
        save(f"uniform_size0_{mode}", ndi.uniform_filter(x, size=(0, 4, 1), mode=mode, cval=CVAL))
    x16 = x[:, :, 0].astype(np.float16)
    save("input_f16", x16)
    re, _ = gabor(x16, frequency=0.2, theta=0.6, sigma_x=1.5, sigma_y=2.5)
    assert re.dtype == np.float32
    save("gabor_f16_real", re)
    for oy, ox in ORIGINS:
        save(f"uniform_origin_{oy}_{ox}", ndi.uniform_filter(x, size=(5, 4, 1), origin=(oy, ox, 0)))
        k = np.load(f"{OUT}/kernel_4x6.npy")[:, :, None]
        if oy <= 1:  # the 4-row kernel takes -2..1 for both
            save(f"correlate_origin_{oy}_{ox}",
                 ndi.correlate(x, k, mode="nearest", origin=(oy, ox, 0)))
            save(f"convolve_origin_{oy}_{ox}", ndi.convolve(x, k, mode="nearest", origin=(oy, ox, 0)))
    for my, mx in MODE_PAIRS:
        modes = [my, mx, "reflect"]
        save(f"uniform_modes_{my}_{mx}", ndi.uniform_filter(x, size=(5, 4, 1), mode=modes, cval=CVAL))
        save(f"gaussian_modes_{my}_{mx}", ndi.gaussian_filter(
            x, sigma=(1.5, 0.8, 0), order=(1, 2, 0), truncate=3.0, mode=modes, cval=CVAL))
        save(f"laplace_modes_{my}_{mx}", np.stack([ndi.gaussian_laplace(
            x[:, :, c], sigma=(1.5, 0.8), mode=[my, mx], cval=CVAL, truncate=3.0) for c in range(2)], axis=2))


def edges():
    x = np.load(f"{OUT}/input.npy")
    per_channel = lambda f: np.stack([f(x[:, :, c]) for c in range(x.shape[2])], axis=2)  # noqa: E731
    for mode in MODES:
        for axis in (0, 1):
            save(f"sobel{axis}_{mode}", per_channel(lambda a: ndi.sobel(a, axis, mode=mode, cval=CVAL)))
            save(f"prewitt{axis}_{mode}", per_channel(lambda a: ndi.prewitt(a, axis, mode=mode, cval=CVAL)))
        save(f"edge_laplace_{mode}", per_channel(lambda a: ndi.laplace(a, mode=mode, cval=CVAL)))
    for my, mx in MODE_PAIRS:
        save(f"sobel1_modes_{my}_{mx}", per_channel(lambda a: ndi.sobel(a, 1, mode=[my, mx], cval=CVAL)))
        save(f"edge_laplace_modes_{my}_{mx}", per_channel(lambda a: ndi.laplace(a, mode=[my, mx], cval=CVAL)))


def extrema():
    x = np.load(f"{OUT}/input.npy")
    for mode in MODES:
        save(f"minimum_{mode}", ndi.minimum_filter(x, size=(5, 4, 1), mode=mode, cval=CVAL))
        save(f"maximum_{mode}", ndi.maximum_filter(x, size=(5, 4, 1), mode=mode, cval=CVAL))
    for oy, ox in ORIGINS:
        save(f"maximum_origin_{oy}_{ox}", ndi.maximum_filter(x, size=(5, 4, 1), origin=(oy, ox, 0)))
    for my, mx in MODE_PAIRS:
        save(f"minimum_modes_{my}_{mx}", ndi.minimum_filter(x, size=(5, 4, 1), mode=[my, mx, "reflect"], cval=CVAL))


def ranks():
    x = np.load(f"{OUT}/input.npy")
    for mode in MODES:
        save(f"median_{mode}", ndi.median_filter(x, size=(5, 4, 1), mode=mode, cval=CVAL))
    for oy, ox in ORIGINS:
        save(f"rank_m3_origin_{oy}_{ox}", ndi.rank_filter(x, -3, size=(5, 4, 1), origin=(oy, ox, 0)))
    for p in (30, -20):
        save(f"percentile_{p}", ndi.percentile_filter(x, p, size=(3, 5, 1), mode="nearest"))
    # Footprints: a disk of radius 2 (skimage.morphology.disk(2)) and an
    # irregular one saved as footprint_3x4.npy (the CLI reads it).
    i, j = np.mgrid[-2:3, -2:3]
    disk = (i * i + j * j <= 4)[:, :, None]
    odd = np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1]], np.uint8)
    save("footprint_3x4", odd)
    for mode in MODES:
        save(f"median_disk2_{mode}", ndi.median_filter(x, footprint=disk, mode=mode, cval=CVAL))
    save("minimum_disk2", ndi.minimum_filter(x, footprint=disk, mode="nearest"))
    save("rank_m2_footprint_3x4", ndi.rank_filter(x, -2, footprint=odd[:, :, None], origin=(1, -1, 0)))
    # Grey morphology (flat): a dilation with an odd footprint and origin, a
    # white top-hat by the disk, a closing by an even box.
    save("grey_dilation_footprint_3x4", ndi.grey_dilation(x, footprint=odd[:, :, None], origin=(1, -1, 0)))
    save("white_tophat_disk2", ndi.white_tophat(x, footprint=disk, mode="constant", cval=CVAL))
    save("grey_closing_4x3_wrap", ndi.grey_closing(x, size=(4, 3, 1), mode="wrap"))


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["edges"]:
        edges()
    elif sys.argv[1:] == ["extrema"]:
        extrema()
    elif sys.argv[1:] == ["ranks"]:
        ranks()
    else:
        main()
        edges()
        extrema()
        ranks()
