"""gpix.dask on a dask.distributed LocalCluster (2 worker processes on
127.0.0.1): 3000×3000 (and ×3) arrays in 1000×1000 chunks give the
whole-array call's results."""

import numpy as np
import pytest

import gpix
from conftest import assert_close

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
import gpix.dask as gd  # noqa: E402

N, CHUNK = 3000, 1000


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def data(client):
    """Chunked arrays made on the workers (no data in the graph) and their
    values here for the whole-array calls."""
    rs = da.random.RandomState(7)
    yy = da.arange(N, chunks=CHUNK)[:, None] // 50
    xx = da.arange(N, chunks=CHUNK)[None, :] // 50
    arrays = {
        "f32": rs.standard_normal((N, N), chunks=CHUNK).astype(np.float32),
        "f64": rs.standard_normal((N, N), chunks=CHUNK),
        "rgb": rs.randint(0, 256, (N, N, 3), chunks=(CHUNK, CHUNK, 3)).astype(np.uint8),
        "labels": ((yy * 7919 + xx * 104729) % 40 * 97).astype(np.int64),
    }
    return {k: (v, v.compute()) for k, v in arrays.items()}


@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "wrap", "constant"])
def test_filters_match_the_whole_array_call(client, data, mode):
    d, x = data["f32"]
    got = gd.uniform_filter(d, (15, 9), mode=mode, cval=0.25).compute()
    assert_close(got, gpix.uniform_filter(x, (15, 9), mode=mode, cval=0.25))
    w = np.random.default_rng(1).standard_normal((4, 7))
    got = gd.correlate(d, w, mode=mode).compute()
    assert_close(got, gpix.correlate(x, w, mode=mode))
    got = gd.convolve(d, w, mode=mode).compute()
    assert_close(got, gpix.convolve(x, w, mode=mode))


@pytest.mark.parametrize("mode", ["reflect", "wrap", "constant"])
def test_minimum_and_maximum_filters(client, data, mode):
    d, x = data["f32"]
    got = gd.maximum_filter(d, (15, 9), mode=mode, cval=0.25, origin=(3, -2)).compute()
    np.testing.assert_array_equal(got, gpix.maximum_filter(x, (15, 9), mode=mode, cval=0.25, origin=(3, -2)))
    d, x = data["rgb"]
    got = gd.minimum_filter(d, (5, 5, 1), mode=mode).compute()
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, gpix.minimum_filter(x, (5, 5, 1), mode=mode))


@pytest.mark.parametrize("mode", ["reflect", "wrap", "constant"])
def test_rank_filters(client, data, mode):
    d, x = data["f32"]
    got = gd.median_filter(d, (9, 7), mode=mode, cval=0.25, origin=(3, -2)).compute()
    np.testing.assert_array_equal(got, gpix.median_filter(x, (9, 7), mode=mode, cval=0.25, origin=(3, -2)))
    d, x = data["rgb"]
    got = gd.percentile_filter(d, 20, (5, 5, 1), mode=mode).compute()
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, gpix.percentile_filter(x, 20, (5, 5, 1), mode=mode))
    got = gd.rank_filter(d, -3, (3, 5, 1), mode=mode).compute()
    np.testing.assert_array_equal(got, gpix.rank_filter(x, -3, (3, 5, 1), mode=mode))
    disk = np.add.outer(np.arange(-4, 5) ** 2, np.arange(-4, 5) ** 2) <= 16
    d, x = data["f32"]
    got = gd.median_filter(d, footprint=disk, mode=mode, origin=(2, -1)).compute()
    np.testing.assert_array_equal(got, gpix.median_filter(x, footprint=disk, mode=mode, origin=(2, -1)))
    got = gd.minimum_filter(d, footprint=disk[:, :5], mode=mode).compute()
    np.testing.assert_array_equal(got, gpix.minimum_filter(x, footprint=disk[:, :5], mode=mode))


