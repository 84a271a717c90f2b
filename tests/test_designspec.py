"""The design spec (#14): learned once on the training data, frozen, picklable, applied to any data.

* ``apply(design_spec, training_data)`` gives the training design's arrays exactly, whatever
  the row order; the spec survives pickling;
* ``predict`` on training rows returns the fitted values with ``center()``,
  ``standardize()`` and ``C()`` terms; a subset of levels works; an unseen member gets a zero
  random effect and an unseen category level is an :class:`~mmreg.MMDataError`;
* a model pickles through its design and design spec (no copy of the DataFrame).
"""

from __future__ import annotations

import dataclasses
import pickle
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest

import mmreg
from mmreg.design import apply, build_design
from mmreg.designspec import DesignSpec
from mmreg.errors import MMDataError
from mmreg.formula.parse import parse_formula

W = "fn = fn(w ~ 1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat))), c = TRUE)"
FORMULA = (
    "y ~ 1 + center(majority) + C(region) + fix(center(investiture), 0.5) + "
    f"mm(id = id(pid, gid), vars = vars(standardize(finance) + pfam), {W}, RE = TRUE) + "
    'hm(id = id(cid), vars = vars(center(cscore)), type = "RE")'
)
FORMULA_1N = (
    "y ~ 1 + center(majority) + C(region) + "
    "mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE) + "
    'hm(id = id(cid), type = "RE")'
)


@cache
def _data() -> pd.DataFrame:
    df = mmreg.datasets.simulate_coalitions(
        n_groups=60, n_members=30, n_countries=6, weights="estimated", seed=2
    )
    df["region"] = np.array(["north", "south", "west"])[df["cid"].to_numpy() % 3]
    df["cscore"] = 0.7 * df["cid"] + 1.0
    df["pfam"] = np.array(["A", "B", "C"])[df["pid"].to_numpy() % 3]
    return df


@cache
def _model(formula: str = FORMULA) -> mmreg.MMModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mmreg.MMModel(formula, _data())


@cache
def _fit(formula: str = FORMULA):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _model(formula).fit()


def _arrays(design, data: pd.DataFrame) -> dict:
    """Every array and name of a design; membership rows as the user's row labels."""
    out = {
        "group_ids": design.group_ids,
        "X": design.X,
        "offset": design.offset,
        "xnames": design.xnames,
        "coef_names": design.coef_names,
    }
    out.update({f"outcome.{k}": v for k, v in design.outcome.items()})
    theta = np.array([0.3, -1.2])
    for b in design.mm:
        for f in (
            "group",
            "member",
            "member_ids",
            "n",
            "X",
            "xnames",
            "fixed_offset",
            "wnames",
            "re_state",
            "re_labels",
        ):
            out[f"{b.label}.{f}"] = getattr(b, f)
        out[f"{b.label}.rows"] = data.index.to_numpy()[b.rows]
        w, dw = b.weights(theta[: len(b.wnames)])
        out[f"{b.label}.w"], out[f"{b.label}.dw"] = w, dw
    for h in design.hm:
        for f in (
            "unit",
            "unit_ids",
            "unit_labels",
            "Z",
            "znames",
            "fe",
            "fenames",
            "re_state",
            "re_labels",
            "fixed_offset",
        ):
            out[f"{h.label}.{f}"] = getattr(h, f)
    return out


def _assert_same(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for k in a:
        if isinstance(a[k], tuple):
            assert a[k] == b[k], k
        else:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k, strict=True)


def test_build_design_learns_a_frozen_spec():
    spec = _model().design.design_spec
    assert isinstance(spec, DesignSpec)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.family = "binomial"  # type: ignore[misc]
    wheres = {t.where for t in spec.terms}
    assert {"main terms", "vars() of mm1", "vars() of hm1", "fix() in the main terms"} <= wheres
    np.testing.assert_array_equal(spec.group_ids, np.unique(_data()["gid"]))
    np.testing.assert_array_equal(spec.member_ids[0], np.unique(_data()["pid"]))
    np.testing.assert_array_equal(spec.unit_ids[0], np.unique(_data()["cid"]))
    assert spec.weight_functions[0].params == ("b0", "b1")
    # each learned term keeps only the columns it uses
    assert {tuple(t.frame.columns) for t in spec.terms} == {
        ("majority", "region"),
        ("investiture",),
        ("finance", "pfam"),
        ("cscore",),
    }


def test_apply_to_training_data_reproduces_the_design_exactly():
    model = _model()
    again = apply(model.design.design_spec, _data(), outcome=True)
    _assert_same(_arrays(model.design, _data()), _arrays(again, _data()))


def test_row_order_never_changes_the_design():
    model = _model()
    shuffled = _data().sample(frac=1.0, random_state=3)
    via_spec = apply(model.design.design_spec, shuffled, outcome=True)
    relearned = build_design(parse_formula(FORMULA), shuffled)
    ref = _arrays(model.design, _data())
    _assert_same(ref, _arrays(via_spec, shuffled))
    _assert_same(ref, _arrays(relearned, shuffled))


