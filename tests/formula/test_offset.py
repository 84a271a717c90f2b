"""``offset(expr)`` in the main formula: a term with its coefficient fixed at 1 (#15)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import mmreg
from mmreg.formula.parse import parse_formula

MM = " + mm(id = id(pid, gid), vars = NULL, fn = fn(w ~ 1/n, c = TRUE), RE = TRUE)"


def _data(seed: int = 1, n: int = 120) -> pd.DataFrame:
    """Groups of 1-3 members; group-level x, exposure e and outcomes of every family."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(n):
        for p in rng.choice(40, size=rng.integers(1, 4), replace=False):
            rows.append((g, int(p)))
    df = pd.DataFrame(rows, columns=["gid", "pid"])
    x = rng.normal(size=n)
    e = rng.uniform(0.5, 5.0, n)
    mu = e * np.exp(0.3 + 0.5 * x)
    per_group = pd.DataFrame(
        {
            "x": x,
            "e": e,
            "le": np.log(e),
            "count": rng.poisson(mu),
            "yb": (rng.uniform(size=n) < 1 / (1 + np.exp(-(x + np.log(e) - 1)))).astype(int),
            "yg": 1.0 + x + np.log(e) + rng.normal(scale=0.7, size=n),
            "time": rng.weibull(1.5, n) * np.exp(1 + 0.3 * x + 0.2 * np.log(e)),
            "event": (rng.uniform(size=n) < 0.8).astype(int),
        }
    )
    return df.join(per_group, on="gid")


CASES = [
    ("poisson", "count"),
    ("negbinomial", "count"),
    ("binomial", "yb"),
    ("gaussian", "yg"),
    ("weibull", "Surv(time, event)"),
]


@pytest.mark.filterwarnings("ignore::mmreg.MMWarning")  # Poisson data: NB shape uninformed
@pytest.mark.parametrize("family, lhs", CASES)
def test_offset_equals_fix_at_one(family, lhs):
    """offset(log(e)) is fix(log_e, 1): same fit to 1e-10, for every family."""
    df = _data()
    a = mmreg.MMModel(f"{lhs} ~ 1 + x + offset(log(e))" + MM, df, family=family).fit()
    b = mmreg.MMModel(f"{lhs} ~ 1 + x + fix(le, 1)" + MM, df, family=family).fit()
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-8, atol=1e-10)
    # listed nowhere as a coefficient
    assert not [n for n in a.params.index if "e)" in n or n in ("e", "le", "offset")]


def test_poisson_offset_matches_statsmodels_glm():
    """No random effects: mmreg's MAP under N(0, 100^2) priors is the GLM's ML estimate up
    to the prior's pull (precision 1e-4 against a data precision of ~1e3: < 1e-6)."""
    df = _data(seed=2, n=400).drop_duplicates("gid")
    res = mmreg.MMModel("count ~ 1 + x + offset(log(e))", df, family="poisson").fit()
    glm = sm.GLM(
        df["count"].to_numpy(),
        sm.add_constant(df["x"].to_numpy()),
        family=sm.families.Poisson(),
        offset=np.log(df["e"].to_numpy()),
    ).fit()
    np.testing.assert_allclose(res.params[["Intercept", "x"]], glm.params, atol=1e-5)
    np.testing.assert_allclose(res.bse[["Intercept", "x"]], glm.bse, rtol=1e-4)


def test_predict_with_new_data_keeps_the_offset():
    df = _data(seed=3).drop_duplicates("gid")
    res = mmreg.MMModel("count ~ 1 + x + offset(log(e))", df, family="poisson").fit()
    new = df.iloc[:7].assign(e=np.linspace(0.1, 10.0, 7))
    want = new["e"].to_numpy() * np.exp(res.params["Intercept"] + res.params["x"] * new["x"])
    np.testing.assert_allclose(np.asarray(res.predict(new)), want, rtol=1e-10)
    with pytest.raises(mmreg.MMDataError, match="'e'"):
        res.predict(new.drop(columns="e"))


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_non_positive_exposure_is_a_data_error_naming_the_column(bad):
    df = _data(seed=4)
    df.loc[df["gid"] == 5, "e"] = bad
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy divide-by-zero warning on the way
        with pytest.raises(mmreg.MMDataError, match=r"column 'e'.*log\(e\).*positive"):
            mmreg.MMModel("count ~ 1 + x + offset(log(e))" + MM, df, family="poisson")
    assert (df.loc[df["gid"] == 5, "e"] == bad).all()  # the user's data are untouched


@pytest.mark.filterwarnings("ignore::mmreg.MMWarning")  # sigma.mm1 near 0 in these data
def test_row_order_does_not_matter():
    df = _data(seed=5)
    f = "count ~ 1 + x + offset(log(e))" + MM
    a = mmreg.MMModel(f, df, family="poisson").fit()
    b = mmreg.MMModel(f, df.sample(frac=1.0, random_state=3), family="poisson").fit()
    np.testing.assert_allclose(a.params, b.params, rtol=1e-7, atol=1e-9)


def test_parse_and_bad_offsets():
    spec = parse_formula("y ~ x + offset(log(e))")
    assert [(f.term, f.value, f.offset) for f in spec.fixed] == [("log(e)", 1.0, True)]
    assert spec.main == "x"
    with pytest.raises(mmreg.MMSpecError, match=r"offset\(\).*one expression"):
        parse_formula("y ~ x + offset(log(e), 2)")
    with pytest.raises(mmreg.MMSpecError, match=r"offset\(\) cannot be used inside"):
        parse_formula("y ~ x + mm(id = id(pid, gid), vars = vars(offset(z)))")
    with pytest.raises(mmreg.MMSpecError, match="appears twice"):
        parse_formula("y ~ x + offset(le) + fix(le, 1)")
    with pytest.raises(mmreg.MMSpecError, match="cannot be subtracted"):
        parse_formula("y ~ x - offset(le)")
