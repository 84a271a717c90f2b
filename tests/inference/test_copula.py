"""The copula independence proposal (issue #18): a proper density, exact draws, and a move
that leaves a skewed target invariant."""

from __future__ import annotations

import emcee
import numpy as np
import pytest
from scipy import special

from mmreg.inference import tuning
from mmreg.inference.copula import CopulaIndependenceMove, GridMarginal
from mmreg.inference.moves import KDEIndependenceMove

# log-gamma coordinates: x = log G, G ~ Gamma(a); skewed to the left like a log-SD's
# posterior with mass near zero. Mean digamma(a), variance trigamma(a).
ALPHA = np.array([0.7, 1.0, 2.0, 3.0])


def _log_target(x: np.ndarray) -> float:
    return float(np.sum(ALPHA * x - np.exp(x)))


def _target_draws(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.log(rng.gamma(ALPHA, size=(n, len(ALPHA))))


def test_grid_marginal_is_a_proper_density_with_exact_inverse():
    x = _target_draws(400, 1)[:, 0]
    m = GridMarginal(x)
    # piecewise-constant density: its integral over the cells is exactly the CDF's range
    assert np.sum(m.dens * np.diff(m.grid)) == pytest.approx(1.0, abs=1e-12)
    p = np.linspace(0.001, 0.999, 101)
    assert np.allclose(m.cdf_at(m.quantile(p)), p, atol=1e-12)
    assert m.logpdf(np.array([m.grid[0] - 1.0]))[0] == -np.inf


def test_copula_draws_follow_its_density():
    pts = _target_draws(500, 2)
    mv = CopulaIndependenceMove(pts, pts.mean(0), np.cov(pts, rowvar=False))
    rs = np.random.RandomState(3)
    # the copula density integrates to one: E_t[q_copula / t] = 1 (MC SE ~ 0.002)
    xt = mv.t.draw(100_000, rs)
    w = np.exp(mv.copula_logpdf(xt) - mv.t.logpdf(xt))
    se = w.std() / np.sqrt(len(w))
    assert abs(w.mean() - 1.0) < 5 * se
    # the draws have the moments the density gives (importance-weighted t draws)
    xc = mv.draw_copula(100_000, rs)
    f_draws = xc[:, 0] * xc[:, 3]
    f_is = np.sum(w * xt[:, 0] * xt[:, 3]) / np.sum(w)
    assert abs(f_draws.mean() - f_is) < 0.05  # SE of the weighted mean ~ 0.01


@pytest.mark.parametrize("seed", [1, 2])
def test_copula_move_leaves_a_skewed_target_invariant(seed):
    pts = _target_draws(300, 10 + seed)
    mv = CopulaIndependenceMove(pts, pts.mean(0), np.cov(pts, rowvar=False))
    nw, steps = 32, 400
    smp = emcee.EnsembleSampler(nw, len(ALPHA), _log_target, moves=[(mv, 1.0)])
    smp.random_state = np.random.RandomState(seed).get_state()
    # start far from the proposal's bulk: the kernel must bring the walkers in
    start = 1.0 + 0.1 * np.random.default_rng(seed).random((nw, len(ALPHA)))
    smp.run_mcmc(start, steps)
    chain = smp.get_chain(discard=50)
    tau = emcee.autocorr.integrated_time(chain, quiet=True)
    ess = chain.shape[0] * nw / tau
    mean = chain.reshape(-1, len(ALPHA)).mean(0)
    se = np.sqrt(special.polygamma(1, ALPHA) / ess)
    assert np.all(np.abs(mean - special.digamma(ALPHA)) < 4.5 * se)
    assert smp.acceptance_fraction.mean() > 0.6  # a t fitted to the same draws: ~0.55


def test_adapted_moves_choose_the_proposal_by_dimension():
    pts = _target_draws(300, 5)
    assert isinstance(tuning.adapted_moves(pts[:, :3])[0][0], KDEIndependenceMove)
    assert isinstance(tuning.adapted_moves(pts)[0][0], CopulaIndependenceMove)
