"""Member random slopes in mm() (issue #15): ``mm(..., RE = re(1 + finance))``.

The slope of a member-level column x enters group i as Σ_k w_ik x_ik u_k.  Checked: the
marginal likelihood of a Gaussian model against the dense multivariate normal built by hand
from the data (an independent construction), gradients against finite differences (weight
parameters move the slope's loadings too), var_decomp and the random-effect tables.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal

import mmreg
from mmreg.inference.laplace import _Objective
from tests.inference.test_gradient import _numeric
from tests.slopes_helper import slope_model


def _data(weights="equal", n_groups=120, seed=6):
    return mmreg.datasets.simulate_coalitions(
        n_groups=n_groups, n_members=50, n_countries=6, weights=weights, seed=seed
    )


def test_gaussian_marginal_likelihood_equals_the_dense_normal():
    df = _data()
    model = slope_model(df.attrs["formula"], df, slopes=("finance",), kind="mm")
    assert model.design.sd_names == ("sigma.mm1", "sigma.mm1.finance", "sigma.hm1")
    at = {
        "Intercept": 5.5,
        "majority": 0.3,
        "mm1.finance": -0.2,
        "sigma.mm1": 0.4,
        "sigma.mm1.finance": 0.7,
        "sigma.hm1": 0.3,
        "sigma": 0.9,
    }
    # by hand: groups sorted by gid, members and countries coded by their ids
    gids, g = np.unique(df["gid"], return_inverse=True)
    pids, p = np.unique(df["pid"], return_inverse=True)
    n = np.bincount(g)[g]
    W = np.zeros((len(gids), len(pids)))
    W[g, p] = 1.0 / n
    S = np.zeros_like(W)
    S[g, p] = df["finance"].to_numpy() / n
    gov = df.groupby("gid").first().loc[gids]
    cids, c = np.unique(gov["cid"], return_inverse=True)
    C = np.zeros((len(gids), len(cids)))
    C[np.arange(len(gids)), c] = 1.0
    mean = (
        at["Intercept"]
        + at["majority"] * gov["majority"].to_numpy()
        + at["mm1.finance"] * S.sum(axis=1)
    )  # Σ_k w_ik finance_ik
    V = (
        at["sigma"] ** 2 * np.eye(len(gids))
        + at["sigma.mm1"] ** 2 * W @ W.T
        + at["sigma.mm1.finance"] ** 2 * S @ S.T
        + at["sigma.hm1"] ** 2 * C @ C.T
    )
    want = multivariate_normal(mean, V).logpdf(gov["y"].to_numpy())
    assert model.loglike(at) == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize(
    ("family", "weights", "intercept"),
    [
        ("gaussian", "estimated", True),
        ("gaussian", "equal", False),
        ("weibull", "estimated", True),
    ],
)
def test_gradient_matches_finite_differences(family, weights, intercept):
    df = mmreg.datasets.simulate_coalitions(
        n_groups=300, n_members=100, n_countries=12, family=family, weights=weights, seed=4
    )
    model = slope_model(
        df.attrs["formula"], df, slopes=("finance",), kind="mm", intercept=intercept, family=family
    )
    obj = _Objective(model.latent, model.space)
    for shift in (0.3, -0.7):
        u = model.posterior.start_values() + shift
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f, grad = obj.value_and_grad(u)
            num = _numeric(obj, u)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-6)


def test_fit_tables_and_var_decomp():
    df = _data("estimated", n_groups=300)
    model = slope_model(df.attrs["formula"], df, slopes=("finance",), kind="mm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit()
        vd = res.var_decomp()
    assert list(res.random_effects) == ["mm1", "mm1.finance", "hm1"]
    assert res.random_effects["mm1.finance"].index.name == "pid"
    assert list(vd.index[:3]) == ["mm1", "mm1.finance", "hm1"]
    assert np.isfinite(res.params["sigma.mm1.finance"])
