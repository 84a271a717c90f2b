"""The bml 1.0 grammar (SPEC §8, issue #16): both spellings, block by block.

Every bml 0.9 formula of ``../shared/bml-formulas.md`` is rewritten in the 1.0 spelling
(``w = w(~ ..., scale = ...)``, ``RE = re(1)``, ``hm(RE = TRUE)``, ``FE = fe(1)``,
``labels =``); both give the same design (every array) and the same Laplace fit.
"""

from __future__ import annotations

import logging
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mmreg
from mmreg.errors import MMSpecError
from mmreg.formula.parse import parse_formula

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
COALGOV = SHARED / "data" / "coalgov.csv"

#: the 0.9 formulas of ../shared/bml-formulas.md on coalgov, with their families
FORMULAS_09 = [
    (
        "weibull",
        "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE)",
    ),  # noqa: E501
    (
        "weibull",
        "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat))), c = TRUE), RE = TRUE)",
    ),  # noqa: E501
    (
        "weibull",
        'Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE) + hm(id = id(cid), type = "RE")',
    ),  # noqa: E501
    (
        "weibull",
        "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ cohesion == max(cohesion)), RE = FALSE) + mm(id = id(pid, gid), vars = NULL, fn = fn(w ~ 1/n), RE = TRUE)",
    ),  # noqa: E501
    (
        "cox",
        "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ 1/n), RE = TRUE)",
    ),  # noqa: E501
    (
        "weibull",
        "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ ilogit(b0 + b1 * pseat), c = TRUE), RE = FALSE)",
    ),  # noqa: E501
    (
        "weibull",
        "Surv(dur_wkb, event_wkb) ~ 1 + fix(majority, 1) + mm(id = id(pid, gid), vars = vars(rile), fn = fn(w ~ 1/n, c = TRUE), RE = FALSE)",
    ),  # noqa: E501
    (
        "weibull",
        'Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ 1/n), RE = TRUE) + hm(id = id(cid), type = "RE") + hm(id = id(year), type = "RE")',
    ),  # noqa: E501
    (
        "weibull",
        "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(fix(cohesion, 1) + finance), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE)",
    ),  # noqa: E501
    (
        "weibull",
        'Surv(dur_wkb, event_wkb) ~ 1 + majority + hm(id = id(cid), name = cname, type = "FE", showFE = TRUE)',
    ),  # noqa: E501
    (
        "weibull",
        'Surv(dur_wkb, event_wkb) ~ 1 + majority + hm(id = id(cid), vars = vars(investiture), type = "RE", ar = TRUE)',
    ),  # noqa: E501
    (
        "weibull",
        "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = NULL, fn = fn(w ~ 1/n), RE = TRUE, ar = TRUE)",
    ),  # noqa: E501
    (
        "binomial",
        'event_wkb ~ 1 + majority + mwc + hm(id = id(cid), name = cname, type = "RE", showFE = F) + mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ 1 / n, c = TRUE))',
    ),  # noqa: E501
    (
        "binomial",
        'event_wkb ~ 1 + majority * mwc + mm(id = id(pid, gid), vars = vars(finance * cohesion), fn = fn(w ~ 1/n), RE = TRUE) + hm(id = id(cid), vars = vars(I(investiture^2)), type = "RE")',
    ),  # noqa: E501
    (
        "gaussian",
        "logdur ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ b1 * min(pseat) + (1 - b1) * max(pseat)), RE = FALSE)",
    ),  # noqa: E501
    (
        "gaussian",
        "logdur ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1 / (1 + (n - 1) * exp(-b0)), c = FALSE), RE = FALSE)",
    ),  # noqa: E501
    (
        "gaussian",
        "logdur ~ 0 + majority + mm(id = id(pid, gid), vars = vars(rile + I(rile^2)), fn = fn(w ~ quantile(pseat, 0.75) / max(pseat)), RE = FALSE)",
    ),  # noqa: E501
]


