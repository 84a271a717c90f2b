"""Random walks ordered by a time column, ``re(1, ar = <column>)`` (issue #15).

u_t ~ N(u_{t-1}, σ² Δt / mean Δt), u_first ~ N(0, σ²), in mm() (a member's successive
groups, member-level time) and hm() (a unit's successive groups, group-level time).
References, all independent of the code under test: the walk's covariance written out
from its definition (σ² times the cumulative scaled gaps), the dense multivariate normal
density of y, bml's ``ar = TRUE`` fit (equal gaps), and simulations with known truth.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mmreg
from mmreg.errors import MMDataError, MMWarning
from mmreg.inference.laplace import _Objective
from tests.inference.test_gradient import _numeric

MM_AR = (
    "y ~ 1 + majority + mm(id = id(pid, gid), vars = NULL, fn = fn(w ~ 1/n, c = TRUE), "
    "RE = re(1, ar = {t})) + hm(id = id(cid), type = 'RE')"
)
HM_AR = (
    "y ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE),"
    " RE = FALSE) + hm(id = id(cid), RE = re(1, ar = {t}))"
)


def _data(n_groups=40, n_members=12, n_countries=3, seed=3, gap_shape=0.7) -> pd.DataFrame:
    """Simulated coalitions with an irregular calendar: a group's time (``year``) is the
    cumulative sum of Gamma gaps in group-id order (unique, so unique within every unit)."""
    df = mmreg.datasets.simulate_coalitions(
        n_groups=n_groups, n_members=n_members, n_countries=n_countries, seed=seed
    )
    rng = np.random.default_rng(seed + 100)
    gids = np.sort(df["gid"].unique())
    times = pd.Series(np.cumsum(rng.gamma(gap_shape, 1.0, len(gids))), index=gids)
    return df.assign(year=df["gid"].map(times))


def _walk_cov(sd: float, unit: np.ndarray, time: np.ndarray) -> np.ndarray:
    """σ² (1 + Σ of the scaled gaps up to the earlier state) within a unit, 0 across units:
    the covariance of u_t = u_first + Σ steps, written out from the definition."""
    m = len(unit)
    order = np.lexsort((time, unit))
    gaps = [
        time[order[k]] - time[order[k - 1]]
        for k in range(1, m)
        if unit[order[k]] == unit[order[k - 1]]
    ]
    mean_gap = np.mean(gaps)
    cumvar = np.zeros(m)  # variance of each state in units of σ²
    for k, i in enumerate(order):
        if k and unit[order[k - 1]] == unit[i]:
            cumvar[i] = cumvar[order[k - 1]] + (time[i] - time[order[k - 1]]) / mean_gap
        else:
            cumvar[i] = 1.0
    cov = np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            if unit[i] == unit[j]:
                cov[i, j] = sd**2 * min(cumvar[i], cumvar[j])
    return cov


def _mm_states(df: pd.DataFrame):
    """Membership rows in (gid, pid) order: group index, member id and time of each state."""
    rows = df.sort_values(["gid", "pid"])
    gidx = np.searchsorted(np.sort(df["gid"].unique()), rows["gid"].to_numpy())
    return gidx, rows["pid"].to_numpy(), rows["year"].to_numpy()


# ------------------------------------------------------------------ prior structure
@pytest.mark.parametrize("block", ["mm", "hm"])
def test_precision_and_log_determinant_match_the_written_out_walk(block):
    df = _data()
    model = mmreg.MMModel((MM_AR if block == "mm" else HM_AR).format(t="year"), df)
    lat = model.latent
    k = 0 if block == "mm" else len(lat.re_sizes) - 1
    sl = lat.re_slices[k]
    sd = np.full(len(lat.re_sizes), 0.5)
    sd[k] = 0.7
    Q = lat.prior_precision(sd)
    if block == "mm":
        _, unit, time = _mm_states(df)
    else:
        g = df.groupby("gid").first().sort_index()
        unit, time = g["cid"].to_numpy(), g["year"].to_numpy()
    cov = _walk_cov(0.7, unit, time)
    np.testing.assert_allclose(np.linalg.inv(Q[sl, sl]), cov, rtol=1e-9, atol=1e-12)
    # the full log det, including -Σ log(Δt / mean Δt) of the scaled steps
    assert lat._logdet_Q(sd) == pytest.approx(np.linalg.slogdet(Q)[1], rel=1e-12, abs=1e-9)
    steps = np.diag(cov)[np.diag(cov) > 0.7**2 + 1e-12]  # states after a first one
    assert steps.size > 5
    step = model.design.mm[0].re_step if block == "mm" else model.design.hm[0].re_step
    assert step is not None and not np.allclose(step, 1.0)
    assert np.isclose(np.mean(step[step != 1.0]), 1.0, rtol=0.2)  # scaled by the mean gap


@pytest.mark.parametrize("block", ["mm", "hm"])
def test_gaussian_log_marginal_equals_dense_normal_density(block):
    """log p(y | ψ) of the latent model = log N(y; X m, X S Xᵀ + R Σ_walk Rᵀ (+ country) + σ² I),
    with the design built here from the data, not by the model."""
    df = _data()
    model = mmreg.MMModel((MM_AR if block == "mm" else HM_AR).format(t="year"), df)
    lat = model.latent
    g = df.groupby("gid").first().sort_index()
    n = len(g)
    y = g["y"].to_numpy()
    if block == "mm":
        gidx, unit, time = _mm_states(df)
        sizes = np.bincount(gidx)
        R = np.zeros((n, len(gidx)))
        R[gidx, np.arange(len(gidx))] = 1.0 / sizes[gidx]
        X = np.column_stack([np.ones(n), g["majority"]])
        country = (g["cid"].to_numpy()[:, None] == np.unique(g["cid"])[None, :]).astype(float)
        sd_walk, sd_country, sigma = 0.6, 0.45, 0.8
        extra = sd_country**2 * country @ country.T
        hyper = model.space.unpack(np.array([sd_walk, sd_country, sigma]))
    else:
        unit, time = g["cid"].to_numpy(), g["year"].to_numpy()
        R = np.eye(n)
        fin = df.groupby("gid")["finance"].mean().sort_index().to_numpy()
        X = np.column_stack([np.ones(n), g["majority"], fin])
        sd_walk, sigma = 0.6, 0.8
        extra = 0.0
        hyper = model.space.unpack(np.array([sd_walk, sigma]))
    assert model.space.names[-1] == "sigma"
    S = np.diag(1.0 / lat.coef_prec)
    V = X @ S @ X.T + R @ _walk_cov(sd_walk, unit, time) @ R.T + extra + sigma**2 * np.eye(n)
    want = stats.multivariate_normal(X @ lat.coef_mean, V).logpdf(y)
    got = lat.mode(hyper).log_marginal
    assert got == pytest.approx(want, abs=1e-7)


# ------------------------------------------------------------------ equal gaps = ar = TRUE
def _rank_within(df: pd.DataFrame, unit: str, scale: float) -> pd.Series:
    """Time = scale × position of the row's group among the unit's groups (equal gaps)."""
    pos = df.groupby(unit)["gid"].rank(method="dense")
    return scale * pos + 1990.0


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_equal_gaps_reproduce_ar_true_exactly(scale):
    df = _data(n_groups=80, n_members=20, seed=5)
    mm_t = df.assign(t=_rank_within(df, "pid", scale))
    f_true = MM_AR.replace("RE = re(1, ar = {t})", "RE = TRUE, ar = TRUE")
    a = mmreg.MMModel(f_true, mm_t).fit()
    b = mmreg.MMModel(MM_AR.format(t="t"), mm_t).fit()
    assert b.model.design.mm[0].re_step is None  # equal gaps: unit steps, bit for bit
    pd.testing.assert_series_equal(a.params, b.params, check_exact=True)
    pd.testing.assert_series_equal(a.bse, b.bse, check_exact=True)
    # hm(): a unit's successive groups in group-id order
    hm_t = df.assign(t=_rank_within(df, "cid", scale))
    f_true = HM_AR.replace("RE = re(1, ar = {t})", "type = 'RE', ar = TRUE")
    a = mmreg.MMModel(f_true, hm_t).fit()
    b = mmreg.MMModel(HM_AR.format(t="t"), hm_t).fit()
    assert b.model.design.hm[0].re_step is None
    pd.testing.assert_series_equal(a.params, b.params, check_exact=True)


def test_time_order_differs_from_participation_order():
    """Times that reverse the group order reverse each unit's walk."""
    df = _data(n_groups=30, n_members=10, seed=2)
    df = df.assign(rev=-df["year"])
    a = mmreg.MMModel(HM_AR.format(t="year"), df).design.hm[0]
    b = mmreg.MMModel(HM_AR.format(t="rev"), df).design.hm[0]
    has = a.re_prev >= 0
    np.testing.assert_array_equal(b.re_prev[a.re_prev[has]], np.flatnonzero(has))
    assert b.re_labels == a.re_labels


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize(("family", "block"), [("gaussian", "mm"), ("binomial", "hm")])
def test_gradient_matches_finite_differences(family, block):
    df = _data(n_groups=120, n_members=30, n_countries=4, seed=8)
    if family == "binomial":
        df = df.assign(y=(df["y"] > df["y"].median()).astype(int))
    f = (MM_AR if block == "mm" else HM_AR).format(t="year")
    model = mmreg.MMModel(f, df, family=family)
    obj = _Objective(model.latent, model.space)
    u = model.posterior.start_values() + 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, grad = obj.value_and_grad(u)
        num = _numeric(obj, u)
    np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ recovery
