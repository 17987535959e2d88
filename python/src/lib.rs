//! The native half of the `gpix` Python package. The Python half
//! (`python/gpix/__init__.py`) parses scipy / numpy / skimage arguments,
//! allocates outputs and lays arrays out as the functions here take them:
//! C-contiguous, of a dtype gpix computes in, outputs preallocated. Every
//! function here releases the GIL while gpix works.

use std::sync::{Mutex, OnceLock};

use gpix::ops::median_cut::{histogram_u16, histogram_u8};
use gpix::ops::quantize::{build_colors, build_levels, PaletteMethod};
use gpix::route::Work;
use gpix::{
    Border, BoundaryMode, Coordinates, CorrelationMethod, Device, DeviceRequest, FilterValue,
    GradientOptions, GradientOut, HessianOptions, HessianOut, ImageView, Kernel, LabelValue,
    Levels, MeanElement, Palette, PaletteIndex, PaletteValue, StatsOut, Stencil,
};
use numpy::ndarray::Array2;
use numpy::{
    Element as NpElement, IntoPyArray, PyArray1, PyArray2, PyArrayDyn, PyArrayMethods,
    PyReadonlyArray2, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A gpix error as the Python exception a numpy user expects.
fn py_err(e: gpix::Error) -> PyErr {
    let msg = e.to_string();
    match e {
        gpix::Error::InvalidArgument(_) | gpix::Error::Format { .. } => PyValueError::new_err(msg),
        gpix::Error::TooLarge { .. } => PyMemoryError::new_err(msg),
        _ => PyRuntimeError::new_err(msg),
    }
}

/// The devices `auto` and `gpu` resolve to, made once per process: creating
/// a wgpu device takes tens of milliseconds, a call must not pay it.
static AUTO: OnceLock<Device> = OnceLock::new();
static GPU: OnceLock<Result<Device, String>> = OnceLock::new();

/// The device for `request` ("auto", "gpu", "cpu"); `auto` routes `work`
/// through gpix's cost model (a hardware GPU only where it finishes first).
fn pick(request: &str, work: impl FnOnce() -> Work) -> PyResult<Device> {
    let request: DeviceRequest = request.parse().map_err(py_err)?;
    match request {
        DeviceRequest::Cpu => Ok(Device::Cpu),
        DeviceRequest::Gpu => GPU
            .get_or_init(|| Device::select(DeviceRequest::Gpu).map_err(|e| e.to_string()))
            .clone()
            .map_err(PyRuntimeError::new_err),
        DeviceRequest::Auto => {
            let found =
                AUTO.get_or_init(|| Device::select(DeviceRequest::Auto).unwrap_or(Device::Cpu));
            Ok(gpix::route::route(found, &work()).0)
        }
    }
}

/// A border from the Python side's mode names: `"reflect"` for both axes
/// or `"reflect,wrap"` (y, x), and scipy's origin.
fn mode_of(mode: &str, cval: f64, origin: (isize, isize)) -> PyResult<Border> {
    let one = |m: &str| -> PyResult<BoundaryMode> {
        let m: BoundaryMode = m.parse().map_err(py_err)?;
        Ok(m.with_cval(cval))
    };
    let modes = match mode.split_once(',') {
        Some((y, x)) => [one(y)?, one(x)?],
        None => [one(mode)?; 2],
    };
    Ok(Border {
        modes,
        origin: [origin.0, origin.1],
    })
}

/// `(layers, height, width, channels)` of a 4-D array.
fn dims4(a: &Bound<'_, PyUntypedArray>) -> PyResult<[usize; 4]> {
    a.shape()
        .try_into()
        .map_err(|_| PyValueError::new_err(format!("expected a 4-D array, got {}-D", a.ndim())))
}

/// A C-contiguous array's values, borrowed read-only.
struct Input<'py, T: NpElement> {
    array: numpy::PyReadonlyArrayDyn<'py, T>,
    shape: Vec<usize>,
    what: String,
}

impl<'py, T: NpElement> Input<'py, T> {
    fn new(a: &Bound<'py, PyAny>, what: &str) -> PyResult<Self> {
        let typed = a.cast::<PyArrayDyn<T>>().map_err(|_| {
            PyTypeError::new_err(format!("{what}: expected a {} array", type_name::<T>()))
        })?;
        if !typed.is_c_contiguous() {
            return Err(PyValueError::new_err(format!(
                "{what}: the array must be C-contiguous"
            )));
        }
        let array = typed
            .try_readonly()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let shape = array.shape().to_vec();
        Ok(Self {
            array,
            shape,
            what: what.to_owned(),
        })
    }

    fn slice(&self) -> PyResult<&[T]> {
        self.array.as_slice().map_err(|_| {
            PyValueError::new_err(format!(
                "{}: the array must be C-contiguous and aligned",
                self.what
            ))
        })
    }
}

/// An output array, borrowed for writing.
struct Output<'py, T: NpElement> {
    array: numpy::PyReadwriteArrayDyn<'py, T>,
}

impl<'py, T: NpElement> Output<'py, T> {
    fn new(a: &Bound<'py, PyAny>, shape: &[usize], what: &str) -> PyResult<Self> {
        let typed = a.cast::<PyArrayDyn<T>>().map_err(|_| {
            PyTypeError::new_err(format!("{what}: expected a {} array", type_name::<T>()))
        })?;
        if !typed.is_c_contiguous() {
            return Err(PyValueError::new_err(format!(
                "{what}: the array must be C-contiguous"
            )));
        }
        if typed.shape() != shape {
            return Err(PyValueError::new_err(format!(
                "{what}: shape {:?} differs from the input's {shape:?}",
                typed.shape()
            )));
        }
        let array = typed
            .try_readwrite()
            .map_err(|e| PyValueError::new_err(format!("{what}: {e}")))?;
        Ok(Self { array })
    }

    fn optional(
        a: Option<&Bound<'py, PyAny>>,
        shape: &[usize],
        what: &str,
    ) -> PyResult<Option<Self>> {
        a.map(|a| Self::new(a, shape, what)).transpose()
    }

    fn slice(&mut self) -> PyResult<&mut [T]> {
        self.array
            .as_slice_mut()
            .map_err(|_| PyValueError::new_err("outputs must be C-contiguous and aligned"))
    }
}

fn type_name<T: NpElement>() -> &'static str {
    let t = std::any::type_name::<T>();
    match t {
        "f32" => "float32",
        "f64" => "float64",
        "u8" => "uint8",
        "u16" => "uint16",
        "u32" => "uint32",
        "i32" => "int32",
        _ => t,
    }
}

fn dtype_is<T: NpElement>(a: &Bound<'_, PyAny>) -> bool {
    a.cast::<PyArrayDyn<T>>().is_ok()
}

