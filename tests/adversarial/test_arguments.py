"""#13 class 7: every bad option of ``fit()``, ``mmreg.bml()`` and ``MMModel()`` is refused
before any work with an ``MMSpecError`` naming the argument; correct spellings give the
same numbers as before.

"Before any work" is proved by replacing the fitting entry points (``MMModel._fit``,
the Laplace optimiser, emcee's sampler, ``MMModel`` inside ``bml``) with functions that
fail the test if called.
"""

from __future__ import annotations

import warnings

import emcee
import numpy as np
import pytest

import mmreg
import mmreg.formula.api as mmf
from mmreg.inference import laplace as laplace_mod
from mmreg.inference import mcmc as mcmc_mod
from mmreg.model import MMModel

SIM = {"n_groups": 60, "n_members": 30, "n_countries": 6, "seed": 1}
TINY = {"draws": 16, "tune": 2, "chains": 1}


def _no_work(*args, **kwargs):
    raise AssertionError("work started before the options were checked")


@pytest.fixture(scope="module")
def data():
    return mmreg.datasets.simulate_coalitions(**SIM)


@pytest.fixture(scope="module")
def model(data):
    return MMModel(data.attrs["formula"], data)  # 3 free hyperparameters


@pytest.fixture
def no_work(monkeypatch):
    """Any fitting work fails the test."""
    monkeypatch.setattr(MMModel, "_fit", _no_work)
    monkeypatch.setattr(mcmc_mod, "fit_laplace", _no_work)
    monkeypatch.setattr(laplace_mod, "fit_laplace", _no_work)
    monkeypatch.setattr(emcee.EnsembleSampler, "run_mcmc", _no_work)


class _Pool:  # no map()
    pass


class _MapPool:
    def map(self, fn, it):
        return list(map(fn, it))


# (options, fragment the message must contain); each is one case
BAD_MCMC = [
    ({"seed": "abc"}, "seed"),
    ({"seed": -1}, "seed"),
    ({"seed": 2**70}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"seed": True}, "seed"),
    ({"seed": False}, "seed"),
    ({"seed": np.float64(2.0)}, "seed"),
    ({"seed": [1, 2]}, "seed"),
    ({"draws": 0}, "draws"),
    ({"draws": -5}, "draws"),
    ({"draws": 1.5}, "draws"),
    ({"draws": True}, "draws"),
    ({"draws": "100"}, "draws"),
    ({"draws": None}, "draws"),
    ({"draws": 10.0}, "draws"),
    ({"tune": -1}, "tune"),
    ({"tune": 2.0}, "tune"),
    ({"tune": False}, "tune"),
    ({"tune": "60"}, "tune"),
    ({"tune": 10**12}, "tune"),
    ({"tune": 10**30}, "tune"),
    ({"draws": 10**13}, "draws"),
    ({"chains": 10**12}, "chains"),
    ({"chains": 0}, "chains"),
    ({"chains": 1.5}, "chains"),
    ({"chains": True}, "chains"),
    ({"chains": "4"}, "chains"),
    ({"thin": 0}, "thin"),
    ({"thin": 2.5}, "thin"),
    ({"thin": 17}, "thin"),
    ({"thin": True}, "thin"),
    ({"walkers": 2}, "walkers"),
    ({"walkers": 5}, "walkers"),
    ({"walkers": True}, "walkers"),
    ({"walkers": 16.0}, "walkers"),
    ({"walkers": -16}, "walkers"),
    ({"particles": 0}, "particles"),
    ({"particles": -3}, "particles"),
    ({"particles": 2.5}, "particles"),
    ({"particles": True}, "particles"),
    ({"cores": 0}, "cores"),
    ({"cores": 1.5}, "cores"),
    ({"cores": True}, "cores"),
    ({"cores": 2, "pool": _MapPool()}, "pool"),
    ({"progress": "yes"}, "progress"),
    ({"progress": 1}, "progress"),
    ({"backend": 3.5}, "backend"),
    ({"backend": ["run.h5"]}, "backend"),
    ({"pool": _Pool()}, "pool"),
    ({"pool": "processes"}, "pool"),
    ({"moves": "de"}, "moves"),
    ({"moves": [1, 2]}, "moves"),
    ({"moves": [(emcee.moves.DEMove(), -1.0)]}, "moves"),
    ({"moves": []}, "moves"),
    ({"laplace": "fit"}, "laplace"),
    ({"start": [1.0, 2.0]}, "start"),
    ({"start": {"nope": 1.0}}, "nope"),
    ({"start": {"Intercept": 0.0}}, "Intercept"),
    ({"start": {"sigma": -1.0}}, "sigma"),
    ({"start": {"sigma": "a"}}, "sigma"),
    ({"start": "abc"}, "start"),
    ({"start": [np.nan, 0.0, 0.0]}, "start"),
    ({"start": 3.0}, "start"),
    ({"drawz": 10}, "'draws'"),
    ({"n_iter": 10}, "n_iter"),
    ({"nwalkers": 16}, "walkers"),
    ({"warmup": 10}, "tune"),
    ({"maxiter": 10}, "maxiter"),
]


