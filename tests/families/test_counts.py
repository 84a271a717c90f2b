"""Poisson and negative-binomial (NB2) families: recovery, structures, predictions (#15)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import mmreg
from validation.count_reference import FORMULA, TRUTH, simulate_counts

COEF = ["Intercept", "majority", "mm1.finance"]
EST_W_AR = (
    "y ~ 1 + majority + fix(log_exposure, 1) + mm(id = id(pid, gid), vars = vars(finance), "
    "fn = fn(w ~ 1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat))), c = TRUE), RE = TRUE)"
    " + hm(id = id(cid), type = 'RE', ar = TRUE)"
)
SIZES = {"n_groups": 1000, "n_members": 300, "n_countries": 30}


@pytest.mark.parametrize("family", ["poisson", "negbinomial"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_laplace_recovers_truth(family, seed):
    df = simulate_counts(family, seed=seed, **SIZES)
    res = mmreg.MMModel(FORMULA, df, family=family).fit()
    truth = df.attrs["truth"]
    names = COEF + (["shape"] if family == "negbinomial" else [])
    z = (res.params[names] - [truth[n] for n in names]) / res.bse[names]
    assert (z.abs() < 3.5).all(), z.round(2).to_dict()
    for sd in ("sigma.mm1", "sigma.hm1"):  # SDs: weakly identified, a loose check
        assert abs(res.params[sd] - truth[sd]) < 0.3, (sd, res.params[sd])


@pytest.mark.parametrize("family", ["poisson", "negbinomial"])
def test_structures_predictions_and_var_decomp(family):
    df = simulate_counts(family, seed=4, n_groups=300, n_members=120, n_countries=15)
    model = mmreg.MMModel(EST_W_AR, df, family=family)
    res = model.fit()
    assert np.isfinite(res.params).all() and np.isfinite(res.bse[COEF]).all()
    # response = exp(linear predictor)
    np.testing.assert_allclose(res.predict(), np.exp(res.predict(kind="linear")), rtol=1e-12)
    # latent residual variance: log(1 + 1/lambda (+ 1/shape)), lambda = the mean count
    ybar = df.groupby("gid")["y"].first().mean()
    extra = 1 / res.params["shape"] if family == "negbinomial" else 0.0
    vd = res.var_decomp()
    assert vd.loc["residual", "variance"] == pytest.approx(np.log1p(1 / ybar + extra), rel=1e-9)
    sim = model.simulate(res.params, seed=1)["y"]
    assert sim.shape == (300,) and (sim >= 0).all() and (sim == np.round(sim)).all()
    for obj in (model, res):
        pickle.loads(pickle.dumps(obj))


def test_negbinomial_simulate_moments():
    """NB2 draws: mean mu and variance mu + mu^2 / shape."""
    fam = mmreg.families.negbinomial().bind({"y": np.zeros(200_000) + 1})
    eta = np.full(200_000, np.log(4.0))
    y = fam.simulate(eta, (2.0,), np.random.default_rng(0))["y"]
    assert y.mean() == pytest.approx(4.0, rel=0.01)
    assert y.var() == pytest.approx(4.0 + 16.0 / 2.0, rel=0.02)


def test_default_shape_prior_is_gamma():
    from mmreg.priors import Gamma

    df = simulate_counts("negbinomial", seed=4, n_groups=100, n_members=40, n_countries=5)
    model = mmreg.MMModel(FORMULA, df, family="negbinomial")
    assert model.priors["shape"] == Gamma(0.01, 0.01)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::mmreg.errors.MMWarning")  # short run: ESS < 400
@pytest.mark.parametrize("family", ["poisson", "negbinomial"])
def test_mcmc_agrees_with_laplace_on_large_data(family):
    """Large data: the exact posterior (pseudo-marginal MCMC) is close to the Laplace fit."""
    df = simulate_counts(family, seed=9, n_groups=3000, n_members=900, n_countries=30)
    model = mmreg.MMModel(FORMULA, df, family=family)
    lap = model.fit()
    post = model.fit(method="mcmc", draws=300, tune=60, chains=2, seed=3)
    names = COEF + (["shape"] if family == "negbinomial" else [])
    ess = post.mcmc_diag(names)["ess_bulk"]
    d = (post.params[names] - lap.params[names]).abs() / post.bse[names]
    assert (d <= 0.2 + 3 / np.sqrt(ess)).all(), d.round(3).to_dict()
    ratio = post.bse[names] / lap.bse[names]
    assert ((ratio - 1).abs() <= 0.15 + 3 / np.sqrt(2 * ess)).all(), ratio.round(3).to_dict()
    assert TRUTH["majority"] == pytest.approx(post.params["majority"], abs=4 * post.bse["majority"])
