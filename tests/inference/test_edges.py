"""The edge component of the kept-phase proposal (mmreg.inference.edges).

Reference values are closed forms: the component draws the distance to the bound, eᵘ, from
a half-normal and the other coordinates from a t's marginal (SciPy's distributions); the
target log Exp(1), density exp(u − eᵘ), has the exponential left tail of the log of an SD
whose posterior reaches zero, with mean −γ and variance π²/6.
"""

from __future__ import annotations

import emcee
import numpy as np
import pytest
from scipy import integrate, stats

from mmreg.inference import tuning
from mmreg.inference.copula import CopulaIndependenceMove
from mmreg.inference.edges import EDGE_WEIGHT, EdgeComponent, edge_coordinates
from mmreg.inference.moves import KDEIndependenceMove


def _log_exp_draws(n, seed, dim=1):
    """Draws of u = log σ, σ ~ Exp(1), in the first coordinate; N(0, 0.5²) in the others."""
    rng = np.random.default_rng(seed)
    out = rng.normal(0.0, 0.5, size=(n, dim))
    out[:, 0] = np.log(rng.exponential(size=n))
    return out


def _component(points, coords):
    return EdgeComponent(
        points, points.mean(0), np.atleast_2d(np.cov(points, rowvar=False)), coords, 10.0, 1.1
    )


def test_edge_density_is_normalised_with_an_exponential_left_tail():
    edge = _component(_log_exp_draws(300, 1), [0])

    def q(x):
        return float(np.exp(edge.logpdf(np.array([[x]]))[0]))

    val, _ = integrate.quad(q, -np.inf, np.inf, limit=200)
    assert val == pytest.approx(1.0, abs=1e-8)
    # log q(u) = log 2φ(0) − log s + u − e^{2(u − log s)}/2: slope 1 as u → −∞
    lq = edge.logpdf(np.array([[-40.0], [-30.0]]))
    assert lq[1] - lq[0] == pytest.approx(10.0, abs=1e-12)
    s = np.sqrt(np.mean(np.exp(2 * _log_exp_draws(300, 1)[:, 0])))
    assert lq[1] == pytest.approx(np.log(2 * stats.norm.pdf(0)) - np.log(s) - 30.0, abs=1e-12)


def test_edge_draws_follow_a_half_normal_distance_and_the_t_marginal():
    pts = _log_exp_draws(400, 2, dim=2)
    edge = _component(pts, [0])
    x = edge.draw(20_000, np.random.RandomState(4))
    s = float(np.exp(edge.log_s[0]))
    assert stats.kstest(np.exp(x[:, 0]), stats.halfnorm(scale=s).cdf).pvalue > 1e-3
    t1 = stats.t(10.0, loc=pts[:, 1].mean(), scale=1.1 * pts[:, 1].std(ddof=1))
    assert stats.kstest(x[:, 1], t1.cdf).pvalue > 1e-3
    # a mis-specified reference fails: the distance is not half-normal at twice the scale
    assert stats.kstest(np.exp(x[:, 0]), stats.halfnorm(scale=2 * s).cdf).pvalue < 1e-6


def test_edge_density_over_two_coordinates_integrates_to_one():
    pts = _log_exp_draws(400, 3, dim=3)
    pts[:, 2] = np.log(np.random.default_rng(9).exponential(size=400))
    edge = _component(pts, [0, 2])
    # E_p[q_edge / p] = 1 for draws of p = the component itself is trivial; use a wide
    # Gaussian p instead (MC SE ~ 0.003 at 200,000 draws)
    rng = np.random.default_rng(5)
    y = rng.normal(pts.mean(0) - [2.0, 0.0, 2.0], 3.0, size=(200_000, 3))
    logp = stats.norm.logpdf(y, pts.mean(0) - [2.0, 0.0, 2.0], 3.0).sum(1)
    w = np.exp(edge.logpdf(y) - logp)
    assert abs(w.mean() - 1.0) < 5 * w.std() / np.sqrt(len(w))


def test_edge_bounds_target_over_proposal_in_the_left_tail():
    """For π(u) = exp(u − eᵘ) ≤ eᵘ and any proposal with the edge mixed in at weight w,
    log π − log q ≤ log(s / 2φ(0)) − log w + e^{2(u − log s)}/2 (q ≥ w · edge); below
    u = log s − 2 the last term is under 0.01.  A proposal fitted to too narrow draws
    (here: shrunk halfway to their median) exceeds that bound without the edge."""
    pts = _log_exp_draws(300, 1)
    pts = 0.5 * (pts + np.median(pts))
    args = (pts, pts.mean(0), np.atleast_2d(np.var(pts)))
    edge = _component(pts, [0])
    with_edge = KDEIndependenceMove(*args, edge=edge)
    without = KDEIndependenceMove(*args)
    s = float(np.exp(edge.log_s[0]))
    u = np.linspace(-40.0, np.log(s) - 2.0, 500)[:, None]
    log_pi = u[:, 0] - np.exp(u[:, 0])
    bound = np.log(s / (2 * stats.norm.pdf(0))) - np.log(EDGE_WEIGHT) + 0.01
    assert np.max(log_pi - with_edge.logpdf(u)) <= bound
    assert np.max(log_pi - without.logpdf(u)) > bound + 3.0


