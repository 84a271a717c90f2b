"""mmreg's MCMC for the correlated country intercept and slope against JAGS (#15).

Reference numbers: ``tests/reference/data/cor_governments_jags.csv``, written by ``python -m
validation.correlated_reference`` (coalgov governments, ``validation/jags_correlated.R`` run by
Rscript with rjags, 4 chains x 50,000 iterations; provenance in the file's first line).  The
run here is short, so the SPEC's tolerances (|Δmean| ≤ 0.1 posterior SD, SD within 10%) get
Monte Carlo allowances for both runs, as in ``test_count_jags.py``:
|Δmean| ≤ 0.1·sd + 3·√(sd²/ESS + mc_error_ref²) and
|sd/sd_ref − 1| ≤ 0.1 + 3/√(2·ESS) + 3/√(2·n_eff_ref).
The full-length comparison (4 x 5000 draws) is ``python -m validation.correlated_reference
--compare``; measured 2026-12-05: every |Δmean| ≤ 0.025 SD, SD ratios 0.978–1.017.
"""

from __future__ import annotations

import numpy as np
import pytest

from validation.correlated_reference import DATA, FILE, FORMULA, governments, load_reference

pytestmark = pytest.mark.slow


def test_correlated_slope_posterior_matches_jags(coalgov):
    import mmreg

    if not (DATA / FILE).exists():
        pytest.skip(f"{FILE} not written yet (python -m validation.correlated_reference)")
    ref = load_reference()
    model = mmreg.MMModel(FORMULA, governments())
    res = model.fit(method="mcmc", draws=1000, chains=4, seed=5)
    names = list(ref.index)
    ess = res.mcmc_diag(names)["ess_bulk"]
    assert (ess > 200).all(), f"too few effective draws: {ess.to_dict()}"
    dmean = (res.params[names] - ref["mean"]).abs()
    tol_mean = 0.1 * ref["sd"] + 3 * np.sqrt(ref["sd"] ** 2 / ess + ref["mc_error"] ** 2)
    assert (dmean <= tol_mean).all(), (dmean / ref["sd"]).round(3).to_dict()
    ratio = res.bse[names] / ref["sd"]
    tol_sd = 0.1 + 3 / np.sqrt(2 * ess) + 3 / np.sqrt(2 * ref["n_eff"])
    assert ((ratio - 1).abs() <= tol_sd).all(), ratio.round(3).to_dict()
