"""mmreg's MCMC for the count families against JAGS reference posteriors (#15).

Reference numbers: ``tests/reference/data/{poisson,negbin}_jags.csv``, written by
``python -m validation.count_reference`` (simulated coalgov-shaped data with member and
country random effects and an exposure offset, ``validation/jags_counts.R`` run by Rscript
with rjags; provenance in each file's first line).  As in ``test_jags_posteriors.py`` the
runs here are short, so the SPEC's tolerances (|Δmean| ≤ 0.1 posterior SD, SD within 10%)
get Monte Carlo allowances, here for both runs (the JAGS chains of the member SD mix slowly):
|Δmean| ≤ 0.1·sd + 3·√(sd²/ESS + mc_error_ref²) and
|sd/sd_ref − 1| ≤ 0.1 + 3/√(2·ESS) + 3/√(2·n_eff_ref).
"""

from __future__ import annotations

import numpy as np
import pytest

from validation.count_reference import DATA, FILES, FORMULA, load_count_reference, simulate_counts

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("family", list(FILES))
def test_count_posterior_matches_jags(family):
    import mmreg

    if not (DATA / FILES[family]).exists():
        pytest.skip(f"{FILES[family]} not written yet (python -m validation.count_reference)")
    ref = load_count_reference(family)
    df = simulate_counts(family)
    model = mmreg.MMModel(FORMULA, df, family=family)
    res = model.fit(method="mcmc", draws=1000, tune=60, chains=2, seed=11)
    names = list(ref.index)
    ess = res.mcmc_diag(names)["ess_bulk"]
    assert (ess > 60).all(), f"{family}: too few effective draws: {ess.to_dict()}"
    dmean = (res.params[names] - ref["mean"]).abs()
    tol_mean = 0.1 * ref["sd"] + 3 * np.sqrt(ref["sd"] ** 2 / ess + ref["mc_error"] ** 2)
    assert (dmean <= tol_mean).all(), (
        f"{family}: posterior means differ from JAGS: "
        f"{(dmean / ref['sd']).round(3).to_dict()} (in posterior SDs)"
    )
    ratio = res.bse[names] / ref["sd"]
    tol_sd = 0.1 + 3 / np.sqrt(2 * ess) + 3 / np.sqrt(2 * ref["n_eff"])
    assert ((ratio - 1).abs() <= tol_sd).all(), f"{family}: SD ratios {ratio.round(3).to_dict()}"