def _simulate_walk(seed: int, sd_walk=0.5, sigma=0.3, units=6, per_unit=80):
    """hm() data with known truth: irregular gaps (Gamma(0.5), so long and short steps)."""
    rng = np.random.default_rng(seed)
    rows = []
    gid = 0
    for c in range(units):
        gaps = rng.gamma(0.5, 2.0, per_unit)  # gaps[0] is the first state's offset
        rows.append((c, 1950.0 + np.cumsum(gaps), gaps))
    mean_gap = np.concatenate([g[1:] for _, _, g in rows]).mean()
    out = []
    for c, t, gaps in rows:
        steps = np.r_[rng.normal(0, sd_walk), rng.normal(0, sd_walk * np.sqrt(gaps[1:] / mean_gap))]
        u = np.cumsum(steps)
        x = rng.normal(size=len(t))
        y = 1.0 + 0.5 * x + u + rng.normal(0, sigma, len(t))
        for ti, xi, yi in zip(t, x, y, strict=True):
            out.append({"gid": gid, "cid": c, "year": ti, "x": xi, "y": yi})
            gid += 1
    return pd.DataFrame(out)


REC = "y ~ 1 + x + hm(id = id(cid), RE = re(1, ar = year))"


def test_recovery_of_the_walk_sd_and_the_scaled_model_is_preferred():
    df = _simulate_walk(11)
    res = mmreg.MMModel(REC, df).fit()
    lo, hi = res.conf_int(0.01).loc["sigma.hm1"]
    assert lo < 0.5 < hi, (lo, hi)
    assert abs(res.params["x"] - 0.5) < 3 * res.bse["x"]
    assert abs(res.params["sigma"] - 0.3) < 0.1
    # the same data under bml's unit steps (participation order is time order here): the
    # time-scaled model has the higher marginal likelihood by a wide margin
    plain = mmreg.MMModel(REC.replace("re(1, ar = year)", "re(1, ar = TRUE)"), df).fit()
    assert res.llf > plain.llf + 5, (res.llf, plain.llf)


