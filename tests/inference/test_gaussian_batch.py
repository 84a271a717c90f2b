"""A step's walkers evaluated together (``LogPosterior.batch``, ``GaussianSums.modes``).

Reference: the same log posterior evaluated one point at a time (``LogPosterior.__call__``),
which is also what every point gets with ``pool=``.  The batched path forms every point's
H in one pass of array operations and factors, solves and draws per point; it must give
the same numbers bit for bit (the log density, the seed, the latent draw and its
log-likelihood), whatever the batch's size, grouping or order, for points outside the
prior and for points whose SD is so small that the Newton path takes over.  The batched
products of H themselves are checked row by row against the single-point calls, and the
log-density values against the dense marginal normal density of y.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pytest
from scipy.stats import multivariate_normal

import mmreg
from mmreg.inference.gaussian_sums import GaussianSums
from mmreg.inference.laplace import fit_laplace
from mmreg.inference.logpost import LogPosterior
from mmreg.inference.pattern import SparsePattern

_WALK = "RE = TRUE, ar = TRUE)"


@cache
def _posterior(kind: str = "walk"):
    """A simulated coalition model: ``walk`` (members as random walks, a fixed design:
    batched), ``weights`` (estimated weights: one point at a time), ``cor`` (a correlated
    country slope: batched)."""
    weights = "estimated" if kind == "weights" else "equal"
    df = mmreg.datasets.simulate_coalitions(
        n_groups=150, n_members=50, n_countries=6, weights=weights, seed=7
    )
    f = df.attrs["formula"]
    if kind == "walk":
        f = f.replace("RE = TRUE)", _WALK)
    if kind == "cor":
        f = f.replace('type = "RE")', "RE = re(1 + majority, cor = TRUE))")
    return mmreg.MMModel(f, df).posterior


def _logpost(kind: str, keep_z: bool) -> LogPosterior:
    post = _posterior(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lap = fit_laplace(post, None, mcmc_start=True)
    return LogPosterior.from_laplace(post, lap, 0, seed=11, keep_z=keep_z)


def _points(lp: LogPosterior, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return lp.u0 + 0.6 * rng.standard_normal((n, lp.u0.size))


def _assert_same(got: list, want: list) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert len(g) == len(w)
        assert g[0] == w[0] and g[1] == w[1]
        if len(g) > 2:
            np.testing.assert_array_equal(g[2], w[2])
            np.testing.assert_array_equal(g[3], w[3])


@pytest.mark.parametrize("keep_z", [False, True])
def test_batch_gives_the_numbers_of_one_point_at_a_time(keep_z, monkeypatch):
    lp = _logpost("walk", keep_z)
    newton = []  # the points that took the Newton path (an SD near zero)
    mode = lp.latent.mode
    monkeypatch.setattr(lp.latent, "mode", lambda h, *a, **k: newton.append(h) or mode(h, *a, **k))
    assert lp.batchable
    us = _points(lp, 23)
    us[4, 0] = 800.0  # far outside the prior's support on the natural scale: -inf
    us[7, lp.space.free.index("sigma.mm1")] = -25.0  # an SD of e^-25: Newton's path
    want = [lp(u) for u in us]
    pinned = len(newton)
    assert pinned >= 1  # the point above at least
    _assert_same(lp.batch(us), want)
    assert len(newton) == 2 * pinned
    # the same points in another order and in two batches: each point's own numbers
    order = np.random.default_rng(1).permutation(len(us))
    got = lp.batch(us[order[:9]]) + lp.batch(us[order[9:]])
    _assert_same(got, [want[i] for i in order])
    assert np.isfinite(want[0][0]) and want[4][0] == -np.inf


def test_batch_in_groups_and_without_holding_factors(monkeypatch):
    """Small groups (BATCH_ENTRIES) and factors used one at a time (AHEAD_MAX): the same."""
    lp = _logpost("walk", True)
    us = _points(lp, 10, seed=2)
    want = [lp(u) for u in us]
    monkeypatch.setattr(GaussianSums, "BATCH_ENTRIES", 1)  # one point per group
    assert lp.sums is not None and lp.sums.batch_size == 1
    _assert_same(lp.batch(us), want)
    monkeypatch.setattr(GaussianSums, "BATCH_ENTRIES", 3 * 10**4)
    monkeypatch.setattr(SparsePattern, "AHEAD_MAX", 0)
    assert 1 < lp.sums.batch_size < len(us)
    _assert_same(lp.batch(us), want)


def test_models_that_are_not_batched_are_evaluated_one_by_one():
    lp = _logpost("weights", True)
    assert not lp.batchable
    us = _points(lp, 5, seed=3)
    _assert_same(lp.batch(us), [lp(u) for u in us])
    assert lp.sums is not None
    with pytest.raises(ValueError, match="batchable"):
        lp.sums.modes([lp.space.hyper(us[0])])


@pytest.mark.parametrize("keep_z", [False, True])
def test_correlated_slopes_are_batched_with_each_points_numbers(keep_z):
    """A correlated intercept and slope (``re(1 + majority, cor = TRUE)``): the prior's
    cross parts per point, the same numbers as one point at a time."""
    lp = _logpost("cor", keep_z)
    assert lp.batchable
    us = _points(lp, 12, seed=3)
    want = [lp(u) for u in us]
    _assert_same(lp.batch(us), want)
    _assert_same(lp.batch(us[::-1]), want[::-1])


def test_batched_values_are_the_marginal_density():
    """log p(y | ψ) of every batched point plus the log prior: equal to the Newton path's
    (which forms the residuals row by row) to 1e-8, and to the dense marginal normal
    density of y (y ~ N(offset + A m, σ² I + A Q⁻¹ Aᵀ), its random-walk covariance formed
    by a dense solve) to 1e-9 relative."""
    lp = _logpost("walk", False)
    post, lat = lp.posterior, lp.latent
    us = _points(lp, 4, seed=4)
    got = lp.batch(us)
    for u, (val, _) in zip(us, got, strict=True):
        hyper = lp.space.hyper(u)
        D, R, off = lat.assemble(hyper.theta)
        A = np.hstack([D, R.toarray()])
        Q = lat.prior_precision(hyper.sd, hyper.cor)
        cov = lat.family.residual_variance(hyper.phi) * np.eye(lat.n) + A @ np.linalg.solve(Q, A.T)
        y = lat.family.normal_outcome()
        want = multivariate_normal(off + A @ lat.prior_mean(hyper), cov).logpdf(y)
        prior = post.space.log_prior(u, jacobian=True)
        assert val == pytest.approx(want + prior, rel=1e-9)
        assert val == pytest.approx(lat.mode(hyper).log_marginal + prior, abs=1e-8)


def test_cached_products_of_many_points_are_each_points_own():
    """H_bb, H_br and H_rr's data for B curvatures at once: row b is the single call's."""
    lat = _posterior("walk").latent
    D, R, _ = lat.assemble(())
    rng = np.random.default_rng(5)
    d0 = rng.uniform(0.2, 3.0, 6)
    prec = rng.uniform(0.1, 5.0, (6, lat.cor.n_parts))
    Hbb, Hbr, data = lat.cached_products(D, R, d0, prec)
    for b in range(6):
        one = lat.cached_products(D, R, d0[b], prec[b])
        np.testing.assert_array_equal(Hbb[b], one[0])
        np.testing.assert_array_equal(Hbr[b], one[1])
        assert Hbr[b].flags.f_contiguous == one[1].flags.f_contiguous
        np.testing.assert_array_equal(data[b], one[2])
