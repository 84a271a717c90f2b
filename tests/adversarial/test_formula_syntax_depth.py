"""#13 class 3 (syntax that means something else) and the formula part of class 6 (depth).

* lme4/brms ``(1 | cid)`` was read as a bitwise OR and fitted as a covariate: now an
  :class:`~mmreg.MMSpecError` that shows the mmreg spelling ``hm(id = id(cid), type = "RE")``.
* R's ``factor(x)``/``as.factor(x)`` are read as ``C(x)``: same design, same names, same
  estimates.
* Ordinary terms still give patsy's design exactly (patsy with numpy is the reference), and the
  iterative term-list evaluator gives patsy's own ``ModelDesc``.
* Long and deeply nested formulas: a 600-term formula fits; 1000-deep nesting anywhere is a
  named MMSpecError, never a RecursionError.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import patsy
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mmreg
from mmreg.errors import MMSpecError
from mmreg.formula.patsydesc import model_desc
from mmreg.formula.safe import r_syntax
from mmreg.formula.terms import design_matrix

DF = mmreg.datasets.simulate_coalitions(seed=5, n_groups=40, n_members=30, n_countries=5)
MM = "mm(id = id(pid, gid), RE = TRUE)"
HM_SPELLING = 'hm(id = id(cid), type = "RE")'

# --------------------------------------------------------------------------- lme4 syntax
LME4 = {
    "intercept": ("y ~ 1 + majority + (1 | cid) + " + MM, HM_SPELLING),
    "slope": ("y ~ 1 + majority + (1 + majority | cid) + " + MM, HM_SPELLING),
    "slope_only": ("y ~ 1 + (0 + majority | cid) + " + MM, HM_SPELLING),
    "double_bar": ("y ~ 1 + majority + (1 || cid) + " + MM, HM_SPELLING),
    "no_mm": ("y ~ 1 + majority + (1 | cid)", HM_SPELLING),
    "first": ("y ~ (1 | cid) + majority + " + MM, HM_SPELLING),
    "nested": ("y ~ 1 + (1 | cid/pid) + " + MM, HM_SPELLING),
    "brms_gr": ("y ~ 1 + (1 | gr(cid)) + " + MM, "hm(id = id("),
    "other_unit": ("y ~ 1 + (1 | cname) + " + MM, 'hm(id = id(cname), type = "RE")'),
    "mm_vars": (
        "y ~ 1 + mm(id = id(pid, gid), vars = vars(finance + (1 | cid)), RE = TRUE)",
        HM_SPELLING,
    ),
    "hm_vars": ("y ~ 1 + hm(id = id(cid), vars = vars(investiture | cid))", HM_SPELLING),
    "fix": ("y ~ 1 + fix(majority | cid, 1) + " + MM, HM_SPELLING),
    "outcome": ("I(y | cid) ~ 1 + majority + " + MM, HM_SPELLING),
    "logical_or": ("y ~ 1 + I((majority > 0) | (mwc > 0)) + " + MM, "np.logical_or"),
}


@pytest.mark.parametrize(("formula", "fragment"), LME4.values(), ids=LME4.keys())
def test_lme4_bar_is_refused_with_the_mmreg_spelling(formula: str, fragment: str) -> None:
    with pytest.raises(MMSpecError) as err:
        mmreg.MMModel.from_formula(formula, DF)
    assert fragment in str(err.value)
    assert "'|' is not an mmreg operator" in str(err.value)


def test_logical_or_spelled_with_numpy_works() -> None:
    x, _ = design_matrix(
        "np.logical_or(majority > 0, mwc > 0)", DF, intercept=False, where="main terms"
    )
    ref = ((DF["majority"] > 0) | (DF["mwc"] > 0)).to_numpy(float)
    np.testing.assert_array_equal(x[:, -1], ref)


# --------------------------------------------------------------------------- factor()
@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame(
        {"g": rng.choice(["a", "b", "c"], n), "z": rng.normal(size=n), "k": rng.integers(1, 4, n)}
    )
    df["y"] = 1 + 0.5 * df.z + df.g.map({"a": 0, "b": 1, "c": -1}) + rng.normal(size=n) * 0.3
    return df


@pytest.mark.parametrize(
    "spelling",
    ["factor(g)", "as.factor(g)", "base::factor(g)", "factor( g )", "as.factor(k)", "factor(k)"],
)
def test_factor_is_C(small: pd.DataFrame, spelling: str) -> None:
    col = spelling.split("(")[1].strip(" )")
    ref = mmreg.MMModel.from_formula(f"y ~ 1 + z + C({col})", small).fit()
    got = mmreg.MMModel.from_formula(f"y ~ 1 + z + {spelling}", small).fit()
    assert list(got.params.index) == list(ref.params.index)  # names C(g)[T.b]
    np.testing.assert_array_equal(got.params.to_numpy(), ref.params.to_numpy())


def test_factor_matches_ols(small: pd.DataFrame) -> None:
    got = mmreg.MMModel.from_formula("y ~ 1 + z + as.factor(g)", small).fit().params
    ols = sm.OLS.from_formula("y ~ 1 + z + C(g)", small).fit().params
    # the MAP under mmreg's weak default priors: n = 60 rows shift it by far less than 1e-2
    np.testing.assert_allclose(got[ols.index].to_numpy(), ols.to_numpy(), atol=1e-2)


def test_r_syntax_leaves_quoted_text_alone() -> None:
    assert r_syntax('Q("a^b") + factor(x) + I(x^2) + TRUE') == 'Q("a^b") + C(x) + I(x**2) + True'
    assert r_syntax("myfactor(x) + x.factor(y)") == "myfactor(x) + x.factor(y)"


# --------------------------------------------------------------------------- designs
_ENV = {"np": np, "log": np.log, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs}
DESIGNS = {
    "interaction": ("majority * mwc", "majority * mwc"),
    "interaction_minus": ("majority * mwc - mwc", "majority * mwc - mwc"),
    "colon": ("majority:mwc + investiture", "majority:mwc + investiture"),
    "power_R": ("I(majority^2)", "I(majority**2)"),
    "power_py": ("I(majority**2)", "I(majority**2)"),
    "C": ("C(cid)", "C(cid)"),
    "C_treatment": ("C(cid, Treatment(3))", "C(cid, Treatment(3))"),
    "C_reference_kw": ("C(cid, Treatment(reference=2))", "C(cid, Treatment(reference=2))"),
    "C_sum": ("C(cid, Sum)", "C(cid, Sum)"),
    "C_levels": ("C(cid, levels=[5, 4, 3, 2, 1])", "C(cid, levels=[5, 4, 3, 2, 1])"),
    "np_log": ("np.log(pseat)", "np.log(pseat)"),
    "log": ("log(pseat)", "log(pseat)"),
    "log_base": ("log(pseat, 2)", "I(np.log(pseat) / np.log(2))"),  # R: log(x) / log(base)
    "center": ("center(finance)", "center(finance)"),
    "standardize": ("standardize(finance)", "standardize(finance)"),
    "scale": ("scale(rile)", "scale(rile)"),
    "Q": ("Q('majority')", "Q('majority')"),
    "functions": (
        "np.sqrt(pseat) + exp(majority) + abs(rile)",
        "np.sqrt(pseat) + exp(majority) + abs(rile)",
    ),
    "comparison": (
        "I(finance > 0) + I((majority == 1) & (mwc == 1))",
        "I(finance > 0) + I((majority == 1) & (mwc == 1))",
    ),
    "numpy_two_args": (
        "np.maximum(finance, rile) + np.where(majority, finance, 0)",
        "np.maximum(finance, rile) + np.where(majority, finance, 0)",
    ),
    "constant": ("I(np.pi * finance - 1 / 3)", "I(np.pi * finance - 1 / 3)"),
    "boolean": ("I(majority * TRUE)", "I(majority * True)"),
    "root": ("I(pseat^(1/3))", "I(pseat**(1/3))"),
    "column_exponent": (
        "I(2^majority) + I(10^3 * pseat) + I(pseat^-1)",
        "I(2**majority) + I(10**3 * pseat) + I(pseat**-1)",
    ),
    "string_comparison": ("I(cname == 'C1')", "I(cname == 'C1')"),
    "bar_in_a_string": ("I(cname == 'a|b')", "I(cname == 'a|b')"),
}


@pytest.mark.parametrize(("mm_terms", "patsy_terms"), DESIGNS.values(), ids=DESIGNS.keys())
def test_ordinary_terms_give_patsys_design(mm_terms: str, patsy_terms: str) -> None:
    x, names = design_matrix(r_syntax(mm_terms), DF, intercept=True, where="main terms")
    ref = patsy.dmatrix(
        "1 + " + patsy_terms, DF, eval_env=patsy.EvalEnvironment([_ENV]), return_type="dataframe"
    )
    np.testing.assert_array_equal(x, ref.to_numpy())
    if mm_terms == patsy_terms:
        assert names == list(ref.columns)


TERM_LISTS = [
    "a + b - a",
    "0 + a + b",
    "a + b - 1",
    "-1 + a + b",
    "a*b - a:b",
    "a + (b + c) - c + 1",
    "a + 0 + b",
    "a + b + 1 - 1 + c",
    "a - 0 + b",
    "a + b - (a + 1)",
    "(a + b)**2 - b",
    "a/b + c - a",
    "1 + a + a + b:a",
]


@pytest.mark.parametrize("formula", TERM_LISTS)
def test_iterative_term_lists_equal_patsy(formula: str) -> None:
    got = model_desc(formula, "main terms")[0]
    ref = patsy.ModelDesc.from_formula(formula)
    assert got.rhs_termlist == ref.rhs_termlist and got.lhs_termlist == ref.lhs_termlist


# --------------------------------------------------------------------------- length, depth
def test_600_terms_fit_columns() -> None:
    formula = "y ~ 1 + " + " + ".join(f"I(majority * {k})" for k in range(600)) + " + " + MM
    model = mmreg.MMModel.from_formula(formula, DF)
    x = model.design.X
    assert x.shape[1] == 601
    maj = DF.groupby("gid")["majority"].first().to_numpy()
    np.testing.assert_array_equal(x[:, 1 + 599], maj * 599)


def test_1500_term_list_is_read() -> None:
    names = model_desc(" + ".join(f"x{k}" for k in range(1500)), "main terms")[1]
    assert names == [f"x{k}" for k in range(1500)]


def _nest(inner: str, depth: int = 1000) -> str:
    return "(" * depth + inner + ")" * depth


DEEP = {
    "right_nested_sum": "y ~ 1 + " + "(majority + " * 1000 + "mwc" + ")" * 1000,
    "parens_in_I": "y ~ 1 + I(" + _nest("majority") + ") + " + MM,
    "unary_minus": "y ~ 1 + I(" + "-" * 100000 + "majority) + " + MM,
    "long_sum_in_I": "y ~ 1 + I(" + " + ".join(["majority"] * 20000) + ") + " + MM,
    "interaction_chain": "y ~ 1 + " + ":".join(["majority"] * 1000) + " + " + MM,
    "outcome": "I(" + _nest("y") + ") ~ 1 + " + MM,
    "mm_vars": "y ~ 1 + mm(id = id(pid, gid), vars = vars("
    + "(finance + " * 1000
    + "rile"
    + ")" * 1000
    + "), RE = TRUE)",
    "hm_vars": "y ~ 1 + hm(id = id(cid), vars = vars(I(" + _nest("investiture") + ")))",
    "fix": "y ~ 1 + fix(I(" + _nest("majority") + "), 1) + " + MM,
    "not_chain": "y ~ 1 + I(" + "not " * 3000 + "majority) + " + MM,
    "invert_chain": "y ~ 1 + I(" + "~" * 3000 + "majority) + " + MM,
    "power_chain": "y ~ 1 + majority" + "**2" * 1000 + " + " + MM,
    "nesting_chain": "y ~ 1 + " + "/".join(["majority"] * 1000) + " + " + MM,
    "product_chain": "y ~ 1 + " + "*".join(["majority"] * 1000) + " + " + MM,
}


@pytest.mark.parametrize("formula", DEEP.values(), ids=DEEP.keys())
def test_deep_formula_is_a_named_error(formula: str) -> None:
    with pytest.raises(MMSpecError, match="too deeply nested or too long"):
        mmreg.MMModel.from_formula(formula, DF)


@pytest.mark.parametrize(
    ("formula", "priors", "fragment"),
    [
        (
            "y ~ 1 + mm(id = id(pid, gid), fn = fn(w ~ " + _nest("1/n") + "), RE = TRUE)",
            None,
            "nested more than",
        ),
        ("y ~ 1 + " + MM, ["sigma ~ dnorm(" + _nest("0") + ", 1)"], "prior"),
        ("y ~ 1 + " + MM, ["sigma ~ dnorm(0" + "+0" * 20000 + ", 1)"], "prior"),
        ("y ~ 1 + " + MM, ["sigma ~ dnorm(" + "-" * 100000 + "1, 1)"], "prior"),
        (
            "y ~ 1 + mm(id = id(pid, gid), fn = fn(w ~ " + "^".join(["1"] * 2000) + "), RE = TRUE)",
            None,
            "fn",
        ),
        ("y ~ 1 + mm(id = id(pid, gid), fn = fn(w ~ " + "-" * 5000 + "1), RE = TRUE)", None, "fn"),
        (
            "y ~ 1 + mm(id = id(pid, gid), fn = fn(w ~ "
            + " + ".join(["1/n"] * 5000)
            + "), RE = TRUE)",
            None,
            "fn",
        ),
    ],
    ids=[
        "fn",
        "prior_parens",
        "prior_long_sum",
        "prior_unary",
        "fn_power",
        "fn_unary",
        "fn_long_sum",
    ],
)
def test_deep_weight_function_and_prior_are_named_errors(formula, priors, fragment) -> None:
    """fn() and priors have their own parsers (depth 40 and Python's ast): named errors too."""
    with pytest.raises(MMSpecError, match=fragment):
        mmreg.MMModel.from_formula(formula, DF, priors=priors)


def test_pure_parentheses_around_a_term_still_work() -> None:
    model = mmreg.MMModel.from_formula("y ~ 1 + " + _nest("majority") + " + " + MM, DF)
    assert model.param_names[:2] == ["Intercept", "majority"]


# --------------------------------------------------------------------------- column names
@pytest.fixture(scope="module")
def named() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    cols = ["y", "my.var", "sum", "type", "input", "round", "scale", "log", "x__1"]
    return pd.DataFrame({c: rng.uniform(1, 2, size=30) for c in cols})


@pytest.mark.parametrize("col", ["sum", "type", "input", "round", "scale", "log", "x__1"])
def test_columns_named_like_builtins_or_functions_are_columns(named, col: str) -> None:
    """Builtins are shadowed in the evaluation namespace, but data columns come first."""
    x, names = design_matrix(f"{col} + I({col} * 2)", named, intercept=False, where="main terms")
    np.testing.assert_array_equal(x, np.column_stack([named[col], 2 * named[col]]))
    assert names == [col, f"I({col} * 2)"]


def test_dotted_column_name_is_refused_with_the_Q_spelling(named) -> None:
    with pytest.raises(MMSpecError, match=r"Q\('my.var'\)"):
        mmreg.MMModel.from_formula("y ~ 1 + my.var", named)
    x, _ = design_matrix("Q('my.var')", named, intercept=False, where="main terms")
    np.testing.assert_array_equal(x[:, 0], named["my.var"])


# --------------------------------------------------------------------------- blow-ups (hangs)
BLOWUPS = {
    "product_of_20": ("y ~ 1 + " + "*".join(f"x{k}" for k in range(20)), "5000 terms"),
    "power_of_a_sum": (
        "y ~ 1 + (" + " + ".join(f"x{k}" for k in range(14)) + ")**14",
        "5000 terms",
    ),
    "interaction_grid": (
        "y ~ 1 + (a + b + c + d + e + f + g)*(h + i + j + k + l + m + n)*"
        "(o + p + q + r + s + t + u)*(v + w + z + aa + bb + cc + dd)*(ee + ff)",
        "5000 terms",
    ),
    "tower_of_powers": ("y ~ 1 + I(majority * 9**9**9)", "constant power"),
    "huge_constant_power": ("y ~ 1 + I(majority + 10**100000)", "constant power"),
    "power_of_power": ("y ~ 1 + I(majority + (10**1000)**1000)", "constant power"),
    "string_times_big": ("y ~ 1 + I('x' * 10**9)", "string"),
    "string_plus": ("y ~ 1 + I(majority + 'x')", "string"),
}


@pytest.mark.parametrize(("formula", "fragment"), BLOWUPS.values(), ids=BLOWUPS.keys())
def test_formulas_that_would_hang_are_refused_before_expansion(formula, fragment) -> None:
    """Each of these runs for minutes (or exhausts memory) if expanded or evaluated."""
    with pytest.raises(MMSpecError, match=fragment):
        mmreg.MMModel.from_formula(formula, DF)


def test_large_but_sane_interaction_is_allowed() -> None:
    desc = model_desc("(a + b + c)**2 + x1*x2*x3*x4*x5*x6*x7*x8", "main terms")[0]
    assert len(desc.rhs_termlist) == 1 + 6 + 255  # intercept, (a+b+c)**2, 2^8 - 1


_TOKENS = [
    "x",
    "y",
    "np",
    ".",
    "log",
    "I",
    "C",
    "Q",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "+",
    "-",
    "*",
    "/",
    "**",
    ":",
    "|",
    "~",
    "&",
    "=",
    ",",
    "'a'",
    '"__class__"',
    "1",
    "0",
    "1e9",
    "__import__",
    "lambda",
    "if",
    "else",
    "for",
    "in",
    "not",
    " ",
    "center",
    "factor",
    "Treatment",
    "levels",
    "np.log",
    "np.save",
    "__builtins__",
    "...",
    "@",
    "%",
    "^",
    "<",
    ">",
    "==",
    "!",
    "#",
    "\\",
    "\n",
    "`",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=25))
def test_random_token_soup_is_checked_or_refused(tokens: list[str]) -> None:
    """Any text either passes the allow-list or is an MMSpecError: no other exception."""
    text = "".join(tokens)
    try:
        model_desc(r_syntax(text), "main terms")
    except MMSpecError:
        pass


def test_the_documented_allow_list_is_the_code_allow_list() -> None:
    from pathlib import Path

    from mmreg.formula.safe import ALLOWED_FUNCTIONS, ALLOWED_NUMPY

    page = (Path(__file__).resolve().parents[2] / "docs" / "formula.md").read_text()
    section = page.split("### What a term may contain")[1].split("\n## ")[0]
    for name in [*ALLOWED_FUNCTIONS, *ALLOWED_NUMPY, "factor", "as.factor"]:
        assert f"`{name}`" in section, name