@pytest.mark.slow
def test_recovery_over_replications():
    """Across 20 data sets the 95% interval of sigma.hm1 covers the truth 14-20 times (a
    binomial(20, 0.95) draw falls below 14 with probability 3e-4)."""
    cover = 0
    for seed in range(20):
        res = mmreg.MMModel(REC, _simulate_walk(100 + seed, per_unit=40)).fit()
        lo, hi = res.conf_int(0.05).loc["sigma.hm1"]
        cover += lo < 0.5 < hi
    assert cover >= 14, cover


def test_mcmc_agrees_with_the_truth_and_pickles():
    df = _simulate_walk(12, units=4, per_unit=40)
    res = mmreg.MMModel(REC, df).fit(method="mcmc", draws=400, chains=2, seed=1)
    lo, hi = res.conf_int(0.01).loc["sigma.hm1"]
    assert lo < 0.5 < hi, (lo, hi)
    again = pickle.loads(pickle.dumps(res))
    pd.testing.assert_series_equal(again.params, res.params)


# ------------------------------------------------------------------ row order
@pytest.mark.parametrize("block", ["mm", "hm"])
def test_row_order_does_not_change_the_fit(block):
    df = _data(n_groups=60, n_members=15, seed=9)
    f = (MM_AR if block == "mm" else HM_AR).format(t="year")
    a = mmreg.MMModel(f, df).fit()
    shuffled = df.sample(frac=1.0, random_state=4)
    b = mmreg.MMModel(f, shuffled).fit()
    pd.testing.assert_series_equal(a.params, b.params, rtol=1e-10)
    assert shuffled.index.tolist() != df.index.tolist()


