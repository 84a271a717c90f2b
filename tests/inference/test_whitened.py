"""The latent vector in Laplace-whitened coordinates (:mod:`mmreg.inference.whitened`).

References: the importance sampler's log-weights (:mod:`mmreg.inference.importance`,
validated against quadrature in ``test_importance.py``) with the same normals; central
finite differences for the gradient; for the Gaussian family the closed form (the Laplace
value is exact, so the log-weight is log p(y | ψ) for every w); and for the Hamiltonian
step, self-normalised importance sampling of the same conditional from 200,000 draws.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

import mmreg
from mmreg.inference.importance import particle_log_density
from mmreg.inference.laplace import fit_laplace
from mmreg.inference.logpost import LogPosterior
from mmreg.inference.whitened import Whitened, hmc_step


def _setup(family: str, n_groups: int = 60, seed: int = 2):
    df = mmreg.datasets.simulate_coalitions(
        n_groups=n_groups, n_members=max(n_groups // 3, 6), n_countries=4, family=family, seed=seed
    )
    model = mmreg.MMModel(df.attrs["formula"], df, family=family)
    lap = fit_laplace(model.posterior, None, mcmc_start=True)
    lp = LogPosterior.from_laplace(model.posterior, lap, 1 if family != "gaussian" else 0, 1)
    return model, lap, lp


def _u(model, **natural) -> np.ndarray:
    """Unconstrained ψ from natural values of the free hyperparameters (SDs 0.6 unless
    given; a Weibull shape 1.2)."""
    x = [natural.get(k, 1.2 if k == "shape" else 0.6) for k in model.space.free]
    return model.space.unconstrain(np.array(x, float))


@pytest.fixture(scope="module")
def weibull():
    return _setup("weibull")


def test_log_weight_is_the_importance_samplers(weibull):
    model, _, lp = weibull
    cond = Whitened.at(lp, _u(model, **{"sigma.hm1": 0.9}))  # off the mode
    assert cond is not None
    lat, hyp = lp.latent, cond.hyper
    W = np.random.default_rng(0).standard_normal((lat.dim, 5))
    parts = cond.center[:, None] + cond.factor.sample(W)
    # the pseudo-marginal sampler's log-weight of the same particles
    ref = particle_log_density(lat, hyp, cond.D, cond.R, cond.off, parts) - (
        0.5 * cond.factor.logdet - 0.5 * np.sum(W**2, axis=0)
    )
    got = [cond.log_weight(W[:, j])[0] for j in range(5)]
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(cond.z(W[:, 0]), parts[:, 0], rtol=1e-12, atol=1e-12)
    assert cond.log_joint(W[:, 0]) == pytest.approx(
        cond.log_prior + got[0] - 0.5 * W[:, 0] @ W[:, 0], rel=1e-12
    )


@pytest.mark.parametrize("family", ["weibull", "binomial", "cox"])
def test_gradient_matches_central_differences(family):
    model, _, lp = _setup(family, n_groups=40)
    cond = Whitened.at(lp, _u(model))
    assert cond is not None
    rng = np.random.default_rng(1)
    w = 0.8 * rng.standard_normal(lp.latent.dim)
    _, g = cond.log_weight(w, grad=True)
    for _ in range(4):
        d = rng.standard_normal(w.size)
        d /= np.linalg.norm(d)
        h = 1e-5
        fd = (cond.log_weight(w + h * d)[0] - cond.log_weight(w - h * d)[0]) / (2 * h)
        assert g @ d == pytest.approx(fd, rel=1e-5, abs=1e-6)


def test_gaussian_log_weight_is_the_exact_marginal_likelihood():
    # Laplace is exact for the Gaussian family: p(y, z | ψ) / N(z; ẑ, H⁻¹) = p(y | ψ) for
    # every z, so Φ_ψ is constant in w and equals the collapsed log p(y | ψ)
    model, _, lp = _setup("gaussian")
    u = _u(model, sigma=1.1)
    cond = Whitened.at(lp, u)
    assert cond is not None
    hyp = lp.space.hyper(u)
    exact = lp.latent.mode(hyp).log_marginal
    rng = np.random.default_rng(3)
    for _ in range(3):
        w = 2.0 * rng.standard_normal(lp.latent.dim)
        val, g = cond.log_weight(w, grad=True)
        assert val == pytest.approx(exact, rel=1e-9, abs=1e-7)
        np.testing.assert_allclose(g, 0.0, atol=1e-6)


def test_hmc_step_leaves_the_conditional_invariant():
    # a small binomial model (strongly non-Gaussian z | ψ): moments of z from the chain of
    # Hamiltonian steps against self-normalised importance sampling of N(0, I) e^Φ
    model, _, lp = _setup("binomial", n_groups=24, seed=5)
    cond = Whitened.at(lp, _u(model, **{"sigma.mm1": 1.0, "sigma.hm1": 1.2}))
    assert cond is not None
    lat = lp.latent
    rng = np.random.default_rng(7)
    W = rng.standard_normal((lat.dim, 200_000))
    Z = cond.center[:, None] + cond.factor.sample(W)
    lw = particle_log_density(lat, cond.hyper, cond.D, cond.R, cond.off, Z) + 0.5 * np.sum(
        W**2, axis=0
    )
    p = np.exp(lw - logsumexp(lw))
    assert 1 / np.sum(p**2) > 20_000  # the reference's own effective sample size
    ref_mean, ref_sd = Z @ p, np.sqrt((Z**2) @ p - (Z @ p) ** 2)
    w = np.zeros(lat.dim)
    draws, acc = [], 0
    random = np.random.RandomState(11)
    for i in range(4200):
        w, _, ok, _ = hmc_step(cond, w, random)
        acc += ok
        if i >= 200:
            draws.append(cond.z(w))
    zs = np.array(draws)
    assert 0.5 < acc / 4200 < 1.0
    # Monte Carlo SE of the chain's means: batch means over 40 batches of 100
    se = zs.reshape(40, 100, -1).mean(axis=1).std(axis=0, ddof=1) / np.sqrt(40)
    assert np.all(np.abs(zs.mean(axis=0) - ref_mean) < 4.5 * se + 1e-3 * ref_sd)
    np.testing.assert_allclose(zs.std(axis=0), ref_sd, rtol=0.1)
