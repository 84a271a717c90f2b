"""Fuzzing ``MMModel(formula, data)`` with malformed DataFrames (hypothesis).

Contract (SPEC §6): whatever the data, building a model either succeeds or raises
``MMSpecError``/``MMDataError`` — never ``KeyError``, ``TypeError``, ``IndexError``,
``AttributeError``, numpy/pandas/patsy errors — and the user's DataFrame is never modified
(values, dtypes, index, column labels and ``attrs``, compared with a deep copy taken before).

The frames are a small simulated coalition data set mutated by one to three random
operations: dropped columns, NaN/None/pd.NA cells, strings in numeric columns, ±inf cells,
duplicated rows, no rows, object/bool/category/string/datetime/nullable dtypes, a constant
index.  Four models cover the outcome kinds (Gaussian with an estimated weight function and
a country RE, Weibull ``Surv()`` with country FE, binomial with unnormalised data weights,
clogit with ``strata()``).  ``derandomize=True`` with a bounded number of examples keeps the
file fast and reproducible.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mmreg

MODELS = {
    "gaussian": "y ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
    "fn = fn(w ~ 1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat))), c = TRUE), RE = TRUE) "
    '+ hm(id = id(cid), type = "RE")',
    "weibull": "Surv(dur, event) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
    'fn = fn(w ~ 1/n, c = TRUE), RE = TRUE) + hm(id = id(cid), type = "FE")',
    "binomial": "y01 ~ 1 + mwc + mm(id = id(pid, gid), vars = vars(rile), "
    "fn = fn(w ~ pseat, c = FALSE), RE = FALSE)",
    "clogit": "chosen ~ majority + mm(id = id(pid, gid), vars = vars(finance), "
    "fn = fn(w ~ 1/n, c = TRUE), RE = TRUE) + strata(opportunity)",
}
USED = [
    "gid",
    "pid",
    "cid",
    "y",
    "y01",
    "dur",
    "event",
    "chosen",
    "opportunity",
    "majority",
    "mwc",
    "finance",
    "rile",
    "pseat",
]
OPS = [
    "drop",
    "nan",
    "none",
    "na",
    "string",
    "inf",
    "duplicate_rows",
    "empty",
    "object",
    "bool",
    "category",
    "str",
    "datetime",
    "constant_index",
]


def _base() -> pd.DataFrame:
    df = mmreg.datasets.simulate_coalitions(
        n_groups=16, n_members=10, n_countries=2, family="clogit", seed=1
    )
    df.attrs = {"source": "fuzz"}  # small attrs, compared afterwards
    df["y01"] = (df["y"] > df["y"].median()).astype(np.int64)
    return df


BASE = _base()


def _apply(df: pd.DataFrame, op: str, col: str, rows: list[int]) -> pd.DataFrame:
    """One malformation (on a copy)."""
    df = df.copy()
    if col not in df.columns or len(df) == 0:
        return df
    at = df.index[[r % len(df) for r in rows]]
    if op == "drop":
        return df.drop(columns=[col])
    if op == "nan":
        df[col] = df[col].astype(float) if df[col].dtype.kind in "biuf" else df[col]
        df.loc[at, col] = np.nan
    elif op in ("none", "string"):
        df[col] = df[col].astype(object)
        df.loc[at, col] = None if op == "none" else "abc"
    elif op == "na":
        if df[col].dtype.kind in "iuf":
            df[col] = df[col].astype("Float64" if df[col].dtype.kind == "f" else "Int64")
            df.loc[at, col] = pd.NA
    elif op == "inf":
        if df[col].dtype.kind in "iuf":
            df[col] = df[col].astype(float)
            df.loc[at, col] = np.inf if rows[0] % 2 else -np.inf
    elif op == "duplicate_rows":
        return pd.concat([df, df.loc[at]])
    elif op == "empty":
        return df.iloc[:0]
    elif op == "object":
        df[col] = df[col].astype(object)
    elif op == "bool":
        if df[col].dtype.kind in "biuf":
            df[col] = df[col] > df[col].median()
    elif op == "category":
        df[col] = df[col].astype("category")
    elif op == "str":
        df[col] = df[col].astype(str)
    elif op == "datetime":
        df[col] = pd.to_datetime(np.arange(len(df)), unit="D")
    elif op == "constant_index":
        df.index = np.zeros(len(df), dtype=np.int64)
    return df


mutation = st.tuples(
    st.sampled_from(OPS),
    st.sampled_from(USED),
    st.lists(st.integers(0, 10_000), min_size=1, max_size=3),
)


def _build(family: str, df: pd.DataFrame):
    """Build the model; return the exception raised (None on success)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings are allowed; only exceptions matter
        try:
            mmreg.MMModel(MODELS[family], df, family=family)
        except (mmreg.MMSpecError, mmreg.MMDataError) as err:
            return err
    return None


@pytest.mark.parametrize("family", list(MODELS))
@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(ops=st.lists(mutation, min_size=1, max_size=3))
def test_malformed_frames_raise_only_mmreg_errors_and_are_not_modified(family, ops):
    df = BASE
    for op in ops:
        df = _apply(df, *op)
    before = df.copy(deep=True)
    attrs = dict(df.attrs)
    err = _build(family, df)  # any other exception type fails the test
    if err is not None:
        assert str(err)  # a message to act on
    pd.testing.assert_frame_equal(df, before, check_exact=True)
    assert list(df.columns) == list(before.columns) and df.index.equals(before.index)
    assert df.attrs == attrs


@pytest.mark.parametrize("family", list(MODELS))
def test_unmodified_base_frame_builds(family):
    """Control: the base data are valid for every model, so errors above come from the
    mutations."""
    assert _build(family, BASE.copy()) is None


@pytest.mark.parametrize(
    ("op", "col", "message"),
    [
        ("drop", "pseat", "pseat"),
        ("nan", "finance", "finance"),
        ("string", "majority", "majority"),
        ("inf", "y", "y"),
        ("empty", "y", "no rows"),
        ("duplicate_rows", "pid", "more than once"),
    ],
)
def test_typical_malformations_are_named(op, col, message):
    """Hand-picked cases with the column (or problem) the message must name."""
    err = _build("gaussian", _apply(BASE, op, col, [0, 5]))
    assert isinstance(err, (mmreg.MMSpecError, mmreg.MMDataError))
    assert message in str(err)


# ------------------------------------------------------------------ known gaps (xfail)
@pytest.mark.parametrize("dup", ["gid", "pid", "y", "cid", "majority", "finance"])
def test_duplicate_column_names_are_a_data_error(dup):
    df = BASE.copy()
    # an unused group-level integer column renamed like a used one
    df.columns = [dup if c == "investiture" else c for c in df.columns]
    before = df.copy(deep=True)
    with pytest.raises(mmreg.MMDataError, match=dup):
        mmreg.MMModel(MODELS["gaussian"], df)
    pd.testing.assert_frame_equal(df, before)


def test_unknown_weight_column_with_non_string_column_labels():
    df = BASE.assign(extra=1.0).rename(columns={"extra": 0})
    with pytest.raises(mmreg.MMSpecError, match="pseatt"):
        mmreg.MMModel(MODELS["gaussian"].replace("pseat", "pseatt"), df)