@pytest.mark.parametrize("mode", ["reflect", "wrap", "constant"])
def test_grey_morphology(client, data, mode):
    disk = np.add.outer(np.arange(-3, 4) ** 2, np.arange(-3, 4) ** 2) <= 9
    d, x = data["f32"]
    for name, kw in [("grey_dilation", dict(size=(4, 6), origin=(1, -2))), ("grey_opening", dict(footprint=disk)),
                     ("white_tophat", dict(footprint=disk[:, 2:], origin=(2, 0))),
                     ("morphological_gradient", dict(size=5))]:
        got = getattr(gd, name)(d, mode=mode, cval=0.25, **kw).compute()
        np.testing.assert_array_equal(got, getattr(gpix, name)(x, mode=mode, cval=0.25, **kw))
    got = gd.maximum_filter1d(d, 9, axis=0, mode=mode, origin=-2).compute()
    np.testing.assert_array_equal(got, gpix.maximum_filter1d(x, 9, axis=0, mode=mode, origin=-2))
    d, x = data["rgb"]
    got = gd.black_tophat(d, footprint=disk[:, :, None], mode=mode).compute()
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, gpix.black_tophat(x, footprint=disk[:, :, None], mode=mode))


def test_binary_morphology(client, data):
    d, x = data["f32"]
    mask, dmask = x > np.median(x), None
    dmask = da.from_array(mask, chunks=d.chunks)
    disk = np.add.outer(np.arange(-2, 3) ** 2, np.arange(-2, 3) ** 2) <= 4
    for name, kw in [("binary_erosion", dict()), ("binary_dilation", dict(structure=disk, origin=(1, 0))),
                     ("binary_opening", dict(structure=disk, iterations=2)),
                     ("binary_closing", dict(structure=np.ones((2, 3)), border_value=1))]:
        got = getattr(gd, name)(dmask, **kw).compute()
        assert got.dtype == bool
        np.testing.assert_array_equal(got, getattr(gpix, name)(mask, **kw), err_msg=name)
    with pytest.raises(NotImplementedError):
        gd.binary_erosion(dmask, iterations=0)


def test_origins_and_per_axis_modes(client, data):
    d, x = data["f32"]
    for mode, origin in [(["reflect", "wrap"], (2, -3)), (["wrap", "constant"], 0), ("nearest", (-1, 1))]:
        got = gd.uniform_filter(d, (7, 8), mode=mode, cval=0.5, origin=origin).compute()
        assert_close(got, gpix.uniform_filter(x, (7, 8), mode=mode, cval=0.5, origin=origin))
        got = gd.gaussian_filter(d, (2.0, 1.5), mode=mode, cval=0.5).compute()
        assert_close(got, gpix.gaussian_filter(x, (2.0, 1.5), mode=mode, cval=0.5))
    w = np.random.default_rng(2).standard_normal((4, 6))
    for origin in [(1, -3), (-2, 2)]:
        got = gd.convolve(d, w, mode="wrap", origin=origin).compute()
        assert_close(got, gpix.convolve(x, w, mode="wrap", origin=origin))
        got = gd.correlate(d, w, mode="reflect", origin=origin).compute()
        assert_close(got, gpix.correlate(x, w, mode="reflect", origin=origin))


def test_gaussian_and_stats(client, data):
    d, x = data["f64"]
    got = gd.gaussian_filter(d, (2.0, 3.5), mode="mirror").compute()
    assert_close(got, gpix.gaussian_filter(x, (2.0, 3.5), mode="mirror"))
    s = gd.local_stats(d, 15, stats=("mean", "var"))
    want = gpix.local_stats(x, 15, stats=("mean", "var"))
    assert s.std is None
    assert_close(s.mean.compute(), want.mean)
    assert_close(s.var.compute(), want.var)
    # Shifted windows across chunk edges.
    s = gd.local_stats(d, (7, 8), mode="reflect", origin=(2, -3), stats="var")
    assert_close(s.var.compute(), gpix.local_stats(x, (7, 8), mode="reflect", origin=(2, -3)).var)


def test_channels_last(client, data):
    d, x = data["rgb"]
    d, x = d.astype(np.float32), x.astype(np.float32)
    got = gd.uniform_filter(d, (5, 5, 1), mode="nearest").compute()
    assert_close(got, gpix.uniform_filter(x, (5, 5, 1), mode="nearest"))