/// One call on a layer: its input view and its part of each output.
type LayerOp<'a, T, const N: usize> =
    dyn FnMut(ImageView<'_, T>, [Option<&mut [T]>; N]) -> gpix::Result<()> + 'a;

/// Runs `op` on every `(height, width, channels)` layer of a 4-D input with
/// the matching layer of each output (once on the empty array when there
/// are no values, so arguments are still checked).
fn per_layer<T: gpix::Element, const N: usize>(
    data: &[T],
    [layers, h, w, c]: [usize; 4],
    outs: [Option<&mut [T]>; N],
    op: &mut LayerOp<'_, T, N>,
) -> gpix::Result<()> {
    let n = h * w * c;
    if n == 0 || layers == 0 {
        // Nothing to compute; one call on an empty image still checks the
        // arguments (an empty image has rows of some channels).
        let empty = outs.map(|o| o.map(|o| &mut o[..0]));
        return op(ImageView::new(&data[..0], 0, w, c.max(1))?, empty);
    }
    let mut chunks = outs.map(|o| o.map(|o| o.chunks_exact_mut(n)));
    for layer in data.chunks_exact(n) {
        let outs = std::array::from_fn(|i| chunks[i].as_mut().and_then(Iterator::next));
        op(ImageView::new(layer, h, w, c)?, outs)?;
    }
    Ok(())
}

/// Calls with at most this many values run on the calling thread alone:
/// handing work to a pool and waiting for it costs about 20 µs, far more
/// than the work (a call from Python on a small array would pay it).
const SMALL_VALUES: usize = 1 << 14;

thread_local! {
    /// A pool of one thread, the caller itself (made once per thread): work
    /// installed in it runs inline. The caller stays this pool's worker, so
    /// large calls go to [`pool`] explicitly.
    static ON_THIS_THREAD: Option<rayon::ThreadPool> = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .use_current_thread()
        .build()
        .ok();
}

/// The pool large calls run on: one thread per core (`RAYON_NUM_THREADS`
/// sets it), made once.
fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| rayon::ThreadPoolBuilder::new().build().ok())
        .as_ref()
}

/// Runs `f` with the GIL released: small inputs on this thread only, large
/// ones on every core.
fn detach<R: Send>(py: Python<'_>, values: usize, f: impl FnOnce() -> R + Send) -> R {
    py.detach(|| {
        if values <= SMALL_VALUES {
            ON_THIS_THREAD.with(|local| match local {
                Some(local) => local.install(f),
                None => f(),
            })
        } else {
            match pool() {
                Some(pool) => pool.install(f),
                None => f(),
            }
        }
    })
}

/// Dispatches a float op on the input's dtype (float32 or float64).
macro_rules! on_float {
    ($x:expr, $f:ident ( $($arg:expr),* )) => {
        if dtype_is::<f32>($x) {
            $f::<f32>($($arg),*)
        } else if dtype_is::<f64>($x) {
            $f::<f64>($($arg),*)
        } else {
            Err(PyTypeError::new_err("expected a float32 or float64 array"))
        }
    };
}

/// Dispatches an op whose results are inputs (the extremum and rank
/// filters) on the input's dtype: uint8, uint16, int16 as they are, else
/// as `on_float!`.
macro_rules! on_kept {
    ($x:expr, $f:ident ( $($arg:expr),* )) => {
        if dtype_is::<u8>($x) {
            $f::<u8>($($arg),*)
        } else if dtype_is::<u16>($x) {
            $f::<u16>($($arg),*)
        } else if dtype_is::<i16>($x) {
            $f::<i16>($($arg),*)
        } else {
            on_float!($x, $f($($arg),*))
        }
    };
}

fn values_of(shape: &[usize]) -> u64 {
    shape.iter().product::<usize>() as u64
}

/// The shared body of a one-output filter binding: `x` and `out` as 4-D
/// arrays of `T`, the device picked (`work(values, value bytes)` for
/// `auto`), `op(device, layer, out layer)` on every layer with the GIL
/// released.
fn one_output<T: gpix::Element + NpElement>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    device: &str,
    work: impl FnOnce(u64, u64) -> Work,
    op: impl Fn(&Device, ImageView<'_, T>, &mut [T]) -> gpix::Result<()> + Send + Sync,
) -> PyResult<()> {
    let input = Input::<T>::new(x, "input")?;
    let dims = dims4(input.array.as_untyped())?;
    let mut output = Output::<T>::new(out, &input.shape, "output")?;
    let device = pick(device, || {
        work(values_of(&input.shape), size_of::<T>() as u64)
    })?;
    let (data, out) = (input.slice()?, output.slice()?);
    detach(py, data.len(), || {
        per_layer(data, dims, [Some(out)], &mut |v, [o]| {
            op(&device, v, o.expect("output"))
        })
    })
    .map_err(py_err)
}

#[allow(clippy::too_many_arguments)]
fn extremum_t<T: gpix::ExtremumValue + NpElement>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    kind: gpix::Extremum,
    window: &gpix::Footprint,
    mode: Border,
    device: &str,
) -> PyResult<()> {
    let work = |values, bytes| Work::extremum_footprint(kind.name(), values, bytes, window);
    one_output::<T>(py, x, out, device, work, |device, v, o| {
        gpix::extremum_filter_into(device, v, kind, window, mode, o).map(drop)
    })
}

/// The window of a size and optional flags (row by row).
fn window_of(size: (usize, usize), footprint: Option<Vec<bool>>) -> PyResult<gpix::Footprint> {
    match footprint {
        None => Ok(gpix::Footprint::rectangle([size.0, size.1])),
        Some(flags) => gpix::Footprint::from_mask(flags, size.0, size.1).map_err(py_err),
    }
}

/// extremum_filter(x, out, maximum, size, mode, cval, device, origin=(0, 0),
/// footprint=None): scipy's minimum_filter (maximum false) or
/// maximum_filter; x and out 4-D (layers, height, width, channels) of one
/// dtype: uint8, uint16, int16, float32 or float64; mode one name or "y,x"
/// (one name with a footprint); footprint the size[0] × size[1] window's
/// flags row by row (None: all of it).
#[pyfunction]
#[pyo3(signature = (x, out, maximum, size, mode, cval, device, origin=(0, 0), footprint=None))]
#[allow(clippy::too_many_arguments)]
fn extremum_filter(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    maximum: bool,
    size: (usize, usize),
    mode: &str,
    cval: f64,
    device: &str,
    origin: (isize, isize),
    footprint: Option<Vec<bool>>,
) -> PyResult<()> {
    let mode = mode_of(mode, cval, origin)?;
    let kind = if maximum {
        gpix::Extremum::Maximum
    } else {
        gpix::Extremum::Minimum
    };
    let window = window_of(size, footprint)?;
    on_kept!(x, extremum_t(py, x, out, kind, &window, mode, device))
}

