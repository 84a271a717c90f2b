"""The kept-phase proposals of the MCMC sampler (mmreg.inference.moves).

Reference values are closed forms: if σ ~ Exponential(1) then u = log σ has density
exp(u − eᵘ) (the shape of the log of an SD whose posterior has mass near zero: a long,
exponential left tail) with mean −γ (Euler's constant) and variance π²/6.
"""

from __future__ import annotations

import emcee
import numpy as np
import pytest
from scipy import integrate

import mmreg
import mmreg.inference.mcmc as mcmc
from mmreg.inference import moves
from mmreg.inference.moves import KDEIndependenceMove, LaplaceIndependenceMove


def _log_exp_of_log(u):
    u = np.atleast_1d(u)
    return float(u[0] - np.exp(u[0]))


def _kde_move(seed=0, shift=0.4):
    # deliberately mis-fitted proposal: symmetric normal points, shifted and too wide, so
    # that only the Metropolis–Hastings correction can make the draws exact
    pts = np.random.default_rng(seed).normal(-0.58 + shift, 1.5, size=(200, 1))
    return KDEIndependenceMove(pts, pts.mean(axis=0), np.atleast_2d(np.var(pts)))


def test_kde_proposal_density_is_normalised():
    move = _kde_move()
    val, err = integrate.quad(
        lambda x: float(np.exp(move.logpdf(np.array([[x]]))[0])), -np.inf, np.inf, limit=200
    )
    assert val == pytest.approx(1.0, abs=1e-6)


def test_kde_bandwidth_is_scott_times_widen():
    """The kernel SD of the proposal's KDE (one dimension, n = 200 points of SD s) is Scott's
    s · n^(-1/5) times WIDEN = 1.3; the copula's marginals use the same kernel."""
    from mmreg.inference.copula import GridMarginal

    move = _kde_move()
    pts = move.kde.dataset[0]
    scott = np.std(pts, ddof=1) * 200 ** (-1 / 5)
    assert moves.WIDEN == 1.3
    assert np.sqrt(move.kde.covariance[0, 0]) == pytest.approx(1.3 * scott, rel=1e-12)
    # GridMarginal's grid spans the draws ± 5 kernel SDs
    g = GridMarginal(pts)
    assert g.grid[0] == pytest.approx(pts.min() - 5 * 1.3 * scott, rel=1e-12)


@pytest.mark.parametrize("make", ["kde", "t"])
def test_independence_moves_leave_a_skewed_target_invariant(make):
    move = (
        _kde_move()
        if make == "kde"
        else LaplaceIndependenceMove(np.array([0.0]), np.array([[2.0]]), df=10.0, scale=1.1)
    )
    nw, steps = 16, 1200
    smp = emcee.EnsembleSampler(nw, 1, _log_exp_of_log, moves=[(move, 1.0)])
    smp.random_state = np.random.RandomState(3).get_state()
    p0 = np.random.default_rng(1).normal(-0.5, 0.5, size=(nw, 1))
    smp.run_mcmc(p0, steps)
    x = smp.get_chain(discard=100, flat=True)[:, 0]
    tau = float(np.max(emcee.autocorr.integrated_time(smp.get_chain(discard=100), quiet=True)))
    ess = len(x) / tau
    # closed forms; tolerances: 4 Monte Carlo standard errors
    mean_se = np.sqrt(np.pi**2 / 6 / ess)
    assert abs(x.mean() + np.euler_gamma) < 4 * mean_se
    # the Gumbel law of log Exp(1) has excess kurtosis 12/5: Var(s²) ≈ (3 + 12/5 − 1) σ⁴ / n
    var_se = np.sqrt(4.4 / ess) * np.pi**2 / 6
    assert abs(x.var() - np.pi**2 / 6) < 4 * var_se


