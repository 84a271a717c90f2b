"""#13 class 4: column types a formula would silently misread.

Every bad type raises MMDataError naming the column and an offending value, wherever the
column is used; booleans are 0/1 covariates; a categorical in ``vars()`` under normalised
weights (or in ``hm(vars=)``) gets reference coding and equals the reference-coded OLS.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import mmreg
from mmreg import MMDataError, MMWarning

MM = "mm(id = id(pid, gid), vars = vars({v}), fn = fn(w ~ 1/n, c = TRUE), RE = FALSE)"
PLACES = {
    "main terms": "y ~ 1 + majority + {v}",
    "vars() of mm1": "y ~ 1 + majority + " + MM,
    "vars() of hm1": "y ~ 1 + majority + "
    + MM.format(v="finance")
    + " + hm(id = id(cid), vars = vars({v}), type = 'RE')",
}


@pytest.fixture(scope="module")
def coal() -> pd.DataFrame:
    return mmreg.datasets.simulate_coalitions(n_groups=40, n_members=25, n_countries=5, seed=3)


def _per_group(df: pd.DataFrame, values: list) -> pd.Series:
    """A column constant within governments (valid in every place) built from ``values``."""
    gids = np.sort(df["gid"].unique())
    lookup = {g: values[i % len(values)] for i, g in enumerate(gids)}
    return pd.Series([lookup[g] for g in df["gid"]], index=df.index, dtype=object)


# (kind, builder of the bad column, message fragments)
def _mixed(df):
    s = _per_group(df, [1.5, 2.0, 3.25, 4.0])
    s[df["gid"] == df["gid"].iloc[0]] = "n/a"  # every row of one government
    return s


BAD = {
    "mixed number and string": (
        _mixed,
        ["mixes values of different types", "'n/a'", "pd.to_numeric"],
    ),
    "numbers as strings": (
        lambda df: _per_group(df, ["1.5", "2", "3.25", "4"]),
        ["numbers stored as strings", "pd.to_numeric"],
    ),
    "datetime64": (
        lambda df: pd.to_datetime(_per_group(df, ["2020-01-01", "2021-06-30"])),
        ["dates/times", "2020-01-01"],
    ),
    "tz-aware datetime": (
        lambda df: pd.to_datetime(_per_group(df, ["2020-01-01", "2021-06-30"])).dt.tz_localize(
            "UTC"
        ),
        ["dates/times", "2020-01-01"],
    ),
    "timedelta": (lambda df: pd.to_timedelta(_per_group(df, [1, 2, 3]), unit="D"), ["dates/times"]),
    "python datetime objects": (
        lambda df: _per_group(df, [dt.date(2020, 1, 1), dt.date(2021, 1, 1)]),
        ["dates/times", "2020-01-01"],
    ),
    "decimal objects": (
        lambda df: _per_group(df, [decimal.Decimal("1.5"), decimal.Decimal("2.5")]),
        ["Python objects", "pd.to_numeric"],
    ),
    "interval objects": (
        lambda df: _per_group(df, [pd.Interval(0, 1), pd.Interval(1, 2)]),
        ["Interval", "(0, 1]"],
    ),
    "period": (
        lambda df: pd.Series(
            pd.PeriodIndex(pd.to_datetime(_per_group(df, ["2020-01-01", "2021-06-30"])), freq="M"),
            index=df.index,
        ),
        ["dates/times"],
    ),
}


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("kind", list(BAD))
def test_bad_column_type_is_named(coal, kind, place):
    build, fragments = BAD[kind]
    df = coal.assign(bad=build(coal))
    before = df.copy()
    with pytest.raises(MMDataError) as exc:
        mmreg.MMModel(PLACES[place].format(v="bad"), df)
    msg = str(exc.value)
    assert "'bad'" in msg and place in msg, msg
    for frag in fragments:
        assert frag in msg, msg
    pd.testing.assert_frame_equal(df, before)  # the user's data are never modified


@pytest.mark.parametrize(
    "kind", ["mixed number and string", "numbers as strings", "datetime64", "decimal objects"]
)
def test_bad_type_in_weight_function(coal, kind):
    df = coal.assign(bad=BAD[kind][0](coal))
    f = (
        "y ~ 1 + mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ exp(b1 * bad), "
        "c = TRUE), RE = FALSE)"
    )
    with pytest.raises(MMDataError, match=r"'bad'.*fn\(\) of mm1"):
        mmreg.MMModel(f, df)


@pytest.mark.parametrize("kind", ["mixed number and string", "numbers as strings"])
def test_bad_type_in_outcome(coal, kind):
    df = coal.assign(y=BAD[kind][0](coal))
    with pytest.raises(MMDataError, match=r"'y' \(outcome\)"):
        mmreg.MMModel("y ~ 1 + majority", df)


# ------------------------------------------------------------------ group-level OLS twins
def _groups(df: pd.DataFrame) -> pd.DataFrame:
    return df.groupby("gid").first().sort_index()


def _ols(y: pd.Series, X: pd.DataFrame) -> pd.Series:
    return sm.OLS(y.to_numpy(float), sm.add_constant(X.astype(float))).fit().params.to_numpy()


# With N(0, 1e4) priors on the coefficients the prior moves an estimate by about
# (posterior SD / prior SD)^2 ~ 1e-8 of its SE (measured: 5e-8 SE here); rtol 1e-5 allows that.
RTOL = 1e-5


def _wide(formula: str, df: pd.DataFrame, **priors) -> mmreg.MMModel:
    """The model with (nearly) flat N(0, 1e4) priors on every coefficient."""
    names = mmreg.MMModel(formula, df).design.coef_names
    return mmreg.MMModel(
        formula, df, priors={**{n: mmreg.priors.Normal(0, 1e4) for n in names}, **priors}
    )


@pytest.mark.parametrize("dtype", ["bool", "boolean", "object-bool"])
def test_boolean_member_column_is_one_0_1_covariate(coal, dtype):
    b = coal["finance"] > 0
    col = {"bool": b, "boolean": b.astype("boolean"), "object-bool": b.astype(object)}[dtype]
    df = coal.assign(b=col)
    res = _wide("y ~ 1 + majority + " + MM.format(v="b"), df).fit()
    assert list(res.params.index[:3]) == ["Intercept", "majority", "mm1.b"]
    share = b.astype(float).groupby(coal["gid"]).mean().sort_index()
    g = _groups(coal)
    ref = _ols(g["y"], pd.DataFrame({"majority": g["majority"], "b": share}))
    np.testing.assert_allclose(res.params.iloc[:3], ref, rtol=RTOL)
    assert df["b"].dtype == col.dtype  # untouched


def test_boolean_main_term_is_one_0_1_covariate(coal):
    df = coal.assign(flag=coal["majority"].astype(bool))
    res = _wide("y ~ 1 + flag", df).fit()  # no mm(): one observation per row
    assert "flag" in res.params.index
    np.testing.assert_allclose(
        res.params[["Intercept", "flag"]], _ols(coal["y"], coal[["majority"]]), rtol=RTOL
    )


def test_boolean_column_with_missing_value_is_named(coal):
    b = (coal["finance"] > 0).astype(object)
    b.iloc[0] = None
    with pytest.raises(MMDataError, match=r"'b'.*missing"):
        mmreg.MMModel("y ~ 1 + " + MM.format(v="b"), coal.assign(b=b))


@pytest.mark.parametrize("dtype", ["str", "category"])
def test_categorical_in_vars_under_c_true_drops_reference_level(coal, dtype):
    lev = np.where(coal["finance"] > 0.5, "high", np.where(coal["finance"] < -0.5, "low", "mid"))
    df = coal.assign(lev=pd.Series(lev, index=coal.index).astype(dtype))
    res = _wide("y ~ 1 + majority + " + MM.format(v="lev"), df).fit()
    assert list(res.params.index[:4]) == [
        "Intercept",
        "majority",
        "mm1.lev[T.low]",
        "mm1.lev[T.mid]",
    ]
    shares = (
        pd.get_dummies(pd.Series(lev, index=coal.index), dtype=float)
        .groupby(coal["gid"])
        .mean()
        .sort_index()
    )
    g = _groups(coal)
    X = pd.concat([g[["majority"]], shares[["low", "mid"]]], axis=1)
    np.testing.assert_allclose(res.params.iloc[:4], _ols(g["y"], X), rtol=RTOL)
    assert res.bse.iloc[:4].max() < 5  # a full dummy set gave SEs near the prior's (57.7)


def test_categorical_in_hm_vars_drops_reference_level(coal):
    region = {
        c: "north" if c % 3 == 0 else ("south" if c % 3 == 1 else "east")
        for c in coal["cid"].unique()
    }
    df = coal.assign(region=coal["cid"].map(region))
    f = "y ~ 1 + majority + hm(id = id(cid), vars = vars(region), type = 'FE')"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MMWarning)  # region is constant within cid FEs
        res = mmreg.MMModel(f, df).fit()
    names = [n for n in res.params.index if n.startswith("hm1.region")]
    assert names == ["hm1.region[T.north]", "hm1.region[T.south]"]


def test_categorical_in_hm_vars_equals_ols(coal):
    region = {
        c: "north" if c % 3 == 0 else ("south" if c % 3 == 1 else "east")
        for c in coal["cid"].unique()
    }
    df = coal.assign(region=coal["cid"].map(region))
    # no mm(): every row is an observation; sigma.hm1 fixed ~0 leaves the OLS of the rows
    res = _wide(
        "y ~ 1 + majority + hm(id = id(cid), vars = vars(region), type = 'RE')",
        df,
        **{"sigma.hm1": mmreg.priors.Fixed(1e-6)},
    ).fit()
    assert list(res.params.index[2:4]) == ["hm1.region[T.north]", "hm1.region[T.south]"]
    X = pd.concat(
        [df[["majority"]], pd.get_dummies(df["region"], dtype=float)[["north", "south"]]], axis=1
    )
    np.testing.assert_allclose(res.params.iloc[:4], _ols(df["y"], X), rtol=RTOL)


@pytest.mark.parametrize("place", ["main terms", "vars() of mm1"])
def test_many_levels_warn(coal, place):
    if place == "main terms":  # a level per government
        df = coal.assign(code="g" + coal["gid"].astype(str))
        f = "y ~ 1 + code + " + MM.format(v="finance")
    else:  # a level per party
        df = coal.assign(code="p" + coal["pid"].astype(str))
        f = "y ~ 1 + " + MM.format(v="code")
    with pytest.warns(MMWarning, match=rf"'code' \({re.escape(place)}\) has \d+ distinct"):
        mmreg.MMModel(f, df)


@pytest.mark.parametrize("codes", ["strings", "python ints"])
def test_numeric_codes_declared_categorical_with_c_are_accepted(coal, codes):
    conv = {"strings": lambda s: s.astype(str), "python ints": lambda s: s.astype(object)}
    f = "y ~ 1 + C(code) + " + MM.format(v="finance")
    ref = mmreg.MMModel(f, coal.assign(code=coal["investiture"] + 2 * coal["mwc"])).fit()
    df = coal.assign(code=conv[codes](coal["investiture"] + 2 * coal["mwc"]))
    res = mmreg.MMModel(f, df).fit()
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-10)
    assert len(res.params) == len(ref.params) > 4


@pytest.mark.parametrize("ids", ["strings", "floats", "datetimes", "tuples"])
def test_id_columns_may_be_any_hashable_type(coal, ids):
    conv = {
        "strings": lambda s: "id-" + s.astype(str),
        "floats": lambda s: s + 0.5,
        "datetimes": lambda s: pd.Timestamp("2000-01-01") + pd.to_timedelta(s, "D"),
        "tuples": lambda s: pd.Series([(int(v), "x") for v in s], index=s.index),
    }[ids]
    f = "y ~ 1 + majority + " + MM.format(v="finance").replace("RE = FALSE", "RE = TRUE")
    ref = mmreg.MMModel(f, coal).fit().params
    df = coal.assign(pid=conv(coal["pid"]), gid=conv(coal["gid"]))
    res = mmreg.MMModel(f, df).fit().params
    np.testing.assert_allclose(res.to_numpy(), ref.to_numpy(), rtol=1e-8)


def test_missing_id_is_still_an_error(coal):
    df = coal.assign(pid=coal["pid"].astype(object))
    df.loc[df.index[0], "pid"] = None
    df.loc[df.index[0], "gid"] = None
    with pytest.raises(MMDataError, match="'gid'"):
        mmreg.MMModel("y ~ 1 + " + MM.format(v="finance"), df)