def test_gradient_and_hessian_bit_for_bit(client, data):
    d, x = data["f64"]
    for got, want in zip(gd.gradient(d, 0.5, 2.0), gpix.gradient(x, 0.5, 2.0)):
        assert np.array_equal(got.compute(), want)
    for got, want in zip(gd.gradient(d, edge_order=2), gpix.gradient(x, edge_order=2)):
        assert np.array_equal(got.compute(), want)
    for got, want in zip(gd.hessian(d), gpix.hessian(x)):
        assert np.array_equal(got.compute(), want)
    with pytest.raises(NotImplementedError, match="coordinate"):
        gd.gradient(d, np.arange(d.shape[0]), 1.0)


def test_label_mean_exact_for_integer_images(client, data):
    (dimg, img), (dlab, labels) = data["rgb"], data["labels"]
    got = gd.label_mean(dimg, dlab).compute()
    assert np.array_equal(got, gpix.label_mean(img, labels))
    table = gd.label_table(dimg, dlab).compute()
    want = gpix.label_table(img, labels)
    for a, b in zip(table, want):
        assert np.array_equal(a, b)


def test_label_mean_float_within_rounding(client, data):
    (dimg, img), (dlab, labels) = data["f32"], data["labels"]
    got = gd.label_mean(dimg, dlab).compute()
    assert got.dtype == np.float32
    assert_close(got, gpix.label_mean(img, labels))


def test_quantize_uses_the_whole_images_palette(client, data):
    dimg, img = data["rgb"]
    # 32 levels per channel: a histogram of 32^3 colours, merged over chunks.
    dimg, img = dimg // 8, img // 8
    indices, palette = gd.quantize(dimg, colors=64)
    want_indices, want_palette = gpix.quantize(img, colors=64)
    assert np.array_equal(palette.compute(), want_palette)
    assert np.array_equal(indices.compute(), want_indices)
    _, plain = gd.quantize(dimg, colors=64, method="median-cut")
    assert np.array_equal(plain.compute(), gpix.quantize(img, colors=64, method="median-cut")[1])


@pytest.mark.parametrize("mode", ["reflect", "wrap", "constant"])
def test_one_axis_and_edge_filters(client, data, mode):
    d, x = data["f32"]
    w = [1.0, -3.0, 2.0, 0.5]
    for axis in [0, 1]:
        assert_close(gd.correlate1d(d, w, axis, mode=mode, origin=1).compute(),
                     gpix.correlate1d(x, w, axis, mode=mode, origin=1))
        assert_close(gd.convolve1d(d, w, axis, mode=mode, origin=-1).compute(),
                     gpix.convolve1d(x, w, axis, mode=mode, origin=-1))
        assert_close(gd.uniform_filter1d(d, 9, axis, mode=mode).compute(), gpix.uniform_filter1d(x, 9, axis, mode=mode))
        assert_close(gd.gaussian_filter1d(d, 3.0, axis, order=1, mode=mode).compute(),
                     gpix.gaussian_filter1d(x, 3.0, axis, order=1, mode=mode))
        assert_close(gd.sobel(d, axis, mode=mode).compute(), gpix.sobel(x, axis, mode=mode))
        assert_close(gd.prewitt(d, axis, mode=mode).compute(), gpix.prewitt(x, axis, mode=mode))
    assert_close(gd.laplace(d, mode=mode).compute(), gpix.laplace(x, mode=mode))


def test_halos_longer_than_an_axis():
    # The axis is taken whole instead (dask refuses such halos).
    x = np.random.default_rng(3).random((10, 20))
    d = da.from_array(x, chunks=(5, 10))
    for mode in ["reflect", "wrap"]:
        assert_close(gd.gaussian_filter1d(d, 3, axis=0, mode=mode).compute(scheduler="threads"),
                     gpix.gaussian_filter1d(x, 3, axis=0, mode=mode))
        assert_close(gd.gaussian_filter(d, 4.0, mode=mode).compute(scheduler="threads"),
                     gpix.gaussian_filter(x, 4.0, mode=mode))