@pytest.mark.slow
def test_kept_latent_blobs_equal_regenerated_draws(monkeypatch):
    # keeping each evaluation's latent draw as a blob must give exactly the draws of
    # re-evaluating the kept states (the evaluation is seeded by the state)
    df = mmreg.datasets.simulate_coalitions(
        n_groups=60, n_members=30, n_countries=6, family="binomial", seed=5
    )
    model = mmreg.MMModel(df.attrs["formula"], df, family="binomial")
    assert mcmc.keeps_latent(model)
    kept = model.fit(method="mcmc", draws=48, tune=20, chains=2, seed=7)
    monkeypatch.setattr(mcmc, "KEEP_Z_MAX", 0)
    assert not mcmc.keeps_latent(model)
    regen = model.fit(method="mcmc", draws=48, tune=20, chains=2, seed=7)
    assert np.array_equal(kept.raw.u, regen.raw.u)
    assert np.array_equal(kept.raw.z, regen.raw.z)
    assert np.array_equal(kept.raw.loglik_total, regen.raw.loglik_total)


def test_kde_move_pickles_with_its_bandwidth():
    """Moves travel to worker processes (cores=): a pickled kernel proposal keeps its
    density."""
    import pickle

    move = _kde_move()
    back = pickle.loads(pickle.dumps(move))
    x = np.linspace(-3, 2, 7)[:, None]
    np.testing.assert_array_equal(back.logpdf(x), move.logpdf(x))


def test_density_cache_reuses_the_last_steps_values():
    """Independence moves reuse log q of the last step's points: the ratios equal fresh
    evaluations bit for bit, and only points never seen are evaluated."""
    move = _kde_move()
    rng = np.random.default_rng(3)
    calls = []

    def counted(x):
        calls.append(len(np.atleast_2d(x)))
        return move.logpdf(x)

    cache = moves.DensityCache()
    coords = rng.normal(size=(6, 1))
    new = rng.normal(size=(6, 1))
    r1 = cache.log_ratio(counted, coords, new)
    assert calls == [6, 6]
    np.testing.assert_array_equal(r1, move.logpdf(coords) - move.logpdf(new))
    # accept walkers 0, 2, 3: the next current points are all known
    nxt = coords.copy()
    nxt[[0, 2, 3]] = new[[0, 2, 3]]
    new2 = rng.normal(size=(6, 1))
    nxt[5] = [0.123]  # one point the cache has not seen (a move of another kind)
    r2 = cache.log_ratio(counted, nxt, new2)
    assert calls == [6, 6, 1, 6]
    np.testing.assert_array_equal(r2, move.logpdf(nxt) - move.logpdf(new2))


@pytest.mark.parametrize("dim", [1, 3])
def test_widened_kde_logpdf_equals_scipys(dim):
    """The kernel density's log density by one matrix product of whitened points equals
    SciPy's kernel loop (reference: ``scipy.stats.gaussian_kde.logpdf`` on the same
    estimate), near the draws and far in the tails, where the log-sum-exp matters."""
    from scipy import stats

    rng = np.random.default_rng(dim)
    pts = rng.normal(size=(dim, 400)) * np.arange(1, dim + 1)[:, None] + 3.0
    pts[0] = np.log(rng.exponential(size=400))  # a skewed coordinate
    kde = moves.widened_kde(pts)
    y = np.concatenate([rng.normal(size=(dim, 16)) * 2 + 3.0, np.full((dim, 2), -60.0)], 1)
    want = stats.gaussian_kde.logpdf(kde, y)
    assert want[-1] < -1000  # deep in the tail
    np.testing.assert_allclose(kde.logpdf(y), want, rtol=1e-12, atol=1e-11)
    # a single point given as a row (SciPy's reshaping)
    np.testing.assert_allclose(kde.logpdf(y[:, 0]), want[:1], rtol=1e-12, atol=1e-11)


def test_widened_kde_logpdf_follows_a_new_bandwidth():
    from scipy import stats

    pts = np.random.default_rng(2).normal(size=(2, 300))
    kde = moves.widened_kde(pts)
    y = np.zeros((2, 3))
    kde.logpdf(y)  # whitens with the first bandwidth
    kde.set_bandwidth(0.2)
    np.testing.assert_allclose(kde.logpdf(y), stats.gaussian_kde.logpdf(kde, y), rtol=1e-12)
