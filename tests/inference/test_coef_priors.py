"""Non-normal priors on coefficients (#15): sampled with the hyperparameters.

A coefficient with a non-normal prior leaves the Gaussian latent vector's integration: it
is a coordinate of ψ (optimised by the Laplace route, sampled by emcee), held in z at its
value by a pinning prior, and reported in its usual place.  These tests check the
mechanism against independent references: closed-form posteriors, finite differences, the
integrated path for a Normal prior routed through the new one, and the data's row order.
The rare-event logit against an exact reference is in
``tests/reference/test_coef_priors_reference.py``.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import mmreg
from mmreg.inference.gradient import laplace_gradient
from mmreg.priors import Fixed, Normal

SMALL = {"n_groups": 150, "n_members": 60, "n_countries": 10}


def _glm_data(seed: int = 3, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    y = 1.0 + 2.0 * x - 0.5 * z + rng.normal(size=n)
    yb = (rng.uniform(size=n) < 1 / (1 + np.exp(-(-1 + x - 0.5 * z)))).astype(int)
    return pd.DataFrame({"y": y, "yb": yb, "x": x, "z": z, "gid": np.arange(n)})


def _route_normal_through_psi(monkeypatch):
    """Send Normal coefficient priors through the new (sampled) path."""
    monkeypatch.setattr(Normal, "gaussian_latent", False)


# -- the new path with a Normal prior = today's integrated path -------------------------
@pytest.mark.parametrize(
    ("lhs", "family", "priors"),
    [
        ("y", "gaussian", {"sigma": Fixed(1.0), "x": Normal(0.5, 2.0)}),  # Gaussian, sigma known
        ("yb", "binomial", {"x": Normal(0.5, 2.0)}),  # every coefficient in ψ: joint MAP
    ],
)
def test_normal_prior_through_psi_equals_integrated_laplace(monkeypatch, lhs, family, priors):
    """Same MAP and SEs to 1e-6: for these models the MAP over ψ ∪ {β} is the joint MAP
    and the curvature of the Laplace objective is the joint one (closed-form argument in
    docs/priors.md)."""
    df = _glm_data()
    f = f"{lhs} ~ 1 + x + z"
    today = mmreg.MMModel(f, df, family=family, priors=priors).fit()
    _route_normal_through_psi(monkeypatch)
    model = mmreg.MMModel(f, df, family=family, priors=priors)
    assert model.sampled_coef == ["Intercept", "x", "z"]
    new = model.fit()
    np.testing.assert_allclose(new.params, today.params, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(new.bse, today.bse, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(new.cov_params(), today.cov_params(), rtol=1e-4, atol=1e-8)


@pytest.mark.slow  # two MCMC runs, ~30 s on a loaded 2-core machine
@pytest.mark.filterwarnings("ignore::mmreg.MMWarning")  # R-hat / ESS advice of short runs
def test_normal_prior_through_psi_equals_integrated_mcmc(monkeypatch):
    """With random effects the two routes sample the same posterior (within MC error)."""
    df = mmreg.datasets.simulate_coalitions(seed=2, **SMALL)
    f = df.attrs["formula"]
    kw = {"method": "mcmc", "draws": 1000, "chains": 2}
    today = mmreg.MMModel(f, df).fit(seed=1, **kw)
    _route_normal_through_psi(monkeypatch)
    model = mmreg.MMModel(f, df)
    assert model.space.n_coef == 3
    new = model.fit(seed=2, **kw)
    a, b = today.mcmc_diag(), new.mcmc_diag()
    sd = a["sd"]
    tol = np.maximum(0.2 * sd, 4 * np.hypot(a["mcse_mean"], b["mcse_mean"]))
    assert (np.abs(a["mean"] - b["mean"]) <= tol).all(), (a["mean"] - b["mean"]) / sd
    np.testing.assert_allclose(b["sd"], a["sd"], rtol=0.2)


# -- closed forms ---------------------------------------------------------------------------
def test_student_t_and_uniform_map_with_the_bound(recwarn):
    """sigma known, t prior on the intercept, uniform(-1, 1) on a slope whose likelihood
    maximum (2) is outside: the MAP is on the bound, found to 1e-5, with a warning."""
    df = _glm_data(n=150)
    priors = ["b[1] ~ dt(0, 1/4, 3)", "b[2] ~ dunif(-1, 1)", "sigma <- 1", "b[3] ~ dt(0, 1, 1)"]
    model = mmreg.MMModel("y ~ 1 + x + z", df, priors=priors)
    with pytest.warns(mmreg.MMWarning, match=r"x lies on the bound of its prior Uniform\(-1, 1\)"):
        res = model.fit()
    X = np.column_stack([np.ones(len(df)), df["x"], df["z"]])
    y = df["y"].to_numpy()

    def nlp(b):
        r = y - X @ b
        prior = stats.t(3, 0, 2).logpdf(b[0]) + stats.cauchy(0, 1).logpdf(b[2])
        return 0.5 * r @ r - prior

    ref = optimize.minimize(
        nlp,
        [0, 0, 0],
        method="L-BFGS-B",
        bounds=[(None, None), (-1, 1), (None, None)],
        options={"ftol": 1e-15, "gtol": 1e-12},
    )
    assert ref.x[1] == 1.0
    np.testing.assert_allclose(res.params[["Intercept", "x", "z"]], ref.x, atol=1e-5)
    ci = res.conf_int()
    assert -1 <= ci.loc["x", "lower"] and ci.loc["x", "upper"] <= 1  # stays in the support


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_laplace_gradient_matches_finite_differences(family):
    """Estimated weights, member and country REs, a t prior on ``majority`` and a uniform
    prior on the block's coefficient b.mm.1 (its column moves with the weights)."""
    kw = {"family": "binomial"} if family == "binomial" else {}
    df = mmreg.datasets.simulate_coalitions(seed=2, weights="estimated", **SMALL, **kw)
    priors = [mmreg.prior("student_t(3, 0, 2.5)", coef="majority"), "b.mm.1 ~ dunif(-2, 2)"]
    model = mmreg.MMModel(df.attrs["formula"], df, family=family, priors=priors)
    post, space = model.posterior, model.space
    assert space.names[space.coef_slice] == ("majority", "mm1.finance")
    u = post.start_values() + 0.2 * np.random.default_rng(0).normal(size=space.dim)
    mode = post.latent.mode(space.hyper(u), tol=1e-13)
    grad = laplace_gradient(post.latent, space, u, mode)
    num = np.empty(space.dim)
    for j in range(space.dim):
        e = np.zeros(space.dim)
        e[j] = 1e-5
        up = post.latent.mode(space.hyper(u + e), tol=1e-13).log_marginal
        dn = post.latent.mode(space.hyper(u - e), tol=1e-13).log_marginal
        num[j] = (up - dn) / 2e-5
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-5 * np.abs(num).max())
    # the pinned coordinate of z sits at the value ψ gives it
    c = space.hyper(u).coef
    np.testing.assert_allclose(mode.z[post.latent.sampled], c, rtol=1e-12)


