"""Tests for the weight-function language's syntax (mmreg.formula.wexpr).

References: R's operator precedence (?Syntax) and values R prints for the same literal
expressions (e.g. ``-2^2`` is -4, ``!0 + 1`` is FALSE), hand-written; and, in the hypothesis
tests, an independent evaluator: random expression trees are printed in R syntax with the
fewest parentheses R's precedence allows, and evaluated row by row with Python ``eval`` of a
fully parenthesised Python rendering on numpy scalars.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmreg.errors import MMSpecError
from mmreg.formula.weights import compile_weight_function

X = np.array([3.0, 1.0, 3.0, 2.0, 4.0, 2.0, 4.0, 2.0, 7.0, 6.0])
Z = np.array([0.5, 0.25, 0.75, 0.5, 0.2, 0.4, 0.6, 0.8, 0.1, 0.9])
G = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 2])
N = np.array([4.0, 4, 4, 4, 5, 5, 5, 5, 5, 1])


def values(expr: str, theta=()) -> np.ndarray:
    wf = compile_weight_function(expr, columns=["x", "z"])
    return wf.bind({"x": X, "z": Z}, N, G, normalize=False)(np.array(theta, float))[0]


# ------------------------------------------------------------------------------ precedence
@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("-2^2", -4.0),  # ^ binds tighter than unary minus
        ("(-2)^2", 4.0),
        ("2^3^2", 512.0),  # right-associative
        ("2 ** 3 ** 2", 512.0),
        ("2 ** 3 ^ 2", 512.0),
        ("-2**2", -4.0),
        ("2^-1", 0.5),  # unary minus allowed in the exponent
        ("2^-1 * 4", 2.0),  # ... but it does not swallow the product
        ("-2^0.5", -np.sqrt(2.0)),
        ("10 - 2 ^ 2 * 3", -2.0),
        ("1 - 2 - 3", -4.0),  # left-associative
        ("8 / 4 / 2", 1.0),
        ("2 + 3 * 4", 14.0),
        ("(2 + 3) * 4", 20.0),
        ("-3 * -2", 6.0),
        ("- -3", 3.0),
        ("+3", 3.0),
        ("2 * 3 > 5", 1.0),  # comparisons below arithmetic
        ("1 + 2 == 3", 1.0),
        ("3 != 3", 0.0),
        ("3 >= 3", 1.0),
        ("3 <= 2", 0.0),
        ("2 < 3", 1.0),
        ("2 > 3", 0.0),
        ("!0 + 1", 0.0),  # R: ! applies to 0 + 1
        ("1 + !0 + 1", 1.0),  # R: 1 + !(0 + 1)
        ("!1 == 0", 1.0),  # R: !(1 == 0)
        ("1 | 0 & 0", 1.0),  # & binds tighter than |
        ("1 || 0 && 0", 1.0),
        ("!0 & 0", 0.0),  # ! binds tighter than &
        ("1 < 2 & 3 < 2", 0.0),
        ("TRUE + T + FALSE + F", 2.0),
        ("1e-3 * 1000", 1.0),
        (".5 + 1.", 1.5),
        ("2.5E2", 250.0),
        ("5L", 5.0),
        ("(-8)^(1/3)", np.nan),  # R: NaN
        ("1/0", np.inf),
        ("pow(2, 10)", 1024.0),
        ("ifelse(1 > 2, 10, 20)", 20.0),
        ("ifelse(test = 1, no = 3, yes = 4)", 4.0),
    ],
)
def test_precedence_and_literals(expr: str, expected: float) -> None:
    np.testing.assert_array_equal(values(expr), np.full(X.size, expected))


def test_leading_w_tilde_is_stripped_and_names_are_collected() -> None:
    wf = compile_weight_function(" w ~ b10 * z + b2 * x + z * b0 + n")
    assert wf.expr == "b10 * z + b2 * x + z * b0 + n"
    assert wf.params == ("b0", "b2", "b10")  # numeric, not lexicographic, order
    assert wf.columns == ("z", "x")  # order of first appearance; n is not a column
    assert compile_weight_function("~ b1").params == ("b1",)
    quoted = compile_weight_function("`n` / n", columns=["n"])  # back-quoted: the column
    assert quoted.columns == ("n",)
    out = quoted.bind({"n": np.full(10, 2.0)}, N, G, normalize=False)(np.array([]))[0]
    np.testing.assert_array_equal(out, 2.0 / N)


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("expr", "columns", "needles"),
    [
        ("", None, ["fn of mm1", "empty"]),
        ("w ~  ", None, ["empty"]),
        ("x + * 2", None, ["unexpected '*'", "position 5"]),
        ("x +", None, ["unexpected end", "position 4"]),
        ("(x + 1", None, ["expected ')'"]),
        ("x + 1)", None, ["unexpected ')'"]),
        ("exp(x", None, ["expected ',' or ')'"]),
        ("exp(x,)", None, ["unexpected ')'"]),
        ("2x", None, ["malformed number '2x'"]),
        ("1e", None, ["malformed number"]),
        ("x %% 2", None, ["'%'", "not supported"]),
        ("b[1] * x", None, ["'['", "b0, b1"]),
        ("x = 1", None, ["'='", "'=='"]),
        ("1 < x < 3", None, ["chained", "(a < b) & (b < c)"]),
        ("foo(x)", None, ["unknown function 'foo'"]),
        ("expo(x)", None, ["unknown function 'expo'", "exp"]),
        ("exp(x, 2)", None, ["too many arguments to exp()", "position 8"]),
        ("pow(x)", None, ["pow() needs 2 arguments", "missing y"]),
        ("ifelse(x > 1, 1)", None, ["ifelse() needs 3 arguments"]),
        ("quantile(x)", None, ["quantile() needs 2 arguments", "probs"]),
        ("exp()", None, ["exp() needs 1 argument"]),
        ("log(x, bas = 2)", None, ["log() has no argument 'bas'"]),
        ("log(x, 2, base = 3)", None, ["'base'", "given twice"]),
        ("log(base = 2, x)", None, ["positional argument after a named one"]),
        ("max(mean(x))", None, ["nested aggregates", "mean() inside max()"]),
        ("sum(x - median(x))", None, ["median() inside sum()"]),
        ("mean(exp(min(x)))", None, ["min() inside mean()"]),
        ("quantile(x, z)", None, ["'probs' of quantile()", "constant"]),
        ("quantile(x, b0)", None, ["'probs' of quantile()", "constant"]),
        ("quantile(x, 1.5)", None, ["[0, 1]", "1.5"]),
        ("quantile(x, -0.25)", None, ["[0, 1]"]),
        ("quantile(x, 0.5, type = 6)", None, ["type = 7"]),
        ("round(x, 1.5)", None, ["whole number"]),
        ("round(x, n)", None, ["'digits' of round()", "constant"]),
        ("max(x, na.rm = z)", None, ["'na.rm'", "constant"]),
        ("b01 * x", None, ["'b01'", "'b1'"]),
        ("NA + x", None, ["NA is not supported"]),
        ("beta1 * x", ["x"], ["unknown column 'beta1'", "b0, b1"]),
        ("a0 + x", ["x"], ["'a0'", "b0, b1"]),
        ("b * x", ["x"], ["'b'", "b0, b1"]),
        ("theta2 * x", ["x"], ["'theta2'", "b0, b1"]),
        ("pseet * 2", ["pseat"], ["unknown column 'pseet'", "did you mean 'pseat'"]),
        ("1" + "+(1" * 60 + ")" * 60, None, ["nested more than"]),
        ("+".join(["x"] * 120), None, ["nested more than"]),
    ],
)
def test_spec_errors(expr: str, columns, needles: list[str]) -> None:
    with pytest.raises(MMSpecError) as info:
        compile_weight_function(expr, columns=columns)
    msg = str(info.value)
    assert "fn of mm1" in msg
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_error_names_the_block_and_points_at_the_token() -> None:
    with pytest.raises(MMSpecError) as info:
        compile_weight_function("w ~ 1 + foo(pseat)", block="mm2")
    msg = str(info.value)
    assert msg.startswith("fn of mm2: unknown function 'foo'")
    assert "position 9 of 'w ~ 1 + foo(pseat)'" in msg
    caret_line = msg.splitlines()[-1]
    assert caret_line.index("^") == msg.splitlines()[-2].index("foo")


def test_aggregates_over_n_and_data_are_accepted() -> None:
    np.testing.assert_array_equal(values("sum(1) == n & max(n) == n"), np.ones(X.size))


# ------------------------------------------------------------------- hypothesis: grammar
_LEVEL = {"|": 1, "&": 2, "!": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7, "^": 8}
_CMP = {"==": "EQ", "!=": "NE", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE"}
_FUNS = ["exp", "log", "sqrt", "abs", "floor", "ceiling", "trunc", "sin", "cos", "atan"]
_LITERALS = {"2": 2.0, "0.5": 0.5, "1e-1": 0.1, ".25": 0.25, "3": 3.0, "TRUE": 1.0, "F": 0.0}


def _r(t) -> tuple[str, int]:
    """R text with minimal parentheses, and its precedence level (9 = atom)."""
    kind = t[0]
    if kind in ("lit", "var"):
        return t[1], 9
    if kind == "un":
        op, (s, lev) = t[1], _r(t[2])
        mine = _LEVEL["!"] if op == "!" else _LEVEL["neg"]
        return op + (f"({s})" if lev < mine else s), mine
    if kind == "bin":
        op = t[1]
        mine = _LEVEL["cmp"] if op in _CMP else _LEVEL[op]
        (ls, ll), (rs, rl) = _r(t[2]), _r(t[3])
        if op == "^":  # right-assoc; exponent may be a unary minus
            lpar, rpar = ll <= mine, rl < _LEVEL["neg"]
        elif op in _CMP:  # non-associative
            lpar, rpar = ll <= mine, rl <= mine
        else:  # left-assoc
            lpar, rpar = ll < mine, rl <= mine
        return f"{f'({ls})' if lpar else ls} {op} {f'({rs})' if rpar else rs}", mine
    if kind == "fn":
        return f"{t[1]}({_r(t[2])[0]})", 9
    return f"ifelse({', '.join(_r(a)[0] for a in t[1:])})", 9


def _py(t) -> str:
    """Fully parenthesised Python text evaluated on numpy float64 scalars."""
    kind = t[0]
    if kind == "lit":
        return f"F({_LITERALS[t[1]]!r})"
    if kind == "var":
        return t[1]
    if kind == "un":
        return f"NOT({_py(t[2])})" if t[1] == "!" else f"({t[1]}{_py(t[2])})"
    if kind == "bin":
        a, b, op = _py(t[2]), _py(t[3]), t[1]
        if op in _CMP:
            return f"{_CMP[op]}({a}, {b})"
        if op in "&|":
            return f"{'AND' if op == '&' else 'OR'}({a}, {b})"
        return f"({a} {'**' if op == '^' else op} {b})"
    if kind == "fn":
        return f"{'ceil' if t[1] == 'ceiling' else t[1]}({_py(t[2])})"
    return f"IFELSE({', '.join(_py(a) for a in t[1:])})"


def _nan_or(a, b, value):
    return np.float64(np.nan) if np.isnan(a) or np.isnan(b) else np.float64(value)


_NS = {name: getattr(np, name) for name in _FUNS if name != "ceiling"} | {
    "ceil": np.ceil,
    "F": np.float64,
    "NOT": lambda a: np.float64(np.nan) if np.isnan(a) else np.float64(a == 0),
    "AND": lambda a, b: np.float64(0.0) if (a == 0 or b == 0) else _nan_or(a, b, 1.0),
    "OR": lambda a, b: (
        np.float64(1.0) if (a != 0 and a == a) or (b != 0 and b == b) else _nan_or(a, b, 0)
    ),
    "IFELSE": lambda c, a, b: np.float64(np.nan) if np.isnan(c) else (a if c != 0 else b),
    "EQ": lambda a, b: _nan_or(a, b, a == b),
    "NE": lambda a, b: _nan_or(a, b, a != b),
    "LT": lambda a, b: _nan_or(a, b, a < b),
    "LE": lambda a, b: _nan_or(a, b, a <= b),
    "GT": lambda a, b: _nan_or(a, b, a > b),
    "GE": lambda a, b: _nan_or(a, b, a >= b),
}

_leaf = st.one_of(
    st.tuples(st.just("lit"), st.sampled_from(sorted(_LITERALS))),
    st.tuples(st.just("var"), st.sampled_from(["x", "z", "n", "b0", "b1"])),
)
_tree = st.recursive(
    _leaf,
    lambda kids: st.one_of(
        st.tuples(st.just("un"), st.sampled_from(["-", "+", "!"]), kids),
        st.tuples(
            st.just("bin"), st.sampled_from(["+", "-", "*", "/", "^", "&", "|", *_CMP]), kids, kids
        ),
        st.tuples(st.just("fn"), st.sampled_from(_FUNS), kids),
        st.tuples(st.just("ifelse"), kids, kids, kids),
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=_tree, theta=st.tuples(*[st.floats(-3, 3, allow_nan=False)] * 2))
def test_random_expressions_match_python_reference(tree, theta) -> None:
    text, _ = _r(tree)
    wf = compile_weight_function(text, columns=["x", "z"])
    th = np.array([theta[int(p[1:])] for p in wf.params])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the package must not leak numpy warnings
        got = wf.bind({"x": X, "z": Z}, N, G, normalize=False)(th)[0]
    code = _py(tree)
    with np.errstate(all="ignore"):
        expected = [
            eval(
                code,
                dict(_NS),
                {
                    "x": X[i],
                    "z": Z[i],
                    "n": N[i],
                    "b0": np.float64(theta[0]),
                    "b1": np.float64(theta[1]),
                },
            )  # fmt: skip
            for i in range(X.size)
        ]
    np.testing.assert_allclose(got, np.array(expected, float), rtol=1e-9, atol=1e-12, err_msg=text)


_TOKENS = ["x", "n", "b0", "b1", "2", ".5", "1e-3", "+", "-", "*", "/", "^", "**", "(", ")", ",",
           "=", "==", "<", ">=", "!", "&", "|", "~", "w", "exp", "log", "max", "quantile",
           "ifelse", "round", "na.rm", "TRUE", "`x`", "[", "%", "'", "\"", "#", ";", "\n",
           " "]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    text=st.one_of(
        st.lists(st.sampled_from(_TOKENS), max_size=25).map("".join),
        st.lists(st.sampled_from(_TOKENS), max_size=25).map(" ".join),
        st.text(max_size=40),
    )
)
def test_garbage_raises_spec_error_and_nothing_else(text: str) -> None:
    try:
        wf = compile_weight_function(text, columns=["x"])
    except MMSpecError:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bound = wf.bind({"x": X}, N, G, normalize=True)
        w, dw = bound(np.full(len(wf.params), 0.5))
    assert w.shape == X.shape
    assert (dw is None) == (not wf.params)
