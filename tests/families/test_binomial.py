"""Binomial family: simulation recovers the logit coefficients; validation."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.special import expit

from mmreg.errors import MMDataError
from mmreg.families import get_family


def test_simulate_recovers_logit_coefficients():
    rng = np.random.default_rng(7)
    n = 20_000
    X = sm.add_constant(rng.normal(size=n))
    beta = np.array([-0.4, 0.9])
    bf = get_family("binomial").bind({"y": np.zeros(n)})
    y = bf.simulate(X @ beta, (), rng)["y"]
    assert set(np.unique(y)) == {0.0, 1.0}
    fit = sm.Logit(y, X).fit(disp=0)
    assert np.all(np.abs(fit.params - beta) < 4 * fit.bse)


def test_mean_and_residual_variance():
    bf = get_family("binomial").bind({"y": [0, 1, 1]})
    eta = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(bf.mean(eta), expit(eta))
    assert bf.residual_variance(()) == pytest.approx(np.pi**2 / 3)


def test_bool_outcome_accepted_and_non_binary_rejected():
    fam = get_family("binomial")
    assert fam.bind({"y": np.array([True, False])}).n == 2
    with pytest.raises(MMDataError, match="'event_wkb'.*0/1.*2"):
        fam.bind({"y": np.array([0, 1, 2])}, labels={"y": "event_wkb"})