# -- results, row order, bad input ---------------------------------------------------------
@pytest.mark.filterwarnings("ignore::mmreg.MMWarning")
def test_results_list_the_coefficient_in_its_place():
    df = mmreg.datasets.simulate_coalitions(seed=2, family="binomial", **SMALL)
    priors = [mmreg.prior("cauchy(0, 2.5)", coef="majority")]
    model = mmreg.MMModel(df.attrs["formula"], df, family="binomial", priors=priors)
    assert model.param_names == ["Intercept", "majority", "mm1.finance", "sigma.mm1", "sigma.hm1"]
    assert "sampled with the hyperparameters (non-normal prior): majority" in model.describe()
    res = model.fit()
    assert list(res.params.index) == model.param_names
    assert "b[2]" in res.summary().as_text()
    assert res.df_model == 5
    vd = res.var_decomp()
    assert np.isfinite(vd["variance"]).all()
    post = model.fit(method="mcmc", draws=64, tune=20, chains=2, seed=1)
    assert list(post.params.index) == model.param_names
    d = post.draws
    assert d.columns.tolist().count("majority") == 1
    np.testing.assert_allclose(
        np.asarray(post.predict(kind="linear")),
        np.asarray(post.predict(kind="linear", data=df)),
        rtol=1e-10,
    )
    for obj in (model, res, post):
        pickle.loads(pickle.dumps(obj))
    again = pickle.loads(pickle.dumps(res))
    np.testing.assert_allclose(again.params, res.params)
    pytest.importorskip("arviz")  # the optional extra, for the export below
    idata = post.to_inference_data()
    draws = np.asarray(idata.posterior["majority"]).ravel()
    assert np.std(draws, ddof=1) == pytest.approx(post.bse["majority"], rel=1e-10)


