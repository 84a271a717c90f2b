# Reference numbers: computed inside the test by a direct dense REML likelihood of the
# government-level random-intercept model (numpy/scipy, written out below from the textbook
# formula), profiled over the residual SD with scipy and inverted with brentq.
"""Profile intervals of random-effect SDs (LaplaceResults.conf_int, sd_method="profile").

For a Gaussian model whose only random effect is the country intercept, the Laplace
objective with near-flat priors is the REML log-likelihood (see
test_laplace_frequentist.py), so its profile interval for sigma.hm1 is

    { s : 2 [ max REML - max_{sigma} REML(s, sigma) ] <= chi2_1(0.95) }

with REML(s, sigma) = -1/2 [log|V| + log|X'V^-1 X| + r'V^-1 r], V = s^2 CC' + sigma^2 I.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

import mmreg
from mmreg.priors import HalfCauchy, Normal

COEF = ["Intercept", "majority", "mm1.finance"]
WIDE = {"sigma*": HalfCauchy(1e6)} | {c: Normal(0, 1e6) for c in COEF}
FORMULA = (
    "y ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
    'fn = fn(w ~ 1/n, c = TRUE), RE = FALSE) + hm(id = id(cid), type = "RE")'
)


def _reml_profile_interval(df, level=0.95):
    g = df.groupby("gid").agg(
        y=("y", "first"),
        majority=("majority", "first"),
        cid=("cid", "first"),
        finance=("finance", "mean"),
    )
    X = np.column_stack([np.ones(len(g)), g["majority"], g["finance"]])
    C = (g["cid"].to_numpy()[:, None] == np.unique(g["cid"])[None, :]).astype(float)
    y = g["y"].to_numpy()

    def reml(s, sigma):
        V = s**2 * C @ C.T + sigma**2 * np.eye(len(y))
        L = np.linalg.cholesky(V)
        Xi, yi = np.linalg.solve(L, X), np.linalg.solve(L, y)
        A = Xi.T @ Xi
        beta = np.linalg.solve(A, Xi.T @ yi)
        r = yi - Xi @ beta
        return -0.5 * (2 * np.log(np.diag(L)).sum() + np.linalg.slogdet(A)[1] + r @ r)

    def prof(s):
        res = optimize.minimize_scalar(
            lambda ls: -reml(s, np.exp(ls)),
            bounds=(-5, 3),
            method="bounded",
            options={"xatol": 1e-10},
        )
        return -res.fun

    best = optimize.minimize_scalar(
        lambda ls: -prof(np.exp(ls)), bounds=(-12, 3), method="bounded", options={"xatol": 1e-10}
    )
    s_hat, top = np.exp(best.x), -best.fun
    crit = stats.chi2.ppf(level, 1)

    def g_(s):
        return 2 * (top - prof(s)) - crit

    lower = 0.0 if g_(1e-7) <= 0 else optimize.brentq(g_, 1e-7, s_hat, xtol=1e-10)
    upper = optimize.brentq(g_, s_hat, 50 * max(s_hat, 0.1), xtol=1e-10)
    return s_hat, lower, upper


@pytest.mark.parametrize(("country_sd", "seed"), [(0.5, 1), (0.0, 4)])
def test_sd_profile_interval_equals_direct_reml_profile(country_sd, seed):
    df = mmreg.datasets.simulate_coalitions(
        n_groups=240,
        n_members=90,
        n_countries=10,
        member_re=False,
        country_re=country_sd > 0,
        seed=seed,
        **({"sigma.hm1": country_sd} if country_sd > 0 else {}),
    )
    res = mmreg.MMModel(FORMULA, df, family="gaussian", priors=WIDE).fit()
    s_hat, lower, upper = _reml_profile_interval(df)
    ci = res.conf_int()
    assert res.params["sigma.hm1"] == pytest.approx(s_hat, rel=2e-3, abs=1e-3)
    # ends found to 1e-3 on the log scale (xtol), priors move them by ~1e-5
    assert ci.loc["sigma.hm1", "upper"] == pytest.approx(upper, rel=3e-3)
    if lower == 0.0:
        assert ci.loc["sigma.hm1", "lower"] == 0.0
        # the Wald interval on the log scale is undefined or absurdly wide there
        wald = res.conf_int(sd_method="wald").loc["sigma.hm1"]
        assert not np.isfinite(wald["upper"]) or wald["upper"] > 10 * upper
    else:
        assert ci.loc["sigma.hm1", "lower"] == pytest.approx(lower, rel=3e-3)
    # the other rows are the Wald rows
    wald = res.conf_int(sd_method="wald")
    np.testing.assert_allclose(ci.loc[COEF], wald.loc[COEF])


def test_auto_profiles_small_models_and_unreliable_sds_of_large_ones(monkeypatch):
    # country SD near 0 (a tiny country effect), member SD well determined
    df = mmreg.datasets.simulate_coalitions(
        n_groups=600, n_members=200, n_countries=10, seed=4, **{"sigma.hm1": 0.02, "sigma.mm1": 0.8}
    )
    res = mmreg.MMModel(df.attrs["formula"], df).fit()
    se_log = {n: np.sqrt(res.raw.cov_u[j, j]) for n, j in res._free_pos.items()}
    prof, wald = res.conf_int(sd_method="profile"), res.conf_int(sd_method="wald")
    # small model: "auto" is "profile"
    np.testing.assert_array_equal(res.conf_int().to_numpy(), prof.to_numpy())
    # pretend the model is large: only SDs with a log-scale SE above 0.5 are profiled
    monkeypatch.setattr(type(res), "AUTO_PROFILE_DIM", 0)
    auto = res.conf_int()
    for n in ("sigma.mm1", "sigma.hm1"):
        ref = prof if se_log[n] > 0.5 else wald
        np.testing.assert_array_equal(auto.loc[n].to_numpy(), ref.loc[n].to_numpy())
    assert se_log["sigma.hm1"] > 0.5 >= se_log["sigma.mm1"]  # both branches exercised
    with pytest.raises(mmreg.MMSpecError, match="sd_method"):
        res.conf_int(sd_method="likelihood")
