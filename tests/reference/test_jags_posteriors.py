"""mmreg's MCMC against the bml 0.9.0 + JAGS reference posteriors on coalgov.

Reference numbers: ``../shared/reference/jags/*.csv`` (long JAGS runs, see
``../shared/reference/README.md`` for the exact bml calls; the calls are repeated in
``validation/reference_models.py``).  The full comparison (default draws, the SPEC's
tolerances |Δmean| ≤ 0.1 posterior SD and SD within 10%) is ``validation/jags_reference.py``;
here the runs are short, so the tolerances add the Monte Carlo error of our estimate:
|Δmean| ≤ 0.1·sd + 3·sd/√ESS and |sd/sd_ref − 1| ≤ 0.1 + 3/√(2·ESS) (the relative MC error
of an SD estimate is about 1/√(2·ESS)).
"""

from __future__ import annotations

import numpy as np
import pytest

from validation.reference_models import COALGOV, MODELS, load_coalgov, load_reference

pytestmark = [
    pytest.mark.skipif(
        not COALGOV.exists(), reason="../shared (coalgov and JAGS references) not present"
    ),
    pytest.mark.slow,
]

RUNS = {  # short runs: (draws per chain, tune, chains); two chains in two processes
    "gaus_hm": (1000, 100, 2),
    "gaus_w": (1000, 100, 2),
    "weib_eq": (1600, 100, 2),
    "binom_hm": (1000, 100, 2),
    "cox10": (800, 100, 2),
}


@pytest.fixture(scope="module")
def coalgov():
    return load_coalgov()


@pytest.mark.parametrize("name", list(MODELS))
def test_posterior_matches_jags(name, coalgov):
    import mmreg

    spec = MODELS[name]
    draws, tune, chains = RUNS[name]
    model = mmreg.MMModel(spec.formula, coalgov, family=spec.family, **spec.options)
    res = model.fit(method="mcmc", draws=draws, tune=tune, chains=chains, seed=11, cores=2)
    ref = load_reference(name)
    diag = res.mcmc_diag(list(ref.index))
    ess = diag["ess_bulk"]
    # enough effective draws for the Monte Carlo terms of the tolerances to be meaningful
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