# ------------------------------------------------------------------ bad input
def _bad(df: pd.DataFrame, block: str) -> str:
    with pytest.raises(MMDataError) as info:
        mmreg.MMModel((MM_AR if block == "mm" else HM_AR).format(t="year"), df)
    return str(info.value)


@pytest.mark.parametrize("block", ["mm", "hm"])
def test_duplicate_time_in_a_unit_names_unit_and_column(block):
    df = _data()
    if block == "mm":
        pid = df["pid"].value_counts().index[0]
        gids = df.loc[df["pid"] == pid, "gid"].unique()[:2]
        df.loc[df["gid"] == gids[1], "year"] = df.loc[df["gid"] == gids[0], "year"].iloc[0]
        unit, col = int(pid), "pid"
    else:
        g = df.groupby("gid").first()
        cid = g["cid"].value_counts().index[0]
        gids = g.index[g["cid"] == cid][:2]
        df.loc[df["gid"] == gids[1], "year"] = df.loc[df["gid"] == gids[0], "year"].iloc[0]
        unit, col = int(cid), "cid"
    msg = _bad(df, block)
    assert f"unit {unit!r} (column {col!r}) of {block}1" in msg, msg
    assert "'year'" in msg and "unique within a unit" in msg


@pytest.mark.parametrize("block", ["mm", "hm"])
@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (lambda d: d.assign(year=d["year"].astype(str)), ["'year'", "not numeric"]),
        (lambda d: d.assign(year=d["year"].where(d.index != 3)), ["'year'", "missing value"]),
        (lambda d: d.drop(columns="year"), ["'year'", "not in the data"]),
        (
            lambda d: d.assign(year=pd.to_datetime(d["year"] * 1e9)),
            ["'year'", "dates/times", ".dt.year"],
        ),
        (lambda d: d.assign(year=d["year"].where(d.index != 3, np.inf)), ["'year'", "infinite"]),
    ],
)
def test_bad_time_column(block, change, needles):
    df = _data()
    msg = _bad(change(df), block)
    for n in needles + [f"re(ar = year) of {block}1"]:
        assert n in msg, (n, msg)


def test_hm_time_must_be_group_level():
    df = _data()
    df.loc[df.index[1], "year"] += 0.5  # the second row shares its group with the first
    assert df.loc[df.index[0], "gid"] == df.loc[df.index[1], "gid"]
    msg = _bad(df, "hm")
    assert "'year'" in msg and "varies within group" in msg


def test_user_data_are_not_modified():
    df = _data()
    before = df.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MMWarning)
        mmreg.MMModel(HM_AR.format(t="year"), df).fit()
    pd.testing.assert_frame_equal(df, before)


def test_summary_and_describe_name_the_time_column():
    df = _data()
    model = mmreg.MMModel(MM_AR.format(t="year"), df)
    assert "RE (AR over year)" in str(model.fit().summary())
    assert "sigma.mm1 (random walk over year, steps scaled by the gaps)" in model.describe()
    plain = mmreg.MMModel(MM_AR.replace("RE = re(1, ar = {t})", "RE = TRUE, ar = TRUE"), df)
    assert "sigma.mm1 (random walk)" in plain.describe()


@pytest.mark.parametrize("block", ["mm", "hm"])
def test_predict_does_not_need_the_time_column(block):
    # predictions match the walk's states by (unit, group), as for ar = TRUE: the order and
    # steps never enter, so new data without the time column predict exactly the same
    df = _data()
    f = (MM_AR if block == "mm" else HM_AR).format(t="year")
    res = mmreg.MMModel(f, df).fit()
    new = df[df["gid"].isin(np.sort(df["gid"].unique())[:8])]
    with_time = np.asarray(res.predict(new))
    np.testing.assert_array_equal(np.asarray(res.predict(new.drop(columns="year"))), with_time)
    np.testing.assert_allclose(with_time, np.asarray(res.predict(df))[:8], rtol=1e-12)
    linear = res.predict(new.drop(columns="year"), kind="linear")
    np.testing.assert_allclose(np.asarray(linear), np.asarray(res.predict(new, kind="linear")))
    # fitting still needs it: the walk's order and steps are the model
    with pytest.raises(MMDataError, match="year"):
        mmreg.MMModel(f, df.drop(columns="year"))
