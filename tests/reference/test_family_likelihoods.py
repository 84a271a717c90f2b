"""Family log-likelihoods against scipy, lifelines and statsmodels at the same parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lifelines import WeibullAFTFitter
from scipy import stats
from scipy.special import expit
from statsmodels.discrete.conditional_models import ConditionalLogit
from statsmodels.duration.hazard_regression import PHReg

from mmreg.families import get_family

RNG = np.random.default_rng(20240601)
N = 300
X = RNG.normal(size=(N, 2))
B1, B2 = np.array([0.3, -0.2]), np.array([-0.5, 0.4])


def test_gaussian_vs_scipy():
    y, eta, sigma = RNG.normal(size=N), X @ B1, 1.4
    bf = get_family("gaussian").bind({"y": y})
    ref = stats.norm.logpdf(y, eta, sigma)
    np.testing.assert_allclose(bf.loglik_terms(eta, (sigma,)), ref, rtol=1e-12)
    assert bf.loglik(eta, (sigma,)) == pytest.approx(ref.sum(), rel=1e-12)


def test_binomial_vs_scipy():
    y, eta = RNG.integers(0, 2, N), 3 * X @ B1
    bf = get_family("binomial").bind({"y": y})
    ref = stats.bernoulli.logpmf(y, expit(eta))
    np.testing.assert_allclose(bf.loglik_terms(eta, ()), ref, rtol=1e-10)


def _weibull_data(r=1.5):
    eta = 1.0 + X @ B1
    T = np.exp(eta) * RNG.weibull(r, N)
    C = RNG.exponential(6.0, N)
    return np.minimum(T, C), (T <= C).astype(float)


def test_weibull_vs_scipy_weibull_min():
    time, event = _weibull_data()
    eta, r = 0.8 + X @ B2, 1.3
    bf = get_family("weibull").bind({"time": time, "event": event})
    dist = stats.weibull_min(c=r, scale=np.exp(eta))
    ref = np.where(event == 1, dist.logpdf(time), dist.logsf(time))
    np.testing.assert_allclose(bf.loglik_terms(eta, (r,)), ref, rtol=1e-10)


def test_weibull_vs_lifelines_at_its_mle():
    time, event = _weibull_data()
    df = pd.DataFrame({"t": time, "e": event, "x1": X[:, 0], "x2": X[:, 1]})
    fit = WeibullAFTFitter().fit(df, "t", "e")
    lam = fit.params_["lambda_"]
    eta = lam["Intercept"] + lam["x1"] * X[:, 0] + lam["x2"] * X[:, 1]  # lifelines lambda = e^eta
    r = np.exp(fit.params_[("rho_", "Intercept")])  # lifelines rho = shape
    bf = get_family("weibull").bind({"time": time, "event": event})
    assert bf.loglik(eta, (r,)) == pytest.approx(fit.log_likelihood_, rel=1e-10)
    # the MLE is a stationary point of our likelihood as well
    design = np.column_stack([np.ones(N), X])
    grad_beta = bf.derivs(eta, (r,))[0] @ design
    assert np.all(np.abs(grad_beta) < 1e-2)
    assert abs(bf.dphi(eta, (r,))[0]) < 1e-2


@pytest.mark.parametrize("grid", ["all", "events"])
def test_cox_unique_times_vs_breslow_partial_likelihood(grid):
    time = RNG.integers(1, 40, N).astype(float)  # many ties
    event = RNG.integers(0, 2, N)
    bf = get_family("cox", a=1e-10, b=1e-10, grid=grid).bind({"time": time, "event": event})
    ph = PHReg(time, X, status=event, ties="breslow")
    ours = bf.loglik(X @ B1) - bf.loglik(X @ B2)
    ref = ph.loglike(B1) - ph.loglike(B2)
    assert ours == pytest.approx(ref, rel=1e-6)


def _profile_piecewise_poisson(E, dN, eta):
    """Piecewise-exponential Poisson GLM (log-exposure offset) profiled over interval rates."""
    rows, cols = np.nonzero(E)
    design = np.eye(E.shape[1])[cols]
    offset = np.log(E[rows, cols]) + eta[rows]
    fit = sm.GLM(dN[rows, cols], design, family=sm.families.Poisson(), offset=offset).fit()
    return fit.llf


def test_cox_piecewise_vs_profiled_poisson_glm():
    time = RNG.exponential(10.0, N)
    event = RNG.integers(0, 2, N)
    bf = get_family("cox", intervals=5, a=1e-10, b=1e-10).bind({"time": time, "event": event})
    br = bf.breaks
    E = np.clip(time[:, None] - br[:-1][None, :], 0, np.diff(br)[None, :])
    inside = (time[:, None] > br[:-1][None, :]) & (time[:, None] <= br[1:][None, :])
    dN = (inside & (event[:, None] == 1)).astype(float)
    ours = bf.loglik(X @ B1) - bf.loglik(X @ B2)
    ref = _profile_piecewise_poisson(E, dN, X @ B1) - _profile_piecewise_poisson(E, dN, X @ B2)
    assert ours == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("several", [False, True])
def test_clogit_vs_statsmodels_conditional_logit(several):
    S = N // 5
    strata = np.repeat(np.arange(S), 5)
    y = np.zeros(N)
    for s in range(S):
        k = RNG.integers(2, 4) if several and s % 2 else 1
        y[5 * s + RNG.choice(5, k, replace=False)] = 1
    bf = get_family("clogit").bind({"y": y, "strata": strata})
    ref = ConditionalLogit(y, X, groups=strata)
    for b in (B1, B2):
        assert bf.loglik(X @ b) == pytest.approx(ref.loglike(b), rel=1e-10)
        np.testing.assert_allclose(bf.derivs(X @ b)[0] @ X, ref.score(b), rtol=1e-8)
