"""Conditional logit: enumeration of subsets as reference, simulation, validation."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from scipy.special import logsumexp, softmax

from mmreg.errors import MMDataError
from mmreg.families import get_family


def _enumerate(eta, m):
    """log e_m and inclusion probabilities by brute-force enumeration of subsets."""
    subsets = list(combinations(range(len(eta)), m))
    logw = np.array([eta[list(s)].sum() for s in subsets])
    prob = np.exp(logw - logsumexp(logw))
    pi = np.zeros(len(eta))
    for p, s in zip(prob, subsets, strict=True):
        pi[list(s)] += p
    return logsumexp(logw), pi


ETA = np.array([0.3, -1.0, 0.8, 0.1, 0.0, -0.4, 1.2, 0.5, -0.2])
STRATA = np.array([7, 7, 7, 7, 3, 3, 3, 9, 9])  # unsorted codes, sizes 4, 3, 2
Y = np.array([1, 0, 1, 0, 0, 1, 0, 1, 1], dtype=float)  # 2 of 4, 1 of 3, 2 of 2


def test_exact_loglik_and_mean_match_enumeration():
    bf = get_family("clogit").bind({"y": Y, "strata": STRATA})
    expected_ll, expected_pi = 0.0, np.zeros_like(ETA)
    for s in np.unique(STRATA):
        rows = np.flatnonzero(STRATA == s)
        lz, pi = _enumerate(ETA[rows], int(Y[rows].sum()))
        expected_ll += Y[rows] @ ETA[rows] - lz
        expected_pi[rows] = pi
    assert bf.loglik(ETA) == pytest.approx(expected_ll, rel=1e-12)
    np.testing.assert_allclose(bf.mean(ETA), expected_pi, rtol=1e-10)
    np.testing.assert_allclose(bf.derivs(ETA)[0], Y - expected_pi, atol=1e-12)


def test_breslow_ties_formula():
    bf = get_family("clogit", ties="breslow").bind({"y": Y, "strata": STRATA})
    expected = sum(
        Y[STRATA == s] @ ETA[STRATA == s] - Y[STRATA == s].sum() * logsumexp(ETA[STRATA == s])
        for s in np.unique(STRATA)
    )
    assert bf.loglik(ETA) == pytest.approx(expected, rel=1e-12)


def test_single_choice_sets_use_softmax_and_one_column_per_set():
    strata = np.repeat([0, 1, 2], 3)
    y = np.array([0, 1, 0, 1, 0, 0, 0, 0, 1], dtype=float)
    bf = get_family("clogit").bind({"y": y, "strata": strata})
    p = np.concatenate([softmax(ETA[3 * s : 3 * s + 3]) for s in range(3)])
    np.testing.assert_allclose(bf.mean(ETA), p)
    _, curv = bf.derivs(ETA)
    assert curv.U.shape == (9, 3)
    np.testing.assert_allclose(curv.U.toarray()[:, 1], np.r_[0, 0, 0, p[3:6], 0, 0, 0])
    np.testing.assert_allclose(curv.c, 1.0)
    assert bf.residual_variance(()) == pytest.approx(np.pi**2 / 3)


def test_simulate_single_choice_frequencies():
    rng = np.random.default_rng(3)
    S, pattern = 20_000, np.array([0.0, 0.5, -1.0])
    strata = np.repeat(np.arange(S), 3)
    y = np.tile([1.0, 0.0, 0.0], S)
    bf = get_family("clogit").bind({"y": y, "strata": strata})
    sim = bf.simulate(np.tile(pattern, S), (), rng)
    np.testing.assert_array_equal(sim["strata"], strata)
    counts = sim["y"].reshape(S, 3)
    assert np.all(counts.sum(axis=1) == 1)
    p = softmax(pattern)
    assert np.all(np.abs(counts.mean(axis=0) - p) < 4 * np.sqrt(p * (1 - p) / S))


def test_simulate_several_chosen_matches_exact_inclusion():
    rng = np.random.default_rng(4)
    S, pattern = 8_000, np.array([0.7, 0.0, -0.5, 1.1])
    y = np.tile([1.0, 1.0, 0.0, 0.0], S)
    bf = get_family("clogit").bind({"y": y, "strata": np.repeat(np.arange(S), 4)})
    counts = bf.simulate(np.tile(pattern, S), (), rng)["y"].reshape(S, 4)
    assert np.all(counts.sum(axis=1) == 2)
    _, pi = _enumerate(pattern, 2)
    assert np.all(np.abs(counts.mean(axis=0) - pi) < 4 * np.sqrt(pi * (1 - pi) / S))


def test_bad_outcomes_name_the_column():
    fam = get_family("clogit")
    labels = {"y": "chosen", "strata": "opportunity"}
    with pytest.raises(MMDataError, match="'b'.*'opportunity'.*no chosen"):
        fam.bind({"y": [1, 0, 0, 0], "strata": ["a", "a", "b", "b"]}, labels=labels)
    with pytest.raises(MMDataError, match="'chosen'.*0/1"):
        fam.bind({"y": [1, 2], "strata": [1, 1]}, labels=labels)
    with pytest.raises(MMDataError, match="'opportunity'.*strata"):
        fam.bind({"y": [1, 0]}, labels=labels)
    with pytest.raises(MMDataError, match="'opportunity'.*missing"):
        fam.bind({"y": [1, 0], "strata": [1.0, np.nan]}, labels=labels)
