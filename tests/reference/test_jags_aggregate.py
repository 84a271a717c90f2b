"""mmreg's MCMC against independent long JAGS runs of four aggregation models (#16): three
aggregations and a named block with estimated weights in a cross-level interaction.

Data: ``tests/reference/data/aggregate_sim.csv`` (coalgov's membership structure, outcomes
simulated by ``validation/aggregate_reference.py``).  References:
``tests/reference/data/jags_<model>.csv``, written by ``validation/jags_aggregate.R`` (the
models coded by hand in JAGS; provenance in each file's comment lines).  The rule is that of
``tests/reference/test_jags_posteriors.py``: |Δmean| ≤ 0.1·sd + 3·sd/√ESS and
|sd/sd_ref − 1| ≤ 0.1 + 3/√(2·ESS), ESS our bulk ESS (the reference's own Monte Carlo error
is small: thousands of effective draws).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.aggregate_reference import CSV, MODELS

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", list(MODELS))
def test_posterior_matches_jags(name):
    import mmreg

    ref_file = DATA / f"jags_{name}.csv"
    if not ref_file.exists():
        pytest.skip(f"{ref_file.name} not written yet (Rscript validation/jags_aggregate.R)")
    ref = pd.read_csv(ref_file, comment="#").set_index("name")
    formula, _, _ = MODELS[name]
    model = mmreg.MMModel(formula, pd.read_csv(CSV))
    res = model.fit(method="mcmc", draws=800, tune=100, chains=2, seed=11, cores=2)
    ess = res.mcmc_diag(list(ref.index))["ess_bulk"]
    assert (ess > 60).all(), f"{name}: too few effective draws for the test: {ess.to_dict()}"
    dmean = (res.params[ref.index] - ref["mean"]).abs()
    tol_mean = 0.1 * ref["sd"] + 3 * ref["sd"] / np.sqrt(ess)
    assert (dmean <= tol_mean).all(), (
        f"{name}: posterior means differ from JAGS: "
        f"{(dmean / ref['sd']).round(3).to_dict()} (in posterior SDs)"
    )
    ratio = res.bse[ref.index] / ref["sd"]
    tol_sd = 0.1 + 3 / np.sqrt(2 * ess)
    assert ((ratio - 1).abs() <= tol_sd).all(), f"{name}: SD ratios {ratio.round(3).to_dict()}"
