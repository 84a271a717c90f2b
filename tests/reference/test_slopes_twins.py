"""Random slopes in ``hm()`` vs statsmodels MixedLM (REML), issue #15.

With near-flat priors the Gaussian Laplace fit integrates the coefficients out exactly under
a flat prior, i.e. it is REML (see test_laplace_frequentist.py).  MixedLM spellings:

* ``re(1 + majority)`` (independent intercept and slope): ``re_formula="1"`` plus the
  variance component ``vc_formula={"maj": "0 + majority"}`` — two independent variances per
  country, exactly our two SDs (``re_formula="~majority"`` would estimate a full 2×2
  covariance, the ``cor = TRUE`` model);
* ``re(0 + majority)`` (slope only): ``re_formula="0 + majority"``.

Data: coalgov at the government level (628 governments in 29 countries), outcome log duration.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from mmreg.priors import HalfCauchy, Normal
from tests.slopes_helper import slope_model

COEF = ["Intercept", "majority", "mwc"]
WIDE = {"sigma*": HalfCauchy(1e6)} | {c: Normal(0, 1e6) for c in COEF}
TIGHT = {"method": "bfgs", "gtol": 1e-10}
FORMULA = "logdur ~ 1 + majority + mwc + hm(id = id(cid), type = 'RE')"


@pytest.fixture
def governments(coalgov) -> pd.DataFrame:
    g = coalgov.groupby("gid").first().reset_index()
    return g[["gid", "cid", "logdur", "majority", "mwc"]]


def _mixedlm(g, **kw):
    # bfgs at gtol 1e-10 stops on "precision loss" with |grad| ~ 1e-7: converged for our
    # purpose (the SDs agree to 1e-6); its ConvergenceWarning is noise here
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.MixedLM.from_formula("logdur ~ majority + mwc", g, groups="cid", **kw).fit(
            reml=True, **TIGHT
        )


def test_independent_slope_equals_mixedlm_variance_component(governments):
    ref = _mixedlm(governments, re_formula="1", vc_formula={"maj": "0 + majority"})
    res = slope_model(FORMULA, governments, priors=WIDE).fit()
    want = pd.Series(
        np.r_[
            ref.fe_params, np.sqrt(ref.cov_re.iloc[0, 0]), np.sqrt(ref.vcomp[0]), np.sqrt(ref.scale)
        ],
        index=COEF + ["sigma.hm1", "sigma.hm1.majority", "sigma"],
    )
    np.testing.assert_allclose(res.params[want.index], want, rtol=1e-4)
    ratio = res.bse[COEF].to_numpy() / ref.bse_fe.to_numpy()
    assert np.all(ratio > 1 - 1e-4) and np.all(ratio < 1.02), ratio


def test_slope_only_equals_mixedlm(governments):
    ref = _mixedlm(governments, re_formula="0 + majority")
    res = slope_model(FORMULA, governments, intercept=False, priors=WIDE).fit()
    want = pd.Series(
        np.r_[ref.fe_params, np.sqrt(ref.cov_re.iloc[0, 0]), np.sqrt(ref.scale)],
        index=COEF + ["sigma.hm1.majority", "sigma"],
    )
    assert "sigma.hm1" not in res.params.index
    np.testing.assert_allclose(res.params[want.index], want, rtol=1e-4)
