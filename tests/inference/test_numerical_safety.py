"""Numerical safety: overflowing weight functions and extreme data never give NaN silently.

References: closed forms (``exp`` overflows above log(max float) = 709.78; a weight of a
group of size 1 under ``1/(1 + (n-1) e^...)`` is exactly 1), lifelines ``WeibullAFTFitter``
and statsmodels ``PHReg`` on the same data (all events), the equal-weights model (a special
case of the overflowing one at b1 = 0) and models without the unidentified part.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lifelines import WeibullAFTFitter
from scipy import stats

import mmreg
from mmreg.inference.laplace import fit_laplace
from mmreg.inference.mcmc import LogPosterior

SIM = {"n_groups": 150, "n_members": 60, "n_countries": 10, "seed": 3}
TRUTH = {"sigma.mm1": 1.0}
LOG_MAX = np.log(np.finfo(float).max)  # 709.78: exp(x) overflows above


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def _finite(res) -> bool:
    return bool(np.all(np.isfinite(res.params)) and np.all(np.isfinite(res.bse)))


# ------------------------------------------------------------ overflowing weight functions
@cache
def _big_data() -> pd.DataFrame:
    df = mmreg.datasets.simulate_coalitions(**SIM, **TRUTH)
    df["big"] = np.random.default_rng(0).uniform(50, 500, len(df))
    return df


def _overflow_model(
    expr: str = "exp(b1 * big)", c: str = "TRUE", stretch: float = 1.0
) -> mmreg.MMModel:
    df = _big_data()
    if stretch != 1.0:  # exp(b1 * big) overflows for |b1| > 709.78 / (500 * stretch)
        df = df.assign(big=df["big"] * stretch)
    formula = df.attrs["formula"].replace("1/n", expr).replace("c = TRUE", f"c = {c}")
    return mmreg.MMModel(formula, df)


@pytest.mark.parametrize(
    ("expr", "c"),
    [
        ("exp(b1 * big)", "TRUE"),
        ("exp(b1 * big)", "FALSE"),
        ("exp(-b1 * big)", "TRUE"),
        ("1 / (1 + exp(-b1 * big))", "TRUE"),
    ],
)
def test_laplace_with_overflowing_weights_finishes_finite(expr, c):
    # exp(b1 * big) overflows for |b1| > 709.78 / 500 = 1.42: inside the optimiser's box
    model = _overflow_model(expr, c)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = model.fit()
    except (mmreg.MMDataError, mmreg.MMSpecError) as err:  # acceptable if it names the block
        assert "mm1" in str(err)
        return
    assert _finite(res)
    # an interval may be NaN when a direction is flat, but then never silently
    if not np.all(np.isfinite(res.conf_int().to_numpy())):
        assert any(issubclass(w.category, mmreg.MMWarning) for w in caught)


def test_laplace_with_normalised_exponential_weights_reaches_the_maximum():
    # exp(b1 * big) with c = TRUE is evaluated as a softmax (no overflow anywhere), and the
    # SDs are fitted at b1 = 0 before b1 is released (it used to end in a local optimum at
    # b1 = -1.67, 0.29 below the b1 = 0 value).  At b1 = 0 the normalised weights
    # exp(0)/sum = 1/n: the equal-weights model is the special case b1 = 0, so the free
    # maximum is at least its maximum plus log N(0; 0, 100²)
    free = _quiet(_overflow_model().fit)
    df = _big_data()
    equal = _quiet(mmreg.MMModel(df.attrs["formula"], df).fit)
    bound = equal.raw.log_posterior + stats.norm.logpdf(0.0, 0.0, 100.0)
    assert free.raw.log_posterior >= bound - 1e-6


#: not of the form exp(...): no softmax, exp overflows for b1 * big > 709.78
UNSTABLE = "exp(b1 * big) / n"


def test_overflowing_weights_warn_naming_the_block_or_stay_scale_invariant():
    # big up to 5,000: exp overflows for |b1| > 0.142.  The optimiser's steps in b1 follow
    # the covariate's scale (issue #13, class 2), so it need not try overflowing points; if
    # it does, the warning names the block.  Either way the fit is the unstretched one with
    # b1 divided by 10 (b1 * big is what the model sees)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = _overflow_model(UNSTABLE, stretch=10.0).fit()
    assert all(
        "mm1" in str(w.message)
        for w in caught
        if issubclass(w.category, mmreg.MMWarning) and "overflow" in str(w.message)
    )
    assert _finite(res)
    base = _quiet(_overflow_model(UNSTABLE).fit)
    assert res.params["mm1.w.b1"] * 10.0 == pytest.approx(base.params["mm1.w.b1"], rel=1e-3)
    np.testing.assert_allclose(res.params.drop("mm1.w.b1"), base.params.drop("mm1.w.b1"), rtol=1e-4)


def _weights_defined(b1: float) -> bool:
    """Closed form: exp(b1 * big) / n normalised within governments is defined (finite,
    sums not 0 by underflow, not inf by overflow)."""
    df = _big_data()
    n = df.groupby("gid")["pid"].transform("size").to_numpy()
    with np.errstate(over="ignore", under="ignore"):
        w = pd.Series(np.exp(b1 * df["big"].to_numpy()) / n)
    sums = w.groupby(df["gid"].to_numpy()).sum()
    return bool(np.all(np.isfinite(w)) and np.all(np.isfinite(sums)) and np.all(sums > 0))


def test_mcmc_rejects_points_where_the_weights_overflow():
    model = _overflow_model(UNSTABLE)
    lap = _quiet(
        fit_laplace,
        model.posterior,
    )
    logpost = LogPosterior.from_laplace(model, lap, 0, 1)
    j = model.space.free.index("mm1.w.b1")
    checked = {True: 0, False: 0}
    for b1 in (0.5, -1.5, 1.5, 3.0, 50.0, -10.0, -50.0):
        u = lap.u.copy()
        u[j] = b1
        value = logpost(u)[0]
        defined = _weights_defined(b1)
        checked[defined] += 1
        if defined:
            assert np.isfinite(value), b1
        else:  # rejected with -inf, not NaN (NaN would poison emcee's comparisons)
            assert value == -np.inf, b1
    assert checked[True] >= 2 and checked[False] >= 3


def test_mcmc_with_overflowing_weights_keeps_only_finite_states():
    model = _overflow_model(UNSTABLE)
    res = _quiet(model.fit, method="mcmc", draws=64, tune=20, chains=2, seed=1)
    names = list(res.params.index)
    assert np.all(np.isfinite(res.draws[names].to_numpy()))
    big = _big_data()["big"].to_numpy()
    b1 = res.draws["mm1.w.b1"].to_numpy()
    # every kept state has defined weights (closed form), and the sampler moved
    assert all(_weights_defined(b) for b in np.unique(b1))
    assert np.all(b1 * big.max() < LOG_MAX)
    assert b1.std() > 0


# ----------------------------------------------------------------------- extreme data
def _sim(family: str, **kw) -> pd.DataFrame:
    return mmreg.datasets.simulate_coalitions(family=family, **{**SIM, **kw})


NO_RE = {
    "weibull": "Surv(dur, event) ~ 1 + majority + mm(id = id(pid, gid), "
    "vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE), RE = FALSE)",
    "cox": "Surv(dur, event) ~ 0 + majority + mm(id = id(pid, gid), "
    "vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE), RE = FALSE)",
}


def _group_level(df: pd.DataFrame) -> pd.DataFrame:
    """One row per government, member covariate averaged (weights 1/n)."""
    return df.groupby("gid").agg(
        dur=("dur", "first"),
        event=("event", "first"),
        majority=("majority", "first"),
        finance=("finance", "mean"),
    )


def test_weibull_all_censored_is_finite_and_shows_it_is_uninformative():
    df = _sim("weibull")
    with_events = _quiet(mmreg.MMModel(df.attrs["formula"], df, family="weibull").fit)
    censored = df.assign(event=0)
    res = _quiet(mmreg.MMModel(df.attrs["formula"], censored, family="weibull").fit)
    assert _finite(res)
    # without events the location is only bounded below: a far wider interval
    assert res.bse["Intercept"] > 10 * with_events.bse["Intercept"]
    # and it lies above the largest censoring time on the log scale
    assert res.params["Intercept"] > np.log(censored["dur"].max())


def test_weibull_all_events_matches_lifelines():
    df = _sim("weibull").assign(event=1)
    res = _quiet(mmreg.MMModel(NO_RE["weibull"], df, family="weibull").fit)
    ref = WeibullAFTFitter().fit(_group_level(df), "dur", "event").params_
    # bml's priors are near-flat; the fit integrates the coefficients out (restricted
    # likelihood), which moves the shape by O(p/n): compare in units of the SE
    pairs = {
        "Intercept": ref["lambda_", "Intercept"],
        "majority": ref["lambda_", "majority"],
        "mm1.finance": ref["lambda_", "finance"],
        "shape": np.exp(ref["rho_", "Intercept"]),
    }
    for name, value in pairs.items():
        assert abs(res.params[name] - value) < 0.25 * res.bse[name], name


def test_cox_all_censored_is_a_clear_error():
    df = _sim("cox").assign(event=0)
    with pytest.raises(mmreg.MMDataError, match="event"):
        mmreg.MMModel(df.attrs["formula"], df, family="cox").fit()


def test_cox_all_events_matches_statsmodels_phreg():
    df = _sim("cox").assign(event=1)
    res = _quiet(mmreg.MMModel(NO_RE["cox"], df, family="cox").fit)
    g = _group_level(df)
    ref = sm.PHReg(g["dur"], g[["majority", "finance"]], status=g["event"], ties="breslow").fit()
    assert _finite(res)
    for name, value in zip(["majority", "mm1.finance"], ref.params, strict=True):
        assert abs(res.params[name] - value) < 0.25 * res.bse[name], name


def test_binomial_perfect_separation_is_finite_with_wide_interval():
    df = _sim("binomial")
    sep = df.assign(y=df["majority"])  # majority (0/1) predicts y perfectly
    res = _quiet(mmreg.MMModel(df.attrs["formula"], sep, family="binomial").fit)
    assert _finite(res)
    # the likelihood increases without bound in the separating direction: the prior
    # N(0, 100²) alone stops it, so the estimate is large and very uncertain
    assert res.params["majority"] > 5
    assert res.bse["majority"] > 5


def test_binomial_perfect_separation_mcmc_is_finite():
    df = _sim("binomial", n_groups=40, n_members=20, n_countries=4)
    sep = df.assign(y=df["majority"])
    model = mmreg.MMModel(df.attrs["formula"], sep, family="binomial")
    res = _quiet(model.fit, method="mcmc", draws=16, tune=6, chains=2, seed=1)
    assert np.all(np.isfinite(res.draws[list(res.params.index)].to_numpy()))
    assert res.params["majority"] > 3


def test_member_in_a_single_group():
    df = _sim("gaussian", **TRUTH)
    lone = df.copy()
    lone.loc[0, "pid"] = 10_000  # a new party that appears in one government only
    res = _quiet(mmreg.MMModel(df.attrs["formula"], lone).fit)
    assert _finite(res)
    re = res.random_effects["mm1"]
    assert np.isfinite(re.loc[10_000]).all()
    # one participation carries less information than many: the widest posteriors
    counts = lone.groupby("pid").size()
    frequent = re.loc[counts[counts >= 5].index, "sd"]
    assert re.loc[10_000, "sd"] >= frequent.median()


def test_group_of_size_one_has_weight_one():
    df = _sim("gaussian", weights="estimated", **TRUTH)
    g0 = df["gid"].iloc[0]
    single = df[(df["gid"] != g0) | (df.index == df.index[df["gid"] == g0][0])]
    res = _quiet(mmreg.MMModel(df.attrs["formula"], single).fit)
    assert _finite(res)
    w = res.weights["mm1"]
    # 1 / (1 + (n - 1) e^...) = 1 for n = 1, whatever b0, b1
    assert np.array_equal(w.loc[w["gid"] == g0, "weight"].to_numpy(), [1.0])
    assert np.allclose(w.groupby("gid")["weight"].sum(), 1.0)


def test_single_country():
    df = _sim("gaussian", n_groups=60, n_members=30, n_countries=1, **TRUTH)
    re = _quiet(mmreg.MMModel(df.attrs["formula"], df).fit)
    assert _finite(re)
    # one country: its SD is not identified, the interval stays wide (prior-driven)
    assert re.bse["sigma.hm1"] > 1.0
    # with type = "FE" the only level is absorbed by the intercept: the model without hm()
    fe = _quiet(mmreg.MMModel(df.attrs["formula"].replace('"RE"', '"FE"'), df).fit)
    no_hm = _quiet(mmreg.MMModel(df.attrs["formula"].split(" + hm(")[0], df).fit)
    assert list(fe.params.index) == list(no_hm.params.index)
    np.testing.assert_allclose(fe.params, no_hm.params, rtol=1e-6, atol=1e-8)


def test_single_group():
    df = _sim("gaussian")
    one = df[df["gid"] == df["gid"].iloc[0]]
    try:
        res = _quiet(mmreg.MMModel(df.attrs["formula"], one).fit)
    except (mmreg.MMDataError, mmreg.MMSpecError) as err:
        assert str(err)
        return
    assert _finite(res)


def test_far_proposals_are_evaluated_as_from_a_cold_start():
    # Regression: the Newton warm start z0 + J (u - u0) was extrapolated without bound, so
    # a DE move to (log σ_mm, log σ_hm) = (19.2, -38.7) started Newton at linear predictors
    # ~1e15 and (with the old Cox underflow) returned log p ≈ +3e17, absorbing every walker.
    # Reference: the Laplace value from a cold start (prior mean) at the same ψ.
    df = mmreg.datasets.simulate_coalitions(
        n_groups=120, n_members=50, n_countries=8, family="cox", seed=5
    )
    model = mmreg.MMModel(df.attrs["formula"], df, family="cox")
    lap = _quiet(
        fit_laplace,
        model.posterior,
    )
    logpost = LogPosterior.from_laplace(model, lap, 0, 1)
    at_mode = logpost(lap.u)[0]
    for far in ([19.2, -38.7], [12.0, 3.0], [-30.0, 9.0]):
        u = lap.u.copy()
        u[[model.space.free.index("sigma.mm1"), model.space.free.index("sigma.hm1")]] = far
        got = logpost(u)[0]
        assert np.isfinite(got) and got < at_mode - 50.0, far  # never a spurious attractor
        if far[1] > -20:  # (σ_hm = e^-38.7 makes the latent Hessian too ill-conditioned
            # for the cold-start reference itself to converge)
            hyp = model.space.hyper(u)
            with np.errstate(all="ignore"):
                cold = model.latent.mode(hyp, tol=1e-9)
            expected = model.space.log_prior(u, jacobian=True) + cold.log_marginal
            # σ_mm = e^12 leaves the party effects almost unidentified: modes from different
            # starts agree to ~1e-5 relative in the Laplace value (flat directions)
            assert got == pytest.approx(expected, rel=3e-5), far
