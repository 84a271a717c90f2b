"""The pseudo-marginal likelihood estimator (:mod:`mmreg.inference.importance`).

References: the exact marginal likelihood p(y | ψ) of tiny random-intercept models by
nested quadrature (trapezoid rules on fine grids, independent of mmreg's code: the family
densities are written out here with scipy), the family log-likelihood column by column,
and the dense Gaussian prior density from scipy.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import gammaln, logsumexp

import mmreg
from mmreg.errors import MMSpecError
from mmreg.inference.importance import ImportanceSampler, eta_variance, particle_log_density
from mmreg.inference.laplace import fit_laplace
from mmreg.inference.mcmc import LogPosterior

HM = 'hm(id = id(cid), type = "RE")'


def _data(seed: int = 1, n_groups: int = 3, per: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cid = np.repeat(np.arange(n_groups), per)
    u = 0.6 * rng.standard_normal(n_groups)
    n = cid.size
    t = np.exp(1.0 + u[cid] + 0.7 * rng.gumbel(size=n))
    return pd.DataFrame(
        {
            "t": t,
            "ev": (rng.random(n) < 0.6).astype(int),
            "y": (rng.random(n) < 1 / (1 + np.exp(-0.3 - u[cid]))).astype(int),
            "k": rng.poisson(np.exp(0.5 + u[cid])),
            "cid": cid,
        }
    )


def _model(family: str, df: pd.DataFrame):
    lhs = {"weibull": "Surv(t, ev)", "binomial": "y", "poisson": "k"}[family]
    return mmreg.MMModel(f"{lhs} ~ 1 + {HM}", df, family=family)


def _log_f(family: str, df: pd.DataFrame, eta: np.ndarray, phi) -> np.ndarray:
    """log density of each row's outcome at linear predictors ``eta`` (rows on the last
    axis), written out independently of mmreg."""
    if family == "weibull":
        r = phi[0]
        t, ev = df["t"].to_numpy(), df["ev"].to_numpy()
        lam = np.exp(-r * eta)  # S(t) = exp(-(t e^-eta)^r)
        logS = -lam * t**r
        return logS + ev * (np.log(r) + (r - 1) * np.log(t) + np.log(lam))
    if family == "binomial":  # log p = -log(1 + e^-eta), log(1 - p) = -log(1 + e^eta)
        y = df["y"].to_numpy()
        return -np.log1p(np.exp(np.where(y == 1, -eta, eta)))
    k = df["k"].to_numpy()
    return k * eta - np.exp(eta) - gammaln(k + 1.0)


def _exact_log_marginal(family: str, df: pd.DataFrame, sd: float, phi, prior_sd=100.0):
    """log p(y | ψ) = log ∫ N(b; 0, prior_sd²) Π_g ∫ N(u; 0, sd²) Π_{i∈g} f(y_i | b + u)
    du db by trapezoid rules (b: 3,001 points over ±12 around the data; u: 1,601 points
    over ±9 sd)."""
    b = np.linspace(-11.0, 13.0, 3001)
    u = np.linspace(-9 * sd, 9 * sd, 1601)
    log_pu = stats.norm.logpdf(u, 0, sd)
    cid = df["cid"].to_numpy()
    total = stats.norm.logpdf(b, 0, prior_sd)
    for g in np.unique(cid):
        rows = df[cid == g]
        eta = b[:, None, None] + u[None, :, None]  # (b, u, rows)
        lf = _log_f(family, rows, eta, phi).sum(axis=2) + log_pu
        total = total + logsumexp(lf, axis=1) + np.log(u[1] - u[0])
    return float(logsumexp(total) + np.log(b[1] - b[0]))


@pytest.mark.parametrize(
    "family,params",
    [
        ("weibull", {"sigma.hm1": 0.8, "shape": 1.3}),
        ("binomial", {"sigma.hm1": 1.1}),
        ("poisson", {"sigma.hm1": 0.5}),
    ],
)
def test_estimate_is_unbiased_for_the_exact_marginal_likelihood(family, params):
    df = _data()
    model = _model(family, df)
    lat = model.latent
    # v̂ fixed at another ψ than the one estimated at: any proposal keeps it unbiased
    other = {k: 1.5 * v for k, v in params.items()}
    sampler = ImportanceSampler.at(lat, model.hyper_from_params(other))
    assert sampler.var_eta is not None and sampler.var_eta.shape == (len(df),)
    hyp = model.hyper_from_params(params)
    exact = _exact_log_marginal(family, df, params["sigma.hm1"], hyp.phi)
    mode = lat.mode(hyp, tol=1e-2, chord=True)
    est = np.array(
        [sampler.estimate(hyp, mode, np.random.default_rng(s), 8)[0] for s in range(3000)]
    )
    w = np.exp(est - exact)
    se = w.std(ddof=1) / np.sqrt(w.size)
    assert se > 1e-4  # a genuinely noisy estimator
    # unbiased on the natural scale: mean within 4 Monte Carlo SEs of 1
    assert abs(w.mean() - 1) < 4 * se, (w.mean(), se)
    # while the log of it is biased down (Jensen): a check that could fail
    assert np.mean(est) < exact


def test_mean_shift_lowers_the_estimator_spread_on_skewed_weibull():
    df = _data(seed=3, n_groups=4, per=3)
    model = _model("weibull", df)
    lat = model.latent
    hyp = model.hyper_from_params({"sigma.hm1": 1.0, "shape": 1.5})
    mode = lat.mode(hyp, tol=1e-9)
    shifted = ImportanceSampler.at(lat, hyp)
    plain = ImportanceSampler(lat, None)
    sd = [
        np.std([s.estimate(hyp, mode, np.random.default_rng(i), 8)[0] for i in range(400)])
        for s in (shifted, plain)
    ]
    assert sd[0] < 0.8 * sd[1], sd


def test_particle_log_density_equals_likelihood_plus_dense_gaussian_prior():
    df = _data()
    model = _model("weibull", df)
    lat = model.latent
    hyp = model.hyper_from_params({"sigma.hm1": 0.7, "shape": 1.2})
    D, R, off = lat.assemble(hyp.theta)
    parts = np.random.default_rng(2).standard_normal((lat.dim, 5)) + 1.0
    got = particle_log_density(lat, hyp, D, R, off, parts)
    Q = lat.prior_precision(hyp.sd)
    prior = stats.multivariate_normal(lat.prior_mean(hyp), np.linalg.inv(Q))
    eta = D @ parts[: lat.P] + R @ parts[lat.P :] + off[:, None]
    want = [
        _log_f("weibull", df, eta[:, j], hyp.phi).sum() + prior.logpdf(parts[:, j])
        for j in range(5)
    ]
    # the 2π constant is left out (the proposal's density leaves it out too)
    want = np.array(want) + 0.5 * lat.dim * np.log(2 * np.pi)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_eta_variance_matches_the_dense_laplace_covariance():
    df = _data()
    model = _model("binomial", df)
    lat = model.latent
    hyp = model.hyper_from_params({"sigma.hm1": 0.9})
    mode = lat.mode(hyp, tol=1e-9)
    D, R, _ = lat.assemble(hyp.theta)
    A = np.hstack([D, R.toarray()])
    exact = np.einsum("ij,jk,ik->i", A, mode.factor.inverse(), A)
    got = eta_variance(lat, mode.factor, D, R, draws=20000)
    # relative SD of each entry sqrt(2/20000) = 1%: 5% is five of them
    np.testing.assert_allclose(got, exact, rtol=0.05)


@pytest.mark.parametrize(
    "family,lhs,phi",
    [
        ("binomial", "y", ()),
        ("weibull", "Surv(t, ev)", (1.4,)),
        ("poisson", "k", ()),
        ("negbinomial", "k", (2.5,)),
        ("cox", "Surv(t, ev)", ()),
        ("cox3", "Surv(t, ev)", ()),  # piecewise baseline: its own one-pass columns
        ("gaussian", "t", (0.7,)),
    ],
)
def test_loglik_columns_equal_one_loglik_per_column(family, lhs, phi):
    df = _data(n_groups=5)
    kw = {"cox_intervals": 3} if family == "cox3" else {}
    family = "cox" if family == "cox3" else family
    fam = mmreg.MMModel(f"{lhs} ~ 1 + {HM}", df, family=family, **kw).latent.family
    eta = np.random.default_rng(7).normal(0.5, 1.0, (len(df), 6))
    got = fam.loglik_columns(eta, phi)
    want = [fam.loglik(eta[:, j], phi) for j in range(6)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    with pytest.raises(MMSpecError, match=r"eta must have shape \(20, K\)"):
        fam.loglik_columns(eta[:5], phi)


def test_cox_has_no_mean_shift():
    df = _data()
    model = mmreg.MMModel(f"Surv(t, ev) ~ 0 + {HM}", df, family="cox")
    hyp = model.hyper_from_params({"sigma.hm1": 0.7})
    assert ImportanceSampler.at(model.latent, hyp).var_eta is None


def test_log_posterior_pickles_with_its_sampler():
    df = _data()
    model = _model("weibull", df)
    post = model.posterior
    lap = fit_laplace(post)
    lp = LogPosterior.from_laplace(post, lap, 8, seed=3)
    assert lp.sampler is not None and lp.sampler.var_eta is not None
    back = pickle.loads(pickle.dumps(lp))
    np.testing.assert_array_equal(back.sampler.var_eta, lp.sampler.var_eta)
    assert lp.without_z().sampler is lp.sampler
    for du in (0.0, 0.3, -0.4):
        u = lap.u + du
        assert back.evaluate(u)[0] == lp.evaluate(u)[0]


def test_mode_without_the_laplace_value_is_the_same_search():
    df = _data()
    lat = _model("binomial", df).latent
    hyp = _model("binomial", df).hyper_from_params({"sigma.hm1": 0.9})
    full = lat.mode(hyp, tol=1e-2, chord=True)
    bare = lat.mode(hyp, tol=1e-2, chord=True, laplace=False)
    np.testing.assert_array_equal(bare.z, full.z)
    np.testing.assert_array_equal(bare.eta, full.eta)
    assert bare.factor.logdet == full.factor.logdet and bare.iterations == full.iterations
    assert np.isnan([bare.loglik, bare.log_marginal, bare.log_prior_z]).all()
    assert np.isfinite([full.loglik, full.log_marginal, full.log_prior_z]).all()


@pytest.mark.parametrize("family", ["binomial", "weibull", "poisson"])
def test_loglik_still_refuses_a_matrix_of_predictors(family):
    df = _data()
    fam = _model(family, df).latent.family
    phi = (1.3,) if family == "weibull" else ()
    eta = np.zeros((3, len(df)))  # rows of predictors: loglik_terms takes them, loglik not
    assert fam.loglik_terms(eta, phi).shape == (3, len(df))
    with pytest.raises(MMSpecError, match=r"eta must have shape \(12,\)"):
        fam.loglik(eta, phi)
