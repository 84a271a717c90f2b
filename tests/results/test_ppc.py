"""Posterior predictive draws and pp_check figures, for every family and both methods."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

import mmreg

FAMILIES = ["gaussian", "binomial", "weibull", "cox"]


@pytest.fixture(scope="module", params=FAMILIES)
def fit(request):
    fam = request.param
    df = mmreg.datasets.simulate_coalitions(
        n_groups=80, n_members=40, n_countries=6, family=fam, seed=5
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mmreg.MMModel(df.attrs["formula"], df, family=fam).fit()


def _finite_points(ax) -> int:
    n = 0
    for ln in ax.get_lines():
        x, y = (np.asarray(v, float) for v in ln.get_data())
        assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))
        n += x.size
    return n


def test_posterior_predictive_layout(fit):
    sims = fit.posterior_predictive(draws=10, seed=0)
    assert len(sims) == 10
    obs = fit.model.design.outcome
    for s in sims:
        for k, v in s.items():
            if k in obs and np.ndim(obs[k]) == 1:
                assert v.shape == np.shape(obs[k]) and np.all(np.isfinite(v))
    again = fit.posterior_predictive(draws=10, seed=0)
    key = next(iter(sims[0]))
    np.testing.assert_array_equal(sims[3][key], again[3][key])


def test_pp_check_density_figure(fit):
    fig = fit.pp_check(draws=15, seed=1)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    labels = {ln.get_label() for ln in ax.get_lines()}
    assert "y_rep" in labels
    assert _finite_points(ax) > 0
    assert "y" in labels or len(ax.patches) > 0  # observed curve or bars


def test_pp_check_stat_shows_observed_value(fit):
    fig = fit.pp_check(kind="stat", stat="mean", draws=30, seed=2)
    ax = fig.axes[0]
    key = "y" if "y" in fit.model.design.outcome else "time"
    obs = float(np.mean(fit.model.design.outcome[key]))
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "mean(y)"]
    assert line.get_xdata()[0] == pytest.approx(obs)
    assert sum(p.get_height() for p in ax.patches) == 30
    assert ax.get_xlabel() == "mean" and "p =" in ax.get_title()


def test_pp_check_mcmc_and_bad_kind():
    df = mmreg.datasets.simulate_coalitions(n_groups=60, n_members=30, n_countries=5, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mmreg.MMModel(df.attrs["formula"], df).fit(
            method="mcmc", draws=50, tune=20, chains=2, seed=1
        )
    fig = res.pp_check(kind="stat", stat=np.max, draws=20, seed=0)
    assert fig.axes[0].get_xlabel() == "max"
    with pytest.raises(mmreg.MMSpecError):
        res.pp_check(kind="violin")