def to_10(formula: str) -> str:
    """The bml 1.0 spelling of a 0.9 formula (by text substitution)."""
    f = re.sub(
        r"fn = fn\(w ~ (.*?), c = (TRUE|FALSE)\)(?=, RE|\)\s*(?:\+|$))",
        r"w = w(~ \1, scale = \2)",
        formula,
    )
    f = re.sub(r"fn = fn\(w ~ (.*?)\)(?=, RE|\)\s*(?:\+|$))", r"w = w(~ \1)", f)
    f = f.replace("RE = TRUE, ar = TRUE", "RE = re(1, ar = TRUE)").replace(
        "RE = TRUE", "RE = re(1)"
    )
    f = f.replace('type = "RE", ar = TRUE', "RE = re(1, ar = TRUE)")
    f = f.replace('type = "RE", showFE = F', "RE = TRUE, showFE = F")
    f = f.replace('type = "RE"', "RE = TRUE")
    f = f.replace('type = "FE", showFE = TRUE', "FE = fe(1, showFE = TRUE)")
    return f.replace("name = cname", "labels = cname")


@pytest.fixture(scope="module")
def coalgov() -> pd.DataFrame:
    if not COALGOV.exists():
        pytest.skip(f"coalgov data not found at {COALGOV} (../shared is absent)")
    df = pd.read_csv(COALGOV)
    df["logdur"] = np.log(df["dur_wkb"])
    df["year"] = pd.to_datetime(df["election"]).dt.year
    return df


def _model(formula: str, family: str, df: pd.DataFrame) -> mmreg.MMModel:
    extra = {"cox_intervals": 10} if family == "cox" else {}
    return mmreg.MMModel(formula, df, family=family, **extra)


def _arrays(d) -> dict:
    """Every array and name of a design, by key."""
    out = {
        "X": d.X,
        "xnames": d.xnames,
        "offset": d.offset,
        "coef": d.coef_names,
        "gids": d.group_ids,
        **{f"y.{k}": v for k, v in d.outcome.items()},
    }
    for b in d.mm:
        theta = np.linspace(0.1, 0.5, len(b.wnames))
        w, dw = b.weights(theta)
        out |= {
            f"{b.label}.{k}": getattr(b, k)
            for k in (
                "rows",
                "group",
                "member",
                "n",
                "X",
                "xnames",
                "fixed_offset",
                "wnames",
                "re_state",
                "re_prev",
                "re_labels",
            )
        }
        out |= {f"{b.label}.w": w, f"{b.label}.dw": dw}
    for h in d.hm:
        out |= {
            f"{h.label}.{k}": getattr(h, k)
            for k in (
                "unit",
                "unit_labels",
                "Z",
                "znames",
                "fe",
                "fenames",
                "re_state",
                "re_prev",
                "re_labels",
                "fixed_offset",
            )
        }
    return out


def test_translation_changes_every_formula():
    for _, f in FORMULAS_09:
        assert "fn(w ~" not in to_10(f) and 'type = "' not in to_10(f)
        assert "c = TRUE" not in to_10(f)


@pytest.mark.parametrize(
    ("family", "formula"), FORMULAS_09, ids=[f"f{i}" for i in range(len(FORMULAS_09))]
)
def test_10_spelling_gives_the_same_design(coalgov, family, formula):
    old, new = _model(formula, family, coalgov), _model(to_10(formula), family, coalgov)
    a, b = _arrays(old.design), _arrays(new.design)
    assert a.keys() == b.keys()
    for k in a:
        va, vb = a[k], b[k]
        if isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
            if va is None or vb is None:
                assert va is vb, k
            else:
                np.testing.assert_array_equal(va, vb, err_msg=k)
        else:
            assert va == vb, k
    assert old.design.bml_names == new.design.bml_names


@pytest.mark.parametrize("i", [2, 12, 14])
def test_10_spelling_gives_the_same_laplace_fit(coalgov, i):
    family, formula = FORMULAS_09[i]
    r_old = _model(formula, family, coalgov).fit()
    r_new = _model(to_10(formula), family, coalgov).fit()
    pd.testing.assert_series_equal(r_old.params, r_new.params)
    pd.testing.assert_series_equal(r_old.bse, r_new.bse)


