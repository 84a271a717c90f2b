"""Simulation-based calibration of the MCMC on tiny data (the full run: validation/sbc.py).

The SBC helpers are checked against hand-computed values; ``MMModel.simulate`` (which SBC
relies on to draw the random effects from their prior) against the exact distribution of the
simulated outcome; and a small SBC run of the Gaussian model with estimated weights against
uniformity of the ranks, with tolerances set by the number of replications.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from validation import sbc

pytestmark = pytest.mark.slow  # deselect with -m "not slow"

#: tiny SBC: R replications, ranks among L = 9 draws (10 values), 5 bins of 2 values
REPS, N_RANK, BINS = 20, 9, 5


def test_rank_statistic_and_histogram_by_hand():
    assert sbc.rank_statistic(np.array([0.1, 0.5, -2.0, 3.0]), 0.4) == 2
    assert sbc.rank_statistic(np.array([0.1, 0.5]), -9.0) == 0
    assert sbc.rank_statistic(np.array([0.1, 0.5]), 9.0) == 2
    # ranks 0..9 in 5 bins of width 2: {0,1}, {2,3}, ..., {8,9}
    counts = sbc.rank_histogram(np.array([0, 1, 1, 2, 5, 9, 9, 8]), 9, 5)
    np.testing.assert_array_equal(counts, [3, 1, 1, 0, 3])
    with pytest.raises(ValueError):
        sbc.rank_histogram(np.array([0]), 9, 4)


def test_uniformity_test_by_hand():
    # counts (3, 1, 2, 2), expected 2 each: X2 = (1 + 1 + 0 + 0) / 2 = 1 on 3 df
    chi2, p = sbc.uniformity_test(np.array([3, 1, 2, 2]))
    assert chi2 == pytest.approx(1.0)
    # chi-square(3) survival: erfc(sqrt(x/2)) + sqrt(2x/pi) exp(-x/2) at x = 1
    assert p == pytest.approx(
        math.erfc(math.sqrt(0.5)) + math.sqrt(2 / math.pi) * math.exp(-0.5), rel=1e-12
    )


def test_bin_count_bounds_are_binomial_quantiles():
    lo, hi = sbc.bin_count_bounds(200, 10, 0.01)
    # Binomial(200, 0.1): P(X <= 9) = 0.0035 < 0.005 < P(X <= 10) = 0.0081 and
    # P(X > 32) = 0.0029 < 0.005 < P(X > 31) = 0.0054: the tightest range with both tails
    # at most 0.5% is [10, 32]
    assert (lo, hi) == (10, 32)
    b = stats.binom(200, 0.1)
    assert b.cdf(lo - 1) <= 0.005 < b.cdf(lo)
    assert b.sf(hi) <= 0.005 < b.sf(hi - 1)


def test_thin_positions_spread_over_chains_steps_and_walkers():
    c, s, w = sbc.thin_positions(2, 50, 16, 49)
    assert len(set(zip(c, s, w, strict=True))) == 49  # all distinct draws
    assert np.bincount(c).tolist() == [25, 24]
    assert s.min() == 0 and s.max() == 48 and (s < 50).all()
    for ch in (0, 1):  # consecutive picks of a chain: later steps, different walkers
        assert (np.diff(s[c == ch]) >= 1).all()
        assert (np.diff(w[c == ch]) != 0).all()
        # a walker comes back only after 16 picks of its chain
        ww = w[c == ch]
        assert all(len(set(ww[i : i + 16])) == min(16, len(ww) - i) for i in range(len(ww)))


def test_thinned_draws_pick_the_thin_positions_from_a_draws_frame():
    C, S, W = 2, 5, 4
    c, s, w = np.indices((C, S, W)).reshape(3, -1)
    frame = pd.DataFrame(
        {"chain": c, "draw": s * W + w, "walker": w, "x": 1000.0 * c + 100.0 * s + w}
    )
    frame = frame.sample(frac=1.0, random_state=0)  # row order must not matter
    got = sbc.thinned_draws(frame, ["x"], 7)["x"]
    pc, ps, pw = sbc.thin_positions(C, S, W, 7)
    np.testing.assert_array_equal(got, 1000.0 * pc + 100.0 * ps + pw)


def test_fit_priors_equal_the_priors_simulated_from():
    x = np.array([0.05, 0.3, 1.0, 2.5])
    for kind, (prior, dist) in sbc.PRIORS.items():
        np.testing.assert_allclose(prior.logpdf(x), dist.logpdf(x), rtol=1e-12, err_msg=kind)


def _tiny(family="gaussian", weights="equal"):
    return sbc.setup_for(
        family,
        weights=weights,
        n_groups=30,
        n_members=16,
        n_countries=4,
        design_seed=7,
        draws=64,
        tune=40,
        chains=1,
        n_rank=N_RANK,
    )


def test_simulate_draws_random_effects_from_their_prior():
    """y | params ~ N(mu, sigma_mm² W W' + sigma_hm² Z Z' + sigma² I) exactly.

    Mahalanobis distances of simulated outcomes under this covariance (built by hand from
    the data: W[g, k] = 1/n_g, Z = country indicator) must be chi-square with n_groups df;
    without the random effects (or with the wrong variance) they would be far larger.
    """
    df, formula, family, priors, model = sbc.build_template(_tiny())
    params = {
        "Intercept": 0.3,
        "majority": -0.5,
        "mm1.finance": 0.8,
        "sigma.mm1": 0.9,
        "sigma.hm1": 0.7,
        "sigma": 0.4,
    }
    gids = np.asarray(model.design.group_ids)
    groups = df.groupby("gid")
    n = len(gids)
    pids = np.unique(df["pid"])
    W = pd.crosstab(df["gid"], df["pid"]).reindex(index=gids, columns=pids).to_numpy()
    W = W / W.sum(axis=1, keepdims=True)
    cid = groups["cid"].first().reindex(gids).to_numpy()
    Z = (cid[:, None] == np.unique(cid)[None, :]).astype(float)
    mu = (
        0.3
        - 0.5 * groups["majority"].first().reindex(gids).to_numpy()
        + 0.8 * groups["finance"].mean().reindex(gids).to_numpy()
    )
    Sigma = 0.81 * W @ W.T + 0.49 * Z @ Z.T + 0.16 * np.eye(n)
    Linv = np.linalg.inv(np.linalg.cholesky(Sigma))
    N = 400
    d2 = np.array(
        [np.sum((Linv @ (model.simulate(params, seed=i)["y"] - mu)) ** 2) for i in range(N)]
    )
    # E d2 = n, sd(mean) = sqrt(2 n / N): 4 SE tolerance; and the whole distribution
    assert abs(d2.mean() - n) < 4 * np.sqrt(2 * n / N)
    assert stats.kstest(d2, stats.chi2(n).cdf).pvalue > 0.001


def test_sbc_gaussian_estimated_weights_ranks_uniform():
    """20 replications, every parameter's ranks among 9 thinned draws uniform.

    Chi-square p-value > 0.001 per parameter, and every bin count within its central
    1 - 0.001/(5·8) range of Binomial(20, 1/5).  A biased or overconfident sampler piles
    ranks into one or both end bins (see the closed-form check below).  Deterministic seeds.
    """
    setup = _tiny(weights="estimated")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sbc.run_sbc(setup, REPS, seed=3)
    assert res["fitted"].all(), res["error"].tolist()
    names = [c[5:] for c in res.columns if c.startswith("rank:")]
    assert set(names) == {
        "Intercept",
        "majority",
        "mm1.finance",
        "mm1.w.b0",
        "mm1.w.b1",
        "sigma.mm1",
        "sigma.hm1",
        "sigma",
    }
    lo, hi = sbc.bin_count_bounds(REPS, BINS, 0.001 / (BINS * len(names)))
    table = sbc.sbc_table(res, N_RANK, BINS, alpha=0.001 * len(names))
    for n in names:
        counts = sbc.rank_histogram(res[f"rank:{n}"], N_RANK, BINS)
        assert counts.sum() == REPS
        assert sbc.uniformity_test(counts)[1] > 0.001, (n, counts)
        assert lo <= counts.min() and counts.max() <= hi, (n, counts, lo, hi)
    assert table["ok"].all()


def _conjugate_ranks(reps, width, rng):
    """SBC of the normal-normal model: theta ~ N(0, 1), x ~ N(theta, 1).

    The exact posterior is N(x/2, 1/2); ``width`` scales its SD (1: exact).
    """
    theta = rng.standard_normal(reps)
    x = theta + rng.standard_normal(reps)
    draws = x[:, None] / 2 + width * np.sqrt(0.5) * rng.standard_normal((reps, N_RANK))
    return np.array([sbc.rank_statistic(d, t) for d, t in zip(draws, theta, strict=True)])


def test_sbc_table_passes_exact_and_flags_overconfident_posteriors():
    """The acceptance rule on a closed-form model: exact posterior passes, half-width fails."""
    rng = np.random.default_rng(5)
    res = pd.DataFrame(
        {
            "fitted": True,
            "rank:exact": _conjugate_ranks(400, 1.0, rng),
            "rank:narrow": _conjugate_ranks(400, 0.5, rng),
            "rank:shifted": _conjugate_ranks(400, 1.0, rng) // 2,
        }
    )
    table = sbc.sbc_table(res, N_RANK, BINS, alpha=0.01)
    assert bool(table.loc["exact", "ok"])
    assert not table.loc["narrow", "ok"] and table.loc["narrow", "p"] < 1e-6
    assert not table.loc["shifted", "ok"]
    counts = sbc.rank_histogram(res["rank:narrow"], N_RANK, BINS)
    assert counts[0] + counts[-1] > 2 * (counts[1] + counts[-2])  # U shape


def test_run_sbc_range_and_saving(monkeypatch):
    """``first_rep`` selects the replications (a run split in parts is one run) and
    ``on_row`` sees every row as it comes (a long run keeps what it has)."""
    monkeypatch.setattr(sbc, "_job", lambda job: {"rep": job[1], "seed": job[2]})
    seen = []
    res = sbc.run_sbc(
        sbc.setup_for("poisson"), 3, seed=7, first_rep=5, on_row=lambda r: seen.append(len(r))
    )
    assert res["rep"].tolist() == [5, 6, 7] and (res["seed"] == 7).all()
    assert seen == [1, 2, 3]