@pytest.mark.parametrize("opts,fragment", BAD_MCMC, ids=[repr(o)[:40] for o, _ in BAD_MCMC])
def test_bad_mcmc_option_refused_before_any_work(model, no_work, opts, fragment):
    with pytest.raises(mmreg.MMSpecError) as err:
        model.fit(method="mcmc", **{**TINY, **opts})
    assert fragment in str(err.value)


BAD_LAPLACE = [
    ({"seed": 1}, "seed"),
    ({"draws": 100}, "draws"),
    ({"maxiter": 0}, "maxiter"),
    ({"maxiter": 1.5}, "maxiter"),
    ({"maxiter": True}, "maxiter"),
    ({"start": [0.0]}, "start"),
    ({"start": {"sigma.mm1": 0.0}}, "sigma.mm1"),
    ({"start": {"sigma.mm1": np.inf}}, "sigma.mm1"),
    ({"stat": [0.0, 0.0, 0.0]}, "'start'"),
    ({"n_iter": 5}, "n_iter"),
]


@pytest.mark.parametrize("opts,fragment", BAD_LAPLACE, ids=[repr(o)[:40] for o, _ in BAD_LAPLACE])
def test_bad_laplace_option_refused_before_any_work(model, no_work, opts, fragment):
    with pytest.raises(mmreg.MMSpecError) as err:
        model.fit(**opts)
    assert fragment in str(err.value)


@pytest.mark.parametrize("method", ["bayes", "", 3, None, "mcmc2"])
def test_bad_method(model, no_work, method):
    with pytest.raises(mmreg.MMSpecError, match="method"):
        model.fit(method=method)


def test_unknown_keyword_lists_valid_options(model, no_work):
    with pytest.raises(mmreg.MMSpecError) as err:
        model.fit(method="mcmc", drawz=10)
    msg = str(err.value)
    assert "did you mean 'draws'" in msg
    for opt in ("draws", "tune", "chains", "walkers", "seed", "backend"):
        assert opt in msg


def test_absurd_tune_says_how_much_memory(model, no_work):
    with pytest.raises(mmreg.MMSpecError, match=r"tune=1000000000000.*GB of memory"):
        model.fit(method="mcmc", tune=10**12)


def test_walkers_rule_follows_dimension(data, no_work):
    """walkers >= 2 x free hyperparameters: 5 free with an estimated weight function."""
    df = mmreg.datasets.simulate_coalitions(weights="estimated", **SIM)
    m = MMModel(df.attrs["formula"], df)
    assert m.space.dim == 5
    with pytest.raises(mmreg.MMSpecError, match="walkers must be None or an integer >= 10"):
        m.fit(method="mcmc", walkers=8)


@pytest.mark.parametrize("bad", ["abc", -1, 2**70, 1.5, True])
def test_fit_mcmc_called_directly_checks_too(model, monkeypatch, bad):
    monkeypatch.setattr(mcmc_mod, "fit_laplace", _no_work)
    with pytest.raises(mmreg.MMSpecError, match="seed"):
        mcmc_mod.fit_mcmc(model, seed=bad, **TINY)


# ------------------------------------------------------------------ bml()
BAD_BML = [
    ({"n_iter": 10, "n_burnin": 20}, "n_iter"),
    ({"n_iter": 1.5}, "n_iter"),
    ({"n_iter": True}, "n_iter"),
    ({"n_burnin": -1}, "n_burnin"),
    ({"n_burnin": "5"}, "n_burnin"),
    ({"n_chains": 0}, "n_chains"),
    ({"n_chains": 2.0}, "n_chains"),
    ({"n_thin": 0}, "n_thin"),
    ({"seed": "abc"}, "seed"),
    ({"seed": -1}, "seed"),
    ({"seed": 2**70}, "seed"),
    ({"run": "yes"}, "run"),
    ({"progress": 1}, "progress"),
    ({"draws": 100}, "calls it n_iter"),
    ({"chains": 2}, "calls it n_chains"),
    ({"n_iters": 100}, "did you mean 'n_iter'"),
    ({"n.iter": 100}, "write n_iter"),
]


