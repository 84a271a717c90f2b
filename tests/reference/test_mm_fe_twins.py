"""Member fixed effects ``mm(..., FE = fe(1 + x))`` (issue #15, SPEC §8) vs OLS.

A group gets Σ_k w_ik d_k of the member dummies d_k (and Σ_k w_ik x_ik d_k of the member
slopes).  The twin builds that weighted dummy matrix here, independently of mmreg, from the
weights written out by hand, and fits it by statsmodels OLS: with near-flat priors the
Gaussian Laplace fit integrates the coefficients out under a flat prior, so its coefficients
are OLS's and its standard errors OLS's with the REML residual SD (as in
``test_fe_twins.py``).  With estimated weights the twin is OLS on the dummies weighted at
the fitted weight parameters (the coefficients' conditional posterior mean given θ).  Data:
the simulation of ``_data()`` (seed 3, 400 groups of 2-4 of 12 members).  Tolerances: the
optimiser's (1e-6 on coefficients, 1e-5 relative on SEs).  Written 2026-12-05.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import mmreg
from mmreg.priors import HalfCauchy, Normal

FLAT = {"Intercept": Normal(0, 1e6), "z": Normal(0, 1e6), "mm1*": Normal(0, 1e6)}
WIDE = {"sigma": HalfCauchy(1e6)} | FLAT
MEMBERS = [f"m{j:02d}" for j in range(12)]


def _data(seed: int = 3, n_groups: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    alpha = rng.normal(0, 1, len(MEMBERS))
    beta = rng.normal(0.5, 0.5, len(MEMBERS))
    rows = []
    for g in range(n_groups):
        k = rng.integers(2, 5)
        mem = rng.choice(len(MEMBERS), k, replace=False)
        x = rng.normal(size=k)
        s = rng.uniform(0.1, 1.0, k)
        w = np.exp(1.5 * s) / np.exp(1.5 * s).sum()
        z = rng.normal()
        y = 1.0 + 0.3 * z + np.sum(w * (alpha[mem] + beta[mem] * x)) + rng.normal(0, 0.5)
        for j in range(k):
            rows.append((g, MEMBERS[mem[j]], x[j], s[j], z, y))
    return pd.DataFrame(rows, columns=["gid", "pid", "x", "s", "z", "y"])


def _weighted(df: pd.DataFrame, w: np.ndarray, slopes: bool, first_slope: bool):
    """Σ_k w_ik d_k (reference: the first member) and, if asked, Σ_k w_ik x_ik d_k."""
    gids = np.sort(df["gid"].unique())
    g = np.searchsorted(gids, df["gid"].to_numpy())
    m = np.searchsorted(MEMBERS, df["pid"].to_numpy())
    D = np.zeros((len(gids), len(MEMBERS)))
    np.add.at(D, (g, m), w)
    cols = {f"mm1[{MEMBERS[j]}]": D[:, j] for j in range(1, len(MEMBERS))}
    if slopes:
        S = np.zeros((len(gids), len(MEMBERS)))
        np.add.at(S, (g, m), w * df["x"].to_numpy())
        first = 0 if first_slope else 1
        cols |= {f"mm1.x[{MEMBERS[j]}]": S[:, j] for j in range(first, len(MEMBERS))}
    grp = df.groupby("gid").first().sort_index()
    X = pd.DataFrame({"Intercept": 1.0, "z": grp["z"].to_numpy()} | cols)
    return X, grp["y"].to_numpy()


def _equal_weights(df: pd.DataFrame) -> np.ndarray:
    return 1.0 / df.groupby("gid")["pid"].transform("size").to_numpy()


def test_member_dummies_match_ols_on_the_weighted_dummy_matrix():
    df = _data()
    f = "y ~ 1 + z + mm(id = id(pid, gid), fn = fn(w ~ 1/n, c = TRUE), FE = fe(1))"
    res = mmreg.MMModel(f, df, priors=WIDE).fit()
    X, y = _weighted(df, _equal_weights(df), slopes=False, first_slope=False)
    ols = sm.OLS(y, X).fit()
    assert list(res.params.index[: X.shape[1]]) == list(X.columns)  # first member: reference
    np.testing.assert_allclose(res.params[X.columns], ols.params, atol=1e-6)
    np.testing.assert_allclose(res.bse[X.columns], ols.bse, rtol=1e-5)


# at N(0, 1e6) priors L-BFGS-B's line search ends ABNORMAL at the optimum (sigma equals OLS's
# REML sigma to 1e-8 here; no warning at the default priors)
@pytest.mark.filterwarnings("ignore:the Laplace optimiser did not converge")
def test_member_slopes_match_ols_and_the_first_slope_is_the_vars_coefficient():
    df = _data()
    f = "y ~ 1 + z + mm(id = id(pid, gid), vars = vars(x), fn = fn(w ~ 1/n), FE = fe(1 + x))"
    res = mmreg.MMModel(f, df, priors=WIDE).fit()
    X, y = _weighted(df, _equal_weights(df), slopes=True, first_slope=False)
    gx = pd.Series(_equal_weights(df) * df["x"].to_numpy()).groupby(df["gid"].to_numpy()).sum()
    X.insert(2, "mm1.x", gx.sort_index().to_numpy())
    ols = sm.OLS(y, X).fit()
    np.testing.assert_allclose(res.params[X.columns], ols.params, atol=1e-6)
    np.testing.assert_allclose(res.bse[X.columns], ols.bse, rtol=1e-5)
    # without x in vars() every member has its own slope
    f0 = "y ~ 1 + z + mm(id = id(pid, gid), fn = fn(w ~ 1/n), FE = fe(1 + x))"
    res0 = mmreg.MMModel(f0, df, priors=WIDE).fit()
    X0, _ = _weighted(df, _equal_weights(df), slopes=True, first_slope=True)
    np.testing.assert_allclose(res0.params[X0.columns], sm.OLS(y, X0).fit().params, atol=1e-6)


def test_estimated_weights_follow_theta_like_vars():
    df = _data()
    f = (
        "y ~ 1 + z + mm(id = id(pid, gid), fn = fn(w ~ exp(b1 * s), c = TRUE), "
        "FE = fe(1, showFE = TRUE))"
    )
    res = mmreg.MMModel(f, df, priors=WIDE | {"mm1.w.b1": Normal(0, 10)}).fit()
    b1 = float(res.params["mm1.w.b1"])
    assert abs(b1 - 1.5) < 1.0  # the simulation's weights: softmax(1.5 s)
    e = np.exp(b1 * df["s"].to_numpy())
    w = e / pd.Series(e).groupby(df["gid"].to_numpy()).transform("sum").to_numpy()
    X, y = _weighted(df, w, slopes=False, first_slope=False)
    # the coefficients are their conditional posterior mean at the fitted weights: OLS
    np.testing.assert_allclose(res.params[X.columns], sm.OLS(y, X).fit().params, atol=1e-5)
    assert "mm1[m03]" in res.summary().as_text()  # showFE = TRUE lists them


def test_unnormalised_weights_code_every_member():
    df = _data()
    f = "y ~ 1 + z + mm(id = id(pid, gid), fn = fn(w ~ 1, c = FALSE), FE = fe(1))"
    model = mmreg.MMModel(f, df, priors=WIDE)
    # Σ_k d_k = group size, not constant: the full set is not collinear with the intercept
    assert [n for n in model.design.coef_names if n.startswith("mm1[")] == [
        f"mm1[{m}]" for m in MEMBERS
    ]
    res = model.fit()
    gids = np.sort(df["gid"].unique())
    D = pd.crosstab(df["gid"], df["pid"]).reindex(index=gids, columns=MEMBERS).to_numpy()
    grp = df.groupby("gid").first().sort_index()
    X = np.column_stack([np.ones(len(gids)), grp["z"], D])
    ols = sm.OLS(grp["y"].to_numpy(), X).fit()
    np.testing.assert_allclose(res.params[list(model.design.coef_names)], ols.params, atol=1e-6)


@pytest.mark.filterwarnings("ignore:the Laplace optimiser did not converge")
def test_row_order_and_hidden_by_default():
    df = _data()
    f = "y ~ 1 + z + mm(id = id(pid, gid), fn = fn(w ~ 1/n, c = TRUE), FE = fe(1 + x))"
    res = mmreg.MMModel(f, df, priors=WIDE).fit()
    shuffled = df.sample(frac=1.0, random_state=5)
    before = shuffled.copy()
    res2 = mmreg.MMModel(f, shuffled, priors=WIDE).fit()
    pd.testing.assert_frame_equal(shuffled, before)  # the user's DataFrame is untouched
    np.testing.assert_allclose(res2.params[res.params.index], res.params, rtol=1e-8, atol=1e-8)
    text = res.summary().as_text()
    assert "mm1[m03]" not in text and "mm1.x[m03]" not in text  # showFE = FALSE
    assert "mm1[m03]" in res.params.index


def test_predict_new_data_uses_the_training_members():
    df = _data()
    f = "y ~ 1 + z + mm(id = id(pid, gid), fn = fn(w ~ 1/n, c = TRUE), FE = fe(1))"
    res = mmreg.MMModel(f, df, priors=WIDE).fit()
    new = df[df["gid"] < 5]
    np.testing.assert_allclose(res.predict(new), res.predict(df)[:5], rtol=1e-10)
    bad = new.assign(pid=new["pid"].where(new["pid"] != new["pid"].iloc[0], "zz"))
    with pytest.raises(mmreg.MMDataError, match="zz"):
        res.predict(bad)


@pytest.mark.parametrize(
    ("block", "fragment"),
    [
        ("mm(id = id(pid, gid), fn = fn(w ~ 1/n), RE = TRUE, FE = fe(1))", "not identified"),
        ('mm(id = id(pid, gid), fn = fn("var"), vars = vars(x), FE = fe(1))', "own mm()"),
        ("mm(id = id(pid, gid), fn = fn(w ~ 1/n), FE = fe(1 + x + ))", "fe("),
    ],
)
def test_bad_fe_in_mm_is_a_spec_error(block, fragment):
    with pytest.raises(mmreg.MMSpecError, match=re.escape(fragment)):
        mmreg.MMModel(f"y ~ 1 + {block}", _data(n_groups=20))


def test_non_numeric_member_slope_is_a_data_error():
    df = _data(n_groups=20).assign(lab=lambda d: np.where(d["x"] > 0, "hi", "lo"))
    f = "y ~ 1 + mm(id = id(pid, gid), fn = fn(w ~ 1/n), FE = fe(1 + lab))"
    with pytest.raises(mmreg.MMDataError, match="lab"):
        mmreg.MMModel(f, df)
