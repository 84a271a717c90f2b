"""The sparse-plus-low-rank factor of a Cox latent Hessian (mmreg.inference.lowrank).

References: the dense matrix H = Aᵀ (diag(d) − U diag(c) Uᵀ) A + Q built with numpy from
the design, the family's curvature (``Curvature.dense``) and the prior precision, and the
dense Cholesky path the Cox models took before (the low-rank path switched off by its size
rule).  Agreement to rounding error: the Woodbury identities are exact, and every matrix
here is well conditioned (capacitance eigenvalues ≥ 1e-3).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import mmreg
import mmreg.inference.lowrank as lr
from mmreg.families.curvature import Curvature
from mmreg.inference.importance import ImportanceSampler
from mmreg.inference.linalg import DenseFactor, SchurFactor
from validation.reference_models import COALGOV, MODELS, load_coalgov


def _sim(seed: int = 5, intervals: int | None = 5):
    df = mmreg.datasets.simulate_coalitions(
        n_groups=200, n_members=80, n_countries=8, family="cox", seed=seed
    )
    return df, mmreg.MMModel(df.attrs["formula"], df, family="cox", cox_intervals=intervals)


def _cox10():
    if not COALGOV.exists():
        pytest.skip("../shared (coalgov) not present")
    spec = MODELS["cox10"]
    return mmreg.MMModel(spec.formula, load_coalgov(), family=spec.family, **spec.options)


def _at_mode(model, u):
    """The latent model, design, curvature at the conditional mode and the dense H."""
    lat = model.latent
    hyp = model.space.hyper(u)
    mode = lat.mode(hyp)
    D, R, _ = lat.assemble(hyp.theta)
    _, curv = lat.family.derivs(mode.eta, hyp.phi)
    A = np.hstack([D, R.toarray()])
    H = A.T @ curv.dense() @ A + lat.prior_precision(hyp.sd, hyp.cor)
    return lat, hyp, mode, D, R, curv, H


@pytest.fixture(params=["simulated", "coalgov cox10"])
def cox_model(request):
    if request.param == "simulated":
        return _sim()[1], np.array([0.3, -0.5])
    return _cox10(), np.array([0.27])


def test_factor_matches_dense_algebra(cox_model):
    model, u = cox_model
    lat, hyp, _, D, R, curv, H = _at_mode(model, u)
    fac = lat.factor(D, R, curv, hyp.sd, hyp.cor)
    assert isinstance(fac, lr.LowRankFactor) and isinstance(fac.base, SchurFactor)
    assert fac.cheap_diag and not fac.has_pattern_inverse
    Hinv = np.linalg.inv(H)
    sign, logdet = np.linalg.slogdet(H)
    assert sign > 0 and fac.logdet == pytest.approx(logdet, rel=1e-10, abs=1e-9)
    g = np.random.default_rng(1).normal(size=(len(H), 3))
    np.testing.assert_allclose(fac.solve(g), Hinv @ g, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fac.solve(g[:, 0]), Hinv @ g[:, 0], rtol=1e-9, atol=1e-12)
    # sample maps standard normals to covariance H⁻¹: with eps = I, X Xᵀ = H⁻¹ exactly
    X = fac.sample(np.eye(len(H)))
    np.testing.assert_allclose(X @ X.T, Hinv, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fac.sample_t(np.eye(len(H))), X.T, rtol=1e-9, atol=1e-12)
    P = lat.P
    Cb, diag = fac.inverse_parts(P)
    np.testing.assert_allclose(diag, np.diag(Hinv), rtol=1e-9)
    np.testing.assert_allclose(Cb, Hinv[:P, :P], rtol=1e-9)
    np.testing.assert_allclose(fac.coef_block(P), Hinv[:P, :P], rtol=1e-9)
    np.testing.assert_allclose(fac.inverse(), Hinv, rtol=1e-9, atol=1e-12)
    idx = P + np.array([0, 7, 3, lat.q - 1])
    np.testing.assert_allclose(fac.inverse_block(idx), Hinv[np.ix_(idx, idx)], rtol=1e-9)
    assert fac.block_solves(idx) == fac.base.block_solves(idx)
    # the update: H = H₀ − V Vᵀ, and W = H₀⁻¹ V came with the factorisation of H₀
    H0 = H + fac.V @ fac.V.T
    A = np.hstack([D, R.toarray()])
    np.testing.assert_allclose(
        H0,
        A.T @ (curv.d[:, None] * A) + lat.prior_precision(hyp.sd, hyp.cor),
        rtol=1e-10,
        atol=1e-10,
    )
    np.testing.assert_allclose(fac.W, np.linalg.solve(H0, fac.V), rtol=1e-9, atol=1e-12)
    # the dense factor of the same H (the path before) agrees to rounding error
    dense = DenseFactor(H)
    assert fac.logdet == pytest.approx(dense.logdet, rel=1e-12)
    Xd = dense.sample(np.eye(len(H)))
    np.testing.assert_allclose(dense.sample_t(np.eye(len(H))), Xd.T, rtol=1e-12, atol=1e-14)


def test_size_rule_and_signs():
    # unique-time Cox: one column of U per event time, more than dim / 8: dense path
    _, model = _sim(intervals=None)
    lat, hyp, mode, *_ = _at_mode(model, np.zeros(2))
    assert lat.dim < 8 * 200 and isinstance(mode.factor, DenseFactor)
    # signed c (conditional logit, exact ties) or a negative diagonal: dense path
    U = np.ones((4, 1))
    assert lr.use_low_rank(Curvature(d=np.ones(4), U=U, c=np.array([1.0])), 8)
    assert not lr.use_low_rank(Curvature(d=np.ones(4), U=U, c=np.array([1.0])), 7)
    assert not lr.use_low_rank(Curvature(d=np.ones(4), U=U, c=np.array([-1.0])), 8)
    assert not lr.use_low_rank(Curvature(d=-np.ones(4), U=U, c=np.array([1.0])), 8)
    assert not lr.use_low_rank(Curvature(d=np.ones(4)), 8)


def test_singular_update_is_refused():
    """H₀ − v vᵀ with vᵀ H₀⁻¹ v = 1 is singular: ``build`` gives None (the dense path)."""
    _, model = _sim()
    lat, hyp, _, D, R, curv, _ = _at_mode(model, np.zeros(2))
    base = lat.factor(D, R, Curvature(d=curv.d), hyp.sd, hyp.cor)
    assert isinstance(base, SchurFactor)
    v = np.random.default_rng(0).normal(size=(lat.dim, 1))
    v /= np.sqrt(float(v[:, 0] @ base.solve(v[:, 0])))
    assert lr.LowRankFactor.build(base, v) is None
    assert lr.LowRankFactor.build(base, 0.9 * v) is not None


def _switch_off(monkeypatch):
    monkeypatch.setattr(lr, "LOW_RANK_RATIO", 10**9)


def test_laplace_fit_of_cox10_unchanged(monkeypatch):
    """The Laplace fit with the low-rank factor equals the dense path's: log marginal
    posterior to 1e-12 relative, hyperparameters and mode to 1e-8 (the optimiser's
    gradients are central differences of log|H|, whose rounding differs by ~1e-14)."""
    model = _cox10()
    new = model.fit()
    assert isinstance(new.raw.mode.factor, lr.LowRankFactor)
    _switch_off(monkeypatch)
    old = _cox10().fit()
    assert isinstance(old.raw.mode.factor, DenseFactor)
    assert new.raw.log_posterior == pytest.approx(old.raw.log_posterior, rel=1e-12)
    assert new.raw.mode.log_marginal == pytest.approx(old.raw.mode.log_marginal, rel=1e-12)
    np.testing.assert_allclose(new.raw.u, old.raw.u, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(new.raw.mode.z, old.raw.mode.z, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(new.raw.cov_coef, old.raw.cov_coef, rtol=1e-6)


class _RotatedNormals:
    """A generator whose (dim × m) standard normals are O times another's."""

    def __init__(self, rng: np.random.Generator, O: np.ndarray):
        self.rng, self.O = rng, O

    def standard_normal(self, size):
        return self.O @ self.rng.standard_normal(size)


