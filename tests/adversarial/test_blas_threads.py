"""#13 class 11: every public numerical entry point runs with one BLAS thread.

The caller's environment allows two BLAS threads (set here with threadpoolctl, whatever
OPENBLAS_NUM_THREADS the test run uses); inside a public call, a probe placed in an inner
function reads the BLAS limit with ``threadpool_info`` and must see 1; after the call the
caller's limit is back. Not a timing test (the timing is benchmarks/threads.py).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import mmreg
import mmreg.results.diagnostics as diagnostics
import mmreg.results.plots.posterior as plots
import mmreg.results.vardecomp as vardecomp
from mmreg import _threads
from mmreg.errors import MMWarning
from mmreg.inference import latent


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.fixture(scope="module")
def data():
    return mmreg.datasets.simulate_coalitions(n_groups=120, n_members=50, n_countries=8, seed=4)


@pytest.fixture(scope="module")
def fits(data):
    model = mmreg.MMModel(data.attrs["formula"], data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MMWarning)
        return {
            "model": model,
            "laplace": model.fit(),
            "mcmc": model.fit(method="mcmc", draws=64, tune=10, chains=2, seed=1),
        }


# (entry point, module whose function is probed, name of the probed function)
CALLS = {
    "fit laplace": (lambda f: f["model"].fit(), latent.LatentModel, "assemble"),
    "fit mcmc": (
        lambda f: f["model"].fit(method="mcmc", draws=32, tune=4, chains=1, seed=2),
        latent.LatentModel,
        "assemble",
    ),
    "loglike": (lambda f: f["model"].loglike(f["laplace"].params), latent.LatentModel, "assemble"),
    "simulate": (
        lambda f: f["model"].simulate(f["laplace"].params, seed=1),
        latent.LatentModel,
        "assemble",
    ),
    "laplace summary": (lambda f: f["laplace"].summary(), latent.LatentModel, "assemble"),
    "laplace conf_int": (
        lambda f: f["laplace"].conf_int(alpha=0.1, sd_method="profile"),
        latent.LatentModel,
        "assemble",
    ),
    "laplace var_decomp": (lambda f: f["laplace"].var_decomp(), vardecomp, "var_decomp"),
    "laplace predict": (lambda f: f["laplace"].predict(), latent.LatentModel, "assemble"),
    "mcmc summary": (lambda f: f["mcmc"].summary(), diagnostics, "summarize"),
    "mcmc mcmc_diag": (lambda f: f["mcmc"].mcmc_diag(), diagnostics, "summarize"),
    "mcmc var_decomp": (lambda f: f["mcmc"].var_decomp(), vardecomp, "var_decomp"),
    "mcmc predict": (lambda f: f["mcmc"].predict(), latent.LatentModel, "assemble"),
    "mcmc plot_trace": (lambda f: f["mcmc"].plot_trace(["majority"]), plots, "gaussian_kde"),
    "mcmc to_inference_data": (
        lambda f: f["mcmc"].to_inference_data(),
        diagnostics,
        "ensemble_order",
    ),
}


@pytest.mark.parametrize("entry", list(CALLS))
def test_public_call_runs_with_one_blas_thread(fits, monkeypatch, entry):
    call, owner, name = CALLS[entry]
    if entry == "mcmc to_inference_data":
        pytest.importorskip("arviz")
    inner = getattr(owner, name)
    seen: list[list[int]] = []

    def probe(*args, **kwargs):
        seen.append(_blas_threads())
        return inner(*args, **kwargs)

    monkeypatch.setattr(owner, name, probe)
    # diagnostics computed by fit() are cached on the results: start without them, so that
    # the probed computation runs inside the call
    monkeypatch.delitem(fits["mcmc"].__dict__, "_diag_cache", raising=False)
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        if max(before) < 2:
            pytest.skip("this BLAS cannot be given two threads")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MMWarning)
            call(fits)
        after = _blas_threads()
    assert seen, f"{entry}: the probe {name} was not reached"
    assert all(max(threads) == 1 for threads in seen), f"{entry}: BLAS threads {seen}"
    assert after == before  # the caller's setting is restored


def test_nested_public_calls_only_set_the_limit_once(fits, monkeypatch):
    calls = []
    ctrl = __import__("mmreg.inference.cholmod", fromlist=["_controller"])._controller()
    real = ctrl.limit

    def counting(*args, **kwargs):
        calls.append(kwargs.get("limits"))
        return real(*args, **kwargs)

    monkeypatch.setattr(ctrl, "limit", counting)
    fits["laplace"].summary()  # summary -> conf_int -> cov_params ... all public
    assert calls.count(1) == 1


def test_keep_switch_leaves_the_threads_alone(fits, monkeypatch):
    monkeypatch.setenv("MMREG_BLAS_THREADS", "keep")
    assert not _threads.enabled()
    seen = []
    with threadpool_limits(limits=2, user_api="blas"):
        if max(_blas_threads()) < 2:
            pytest.skip("this BLAS cannot be given two threads")
        with _threads.single_blas_thread():
            seen.append(max(_blas_threads()))
    assert seen == [2]
    assert np.isfinite(fits["laplace"].params).all()