#[allow(clippy::too_many_arguments)]
fn rank_t<T: gpix::RankValue + NpElement>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    rank: gpix::Rank,
    window: &gpix::Footprint,
    mode: Border,
    device: &str,
) -> PyResult<()> {
    let work = |values, bytes| Work::rank_footprint(values, bytes, window);
    one_output::<T>(py, x, out, device, work, |device, v, o| {
        gpix::rank_filter_into(device, v, rank, window, mode, o).map(drop)
    })
}

/// rank_filter(x, out, rank, size, mode, cval, device, origin=(0, 0),
/// footprint=None): scipy's rank_filter with a 0-based rank (negative: from
/// the largest); x and out 4-D (layers, height, width, channels) of one
/// dtype: uint8, uint16, int16, float32 or float64; one mode; footprint the
/// size[0] × size[1] window's flags row by row (None: all of it).
#[pyfunction]
#[pyo3(signature = (x, out, rank, size, mode, cval, device, origin=(0, 0), footprint=None))]
#[allow(clippy::too_many_arguments)]
fn rank_filter(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    rank: isize,
    size: (usize, usize),
    mode: &str,
    cval: f64,
    device: &str,
    origin: (isize, isize),
    footprint: Option<Vec<bool>>,
) -> PyResult<()> {
    let mode = mode_of(mode, cval, origin)?;
    let rank = gpix::Rank::Index(rank);
    let window = window_of(size, footprint)?;
    on_kept!(x, rank_t(py, x, out, rank, &window, mode, device))
}

#[allow(clippy::too_many_arguments)]
fn uniform_t<T: FilterValue + NpElement>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    size: [usize; 2],
    mode: Border,
    device: &str,
) -> PyResult<()> {
    let work = |values, bytes| Work::uniform(values, bytes, size);
    one_output::<T>(py, x, out, device, work, |device, v, o| {
        gpix::uniform_filter_into(device, v, size, mode, o).map(drop)
    })
}

/// uniform_filter(x, out, size, mode, cval, device, origin=(0, 0)): x and
/// out 4-D (layers, height, width, channels), float32 or float64; mode one
/// name or "y,x".
#[pyfunction]
#[pyo3(signature = (x, out, size, mode, cval, device, origin=(0, 0)))]
#[allow(clippy::too_many_arguments)]
fn uniform_filter(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    size: (usize, usize),
    mode: &str,
    cval: f64,
    device: &str,
    origin: (isize, isize),
) -> PyResult<()> {
    let mode = mode_of(mode, cval, origin)?;
    on_float!(x, uniform_t(py, x, out, [size.0, size.1], mode, device))
}

#[allow(clippy::too_many_arguments)]
fn stats_t<T: FilterValue + NpElement>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    outs: [Option<&Bound<'_, PyAny>>; 3],
    size: [usize; 2],
    mode: Border,
    device: &str,
) -> PyResult<()> {
    let input = Input::<T>::new(x, "input")?;
    let dims = dims4(input.array.as_untyped())?;
    let mut mean = Output::<T>::optional(outs[0], &input.shape, "mean")?;
    let mut var = Output::<T>::optional(outs[1], &input.shape, "var")?;
    let mut std = Output::<T>::optional(outs[2], &input.shape, "std")?;
    let wanted = outs.iter().flatten().count() as u64;
    let device = pick(device, || {
        Work::stats(values_of(&input.shape), size_of::<T>() as u64, size, wanted)
    })?;
    let data = input.slice()?;
    let slices = [
        mean.as_mut().map(Output::slice).transpose()?,
        var.as_mut().map(Output::slice).transpose()?,
        std.as_mut().map(Output::slice).transpose()?,
    ];
    detach(py, data.len(), || {
        per_layer(data, dims, slices, &mut |v, [mean, var, std]| {
            let out = StatsOut { mean, var, std };
            gpix::local_stats_into(&device, v, size, mode, out)?;
            Ok(())
        })
    })
    .map_err(py_err)
}

/// local_stats(x, mean, var, std, size, mode, cval, device, origin=(0, 0)):
/// any of the three outputs may be None.
#[pyfunction]
#[pyo3(signature = (x, mean, var, std, size, mode, cval, device, origin=(0, 0)))]
#[allow(clippy::too_many_arguments)]
fn local_stats(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    mean: Option<&Bound<'_, PyAny>>,
    var: Option<&Bound<'_, PyAny>>,
    std: Option<&Bound<'_, PyAny>>,
    size: (usize, usize),
    mode: &str,
    cval: f64,
    device: &str,
    origin: (isize, isize),
) -> PyResult<()> {
    let mode = mode_of(mode, cval, origin)?;
    on_float!(
        x,
        stats_t(py, x, [mean, var, std], [size.0, size.1], mode, device)
    )
}

#[allow(clippy::too_many_arguments)]
fn correlate_t<T: FilterValue + NpElement>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    kernel: &Kernel,
    flip: bool,
    mode: Border,
    method: CorrelationMethod,
    device: &str,
) -> PyResult<()> {
    let op = if flip { "convolve" } else { "correlate" };
    let k = [kernel.height(), kernel.width()];
    let work = |values, bytes| Work::correlate(op, values, bytes, k, 1);
    one_output::<T>(py, x, out, device, work, |device, v, o| {
        if flip {
            gpix::convolve_with(device, v, kernel, mode, method, o)?;
        } else {
            gpix::correlate_with(device, v, kernel, mode, method, o)?;
        }
        Ok(())
    })
}

/// correlate(x, out, weights, flip, mode, cval, method, device,
/// origin=(0, 0)): weights a 2-D float64 array; `flip` convolves.
#[pyfunction]
#[pyo3(signature = (x, out, weights, flip, mode, cval, method, device, origin=(0, 0)))]
#[allow(clippy::too_many_arguments)]
fn correlate(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    weights: PyReadonlyArray2<'_, f64>,
    flip: bool,
    mode: &str,
    cval: f64,
    method: &str,
    device: &str,
    origin: (isize, isize),
) -> PyResult<()> {
    let mode = mode_of(mode, cval, origin)?;
    let method = match method {
        "auto" => CorrelationMethod::Auto,
        "direct" => CorrelationMethod::Direct,
        "separable" => CorrelationMethod::Separable,
        "fft" => CorrelationMethod::Fft,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown method '{other}' (expected auto, direct, separable or fft)"
            )))
        }
    };
    let [ky, kx] = [weights.shape()[0], weights.shape()[1]];
    let w = weights.as_array().iter().copied().collect();
    let kernel = Kernel::new(ky, kx, w).map_err(py_err)?;
    on_float!(
        x,
        correlate_t(py, x, out, &kernel, flip, mode, method, device)
    )
}