def test_row_order_does_not_matter():
    df = mmreg.datasets.simulate_coalitions(seed=4, family="binomial", **SMALL)
    priors = [mmreg.prior("student_t(3, 0, 2.5)", class_="b")]
    f = df.attrs["formula"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mmreg.MMWarning)
        a = mmreg.MMModel(f, df, family="binomial", priors=priors).fit()
        b = mmreg.MMModel(
            f, df.sample(frac=1.0, random_state=1), family="binomial", priors=priors
        ).fit()
    np.testing.assert_allclose(a.params, b.params, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "priors",
    [
        [mmreg.prior("cauchy(0, 2.5)", coef="majoriti")],
        ["b[9] ~ dt(0, 1, 3)"],
        ["b.mm.2 ~ dunif(-1, 1)"],
        {"majoriti": mmreg.priors.StudentT(0, 1, 3)},
    ],
)
def test_non_normal_prior_on_a_missing_coefficient_is_the_unmatched_error(priors):
    df = mmreg.datasets.simulate_coalitions(seed=2, **SMALL)
    with pytest.raises(mmreg.MMSpecError, match="matches no parameter"):
        mmreg.MMModel(df.attrs["formula"], df, priors=priors)


@pytest.mark.filterwarnings("ignore::mmreg.MMWarning")  # R-hat / ESS advice of a short run
def test_uniform_prior_mcmc_is_the_truncated_posterior():
    """One coefficient, sigma known, Uniform(0.5, 1) prior with the likelihood centred near
    the upper bound: the posterior is a normal truncated to [0.5, 1], whose mean and SD
    come from quadrature.  Checks the logit transform and its Jacobian in the sampler."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=40)
    df = pd.DataFrame({"y": 0.95 * x + rng.normal(size=40), "x": x, "gid": np.arange(40)})
    model = mmreg.MMModel(
        "y ~ 0 + x", df, priors={"x": mmreg.priors.Uniform(0.5, 1.0), "sigma": Fixed(1.0)}
    )
    xx = df["x"].to_numpy()
    prec, bhat = xx @ xx, (xx @ df["y"].to_numpy()) / (xx @ xx)
    grid = np.linspace(0.5, 1.0, 20001)
    dens = np.exp(-0.5 * prec * (grid - bhat) ** 2)
    dens /= np.trapezoid(dens, grid)
    mean = np.trapezoid(grid * dens, grid)
    sd = np.sqrt(np.trapezoid((grid - mean) ** 2 * dens, grid))
    post = model.fit(method="mcmc", draws=2000, chains=2, seed=5)
    diag = post.mcmc_diag().loc["x"]
    assert abs(diag["mean"] - mean) <= max(0.1 * sd, 4 * diag["mcse_mean"])
    assert diag["sd"] == pytest.approx(sd, rel=0.1)
    d = post.draws["x"]
    assert d.min() >= 0.5 and d.max() <= 1.0


def test_a_sampled_coefficient_prior_far_below_the_outcome_scale_is_flagged():
    rng = np.random.default_rng(2)
    x = rng.normal(size=300)
    y = 1e5 + 5e4 * x + 1e4 * rng.normal(size=300)
    df = pd.DataFrame({"y": y, "x": x, "gid": np.arange(300)})
    with pytest.warns(mmreg.MMWarning, match=r"x \(StudentT\(0, 1, 1\)\) lie far below"):
        mmreg.MMModel(
            "y ~ 1 + x", df, priors=["b[2] ~ dt(0, 1, 1)", "b[1] ~ dnorm(0, 1e-12)"]
        ).fit()
