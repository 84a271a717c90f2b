"""MCMC on models with no free hyperparameter (#15): no random effects and every family
parameter fixed or absent (a logit, a Poisson, a Gaussian with sigma fixed by its prior).

emcee then samples the coefficients themselves, their Normal priors unchanged (the model's
MCMC twin, ``MMModel._mcmc_model``).  References, all computed in the test independently of
mmreg: the exact posterior moments of the logit by self-normalised importance sampling from a
multivariate t (3 d.o.f.) around the closed-form MAP (as in
``test_coef_priors_reference.py``; 100,000 draws, seed 11, effective sample size > 50,000),
statsmodels Logit/GLM at the default vague priors N(0, 100²) (posterior mean = MLE up to
O(1/n), posterior SD = the MLE's SE), and the closed-form conjugate posterior of the
Gaussian model with sigma fixed.  Tolerances: the issue's |Δmean| ≤ 0.1 posterior SD or 4
Monte Carlo SEs of the short run, whichever is larger; SDs within 10% (the SD's own Monte
Carlo error at ESS ~ 400 is ~4%).  Written 2026-12-05.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize, stats

import mmreg

NAMES = ["Intercept", "x"]


def _logit_data(seed: int = 5, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.3 + 0.9 * x)))).astype(int)
    return pd.DataFrame({"y": y, "x": x})


def _check(post, mean, sd):
    diag = post.mcmc_diag().loc[NAMES]
    m, s = diag["mean"].to_numpy(), diag["sd"].to_numpy()
    tol = np.maximum(0.1 * sd, 4 * diag["mcse_mean"].to_numpy())
    assert np.all(np.abs(m - mean) <= tol), (m - mean) / sd
    np.testing.assert_allclose(s, sd, rtol=0.1)


def test_logit_without_random_effects_matches_the_exact_posterior():
    df = _logit_data()
    model = mmreg.MMModel("y ~ 1 + x", df, family="binomial", priors=["b[1] ~ dnorm(0, 1)"])
    assert model.space.dim == 0  # nothing but coefficients: emcee had a 0-dim state
    X = np.column_stack([np.ones(len(df)), df["x"]])
    y = df["y"].to_numpy(float)
    prior_sd = np.array([1.0, 100.0])  # b[1] ~ dnorm(0, precision 1); the default N(0, 100²)

    def lp(b):
        b = np.atleast_2d(b)
        e = b @ X.T
        return (y * e - np.logaddexp(0.0, e)).sum(axis=1) - 0.5 * ((b / prior_sd) ** 2).sum(1)

    opt = optimize.minimize(lambda b: -lp(b)[0], np.zeros(2), method="BFGS", options={"gtol": 1e-9})
    p = 1 / (1 + np.exp(-X @ opt.x))
    H = (X * (p * (1 - p))[:, None]).T @ X + np.diag(prior_sd**-2.0)
    prop = stats.multivariate_t(loc=opt.x, shape=2.0 * np.linalg.inv(H), df=3, seed=11)
    draws = prop.rvs(100_000)
    logw = lp(draws) - prop.logpdf(draws)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    assert 1.0 / np.sum(w**2) > 50_000
    mean = w @ draws
    sd = np.sqrt(w @ (draws - mean) ** 2)
    post = model.fit(method="mcmc", draws=1000, chains=2, seed=2)
    _check(post, mean, sd)
    assert list(post.params.index) == NAMES  # reported as coefficients, as before
    # the Laplace route of the model itself is unchanged: coefficients integrated out
    lap = model.fit()
    np.testing.assert_allclose(lap.params[NAMES], opt.x, atol=1e-5)


def test_logit_at_vague_priors_matches_statsmodels_logit():
    df = _logit_data(seed=8, n=1500)
    mle = sm.Logit(df["y"], sm.add_constant(df["x"])).fit(disp=0)
    post = mmreg.MMModel("y ~ 1 + x", df, family="binomial").fit(
        method="mcmc", draws=1000, chains=2, seed=4
    )
    _check(post, mle.params.to_numpy(), mle.bse.to_numpy())


def test_poisson_without_random_effects_matches_statsmodels_glm():
    rng = np.random.default_rng(3)
    n = 1500
    df = pd.DataFrame({"x": rng.normal(size=n)})
    df["y"] = rng.poisson(np.exp(0.5 + 0.4 * df["x"]))
    glm = sm.GLM(df["y"], sm.add_constant(df["x"]), family=sm.families.Poisson()).fit()
    post = mmreg.MMModel("y ~ 1 + x", df, family="poisson").fit(
        method="mcmc", draws=1000, chains=2, seed=5
    )
    _check(post, glm.params.to_numpy(), glm.bse.to_numpy())


def _gaussian_data(seed: int = 9, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=n)})
    df["y"] = 0.5 + 0.8 * df["x"] + rng.normal(size=n)
    return df


def test_gaussian_with_sigma_fixed_matches_the_conjugate_posterior():
    df = _gaussian_data()
    model = mmreg.MMModel("y ~ 1 + x", df, priors=["sigma <- 1"])
    assert model.space.dim == 0
    X = np.column_stack([np.ones(len(df)), df["x"]])
    prec = X.T @ X + np.eye(2) / 100.0**2  # sigma = 1, default priors N(0, 100²)
    cov = np.linalg.inv(prec)
    mean = cov @ X.T @ df["y"].to_numpy()
    post = model.fit(method="mcmc", draws=1000, chains=2, seed=6)
    _check(post, mean, np.sqrt(np.diag(cov)))


def test_gaussian_with_sigma_estimated_matches_ols():
    df = _gaussian_data()
    ols = sm.OLS(df["y"], sm.add_constant(df["x"])).fit()
    post = mmreg.MMModel("y ~ 1 + x", df).fit(method="mcmc", draws=1000, chains=2, seed=7)
    _check(post, ols.params.to_numpy(), ols.bse.to_numpy())


def test_nothing_to_sample_is_an_error_naming_the_fix():
    df = _gaussian_data()
    model = mmreg.MMModel("y ~ 0 + x", df, priors=["sigma <- 1", "b[1] <- 0.5"])
    with pytest.raises(mmreg.MMSpecError, match="nothing to sample.*method='laplace'"):
        model.fit(method="mcmc", draws=100, chains=2, seed=1)


def test_no_hyper_mcmc_results_pickle():
    import pickle

    df = _logit_data(n=200)
    post = mmreg.MMModel("y ~ 1 + x", df, family="binomial").fit(
        method="mcmc", draws=100, chains=2, seed=1
    )
    back = pickle.loads(pickle.dumps(post))
    np.testing.assert_allclose(back.params, post.params)


def test_a_given_laplace_fit_is_not_silently_dropped():
    """The twin must start from its own Laplace fit (its ψ is β); a user's ``laplace=`` of
    the original model cannot be used, and saying so is the contract: an MMWarning, and the
    run equals the one without ``laplace=`` (same seed) draw for draw."""
    df = _logit_data(n=150)
    model = mmreg.MMModel("y ~ 1 + x", df, family="binomial")
    lap = model.fit()
    kw = dict(method="mcmc", draws=64, tune=10, chains=1, seed=4)
    with pytest.warns(mmreg.MMWarning, match="ignores the given Laplace fit"):
        a = model.fit(laplace=lap.raw, **kw)
    b = model.fit(**kw)
    np.testing.assert_array_equal(a.raw.u, b.raw.u)
