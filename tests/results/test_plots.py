"""Tests for mmreg.results.plots: the figures show the numbers they are given."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection, PolyCollection
from matplotlib.figure import Figure
from scipy.stats import gaussian_kde

from mmreg.errors import MMDataError
from mmreg.results import plots


def _shortest_interval(v: np.ndarray, prob: float) -> tuple[float, float]:
    """Brute-force shortest interval holding round(n * prob) + 1 sorted draws."""
    v = np.sort(v)
    g = int(round(v.size * prob))
    widths = [v[i + g] - v[i] for i in range(v.size - g)]
    i = int(np.argmin(widths))
    return v[i], v[i + g]


@pytest.fixture
def samples() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.gamma(3.0, 0.4, size=(3, 400)) - 0.3  # skewed, straddles zero


def _chain_lines(ax):
    return [ln for ln in ax.get_lines() if ln.get_label().startswith("chain")]


def test_plot_posterior_density_hpd_lines_and_trace(samples):
    fig = plots.plot_posterior(samples, "b.mm.1", prob=0.9)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    ax_d, ax_t = fig.axes
    assert "b.mm.1" in ax_d.get_title()
    # density curve is scipy's Gaussian KDE of the pooled draws
    (dens,) = [ln for ln in ax_d.get_lines() if ln.get_label() == "density"]
    xs, ys = dens.get_data()
    np.testing.assert_allclose(ys, gaussian_kde(samples.ravel())(xs), rtol=1e-10)
    # the shaded region spans exactly the 90% HPD interval
    (poly,) = [c for c in ax_d.collections if isinstance(c, PolyCollection)]
    verts = poly.get_paths()[0].vertices
    lo, hi = _shortest_interval(samples.ravel(), 0.9)
    assert verts[:, 0].min() == pytest.approx(lo) and verts[:, 0].max() == pytest.approx(hi)
    assert verts[:, 1].max() <= ys.max() + 1e-12
    # solid zero line and dashed median line in both panels
    for ax in (ax_d, ax_t):
        (zero,) = [ln for ln in ax.get_lines() if ln.get_label() == "zero"]
        (med,) = [ln for ln in ax.get_lines() if ln.get_label() == "median"]
        assert zero.get_xdata()[0] == 0.0 and zero.get_linestyle() == "-"
        assert med.get_xdata()[0] == pytest.approx(np.median(samples))
        assert med.get_linestyle() == "--"
    # trace: one line per chain, value on x, iteration on y
    lines = _chain_lines(ax_t)
    assert len(lines) == samples.shape[0]
    for chain, ln in zip(samples, lines, strict=True):
        np.testing.assert_array_equal(ln.get_xdata(), chain)
        np.testing.assert_array_equal(ln.get_ydata(), np.arange(1, samples.shape[1] + 1))
    assert "3 chains" in ax_t.get_ylabel()
    # bml's axis limits: 0.1% / 99.9% quantiles padded by 5% of their range
    q = np.quantile(samples.ravel(), [0.001, 0.999])
    pad = 0.05 * (q[1] - q[0])
    np.testing.assert_allclose(ax_d.get_xlim(), [q[0] - pad, q[1] + pad])


def test_plot_posterior_quantile_ticks_and_given_axes(samples):
    host = Figure()
    axes = host.subplots(2, 1)
    fig = plots.plot_posterior(samples, "x", ax=axes)
    assert fig is host
    ticks = axes[1].get_xticks()
    q = np.quantile(samples.ravel(), [0.05, 0.5, 0.95])
    for v in q:
        assert np.min(np.abs(ticks - v)) < 1e-12
    labels = [t.get_text() for t in axes[1].get_xticklabels()]
    assert any("(5%)" in s for s in labels) and any("(95%)" in s for s in labels)


def test_plot_trace_one_line_per_chain_per_parameter():
    rng = np.random.default_rng(1)
    draws = {"a": rng.normal(size=(2, 50)), "b": rng.normal(size=(4, 50)), "c": np.ones((2, 50))}
    fig = plots.plot_trace(draws, names=["b", "a"])
    assert len(fig.axes) == 4
    for row, name in enumerate(["b", "a"]):
        ax_d, ax_t = fig.axes[2 * row], fig.axes[2 * row + 1]
        assert ax_d.get_ylabel() == name
        assert len(ax_d.get_lines()) == len(ax_t.get_lines()) == draws[name].shape[0]
        for chain, ln in zip(draws[name], ax_t.get_lines(), strict=True):
            np.testing.assert_array_equal(ln.get_ydata(), chain)
    with pytest.raises(MMDataError, match="'zz'"):
        plots.plot_trace(draws, names=["zz"])


def test_plot_caterpillar_sorted_points_and_intervals():
    df = pd.DataFrame(
        {"mean": [0.3, -1.0, 2.0, 0.1], "lower": [0, -2, 1, -0.5], "upper": [1, 0, 3, 0.4]},
        index=["p1", "p2", "p3", "p4"],
    )
    fig = plots.plot_caterpillar(df, title="Party REs")
    (ax,) = fig.axes
    (pts,) = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    np.testing.assert_array_equal(pts.get_xdata(), [-1.0, 0.1, 0.3, 2.0])
    np.testing.assert_array_equal(pts.get_ydata(), [0, 1, 2, 3])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["p2", "p4", "p1", "p3"]
    (segs,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    ends = np.array([[s[0, 0], s[1, 0]] for s in segs.get_segments()])
    np.testing.assert_array_equal(ends, [[-2, 0], [-0.5, 0.4], [0, 1], [1, 3]])
    assert ax.get_title() == "Party REs"


def test_plot_weights_positions_and_colour_by_group_size():
    df = pd.DataFrame(
        {
            "x": [0.1, 0.5, 0.9, 0.3],
            "weight": [0.5, 0.25, 0.2, 0.5],
            "lower": [0.4, 0.2, 0.1, 0.45],
            "upper": [0.6, 0.3, 0.3, 0.55],
            "n": [2, 4, 5, 2],
        }
    )
    fig = plots.plot_weights(df)
    ax = fig.axes[0]
    (sc,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_array_equal(sc.get_offsets(), df[["x", "weight"]].to_numpy())
    np.testing.assert_array_equal(sc.get_array(), df["n"].to_numpy())
    assert len(fig.axes) == 2 and "group size" in fig.axes[1].get_ylabel()  # colour bar
    (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    ends = np.array([[s[0, 1], s[1, 1]] for s in bars.get_segments()])
    np.testing.assert_array_equal(ends, df[["lower", "upper"]].to_numpy())
    with pytest.raises(MMDataError, match=r"\['n'\]"):
        plots.plot_weights(df.drop(columns="n"))


def test_plot_var_decomp_bars_and_error_bars():
    df = pd.DataFrame(
        {"share": [0.2, 0.5, 0.3], "lower": [0.1, 0.4, 0.25], "upper": [0.35, 0.6, 0.4]},
        index=["mm1", "hm1", "residual"],
    )
    fig = plots.plot_var_decomp(df)
    (ax,) = fig.axes
    np.testing.assert_allclose([p.get_height() for p in ax.patches], df["share"])
    (err,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    ends = np.array([sorted([s[0, 1], s[1, 1]]) for s in err.get_segments()])
    np.testing.assert_allclose(ends, df[["lower", "upper"]].to_numpy())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["mm1", "hm1", "residual"]
    bad = df.assign(lower=[0.3, 0.4, 0.25])
    with pytest.raises(MMDataError, match="lower <= share <= upper"):
        plots.plot_var_decomp(bad)


def test_plot_coefficients_side_by_side():
    m1 = pd.DataFrame(
        {"coef": [1.0, 0.5, -0.2], "lower": [0.5, 0.1, -0.6], "upper": [1.5, 0.9, 0.2]},
        index=["Intercept", "majority", "mm1.x"],
    )
    m2 = pd.DataFrame(
        {"coef": [0.4, 1.1], "lower": [0.0, 0.6], "upper": [0.8, 1.6]},
        index=["majority", "Intercept"],
    )
    fig = plots.plot_coefficients({"RE": m1, "no RE": m2})
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["RE", "no RE"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Intercept", "majority", "mm1.x"]
    pts = {ln.get_label(): ln for ln in ax.get_lines() if ln.get_marker() == "o"}
    np.testing.assert_array_equal(pts["RE"].get_xdata(), [1.0, 0.5, -0.2])
    np.testing.assert_array_equal(pts["no RE"].get_xdata(), [0.4, 1.1])
    y1, y2 = pts["RE"].get_ydata(), pts["no RE"].get_ydata()
    # each point sits in its own term's row, the two models offset from each other
    np.testing.assert_allclose(np.round(y1), [0, 1, 2])
    np.testing.assert_allclose(np.round(y2), [1, 0])
    assert y1[0] != y2[1] and abs(y1[0] - y2[1]) < 0.5
    with pytest.raises(MMDataError, match="'no RE'.*coef"):
        plots.plot_coefficients({"no RE": m2.rename(columns={"coef": "estimate"})})
