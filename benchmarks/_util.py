"""Shared helpers: single-threaded BLAS, timing, peak memory of a child process."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from contextlib import contextmanager

from threadpoolctl import threadpool_limits


def pin_blas() -> None:
    """One BLAS thread for the whole process (small matrices, fair timings)."""
    threadpool_limits(1)


def coalgov_or_none():
    """coalgov (with ``logdur``) for a benchmark, with BLAS pinned to one thread; ``None``
    after printing why when ``../shared/data/coalgov.csv`` is absent (the caller returns)."""
    from validation.reference_models import COALGOV, load_coalgov

    if not COALGOV.exists():
        print("skipped: ../shared/data/coalgov.csv not found")
        return None
    pin_blas()
    return load_coalgov()


def scale_data(n: int, family: str = "gaussian", weights: str = "equal"):
    """The simulated data of ``benchmarks/scale.py`` with ``n`` groups: about n/5 members
    (at least 20), 29 countries or n/1000, seed 1; its formula in ``attrs["formula"]``."""
    import mmreg

    return mmreg.datasets.simulate_coalitions(
        n_groups=n,
        n_members=max(n // 5, 20),
        n_countries=max(29, n // 1000),
        family=family,
        weights=weights,
        seed=1,
    )


@contextmanager
def timer():
    """``with timer() as t: ...`` then ``t()`` is the elapsed wall time in seconds."""
    t0 = time.perf_counter()
    box = {}
    yield lambda: box.get("t", time.perf_counter() - t0)
    box["t"] = time.perf_counter() - t0


def machine() -> str:
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def run_child(module: str, args: list[str], threads: int = 1) -> dict:
    """Run ``python -m module args`` in a fresh process; it prints one JSON line.

    The child's peak resident memory (``ru_maxrss``) is added as ``peak_mb``; its BLAS
    uses ``threads`` threads.
    """
    code = (
        "import json, resource, runpy, sys; sys.argv = [sys.argv[0]] + sys.argv[2:]; "
        f"out = __import__('{module}', fromlist=['child']).child(sys.argv[1:]); "
        "out['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
        "print(json.dumps(out))"
    )
    t = str(threads)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=t, OMP_NUM_THREADS=t, MKL_NUM_THREADS=t)
    proc = subprocess.run(
        [sys.executable, "-c", code, "x", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])
