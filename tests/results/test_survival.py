"""Survival curves, medians and hazard ratios of Weibull and Cox fits."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

import mmreg
from mmreg.results.draws import joint_draws, linear_predictor
from mmreg.results.survival import survival_draws


def _fit(family, method="laplace"):
    df = mmreg.datasets.simulate_coalitions(
        n_groups=80, n_members=40, n_countries=6, family=family, seed=1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = {} if method == "laplace" else dict(method="mcmc", draws=50, tune=30, chains=2, seed=1)
        return mmreg.MMModel(df.attrs["formula"], df, family=family).fit(**kw), df


@pytest.fixture(scope="module", params=["laplace", "mcmc"])
def weibull(request):
    return _fit("weibull", request.param)[0]


@pytest.fixture(scope="module")
def cox():
    return _fit("cox")


def test_weibull_curves_equal_closed_form_at_the_draws(weibull):
    times = np.array([0.0, 50.0, 200.0, 800.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        S, t, _ = survival_draws(weibull, times, draws=30, seed=4)
        draws = joint_draws(weibull, n=30, seed=np.random.default_rng(4))
    for s, (h, z, _) in zip(S, draws, strict=True):
        eta = linear_predictor(weibull.model, h, z)
        r = h.phi[0]
        lam = np.exp(-eta * r)  # JAGS: t ~ dweib(r, lambda), S = exp(-lambda t^r)
        np.testing.assert_allclose(s, np.exp(-lam[:, None] * t[None, :] ** r), rtol=1e-12)


def test_weibull_predict_survival_and_median(weibull):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sv = weibull.predict_survival(times=[0, 100, 400], draws=40)
        med = weibull.median_survival(draws=40)
    assert len(sv) == 3 * weibull.nobs
    assert (sv.loc[sv["time"] == 0, "estimate"] == 1).all()
    for _, part in sv.groupby("group"):
        assert np.all(np.diff(part["estimate"]) <= 1e-12)
    # S(median) = 1/2 at the point estimate of a Laplace fit
    if not weibull.exact_posterior:
        g = med.index[0]
        one = weibull.predict_survival(times=[med.loc[g, "estimate"]], groups=[g], draws=10)
        assert one["estimate"].iloc[0] == pytest.approx(0.5, rel=1e-10)
    assert (med["lower"] <= med["upper"]).all()


def test_hazard_ratios(weibull):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hr = weibull.hazard_ratios(draws=200)
    assert "Intercept" not in hr.index and "majority" in hr.index
    if not weibull.exact_posterior:
        p = weibull.params
        assert hr.loc["majority", "hazard_ratio"] == pytest.approx(
            np.exp(-p["shape"] * p["majority"])
        )
    assert (hr["lower"] <= hr["upper"]).all()


def test_cox_curves_use_the_baseline(cox):
    res, df = cox
    times = np.linspace(0, df["dur"].max(), 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sv = res.predict_survival(times=times, draws=30)
        hr = res.hazard_ratios(draws=100)
    bh = res.baseline_hazard()
    eta = res.predict(kind="linear")
    g = eta.index[0]
    H0 = np.array([bh.loc[bh["time"] <= t, "mean"].sum() for t in times])
    est = sv.loc[sv["group"] == g, "estimate"].to_numpy()
    np.testing.assert_allclose(est, np.exp(-H0 * np.exp(eta.loc[g])), rtol=1e-10)
    assert hr.loc["majority", "hazard_ratio"] == pytest.approx(np.exp(res.params["majority"]))


def test_plot_survival_figure(weibull):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = weibull.plot_survival(draws=30)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time" and ax.get_ylabel() == "survival probability"
    lines = ax.get_lines()
    assert len(lines) == 4
    for ln in lines:
        x, y = (np.asarray(v, float) for v in ln.get_data())
        assert np.all(np.isfinite(y)) and y.min() >= 0 and y.max() <= 1 and len(x) > 1


def test_survival_needs_a_survival_family():
    res, _ = _fit("gaussian")
    with pytest.raises(mmreg.MMSpecError):
        res.predict_survival()
