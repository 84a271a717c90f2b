"""Gradient, curvature, dphi and loglik_terms of every family vs finite differences of loglik."""

from __future__ import annotations

import numpy as np
import pytest

from mmreg.families import get_family

N = 10


def _grad_fd(f, x, h=1e-6):
    out = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def _hess_fd(f, x, h=1e-4):
    """Second-order central differences of a scalar function."""
    n = x.size
    H = np.empty((n, n))
    eye = np.eye(n) * h
    for i in range(n):
        for j in range(i, n):
            v = (
                f(x + eye[i] + eye[j])
                - f(x + eye[i] - eye[j])
                - f(x - eye[i] + eye[j])
                + f(x - eye[i] - eye[j])
            ) / (4 * h * h)
            H[i, j] = H[j, i] = v
    return H


def _cases():
    rng = np.random.default_rng(11)
    t_tied = rng.integers(1, 5, N).astype(float)
    t_cont = rng.exponential(2.0, N)
    ev = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0], dtype=float)
    strata1 = np.repeat(np.arange(5), 2)
    y1 = np.tile([1.0, 0.0], 5)
    strata2 = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    y2 = np.array([1, 1, 0, 0, 1, 0, 0, 1, 1, 1], dtype=float)  # 2 of 4, 1 of 3, all of 3
    return [
        ("gaussian", {}, {"y": rng.normal(size=N)}, (1.3,)),
        ("binomial", {}, {"y": rng.integers(0, 2, N)}, ()),
        ("poisson", {}, {"y": rng.poisson(3.0, N)}, ()),
        ("negbinomial", {}, {"y": rng.poisson(3.0, N)}, (2.5,)),
        ("negbinomial", {}, {"y": rng.negative_binomial(0.5, 0.1, N)}, (0.4,)),
        ("weibull", {}, {"time": t_cont, "event": ev}, (1.7,)),
        ("weibull", {}, {"time": t_cont, "event": ev}, (0.6,)),
        ("cox", {}, {"time": t_tied, "event": ev}, ()),
        ("cox", {"grid": "events"}, {"time": t_tied, "event": ev}, ()),
        ("cox", {"intervals": 3}, {"time": t_cont, "event": ev}, ()),
        ("cox", {"intervals": 2, "a": 2.0, "b": 0.5}, {"time": t_tied, "event": ev}, ()),
        ("clogit", {}, {"y": y1, "strata": strata1}, ()),
        ("clogit", {}, {"y": y2, "strata": strata2}, ()),
        ("clogit", {"ties": "breslow"}, {"y": y2, "strata": strata2}, ()),
    ]


CASES = _cases()
IDS = [f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("name, opts, outcome, phi", CASES, ids=IDS)
def test_gradient_and_curvature_match_finite_differences(name, opts, outcome, phi):
    bf = get_family(name, **opts).bind(outcome)
    eta = np.random.default_rng(5).normal(scale=0.8, size=N)
    grad, curv = bf.derivs(eta, phi)

    def f(e):
        return bf.loglik(e, phi)

    np.testing.assert_allclose(grad, _grad_fd(f, eta), atol=1e-6)
    np.testing.assert_allclose(curv.dense(), -_hess_fd(f, eta), atol=2e-5)


@pytest.mark.parametrize("name, opts, outcome, phi", CASES, ids=IDS)
def test_loglik_terms_sum_to_loglik(name, opts, outcome, phi):
    bf = get_family(name, **opts).bind(outcome)
    eta = np.random.default_rng(6).normal(size=N)
    terms = bf.loglik_terms(eta, phi)
    assert terms.shape == (N,)
    assert terms.sum() == pytest.approx(bf.loglik(eta, phi), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    "name, phi",
    [("gaussian", (0.7,)), ("weibull", (2.3,)), ("negbinomial", (2.5,)), ("negbinomial", (0.3,))],
)
def test_dphi_matches_finite_differences(name, phi):
    case = next(c for c in CASES if c[0] == name)
    bf = get_family(name).bind(case[2])
    eta = np.random.default_rng(7).normal(size=N)
    num = _grad_fd(lambda p: bf.loglik(eta, p), np.array(phi))
    np.testing.assert_allclose(bf.dphi(eta, phi), num, rtol=1e-6)


@pytest.mark.parametrize("name, opts, outcome, phi", CASES, ids=IDS)
def test_dphi_is_none_without_hyperparameters(name, opts, outcome, phi):
    bf = get_family(name, **opts).bind(outcome)
    out = bf.dphi(np.zeros(N), phi)
    assert (out is None) == (len(phi) == 0)


def test_cox_and_clogit_gradients_stable_for_large_eta():
    """A common shift of eta by 800 must not overflow (relative-risk models are shift-free)."""
    rng = np.random.default_rng(3)
    eta = rng.normal(size=N)
    cox = get_family("cox", a=1e-9, b=1e-9).bind(
        {"time": rng.exponential(size=N), "event": np.ones(N)}
    )
    g0, _ = cox.derivs(eta)
    g1, _ = cox.derivs(eta + 800.0)
    np.testing.assert_allclose(g1, g0, atol=1e-6)
    cl = get_family("clogit").bind({"y": np.tile([1.0, 0.0], 5), "strata": np.repeat(range(5), 2)})
    assert cl.loglik(eta + 800.0) == pytest.approx(cl.loglik(eta), rel=1e-12)
