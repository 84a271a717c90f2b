"""``benchmarks.seed_sweep.stuck_walkers``: counts walkers whose longest run of repeated
states reaches the threshold (hand-built chains with known runs)."""

from __future__ import annotations

import numpy as np

from benchmarks.seed_sweep import stuck_walkers


def test_stuck_walkers_counts_the_longest_run_of_each_walker():
    rng = np.random.default_rng(1)
    u = rng.normal(size=(2, 40, 3, 2))  # (chains, steps, walkers, dim): every step moves
    u[0, 5:21, 1] = u[0, 5, 1]  # 15 repeats (16 equal states)
    u[1, 10:24, 2] = u[1, 10, 2]  # 13 repeats
    u[1, 30:40, 0] = u[1, 30, 0]  # 9 repeats
    u[1, 0:6, 0] = u[1, 0, 0]  # 5 more for the same walker: runs do not add up
    assert stuck_walkers(u, 15) == 1
    assert stuck_walkers(u, 13) == 2
    assert stuck_walkers(u, 9) == 3
    assert stuck_walkers(u, 16) == 0
    # a move in one coordinate only is a move
    u[0, 12, 1, 0] += 1.0
    assert stuck_walkers(u, 15) == 0
