"""A zarr array larger than the memory its workers may use, filtered chunk by
chunk with gpix on a dask.distributed LocalCluster and written back to zarr.

    pip install ./python "dask[array]" distributed zarr
    python python/examples/dask_zarr.py            # 20000² float32 (1.6 GB)
    python python/examples/dask_zarr.py --size 4000   # a quick look

Makes the input store on first use (a smooth random field, 2000² chunks),
then computes the local mean and variance over 15×15 windows
(gpix.dask.local_stats, reflect borders: the whole-array call's numbers)
into an output zarr group, with a progress bar, and prints the wall time
and the peak memory of the workers (sampled) and of this process.
"""

import argparse
import pathlib
import resource
import tempfile
import threading
import time

import dask.array as da
import numpy as np
import zarr
from distributed import Client, LocalCluster, progress, wait

import gpix.dask as gd


def make_input(path, n, chunk):
    """A smooth random field: noise blurred per chunk (made on the workers)."""
    rs = da.random.RandomState(0)
    x = rs.standard_normal((n, n), chunks=chunk).astype(np.float32)
    x = gd.uniform_filter(x, 9, mode="wrap") * 3 + 100
    x.to_zarr(str(path), overwrite=True)


def worker_rss(client):
    import psutil  # installed with distributed

    return sum(client.run(lambda: psutil.Process().memory_info().rss).values())


def sample_peak(client, stop, peak):
    while not stop.is_set():
        try:
            peak[0] = max(peak[0], worker_rss(client))
        except Exception:  # a worker restarting: skip the sample
            pass
        stop.wait(0.25)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=20000)
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="600MB", help="per worker (its Python, numpy and gpix take about 150 MB)")
    ap.add_argument("--dir", default=None, help="where the stores go (default: a temp dir)")
    args = ap.parse_args()
    base = pathlib.Path(args.dir or tempfile.mkdtemp(prefix="gpix-zarr-"))
    src, dst = base / f"input-{args.size}.zarr", base / "stats.zarr"
    cluster = LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True,
        memory_limit=args.memory_limit, host="127.0.0.1", dashboard_address=None,
    )
    with cluster, Client(cluster) as client:
        if not src.exists():
            print(f"making {src} ({args.size}² float32, {args.size**2 * 4 / 1e9:.1f} GB)")
            make_input(src, args.size, args.chunk)
        x = da.from_zarr(str(src))
        limit = args.workers * cluster.workers[0].memory_manager.memory_limit if hasattr(
            cluster.workers[0], "memory_manager") else None
        print(f"input {x.shape} {x.dtype} in {x.npartitions} chunks of {x.chunksize}; "
              f"{args.workers} workers, {args.memory_limit} each")
        stats = gd.local_stats(x, 15, stats=("mean", "var"))
        out = zarr.open_group(str(dst), mode="w")
        writes = [
            da.to_zarr(stats.mean, out.create_array("mean", shape=x.shape, chunks=x.chunksize, dtype=x.dtype),
                       compute=False),
            da.to_zarr(stats.var, out.create_array("var", shape=x.shape, chunks=x.chunksize, dtype=x.dtype),
                       compute=False),
        ]
        stop, peak = threading.Event(), [0]
        sampler = threading.Thread(target=sample_peak, args=(client, stop, peak), daemon=True)
        sampler.start()
        start = time.perf_counter()
        futures = client.compute(writes)
        progress(futures)
        wait(futures)
        for f in futures:
            f.result()
        elapsed = time.perf_counter() - start
        stop.set()
        sampler.join()
        mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(f"\nlocal mean + variance 15x15 of {args.size}² float32 -> {dst}: {elapsed:.1f} s; "
              f"peak worker memory {peak[0] / 1e6:.0f} MB (sampled, all workers), "
              f"this process {mine / 1e6:.0f} MB; input {x.nbytes / 1e9:.2f} GB, outputs {2 * x.nbytes / 1e9:.2f} GB")
        if limit:
            print(f"(worker memory limit in all: {limit / 1e6:.0f} MB)")
        m = zarr.open_array(str(dst / "mean"), mode="r")
        print(f"check: mean[0, :3] = {np.asarray(m[0, :3])}")


if __name__ == "__main__":
    main()
