"""Conditional effects: linear terms reproduce their coefficients; weights and bands."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

import mmreg
from mmreg.results.conditional import ConditionalEffects


@pytest.fixture(scope="module")
def data():
    return mmreg.datasets.simulate_coalitions(
        n_groups=120, n_members=50, n_countries=8, seed=3, weights="estimated"
    )


@pytest.fixture(scope="module")
def lap(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mmreg.MMModel(data.attrs["formula"], data).fit()


@pytest.fixture(scope="module")
def mc(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mmreg.MMModel(data.attrs["formula"], data).fit(
            method="mcmc", draws=100, tune=50, chains=2, seed=1
        )


@pytest.mark.parametrize("var, coef", [("majority", "majority"), ("finance", "mm1.finance")])
def test_linear_slope_is_the_coefficient(lap, mc, var, coef):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for res in (lap, mc):
            # MCMC: all kept draws, so the estimate is the posterior mean of params
            n = 40 if not res.exact_posterior else 10**6
            ce = res.conditional_effects(var, kind="linear", n_points=7, draws=n)
            slope = np.diff(ce["estimate"]) / np.diff(ce[var].astype(float))
            np.testing.assert_allclose(slope, res.params[coef], rtol=1e-8)
            assert (ce["lower"] <= ce["estimate"] + 1e-12).all()
            assert (ce["estimate"] <= ce["upper"] + 1e-12).all()
            assert ce.attrs["kind"] == ("member" if var == "finance" else "main")


def test_rebuilt_from_data_gives_the_same_linear_main_effect(lap, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = lap.conditional_effects("majority", kind="linear", draws=20, seed=1)
        b = lap.conditional_effects("majority", data=data, kind="linear", draws=20, seed=1)
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-10)
    np.testing.assert_allclose(a["lower"], b["lower"], rtol=1e-10)


def test_weight_variable_effect_is_a_weight(lap):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ce = lap.conditional_effects("pseat", n=3, n_points=11, draws=40)
    assert ce.attrs["kind"] == "weight" and ce.attrs["group_size"] == 3
    assert (
        ((ce[["estimate", "lower", "upper"]] >= 0) & (ce[["estimate", "lower", "upper"]] <= 1))
        .all()
        .all()
    )
    # at the estimates: the logistic weight of a member with pseat among 2 average members
    p = lap.params
    mm = lap.model.design.mm[0]
    avg = float(np.mean(mm.covariate("pseat")))

    def raw(x):
        return 1 / (1 + 2 * np.exp(-(p["mm1.w.b0"] + p["mm1.w.b1"] * x)))

    expected = raw(ce["pseat"]) / (raw(ce["pseat"]) + 2 * raw(avg))
    np.testing.assert_allclose(ce["estimate"], expected, rtol=1e-8)


def test_response_scale_and_plot(lap):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ce = lap.conditional_effects("majority", draws=30)
    assert isinstance(ce, ConditionalEffects)
    fig = ce.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "majority" and ax.get_ylabel().startswith("prediction")
    (line,) = ax.get_lines()
    x, y = line.get_data()
    assert np.all(np.isfinite(y)) and len(x) == len(ce)
    np.testing.assert_allclose(y, ce["estimate"])


def test_unknown_variable(lap):
    with pytest.raises(mmreg.MMSpecError):
        lap.conditional_effects("nonsense")


def test_effects_frame_and_results_pickle(lap):
    import pickle

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ce = lap.conditional_effects("majority", kind="linear", draws=10)
    back = pickle.loads(pickle.dumps(ce))
    assert isinstance(back, ConditionalEffects) and back.equals(ce)
    assert back.attrs["variable"] == "majority"
    again = pickle.loads(pickle.dumps(lap))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ce2 = again.conditional_effects("majority", kind="linear", draws=10)
    np.testing.assert_allclose(ce2["lower"], ce["lower"])
