"""mmreg's MCMC on a reduced run against a stored JAGS reference of
``validation/slopes_reference.py`` (random slopes, correlated slopes, time-scaled walks, #15).

The tolerances are the SPEC's (|Δmean| ≤ 0.1 posterior SD, SD ratio within 10%) widened by
the Monte Carlo error of both runs, as in ``tests/reference/test_count_jags.py``:
|Δmean| ≤ 0.1·sd + 3·√(sd²/ESS + mc_error_ref²) and
|sd/sd_ref − 1| ≤ 0.1 + 3/√(2·ESS) + 3/√(2·n_eff_ref), ESS = mmreg's bulk ESS of the short
run (the MC standard error of a mean is sd/√ESS, the relative one of an SD about 1/√(2·ESS));
``validation.slopes_reference.agreement`` computes them.
"""

from __future__ import annotations

import pytest

from validation.reference_models import COALGOV
from validation.slopes_reference import DATA, MODELS, agreement, load_reference, simulate


def check_against_jags(model: str, draws: int, chains: int = 2, seed: int = 11) -> None:
    """Fit ``model`` by MCMC and assert agreement with its stored JAGS summary.

    Skips when coalgov (``../shared``) or the stored summary is absent, and when this
    checkout cannot build the model yet (MMSpecError "not available yet").
    """
    import mmreg

    if not COALGOV.exists():
        pytest.skip(f"coalgov data not found at {COALGOV} (../shared is absent)")
    path = DATA / f"{model}_jags.csv"
    if not path.exists():
        pytest.skip(f"{path.name} not written yet (python -m validation.slopes_reference jags)")
    df = simulate(model)
    try:
        built = mmreg.MMModel(MODELS[model], df)
    except mmreg.MMSpecError as exc:
        if "not available yet" in str(exc):
            pytest.skip(f"{model} cannot be fitted on this branch yet: {exc}")
        raise
    res = built.fit(method="mcmc", draws=draws, chains=chains, seed=seed, progress=False)
    tab = agreement(res, load_reference(model))
    # enough effective draws for the Monte Carlo terms of the tolerances to mean something
    assert (tab["mmreg ESS"] > 100).all(), f"{model}: too few effective draws\n{tab.round(3)}"
    assert tab["PASS"].all(), f"{model}: posterior differs from JAGS\n{tab.round(3).to_string()}"