# ------------------------------------------------------------------ w() free parameters
def _sim(seed: int = 3) -> pd.DataFrame:
    return mmreg.datasets.simulate_coalitions(
        n_groups=150, n_members=80, seed=seed, member_re=False, country_re=False
    )


def test_free_symbols_are_weight_parameters(caplog):
    df = _sim()
    f = "y ~ 1 + mm(id = id(pid, gid), vars = vars(finance), w = w(~ exp(gamma * pseat)))"
    with caplog.at_level(logging.INFO, logger="mmreg"):
        model = mmreg.MMModel(f, df, family="gaussian")
    assert model.design.weight_names == ("mm1.w.gamma",)
    assert "mm1.w.gamma" in caplog.text
    res = model.fit()
    assert "mm1.w.gamma" in res.params.index
    # b's keep their names and come first; other symbols follow in order of appearance
    f2 = (
        "y ~ 1 + mm(id = id(pid, gid), vars = vars(finance), "
        "w = w(~ ilogit(b0 + b1 * pseat + delta * majority + alpha)))"
    )
    d2 = mmreg.MMModel(f2, df, family="gaussian").design
    assert d2.weight_names == ("mm1.w.b0", "mm1.w.b1", "mm1.w.delta", "mm1.w.alpha")
    pickle.loads(pickle.dumps(model))


def test_free_symbol_default_prior_is_the_weight_prior():
    df = _sim()
    ours = mmreg.MMModel(
        "y ~ 1 + mm(id = id(pid, gid), vars = vars(finance), w = w(~ exp(gamma * pseat)))",
        df,
        family="gaussian",
    )
    bml = mmreg.MMModel(
        "y ~ 1 + mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ exp(b1 * pseat)))",
        df,
        family="gaussian",
    )
    r1, r2 = ours.fit(), bml.fit()
    np.testing.assert_allclose(r1.params.to_numpy(), r2.params.to_numpy(), rtol=1e-10)


@pytest.mark.parametrize(
    ("expr", "column"),
    [
        ("exp(g * pseats)", "pseat"),
        ("exp(g * fnance)", "finance"),
        ("exp(g * majoirty)", "majority"),
    ],
)
def test_typo_of_a_column_is_an_error_not_a_parameter(expr, column):
    df = _sim()
    with pytest.raises(MMSpecError, match=f"did you mean {column}"):
        mmreg.MMModel(
            f"y ~ 1 + mm(id = id(pid, gid), vars = vars(finance), w = w(~ {expr}))",
            df,
            family="gaussian",
        )


def test_09_spelling_still_rejects_unknown_symbols():
    df = _sim()
    with pytest.raises(MMSpecError, match="unknown column 'gamma'"):
        mmreg.MMModel(
            "y ~ 1 + mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ exp(gamma * pseat)))",
            df,
            family="gaussian",
        )


# ------------------------------------------------------------------ parsing
MM = "y ~ 1 + mm(id = id(pid, gid), vars = vars(x)"


def test_parse_10_block():
    spec = parse_formula(
        "y ~ 1 + majority + mm(id = id(pid, gid), vars = vars(cohesion), "
        'w = w(~ 1/n, scale = FALSE), fn = fn("var", moment = 3), RE = re(1), name = "coal")'
        " + hm(id = id(cid), RE = re(1, ar = TRUE))"
    )
    b, h = spec.mm[0], spec.hm[0]
    assert (b.fn.expr, b.fn.normalize, b.fn.free) == ("1/n", False, True)
    assert (b.agg.kind, b.agg.variables, dict(b.agg.shapes)) == (
        "var",
        ("cohesion",),
        {"moment": 3.0},
    )
    assert b.re and not b.ar and b.name == "coal"
    assert (h.type, h.ar) == ("RE", True)
    assert parse_formula(MM + ', labels = "coal")').mm[0].name == "coal"
    assert parse_formula(MM + ', fn = fn("sum"))').mm[0].agg is None
    fe = parse_formula("y ~ hm(id = id(c), FE = fe(1, showFE = TRUE))").hm[0]
    assert (fe.type, fe.show_fe) == ("FE", True)