/// Which of the Gaussian filters a native call runs.
#[derive(Clone, Copy)]
enum GaussianOp {
    Filter,
    Laplace,
    GradientMagnitude,
}

#[allow(clippy::too_many_arguments)]
fn gaussian_t<T: FilterValue + NpElement>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    g: &gpix::Gaussian,
    op: GaussianOp,
    mode: Border,
    device: &str,
) -> PyResult<()> {
    let passes = if matches!(op, GaussianOp::Filter) {
        1
    } else {
        2
    };
    let work = |values, bytes| Work::gaussian(values, bytes, g.sigma, g.truncate).repeated(passes);
    one_output::<T>(py, x, out, device, work, |device, v, o| {
        match op {
            GaussianOp::Filter => gpix::gaussian_filter_with_into(device, v, g, mode, o)?,
            GaussianOp::Laplace => gpix::gaussian_laplace_into(device, v, g, mode, o)?,
            GaussianOp::GradientMagnitude => {
                gpix::gaussian_gradient_magnitude_into(device, v, g, mode, o)?
            }
        };
        Ok(())
    })
}

/// gaussian_filter(x, out, sigma, order, radius, truncate, op, mode, cval,
/// device): op is "filter", "laplace" or "gradient_magnitude".
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn gaussian_filter(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    sigma: (f64, f64),
    order: (u32, u32),
    radius: Option<(usize, usize)>,
    truncate: f64,
    op: &str,
    mode: &str,
    cval: f64,
    device: &str,
) -> PyResult<()> {
    let mode = mode_of(mode, cval, (0, 0))?;
    let op = match op {
        "filter" => GaussianOp::Filter,
        "laplace" => GaussianOp::Laplace,
        "gradient_magnitude" => GaussianOp::GradientMagnitude,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown gaussian op '{other}'"
            )))
        }
    };
    let mut g = gpix::Gaussian::new([sigma.0, sigma.1])
        .with_order([order.0, order.1])
        .with_truncate(truncate);
    if let Some((ry, rx)) = radius {
        g = g.with_radius([ry, rx]);
    }
    g.taps(0).and_then(|_| g.taps(1)).map_err(py_err)?;
    on_float!(x, gaussian_t(py, x, out, &g, op, mode, device))
}

fn kernel_array<'py>(py: Python<'py>, k: &Kernel) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let a = Array2::from_shape_vec((k.height(), k.width()), k.weights().to_vec())
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(a.into_pyarray(py))
}

type KernelPair<'py> = (Bound<'py, PyArray2<f64>>, Bound<'py, PyArray2<f64>>);

/// gabor_kernel(frequency, theta, sigma_x, sigma_y, n_stds, offset) ->
/// (real, imag), skimage's kernel in float64.
#[pyfunction]
fn gabor_kernel<'py>(
    py: Python<'py>,
    frequency: f64,
    theta: f64,
    sigma_x: f64,
    sigma_y: f64,
    n_stds: f64,
    offset: f64,
) -> PyResult<KernelPair<'py>> {
    let (re, im) =
        gpix::gabor_kernel(frequency, theta, sigma_x, sigma_y, n_stds, offset).map_err(py_err)?;
    Ok((kernel_array(py, &re)?, kernel_array(py, &im)?))
}

fn gradient_t<T: FilterValue + NpElement>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    outs: [Option<&Bound<'_, PyAny>>; 2],
    options: GradientOptions,
    device: &str,
) -> PyResult<()> {
    let input = Input::<T>::new(x, "input")?;
    let dims = dims4(input.array.as_untyped())?;
    let mut dy = Output::<T>::optional(outs[0], &input.shape, "dy")?;
    let mut dx = Output::<T>::optional(outs[1], &input.shape, "dx")?;
    let wanted = outs.iter().flatten().count() as u64;
    let device = pick(device, || {
        Work::gradient(values_of(&input.shape), size_of::<T>() as u64, wanted)
    })?;
    let data = input.slice()?;
    let slices = [
        dy.as_mut().map(Output::slice).transpose()?,
        dx.as_mut().map(Output::slice).transpose()?,
    ];
    detach(py, data.len(), || {
        per_layer(data, dims, slices, &mut |v, [dy, dx]| {
            let out = GradientOut {
                dy,
                dx,
                magnitude: None,
            };
            gpix::gradient_into(&device, v, &options, out)
        })
    })
    .map_err(py_err)
}

/// A coordinate array of one axis: 1-D, C-contiguous float64 or float32
/// (the Python side converts integers to float64, as numpy).
enum PyCoords<'py> {
    F64(numpy::PyReadonlyArray1<'py, f64>),
    F32(numpy::PyReadonlyArray1<'py, f32>),
}

impl<'py> PyCoords<'py> {
    fn new(c: Option<&Bound<'py, PyAny>>) -> PyResult<Option<Self>> {
        let Some(c) = c else { return Ok(None) };
        if let Ok(a) = c.extract::<numpy::PyReadonlyArray1<'py, f64>>() {
            return Ok(Some(Self::F64(a)));
        }
        Ok(Some(Self::F32(c.extract()?)))
    }

    fn coordinates(&self) -> PyResult<Coordinates<'_>> {
        let contiguous = |_| PyValueError::new_err("coordinates must be C-contiguous");
        Ok(match self {
            Self::F64(a) => Coordinates::F64(a.as_slice().map_err(contiguous)?),
            Self::F32(a) => Coordinates::F32(a.as_slice().map_err(contiguous)?),
        })
    }
}

/// Both axes' coordinates as the library takes them.
fn coordinates<'a>(c: &'a [Option<PyCoords<'_>>; 2]) -> PyResult<[Option<Coordinates<'a>>; 2]> {
    Ok([
        c[0].as_ref().map(PyCoords::coordinates).transpose()?,
        c[1].as_ref().map(PyCoords::coordinates).transpose()?,
    ])
}

/// gradient(x, dy, dx, spacing, edge_order, device, coords_y=None,
/// coords_x=None): numpy.gradient along axes 1 and 2 of the 4-D input; a
/// coordinate array replaces that axis's spacing.
#[pyfunction]
#[pyo3(signature = (x, dy, dx, spacing, edge_order, device, coords_y=None, coords_x=None))]
#[allow(clippy::too_many_arguments)]
fn gradient(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    dy: Option<&Bound<'_, PyAny>>,
    dx: Option<&Bound<'_, PyAny>>,
    spacing: (f64, f64),
    edge_order: u8,
    device: &str,
    coords_y: Option<&Bound<'_, PyAny>>,
    coords_x: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let coords = [PyCoords::new(coords_y)?, PyCoords::new(coords_x)?];
    let options = GradientOptions {
        spacing: [spacing.0, spacing.1],
        coordinates: coordinates(&coords)?,
        edge_order,
        interior_only: false,
    };
    on_float!(x, gradient_t(py, x, [dy, dx], options, device))
}

