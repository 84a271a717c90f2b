"""Analytic gradient of the Laplace objective (Gaussian SDs and sigma).

Reference: central finite differences (h = 1e-5) of the same objective, which is the exact
log marginal posterior for the Gaussian family; their truncation error is O(h²·f''') ≈ 1e-8.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mmreg
from mmreg.inference.gradient import analytic_mask, gaussian_gradient
from mmreg.inference.laplace import _Objective, start_values


def _model(ar: bool = False, family: str = "gaussian", weights: str = "estimated"):
    df = mmreg.datasets.simulate_coalitions(n_groups=300, n_members=120, n_countries=12,
                                            family=family, weights=weights, seed=4)
    f = df.attrs["formula"]
    if ar:
        f = f.replace("RE = TRUE)", "RE = TRUE, ar = TRUE)")
    return mmreg.MMModel(f, df, family=family)


def _numeric(obj, u, h=1e-5):
    out = []
    for j in range(len(u)):
        e = np.zeros(len(u))
        e[j] = h
        out.append((obj(u + e) - obj(u - e)) / (2 * h))
    return np.array(out)


@pytest.mark.parametrize(("ar", "expected"), [(False, [0, 0, 1, 1, 1]), (True, [0, 0, 0, 1, 0])])
def test_gradient_matches_finite_differences(ar, expected):
    model = _model(ar)
    obj = _Objective(model.latent, model.space)
    # weight parameters, random-walk SDs and (with a random walk) sigma use differences
    np.testing.assert_array_equal(obj.analytic, np.array(expected, bool))
    for shift in (0.3, -0.7):
        u = start_values(model.space, model.design.outcome, model.family) + shift
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f, g = obj.value_and_grad(u)
            num = _numeric(obj, u)
        assert f == pytest.approx(obj(u), rel=1e-12)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-6)
        # the analytic part alone (log marginal, without the prior of psi)
        md = model.latent.mode(model.space.hyper(u), tol=1e-13)
        lat = gaussian_gradient(model.latent, model.space, u, md)
        assert np.isnan(lat[~obj.analytic]).all() and np.isfinite(lat[obj.analytic]).all()


def test_no_analytic_gradient_for_other_families():
    model = _model(family="weibull", weights="equal")
    assert not analytic_mask(model.latent, model.space).any()