@pytest.mark.parametrize(
    ("tail", "needles"),
    [
        (", fn = fn(w ~ 1/n), w = w(~ 1/n))", ["fn(w ~ ..., c = ...)", "w = w(~ ..., scale"]),
        (", RE = re(1 + I(x)))", ["is not a column name", "re(1 + x)"]),
        (", RE = re(1, ar = 2 * year))", ["ar must be TRUE/FALSE", "re(1, ar = year)"]),
        (", RE = re(1, ar = year), ar = TRUE)", ["sets ar twice"]),
        (', fn = fn("mean"))', ["unknown aggregation type", "'sum'", "fn(~ E(...))"]),
        (', fn = fn("vra"))', ["unknown aggregation type", 'Did you mean "var"']),
        (', fn = fn("var", moment = 1))', ["'moment'", ">= 2"]),
        (', fn = fn("var", moment = est()))', ["'moment'", "not estimated"]),
        (', fn = fn("smax", kappa = 0))', ["kappa", "nonzero"]),
        (', fn = fn("smax"))', ["needs kappa"]),
        (', fn = fn("gmean", p = 0))', ['p of fn("gmean")', "nonzero"]),
        (', fn = fn("threshold", kappa = 5))', ["needs c"]),
        (', fn = fn("threshold", c = est(1, 0)))', ["lower must be below upper"]),
        (', fn = fn("cov"))', ["1 variable(s)", "exactly two variables"]),
        (', fn = fn("hhi"))', ["no variables (vars = NULL)"]),
        (', fn = fn("var", kappa = 2))', ["no argument 'kappa'", "moment"]),
        (", fn = fn(~ E(x), 3))", ["must be named"]),
        (', name = "a b")', ["simple name"]),
        (', name = "a", labels = "b")', ["both name = and labels ="]),
    ],
)
def test_bad_10_input_names_block_and_fix(tail, needles):
    with pytest.raises(MMSpecError) as info:
        parse_formula(MM + tail)
    for n in needles:
        assert n in str(info.value), f"{n!r} missing from {info.value}"
    assert "mm(" in str(info.value)


def test_hm_mixed_type_spellings():
    with pytest.raises(MMSpecError, match="mixes type = .*RE = / FE ="):
        parse_formula('y ~ hm(id = id(c), type = "RE", RE = TRUE)')
    with pytest.raises(MMSpecError, match="exactly one of random effects"):
        parse_formula("y ~ hm(id = id(c), RE = FALSE)")
    with pytest.raises(MMSpecError, match=r"fe\(1 \+ I\(x\)\).*not a column name"):
        parse_formula("y ~ hm(id = id(c), FE = fe(1 + I(x)))")
    with pytest.raises(MMSpecError, match=r"fe\(0\).*has no fixed effect"):
        parse_formula("y ~ hm(id = id(c), FE = fe(0))")
    with pytest.raises(MMSpecError, match="sets ar twice"):
        parse_formula("y ~ hm(id = id(c), RE = re(1, ar = t), ar = TRUE)")


def test_parse_ar_column_and_fe_slopes():
    b = parse_formula(MM + ", RE = re(1, ar = year))").mm[0]
    assert (b.re, b.ar, b.ar_time) == (True, True, "year")
    assert parse_formula(MM + ', RE = re(1, ar = "year"))').mm[0].ar_time == "year"
    assert parse_formula(MM + ", RE = re(1, ar = TRUE))").mm[0].ar_time is None
    h = parse_formula("y ~ hm(id = id(c), RE = re(1, ar = t))").hm[0]
    assert (h.type, h.ar, h.ar_time) == ("RE", True, "t")
    h = parse_formula("y ~ x + hm(id = id(c), FE = fe(1 + x + z, showFE = TRUE))").hm[0]
    assert (h.type, h.show_fe, h.fe_intercept, h.fe_slopes) == ("FE", True, True, ("x", "z"))
    h = parse_formula("y ~ hm(id = id(c), FE = fe(0 + x))").hm[0]
    assert (h.type, h.fe_intercept, h.fe_slopes) == ("FE", False, ("x",))
    h = parse_formula("y ~ hm(id = id(c), FE = fe(1))").hm[0]
    assert (h.fe_intercept, h.fe_slopes) == (True, ())


