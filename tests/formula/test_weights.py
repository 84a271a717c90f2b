"""Tests for weight functions (mmreg.formula.weights): values, derivatives, normalisation.

References: closed-form values of the functions (``log(8, 2) == 3``, ``qnorm(0.975) ==
1.959963984540054``, R's half-to-even ``round``, ...); central finite differences for the
derivatives (the only place they are used); the closed-form derivative of a within-group
softmax; and, on the real coalgov data (skipped when ../shared is absent), pandas groupby
computations of the bml weight functions in shared/bml-formulas.md.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from mmreg.errors import MMDataError, MMSpecError
from mmreg.formula.weights import compile_weight_function

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
X = np.array([3.0, 1.0, 3.0, 2.0, 4.0, 2.0, 4.0, 2.0, 7.0, 6.0])
Z = np.array([0.5, 0.25, 0.75, 0.5, 0.2, 0.4, 0.6, 0.8, 0.1, 0.9])
G = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 2])
N = np.array([4.0, 4, 4, 4, 5, 5, 5, 5, 5, 1])
SIZES = [4, 5, 1]


def bind(expr: str, normalize: bool = False, **kw):
    return compile_weight_function(expr, columns=["x", "z"]).bind(
        {"x": X, "z": Z}, N, G, normalize, **kw
    )


def values(expr: str, theta=(), normalize: bool = False) -> np.ndarray:
    return bind(expr, normalize)(np.array(theta, float), derivative=False)[0]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("exp(0)", 1.0),
        ("log(exp(2))", 2.0),
        ("log(8, 2)", 3.0),
        ("log(100, base = 10)", 2.0),
        ("log(81, 3)", 4.0),
        ("log10(1000)", 3.0),
        ("log2(1 / 8)", -3.0),
        ("sqrt(16)", 4.0),
        ("abs(-3)", 3.0),
        ("pow(2, -2)", 0.25),
        ("sin(0) + cos(0) + tan(0)", 1.0),
        ("asin(1)", np.pi / 2),
        ("acos(1)", 0.0),
        ("atan(1)", np.pi / 4),
        ("sinh(0) + cosh(0) + tanh(0)", 1.0),
        ("ilogit(0)", 0.5),
        ("inv.logit(log(3))", 0.75),
        ("plogis(0)", 0.5),
        ("logit(0.75)", np.log(3.0)),
        ("probit(0.975)", 1.959963984540054),
        ("qnorm(0.5)", 0.0),
        ("iprobit(1.959963984540054)", 0.975),
        ("pnorm(0)", 0.5),
        ("cloglog(1 - exp(-1))", 0.0),
        ("icloglog(0)", 1.0 - np.exp(-1.0)),
        ("round(2.5)", 2.0),  # R rounds halves to even
        ("round(-1.5)", -2.0),
        ("round(3.567, 2)", 3.57),
        ("round(0.15, 1)", 0.1),  # R >= 4.0: 0.15 is stored below 0.15
        ("round(2.675, digits = 2)", 2.67),
        ("round(1234.5678, -2)", 1200.0),
        ("trunc(-2.7)", -2.0),
        ("floor(-2.5)", -3.0),
        ("ceiling(2.1)", 3.0),
        ("ifelse(x > 3, 1, 0) * 0 + 5", 5.0),
    ],
)
def test_function_values(expr: str, expected: float) -> None:
    np.testing.assert_allclose(values(expr), np.full(X.size, expected), rtol=1e-14, atol=1e-15)


def test_row_wise_columns_and_n() -> None:
    np.testing.assert_array_equal(values("x * 2 + n"), 2 * X + N)
    np.testing.assert_array_equal(values("ifelse(x >= 3, x, -z)"), np.where(X >= 3, X, -Z))
    np.testing.assert_array_equal(
        values("(x > 2) & (z < 0.6) | x == 7"), [1, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    )
    np.testing.assert_array_equal(values("!(x == 2)"), (X != 2).astype(float))


def test_parameters_in_order_and_constant_functions() -> None:
    bw = bind("b1 * x + b0")
    assert bw.params == ("b0", "b1") and not bw.is_constant
    w, dw = bw(np.array([10.0, 2.0]))
    np.testing.assert_array_equal(w, 2 * X + 10)
    np.testing.assert_array_equal(dw, np.vstack([np.ones(X.size), X]))
    const = bind("1/n", normalize=True)
    assert const.is_constant and const.params == ()
    w, dw = const(np.array([]))
    assert dw is None
    np.testing.assert_allclose(w, 1 / N)
    w[:] = -1.0  # the caller may modify what it gets
    np.testing.assert_allclose(const(np.array([]))[0], 1 / N)
    w, dw = bind("b0 > 1")(np.array([2.0]))  # depends on b0, derivative 0
    np.testing.assert_array_equal(w, np.ones(X.size))
    np.testing.assert_array_equal(dw, np.zeros((1, X.size)))
    w, dw = bind("round(b0 * x, 1) + !(b0 * x < 2)")(np.array([0.7]))
    np.testing.assert_allclose(w, [3.1, 0.7, 3.1, 1.4, 3.8, 1.4, 3.8, 1.4, 5.9, 5.2], rtol=1e-15)
    np.testing.assert_array_equal(dw, np.zeros((1, X.size)))


DERIVATIVE_CASES = [
    "1 / (1 + (n - 1) * exp(-(b0 + b1 * x)))",
    "exp(b0 * x) / (1 + b1^2)",
    "x ^ b0", "b0 ^ x", "(b0 * x) ^ b1", "2 ^ (b0 * x)", "pow(b0, 2) * x", "-b0 + +b1 * x",
    "b0 / x - x / b1", "b0 * x / (b1 + x)", "log(b0 + x)", "log(x, b0 + 2)",
    "log(b0 * x, 2)", "log(b0 * x, base = 10)", "log(b0 * x, 5)", "log10(b0 * x)",
    "log2(b0 * x)", "sqrt(b0 * x)", "abs(b0 - x)", "exp(-b0 * x)", "sin(b0 * x)",
    "cos(b0 * x)", "tan(b0 * z)", "asin(b0 * z)", "acos(b0 * z)", "atan(b0 * x)",
    "sinh(b0 * z)", "cosh(b0 * z)", "tanh(b0 * x)", "logit(b0 * z)", "ilogit(b0 * x - b1)",
    "probit(b0 * z)", "iprobit(b0 * z - b1)", "cloglog(b0 * z)", "icloglog(b0 * z)",
    "round(x) * b0 + floor(b1 * x) + trunc(b0) + ceiling(b1)", "b0 * (x > 2) + (b1 < x)",
    "ifelse(x > 3, b0 * x, b1)", "ifelse(z < b0, exp(b1), x)",
    "b1 * min(x) + (1 - b1) * max(x)",
]  # fmt: skip


def _fd(bw, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return np.array(
        [(bw(theta + h * e, derivative=False)[0] - bw(theta - h * e, derivative=False)[0]) / (2 * h)
         for e in np.eye(theta.size)]
    )  # fmt: skip


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("expr", DERIVATIVE_CASES)
def test_derivatives_match_central_finite_differences(expr: str, normalize: bool) -> None:
    bw = bind(expr, normalize)
    theta = np.array([{"b0": 0.7, "b1": 0.3}[p] for p in bw.params])
    w, dw = bw(theta)
    w2, none = bw(theta, derivative=False)
    assert none is None
    np.testing.assert_array_equal(w, w2)
    if normalize and np.any(np.add.reduceat(bw(theta, derivative=False)[0], [0, 4, 9]) == 0):
        pytest.skip("a group sums to zero")
    assert dw.shape == (len(bw.params), X.size)
    np.testing.assert_allclose(dw, _fd(bw, theta), rtol=1e-6, atol=1e-8)


def test_normalisation_is_a_within_group_softmax() -> None:
    b0 = 0.4
    w, dw = bind("exp(b0 * x)", normalize=True)(np.array([b0]))
    e = np.exp(b0 * X)
    total = np.repeat(np.add.reduceat(e, [0, 4, 9]), SIZES)
    s = e / total
    np.testing.assert_allclose(w, s, rtol=1e-14)
    np.testing.assert_allclose(np.add.reduceat(w, [0, 4, 9]), 1.0, rtol=1e-14)
    # d s_k / d b0 = s_k (x_k - sum_j s_j x_j) within the group
    mean_x = np.repeat(np.add.reduceat(s * X, [0, 4, 9]), SIZES)
    np.testing.assert_allclose(dw[0], s * (X - mean_x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(values("x", normalize=True), X / np.repeat([9, 19, 6], SIZES))


@pytest.mark.parametrize("b0", [-400.0, -60.0, 0.0, 60.0, 400.0])
def test_normalised_exponentials_never_overflow(b0: float) -> None:
    # Reference: scipy.special.softmax per group (log-sum-exp with the maximum subtracted).
    # Unstabilised, exp(400 * 7) overflows and exp(-400 * 7) underflows to 0 / 0.
    w, dw = bind("exp(b0 * x + z)", normalize=True)(np.array([b0]))
    starts = [0, 4, 9]
    ref = np.concatenate(
        [
            special.softmax(b0 * X[a:b] + Z[a:b])
            for a, b in zip(starts, [*starts[1:], 10], strict=True)
        ]
    )
    np.testing.assert_allclose(w, ref, rtol=1e-12, atol=1e-300)
    mean_x = np.repeat(np.add.reduceat(ref * X, starts), SIZES)
    np.testing.assert_allclose(dw[0], ref * (X - mean_x), rtol=1e-10, atol=1e-14)
    bind("exp(b0 * x + z)", normalize=True).check(np.array([b0]))  # usable everywhere
    if abs(b0) >= 400:  # without c = TRUE the raw exponential does overflow / underflow
        with pytest.raises(MMDataError, match="NaN or infinite"):
            bind("exp(b0 * x + z)").check(np.array([abs(b0)]))


def test_no_numpy_warnings_for_non_finite_values() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w, dw = bind("log(b0 * x) + 1 / (x - x)")(np.array([-1.0]))
        assert np.isnan(w).all()
        w, _ = bind("x - 6", normalize=True)(np.array([]))  # 0 / 0 in group 2
        assert np.isnan(w[9]) and np.isfinite(w[:9]).all()
        w, _ = bind("sd(log(x - 3)) + quantile(0 / x, 0.5)")(np.array([]))
        assert np.isnan(w[:9]).all()


def test_check_reports_bad_weights() -> None:
    with pytest.raises(MMDataError) as info:
        bind("log(x - b0)").check(np.array([2.5]))
    msg = str(info.value)
    assert "fn of mm1 (w ~ log(x - b0))" in msg and "NaN or infinite" in msg
    assert "b0 = 2.5" in msg and "row 1, group code 0" in msg and "columns used: x" in msg
    with pytest.raises(MMDataError, match=r"negative for 4 of 10 rows .*row 1, group code 0"):
        bind("x - 3").check(np.array([]))
    with pytest.raises(MMDataError, match=r"group code 2 sum to zero"):
        bind("x < 5", normalize=True).check(np.array([]))
    bind("x < 5").check(np.array([]))  # zero weights are fine without c = TRUE
    bind("ilogit(b0 + b1 * x)", normalize=True).check(np.array([0.0, 1.0]))
    with pytest.raises(MMSpecError, match="expected 2 parameter"):
        bind("b0 + b1")(np.array([1.0]))


def test_bind_errors() -> None:
    wf = compile_weight_function("x * b0")
    with pytest.raises(MMDataError, match="column 'x' is not in the data"):
        wf.bind({"z": Z}, N, G, True)
    with pytest.raises(MMDataError, match="column 'x' has shape"):
        wf.bind({"x": X[:3]}, N, G, True)
    with pytest.raises(MMDataError, match="column 'x' must be numeric"):
        wf.bind({"x": np.array(list("abcdefghij"))}, N, G, True)
    with pytest.raises(MMDataError, match="group size n has shape"):
        wf.bind({"x": X}, N[:2], G, True)
    with pytest.raises(MMDataError, match="sorted by group"):
        wf.bind({"x": X}, N, G[::-1], True)


# ----------------------------------------------------------------------------- coalgov
@pytest.fixture(scope="module")
def coalgov() -> pd.DataFrame:
    path = SHARED / "data" / "coalgov.csv"
    if not path.exists():
        pytest.skip(f"real data not available: {path} (../shared is absent)")
    df = pd.read_csv(path).sort_values(["gid", "pid"], ignore_index=True)
    df["size"] = df.groupby("gid").pid.transform("size").astype(float)
    return df


def _bind_coalgov(df: pd.DataFrame, expr: str, normalize: bool):
    wf = compile_weight_function(f"w ~ {expr}", columns=df.columns)
    code = pd.factorize(df.gid, sort=True)[0]
    return wf.bind({c: df[c].to_numpy(float) for c in wf.columns}, df["size"].to_numpy(), code,
                   normalize)  # fmt: skip


def test_coalgov_weight_functions_match_pandas(coalgov: pd.DataFrame) -> None:
    df, by = coalgov, coalgov.groupby("gid").pseat
    b0, b1 = -0.5, 0.6
    theta = np.array([b0, b1])

    def norm(s: pd.Series) -> np.ndarray:
        return (s / s.groupby(df.gid).transform("sum")).to_numpy()

    cases = {
        ("1/n", True): 1 / df["size"],
        ("1 / n", False): 1 / df["size"],
        ("ilogit(b0 + b1 * pseat)", True): norm(pd.Series(special.expit(b0 + b1 * df.pseat))),
        ("cohesion == max(cohesion)", False): (
            df.cohesion == df.groupby("gid").cohesion.transform("max")
        ).astype(float),
        ("b1 * min(pseat) + (1 - b1) * max(pseat)", False): b1 * by.transform("min")
        + (1 - b1) * by.transform("max"),
        ("quantile(pseat, 0.75) / max(pseat)", False): by.transform(lambda s: s.quantile(0.75))
        / by.transform("max"),
        ("1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat)))", True): norm(
            1 / (1 + (df["size"] - 1) * np.exp(-(b0 + b1 * df.pseat)))
        ),
        ("1 / (1 + (n - 1) * exp(-b0))", False): 1 / (1 + (df["size"] - 1) * np.exp(-b0)),
    }
    for (expr, normalize), expected in cases.items():
        bw = _bind_coalgov(df, expr, normalize)
        th = theta[: len(bw.params)] if bw.params != ("b1",) else theta[1:]
        w, dw = bw(th)
        np.testing.assert_allclose(w, np.asarray(expected, float), rtol=1e-12, err_msg=expr)
        bw.check(th)
        if bw.params:
            np.testing.assert_allclose(dw, _fd(bw, th), rtol=1e-5, atol=1e-8, err_msg=expr)