fn hessian_t<T: FilterValue + NpElement>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    outs: [Option<&Bound<'_, PyAny>>; 5],
    options: HessianOptions,
    device: &str,
) -> PyResult<()> {
    let input = Input::<T>::new(x, "input")?;
    let dims = dims4(input.array.as_untyped())?;
    let names = ["dyy", "dxy", "dxx", "eigenvalue 1", "eigenvalue 2"];
    let mut arrays = Vec::with_capacity(5);
    for (o, name) in outs.iter().zip(names) {
        arrays.push(Output::<T>::optional(*o, &input.shape, name)?);
    }
    let wanted = outs.iter().flatten().count() as u64;
    let device = pick(device, || {
        Work::hessian(values_of(&input.shape), size_of::<T>() as u64, wanted)
    })?;
    let data = input.slice()?;
    let mut slices = Vec::with_capacity(5);
    for a in &mut arrays {
        slices.push(a.as_mut().map(Output::slice).transpose()?);
    }
    let slices: [Option<&mut [T]>; 5] = slices
        .try_into()
        .map_err(|_| PyRuntimeError::new_err("five outputs"))?;
    detach(py, data.len(), || {
        per_layer(data, dims, slices, &mut |v, [dyy, dxy, dxx, e1, e2]| {
            let eigen = match (e1, e2) {
                (Some(a), Some(b)) => Some((a, b)),
                _ => None,
            };
            let out = HessianOut {
                dyy,
                dxy,
                dxx,
                eigen,
            };
            gpix::hessian_into(&device, v, &options, out)
        })
    })
    .map_err(py_err)
}

/// hessian(x, dyy, dxy, dxx, eig1, eig2, spacing, edge_order, stencil,
/// device, coords_y=None, coords_x=None): the eigenvalue outputs come as a
/// pair or not at all.
#[pyfunction]
#[pyo3(signature = (x, dyy, dxy, dxx, eig1, eig2, spacing, edge_order, stencil, device, coords_y=None, coords_x=None))]
#[allow(clippy::too_many_arguments)]
fn hessian(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    dyy: Option<&Bound<'_, PyAny>>,
    dxy: Option<&Bound<'_, PyAny>>,
    dxx: Option<&Bound<'_, PyAny>>,
    eig1: Option<&Bound<'_, PyAny>>,
    eig2: Option<&Bound<'_, PyAny>>,
    spacing: (f64, f64),
    edge_order: u8,
    stencil: &str,
    device: &str,
    coords_y: Option<&Bound<'_, PyAny>>,
    coords_x: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let coords = [PyCoords::new(coords_y)?, PyCoords::new(coords_x)?];
    let stencil = match stencil {
        "gradient" => Stencil::Gradient,
        "compact" => Stencil::Compact,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown stencil '{other}' (expected gradient or compact)"
            )))
        }
    };
    if eig1.is_some() != eig2.is_some() {
        return Err(PyValueError::new_err(
            "give both eigenvalue outputs or neither",
        ));
    }
    let options = HessianOptions {
        gradient: GradientOptions {
            spacing: [spacing.0, spacing.1],
            coordinates: coordinates(&coords)?,
            edge_order,
            interior_only: false,
        },
        stencil,
    };
    on_float!(
        x,
        hessian_t(py, x, [dyy, dxy, dxx, eig1, eig2], options, device)
    )
}

/// Reused label conversion buffer: a fresh one would page-fault on every
/// call (4 bytes a pixel). Taken, not held: concurrent callers allocate.
static LABEL_SCRATCH: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Labels as `u32`: borrowed when they are, converted (parallel, range
/// checked) otherwise.
enum Labels<'py> {
    Borrowed(Input<'py, u32>),
    Converted(Vec<u32>),
}

impl Labels<'_> {
    fn slice(&self) -> PyResult<&[u32]> {
        match self {
            Labels::Borrowed(i) => i.slice(),
            Labels::Converted(v) => Ok(v),
        }
    }
}

impl Drop for Labels<'_> {
    fn drop(&mut self) {
        if let Labels::Converted(v) = self {
            if let Ok(mut s) = LABEL_SCRATCH.try_lock() {
                if s.capacity() < v.capacity() {
                    *s = std::mem::take(v);
                }
            }
        }
    }
}

fn labels_of<'py>(py: Python<'py>, labels: &Bound<'py, PyAny>) -> PyResult<Labels<'py>> {
    if dtype_is::<u32>(labels) {
        return Ok(Labels::Borrowed(Input::new(labels, "labels")?));
    }
    macro_rules! convert {
        ($($t:ty),*) => {$(
            if dtype_is::<$t>(labels) {
                let input = Input::<$t>::new(labels, "labels")?;
                let src = input.slice()?;
                let mut buf = LABEL_SCRATCH
                    .try_lock()
                    .map(|mut s| std::mem::take(&mut *s))
                    .unwrap_or_default();
                buf.resize(src.len(), 0);
                detach(py, src.len(), || gpix::labels_to_u32_into(src, &mut buf)).map_err(py_err)?;
                return Ok(Labels::Converted(buf));
            }
        )*};
    }
    convert!(i64, i32, u64, u16, u8, i16, i8);
    Err(PyTypeError::new_err("labels must be an integer array"))
}

type TableArrays<'py> = (
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyAny>,
);

fn table_arrays<'py, S: NpElement + gpix::SumValue>(
    py: Python<'py>,
    table: gpix::LabelTable<S>,
) -> PyResult<TableArrays<'py>> {
    let n = table.labels.len();
    let sums = Array2::from_shape_vec((n, table.channels), table.sums)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((
        table.labels.into_pyarray(py),
        table.counts.into_pyarray(py),
        sums.into_pyarray(py).into_any(),
    ))
}

fn image_dims(shape: &[usize], what: &str) -> PyResult<(usize, usize, usize)> {
    match *shape {
        [h, w, c] => Ok((h, w, c)),
        _ => Err(PyValueError::new_err(format!(
            "{what}: expected a 3-D (height, width, channels) array"
        ))),
    }
}

