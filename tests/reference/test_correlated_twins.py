"""Correlated random intercept and slope in ``hm()`` vs statsmodels MixedLM (REML), issue #15.

``hm(id = id(cid), RE = re(1 + majority, cor = TRUE))`` is MixedLM's
``re_formula="~majority"``: a full 2×2 covariance of the country intercept and slope.  The
Laplace fit maximises the marginal posterior on the natural scale (no Jacobian); with
near-flat priors on the coefficients and SDs and the LKJ(1) default (uniform) on the
correlation, the Gaussian fit integrates the coefficients out exactly under a flat prior and
its mode is the REML estimate (as in tests/reference/test_slopes_twins.py).

Data: coalgov at the government level (628 governments in 29 countries), outcome log
duration.  Reference numbers: computed in the test by statsmodels (bfgs, gtol 1e-10).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mmreg
from tests.reference.test_slopes_twins import COEF, WIDE, _mixedlm

FORMULA = "logdur ~ 1 + majority + mwc + hm(id = id(cid), RE = re(1 + majority, cor = TRUE))"


@pytest.fixture
def governments(coalgov) -> pd.DataFrame:
    g = coalgov.groupby("gid").first().reset_index()
    return g[["gid", "cid", "logdur", "majority", "mwc"]]


def test_correlated_slope_equals_mixedlm_full_covariance(governments):
    ref = _mixedlm(governments, re_formula="~majority")
    cov = ref.cov_re.to_numpy()
    sd = np.sqrt(np.diag(cov))
    want = pd.Series(
        np.r_[ref.fe_params, sd, cov[0, 1] / (sd[0] * sd[1]), np.sqrt(ref.scale)],
        index=[*COEF, "sigma.hm1", "sigma.hm1.majority", "cor.hm1.majority", "sigma"],
    )
    res = mmreg.MMModel(FORMULA, governments, priors=WIDE).fit()
    assert abs(want["cor.hm1.majority"]) > 0.5  # a real correlation: the test can fail
    np.testing.assert_allclose(res.params[want.index], want, rtol=1e-4)
    ratio = res.bse[COEF].to_numpy() / ref.bse_fe.to_numpy()
    assert np.all(ratio > 1 - 1e-4) and np.all(ratio < 1.02), ratio
    # the REML log-likelihood at the optimum: the Laplace log marginal differs from it only
    # by the flat priors' constants, so the difference to the independent-slope fit agrees
    ind = _mixedlm(governments, re_formula="1", vc_formula={"maj": "0 + majority"})
    f_ind = FORMULA.replace(", cor = TRUE", "")
    res_ind = mmreg.MMModel(f_ind, governments, priors=WIDE).fit()
    lm = res.raw.mode.log_marginal - res_ind.raw.mode.log_marginal
    assert lm == pytest.approx(ref.llf - ind.llf, abs=1e-5)
