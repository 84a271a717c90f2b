"""Unit-specific fixed effects ``hm(..., FE = fe(1 + x))`` (issue #15) vs statsmodels.

No pooling: a dummy and a slope of the group-level column ``x`` per unit, R's
``y ~ x * factor(unit)``.  With near-flat priors the Gaussian Laplace fit integrates the
coefficients out under a flat prior, so its coefficients are OLS's, its residual SD is
OLS's sqrt(RSS / (n - p)) (REML) and its standard errors OLS's (see
test_laplace_frequentist.py); the binomial fit is the posterior mode under flat priors, i.e.
the Logit MLE with the Hessian's standard errors.

Data: coalgov (../shared, read 2026-12-05; a government's ``rile_SD`` as ``rsd``, in the
countries where it varies) for the Gaussian twins, a simulation with known country
intercepts and slopes for the Logit twin.  References computed in the tests themselves
(statsmodels OLS / Logit, tol 1e-12).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import mmreg
from mmreg.errors import MMDataError, MMWarning
from mmreg.priors import HalfCauchy, Normal

FLAT = {p: Normal(0, 1e6) for p in ("Intercept", "mm1.*", "hm1*")}
WIDE = {"sigma*": HalfCauchy(1e6), "rsd": Normal(0, 1e6), "mwc": Normal(0, 1e6)} | FLAT
MM = "mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE), RE = FALSE)"
GAUSS = "logdur ~ 1 + rsd + mwc + " + MM + " + hm(id = id(cid), FE = fe(1 + rsd){show})"


@pytest.fixture
def coal(coalgov) -> pd.DataFrame:
    """coalgov with ``rsd``: the group's rsd (its first row's; rsd varies a little
    within some governments), in the 26 countries where it varies."""
    df = coalgov.assign(rsd=coalgov.groupby("gid")["rile_SD"].transform("first"))
    varies = df.groupby("cid")["rsd"].transform("nunique") > 1
    return df[varies].reset_index(drop=True)


def _groups(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    g = df.groupby("gid").first()[cols].copy()
    g["finance"] = df.groupby("gid")["finance"].mean()  # weights 1/n
    return g.sort_index()


def _rename(names) -> dict[str, str]:
    """statsmodels' names of x * C(cid) -> mmreg's."""
    out = {"Intercept": "Intercept", "finance": "mm1.finance"}
    for n in names:
        if n.startswith("C(cid)[T."):
            lab = n[len("C(cid)[T.") : -1]
            out[n] = f"hm1[{lab}]"
        elif ":C(cid)[T." in n:
            var, rest = n.split(":C(cid)[T.")
            out[n] = f"hm1.{var}[{rest[:-1]}]"
        elif n.startswith("C(cid)[") and ":" in n:  # full slope set: C(cid)[a]:x
            lab, var = n[len("C(cid)[") :].split("]:")
            out[n] = f"hm1.{var}[{lab}]"
        elif n.startswith("C(cid)["):
            out[n] = f"hm1[{n[len('C(cid)[') : -1]}]"
        else:
            out.setdefault(n, n)
    return out


def test_gaussian_equals_ols_with_interactions(coal):
    res = mmreg.MMModel(GAUSS.format(show=""), coal, priors=WIDE).fit()
    g = _groups(coal, ["logdur", "rsd", "mwc", "cid"])
    ols = smf.ols("logdur ~ rsd * C(cid) + mwc + finance", g).fit()
    ref = ols.params.rename(_rename(ols.params.index))
    se = ols.bse.rename(ref.index.to_series().to_dict()).set_axis(ref.index)
    assert set(ref.index) ^ (set(res.params.index) - {"sigma"}) == set()
    n_units = coal["cid"].nunique()
    assert sum(n.startswith("hm1.rsd[") for n in ref.index) == n_units - 1
    got = res.params[ref.index]
    assert np.max(np.abs(got - ref) / se) < 1e-4, np.max(np.abs(got - ref) / se)
    np.testing.assert_allclose(res.params["sigma"], np.sqrt(ols.scale), rtol=1e-4)
    ratio = res.bse[ref.index] / se
    assert ratio.between(1 - 1e-4, 1.02).all(), ratio.describe()


def test_without_a_main_slope_every_unit_has_its_own(coal):
    f = GAUSS.format(show="").replace("1 + rsd + mwc", "1 + mwc")
    res = mmreg.MMModel(f, coal, priors={k: v for k, v in WIDE.items() if k != "rsd"}).fit()
    g = _groups(coal, ["logdur", "rsd", "mwc", "cid"])
    ols = smf.ols("logdur ~ C(cid) + C(cid):rsd + mwc + finance", g).fit()
    ref = ols.params.rename(_rename(ols.params.index))
    se = pd.Series(ols.bse.to_numpy(), index=ref.index)
    assert sum(n.startswith("hm1.rsd[") for n in ref.index) == coal["cid"].nunique()
    assert np.max(np.abs(res.params[ref.index] - ref) / se) < 1e-4


def test_show_fe_and_names(coal):
    hidden = mmreg.MMModel(GAUSS.format(show=""), coal, priors=WIDE).fit()
    shown = mmreg.MMModel(GAUSS.format(show=", showFE = TRUE"), coal, priors=WIDE).fit()
    first = str(sorted(coal["cid"].unique())[1])
    assert f"hm1.rsd[{first}]" in str(shown.summary())
    text = str(hidden.summary())
    assert "hm1.rsd[" not in text and "hm1[" not in text
    n_fe = 2 * (coal["cid"].nunique() - 1)
    assert f"{n_fe} fixed-effect levels not shown" in text
    pd.testing.assert_series_equal(hidden.params, shown.params)


# ------------------------------------------------------------------ binomial
def _binomial_data(seed=21, units=5) -> pd.DataFrame:
    """Memberships of simulate_coalitions; a group-level gx and y ~ Bernoulli(ilogit(a_c +
    b_c gx + 0.4 finance-mean)) with country intercepts a_c and slopes b_c."""
    df = mmreg.datasets.simulate_coalitions(
        n_groups=1500,
        n_members=300,
        n_countries=units,
        member_re=False,
        country_re=False,
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    gids = np.sort(df["gid"].unique())
    gx = pd.Series(rng.normal(size=len(gids)), index=gids)
    g = df.groupby("gid").agg(cid=("cid", "first"), fin=("finance", "mean"))
    a = rng.normal(0, 0.5, units + 1)
    b = rng.normal(0.5, 0.5, units + 1)
    c = g["cid"].to_numpy()
    eta = a[c] + b[c] * gx[g.index].to_numpy() + 0.4 * g["fin"].to_numpy()
    y = pd.Series(rng.random(len(g)) < 1 / (1 + np.exp(-eta)), index=g.index).astype(int)
    return df.assign(gx=df["gid"].map(gx), y=df["gid"].map(y))


def test_binomial_equals_logit_with_interactions():
    df = _binomial_data()
    f = "y ~ 1 + gx + " + MM + " + hm(id = id(cid), FE = fe(1 + gx))"
    res = mmreg.MMModel(f, df, family="binomial", priors=FLAT | {"gx": Normal(0, 1e6)}).fit()
    g = _groups(df, ["y", "gx", "cid"])
    logit = smf.logit("y ~ gx * C(cid) + finance", g).fit(disp=0, tol=1e-12)
    ref = logit.params.rename(_rename(logit.params.index))
    se = pd.Series(logit.bse.to_numpy(), index=ref.index)
    assert set(ref.index) ^ set(res.params.index) == set()
    assert np.max(np.abs(res.params[ref.index] - ref) / se) < 1e-4
    np.testing.assert_allclose(res.bse[ref.index], se, rtol=1e-3)


# ------------------------------------------------------------------ row order, bad input
def test_row_order_does_not_change_the_fit(coal):
    f = GAUSS.format(show="")
    a = mmreg.MMModel(f, coal).fit()
    b = mmreg.MMModel(f, coal.sample(frac=1.0, random_state=3)).fit()
    pd.testing.assert_series_equal(a.params, b.params[a.params.index], rtol=1e-9)


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (lambda d: d.drop(columns="rsd"), ["'rsd'", "not in the data"]),
        (lambda d: d.assign(rsd=d["rsd"].astype(str)), ["'rsd'", "fe() of hm1"]),
        (lambda d: d.assign(rsd=d["rsd"].where(d.index != 5)), ["missing value"]),
        (
            lambda d: d.assign(rsd=d["rsd"] + 0.01 * (d.index == 1)),
            ["'rsd'", "varies within group"],
        ),
    ],
)
def test_bad_slope_column(coal, change, needles):
    f = GAUSS.format(show="").replace("1 + rsd + mwc", "1 + mwc")
    assert coal.loc[0, "gid"] == coal.loc[1, "gid"]
    with pytest.raises(MMDataError) as info:
        mmreg.MMModel(f, change(coal))
    for n in needles:
        assert n in str(info.value), (n, str(info.value))


def test_slope_constant_within_a_unit_warns(coal):
    first = coal["cid"].iloc[0]
    flat = coal.assign(rsd=coal["rsd"].where(coal["cid"] != first, 0.3))
    with pytest.warns(MMWarning, match=rf"'rsd' does not vary within unit\(s\) \['{first}'\]"):
        mmreg.MMModel(GAUSS.format(show=""), flat)


def test_fe_slopes_only_without_dummies(coal):
    """fe(0 + x): unit slopes around the main slope, no unit intercepts."""
    f = GAUSS.format(show="").replace("fe(1 + rsd)", "fe(0 + rsd)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MMWarning)
        res = mmreg.MMModel(f, coal, priors=WIDE).fit()
    g = _groups(coal, ["logdur", "rsd", "mwc", "cid"])
    ols = smf.ols("logdur ~ rsd + rsd:C(cid) + mwc + finance", g).fit()
    ref = ols.params.rename(_rename(ols.params.index))
    assert not any(n.startswith("hm1[") for n in res.params.index)
    se = pd.Series(ols.bse.to_numpy(), index=ref.index)
    assert np.max(np.abs(res.params[ref.index] - ref) / se) < 1e-4
