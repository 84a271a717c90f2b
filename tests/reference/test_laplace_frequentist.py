# Reference numbers: every reference is computed inside the test, by statsmodels (OLS,
# MixedLM, Logit, PHReg, GLM Poisson, ConditionalLogit), lifelines (WeibullAFTFitter) or
# scipy, on the group-level data that the test builds with pandas (one row per government,
# the aggregated sum_k w_ik * finance_ik as a column).  Data: the real coalgov
# (../shared/data/coalgov.csv, skipped when absent) and mmreg.datasets.simulate_coalitions.
"""The Laplace fit against its frequentist twins (SPEC §5, GitHub issue #3).

What the Laplace fit is (``mmreg/inference/laplace.py``): the hyperparameters ψ (SDs,
Gaussian ``sigma``, Weibull ``shape``, weight parameters) are the mode of their Laplace
marginal posterior on the natural scale, with the coefficients integrated out under
N(0, 100²) priors; coefficients are the conditional modes at ψ̂.  Hence:

* Gaussian: integrating the coefficients out under a flat prior is exactly REML, so the SDs
  equal REML estimates — for the no-RE model ``sigma² = RSS / (n − p)``, i.e. OLS's
  ``scale`` — and the coefficients are GLS at those SDs.  The N(0, 100²) and half-Cauchy(25)
  priors move the estimates by O(1e-5) relative (prior gradients of order 1e-3 against a
  log-likelihood curvature of order n); with very wide priors the match is to optimiser
  precision.
* Families without hyperparameters (no-RE binomial, Cox, clogit): the estimate is the
  penalised MLE with penalty β²/(2·100²), i.e. the MLE up to a shift of about
  I⁻¹β/100² ≈ 1e-4·SE²·|β|, far below 0.01 SE; SEs are the inverse observed information.
* no-RE Weibull: the shape maximises the *restricted* (β integrated out) likelihood, so it
  is slightly below the MLE (the analogue of REML's n − p); it is checked exactly against a
  scipy implementation of that marginal, and against lifelines with the shape fixed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lifelines import WeibullAFTFitter
from scipy import optimize, stats
from statsmodels.discrete.conditional_models import ConditionalLogit
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams, VCSpec

import mmreg
from mmreg.priors import Fixed, HalfCauchy, Normal

MM = "mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ {w}, c = TRUE), RE = {re})"
HM = ' + hm(id = id(cid), type = "RE")'
W_EST = "1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat)))"
COEF = ["Intercept", "majority", "mm1.finance"]
#: near-flat priors: the estimates are then the frequentist ones to optimiser precision
WIDE = {"sigma*": HalfCauchy(1e6)} | {c: Normal(0, 1e6) for c in COEF}
#: MixedLM's default optimiser stops at about 1e-4 relative precision of the SDs
TIGHT = {"method": "bfgs", "gtol": 1e-10}
TINY = {"a": 1e-8, "b": 1e-8}  # Cox baseline Gamma(a, b): integrated likelihood = partial


# ----------------------------------------------------------------------------- helpers
def _data(request, source: str, family: str = "gaussian", **sim) -> tuple[pd.DataFrame, dict]:
    """Long data and the outcome column names of ``source`` ("coalgov" or "simulated")."""
    if source == "coalgov":
        df = request.getfixturevalue("coalgov")
        return df, {"y": "logdur", "time": "dur_wkb", "event": "event_wkb", "bin": "event_wkb"}
    opts = dict(n_groups=1000, n_members=300, member_re=False, country_re=False, seed=7) | sim
    df = mmreg.datasets.simulate_coalitions(family=family, **opts)
    return df, {"y": "y", "time": "dur", "event": "event", "bin": "y"}


def _weights(df: pd.DataFrame, raw) -> np.ndarray:
    """Raw row weights normalised to sum to 1 within each government."""
    raw = pd.Series(np.asarray(raw, float), index=df.index)
    return (raw / raw.groupby(df["gid"]).transform("sum")).to_numpy()


def _equal(df: pd.DataFrame) -> np.ndarray:
    return _weights(df, np.ones(len(df)))


def _group_level(df: pd.DataFrame, cols: list[str], w: np.ndarray) -> pd.DataFrame:
    """One row per government (sorted by gid): group-level columns and sum_k w_ik finance_ik."""
    d = df.assign(_wf=w * df["finance"].to_numpy())
    return d.groupby("gid").agg(**{c: (c, "first") for c in cols}, finance=("_wf", "sum"))


def _within_se(ours: pd.Series, ref, se, k: float) -> None:
    """|ours − ref| ≤ k · se, elementwise, with a readable message."""
    diff = pd.Series(
        np.abs(ours.to_numpy() - np.asarray(ref, float)) / np.asarray(se, float), index=ours.index
    )
    assert (diff <= k).all(), f"|Δ|/SE = {diff.round(5).to_dict()} > {k}"


# ----------------------------------------------------------------------------- Gaussian
@pytest.mark.parametrize(
    "source, wfn", [("coalgov", "1/n"), ("simulated", "1/n"), ("simulated", "pseat")]
)
def test_gaussian_no_re_equals_ols(request, source, wfn):
    df, col = _data(request, source)
    y = col["y"]
    formula = f"{y} ~ 1 + majority + " + MM.format(w=wfn, re="FALSE")
    w = _equal(df) if wfn == "1/n" else _weights(df, df["pseat"])
    g = _group_level(df, [y, "majority"], w)
    ols = sm.OLS(g[y], sm.add_constant(g[["majority", "finance"]])).fit()
    sigma_reml = np.sqrt(ols.scale)  # sqrt(RSS / (n - p))

    model = mmreg.MMModel(formula, df, family="gaussian", priors=WIDE)
    res = model.fit()
    np.testing.assert_allclose(res.params[COEF], ols.params, rtol=1e-6)
    np.testing.assert_allclose(res.bse[COEF], ols.bse, rtol=1e-6)
    assert res.params["sigma"] == pytest.approx(sigma_reml, rel=1e-6)
    # Laplace SE of sigma: the restricted log-likelihood -(n-p) log σ - RSS/(2σ²) has
    # curvature 2(n-p)/σ² at its maximum
    assert res.bse["sigma"] == pytest.approx(sigma_reml / np.sqrt(2 * ols.df_resid), rel=1e-4)

    # ML log-likelihood at OLS's ML estimates (β̂, sqrt(RSS/n)) is OLS's llf
    ml = dict(zip(COEF, ols.params, strict=True)) | {"sigma": np.sqrt(ols.ssr / ols.nobs)}
    assert model.loglike(ml) == pytest.approx(ols.llf, abs=1e-6)

    # bml's default priors (N(0, 100²), half-Cauchy(25)) move the estimates by O(1e-5)
    default = mmreg.MMModel(formula, df, family="gaussian").fit()
    _within_se(default.params[COEF], ols.params, ols.bse, 1e-3)
    np.testing.assert_allclose(default.bse[COEF], ols.bse, rtol=1e-4)
    assert default.params["sigma"] == pytest.approx(sigma_reml, rel=1e-4)


def _mixedlm_frame(request, source):
    df, col = _data(request, source, country_re=True)
    y = col["y"]
    g = _group_level(df, [y, "majority", "cid"], _equal(df))
    return df, y, g


@pytest.mark.parametrize("source", ["coalgov", "simulated"])
def test_gaussian_country_re_equals_mixedlm(request, source):
    df, y, g = _mixedlm_frame(request, source)
    formula = f"{y} ~ 1 + majority + " + MM.format(w="1/n", re="FALSE") + HM
    smf = sm.MixedLM.from_formula(f"{y} ~ majority + finance", g, groups="cid")
    reml = smf.fit(reml=True, **TIGHT)
    ml = sm.MixedLM.from_formula(f"{y} ~ majority + finance", g, groups="cid").fit(
        reml=False, **TIGHT
    )
    assert reml.converged and ml.converged

    model = mmreg.MMModel(formula, df, family="gaussian")
    res = model.fit()
    ref = pd.Series(
        np.r_[reml.fe_params, np.sqrt(reml.cov_re.iloc[0, 0]), np.sqrt(reml.scale)],
        index=COEF + ["sigma.hm1", "sigma"],
    )
    np.testing.assert_allclose(res.params[ref.index], ref, rtol=1e-4)
    # MixedLM's SEs are conditional on the SDs; ours add their (small) uncertainty through
    # dβ̂/dψ, and the N(0, 100²) prior takes off O(1e-5)
    ratio = res.bse[COEF].to_numpy() / reml.bse_fe.to_numpy()
    assert np.all(ratio > 1 - 1e-4) and np.all(ratio < 1 + 1e-3), ratio

    # the ML log-likelihood at MixedLM's ML estimates is MixedLM's llf
    at = dict(zip(COEF, ml.fe_params, strict=True))
    at |= {"sigma.hm1": np.sqrt(ml.cov_re.iloc[0, 0]), "sigma": np.sqrt(ml.scale)}
    assert model.loglike(at) == pytest.approx(ml.llf, abs=1e-6)


def _vc_case(request, source):
    """Fixed-weight MM model with member and country REs, and its MixedLM twin.

    The whole data set is one MixedLM group whose two variance components have the design
    matrices W (governments × parties: the weights) and C (governments × countries).
    """
    if source == "coalgov":
        df, col = _data(request, source)
        w = _equal(df)
        formula = f"{col['y']} ~ 1 + majority + " + MM.format(w="1/n", re="TRUE") + HM
        priors = None
    else:  # the estimated weight function with its parameters fixed
        df, col = _data(request, source, member_re=True, country_re=True, weights="estimated")
        b0, b1 = -1.0, 4.0
        size = df.groupby("gid")["pid"].transform("size").to_numpy()
        w = _weights(df, 1 / (1 + (size - 1) * np.exp(-(b0 + b1 * df["pseat"].to_numpy()))))
        formula = f"{col['y']} ~ 1 + majority + " + MM.format(w=W_EST, re="TRUE") + HM
        priors = {"mm1.w.b0": Fixed(b0), "mm1.w.b1": Fixed(b1)}
    y = col["y"]
    g = _group_level(df, [y, "majority", "cid"], w)
    W = pd.crosstab(df["gid"], df["pid"], values=w, aggfunc="sum").fillna(0.0)
    C = pd.get_dummies(g["cid"]).astype(float)
    assert (W.index == g.index).all()
    vc = VCSpec(
        ["mm1", "hm1"], [[list(W.columns)], [list(C.columns)]], [[W.to_numpy()], [C.to_numpy()]]
    )
    X = sm.add_constant(g[["majority", "finance"]]).to_numpy()
    ones = np.zeros(len(g))

    def twin():
        return MixedLM(g[y].to_numpy(), X, groups=ones, exog_vc=vc)

    model = mmreg.MMModel(formula, df, family="gaussian", priors=priors)
    fixed = {n: p.value for n, p in (priors or {}).items()}
    return model, twin, fixed


@pytest.mark.parametrize("source", ["coalgov", "simulated"])
def test_fixed_weight_member_re_loglike_equals_mixedlm_vc(request, source):
    model, twin, fixed = _vc_case(request, source)
    sm_ml = twin()
    ml = sm_ml.fit(reml=False, **TIGHT)  # also sets the model up for loglike() calls
    assert ml.converged
    # at MixedLM's ML estimates
    at = dict(zip(COEF, ml.fe_params, strict=True)) | fixed
    at |= {
        "sigma.mm1": np.sqrt(ml.vcomp[0]),
        "sigma.hm1": np.sqrt(ml.vcomp[1]),
        "sigma": np.sqrt(ml.scale),
    }
    assert model.loglike(at) == pytest.approx(ml.llf, abs=1e-6)
    # at arbitrary values: statsmodels' loglike profiles the scale out, so evaluate ours at
    # that scale; MixedLM's variance components are relative to the scale
    for fe, vcomp in [((5.6, 0.4, -0.3), (0.2, 0.3)), ((5.0, 0.1, 0.0), (1.5, 0.05))]:
        fe, vcomp = np.array(fe), np.array(vcomp)
        pars = MixedLMParams.from_components(fe_params=fe, cov_re=np.zeros((0, 0)), vcomp=vcomp)
        ref = sm_ml.loglike(pars, profile_fe=False)
        scale = sm_ml.get_scale(fe, np.zeros((0, 0)), vcomp)
        at = dict(zip(COEF, fe, strict=True)) | fixed | {"sigma": np.sqrt(scale)}
        at |= {"sigma.mm1": np.sqrt(vcomp[0] * scale), "sigma.hm1": np.sqrt(vcomp[1] * scale)}
        assert model.loglike(at) == pytest.approx(ref, abs=1e-6)


@pytest.mark.parametrize("source", ["coalgov", "simulated"])
def test_fixed_weight_member_re_fit_equals_mixedlm_vc_reml(request, source):
    model, twin, _ = _vc_case(request, source)
    reml = twin().fit(reml=True, **TIGHT)
    assert reml.converged
    res = model.fit()
    ref = pd.Series(
        np.r_[reml.fe_params, np.sqrt(reml.vcomp), np.sqrt(reml.scale)],
        index=COEF + ["sigma.mm1", "sigma.hm1", "sigma"],
    )
    np.testing.assert_allclose(res.params[ref.index], ref, rtol=1e-4)
    ratio = res.bse[COEF].to_numpy() / reml.bse_fe
    assert np.all(ratio > 1 - 1e-4) and np.all(ratio < 1.02), ratio


# ----------------------------------------------------------------------------- binomial
@pytest.mark.parametrize("source", ["coalgov", "simulated"])
def test_binomial_no_re_equals_logit(request, source):
    df, col = _data(request, source, family="binomial")
    y = col["bin"]
    formula = f"{y} ~ 1 + majority + " + MM.format(w="1/n", re="FALSE")
    g = _group_level(df, [y, "majority"], _equal(df))
    ref = sm.Logit(g[y], sm.add_constant(g[["majority", "finance"]])).fit(disp=0, tol=1e-12)
    res = mmreg.MMModel(formula, df, family="binomial").fit()
    _within_se(res.params[COEF], ref.params, ref.bse, 1e-3)
    np.testing.assert_allclose(res.bse[COEF], ref.bse, rtol=1e-4)


# ----------------------------------------------------------------------------- Weibull
def _weibull_case(request, source):
    df, col = _data(request, source, family="weibull")
    t, e = col["time"], col["event"]
    formula = f"Surv({t}, {e}) ~ 1 + majority + " + MM.format(w="1/n", re="FALSE")
    g = _group_level(df, [t, e, "majority"], _equal(df))
    aft = WeibullAFTFitter().fit(g.reset_index(drop=True), t, e)
    lam = aft.params_["lambda_"][["Intercept", "majority", "finance"]]
    V = aft.variance_matrix_
    return df, g, t, e, formula, aft, lam, V


def _weibull_restricted_reference(X, time, event):
    """Shape maximising the Laplace-integrated (restricted) Weibull likelihood, from scipy.

    log p(y | r) = max_β [Σ log f_scipy(t | r, e^{Xβ}) + log N(β; 0, 100² I)]
                   + (P/2) log 2π − ½ log |H(r)| + log Exponential(r; rate 0.001),
    with the AFT curvature H = r² Xᵀ diag(exp(r (log t − Xβ))) X + I/100² (closed form).
    Returns the mode and its SE from the curvature in log r (as the fit computes it).
    """
    logt, k, prec = np.log(time), X.shape[1], 1e-4
    beta = np.zeros(k)
    beta[0] = np.log(time).mean()

    def hess(b, r):
        ez = np.exp(r * (logt - X @ b))
        return X.T @ (X * (r**2 * ez)[:, None]) + prec * np.eye(k)

    def log_marginal(u):
        r = np.exp(u)

        def nll(b):
            dist = stats.weibull_min(c=r, scale=np.exp(X @ b))
            ll = np.where(event == 1, dist.logpdf(time), dist.logsf(time)).sum()
            return -(ll - 0.5 * prec * b @ b)

        def grad(b):
            ez = np.exp(r * (logt - X @ b))
            return -(X.T @ (r * (ez - event)) - prec * b)

        opts = {"jac": grad, "hess": lambda b: hess(b, r), "options": {"gtol": 1e-10}}
        opt = optimize.minimize(nll, beta, method="trust-exact", **opts)
        beta[:] = opt.x
        log_prior_b = 0.5 * k * np.log(prec) - 0.5 * k * np.log(2 * np.pi)
        laplace = 0.5 * k * np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(hess(opt.x, r))[1]
        return -opt.fun + log_prior_b + laplace + stats.expon.logpdf(r, scale=1000.0)

    u0 = np.log(1.0 / np.std(logt))
    opt = optimize.minimize_scalar(
        lambda u: -log_marginal(u), bracket=(u0 - 0.5, u0 + 0.5), tol=1e-10
    )
    u, h = opt.x, 1e-3
    curv = -(log_marginal(u + h) - 2 * log_marginal(u) + log_marginal(u - h)) / h**2
    return np.exp(u), np.exp(u) / np.sqrt(curv)


@pytest.mark.parametrize("source", ["coalgov", "simulated"])
def test_weibull_no_re_vs_lifelines(request, source):
    df, g, t, e, formula, aft, lam, V = _weibull_case(request, source)
    rho = float(np.exp(aft.params_[("rho_", "Intercept")]))
    se_lam = aft.standard_errors_["lambda_"][lam.index]
    res = mmreg.MMModel(formula, df, family="weibull").fit()
    # coefficients: the restricted shape is O(p/events) below the MLE, which moves the
    # coefficients by a few hundredths of an SE at most
    _within_se(res.params[COEF], lam, se_lam, 0.05)
    np.testing.assert_allclose(res.bse[COEF], se_lam, rtol=0.02)
    # shape: the restricted likelihood is about the profile one minus p·log ρ (the β block of
    # the information scales with ρ²), which moves the mode down by p·Var(log ρ̂)·ρ, i.e. by
    # p·SE(log ρ̂) ≈ 0.1-0.2 standard errors of ρ̂
    se_log_rho = np.sqrt(V.loc[("rho_", "Intercept"), ("rho_", "Intercept")])
    shift = (rho - res.params["shape"]) / (rho * se_log_rho)  # in SEs of ρ̂
    assert 0.8 < shift / (len(COEF) * se_log_rho) < 1.25, shift
    assert res.params["sigma"] == pytest.approx(1 / res.params["shape"], rel=1e-12)

    # exactly: the restricted (β integrated out) likelihood computed with scipy
    X = sm.add_constant(g[["majority", "finance"]]).to_numpy()
    shape, se_shape = _weibull_restricted_reference(X, g[t].to_numpy(), g[e].to_numpy())
    assert res.params["shape"] == pytest.approx(shape, rel=1e-5)
    assert res.bse["shape"] == pytest.approx(se_shape, rel=1e-3)


@pytest.mark.parametrize("source", ["coalgov", "simulated"])
def test_weibull_fixed_shape_equals_lifelines_profile(request, source):
    """With the shape fixed at lifelines' ρ̂ the coefficients are lifelines' MLE, and their
    SEs the conditional ones (inverse of the β block of the information: a Schur complement
    of lifelines' covariance matrix)."""
    df, g, t, e, formula, aft, lam, V = _weibull_case(request, source)
    rho = float(np.exp(aft.params_[("rho_", "Intercept")]))
    res = mmreg.MMModel(formula, df, family="weibull", priors={"shape": Fixed(rho)}).fit()
    b = [("lambda_", c) for c in lam.index]
    r = [("rho_", "Intercept")]
    Vbb, Vbr, Vrr = V.loc[b, b].to_numpy(), V.loc[b, r].to_numpy(), V.loc[r, r].to_numpy()
    se_cond = np.sqrt(np.diag(Vbb - Vbr @ np.linalg.solve(Vrr, Vbr.T)))
    _within_se(res.params[COEF], lam, se_cond, 1e-3)
    np.testing.assert_allclose(res.bse[COEF], se_cond, rtol=1e-3)


# ----------------------------------------------------------------------------- Cox
@pytest.mark.parametrize("source", ["coalgov", "simulated"])
def test_cox_no_re_equals_breslow_phreg(request, source):
    df, col = _data(request, source, family="cox")
    t, e = col["time"], col["event"]
    formula = f"Surv({t}, {e}) ~ 0 + majority + " + MM.format(w="1/n", re="FALSE")
    g = _group_level(df, [t, e, "majority"], _equal(df))
    X = g[["majority", "finance"]].to_numpy()
    ph = PHReg(g[t].to_numpy(), X, status=g[e].to_numpy(), ties="breslow").fit()
    family = mmreg.families.get_family("cox", **TINY)
    res = mmreg.MMModel(formula, df, family=family).fit()
    _within_se(res.params[COEF[1:]], ph.params, ph.bse, 1e-3)
    np.testing.assert_allclose(res.bse[COEF[1:]], ph.bse, rtol=1e-4)


def _piecewise_exponential(g: pd.DataFrame, t: str, e: str, breaks: np.ndarray) -> pd.DataFrame:
    """Split each government over the intervals (start, end]: exposure and event per piece."""
    pieces = []
    time, event = g[t].to_numpy(), g[e].to_numpy()
    for k, (lo, hi) in enumerate(zip(breaks[:-1], breaks[1:], strict=True)):
        expo = np.clip(time - lo, 0.0, hi - lo)
        d = ((event == 1) & (time > lo) & (time <= hi)).astype(float)
        keep = expo > 0
        part = g.loc[keep, ["majority", "finance"]]
        pieces.append(part.assign(piece=k, exposure=expo[keep], d=d[keep]))
    return pd.concat(pieces, ignore_index=True)


@pytest.mark.parametrize("source", ["coalgov", "simulated"])
def test_piecewise_cox_no_re_equals_poisson_glm(request, source):
    df, col = _data(request, source, family="cox")
    t, e = col["time"], col["event"]
    formula = f"Surv({t}, {e}) ~ 0 + majority + " + MM.format(w="1/n", re="FALSE")
    model = mmreg.MMModel(
        formula, df, family=mmreg.families.get_family("cox", intervals=10, **TINY)
    )
    breaks = model.bound_family.breaks
    # bml's rule, recomputed: quantiles of the event times, first 0, last max(time) + 1
    g = _group_level(df, [t, e, "majority"], _equal(df))
    expected = np.quantile(g.loc[g[e] == 1, t], np.linspace(0, 1, 11))
    expected[0], expected[-1] = 0.0, g[t].max() + 1.0
    np.testing.assert_allclose(breaks, expected, rtol=1e-12)

    pw = _piecewise_exponential(g, t, e, breaks)
    X = pd.concat(
        [pd.get_dummies(pw["piece"], prefix="h0").astype(float), pw[["majority", "finance"]]],
        axis=1,
    )
    glm = sm.GLM(pw["d"], X, family=sm.families.Poisson(), offset=np.log(pw["exposure"]))
    ref = glm.fit(tol=1e-12)
    res = model.fit()
    se = ref.bse[["majority", "finance"]]
    _within_se(res.params[COEF[1:]], ref.params[["majority", "finance"]], se, 1e-3)
    np.testing.assert_allclose(res.bse[COEF[1:]], se, rtol=1e-4)


# ----------------------------------------------------------------------------- clogit
def test_clogit_no_re_equals_conditional_logit():
    df = mmreg.datasets.simulate_coalitions(
        n_groups=1000, n_members=300, family="clogit", member_re=False, seed=7
    )
    g = _group_level(df, ["chosen", "majority", "opportunity"], _equal(df))
    ref = ConditionalLogit(g["chosen"], g[["majority", "finance"]], groups=g["opportunity"])
    ref = ref.fit(method="bfgs", gtol=1e-10, maxiter=1000)
    res = mmreg.MMModel(df.attrs["formula"], df, family="clogit").fit()
    _within_se(res.params[COEF[1:]], ref.params, ref.bse, 1e-3)
    np.testing.assert_allclose(res.bse[COEF[1:]], ref.bse, rtol=1e-4)