def test_edge_coordinates_are_log_distances_whose_draws_reach_the_bound():
    pts = _log_exp_draws(400, 6, dim=2)
    assert list(edge_coordinates(pts, np.array([True, True]))) == [0]
    assert list(edge_coordinates(pts, np.array([False, True]))) == []
    # a log-SD far from zero (SD 0.1 on the log scale) gets none
    tight = np.random.default_rng(7).normal(0.0, 0.1, size=(400, 1))
    assert len(edge_coordinates(tight, np.array([True]))) == 0


def _log_target(u):
    u = np.atleast_1d(u)
    return float(u[0] - np.exp(u[0]) - 0.5 * np.sum(u[1:] ** 2))


@pytest.mark.parametrize("kind", ["kde", "copula"])
def test_moves_with_an_edge_leave_the_target_invariant(kind):
    dim = 1 if kind == "kde" else 4
    pts = _log_exp_draws(300, 8, dim=dim)
    pts[:, 1:] *= 2.0  # N(0, 1) on the other coordinates, as the target
    pts[:, 0] += 0.5  # deliberately mis-fitted: only the MH ratio makes the draws exact
    cov = np.atleast_2d(np.cov(pts, rowvar=False))
    edge = _component(pts, [0])
    make = KDEIndependenceMove if kind == "kde" else CopulaIndependenceMove
    move = make(pts, pts.mean(0), cov, edge=edge)
    nw, steps = 32, 1000
    smp = emcee.EnsembleSampler(nw, dim, _log_target, moves=[(move, 1.0)])
    smp.random_state = np.random.RandomState(3).get_state()
    # far in the left tail, where π/q without the edge is ~e⁵ times that in the bulk: the
    # edge brings the walkers back within the discarded steps
    start = -8.0 + 0.1 * np.random.default_rng(1).random((nw, dim))
    smp.run_mcmc(start, steps)
    chain = smp.get_chain(discard=300)
    x = chain[:, :, 0].reshape(-1)
    tau = float(np.max(emcee.autocorr.integrated_time(chain, quiet=True)))
    ess = len(x) / tau
    # closed forms; tolerances: 4 Monte Carlo standard errors
    assert abs(x.mean() + np.euler_gamma) < 4 * np.sqrt(np.pi**2 / 6 / ess)
    var_se = np.sqrt(4.4 / ess) * np.pi**2 / 6  # Gumbel excess kurtosis 12/5
    assert abs(x.var() - np.pi**2 / 6) < 4 * var_se


def test_adapted_moves_give_the_edge_only_where_marked_and_near():
    pts = _log_exp_draws(300, 9, dim=3)
    kde = tuning.adapted_moves(pts, np.array([True, True, False]))[0][0]
    assert list(kde.edge.coords) == [0] and kde.edge.weight == EDGE_WEIGHT
    assert tuning.adapted_moves(pts)[0][0].edge is None
    pts5 = _log_exp_draws(300, 9, dim=5)
    cop = tuning.adapted_moves(pts5, np.ones(5, bool))[0][0]
    assert isinstance(cop, CopulaIndependenceMove) and list(cop.edge.coords) == [0]


def test_an_edge_that_cannot_be_built_leaves_the_kernel_proposal():
    # distances to the bound of e^400: their mean square overflows, so no edge component,
    # but the kernel proposal is kept (not the t alone of degenerate draws)
    pts = _log_exp_draws(300, 9, dim=2)
    pts[:, 0] += 400.0
    move = tuning.adapted_moves(pts, np.array([True, False]))[0][0]
    assert isinstance(move, KDEIndependenceMove) and move.edge is None


def test_a_move_with_an_edge_pickles():
    """Moves travel to the worker processes of ``cores=``: the pickled move has the same
    proposal density."""
    import pickle

    pts = _log_exp_draws(300, 1, dim=3)
    move = tuning.adapted_moves(pts, np.ones(3, bool))[0][0]
    again = pickle.loads(pickle.dumps(move))
    x = _log_exp_draws(20, 2, dim=3) - 2.0
    assert again.edge is not None
    np.testing.assert_array_equal(again.logpdf(x), move.logpdf(x))
