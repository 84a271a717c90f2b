"""mmreg's MCMC for random slopes against hand-written JAGS reference posteriors (#15).

Reference numbers: ``tests/reference/data/{country_slope,member_slope}_jags.csv``, written by
``python -m validation.slopes_reference jags country_slope`` and ``... jags member_slope
--parts 2`` on 2026-12-05 (real coalgov structure, Gaussian outcome simulated with numpy at
known values; ``validation/jags_slopes.R``, JAGS 4.3.1, 4 and 2 × 4 chains; settings and the
run's length in each file's first line).  Tolerances: see ``tests/jags_slopes_helper.py``.
The member slope's SDs come out ~12% narrower in mmreg than in JAGS (inside the Monte Carlo
allowance, outside the SPEC's 10%); see validation/README.md (an independent exact-marginal
check sides with mmreg).
"""

from __future__ import annotations

import pytest

from tests.jags_slopes_helper import check_against_jags


def test_country_slope_matches_jags():
    """hm(id = id(cid), RE = re(1 + majority)) + member random intercept."""
    check_against_jags("country_slope", draws=1000)


@pytest.mark.slow
def test_member_slope_matches_jags():
    """mm(..., RE = re(1 + finance)) + country random intercept."""
    check_against_jags("member_slope", draws=1000)
