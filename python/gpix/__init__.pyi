import os
from typing import Literal, NamedTuple, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

Device = Optional[Literal["auto", "gpu", "cpu"]]
Mode = Union[
    Literal["reflect", "mirror", "nearest", "wrap", "constant", "grid-mirror", "grid-wrap", "grid-constant"],
    Sequence[str],
]
Output = Union[None, np.ndarray, npt.DTypeLike]
Method = Literal["auto", "direct", "separable", "fft"]

__version__: str

class LocalStats(NamedTuple):
    mean: Optional[np.ndarray]
    var: Optional[np.ndarray]
    std: Optional[np.ndarray]

class LabelTable(NamedTuple):
    labels: np.ndarray
    counts: np.ndarray
    sums: np.ndarray
    means: np.ndarray

def uniform_filter(
    input: npt.ArrayLike,
    size: Union[int, Sequence[int]] = 3,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def minimum_filter(
    input: npt.ArrayLike,
    size: Optional[Union[int, Sequence[int]]] = None,
    footprint: Optional[npt.ArrayLike] = None,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def grey_erosion(
    input: npt.ArrayLike,
    size: Optional[Union[int, Sequence[int]]] = None,
    footprint: Optional[npt.ArrayLike] = None,
    structure: Optional[npt.ArrayLike] = None,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def grey_dilation(
    input: npt.ArrayLike,
    size: Optional[Union[int, Sequence[int]]] = None,
    footprint: Optional[npt.ArrayLike] = None,
    structure: Optional[npt.ArrayLike] = None,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def grey_opening(
    input: npt.ArrayLike,
    size: Optional[Union[int, Sequence[int]]] = None,
    footprint: Optional[npt.ArrayLike] = None,
    structure: Optional[npt.ArrayLike] = None,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def grey_closing(
    input: npt.ArrayLike,
    size: Optional[Union[int, Sequence[int]]] = None,
    footprint: Optional[npt.ArrayLike] = None,
    structure: Optional[npt.ArrayLike] = None,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def morphological_gradient(
    input: npt.ArrayLike,
    size: Optional[Union[int, Sequence[int]]] = None,
    footprint: Optional[npt.ArrayLike] = None,
    structure: Optional[npt.ArrayLike] = None,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def white_tophat(
    input: npt.ArrayLike,
    size: Optional[Union[int, Sequence[int]]] = None,
    footprint: Optional[npt.ArrayLike] = None,
    structure: Optional[npt.ArrayLike] = None,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def black_tophat(
    input: npt.ArrayLike,
    size: Optional[Union[int, Sequence[int]]] = None,
    footprint: Optional[npt.ArrayLike] = None,
    structure: Optional[npt.ArrayLike] = None,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def binary_erosion(
    input: npt.ArrayLike,
    structure: Optional[npt.ArrayLike] = None,
    iterations: int = 1,
    mask: Optional[npt.ArrayLike] = None,
    output: Optional[np.ndarray] = None,
    border_value: int = 0,
    origin: Union[int, Sequence[int]] = 0,
    brute_force: bool = False,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def binary_dilation(
    input: npt.ArrayLike,
    structure: Optional[npt.ArrayLike] = None,
    iterations: int = 1,
    mask: Optional[npt.ArrayLike] = None,
    output: Optional[np.ndarray] = None,
    border_value: int = 0,
    origin: Union[int, Sequence[int]] = 0,
    brute_force: bool = False,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def binary_opening(
    input: npt.ArrayLike,
    structure: Optional[npt.ArrayLike] = None,
    iterations: int = 1,
    output: Optional[np.ndarray] = None,
    origin: Union[int, Sequence[int]] = 0,
    mask: Optional[npt.ArrayLike] = None,
    border_value: int = 0,
    brute_force: bool = False,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def binary_closing(
    input: npt.ArrayLike,
    structure: Optional[npt.ArrayLike] = None,
    iterations: int = 1,
    output: Optional[np.ndarray] = None,
    origin: Union[int, Sequence[int]] = 0,
    mask: Optional[npt.ArrayLike] = None,
    border_value: int = 0,
    brute_force: bool = False,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def maximum_filter(
    input: npt.ArrayLike,
    size: Optional[Union[int, Sequence[int]]] = None,
    footprint: Optional[npt.ArrayLike] = None,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def rank_filter(
    input: npt.ArrayLike,
    rank: int,
    size: Optional[Union[int, Sequence[int]]] = None,
    footprint: Optional[npt.ArrayLike] = None,
    output: Output = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def median_filter(
    input: npt.ArrayLike,
    size: Optional[Union[int, Sequence[int]]] = None,
    footprint: Optional[npt.ArrayLike] = None,
    output: Output = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def percentile_filter(
    input: npt.ArrayLike,
    percentile: float,
    size: Optional[Union[int, Sequence[int]]] = None,
    footprint: Optional[npt.ArrayLike] = None,
    output: Output = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def local_stats(
    input: npt.ArrayLike,
    size: Union[int, Sequence[int]] = 3,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    stats: Union[str, Sequence[str]] = ("mean", "var", "std"),
    out: Optional[Sequence[np.ndarray]] = None,
    device: Device = None,
) -> LocalStats: ...
def correlate(
    input: npt.ArrayLike,
    weights: npt.ArrayLike,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
    method: Method = "auto",
) -> np.ndarray: ...
def convolve(
    input: npt.ArrayLike,
    weights: npt.ArrayLike,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: Union[int, Sequence[int]] = 0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
    method: Method = "auto",
) -> np.ndarray: ...
def gaussian_filter(
    input: npt.ArrayLike,
    sigma: Union[float, Sequence[float]],
    order: Union[int, Sequence[int]] = 0,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    *,
    radius: Optional[Union[int, Sequence[int]]] = None,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def correlate1d(
    input: npt.ArrayLike,
    weights: npt.ArrayLike,
    axis: int = -1,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: int = 0,
    *,
    device: Device = None,
) -> np.ndarray: ...
def convolve1d(
    input: npt.ArrayLike,
    weights: npt.ArrayLike,
    axis: int = -1,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: int = 0,
    *,
    device: Device = None,
) -> np.ndarray: ...
def minimum_filter1d(
    input: npt.ArrayLike,
    size: int,
    axis: int = -1,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: int = 0,
    *,
    device: Device = None,
) -> np.ndarray: ...
def maximum_filter1d(
    input: npt.ArrayLike,
    size: int,
    axis: int = -1,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: int = 0,
    *,
    device: Device = None,
) -> np.ndarray: ...
def uniform_filter1d(
    input: npt.ArrayLike,
    size: int,
    axis: int = -1,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    origin: int = 0,
    *,
    device: Device = None,
) -> np.ndarray: ...
def gaussian_filter1d(
    input: npt.ArrayLike,
    sigma: float,
    axis: int = -1,
    order: int = 0,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    *,
    radius: Optional[int] = None,
    device: Device = None,
) -> np.ndarray: ...
def sobel(
    input: npt.ArrayLike,
    axis: int = -1,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    *,
    device: Device = None,
) -> np.ndarray: ...
def prewitt(
    input: npt.ArrayLike,
    axis: int = -1,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    *,
    device: Device = None,
) -> np.ndarray: ...
def laplace(
    input: npt.ArrayLike,
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
) -> np.ndarray: ...
def gaussian_laplace(
    input: npt.ArrayLike,
    sigma: Union[float, Sequence[float]],
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
    truncate: float = 4.0,
    radius: Optional[Union[int, Sequence[int]]] = None,
) -> np.ndarray: ...
def gaussian_gradient_magnitude(
    input: npt.ArrayLike,
    sigma: Union[float, Sequence[float]],
    output: Output = None,
    mode: Mode = "reflect",
    cval: float = 0.0,
    *,
    axes: Optional[Union[int, Sequence[int]]] = None,
    device: Device = None,
    truncate: float = 4.0,
    radius: Optional[Union[int, Sequence[int]]] = None,
) -> np.ndarray: ...
def gabor_kernel(
    frequency: float,
    theta: float = 0,
    bandwidth: float = 1,
    sigma_x: Optional[float] = None,
    sigma_y: Optional[float] = None,
    n_stds: float = 3,
    offset: float = 0,
    dtype: npt.DTypeLike = ...,
) -> np.ndarray: ...
def gabor(
    image: npt.ArrayLike,
    frequency: float,
    theta: float = 0,
    bandwidth: float = 1,
    sigma_x: Optional[float] = None,
    sigma_y: Optional[float] = None,
    n_stds: float = 3,
    offset: float = 0,
    mode: Mode = "reflect",
    cval: float = 0,
    *,
    out: Optional[Tuple[np.ndarray, np.ndarray]] = None,
    device: Device = None,
    method: Method = "auto",
) -> Tuple[np.ndarray, np.ndarray]: ...
@overload
def gradient(
    f: npt.ArrayLike, *varargs: float, axis: int, edge_order: int = 1, out: Optional[np.ndarray] = None, device: Device = None
) -> np.ndarray: ...
@overload
def gradient(
    f: npt.ArrayLike,
    *varargs: float,
    axis: Optional[Sequence[int]] = None,
    edge_order: int = 1,
    out: Optional[Sequence[np.ndarray]] = None,
    device: Device = None,
) -> Union[np.ndarray, Tuple[np.ndarray, ...]]: ...
def hessian(
    f: npt.ArrayLike,
    *varargs: float,
    edge_order: int = 1,
    stencil: Literal["gradient", "compact"] = "gradient",
    axes: Sequence[int] = (0, 1),
    out: Optional[Sequence[np.ndarray]] = None,
    device: Device = None,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def hessian_eigvals(
    f: npt.ArrayLike,
    *varargs: float,
    edge_order: int = 1,
    stencil: Literal["gradient", "compact"] = "gradient",
    axes: Sequence[int] = (0, 1),
    out: Optional[Sequence[np.ndarray]] = None,
    device: Device = None,
) -> Tuple[np.ndarray, np.ndarray]: ...
def label_mean(image: npt.ArrayLike, labels: npt.ArrayLike, output: Output = None, *, device: Device = None) -> np.ndarray: ...
def label_table(image: npt.ArrayLike, labels: npt.ArrayLike, *, device: Device = None) -> LabelTable: ...
def nearest_palette(
    image: npt.ArrayLike,
    palette: npt.ArrayLike,
    output: Optional[np.ndarray] = None,
    *,
    device: Device = None,
    dither: Literal["none", "floyd-steinberg", "ordered"] = "none",
    dither_strength: float = 1.0,
) -> np.ndarray: ...
def quantize(
    image: npt.ArrayLike,
    colors: int = 256,
    method: Literal["refined", "median-cut", "kmeans"] = "refined",
    seed: int = 0,
    *,
    palette: Optional[npt.ArrayLike] = None,
    max_iter: int = 50,
    weights: Optional[Literal["distinct", "pixels"]] = None,
    dither: Literal["none", "floyd-steinberg", "ordered"] = "none",
    dither_strength: float = 1.0,
    output: Optional[np.ndarray] = None,
    device: Device = None,
) -> Tuple[np.ndarray, np.ndarray]: ...
def devices() -> list[dict]: ...
def describe_device(device: Device = "auto") -> str: ...
def imread(path: Union[str, "os.PathLike[str]"]) -> np.ndarray: ...
def colour_counts(image: npt.ArrayLike) -> Tuple[np.ndarray, np.ndarray]: ...
def median_cut(
    colors: npt.ArrayLike,
    counts: npt.ArrayLike,
    colors_wanted: int = 256,
    method: Literal["median-cut", "refined"] = "median-cut",
    weights: Literal["distinct", "pixels"] = "distinct",
) -> np.ndarray: ...
