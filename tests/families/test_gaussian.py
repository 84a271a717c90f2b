"""Gaussian family: simulation, moments, validation."""

from __future__ import annotations

import numpy as np
import pytest

from mmreg.errors import MMDataError
from mmreg.families import get_family


def test_simulate_recovers_mean_and_sigma():
    rng = np.random.default_rng(42)
    n, sigma = 40_000, 1.7
    eta = rng.normal(size=n)
    bf = get_family("gaussian").bind({"y": np.zeros(n)})
    r = bf.simulate(eta, (sigma,), rng)["y"] - eta
    assert abs(r.mean()) < 4 * sigma / np.sqrt(n)
    assert abs(r.std() - sigma) < 4 * sigma / np.sqrt(2 * n)


def test_mean_and_residual_variance():
    bf = get_family("gaussian").bind({"y": np.array([1.0, 3.0])})
    np.testing.assert_array_equal(bf.mean(np.array([0.5, -2.0]), (2.0,)), [0.5, -2.0])
    assert bf.residual_variance((2.0,)) == 4.0
    assert bf.initial_phi() == (1.0,)  # sd of (1, 3)


def test_bad_outcomes_name_the_column():
    fam = get_family("gaussian")
    with pytest.raises(MMDataError, match="'logdur'.*missing"):
        fam.bind({"y": np.array([1.0, np.nan])}, labels={"y": "logdur"})
    with pytest.raises(MMDataError, match="'y'.*not supplied"):
        fam.bind({"time": np.ones(2)})
    with pytest.raises(MMDataError, match="'party'.*numeric"):
        fam.bind({"y": np.array(["a", "b"])}, labels={"y": "party"})
    with pytest.raises(MMDataError, match="1-D"):
        fam.bind({"y": np.ones((2, 2))})