fn label_mean_t<'py, T, O>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    labels: &[u32],
    out: &Bound<'py, PyAny>,
    device: &str,
) -> PyResult<TableArrays<'py>>
where
    T: LabelValue + NpElement,
    T::Sum: NpElement,
    O: MeanElement<T::Sum> + NpElement,
{
    let input = Input::<T>::new(image, "image")?;
    let (h, w, c) = image_dims(&input.shape, "image")?;
    let mut output = Output::<O>::new(out, &input.shape, "output")?;
    let device = pick(device, || {
        let (value, out) = (size_of::<T>() as u64, size_of::<O>() as u64);
        Work::label_mean((h * w) as u64, c as u64, value, out)
    })?;
    let (data, out) = (input.slice()?, output.slice()?);
    let table = detach(py, data.len(), || {
        let view = ImageView::new(data, h, w, c)?;
        gpix::label_mean_image_into(&device, view, labels, out)
    })
    .map_err(py_err)?;
    table_arrays(py, table)
}

fn label_table_t<'py, T>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    labels: &[u32],
    device: &str,
) -> PyResult<TableArrays<'py>>
where
    T: LabelValue + NpElement,
    T::Sum: NpElement,
{
    let input = Input::<T>::new(image, "image")?;
    let (h, w, c) = image_dims(&input.shape, "image")?;
    let device = pick(device, || {
        Work::label_mean((h * w) as u64, c as u64, size_of::<T>() as u64, 0)
    })?;
    let data = input.slice()?;
    let table = detach(py, data.len(), || {
        gpix::label_sums(&device, ImageView::new(data, h, w, c)?, labels)
    })
    .map_err(py_err)?;
    table_arrays(py, table)
}

/// Dispatches a label op on the image's dtype (uint8, uint16, int32,
/// float32, float64).
macro_rules! on_label_value {
    ($x:expr, $f:ident :: <_ $(, $o:ty)?> ( $($arg:expr),* )) => {
        if dtype_is::<u8>($x) {
            $f::<u8 $(, $o)?>($($arg),*)
        } else if dtype_is::<u16>($x) {
            $f::<u16 $(, $o)?>($($arg),*)
        } else if dtype_is::<i32>($x) {
            $f::<i32 $(, $o)?>($($arg),*)
        } else if dtype_is::<f32>($x) {
            $f::<f32 $(, $o)?>($($arg),*)
        } else if dtype_is::<f64>($x) {
            $f::<f64 $(, $o)?>($($arg),*)
        } else {
            Err(PyTypeError::new_err(
                "image must be uint8, uint16, int32, float32 or float64",
            ))
        }
    };
}

/// label_mean(image, labels, out, device) -> (labels, counts, sums): image
/// (H, W, C); labels (H, W) of any integer dtype; out of the image's dtype,
/// float32 or float64. Integer means are rounded half up.
#[pyfunction]
fn label_mean<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    labels: &Bound<'py, PyAny>,
    out: &Bound<'py, PyAny>,
    device: &str,
) -> PyResult<TableArrays<'py>> {
    let labels = labels_of(py, labels)?;
    let l = labels.slice()?;
    if dtype_is::<f32>(out) {
        on_label_value!(image, label_mean_t::<_, f32>(py, image, l, out, device))
    } else if dtype_is::<f64>(out) {
        on_label_value!(image, label_mean_t::<_, f64>(py, image, l, out, device))
    } else if dtype_is::<u8>(image) {
        label_mean_t::<u8, u8>(py, image, l, out, device)
    } else if dtype_is::<u16>(image) {
        label_mean_t::<u16, u16>(py, image, l, out, device)
    } else if dtype_is::<i32>(image) {
        label_mean_t::<i32, i32>(py, image, l, out, device)
    } else {
        Err(PyTypeError::new_err(
            "the output must be float32, float64 or the image's integer dtype",
        ))
    }
}

/// label_table(image, labels, device) -> (labels, counts, sums).
#[pyfunction]
fn label_table<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    labels: &Bound<'py, PyAny>,
    device: &str,
) -> PyResult<TableArrays<'py>> {
    let labels = labels_of(py, labels)?;
    let l = labels.slice()?;
    on_label_value!(image, label_table_t::<_>(py, image, l, device))
}

fn palette_of<T: PaletteValue + NpElement>(
    palette: &Bound<'_, PyAny>,
    channels: usize,
) -> PyResult<Palette> {
    let p = Input::<T>::new(palette, "palette")?;
    let ok = matches!(*p.shape, [_, c] if c == channels);
    if !ok {
        return Err(PyValueError::new_err(format!(
            "palette: expected shape (K, {channels}), got {:?}",
            p.shape
        )));
    }
    let values = p.slice()?.iter().map(|&v| v.into()).collect();
    Palette::new(channels, values).map_err(py_err)
}

/// The shared half of the nearest-colour and nearest-level calls: borrows
/// the image (H, W, C) and the index output (H, W), routes the work by its
/// size and palette length `k`, and runs `find` with the GIL released.
fn nearest_into<T, I>(
    py: Python<'_>,
    input: &Input<'_, T>,
    out: &Bound<'_, PyAny>,
    colour: bool,
    k: usize,
    device: &str,
    find: impl FnOnce(ImageView<'_, T>, &Device, &mut [I]) -> gpix::Result<()> + Send,
) -> PyResult<()>
where
    T: NpElement + gpix::Element,
    I: NpElement + Send,
{
    let (h, w, c) = image_dims(&input.shape, "image")?;
    let mut output = Output::<I>::new(out, &[h, w], "output")?;
    let device = pick(device, || {
        Work::quantize((h * w) as u64, c as u64, size_of::<T>() as u64, colour, k)
    })?;
    let (data, out) = (input.slice()?, output.slice()?);
    detach(py, data.len(), || {
        find(ImageView::new(data, h, w, c)?, &device, out)
    })
    .map_err(py_err)
}

/// Palette indices of `image` into `out` with `dither` (`Dither::None`:
/// the exact nearest colours).
fn palette_indices_t<T: PaletteValue + NpElement, I: PaletteIndex + NpElement>(
    py: Python<'_>,
    image: &Bound<'_, PyAny>,
    palette: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    dither: gpix::Dither,
    device: &str,
) -> PyResult<()> {
    let input = Input::<T>::new(image, "image")?;
    let (_, _, c) = image_dims(&input.shape, "image")?;
    let palette = palette_of::<T>(palette, c)?;
    nearest_into::<T, I>(
        py,
        &input,
        out,
        true,
        palette.len(),
        device,
        |view, d, o| gpix::dither_palette_into(view, &palette, dither, d, o),
    )
}

/// [`palette_indices_t`] for the image's and the output's dtypes.
fn palette_indices(
    py: Python<'_>,
    image: &Bound<'_, PyAny>,
    palette: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    dither: gpix::Dither,
    device: &str,
) -> PyResult<()> {
    match (dtype_is::<u8>(image), dtype_is::<u8>(out)) {
        (true, true) => palette_indices_t::<u8, u8>(py, image, palette, out, dither, device),
        (true, false) => palette_indices_t::<u8, u16>(py, image, palette, out, dither, device),
        (false, true) => palette_indices_t::<u16, u8>(py, image, palette, out, dither, device),
        (false, false) => palette_indices_t::<u16, u16>(py, image, palette, out, dither, device),
    }
}

/// dither_palette(image, palette, out, dither, strength, device): as
/// nearest_palette, with dither 'none', 'floyd-steinberg' (CPU) or
/// 'ordered' (8×8 Bayer, `strength` × the palette's spacing).
#[pyfunction]
fn dither_palette(
    py: Python<'_>,
    image: &Bound<'_, PyAny>,
    palette: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    dither: &str,
    strength: f32,
    device: &str,
) -> PyResult<()> {
    let dither = match dither {
        "none" => gpix::Dither::None,
        "floyd-steinberg" | "floyd_steinberg" | "fs" => gpix::Dither::FloydSteinberg,
        "ordered" | "bayer" => gpix::Dither::Ordered { strength },
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown dither '{other}' (expected 'none', 'floyd-steinberg' or 'ordered')"
            )))
        }
    };
    dither.check().map_err(py_err)?;
    // Error diffusion is sequential: the CPU runs it whatever the device.
    let device = if dither == gpix::Dither::FloydSteinberg {
        "cpu"
    } else {
        device
    };
    palette_indices(py, image, palette, out, dither, device)
}

