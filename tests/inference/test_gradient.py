"""Analytic gradient of the Laplace objective (SDs and family parameters).

Reference: central finite differences (h = 1e-5) of the same objective (the exact log
marginal posterior for the Gaussian family, its Laplace approximation otherwise); their
truncation error is O(h^2 f''') ~ 1e-8 relative.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mmreg
from mmreg.inference.gradient import (
    _logdet_gradient,
    gaussian_gradient,
    laplace_gradient,
    mode_sensitivity,
)
from mmreg.inference.laplace import _Objective


def _model(ar: bool = False, family: str = "gaussian", weights: str = "estimated", priors=None):
    df = mmreg.datasets.simulate_coalitions(
        n_groups=300, n_members=120, n_countries=12, family=family, weights=weights, seed=4
    )
    f = df.attrs["formula"]
    if ar:
        f = f.replace("RE = TRUE)", "RE = TRUE, ar = TRUE)")
    return mmreg.MMModel(f, df, family=family, priors=priors)


def _count_factorisations(model) -> list:
    """A list that grows by one at every factorisation of H by ``model.latent``."""
    calls: list = []
    orig = model.latent.factor
    model.latent.factor = lambda *a, **k: calls.append(1) or orig(*a, **k)
    return calls


def _numeric(obj, u, h=1e-5):
    out = []
    for j in range(len(u)):
        e = np.zeros(len(u))
        e[j] = h
        out.append((obj(u + e) - obj(u - e)) / (2 * h))
    return np.array(out)


CASES = [  # (family, weights, ar, free hyperparameters: all get an exact gradient)
    ("gaussian", "estimated", False, [1, 1, 1, 1, 1]),
    ("gaussian", "estimated", True, [1, 1, 1, 1, 1]),  # random-walk SD: log-det direction
    ("weibull", "estimated", False, [1, 1, 1, 1, 1]),  # SDs and shape
    ("weibull", "equal", True, [1, 1, 1]),
    ("binomial", "equal", False, [1, 1]),
    ("cox", "estimated", False, [1, 1, 1, 1]),
    ("clogit", "equal", False, [1]),
]


@pytest.mark.parametrize(("family", "weights", "ar", "expected"), CASES)
def test_gradient_matches_finite_differences(family, weights, ar, expected):
    model = _model(ar, family, weights)
    obj = _Objective(model.latent, model.space)
    assert model.space.dim == len(expected)
    for shift in (0.3, -0.7):
        u = model.posterior.start_values() + shift
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f, g = obj.value_and_grad(u)
            num = _numeric(obj, u)
        assert f == pytest.approx(obj(u), rel=1e-12)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-6)
        # the analytic part alone (log marginal, without the prior of psi)
        md = model.latent.mode(model.space.hyper(u), tol=1e-13)
        lat = laplace_gradient(model.latent, model.space, u, md)
        assert np.isfinite(lat).all()


def test_gaussian_closed_form_equals_the_log_determinant_route():
    # two derivations of the same derivative: the diag(H^-1) closed form and the directional
    # derivative of log|H| (the route of the other families and of random walks)
    model = _model(False, "gaussian", "equal")
    u = model.posterior.start_values() - 0.4
    md = model.latent.mode(model.space.hyper(u), tol=1e-13)
    closed = gaussian_gradient(model.latent, model.space, u, md)
    other = _logdet_gradient(model.latent, model.space, u, md, np.ones(model.space.dim, bool))
    np.testing.assert_allclose(closed, other, rtol=1e-7)


def test_large_sparse_factors_take_the_log_determinant_route(monkeypatch):
    # where diag(H^-1) is dear (large sparse factor) the gradient must not ask for it, and
    # the log-determinant route must give the closed form's values
    from mmreg.inference.linalg import SchurFactor

    model = _model(False, "gaussian", "equal")
    u = model.posterior.start_values() + 0.2
    md = model.latent.mode(model.space.hyper(u), tol=1e-13)
    assert isinstance(md.factor, SchurFactor)
    closed = laplace_gradient(model.latent, model.space, u, md)

    def forbidden(self, P=None):
        raise AssertionError("diag(H^-1) computed for a large sparse factor")

    monkeypatch.setattr(SchurFactor, "cheap_diag", property(lambda self: False))
    monkeypatch.setattr(SchurFactor, "inverse_parts", forbidden)
    routed = laplace_gradient(model.latent, model.space, u, md)
    np.testing.assert_allclose(routed, closed, rtol=1e-7)


@pytest.mark.parametrize(
    ("family", "weights", "ar", "n_groups"),
    [
        ("weibull", "estimated", False, 3000),  # SDs, shape and weight parameters
        ("gaussian", "estimated", False, 3000),
        ("binomial", "equal", False, 3000),
        ("gaussian", "equal", True, 300),  # random walks in dense country blocks
    ],
)
def test_selected_inverse_traces_equal_log_determinant_differences(
    family, weights, ar, n_groups, monkeypatch
):
    # two derivations of d log|H| / dψ: exact traces tr(H⁻¹ Ḣ) from selected entries of
    # H⁻¹ (block-diagonal random effects) and central differences of log|H| (two
    # factorisations per hyperparameter); they agree to the differences' error (~1e-8)
    from mmreg.inference.linalg import SchurFactor

    df = mmreg.datasets.simulate_coalitions(
        n_groups=n_groups,
        n_members=n_groups // 3,
        n_countries=8,
        family=family,
        weights=weights,
        seed=3,
    )
    f = df.attrs["formula"]
    if ar:
        f = f.replace("RE = TRUE)", "RE = TRUE, ar = TRUE)")
    model = mmreg.MMModel(f, df, family=family)
    u = model.posterior.start_values() + 0.2
    md = model.latent.mode(model.space.hyper(u), tol=1e-13)
    assert md.factor.has_pattern_inverse
    every = np.ones(model.space.dim, bool)
    exact = _logdet_gradient(model.latent, model.space, u, md, every)
    monkeypatch.setattr(SchurFactor, "has_pattern_inverse", property(lambda self: False))
    differenced = _logdet_gradient(model.latent, model.space, u, md, every)
    np.testing.assert_allclose(exact, differenced, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("ar", [False, True])
def test_gaussian_sigma_from_the_trace_identity_equals_its_log_determinant_difference(
    ar, monkeypatch
):
    # with every SD's d log|H|/ds done, the Gaussian sigma's comes from
    # tr(H⁻¹H) = dim (no factorisation); asked for alone, it is a central difference of
    # log|H| (two factorisations): the two must agree to the differences' error.  (The
    # route of large sparse factors, where selected entries of H⁻¹ are not available.)
    from mmreg.inference import gradient
    from mmreg.inference.linalg import SchurFactor

    monkeypatch.setattr(SchurFactor, "has_pattern_inverse", property(lambda self: False))
    monkeypatch.setattr(gradient, "SMALL_BLOCK", 0)  # every SD by differences
    # informative coefficient priors, so that their share tr(H⁻¹Q_β) of the identity counts
    priors = {"Intercept": mmreg.priors.Normal(0, 0.3), "majority": mmreg.priors.Normal(0, 0.1)}
    model = _model(ar, "gaussian", "equal", priors)
    names = list(model.space.free)
    j = names.index("sigma")
    u = model.posterior.start_values() + 0.3
    md = model.latent.mode(model.space.hyper(u), tol=1e-13)
    every = np.ones(model.space.dim, bool)
    alone = np.zeros(model.space.dim, bool)
    alone[j] = True
    calls = _count_factorisations(model)
    by_identity = _logdet_gradient(model.latent, model.space, u, md, every)
    n_every = len(calls)
    differenced = _logdet_gradient(model.latent, model.space, u, md, alone)
    assert len(calls) - n_every == 2  # sigma alone: two factorisations
    assert n_every == 2 * (len(names) - 1)  # with every SD: none for sigma
    assert by_identity[j] == pytest.approx(differenced[j], rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("ar", [False, True])
def test_small_block_traces_equal_log_determinant_differences(ar, monkeypatch):
    # Gaussian family, a large sparse factor (no selected inverse): the SD of a small block
    # (countries: 12 states; members without random walks: 120) takes tr(H⁻¹ ∂Q/∂s) from
    # that block of H⁻¹ (one solve per colour, no factorisation) — it must equal the central
    # difference of log|H| (two factorisations), to the differences' error (~1e-8)
    from mmreg.inference import gradient
    from mmreg.inference.linalg import SchurFactor

    monkeypatch.setattr(SchurFactor, "has_pattern_inverse", property(lambda self: False))
    model = _model(ar, "gaussian", "equal")
    u = model.posterior.start_values() - 0.3
    md = model.latent.mode(model.space.hyper(u), tol=1e-13)
    assert isinstance(md.factor, SchurFactor)
    every = np.ones(model.space.dim, bool)
    calls = _count_factorisations(model)
    by_solves = _logdet_gradient(model.latent, model.space, u, md, every)
    # only the random walk (more states than SMALL_BLOCK) is differenced; sigma: identity
    assert len(calls) == (2 if ar else 0)
    monkeypatch.setattr(gradient, "SMALL_BLOCK", 0)
    differenced = _logdet_gradient(model.latent, model.space, u, md, every)
    np.testing.assert_allclose(by_solves, differenced, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("family", "weights", "ar"),
    [
        ("gaussian", "estimated", True),
        ("weibull", "estimated", False),
        ("binomial", "equal", False),
        ("cox", "estimated", False),
    ],
)
def test_mode_sensitivity_equals_central_differences_of_modes(family, weights, ar):
    # dẑ/du = H⁻¹ ∂G/∂ψ (implicit function theorem) against central differences of
    # conditional modes solved to 1e-14 (h = 1e-5: truncation ~1e-10, noise ~1e-9)
    model = _model(ar, family, weights)
    space, latent = model.space, model.latent
    u = model.posterior.start_values() + 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        md = latent.mode(space.hyper(u), tol=1e-14)
        J = mode_sensitivity(latent, space, u, md)
        h = 1e-5
        for j in range(space.dim):
            e = np.zeros(space.dim)
            e[j] = h
            zp = latent.mode(space.hyper(u + e), z0=md.z, tol=1e-14).z
            zm = latent.mode(space.hyper(u - e), z0=md.z, tol=1e-14).z
            num = (zp - zm) / (2 * h)
            scale = max(1.0, float(np.max(np.abs(num))))
            np.testing.assert_allclose(J[:, j], num, rtol=0, atol=1e-6 * scale)


def test_repeated_evaluations_reuse_the_last_one():
    # the stationarity checks and the final mode of a fit are at the optimiser's last point:
    # no second factorisation, and the very same numbers
    model = _model(True, "gaussian", "equal")
    obj = _Objective(model.latent, model.space)
    u = model.posterior.start_values() + 0.1
    f, g = obj.value_and_grad(u)
    calls = _count_factorisations(model)
    f2, g2 = obj.value_and_grad(u.copy())
    md, f3 = obj.at(u)
    assert calls == [] and f2 == f3 == f and np.array_equal(g2, g)
    obj.value_and_grad(u + 1e-3)  # a new point is evaluated
    assert len(calls) > 0
    fresh = model.latent.mode(model.space.hyper(u), tol=1e-13)
    np.testing.assert_allclose(md.z, fresh.z, rtol=1e-9, atol=1e-12)