# ------------------------------------------------------------------ named blocks
def test_named_blocks_in_interactions():
    df = _sim().assign(opp=lambda d: d["finance"] * 0.5 + 1.0)
    blocks = (
        'mm(id = id(pid, gid), vars = vars(finance), w = w(~ pseat), name = "coal") + '
        'mm(id = id(pid, gid), vars = vars(opp), RE = FALSE, name = "opp_bl")'
    )
    model = mmreg.MMModel(
        f"y ~ 1 + majority + majority:coal + coal:opp_bl + {blocks}", df, family="gaussian"
    )
    d = model.design
    assert d.coef_names[:4] == ("Intercept", "majority", "majority:coal", "coal:opp_bl")
    w = df["pseat"] / df.groupby("gid")["pseat"].transform("sum")
    coal = (w * df["finance"]).groupby(df["gid"]).sum().to_numpy()
    opp = df.groupby("gid")["opp"].mean().to_numpy()
    maj = df.groupby("gid")["majority"].first().to_numpy()
    np.testing.assert_allclose(d.X[:, 2], maj * coal, rtol=1e-12)
    np.testing.assert_allclose(d.X[:, 3], coal * opp, rtol=1e-12)
    res = model.fit()
    # predictions on the training data rebuild the features from the data
    np.testing.assert_allclose(res.predict(df).to_numpy(), res.predict().to_numpy(), rtol=1e-10)
    pickle.loads(pickle.dumps(res))


@pytest.mark.parametrize(
    ("formula", "match"),
    [
        (
            "y ~ 1 + majority*coal + mm(id = id(pid, gid), vars = vars(finance), name = 'coal')",
            "appears as a main term",
        ),
        (
            "y ~ 1 + majority:coal + mm(id = id(pid, gid), vars = vars(finance + rile), name = 'coal')",
            "only a single-feature block",
        ),
        (
            "y ~ 1 + majority:I(coal^2) + mm(id = id(pid, gid), vars = vars(finance), "
            "w = w(~ exp(gamma * pseat)), name = 'coal')",
            "estimated weights or shapes.*only as itself",
        ),
        (
            "y ~ 1 + majority:finance + mm(id = id(pid, gid), vars = vars(rile), name = 'finance')",
            "already a data column",
        ),
    ],
)
def test_named_block_errors(formula, match):
    with pytest.raises(MMSpecError, match=match):
        mmreg.MMModel(formula, _sim().assign(rile=lambda d: d["finance"] ** 2), family="gaussian")


def test_unused_name_changes_nothing():
    df = _sim()
    f = "y ~ 1 + mm(id = id(pid, gid), vars = vars(finance + majority), w = w(~ exp(g * pseat))"
    a = mmreg.MMModel(f + ")", df, family="gaussian").design
    b = mmreg.MMModel(f + ', name = "coal")', df, family="gaussian").design
    np.testing.assert_array_equal(a.mm[0].X, b.mm[0].X)
    assert a.coef_names == b.coef_names


def test_blocks_of_both_grammars_in_one_formula():
    df = _sim()
    mixed = (
        "y ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
        "fn = fn(w ~ pseat, c = TRUE)) + mm(id = id(pid, gid), vars = NULL, "
        "w = w(~ 1/n), RE = re(1))"
    )
    old = mixed.replace("w = w(~ 1/n), RE = re(1)", "fn = fn(w ~ 1/n), RE = TRUE")
    a, b = mmreg.MMModel(mixed, df, family="gaussian"), mmreg.MMModel(old, df, family="gaussian")
    pd.testing.assert_series_equal(a.fit().params, b.fit().params)
    # an aggregation block has no member random effects unless asked for
    agg = parse_formula('y ~ mm(id = id(pid, gid), vars = NULL, w = w(~ pseat), fn = fn("hhi"))')
    assert not agg.mm[0].re
