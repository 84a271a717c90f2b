"""Frequentist coverage of the Laplace intervals on small data (full run: validation/coverage.py).

Data are simulated repeatedly at the fixed default truth of ``simulate_coalitions`` (new
covariates, random effects and outcome each time) and the 95% intervals of
``res.conf_int()`` must contain the truth in close to 95% of the replications: the
coefficients' coverage must be at least 0.95 - 3·sqrt(0.95·0.05/R) (R intervals), a
one-sided binomial bound that a correct 95% interval violates with probability ≈ 0.001.
Random-effect SDs are not asserted here: their Laplace intervals are undefined whenever the
SD is estimated on the boundary (see validation/README.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from validation import coverage

pytestmark = pytest.mark.slow  # deselect with -m "not slow"


def _lower_bound(r: int) -> float:
    return 0.95 - 3.0 * np.sqrt(0.95 * 0.05 / r)


def test_coverage_table_by_hand():
    res = pd.DataFrame(
        {
            "error": ["", "", "", "", "boom"],
            "truth:b": [1.0] * 5,
            "est:b": [1.0, 1.2, 0.8, 1.4, np.nan],
            "se:b": [0.2] * 5,
            "cover:b": [1.0, 1.0, np.nan, 0.0, np.nan],
        }
    )
    tab = coverage.coverage_table(res)
    row = tab.loc["b"]
    assert row["reps"] == 4  # the failed fit is left out
    assert row["coverage"] == pytest.approx(0.5)  # undefined interval counted as a miss
    assert row["cov_defined"] == pytest.approx(2 / 3)
    assert row["n_undefined"] == 1
    assert row["mc_se"] == pytest.approx(np.sqrt(0.25 / 4))
    assert row["z"] == pytest.approx((0.5 - 0.95) / np.sqrt(0.95 * 0.05 / 4))
    assert row["bias"] == pytest.approx(0.1)
    assert row["se_ratio"] == pytest.approx(0.2 / np.std([1.0, 1.2, 0.8, 1.4], ddof=1))
    assert row["flag"] != ""


@pytest.mark.parametrize(
    ("family", "reps", "params"),
    [
        ("gaussian", 60, ["Intercept", "majority", "mm1.finance", "sigma"]),
        ("clogit", 60, ["majority", "mm1.finance"]),
    ],
)
def test_laplace_interval_coverage(family, reps, params):
    setup = coverage.setup_for(family, n_groups=160, n_members=80, n_countries=16)
    res = coverage.run_coverage(setup, reps, seed=4)
    assert res["error"].eq("").all(), res["error"].unique()
    tab = coverage.coverage_table(res)
    # every coefficient separately, and pooled over them (R·k intervals, near-independent)
    for p in params:
        assert tab.loc[p, "coverage"] >= _lower_bound(reps), tab.loc[p]
        assert tab.loc[p, "n_undefined"] == 0
    pooled = float(np.mean([res[f"cover:{p}"].mean() for p in params]))
    assert pooled >= _lower_bound(reps * len(params))
    # reported SEs agree with the spread of the estimates (ratio of SDs; its sampling SD
    # is about 1/sqrt(2R) ≈ 0.09 here, so 0.7-1.3 is a 3.3 SD band)
    assert tab.loc[params, "se_ratio"].between(0.7, 1.3).all(), tab.loc[params, "se_ratio"]