/// nearest_palette(image, palette, out, device): image (H, W, C) uint8 or
/// uint16, palette (K, C) of the same dtype, out (H, W) uint8 or uint16.
#[pyfunction]
fn nearest_palette(
    py: Python<'_>,
    image: &Bound<'_, PyAny>,
    palette: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    device: &str,
) -> PyResult<()> {
    palette_indices(py, image, palette, out, gpix::Dither::None, device)
}

fn nearest_level_t<T, I>(
    py: Python<'_>,
    image: &Bound<'_, PyAny>,
    levels: Vec<f64>,
    out: &Bound<'_, PyAny>,
    device: &str,
) -> PyResult<()>
where
    T: gpix::GreyFloat + NpElement,
    I: PaletteIndex + NpElement,
{
    let input = Input::<T>::new(image, "image")?;
    let levels = Levels::new(levels).map_err(py_err)?;
    nearest_into::<T, I>(
        py,
        &input,
        out,
        false,
        levels.len(),
        device,
        |view, d, o| gpix::nearest_level_into(view, &levels, d, o),
    )
}

/// nearest_level(image, levels, out, device): image (H, W, 1) float32 or
/// float64, levels ascending float64, out (H, W) uint8 or uint16.
#[pyfunction]
fn nearest_level(
    py: Python<'_>,
    image: &Bound<'_, PyAny>,
    levels: Vec<f64>,
    out: &Bound<'_, PyAny>,
    device: &str,
) -> PyResult<()> {
    match (dtype_is::<f32>(image), dtype_is::<u8>(out)) {
        (true, true) => nearest_level_t::<f32, u8>(py, image, levels, out, device),
        (true, false) => nearest_level_t::<f32, u16>(py, image, levels, out, device),
        (false, true) => nearest_level_t::<f64, u8>(py, image, levels, out, device),
        (false, false) => nearest_level_t::<f64, u16>(py, image, levels, out, device),
    }
}

fn colors_t<'py, T: PaletteValue + NpElement>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    k: usize,
    method: PaletteMethod,
    device: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let input = Input::<T>::new(image, "image")?;
    let (h, w, c) = image_dims(&input.shape, "image")?;
    let device = pick(device, || {
        Work::quantize((h * w) as u64, c as u64, size_of::<T>() as u64, true, k)
    })?;
    let data = input.slice()?;
    let palette = detach(py, data.len(), || {
        build_colors(ImageView::new(data, h, w, c)?, k, method, &device)
    })
    .map_err(py_err)?;
    let values: Vec<T> = palette.values().iter().map(|&v| T::from_u16(v)).collect();
    let a = Array2::from_shape_vec((palette.len(), c), values)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(a.into_pyarray(py).into_any())
}

fn levels_t<'py, T: gpix::GreyFloat + NpElement>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    k: usize,
    method: PaletteMethod,
) -> PyResult<Bound<'py, PyAny>> {
    let input = Input::<T>::new(image, "image")?;
    let (h, w, c) = image_dims(&input.shape, "image")?;
    let data = input.slice()?;
    let levels = detach(py, data.len(), || {
        build_levels(ImageView::new(data, h, w, c)?, k, method)
    })
    .map_err(py_err)?;
    Ok(levels.values().to_vec().into_pyarray(py).into_any())
}

/// build_palette(image, k, method, seed, max_iter, weights, device): (K, C) colours
/// of the image's dtype for uint8/uint16 images, ascending float64 levels
/// for float images (H, W, 1).
// The Python signature's arguments, one each.
#[allow(clippy::too_many_arguments)]
#[pyfunction]
fn build_palette<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    k: usize,
    method: &str,
    seed: u64,
    max_iter: usize,
    weights: &str,
    device: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let weights = grey_weights(weights)?;
    let method = match method {
        "refined" => PaletteMethod::Refined { weights },
        "median-cut" | "median_cut" | "mediancut" => PaletteMethod::MedianCut,
        "kmeans" | "k-means" => PaletteMethod::KMeans {
            seed,
            max_iter,
            weights,
        },
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown method '{other}' (expected 'refined', 'median-cut' or 'kmeans')"
            )))
        }
    };
    if dtype_is::<u8>(image) {
        colors_t::<u8>(py, image, k, method, device)
    } else if dtype_is::<u16>(image) {
        colors_t::<u16>(py, image, k, method, device)
    } else if dtype_is::<f32>(image) {
        levels_t::<f32>(py, image, k, method)
    } else if dtype_is::<f64>(image) {
        levels_t::<f64>(py, image, k, method)
    } else {
        Err(PyTypeError::new_err(
            "image must be uint8, uint16, float32 or float64",
        ))
    }
}

fn image_array<'py, T: NpElement + gpix::Element>(
    py: Python<'py>,
    image: gpix::Image<T>,
) -> PyResult<Bound<'py, PyAny>> {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let shape: Vec<usize> = if c == 1 { vec![h, w] } else { vec![h, w, c] };
    let a = numpy::ndarray::ArrayD::from_shape_vec(shape, image.into_vec())
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(a.into_pyarray(py).into_any())
}

