"""Random slopes in hm() (issue #15): exact log-determinant and gradients.

A slope is one more independent random-effect block (loading x instead of 1), so the
latent prior precision stays diagonal per block: its log-determinant is −2 q log s per block
and every gradient route (closed form, log-determinant directions, selected traces) applies.
References: central finite differences as in test_gradient.py, and the dense log|Q|.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mmreg
from mmreg.errors import MMSpecError, MMWarning
from mmreg.inference.gradient import _logdet_gradient, gaussian_gradient
from mmreg.inference.laplace import _Objective
from tests.inference.test_gradient import _numeric
from tests.slopes_helper import slope_model


def _model(
    family="gaussian", weights="estimated", n_groups=300, intercept=True, slopes=("majority",), **kw
):
    df = mmreg.datasets.simulate_coalitions(
        n_groups=n_groups,
        n_members=n_groups // 3,
        n_countries=12,
        family=family,
        weights=weights,
        seed=4,
    )
    return slope_model(
        df.attrs["formula"], df, slopes=slopes, intercept=intercept, family=family, **kw
    )


def test_layout_names_and_prior():
    model = _model()
    assert model.design.sd_names == ("sigma.mm1", "sigma.hm1", "sigma.hm1.majority")
    lat = model.latent
    assert lat.re_sizes[-1] == lat.re_sizes[-2] == 12
    assert model.priors["sigma.hm1.majority"] == model.priors["sigma.hm1"]  # half-Cauchy(25)
    # the slope block loads the group's majority on its country's effect
    D, R, _ = lat.assemble(model.space.hyper(model.posterior.start_values()).theta)
    sl = slice(lat.re_slices[-1].start - lat.P, lat.re_slices[-1].stop - lat.P)
    h = model.design.hm[0]
    dense = R.toarray()[:, sl]
    np.testing.assert_array_equal(dense[np.arange(model.nobs), h.unit], h.slopes[0].re_values)
    assert np.count_nonzero(dense) == np.count_nonzero(h.slopes[0].re_values)


def test_log_determinant_of_the_prior_is_exact():
    lat = _model().latent
    sd = np.array([0.7, 0.4, 0.25])
    Q = lat.prior_precision(sd)
    assert lat._logdet_Q(sd) == pytest.approx(np.linalg.slogdet(Q)[1], rel=1e-12)


@pytest.mark.parametrize(
    ("family", "weights", "intercept"),
    [
        ("gaussian", "estimated", True),
        ("gaussian", "equal", False),
        ("binomial", "equal", True),
        ("weibull", "equal", True),
    ],
)
def test_gradient_matches_finite_differences(family, weights, intercept):
    model = _model(family, weights, intercept=intercept)
    obj = _Objective(model.latent, model.space)
    for shift in (0.3, -0.7):
        u = model.posterior.start_values() + shift
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f, g = obj.value_and_grad(u)
            num = _numeric(obj, u)
        assert np.isfinite(g).all()
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-6)


def test_gaussian_closed_form_equals_the_log_determinant_route():
    model = _model("gaussian", "equal")
    u = model.posterior.start_values() - 0.4
    md = model.latent.mode(model.space.hyper(u), tol=1e-13)
    closed = gaussian_gradient(model.latent, model.space, u, md)
    other = _logdet_gradient(model.latent, model.space, u, md, np.ones(model.space.dim, bool))
    np.testing.assert_allclose(closed, other, rtol=1e-7)


def test_selected_traces_equal_log_determinant_differences(monkeypatch):
    from mmreg.inference.linalg import SchurFactor

    model = _model("weibull", "estimated", n_groups=1500)
    u = model.posterior.start_values() + 0.2
    md = model.latent.mode(model.space.hyper(u), tol=1e-13)
    assert md.factor.has_pattern_inverse  # intercepts and slopes share each country's block
    every = np.ones(model.space.dim, bool)
    exact = _logdet_gradient(model.latent, model.space, u, md, every)
    monkeypatch.setattr(SchurFactor, "has_pattern_inverse", property(lambda self: False))
    differenced = _logdet_gradient(model.latent, model.space, u, md, every)
    np.testing.assert_allclose(exact, differenced, rtol=1e-6, atol=1e-6)


def test_slope_without_fixed_effect_warns():
    df = mmreg.datasets.simulate_coalitions(n_groups=200, n_members=60, n_countries=10, seed=1)
    f = df.attrs["formula"].replace("majority + ", "")
    with pytest.warns(MMWarning, match="forced to 0"):
        slope_model(f, df)


def test_several_correlated_slopes_are_refused():
    # one correlated slope (2x2) works: tests/inference/test_correlated.py
    df = mmreg.datasets.simulate_coalitions(n_groups=200, n_members=60, n_countries=10, seed=1)
    with pytest.raises(MMSpecError, match="only one correlated slope"):
        slope_model(df.attrs["formula"], df, slopes=("majority", "mwc"), cor=True)