def test_the_spec_pickles_and_applies_the_same_after_unpickling():
    spec = _model().design.design_spec
    blob = pickle.dumps(spec)
    back = pickle.loads(blob)
    assert isinstance(back, DesignSpec) and len(back.terms) == len(spec.terms)
    new = _data()[_data()["gid"].isin([3, 5, 8])]
    _assert_same(_arrays(apply(spec, new), new), _arrays(apply(back, new), new))


@pytest.mark.parametrize("formula", [FORMULA, FORMULA_1N])
@pytest.mark.parametrize("rows", ["one group", "some groups", "all shuffled", "one region"])
def test_predict_on_training_rows_equals_fitted_values(formula, rows):
    res = _fit(formula)
    d = _data()
    new = {
        "one group": d[d["gid"] == 7],
        "some groups": d[d["gid"].isin([1, 2, 20, 41])],
        "all shuffled": d.sample(frac=1.0, random_state=0),
        "one region": d[d["region"] == "west"],
    }[rows].drop(columns="y")
    fitted = res.predict(kind="linear")
    got = res.predict(new, kind="linear")
    assert list(got.index) == sorted(new["gid"].unique())
    # same design rows, same coefficients, a row-wise product: equal to the last bit (a
    # re-learned center()/standardize() would differ by ~1e-2)
    np.testing.assert_array_equal(got.to_numpy(), fitted.loc[got.index].to_numpy())
    resp = res.predict(new)
    np.testing.assert_array_equal(resp.to_numpy(), res.predict().loc[got.index].to_numpy())


def test_unseen_member_gets_a_zero_random_effect():
    res = _fit(FORMULA_1N)
    d = _data()
    g = int(d["gid"].iloc[0])
    rows = d[d["gid"] == g].drop(columns="y").copy()
    member = rows["pid"].iloc[0]
    rows.loc[rows.index[0], "pid"] = 10**6  # a member the model never saw
    re = res.random_effects["mm1"]["mean"]
    expected = res.predict(kind="linear")[g] - re[member] / len(rows)  # w = 1/n
    got = res.predict(rows, kind="linear")[g]
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_unseen_category_level_is_named():
    res = _fit(FORMULA)
    new = _data()[_data()["gid"] == 7].drop(columns="y").assign(region="nowhere")
    with pytest.raises(MMDataError, match="'region'.*'nowhere'"):
        res.predict(new)


def test_model_pickles_through_its_design_not_the_data():
    model = _model()
    blob = pickle.dumps(model)
    state = model.__getstate__()
    assert not any(isinstance(v, pd.DataFrame) for v in state.values())
    assert len(blob) < len(pickle.dumps(_data()))
    back = pickle.loads(blob)
    _assert_same(_arrays(model.design, _data()), _arrays(back.design, _data()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = model.fit(), back.fit()
    pd.testing.assert_series_equal(a.params, b.params, check_exact=True)
    pd.testing.assert_series_equal(a.bse, b.bse, check_exact=True)


def test_weights_plot_needs_no_data():
    res = pickle.loads(pickle.dumps(_fit(FORMULA)))
    fig = res.plot_weights("mm1")
    assert fig.axes[0].get_xlabel() == "pseat"
    blk = res.model.design.mm[0]
    np.testing.assert_array_equal(
        blk.covariate("pseat"), _data()["pseat"].to_numpy(float)[blk.rows]
    )
    np.testing.assert_array_equal(
        blk.covariate("pfam[T.B]"), blk.X[:, blk.xnames.index("mm1.pfam[T.B]")]
    )
    with pytest.raises(mmreg.MMSpecError, match="no member covariate 'rile'"):
        blk.covariate("rile")


def test_predict_on_new_data_after_unpickling_is_unchanged():
    # the learned patsy terms are rebuilt from the kept training columns after unpickling
    res = _fit(FORMULA)
    back = pickle.loads(pickle.dumps(res))
    new = _data()[_data()["region"] != "north"].drop(columns="y")
    new = new.assign(gid=new["gid"] + 1000, majority=new["majority"] * 0.5)
    pd.testing.assert_series_equal(res.predict(new), back.predict(new), check_exact=True)
    with pytest.raises(MMDataError, match="'nowhere'"):
        back.predict(new.assign(region="nowhere"))


def test_a_model_does_not_see_later_changes_to_the_users_data():
    df = _data().copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = mmreg.MMModel(FORMULA, df)
        before = model.fit().params
        for c in ("majority", "finance", "pseat", "cscore", "investiture", "y"):
            values = df[c].to_numpy()  # the frame's own buffer (pandas without copy-on-write)
            values *= 10  # changed in place, after the model was built
        df["region"] = "north"
        after = pickle.loads(pickle.dumps(model)).fit().params
    pd.testing.assert_series_equal(before, after, check_exact=True)
