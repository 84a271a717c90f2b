"""Tests for the group aggregates of weight functions (mmreg.formula.wagg).

References: values computed by hand on a three-group data set (the R results of the same
calls: ``quantile(c(3, 1, 3, 2), 0.1)`` is 1.3 (type 7), ``var(c(4, 2, 4, 2, 7))`` is 4.2,
...), numpy's per-group ``np.quantile`` (method "linear" = R type 7) in a loop over groups,
and central finite differences for derivatives through aggregates.
"""

from __future__ import annotations

import numpy as np
import pytest

from mmreg.errors import MMDataError
from mmreg.formula.wagg import Groups
from mmreg.formula.weights import compile_weight_function

# three groups of sizes 4, 5, 1; rows in the order given (first/last refer to it)
X = np.array([3.0, 1.0, 3.0, 2.0, 4.0, 2.0, 4.0, 2.0, 7.0, 6.0])
G = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 2])
N = np.array([4.0, 4, 4, 4, 5, 5, 5, 5, 5, 1])
SIZES = [4, 5, 1]


def evaluate(expr: str, theta=(), x=X, group=G, n=N, derivative=True):
    bound = compile_weight_function(expr).bind({"x": x}, n, group, normalize=False)
    return bound(np.array(theta, float), derivative=derivative)


def per_group(a, b, c) -> np.ndarray:
    return np.repeat([a, b, c], SIZES)


@pytest.mark.parametrize(
    ("expr", "by_group"),
    [
        ("min(x)", (1, 2, 6)),
        ("max(x)", (3, 7, 6)),
        ("sum(x)", (9, 19, 6)),
        ("mean(x)", (2.25, 3.8, 6)),
        ("median(x)", (2.5, 4, 6)),  # even size: mean of the two middle values
        ("mode(x)", (3, 2, 6)),  # group 2: 2 and 4 both twice -> the smallest
        ("var(x)", (2.75 / 3, 4.2, 0)),  # n - 1 denominator; a size-1 group gives 0
        ("sd(x)", (np.sqrt(2.75 / 3), np.sqrt(4.2), 0)),
        ("range(x)", (2, 5, 0)),
        ("first(x)", (3, 4, 6)),  # first row in the order given
        ("last(x)", (2, 7, 6)),
        ("quantile(x, 0.1)", (1.3, 2, 6)),  # R type 7: 1 + 0.3 * (2 - 1)
        ("quantile(x, 0.75)", (3, 4, 6)),
        ("quantile(x, probs = 0.9)", (3, 5.8, 6)),  # 4 + 0.6 * (7 - 4)
        ("quantile(x, 0)", (1, 2, 6)),
        ("quantile(x, 1)", (3, 7, 6)),
        ("max(x, na.rm = TRUE)", (3, 7, 6)),
        ("sum(1)", (4, 5, 1)),
        ("mean(n)", (4, 5, 1)),
        ("max(x) - x", None),
    ],
)
def test_aggregates_hand_computed(expr: str, by_group) -> None:
    w, dw = evaluate(expr)
    assert dw is None
    expected = per_group(3, 7, 6) - X if by_group is None else per_group(*by_group)
    np.testing.assert_allclose(w, expected, rtol=1e-14)


def test_quantile_matches_numpy_type7_per_group() -> None:
    rng = np.random.default_rng(4)
    sizes = rng.integers(1, 9, size=40)
    group = np.repeat(np.arange(40), sizes)
    x = rng.normal(size=group.size).round(1)  # rounding creates ties
    n = np.repeat(sizes, sizes).astype(float)
    for p in (0.0, 0.13, 0.25, 0.5, 0.75, 0.999, 1.0):
        got = evaluate(f"quantile(x, {p})", x=x, group=group, n=n)[0]
        want = np.concatenate(
            [np.full(s, np.quantile(x[group == g], p)) for g, s in enumerate(sizes)]
        )
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_group_codes_may_skip_values_and_need_not_start_at_zero() -> None:
    w = evaluate("sum(x)", group=G + 3 * (G > 0))[0]  # codes 0, 4, 5
    np.testing.assert_array_equal(w, per_group(9, 19, 6))


def test_nan_in_a_group_makes_its_aggregates_nan() -> None:
    x = X.copy()
    x[5] = np.nan
    for agg in ("min", "max", "sum", "mean", "median", "mode", "var", "sd"):
        w = evaluate(f"{agg}(x)", x=x)[0]
        assert np.isnan(w[4:9]).all(), agg
        assert np.isfinite(w[:4]).all() and np.isfinite(w[9]), agg


@pytest.mark.parametrize(
    "expr",
    [
        "sum(b0 * x + b1)",
        "mean(exp(b0 * x))",
        "min(b0 * x + b1 * x^2)",  # ties in x: the first tied row is selected
        "max(b0 * x + b1 * x^2)",
        "first(b0 * x) + last(b1 * x^2)",
        "var(b0 * x^2 + b1 * x)",
        "sd(b0 * x^2 + b1)",  # size-1 group: sd == 0, derivative 0
        "median(exp(b0 * x))",
        "quantile(b0 * x + b1 * x^2, 0.3)",
        "quantile(b1 * x, 0.75)",
        "range(b0 * x^2)",
        "mode(b0 * x) + b1",
        "x / sum(b0 * x) * mean(b1 + x)",
    ],
)
def test_aggregate_derivatives_match_finite_differences(expr: str) -> None:
    theta, h = np.array([0.7, 0.3]), 1e-6
    names = compile_weight_function(expr).params
    th = np.array([theta[int(p[1:])] for p in names])
    w, dw = evaluate(expr, th)
    fd = np.array(
        [
            (evaluate(expr, th + h * e, derivative=False)[0]
             - evaluate(expr, th - h * e, derivative=False)[0]) / (2 * h)
            for e in np.eye(th.size)
        ]
    )  # fmt: skip
    np.testing.assert_allclose(dw, fd, rtol=1e-6, atol=1e-8)


def test_selected_element_derivative_for_min_max_mode() -> None:
    # d/db0 min(b0 * x) is the selected row's x; with b0 < 0 that is the row of max(x)
    w, dw = evaluate("min(b0 * x)", (-1.0,))
    np.testing.assert_array_equal(w, -per_group(3, 7, 6))
    np.testing.assert_array_equal(dw[0], per_group(3, 7, 6))
    w, dw = evaluate("mode(b0 * x)", (2.0,))
    np.testing.assert_array_equal(w, per_group(6, 4, 12))
    np.testing.assert_array_equal(dw[0], per_group(3, 2, 6))


def test_groups_rejects_unsorted_or_bad_codes() -> None:
    with pytest.raises(MMDataError, match="sorted by group"):
        Groups(np.array([0, 1, 0]), "fn of mm1")
    with pytest.raises(MMDataError, match="integer"):
        Groups(np.array([0.0, 1.0]), "fn of mm1")
    with pytest.raises(MMDataError, match="non-empty"):
        Groups(np.array([], dtype=int), "fn of mm1")