def test_importance_estimate_equal_in_law():
    """The low-rank factor's draws are another square root T of H⁻¹ than the dense
    Cholesky factor's L⁻ᵀ: T = L⁻ᵀ O with O orthogonal.  So the pseudo-marginal estimate
    with the new factor at normals ε equals the dense one's at O ε — the same distribution
    (O ε is standard normal and antithetic pairs stay pairs) — checked here exactly."""
    model = _cox10()
    lat, hyp, mode, *_, H = _at_mode(model, np.array([0.27]))
    assert isinstance(mode.factor, lr.LowRankFactor)
    dense = DenseFactor(H)
    O = dense.L.T @ mode.factor.sample(np.eye(lat.dim))
    np.testing.assert_allclose(O @ O.T, np.eye(lat.dim), atol=1e-10)
    old_mode = dataclasses.replace(mode, factor=dense)
    sampler = ImportanceSampler(lat)  # Cox: no mean shift
    for seed in (1, 2):
        est, parts, logw = sampler.estimate(hyp, mode, np.random.default_rng(seed), 16)
        rot = _RotatedNormals(np.random.default_rng(seed), O)
        est0, parts0, logw0 = sampler.estimate(hyp, old_mode, rot, 16)  # type: ignore[arg-type]
        assert est == pytest.approx(est0, rel=1e-12)
        np.testing.assert_allclose(parts, parts0, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(logw, logw0, rtol=1e-9, atol=1e-9)


@pytest.mark.filterwarnings("ignore::mmreg.MMWarning")  # sigma.mm1 near 0 in these data
def test_row_order_does_not_change_the_fit():
    df, model = _sim()
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    other = mmreg.MMModel(df.attrs["formula"], shuffled, family="cox", cox_intervals=5)
    a, b = model.fit(), other.fit()
    assert isinstance(a.raw.mode.factor, lr.LowRankFactor)
    assert a.raw.log_posterior == pytest.approx(b.raw.log_posterior, rel=1e-10)
    np.testing.assert_allclose(a.raw.u, b.raw.u, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.asarray(a.params), np.asarray(b.params), rtol=1e-6)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::mmreg.MMWarning")  # short runs
def test_mcmc_posterior_of_cox10_agrees_with_dense_path(monkeypatch):
    """A short MCMC of cox10 with both factors (same seed; the draws differ because the
    particles do, see above): posterior means within 4 combined Monte Carlo standard
    errors, SDs within 15% (about 4 standard errors of an SD from ~500 effective draws).
    ``validation/cox_lowrank.py`` compares full default runs over several seeds."""
    kw = dict(method="mcmc", draws=400, chains=2, seed=4)
    new = _cox10().fit(**kw)
    _switch_off(monkeypatch)
    old = _cox10().fit(**kw)
    a, b = new.mcmcDiag(), old.mcmcDiag()
    tol = 4.0 * np.sqrt(a["mcse_mean"] ** 2 + b["mcse_mean"] ** 2)
    assert np.all(np.abs(a["mean"] - b["mean"]) <= tol), (a, b)
    np.testing.assert_allclose(a["sd"], b["sd"], rtol=0.15)