@pytest.mark.parametrize("opts,fragment", BAD_BML, ids=[repr(o)[:40] for o, _ in BAD_BML])
def test_bad_bml_argument_refused_before_any_work(data, monkeypatch, opts, fragment):
    monkeypatch.setattr("mmreg.bml_compat.MMModel", _no_work)
    with pytest.raises(mmreg.MMSpecError) as err:
        mmreg.bml(data.attrs["formula"], data, **opts)
    assert fragment in str(err.value)


# ------------------------------------------------------------------ MMModel / mmf.mmm
BAD_MODEL = [
    ({"family": "gausian"}, "family"),
    ({"family": 3}, "family"),
    ({"family": None}, "family"),
    ({"family": "cox", "cox_intervals": 0}, "cox_intervals"),
    ({"family": "cox", "cox_intervals": 2.5}, "cox_intervals"),
    ({"family": "cox", "cox_intervals": "3"}, "cox_intervals"),
    ({"family": "cox", "cox_intervals": True}, "cox_intervals"),
    ({"cox_intervals": 3}, "cox_intervals"),
    ({"family": mmreg.families.get_family("gaussian"), "cox_intervals": 3}, "cox_intervals"),
    ({"priors": 5}, "priors"),
    ({"priors": {"sigma.mm1": 3}}, "sigma.mm1"),
    ({"priors": [1, 2]}, "prior"),
]


@pytest.mark.parametrize("opts,fragment", BAD_MODEL, ids=[repr(o)[:40] for o, _ in BAD_MODEL])
def test_bad_model_argument(data, opts, fragment):
    formula = data.attrs["formula"]
    if opts.get("family") == "cox":
        formula = formula.replace("y ~", "Surv(dur, event) ~")
        data = data.assign(dur=1.0 + data["gid"] % 7, event=1)
    with pytest.raises(mmreg.MMSpecError) as err:
        mmf.mmm(formula, data, **opts)
    assert fragment in str(err.value)


# ------------------------------------------------------------------ correct spellings
def test_method_is_case_insensitive_same_numbers(model):
    ref = model.fit()
    for spelling in ("Laplace", " LAPLACE "):
        res = model.fit(method=spelling)
        assert np.array_equal(res.params.to_numpy(), ref.params.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a = model.fit(method="MCMC", seed=3, **TINY)
        b = model.fit(method="mcmc", seed=3, **TINY)
    assert np.array_equal(a.draws.to_numpy(), b.draws.to_numpy())


@pytest.mark.parametrize("kind", ["numpy int", "SeedSequence"])
def test_seed_objects_equal_their_integer(model, kind):
    ss = np.random.SeedSequence(11)
    seed, as_int = (
        (np.int64(11), 11) if kind == "numpy int" else (ss, int(ss.generate_state(1, np.uint64)[0]))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a = model.fit(method="mcmc", seed=seed, **TINY)
        b = model.fit(method="mcmc", seed=as_int, **TINY)
    assert np.array_equal(a.draws.to_numpy(), b.draws.to_numpy())


def test_generator_seed_is_reproducible(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a = model.fit(method="mcmc", seed=np.random.default_rng(4), **TINY)
        b = model.fit(method="mcmc", seed=np.random.default_rng(4), **TINY)
    assert np.array_equal(a.draws.to_numpy(), b.draws.to_numpy())


def test_start_by_name_reaches_the_same_optimum(model):
    """A dict start (natural scale) and an array start both converge to the default MAP."""
    ref = model.fit()
    by_name = model.fit(start={"sigma.mm1": 0.2, "sigma": 1.5})
    arr = model.fit(start=np.zeros(model.space.dim))
    for res in (by_name, arr):
        np.testing.assert_allclose(
            res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-4, atol=1e-5
        )


def test_mcmc_start_by_name_starts_its_laplace_fit(model, monkeypatch):
    """start= of an MCMC run reaches the Laplace fit, converted to the unconstrained scale."""
    seen = []

    def capture(posterior, u0, *args, **kwargs):
        seen.append(np.asarray(u0))
        raise RuntimeError("captured")

    monkeypatch.setattr(mcmc_mod, "fit_laplace", capture)
    with pytest.raises(RuntimeError, match="captured"):
        model.fit(method="mcmc", start={"sigma.mm1": 0.2, "sigma.hm1": 0.3, "sigma": 1.5}, **TINY)
    np.testing.assert_allclose(seen[0], np.log([0.2, 0.3, 1.5]), rtol=1e-12)