/// imread(path) -> (H, W) or (H, W, C) array of the file's own type
/// (uint8, uint16, float32), read by gpix's decoders (PNG, JPEG, TIFF, ...).
#[pyfunction]
fn imread<'py>(py: Python<'py>, path: std::path::PathBuf) -> PyResult<Bound<'py, PyAny>> {
    let image = py
        .detach(|| gpix::io::read_image(&path))
        .map_err(|e| match e {
            gpix::Error::Io { .. } => pyo3::exceptions::PyOSError::new_err(e.to_string()),
            other => py_err(other),
        })?;
    match image {
        gpix::AnyImage::U8(i) => image_array(py, i),
        gpix::AnyImage::U16(i) => image_array(py, i),
        gpix::AnyImage::F32(i) => image_array(py, i),
        gpix::AnyImage::F64(i) => image_array(py, i),
        _ => Err(PyTypeError::new_err(
            "an image type this version cannot return",
        )),
    }
}

fn counts_t<'py, T: PaletteValue + NpElement>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<u64>>)> {
    let input = Input::<T>::new(image, "image")?;
    let (h, w, c) = image_dims(&input.shape, "image")?;
    let data = input.slice()?;
    let hist = detach(py, data.len(), || {
        // `T` is u8 or u16 (the PaletteValue types): the casts reinterpret
        // the same values.
        if T::BITS == 8 {
            ImageView::new(bytemuck::cast_slice(data), h, w, c).map(histogram_u8)
        } else {
            ImageView::new(bytemuck::cast_slice(data), h, w, c).map(histogram_u16)
        }
    })
    .map_err(py_err)?;
    let n = hist.len();
    let colors: Vec<T> = hist.colors.iter().map(|&v| T::from_u16(v)).collect();
    let colors =
        Array2::from_shape_vec((n, c), colors).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((
        colors.into_pyarray(py).into_any(),
        hist.counts.into_pyarray(py),
    ))
}

/// colour_counts(image) -> (colors, counts): the distinct colours of a
/// (H, W, C) uint8/uint16 image, ascending (lexicographic), with their
/// pixel counts: the histogram median cut works on.
#[pyfunction]
fn colour_counts<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<u64>>)> {
    if dtype_is::<u8>(image) {
        counts_t::<u8>(py, image)
    } else if dtype_is::<u16>(image) {
        counts_t::<u16>(py, image)
    } else {
        Err(PyTypeError::new_err("image must be uint8 or uint16"))
    }
}

/// median_cut(colors, counts, k, method, weights) -> (K, C) palette: median
/// cut ('median-cut') or the default refined palette ('refined') over a
/// colour histogram (colors (N, C) uint16, distinct and ascending; counts
/// uint64).
#[pyfunction]
fn median_cut<'py>(
    py: Python<'py>,
    colors: PyReadonlyArray2<'py, u16>,
    counts: numpy::PyReadonlyArray1<'py, u64>,
    k: usize,
    method: &str,
    weights: &str,
) -> PyResult<Bound<'py, PyArray2<u16>>> {
    let channels = colors.shape()[1];
    let hist = gpix::ops::median_cut::Histogram {
        channels,
        colors: colors.as_array().iter().copied().collect(),
        counts: counts.as_array().to_vec(),
    };
    if hist.colors.len() != hist.counts.len() * channels {
        return Err(PyValueError::new_err("one count per colour"));
    }
    let method = match method {
        "refined" => PaletteMethod::Refined {
            weights: grey_weights(weights)?,
        },
        "median-cut" | "median_cut" | "mediancut" => PaletteMethod::MedianCut,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown method '{other}' (expected 'refined' or 'median-cut')"
            )))
        }
    };
    let palette = py
        .detach(|| {
            gpix::ops::quantize::palette_from_histogram(&hist, k, method, &gpix::Device::Cpu)
        })
        .map_err(py_err)?;
    let a = Array2::from_shape_vec((palette.len(), channels), palette.values().to_vec())
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(a.into_pyarray(py))
}

fn grey_weights(weights: &str) -> PyResult<gpix::GreyWeights> {
    match weights {
        "distinct" => Ok(gpix::GreyWeights::Distinct),
        "pixels" => Ok(gpix::GreyWeights::Pixels),
        other => Err(PyValueError::new_err(format!(
            "unknown weights '{other}' (expected 'distinct' or 'pixels')"
        ))),
    }
}

/// devices() -> list of dicts, one per wgpu adapter.
#[pyfunction]
fn devices(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyDict>>> {
    let adapters = py.detach(gpix::list_adapters);
    adapters
        .into_iter()
        .map(|a| {
            let d = PyDict::new(py);
            d.set_item("name", a.name)?;
            d.set_item("backend", a.backend)?;
            d.set_item("device_type", a.device_type)?;
            d.set_item("driver", a.driver)?;
            d.set_item("software", a.software)?;
            d.set_item("max_buffer_bytes", a.max_buffer_bytes)?;
            d.set_item("pipeline_cache", a.pipeline_cache)?;
            d.set_item("timestamps", a.timestamps)?;
            Ok(d)
        })
        .collect()
}

/// describe_device(device) -> what `device` resolves to, e.g. "cpu (2
/// threads)" or "gpu: NVIDIA H200 (Vulkan, DiscreteGpu)"; `auto` before
/// routing.
#[pyfunction]
fn describe_device(py: Python<'_>, device: &str) -> PyResult<String> {
    let d = py.detach(|| pick(device, || Work::gradient(0, 4, 1)))?;
    Ok(match device {
        "auto" => AUTO.get().unwrap_or(&d).describe(),
        _ => d.describe(),
    })
}

#[pymodule]
fn _gpix(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(uniform_filter, m)?)?;
    m.add_function(wrap_pyfunction!(extremum_filter, m)?)?;
    m.add_function(wrap_pyfunction!(rank_filter, m)?)?;
    m.add_function(wrap_pyfunction!(local_stats, m)?)?;
    m.add_function(wrap_pyfunction!(correlate, m)?)?;
    m.add_function(wrap_pyfunction!(gaussian_filter, m)?)?;
    m.add_function(wrap_pyfunction!(gabor_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(gradient, m)?)?;
    m.add_function(wrap_pyfunction!(hessian, m)?)?;
    m.add_function(wrap_pyfunction!(label_mean, m)?)?;
    m.add_function(wrap_pyfunction!(label_table, m)?)?;
    m.add_function(wrap_pyfunction!(nearest_palette, m)?)?;
    m.add_function(wrap_pyfunction!(dither_palette, m)?)?;
    m.add_function(wrap_pyfunction!(nearest_level, m)?)?;
    m.add_function(wrap_pyfunction!(build_palette, m)?)?;
    m.add_function(wrap_pyfunction!(devices, m)?)?;
    m.add_function(wrap_pyfunction!(imread, m)?)?;
    m.add_function(wrap_pyfunction!(colour_counts, m)?)?;
    m.add_function(wrap_pyfunction!(median_cut, m)?)?;
    m.add_function(wrap_pyfunction!(describe_device, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
