"""#13 class 12 — other silently wrong outputs.

* ``predict(new_data)`` builds covariates with what was learned on the fitted data
  (``center``/``standardize`` states, categorical levels): rows of the fitted data get their
  fitted values back exactly, whatever subset (or order) of rows is given; an unseen level
  is a named :class:`mmreg.MMDataError`.
* ``plot_caterpillar()`` draws one point per random effect whatever the id type.
* ``var_decomp(convention="bml")`` uses bml's Weibull residual ``sigma² = 1/shape²``.
* DIC comes with its Monte Carlo SE and is printed to that precision.
* The Laplace start of an MCMC run does not advise to run MCMC.
"""

from __future__ import annotations

import re
import warnings
from functools import cache

import numpy as np
import pytest

import mmreg
from mmreg.errors import MMDataError
from mmreg.results.ic import dic, mc_digits

MM = "mm(id = id(pid, gid), vars = vars({v}), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE)"
HM = 'hm(id = id(cid), {v}type = "RE")'


@cache
def _data():
    df = mmreg.datasets.simulate_coalitions(n_groups=60, n_members=30, n_countries=6, seed=2)
    df["region"] = np.array(["north", "south", "west"])[df["cid"].to_numpy() % 3]
    df["cscore"] = 0.7 * df["cid"] + 1.0  # country-level
    df["pfam"] = np.array(["A", "B", "C"])[df["pid"].to_numpy() % 3]  # member-level
    df["mwc_b"] = df["mwc"].astype(bool)
    return df


def _formula(main: str = "majority", mmv: str = "finance", hmv: str = "") -> str:
    return f"y ~ 1 + {main} + {MM.format(v=mmv)} + {HM.format(v=hmv)}"


FORMULAS = {
    "center": _formula("center(majority)"),
    "standardize": _formula("standardize(majority)"),
    "C(region)": _formula("majority + C(region)"),
    "string column": _formula("majority + region"),
    "center + C": _formula("center(majority) + C(region)"),
    "vars(center)": _formula(mmv="center(finance)"),
    "vars(standardize + pfam)": _formula(mmv="standardize(finance) + pfam"),
    "hm vars(center)": _formula(hmv="vars = vars(center(cscore)), "),
    "fix(center)": _formula("majority + fix(center(investiture), 0.5)"),
    "C(numeric)": _formula("majority + C(cid)"),
    "bool column": _formula("majority + mwc_b"),
}


