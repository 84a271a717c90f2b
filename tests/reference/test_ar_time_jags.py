"""Time-scaled member random walk (``mm(..., RE = re(1, ar = t))``) against JAGS.

Reference: ``tests/reference/data/ar_time_jags.csv``, written by ``python -m
validation.slopes_reference jags ar_time`` on 2026-12-05 (real coalgov structure with a time
column ``t`` built from the election dates, simulated Gaussian outcome; ``validation/
jags_slopes.R``: one state per party and government, each party's states in the order of
``t``, first N(0, σ²), then N(previous, σ²·Δt/mean Δt), mean over every step of every
party; JAGS 4.3.1, 4 chains; provenance in the file's first line).  Skipped while this
checkout refuses ``ar = <column>`` ("not available yet", branch ``arfe``).  Tolerances:
``tests/jags_slopes_helper.py``.
"""

from __future__ import annotations

import pytest

from tests.jags_slopes_helper import check_against_jags


@pytest.mark.slow
def test_time_scaled_random_walk_matches_jags():
    check_against_jags("ar_time", draws=1000)
