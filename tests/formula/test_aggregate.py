"""Aggregations ``fn(type, ...)`` / ``fn(~ E(...))`` (SPEC §8): values, exact weight
derivatives, the DSL, and bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import mmreg
from mmreg.errors import MMDataError, MMSpecError
from mmreg.formula.aggregate import compile_aggregation, near_miss

RNG = np.random.default_rng(0)
GROUP = np.repeat(np.arange(6), [2, 3, 1, 4, 2, 5])
R = len(GROUP)
X = RNG.uniform(0.5, 2.0, R)
Z = RNG.normal(size=R)
W = RNG.uniform(0.2, 1.0, R)
DATA = {"x": X, "z": Z}

#: (type, vars, shapes, DSL spelling)
TYPES = [
    ("sum", ("x",), {}, "E(x)"),
    ("var", ("x",), {}, "E((x - E(x))^2)"),
    ("var", ("x",), {"moment": 3}, "E((x - E(x))^3)"),
    ("hhi", (), {}, "E(w)"),
    ("effn", (), {}, "1 / E(w)"),
    ("entropy", (), {}, "-E(log(w))"),
    ("threshold", ("x",), {"c": 1.0}, "E(ilogit(10 * (x - 1)))"),
    ("threshold", ("x",), {"c": 1.2, "kappa": 3}, "E(ilogit(3 * (x - 1.2)))"),
    ("smax", ("x",), {"kappa": 2.0}, "log(E(exp(2 * x))) / 2"),
    ("smax", ("x",), {"kappa": -1.5}, "log(E(exp(-1.5 * x))) / -1.5"),
    ("gmean", ("x",), {"p": 0.5}, "E(x^0.5)^(1 / 0.5)"),
    ("gmean", ("x",), {"p": -1}, "pow(E(pow(x, -1)), -1)"),
    ("cov", ("x", "z"), {}, "E((x - E(x)) * (z - E(z)))"),
]
IDS = [f"{t[0]}{i}" for i, t in enumerate(TYPES)]


def _reference(kind: str, shapes: dict) -> np.ndarray:
    """The feature computed directly with numpy, from the definitions in SPEC §8."""

    def gsum(v):
        return np.bincount(GROUP, v)

    wn = W / gsum(W)[GROUP]
    a = gsum(wn * X)
    kappa = shapes.get("kappa", 10.0)
    return {
        "sum": a,
        "var": gsum(wn * (X - a[GROUP]) ** shapes.get("moment", 2)),
        "hhi": gsum(wn**2),
        "effn": 1 / gsum(wn**2),
        "entropy": -gsum(wn * np.log(wn)),
        "threshold": gsum(wn / (1 + np.exp(-kappa * (X - shapes.get("c", 0))))),
        "smax": np.log(gsum(wn * np.exp(kappa * X))) / kappa,
        "gmean": gsum(wn * X ** shapes.get("p", 1)) ** (1 / shapes.get("p", 1)),
        "cov": gsum(wn * (X - a[GROUP]) * (Z - gsum(wn * Z)[GROUP])),
    }[kind]


@pytest.mark.parametrize(("kind", "variables", "shapes", "dsl"), TYPES, ids=IDS)
def test_values_and_dsl(kind, variables, shapes, dsl):
    agg = compile_aggregation(
        kind, block="mm1", variables=variables, shapes=shapes, columns=["x", "z"]
    )
    feature, _ = agg.evaluate(W, DATA, GROUP, 6)
    np.testing.assert_allclose(feature, _reference(kind, shapes), rtol=1e-12, atol=1e-14)
    mine = compile_aggregation("expr", block="mm1", expr=dsl, columns=["x", "z"])
    np.testing.assert_allclose(mine.evaluate(W, DATA, GROUP, 6)[0], feature, rtol=1e-12, atol=1e-14)
    assert mine.coef == "mm1.fn"
    assert agg.coef == ("mm1.x" if kind == "sum" else f"mm1.{kind}({', '.join(variables)})")


@pytest.mark.parametrize(("kind", "variables", "shapes", "dsl"), TYPES, ids=IDS)
def test_weight_derivatives_match_finite_differences(kind, variables, shapes, dsl):
    agg = compile_aggregation(
        kind, block="mm1", variables=variables, shapes=shapes, columns=["x", "z"]
    )
    _, grad = agg.evaluate(W, DATA, GROUP, 6, derivative=True)
    h = 1e-6
    for r in range(R):
        e = np.zeros(R)
        e[r] = h
        up = agg.evaluate(W + e, DATA, GROUP, 6)[0][GROUP[r]]
        down = agg.evaluate(W - e, DATA, GROUP, 6)[0][GROUP[r]]
        assert grad[r] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-8)


def test_nested_dsl_derivative_and_pickle():
    agg = compile_aggregation(
        "expr", block="mm2", expr="exp(E(log(x) * E(z))) + E(w * x)^2", columns=["x", "z"]
    )
    v, g = agg.evaluate(W, DATA, GROUP, 6, derivative=True)
    again = pickle.loads(pickle.dumps(agg))
    assert again == agg
    np.testing.assert_array_equal(again.evaluate(W, DATA, GROUP, 6)[0], v)
    e = np.zeros(R)
    e[4] = 1e-6
    num = agg.evaluate(W + e, DATA, GROUP, 6)[0] - agg.evaluate(W - e, DATA, GROUP, 6)[0]
    assert g[4] == pytest.approx(num[GROUP[4]] / 2e-6, rel=1e-6)


def test_dsl_errors_have_a_caret():
    with pytest.raises(MMSpecError) as info:
        compile_aggregation("expr", block="mm1", expr="E(x) + x", columns=["x"])
    msg = str(info.value)
    assert "outside E()" in msg and "E(x) + x\n           ^" in msg
    with pytest.raises(MMSpecError, match="no E"):
        compile_aggregation("expr", block="mm1", expr="1 + 2", columns=["x"])
    with pytest.raises(MMSpecError, match=r"sqrt\(\) is not allowed"):
        compile_aggregation("expr", block="mm1", expr="E(sqrt(x))", columns=["x"])
    with pytest.raises(MMSpecError, match="syntax error"):
        compile_aggregation("expr", block="mm1", expr="E(x))", columns=["x"])
    with pytest.raises(MMSpecError, match="did you mean cohesion"):
        compile_aggregation("expr", block="mm1", expr="E(cohesoin)", columns=["cohesion"])
    with pytest.raises(MMSpecError, match="mm1.fn.kappa.*estimate=False"):
        compile_aggregation("expr", block="mm1", expr="E(ilogit(kappa * x))", columns=["x"])
    fixed = compile_aggregation(
        "expr", block="mm1", expr="E(ilogit(kappa * x))", shapes={"kappa": 2.0}, columns=["x"]
    )
    assert fixed.variables == ("x",)


def test_near_miss():
    cols = ["pseat", "finance", "majority", "y"]
    assert near_miss("pseats", cols) == "pseat"
    assert near_miss("fnance", cols) == "finance"
    assert near_miss("majoirty", cols) == "majority"
    assert near_miss("gamma", cols) is None and near_miss("g", cols) is None


# ----------------------------------------------------------------- in a model
@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    df = mmreg.datasets.simulate_coalitions(
        n_groups=200, n_members=80, seed=5, member_re=False, country_re=False
    )
    df["pos"] = df["pseat"] + 0.1
    return df


BASE = "y ~ 1 + majority + mm(id = id(pid, gid), vars = {v}, w = w(~ pseat), fn = {fn})"


@pytest.mark.parametrize(
    ("v", "named", "dsl"),
    [
        ("vars(finance)", 'fn("var")', "fn(~ E((finance - E(finance))^2))"),
        ("NULL", 'fn("hhi")', "fn(~ E(w))"),
        ("NULL", 'fn("entropy")', "fn(~ -E(log(w)))"),
        ("vars(finance)", 'fn("smax", kappa = 2)', "fn(~ log(E(exp(k * finance))) / k, k = 2)"),
        ("vars(pos)", 'fn("gmean", p = 2)', "fn(~ E(pos^2)^(1/2))"),
        (
            "vars(finance + majority)",
            'fn("cov")',
            "fn(~ E((finance - E(finance)) * (majority - E(majority))))",
        ),
    ],
)
def test_dsl_spelling_gives_identical_fits(sim, v, named, dsl):
    r1 = mmreg.MMModel(BASE.format(v=v, fn=named), sim, family="gaussian").fit()
    r2 = mmreg.MMModel(BASE.format(v=v, fn=dsl), sim, family="gaussian").fit()
    np.testing.assert_allclose(r1.params.to_numpy(), r2.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(r1.bse.to_numpy(), r2.bse.to_numpy(), rtol=1e-9)
    assert r2.params.index[2] == "mm1.fn"


def test_aggregation_models_pickle_and_predict(sim):
    model = mmreg.MMModel(BASE.format(v="vars(finance)", fn='fn("var")'), sim, family="gaussian")
    res = model.fit()
    assert "mm1.var(finance)" in res.params.index
    back = pickle.loads(pickle.dumps(res))
    pd.testing.assert_series_equal(back.params, res.params)


def test_data_errors(sim):
    bad = sim.assign(neg=sim["finance"])
    with pytest.raises(MMDataError, match=r'fn\("gmean"\) of mm1.*must be positive'):
        mmreg.MMModel(BASE.format(v="vars(neg)", fn='fn("gmean", p = 2)'), bad, family="gaussian")
    # estimated shapes and aggregations with estimated weights (tests/formula/test_aggregate_est)
    est = mmreg.MMModel(
        BASE.format(v="vars(finance)", fn='fn("smax", kappa = est())'), sim, family="gaussian"
    )
    assert "mm1.fn.kappa" in est.design.weight_names
    est_w = (
        "y ~ 1 + mm(id = id(pid, gid), vars = vars(finance), "
        'w = w(~ exp(gamma * pseat)), fn = fn("var"))'
    )
    assert mmreg.MMModel(est_w, sim, family="gaussian").design.weight_names == ("mm1.w.gamma",)
    # fn("sum") with estimated weights is the 0.9 model
    ok = est_w.replace('fn("var")', 'fn("sum")')
    assert mmreg.MMModel(ok, sim, family="gaussian").design.weight_names == ("mm1.w.gamma",)