@cache
def _fit(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mmreg.MMModel(FORMULAS[name], _data()).fit()


SUBSETS = {
    "one group": lambda d: d[d["gid"] == 7],
    "one country (one level of cid, one of mwc_b)": lambda d: d[(d["cid"] == 2) & d["mwc_b"]],
    "five groups": lambda d: d[d["gid"].isin([1, 2, 3, 20, 41])],
    "one region (subset of levels)": lambda d: d[d["region"] == "south"],
    "all rows shuffled": lambda d: d.sample(frac=1.0, random_state=0),
}


@pytest.mark.parametrize("subset", list(SUBSETS))
@pytest.mark.parametrize("name", list(FORMULAS))
def test_predict_on_fitted_rows_returns_fitted_values(name, subset):
    res = _fit(name)
    fitted = res.predict(kind="linear")
    new = SUBSETS[subset](_data()).drop(columns="y")
    got = res.predict(new, kind="linear")
    assert len(got) == new["gid"].nunique()
    # the same design on the same rows, a row-wise product: equal to the last bit (a
    # re-learned transform would differ by ~1e-3)
    np.testing.assert_array_equal(got.to_numpy(), fitted.loc[got.index].to_numpy())


UNSEEN = {
    # formula, column, how to change the data, level in the message
    "C(region)": ("C(region)", "region", "east"),
    "string column": ("string column", "region", "east"),
    "center + C": ("center + C", "region", "east"),
    "vars pfam": ("vars(standardize + pfam)", "pfam", "Z"),
}


@pytest.mark.parametrize("case", list(UNSEEN))
def test_predict_unseen_level_is_named(case):
    name, col, level = UNSEEN[case]
    res = _fit(name)
    new = _data()[_data()["gid"].isin([1, 2])].drop(columns="y").copy()
    rows = new["gid"] == 1 if col == "region" else new.index == new.index[0]
    new.loc[rows, col] = level
    with pytest.raises(MMDataError) as err:
        res.predict(new)
    msg = str(err.value)
    assert repr(col) in msg and repr(level) in msg and "fitted" in msg


# --------------------------------------------------------------------------- caterpillar
ID_TYPES = {
    "int": lambda s: s,
    "str": lambda s: "id" + s.astype(str),
    "float": lambda s: s.astype(float) + 0.5,
}


@cache
def _fit_ids(kind: str):
    df = _data().copy()
    df["pid"] = ID_TYPES[kind](df["pid"])
    df["cid"] = ID_TYPES[kind](df["cid"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mmreg.MMModel(_formula(), df).fit()


@pytest.mark.parametrize("block", ["mm1", "hm1"])
@pytest.mark.parametrize("kind", list(ID_TYPES))
def test_caterpillar_draws_every_effect(kind, block):
    res = _fit_ids(kind)
    re_tab = res.random_effects[block]
    fig = res.plot_caterpillar(block)
    ax = fig.axes[0]
    x = np.asarray(ax.lines[0].get_xdata(), dtype=float)
    assert len(x) == len(re_tab) > 0
    assert np.isfinite(x).all()
    np.testing.assert_array_equal(np.sort(x), np.sort(re_tab["mean"].to_numpy()))
    segs = ax.collections[0].get_segments()  # the interval bars
    assert len(segs) == len(re_tab) and all(np.isfinite(s).all() for s in segs)
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == sorted(map(str, re_tab.index))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_caterpillar_refuses_non_finite_estimates(bad):
    import pandas as pd

    from mmreg.results.plots import plot_caterpillar

    df = pd.DataFrame(
        {"mean": [0.1, bad, -0.2], "lower": [-1.0, -1, -1], "upper": [1.0, 1, 1]},
        index=["a", "party 7", "c"],
    )
    with pytest.raises(MMDataError, match="'party 7' is not finite"):
        plot_caterpillar(df)


# --------------------------------------------------------------------------- var_decomp
@cache
def _fit_family(family: str, method: str):
    df = mmreg.datasets.simulate_coalitions(
        n_groups=60, n_members=30, n_countries=6, family=family, seed=2
    )
    model = mmreg.MMModel(df.attrs["formula"], df, family=family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "laplace":
            return model.fit()
        return model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)


def _residual(family: str, convention: str, p) -> np.ndarray:
    """Closed forms: bml takes its sigma (Weibull: 1/shape) squared."""
    if family == "weibull":
        return 1 / p["shape"] ** 2 if convention == "bml" else np.pi**2 / (6 * p["shape"] ** 2)
    if family == "gaussian":
        return p["sigma"] ** 2
    return np.full(len(p["sigma.hm1"]), np.pi**2 / 3)


VD_CASES = [
    (f, c, m)
    for f in ("weibull", "gaussian", "binomial")
    for c in ("bml", "mmreg")
    for m in ("laplace", "mcmc")
    if m == "laplace" or f == "weibull"
]


@pytest.mark.parametrize(("family", "convention", "method"), VD_CASES)
def test_var_decomp_closed_form(family, convention, method):
    res = _fit_family(family, method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # flat Laplace fits: NaN spreads (tested below)
        vd = res.var_decomp(convention=convention)
    # fixed weights 1/n with c = TRUE: sum_k w_ik^2 = 1/n_i
    n_i = res.model.design.mm[0].n
    g = res.model.design.mm[0].group
    mean_w2 = np.mean(1 / n_i[np.unique(g, return_index=True)[1]])
    if method == "laplace":
        p = {k: np.atleast_1d(float(v)) for k, v in res.params.items()}
    else:
        p = {k: res.draws[k].to_numpy() for k in res.draws.columns}
    comp = {
        "mm1": p["sigma.mm1"] ** 2 * mean_w2,
        "hm1": p["sigma.hm1"] ** 2,
        "residual": _residual(family, convention, p),
    }
    total = sum(comp.values())
    for k, v in comp.items():
        np.testing.assert_allclose(vd.loc[k, "variance"], np.mean(v), rtol=1e-10)
        np.testing.assert_allclose(vd.loc[k, "icc"], np.mean(v / total), rtol=1e-10)


@pytest.mark.parametrize("uncertainty", ["sd", "mad", "ci"])
def test_var_decomp_spread_of_a_flat_laplace_fit_is_nan_with_a_warning(uncertainty):
    """sigma.hm1 is estimated at ~0 with a flat Laplace curvature (Weibull data, seed 2):
    draws of it overflow; spreads computed from them used to be NaN for that row and
    meaningless (ICCs of inf totals) for the others."""
    res = _fit_family("weibull", "laplace")
    assert res.raw.cov_u.max() > 1e4  # log sigma.hm1: SD > 100 on the log scale
    with pytest.warns(mmreg.MMWarning, match="hm1 draws overflow"):
        vd = res.var_decomp(uncertainty=uncertainty)
    spread = vd.drop(columns=["variance", "icc"])
    assert spread.shape[1] in (2, 4) and spread.isna().all().all()
    assert np.isfinite(vd[["variance", "icc"]].to_numpy()).all()


def test_var_decomp_spread_of_a_regular_laplace_fit_is_finite():
    df = mmreg.datasets.simulate_coalitions(
        n_groups=300, n_members=100, n_countries=30, seed=3, **{"sigma.mm1": 1.5, "sigma.hm1": 1.0}
    )
    res = mmreg.MMModel(df.attrs["formula"], df).fit()
    assert res.raw.hessian_ok
    with warnings.catch_warnings():
        warnings.simplefilter("error", mmreg.MMWarning)
        vd = res.var_decomp()
    assert np.isfinite(vd.to_numpy()).all() and (vd["icc_sd"] > 0).all()


# --------------------------------------------------------------------------- DIC
@pytest.mark.parametrize("shape", [(2, 100, 20), (4, 64, 10), (1, 400, 8), (3, 225, 4)])
def test_dic_mc_se_matches_closed_form_on_iid_draws(shape):
    """D = 100 + 2Z: DIC ≈ mean(D + 2Z²), whose draws have variance 4 + 8 = 12, so the MC
    SE is √(12/N); the autocorrelation-time estimate on ≥ 64 steps is within ±40%."""
    rng = np.random.default_rng(sum(shape))
    d = 100 + 2 * rng.standard_normal(shape)
    value, se = dic(d)
    flat = d.reshape(-1)
    assert value == pytest.approx(flat.mean() + flat.var(ddof=1) / 2, rel=1e-14)
    assert se / np.sqrt(12 / flat.size) == pytest.approx(1.0, abs=0.4)


def test_dic_mc_se_accounts_for_autocorrelation():
    """Every step repeated 10 times (autocorrelated draws): 10x the draws but the same
    information, so the SE must stay that of the original steps — an iid formula
    sd/√N would be √10 ≈ 3.2 times too small."""
    rng = np.random.default_rng(3)
    base = 100 + 2 * rng.standard_normal((2, 100, 20))
    sticky = np.repeat(base, 10, axis=1)
    se_base, se_sticky = dic(base)[1], dic(sticky)[1]
    assert se_sticky / se_base == pytest.approx(1.0, abs=0.35)
    g = sticky + (sticky - sticky.mean()) ** 2 / 2
    naive = g.std() / np.sqrt(g.size)
    assert se_sticky / naive > 2.0


@pytest.mark.parametrize("shape", [(1, 3, 5), (3, 1, 5), (1, 1, 100)])
def test_dic_se_undefined_with_too_few_steps(shape):
    d = 100 + np.random.default_rng(0).standard_normal(shape)
    value, se = dic(d)
    assert np.isnan(se) and np.isfinite(value)


def test_dic_se_of_constant_deviance_is_zero():
    assert dic(np.full((2, 10, 4), 50.0)) == (50.0, 0.0)


@pytest.mark.parametrize(
    ("se", "digits"),
    [(12.0, 0), (1.2, 1), (0.35, 2), (0.05, 3), (1e-9, 3), (float("nan"), 3), (0.0, 3)],
)
def test_mc_digits(se, digits):
    assert mc_digits(se) == digits


def test_summary_prints_dic_to_its_mc_precision():
    res = _fit_family("gaussian", "mcmc")
    line = next(ln for ln in res.summary().as_text().splitlines() if "DIC:" in ln)
    m = re.search(r"DIC:\s+(-?[\d.]+) \(MC SE ([\d.]+)\)", line)
    assert m, line
    value, se = m.groups()
    d = mc_digits(res.dic_se)
    assert len(value.partition(".")[2]) == d == len(se.partition(".")[2])
    assert float(value) == pytest.approx(res.dic, abs=10.0**-d)
    assert float(se) == pytest.approx(res.dic_se, abs=10.0**-d)
    assert res.dic_se > 0


# --------------------------------------------------------------------------- warnings
@cache
def _flat_model():
    # sigma.mm1 is estimated at ~0 on these data: the Laplace curvature is flat there
    df = mmreg.datasets.simulate_coalitions(n_groups=60, n_members=60, n_countries=6, seed=2)
    return mmreg.MMModel(df.attrs["formula"], df)


@pytest.mark.parametrize("method", ["laplace", "mcmc"])
def test_consider_mcmc_advice_only_for_laplace_fits(method):
    kw = {"draws": 50, "tune": 20, "chains": 2, "seed": 1} if method == "mcmc" else {}
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        _flat_model().fit(method=method, **kw)
    advice = [w for w in rec if "Consider fit(method='mcmc')" in str(w.message)]
    assert len(advice) == (1 if method == "laplace" else 0)
    if advice:
        assert issubclass(advice[0].category, mmreg.MMWarning)
        assert "sigma.mm1" in str(advice[0].message)
