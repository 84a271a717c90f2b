"""bml's ``fix(X0, value)``: X0 is bml's name of the intercept column, so the intercept is
fixed at ``value`` (reference: statsmodels OLS of y - value without an intercept)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

import mmreg
from mmreg.priors import Normal


def _data(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 200
    x = rng.normal(size=n)
    return pd.DataFrame({"y": 1.5 + 0.7 * x + rng.normal(scale=0.5, size=n), "x": x})


def test_fix_x0_fixes_the_intercept_like_an_offset():
    df = _data()
    wide = {"x": Normal(0, 1e4)}
    res = mmreg.MMModel("y ~ 1 + fix(X0, 2) + x", df, priors=wide).fit()
    assert "Intercept" not in res.params.index
    ols = sm.OLS(df["y"] - 2.0, df[["x"]]).fit()
    np.testing.assert_allclose(res.params["x"], ols.params["x"], rtol=1e-6)
    # the residual SD: OLS's ML estimate (Laplace on sigma with a flat-ish prior is close)
    np.testing.assert_allclose(res.params["sigma"], np.sqrt(ols.ssr / len(df)), rtol=0.02)


def test_fix_x0_leaves_the_data_alone_and_a_real_x0_column_wins():
    df = _data(1)
    before = df.copy()
    mmreg.MMModel("y ~ 1 + fix(X0, 2) + x", df)
    pd.testing.assert_frame_equal(df, before)
    df2 = df.assign(X0=df["x"])  # a data column named X0 is a covariate as before
    m = mmreg.MMModel("y ~ 1 + fix(X0, 2)", df2)
    assert "Intercept" in m.param_names
