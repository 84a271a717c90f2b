"""Tests of mmreg.datasets.simulate_coalitions: structure, determinism, truth, recovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lifelines import CoxPHFitter, WeibullAFTFitter
from scipy import stats
from statsmodels.discrete.conditional_models import ConditionalLogit

import mmreg.datasets._structure as structure
from mmreg.datasets import simulate_coalitions
from mmreg.errors import MMSpecError

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
GROUP_COLS = [
    "n",
    "majority",
    "mwc",
    "investiture",
    "y",
    "dur",
    "event",
    "chosen",
    "opportunity",
    "cid",
    "cname",
]
#: coalgov: number of governments with 2..9 parties (checked against the file below).
COALGOV_SIZES = np.array([218, 141, 179, 62, 14, 7, 4, 3])


def check_structure(df: pd.DataFrame) -> None:
    g = df.groupby("gid")
    assert df["n"].between(2, 9).all()
    assert (g.size() == g["n"].first()).all()
    assert not df.duplicated(["gid", "pid"]).any()
    assert (df["pseat"] > 0).all()
    np.testing.assert_allclose(g["pseat"].sum(), 1.0, rtol=1e-12)
    assert (g[GROUP_COLS].nunique() == 1).all().all()
    assert (df.groupby("pid")[["cid", "cohesion", "finance", "rile"]].nunique() == 1).all().all()
    assert (df["cname"] == df["cid"].map(lambda c: f"C{c:02d}")).all()
    groups = g[["opportunity", "cid", "chosen"]].first()
    opp = groups.groupby("opportunity")
    assert opp.size().between(2, 6).all()
    assert (opp["chosen"].sum() == 1).all()
    assert (opp["cid"].nunique() == 1).all()
    assert set(df["event"]) <= {0, 1} and (df["dur"] > 0).all()
    for col in ["cohesion", "finance", "rile"]:
        assert abs(df[col].mean()) < 1e-12 and df[col].std() == pytest.approx(1.0, abs=1e-12)
    key = df["gid"].to_numpy() * (df["pid"].max() + 1) + df["pid"].to_numpy()
    assert (np.diff(key) > 0).all()  # sorted by gid then pid


@pytest.mark.parametrize(
    "args",
    [
        dict(),
        dict(n_groups=3000, n_members=60, n_countries=10),
        dict(n_groups=40, n_members=40, n_countries=20),
    ],
)
def test_structure(args):
    df = simulate_coalitions(seed=11, **args)
    check_structure(df)
    n_groups = args.get("n_groups", 628)
    assert df["gid"].nunique() == n_groups and sorted(df["gid"].unique()) == list(
        range(1, n_groups + 1)
    )
    assert df["cid"].nunique() == args.get("n_countries", 29)
    assert df["pid"].nunique() <= args.get("n_members", 312)


def test_structure_exact_fallback(monkeypatch):
    # No rejection rounds: every group is filled by weighted sampling without replacement.
    monkeypatch.setattr(structure, "_MAX_REJECTION_ROUNDS", 0)
    check_structure(simulate_coalitions(n_groups=500, n_members=50, n_countries=10, seed=2))


def test_group_sizes_follow_coalgov():
    # Many parties per country, so no size is capped: sizes ~ coalgov's frequencies.
    df = simulate_coalitions(n_groups=20000, n_members=3000, n_countries=5, seed=3)
    counts = df.groupby("gid")["n"].first().value_counts().reindex(range(2, 10), fill_value=0)
    expected = COALGOV_SIZES / COALGOV_SIZES.sum() * counts.sum()
    assert stats.chisquare(counts.to_numpy(), expected).pvalue > 1e-3


@pytest.mark.skipif(not (SHARED / "data" / "coalgov.csv").exists(), reason="../shared absent")
def test_coalgov_size_counts_are_coalgov():
    coalgov = pd.read_csv(SHARED / "data" / "coalgov.csv")
    counts = coalgov.groupby("gid")["n"].first().value_counts().sort_index()
    np.testing.assert_array_equal(counts.to_numpy(), COALGOV_SIZES)
    np.testing.assert_array_equal(structure.SIZE_COUNTS, COALGOV_SIZES)


def test_seed_determinism():
    a = simulate_coalitions(family="weibull", weights="estimated", seed=7)
    b = simulate_coalitions(family="weibull", weights="estimated", seed=7)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.attrs["truth"] == b.attrs["truth"]
    pd.testing.assert_series_equal(a.attrs["re"]["mm1"], b.attrs["re"]["mm1"], check_exact=True)
    assert a.attrs["re"] == b.attrs["re"] and a.attrs["weights"] == b.attrs["weights"]
    c = simulate_coalitions(family="weibull", weights="estimated", seed=8)
    assert a.attrs["re"] != c.attrs["re"]
    assert not a["dur"].head(50).equals(c["dur"].head(50))
    d, e = simulate_coalitions(), simulate_coalitions()
    assert not np.array_equal(d["pseat"].head(50), e["pseat"].head(50))


EQ = "fn = fn(w ~ 1/n, c = TRUE)"
EST = "fn = fn(w ~ 1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat))), c = TRUE)"
HM = ' + hm(id = id(cid), type = "RE")'


@pytest.mark.parametrize(
    "family, opts, keys, formula",
    [
        (
            "gaussian",
            {},
            ["Intercept", "majority", "mm1.finance", "sigma.mm1", "sigma.hm1", "sigma"],
            f"y ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), {EQ}, RE = TRUE){HM}",
        ),
        (
            "Weibull",
            {},
            ["Intercept", "majority", "mm1.finance", "sigma.mm1", "sigma.hm1", "shape"],
            f"Surv(dur, event) ~ 1 + majority + mm(id = id(pid, gid), vars = "
            f"vars(finance), {EQ}, RE = TRUE){HM}",
        ),
        (
            "binomial",
            {"weights": "estimated", "country_re": False},
            ["Intercept", "majority", "mm1.finance", "mm1.w.b0", "mm1.w.b1", "sigma.mm1"],
            f"y ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), {EST}, RE = TRUE)",
        ),
        (
            "cox",
            {"member_re": False},
            ["majority", "mm1.finance", "sigma.hm1"],
            f"Surv(dur, event) ~ 0 + majority + mm(id = id(pid, gid), vars = vars(finance), {EQ}, "
            f"RE = FALSE){HM}",
        ),
        (
            "CLOGIT",
            {"weights": "sum"},
            ["majority", "mm1.finance", "sigma.mm1"],
            "chosen ~ 0 + majority + mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1, "
            "c = FALSE), RE = TRUE) + strata(opportunity)",
        ),
    ],
)
def test_truth_keys_and_formula(family, opts, keys, formula):
    df = simulate_coalitions(
        n_groups=100, n_members=40, n_countries=5, family=family, seed=1, **opts
    )
    assert list(df.attrs["truth"]) == keys
    assert df.attrs["formula"] == formula
    assert df.attrs["family"] == family.lower()
    expected_re = {k for k, sd in [("mm1", "sigma.mm1"), ("hm1", "sigma.hm1")] if sd in keys}
    assert set(df.attrs["re"]) == expected_re


def test_attrs_survive_pandas_operations():
    # pandas compares attrs with == when propagating them (concat); must not raise.
    df = simulate_coalitions(n_groups=60, n_members=30, n_countries=3, seed=1)
    both = pd.concat([df.copy(), df.copy()])
    assert len(both) == 2 * len(df) and both.attrs["truth"] == df.attrs["truth"]
    assert both.attrs["re"] == df.attrs["re"]
    parts = pd.DataFrame({"a": df["finance"] * 2.0}).groupby(df["gid"]).sum()
    np.testing.assert_allclose(parts["a"], 2.0 * df.groupby("gid")["finance"].sum())


def test_truth_defaults_and_overrides():
    df = simulate_coalitions(seed=1, weights="estimated", **{"mm1.w.b1": 2.5, "sigma": 0.5})
    assert df.attrs["truth"]["mm1.w.b1"] == 2.5 and df.attrs["truth"]["sigma"] == 0.5
    assert df.attrs["truth"]["mm1.w.b0"] == -1.0 and df.attrs["truth"]["Intercept"] == 5.7


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"shape": 1.0}, r"'shape'"),
        ({"member_re": False, "sigma.mm1": 1.0}, r"'sigma.mm1'.*member_re=False"),
        ({"family": "cox", "Intercept": 1.0}, r"'Intercept'"),
        ({"bogus": 1.0}, r"'bogus'"),
        ({"sigma": -1.0}, r"'sigma' must be positive"),
        ({"majority": float("nan")}, r"'majority' must be a finite"),
        ({"family": "poisson"}, r"unknown family 'poisson'"),
        ({"weights": "mean"}, r"unknown weights 'mean'"),
        ({"n_members": 10, "n_countries": 6}, r"n_members must be an integer >= 12"),
        ({"n_groups": 10.5}, r"n_groups must be an integer"),
        ({"n_groups": 50, "n_countries": 29}, r"n_groups must be an integer >= 58"),
        ({"seed": -3}, r"seed must be None"),
        ({"weights": ["equal"]}, r"unknown weights"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(MMSpecError, match=match):
        simulate_coalitions(**kwargs)


def true_weights(df: pd.DataFrame, weights: str, truth: dict) -> pd.Series:
    """Weights computed from their definitions, independently of the module."""
    if weights == "sum":
        return pd.Series(1.0, index=df.index)
    if weights == "equal":
        return 1.0 / df["n"]
    raw = 1 / (1 + (df["n"] - 1) * np.exp(-(truth["mm1.w.b0"] + truth["mm1.w.b1"] * df["pseat"])))
    return raw / raw.groupby(df["gid"]).transform("sum")


def group_data(df: pd.DataFrame, weights: str) -> pd.DataFrame:
    """One row per group: outcomes, majority, weighted finance and the true RE part."""
    truth = df.attrs["truth"]
    w = true_weights(df, weights, truth)
    np.testing.assert_allclose(df.attrs["weights"]["mm1"], w, rtol=1e-12)
    re = df.attrs["re"]
    u = df["pid"].map(re["mm1"]) if "mm1" in re else 0.0
    v = df["cid"].map(re["hm1"]) if "hm1" in re else 0.0
    parts = pd.DataFrame({"wfin": w * df["finance"], "re": w * u + v / df["n"]})
    out = parts.groupby(df["gid"]).sum()
    cols = ["majority", "y", "dur", "event", "chosen", "opportunity"]
    return out.join(df.groupby("gid")[cols].first())


@pytest.mark.parametrize("weights", ["equal", "estimated", "sum"])
def test_gaussian_linear_predictor_is_exact(weights):
    df = simulate_coalitions(
        n_groups=300, n_members=100, n_countries=8, weights=weights, seed=4, sigma=0.0
    )
    t, g = df.attrs["truth"], group_data(df, weights)
    eta = t["Intercept"] + t["majority"] * g["majority"] + t["mm1.finance"] * g["wfin"] + g["re"]
    np.testing.assert_allclose(g["y"], eta, rtol=1e-12)


def test_random_effects_match_sigmas():
    df = simulate_coalitions(n_groups=6000, n_members=2000, n_countries=200, seed=5)
    t, re = df.attrs["truth"], df.attrs["re"]
    assert list(re["mm1"].index) == sorted(df["pid"].unique())
    assert list(re["hm1"].index) == list(range(1, 201))
    for key, name in [("mm1", "sigma.mm1"), ("hm1", "sigma.hm1")]:
        n = re[key].size  # SD of a normal sample SD ~ sigma / sqrt(2 (n - 1))
        assert abs(re[key].std() - t[name]) < 4 * t[name] / np.sqrt(2 * (n - 1))
    g = group_data(df, "equal")
    resid = (
        g["y"]
        - t["Intercept"]
        - t["majority"] * g["majority"]
        - t["mm1.finance"] * g["wfin"]
        - g["re"]
    )
    assert abs(resid.std() - t["sigma"]) < 4 * t["sigma"] / np.sqrt(2 * (resid.size - 1))
    assert abs(resid.mean()) < 4 * t["sigma"] / np.sqrt(resid.size)


def within(estimate, se, truth):
    estimate, se, truth = (np.asarray(x, dtype=float) for x in (estimate, se, truth))
    assert (np.abs(estimate - truth) < 4 * se).all(), (estimate, se, truth)


SIZES = dict(n_groups=4000, n_members=800, n_countries=40)


def test_recovery_gaussian_ols():
    df = simulate_coalitions(**SIZES, seed=21)
    t, g = df.attrs["truth"], group_data(df, "equal")
    fit = sm.OLS(g["y"], sm.add_constant(g[["majority", "wfin", "re"]])).fit()
    within(fit.params, fit.bse, [t["Intercept"], t["majority"], t["mm1.finance"], 1.0])
    sigma_se = t["sigma"] / np.sqrt(2 * fit.df_resid)
    within(np.sqrt(fit.scale), sigma_se, t["sigma"])


def test_recovery_binomial_logit():
    # Strong effects and many groups, so that a 20% error in eta's scale is > 4 SE.
    strong = {
        "Intercept": -0.5,
        "majority": 1.5,
        "mm1.finance": 1.0,
        "sigma.mm1": 1.0,
        "sigma.hm1": 1.0,
    }
    df = simulate_coalitions(
        n_groups=10000,
        n_members=2000,
        n_countries=50,
        family="binomial",
        weights="estimated",
        seed=22,
        **strong,
    )
    t, g = df.attrs["truth"], group_data(df, "estimated")
    fit = sm.Logit(g["y"], sm.add_constant(g[["majority", "wfin", "re"]])).fit(disp=0)
    within(fit.params, fit.bse, [t["Intercept"], t["majority"], t["mm1.finance"], 1.0])


def test_recovery_weibull_aft():
    df = simulate_coalitions(**SIZES, family="weibull", seed=23)
    t, g = df.attrs["truth"], group_data(df, "equal")
    assert abs(g["event"].mean() - 0.4) < 4 * np.sqrt(0.24 / len(g))
    fit = WeibullAFTFitter().fit(g[["dur", "event", "majority", "wfin", "re"]], "dur", "event")
    lam = fit.params_["lambda_"]
    se = fit.standard_errors_["lambda_"]
    names = ["Intercept", "majority", "wfin", "re"]
    within(lam[names], se[names], [t["Intercept"], t["majority"], t["mm1.finance"], 1.0])
    log_rho = fit.params_["rho_"]["Intercept"]
    within(log_rho, fit.standard_errors_["rho_"]["Intercept"], np.log(t["shape"]))


def test_recovery_cox():
    df = simulate_coalitions(**SIZES, family="cox", weights="estimated", seed=24)
    t, g = df.attrs["truth"], group_data(df, "estimated")
    cols = ["majority", "wfin", "re"]
    fit = CoxPHFitter().fit(g[["dur", "event", *cols]], "dur", "event")
    within(fit.params_[cols], fit.standard_errors_[cols], [t["majority"], t["mm1.finance"], 1.0])
    # The baseline is Weibull, so an AFT fit gives shape r and coefficients -beta / r.
    base = df.attrs["baseline"]
    aft = WeibullAFTFitter().fit(g[["dur", "event", *cols]], "dur", "event")
    r = base["shape"]
    within(
        aft.params_["lambda_"][["Intercept", *cols]],
        aft.standard_errors_["lambda_"][["Intercept", *cols]],
        [np.log(base["scale"]), -t["majority"] / r, -t["mm1.finance"] / r, -1.0 / r],
    )
    within(aft.params_["rho_"]["Intercept"], aft.standard_errors_["rho_"]["Intercept"], np.log(r))


@pytest.mark.slow
def test_recovery_clogit():
    strong = {"majority": 1.5, "mm1.finance": 1.0, "sigma.mm1": 1.0}
    df = simulate_coalitions(
        n_groups=8000,
        n_members=1600,
        n_countries=40,
        family="clogit",
        weights="sum",
        seed=25,
        **strong,
    )
    t, g = df.attrs["truth"], group_data(df, "sum")
    assert "hm1" not in df.attrs["re"]  # constant within choice sets: cancels
    cols = ["majority", "wfin", "re"]
    fit = ConditionalLogit(g["chosen"], g[cols], groups=g["opportunity"]).fit(disp=0)
    within(fit.params, fit.bse, [t["majority"], t["mm1.finance"], 1.0])
