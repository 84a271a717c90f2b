"""Parallel MCMC: ``pool=`` (any executor with ``map``) gives bit-identical draws.

Reference: the serial run with the same seed.  Every evaluation's randomness is seeded from
the evaluated point (``mmreg.inference.mcmc``), so evaluating the walkers of a step in other
threads or processes must not change a single bit of the draws.  The pools are wrapped in a
proxy that counts ``map`` calls, so a pool that were silently ignored would fail the tests.

Models are tiny (150 governments, 60 parties, 10 countries) with few draws so that the file
runs in well under a minute: Gaussian (collapsed, exact marginal) and Weibull
(pseudo-marginal importance sampling, 16 particles).
"""

from __future__ import annotations

import multiprocessing
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from functools import cache

import numpy as np
import pandas as pd
import pytest

import mmreg

pytestmark = pytest.mark.slow  # deselect with -m "not slow"

SIM = {"n_groups": 150, "n_members": 60, "n_countries": 10, "seed": 3}
# sigma.mm1 = 1: a member SD that the small data identify (a flat Laplace direction makes
# the default starting points spread far; that is not what this file is about)
TRUTH = {"sigma.mm1": 1.0}
RUN = {"method": "mcmc", "draws": 16, "tune": 4, "chains": 2}


@cache
def _model(key: str) -> mmreg.MMModel:
    """``"gaussian"``, ``"weibull"`` (weights 1/n) or ``"gaussian-estimated"`` (weights
    ``1 / (1 + (n - 1) exp(-(b0 + b1 pseat)))`` with two sampled weight parameters)."""
    family, _, weights = key.partition("-")
    df = mmreg.datasets.simulate_coalitions(
        family=family, weights=weights or "equal", **SIM, **TRUTH
    )
    return mmreg.MMModel(df.attrs["formula"], df, family=family)


def _fit(key: str, seed: int = 1, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # emcee: -inf - -inf in rejected moves
        return _model(key).fit(seed=seed, **RUN, **kw)


@cache
def _serial_draws(key: str) -> pd.DataFrame:
    return _fit(key).draws


def _serial(key: str) -> np.ndarray:
    return _serial_draws(key).to_numpy()


class CountingPool:
    """Delegates ``map`` to an executor and counts the calls and the mapped items."""

    def __init__(self, executor):
        self.executor = executor
        self.calls = 0
        self.items = 0

    def map(self, fn, iterable):
        items = list(iterable)
        self.calls += 1
        self.items += len(items)
        return list(self.executor.map(fn, items))


def _expected_evaluations() -> int:
    """log-posterior evaluations by emcee: the initial ensemble, then one per walker-step."""
    walkers = 16  # default: max(16, 2 dim + 2) for dim <= 7
    steps = RUN["tune"] + -(-RUN["draws"] // walkers)
    return RUN["chains"] * walkers * (steps + 1)


FAMILIES = ["gaussian", "weibull"]


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_twice_is_bit_identical(family):
    again = _fit(family).draws.to_numpy()
    assert again.shape[0] == RUN["chains"] * RUN["draws"]
    assert np.array_equal(again, _serial(family))


@pytest.mark.parametrize("family", FAMILIES)
def test_different_seeds_differ(family):
    other = _fit(family, seed=2).draws
    ref = _serial_draws(family)
    assert other.shape == ref.shape
    # not one parameter may coincide in any draw: every walker moved differently
    for name in _model(family).param_names:
        assert not np.any(other[name].to_numpy() == ref[name].to_numpy()), name


@pytest.fixture(scope="module")
def process_pool():
    with ProcessPoolExecutor(max_workers=2) as ex:
        yield ex


@pytest.fixture(scope="module")
def mp_pool():
    # spawn: no fork of a process that may already run threads (BLAS, other pools)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        yield pool


@pytest.fixture(scope="module")
def thread_pool():
    with ThreadPoolExecutor(max_workers=4) as ex:
        yield ex


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("kind", ["threads", "processes", "multiprocessing"])
def test_pool_gives_bit_identical_draws(family, kind, request):
    fixture = {"threads": "thread_pool", "processes": "process_pool", "multiprocessing": "mp_pool"}[
        kind
    ]
    pool = CountingPool(request.getfixturevalue(fixture))
    draws = _fit(family, pool=pool).draws.to_numpy()
    # every log-posterior evaluation of the sampler went through the pool
    assert pool.items == _expected_evaluations()
    assert np.array_equal(draws, _serial(family))


def test_dask_executor_gives_bit_identical_draws():
    # the docs' dask recipe (Laplace vs MCMC, "Parallel and distributed runs"); dask is not a
    # dependency, so this runs only where it is installed
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pool = CountingPool(client.get_executor())
        draws = _fit("weibull", pool=pool).draws.to_numpy()
    assert pool.items == _expected_evaluations()
    assert np.array_equal(draws, _serial("weibull"))


def test_process_pool_with_weight_parameters(process_pool):
    # weights change with every evaluated point: each worker computes its own
    pool = CountingPool(process_pool)
    draws = _fit("gaussian-estimated", pool=pool).draws.to_numpy()
    assert pool.items == _expected_evaluations()
    assert np.array_equal(draws, _serial("gaussian-estimated"))


def test_assembled_design_is_not_overwritten_by_the_next_evaluation():
    """Deterministic check of what thread pools need: the design assembled for one point
    stays valid while another point is assembled."""
    latent = _model("gaussian-estimated").latent
    D1, R1, off1 = latent.assemble((np.array([0.0, 0.0]),))
    D0, R0, off0 = D1.copy(), R1.copy(), off1.copy()
    latent.assemble((np.array([-1.0, 4.0]),))  # another walker, e.g. in another thread
    assert np.array_equal(D1, D0) and np.array_equal(off1, off0)
    assert (R1 != R0).nnz == 0


def test_cores_gives_bit_identical_draws():
    draws = _fit("gaussian", cores=2).draws.to_numpy()
    assert np.array_equal(draws, _serial("gaussian"))


def test_pool_ignores_changes_to_the_data_after_construction(process_pool):
    df = mmreg.datasets.simulate_coalitions(**SIM, **TRUTH)
    model = mmreg.MMModel(df.attrs["formula"], df, family="gaussian")
    serial = model.fit(seed=1, **RUN).draws.to_numpy()
    df["y"] = df["y"] * 3.0  # the user reuses their frame; the model must not notice
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pooled = model.fit(seed=1, pool=process_pool, **RUN).draws.to_numpy()
    assert np.array_equal(pooled, serial)
