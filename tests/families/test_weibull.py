"""Weibull AFT family: simulation recovers the parameters (lifelines), censoring, moments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import WeibullAFTFitter
from scipy import stats

from mmreg.errors import MMDataError
from mmreg.families import get_family


def test_simulate_recovers_shape_and_coefficients_with_lifelines():
    rng = np.random.default_rng(123)
    n, r = 4000, 1.6
    x = rng.normal(size=n)
    eta = 0.5 + 0.3 * x
    bf = get_family("weibull").bind({"time": np.ones(n), "event": np.ones(n)})
    sim = bf.simulate(eta, (r,), rng)
    assert sim["event"].all()  # the data have no censoring
    df = pd.DataFrame({"t": sim["time"], "e": sim["event"], "x": x})
    fit = WeibullAFTFitter().fit(df, "t", "e")
    truth = {("lambda_", "Intercept"): 0.5, ("lambda_", "x"): 0.3, ("rho_", "Intercept"): np.log(r)}
    for key, val in truth.items():
        assert abs(fit.params_[key] - val) < 4 * fit.standard_errors_[key], key


def test_simulate_censors_like_the_data():
    rng = np.random.default_rng(5)
    n, r = 20_000, 1.2
    eta = rng.normal(scale=0.5, size=n)
    time = rng.exponential(2.0, n)
    event = (rng.random(n) < 0.5).astype(float)
    bf = get_family("weibull").bind({"time": time, "event": event})
    sim = bf.simulate(eta, (r,), rng)
    assert sim["event"][event == 1].all()
    cens = sim["event"] == 0
    np.testing.assert_array_equal(sim["time"][cens], time[cens])
    assert np.all(sim["time"][event == 0] <= time[event == 0])
    # P(censored) = S(c_i) on the data-censored rows: closed form from scipy
    s = stats.weibull_min(c=r, scale=np.exp(eta[event == 0])).sf(time[event == 0])
    assert abs(cens.sum() - s.sum()) < 4 * np.sqrt(np.sum(s * (1 - s)))


def test_mean_and_residual_variance_match_scipy():
    bf = get_family("weibull").bind({"time": [1.0, 2.0], "event": [1, 0]})
    eta, r = np.array([0.3, -1.2]), 1.8
    np.testing.assert_allclose(bf.mean(eta, (r,)), stats.weibull_min(c=r, scale=np.exp(eta)).mean())
    # log T = eta + W / r, W standard minimum-extreme-value (Gumbel-left)
    assert bf.residual_variance((r,)) == pytest.approx(stats.gumbel_l(scale=1 / r).var())


def test_bad_survival_outcomes_name_the_column():
    fam = get_family("weibull")
    labels = {"time": "dur_wkb", "event": "event_wkb"}
    with pytest.raises(MMDataError, match="'dur_wkb'.*positive"):
        fam.bind({"time": [1.0, 0.0], "event": [1, 1]}, labels=labels)
    with pytest.raises(MMDataError, match="'dur_wkb'.*missing or infinite"):
        fam.bind({"time": [1.0, np.inf], "event": [1, 1]}, labels=labels)
    with pytest.raises(MMDataError, match="'event_wkb'.*0/1"):
        fam.bind({"time": [1.0, 2.0], "event": [1, 2]}, labels=labels)
    with pytest.raises(MMDataError, match="'event_wkb'.*3 rows"):
        fam.bind({"time": [1.0, 2.0], "event": [1, 0, 1]}, labels=labels)
    with pytest.raises(MMDataError, match="'event'.*not supplied"):
        fam.bind({"time": [1.0, 2.0]})
