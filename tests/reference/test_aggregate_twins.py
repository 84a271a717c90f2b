# Reference numbers: statsmodels OLS (Gaussian) and Logit (binomial) on one row per government,
# with the aggregated feature computed here with pandas from the definitions of SPEC §8.
# Data: the real coalgov (../shared/data/coalgov.csv, skipped when absent).
"""Every aggregation ``fn(type, ...)`` with a fixed shape and fixed weights equals its
frequentist twin (issue #16).

With fixed weights the feature is a fixed group-level covariate, so the Laplace fit with
vague priors (N(0, 1e4²) coefficients, half-Cauchy(1e6) sigma) is OLS (Gaussian: the REML
sigma is OLS's) or the Logit MLE (binomial).  Named blocks in main-formula interactions
(``majority:coal``) are the product column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import mmreg
from mmreg.priors import HalfCauchy, Normal

WEIGHTS = {"1/n": None, "pseat": "pseat"}

#: (fn(), vars(), pandas feature from the normalised weights w of each row)
CASES = [
    ('fn("sum")', "cohesion", lambda d, w: _g(d, w * d.cohesion)),
    ('fn("var")', "cohesion", lambda d, w: _g(d, w * (d.cohesion - _a(d, w, "cohesion")) ** 2)),
    ('fn("var", moment = 3)', "rile", lambda d, w: _g(d, w * (d.rile - _a(d, w, "rile")) ** 3)),
    ('fn("hhi")', None, lambda d, w: _g(d, w**2)),
    ('fn("effn")', None, lambda d, w: 1 / _g(d, w**2)),
    ('fn("entropy")', None, lambda d, w: -_g(d, w * np.log(np.where(w > 0, w, 1.0)))),
    (
        'fn("threshold", c = 0.3)',
        "cohesion",
        lambda d, w: _g(d, w / (1 + np.exp(-10 * (d.cohesion - 0.3)))),
    ),
    ('fn("smax", kappa = 3)', "finance", lambda d, w: np.log(_g(d, w * np.exp(3 * d.finance))) / 3),
    (
        'fn("smax", kappa = -2)',
        "finance",
        lambda d, w: np.log(_g(d, w * np.exp(-2 * d.finance))) / -2,
    ),
    ('fn("gmean", p = 0.5)', "seats", lambda d, w: _g(d, w * np.sqrt(d.seats)) ** 2),
    (
        'fn("cov")',
        "cohesion + finance",
        lambda d, w: _g(
            d, w * (d.cohesion - _a(d, w, "cohesion")) * (d.finance - _a(d, w, "finance"))
        ),
    ),
]


def _g(d: pd.DataFrame, v) -> pd.Series:
    """Sum within government (sorted by gid)."""
    return pd.Series(np.asarray(v, float), index=d.index).groupby(d["gid"]).sum()


def _a(d: pd.DataFrame, w, col: str) -> np.ndarray:
    """The weighted mean A of ``col`` on each row."""
    return (w * d[col]).groupby(d["gid"]).transform("sum").to_numpy()


def _norm(d: pd.DataFrame, wcol: str | None) -> pd.Series:
    raw = pd.Series(1.0, index=d.index) if wcol is None else d[wcol].astype(float)
    return raw / raw.groupby(d["gid"]).transform("sum")


def _wide(names, sigma: bool = True) -> dict:
    return ({"sigma*": HalfCauchy(1e6)} if sigma else {}) | {c: Normal(0, 1e4) for c in names}


@pytest.fixture
def coalgov(coalgov: pd.DataFrame) -> pd.DataFrame:
    """coalgov with a positive seat share ``seats`` (gmean needs x > 0)."""
    return coalgov.assign(seats=coalgov["pseat"] + 0.01)


def _formula(y: str, fn: str, v: str | None, wcol: str, name: str = "") -> str:
    vars_ = f"vars({v})" if v else "NULL"
    return (
        f"{y} ~ 1 + majority{name and ' + majority:' + name} + mm(id = id(pid, gid), "
        f"vars = {vars_}, w = w(~ {wcol}), fn = {fn}, RE = FALSE"
        f"{name and ', name = ' + repr(name)})"
    )


def _check(res, ref, k=1e-4) -> None:
    ours = res.params[: len(ref.params)].to_numpy()
    se = ref.bse.to_numpy()
    assert np.all(np.abs(ours - ref.params.to_numpy()) <= k * se), (
        f"|Δ|/SE = {np.abs(ours - ref.params.to_numpy()) / se}"
    )
    np.testing.assert_allclose(res.bse[: len(ref.params)].to_numpy(), se, rtol=1e-3)


@pytest.mark.parametrize("wfn", list(WEIGHTS))
@pytest.mark.parametrize(("fn", "v", "feature"), CASES, ids=[c[0] for c in CASES])
def test_gaussian_equals_ols(coalgov, fn, v, feature, wfn):
    d = coalgov
    w = _norm(d, WEIGHTS[wfn])
    g = d.groupby("gid").agg(logdur=("logdur", "first"), majority=("majority", "first"))
    g["F"] = feature(d, w)
    ols = sm.OLS(g["logdur"], sm.add_constant(g[["majority", "F"]])).fit()
    model = mmreg.MMModel(_formula("logdur", fn, v, wfn), d, family="gaussian")
    res = mmreg.MMModel(
        _formula("logdur", fn, v, wfn), d, family="gaussian", priors=_wide(model.design.coef_names)
    ).fit()
    _check(res, ols)
    assert res.params["sigma"] == pytest.approx(np.sqrt(ols.scale), rel=1e-5)


@pytest.mark.parametrize(("fn", "v", "feature"), CASES, ids=[c[0] for c in CASES])
def test_binomial_equals_logit(coalgov, fn, v, feature):
    d = coalgov
    w = _norm(d, "pseat")
    g = d.groupby("gid").agg(ev=("event_wkb", "first"), majority=("majority", "first"))
    g["F"] = feature(d, w)
    logit = sm.Logit(g["ev"], sm.add_constant(g[["majority", "F"]])).fit(disp=0, tol=1e-12)
    names = mmreg.MMModel(
        _formula("event_wkb", fn, v, "pseat"), d, family="binomial"
    ).design.coef_names
    res = mmreg.MMModel(
        _formula("event_wkb", fn, v, "pseat"),
        d,
        family="binomial",
        priors=_wide(names, sigma=False),
    ).fit()
    _check(res, logit)


@pytest.mark.parametrize(("fn", "v", "feature"), [CASES[1], CASES[3]], ids=["var", "hhi"])
def test_named_block_in_an_interaction_equals_ols(coalgov, fn, v, feature):
    d = coalgov
    w = _norm(d, "pseat")
    g = d.groupby("gid").agg(logdur=("logdur", "first"), majority=("majority", "first"))
    g["F"] = feature(d, w)
    g["majority:F"] = g["majority"] * g["F"]
    ols = sm.OLS(g["logdur"], sm.add_constant(g[["majority", "majority:F", "F"]])).fit()
    f = _formula("logdur", fn, v, "pseat", name="coal")
    names = mmreg.MMModel(f, d, family="gaussian").design.coef_names
    assert names[2] == "majority:coal"
    res = mmreg.MMModel(f, d, family="gaussian", priors=_wide(names)).fit()
    _check(res, ols)
