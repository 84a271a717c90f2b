"""mmreg's MCMC for random slopes against hand-written JAGS reference posteriors (#15).

Reference numbers: ``tests/reference/data/{country_slope,member_slope}_jags.csv``, written by
``python -m validation.slopes_reference jags country_slope member_slope`` on 2026-12-05
(real coalgov structure, Gaussian outcome simulated with numpy at known values;
``validation/jags_slopes.R``, JAGS 4.3.1, 4 chains; settings and the run's length in each
file's first line).  Tolerances: see ``tests/jags_slopes_helper.py``.
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
