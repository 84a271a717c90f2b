"""Correlated random intercept and slope, ``re(1 + x, cor = TRUE)`` (issue #15).

References: the dense prior precision Σ⁻¹ ⊗ I and its log-determinant by ``slogdet``; the
Gaussian log marginal likelihood as the density of y ~ N(X m, X S Xᵀ + Z G Zᵀ + σ² I) with
G built from (σa, σb, ρ) directly (no code of mmreg's prior); central finite differences of
the Laplace objective for the gradient (as tests/inference/test_gradient.py); a simulation
with known truth for recovery.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st

import mmreg
from mmreg.errors import MMSpecError
from mmreg.inference.gradient import _logdet_gradient
from mmreg.inference.importance import ImportanceSampler
from mmreg.inference.laplace import _Objective
from mmreg.inference.linalg import DenseFactor, SchurFactor
from tests.inference.test_gradient import _numeric

HM = "y ~ 1 + majority + hm(id = id(cid), RE = re(1 + majority, cor = TRUE))"
MM = (
    "y ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE),"
    " RE = re(1 + finance, cor = TRUE)) + hm(id = id(cid), type = 'RE')"
)
MM_EST = MM.replace("fn(w ~ 1/n, c = TRUE)", "fn(w ~ 1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat))))")


def simulate_hm(n_units=40, per_unit=12, rho=0.5, sa=0.5, sb=0.4, seed=1) -> pd.DataFrame:
    """Groups in units with y = 5.7 + 0.45 x + a_j + b_j x + N(0, 0.85²), (a_j, b_j) ~ N(0, Σ)."""
    rng = np.random.default_rng(seed)
    cid = np.repeat(np.arange(n_units), per_unit)
    x = rng.binomial(1, 0.5, cid.size).astype(float)
    S = np.array([[sa * sa, rho * sa * sb], [rho * sa * sb, sb * sb]])
    ab = rng.multivariate_normal(np.zeros(2), S, n_units)
    y = 5.7 + 0.45 * x + ab[cid, 0] + ab[cid, 1] * x + 0.85 * rng.standard_normal(cid.size)
    return pd.DataFrame({"gid": np.arange(cid.size), "cid": cid + 100, "majority": x, "y": y})


def coalitions(n_groups=300, seed=4, family="gaussian", weights="equal", n_countries=12):
    return mmreg.datasets.simulate_coalitions(
        n_groups=n_groups,
        n_members=n_groups // 3,
        n_countries=n_countries,
        family=family,
        weights=weights,
        seed=seed,
    )


# ----------------------------------------------------------------------------- layout, prior
def test_names_layout_and_default_prior():
    df = simulate_hm()
    model = mmreg.MMModel(HM, df)
    assert model.space.names == ("sigma.hm1", "sigma.hm1.majority", "cor.hm1.majority", "sigma")
    assert model.design.cor_pairs == ((0, 1),)
    assert model.priors["cor.hm1.majority"] == mmreg.priors.lkj.LKJ(1.0)
    table = mmreg.get_prior(HM, df).set_index("parameter")
    assert table.loc["cor.hm1.majority", "class"] == "cor"
    assert table.loc["cor.hm1.majority", "default"] == "lkj(1)"
    # the prior helper sets it: LKJ(2) density ∝ (1 - ρ²)
    m2 = mmreg.MMModel(HM, df, priors=[mmreg.prior("lkj(2)", class_="cor")])
    p = m2.priors["cor.hm1.majority"]
    r = np.array([-0.6, 0.0, 0.3])
    np.testing.assert_allclose(p.logpdf(r) - p.logpdf(0.0), np.log1p(-(r**2)), rtol=1e-12)
    # u = 2 atanh(ρ): the transform of the bounded prior, and its Jacobian
    u = m2.space.unconstrain(np.array([0.5, 0.4, 0.3, 0.8]))
    assert u[2] == pytest.approx(2 * np.arctanh(0.3), rel=1e-12)


@pytest.mark.parametrize("q_sparse", [False, True])
def test_prior_precision_and_its_log_determinant_are_exact(q_sparse):
    df = simulate_hm(n_units=30 if q_sparse else 12)
    lat = mmreg.MMModel(HM, df).latent
    assert (lat.pattern is not None) == q_sparse  # 2 x 30 = 60 >= 40 effects: sparse path
    sd, cor = np.array([0.7, 0.25]), np.array([-0.6])
    Q = lat.prior_precision(sd, cor)
    S = np.array([[0.49, -0.6 * 0.7 * 0.25], [-0.6 * 0.7 * 0.25, 0.0625]])
    m = lat.re_sizes[0]
    want = np.kron(np.linalg.inv(S), np.eye(m))
    np.testing.assert_allclose(Q[lat.P :, lat.P :], want, rtol=1e-12)
    assert lat._logdet_Q(sd, cor) == pytest.approx(np.linalg.slogdet(Q)[1], rel=1e-12)
    r = np.random.default_rng(0).standard_normal((lat.dim, 3))
    np.testing.assert_allclose(lat.prior_apply(sd, r, cor), Q @ r, rtol=1e-12, atol=1e-14)
    # K_b r_b given (a fixed vector at many ψ, e.g. the prior mean): the same numbers
    for v in (r, r[:, 0]):
        got = lat.prior_apply(sd, v, cor, structured=lat.structure_apply(v))
        np.testing.assert_array_equal(got, lat.prior_apply(sd, v, cor))


@pytest.mark.parametrize("n_units", [12, 30])  # dense (24 effects) and sparse (60) factors
@pytest.mark.parametrize("rho", [0.0, 0.45, -0.85])
def test_gaussian_log_marginal_equals_the_dense_closed_form(n_units, rho):
    df = simulate_hm(n_units=n_units, seed=3)
    model = mmreg.MMModel(HM, df, priors={"Intercept": mmreg.priors.Normal(5, 2)})
    lat = model.latent
    sa, sb, sigma = 0.6, 0.35, 0.9
    hyp = model.hyper_from_params(
        {"sigma.hm1": sa, "sigma.hm1.majority": sb, "cor.hm1.majority": rho, "sigma": sigma}
    )
    md = lat.mode(hyp, tol=1e-13)
    assert isinstance(md.factor, SchurFactor if n_units == 30 else DenseFactor)
    D, R, off = lat.assemble(hyp.theta)
    Z = R.toarray()
    m = lat.re_sizes[0]
    G = np.kron(np.array([[sa * sa, rho * sa * sb], [rho * sa * sb, sb * sb]]), np.eye(m))
    S = np.diag(1.0 / lat.coef_prec)
    cov = D @ S @ D.T + Z @ G @ Z.T + sigma**2 * np.eye(lat.n)
    y = model.design.outcome["y"]
    want = st.multivariate_normal(D @ lat.coef_mean + off, cov).logpdf(y)
    assert md.log_marginal == pytest.approx(want, rel=1e-10)


def test_mm_gaussian_log_marginal_equals_the_dense_closed_form():
    # member intercepts and slopes (loadings w and w·x) correlated, country intercepts apart
    df = coalitions(n_groups=120)
    model = mmreg.MMModel(MM, df)
    lat = model.latent
    assert model.design.cor_pairs == ((0, 1),) and lat.pattern is not None
    sa, sb, rho, sh, sigma = 0.5, 0.3, -0.6, 0.4, 0.8
    hyp = model.hyper_from_params(
        {
            "sigma.mm1": sa,
            "sigma.mm1.finance": sb,
            "cor.mm1.finance": rho,
            "sigma.hm1": sh,
            "sigma": sigma,
        }
    )
    md = lat.mode(hyp, tol=1e-13)
    D, R, off = lat.assemble(hyp.theta)
    m, h = lat.re_sizes[0], lat.re_sizes[2]
    pair = np.kron(np.array([[sa * sa, rho * sa * sb], [rho * sa * sb, sb * sb]]), np.eye(m))
    G = np.zeros((lat.q, lat.q))
    G[: 2 * m, : 2 * m] = pair
    G[2 * m :, 2 * m :] = sh**2 * np.eye(h)
    Z = R.toarray()
    cov = D @ np.diag(1.0 / lat.coef_prec) @ D.T + Z @ G @ Z.T + sigma**2 * np.eye(lat.n)
    want = st.multivariate_normal(D @ lat.coef_mean + off, cov).logpdf(model.design.outcome["y"])
    assert md.log_marginal == pytest.approx(want, rel=1e-10)


def test_profile_interval_of_the_correlation():
    # the ends of the profile interval of ρ: 2 Δ(min over the rest) = χ²₁(0.95)
    from mmreg.inference.profile import _Profile

    df = simulate_hm(n_units=60, per_unit=15, rho=0.5, seed=12)
    res = mmreg.MMModel(HM, df).fit()
    lo, hi = res.conf_int().loc["cor.hm1.majority"]
    assert -1 < lo < res.params["cor.hm1.majority"] < hi < 1
    space = res.model.space
    j = space.free.index("cor.hm1.majority")
    prof = _Profile(_Objective(res.model.latent, space), res.raw, j)
    for end in (lo, hi):
        t = 2 * np.arctanh(end)
        assert prof(t) == pytest.approx(st.chi2.ppf(0.95, 1), abs=0.02)


# ----------------------------------------------------------------------------- gradients
def _check_gradient(model, shifts=(0.3, -0.7)):
    obj = _Objective(model.latent, model.space)
    for shift in shifts:
        u = model.posterior.start_values() + shift
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f, g = obj.value_and_grad(u)
            num = _numeric(obj, u)
        assert f == pytest.approx(obj(u), rel=1e-12)
        assert np.isfinite(g).all()
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("n_units", [12, 30])  # dense and sparse factors
def test_hm_gradient_matches_finite_differences(n_units):
    _check_gradient(mmreg.MMModel(HM, simulate_hm(n_units=n_units, seed=2)))


@pytest.mark.parametrize(
    ("family", "formula"),
    [("gaussian", MM), ("gaussian", MM_EST), ("binomial", MM), ("weibull", MM)],
)
def test_mm_gradient_matches_finite_differences(family, formula):
    df = coalitions(family=family)
    f = formula.replace("y ~", "Surv(dur, event) ~") if family == "weibull" else formula
    model = mmreg.MMModel(f, df, family=family)
    assert "cor.mm1.finance" in model.space.names
    _check_gradient(model)


def test_two_correlated_pairs_gradient():
    df = coalitions()
    model = mmreg.MMModel(MM.replace("type = 'RE'", "RE = re(1 + majority, cor = TRUE)"), df)
    assert model.design.cor_pairs == ((0, 1), (2, 3))
    _check_gradient(model, shifts=(0.2,))


def test_correlation_fixed_at_zero_is_the_independent_model():
    # ρ held at 0 by a Fixed prior: the independent-slope fit, to optimiser tolerance
    df = coalitions()
    f_cor = MM.replace("type = 'RE'", "RE = re(1 + majority, cor = TRUE)")
    zero = {"cor.*": mmreg.priors.Fixed(0.0)}
    a = mmreg.MMModel(f_cor, df, priors=zero).fit()
    b = mmreg.MMModel(f_cor.replace(", cor = TRUE", ""), df).fit()
    np.testing.assert_allclose(a.params[b.params.index], b.params, rtol=1e-5, atol=1e-7)
    assert a.raw.mode.log_marginal == pytest.approx(b.raw.mode.log_marginal, rel=1e-9)


def test_hm_correlated_gradient_in_a_model_with_member_effects():
    df = coalitions()
    f = df.attrs["formula"].replace('type = "RE"', "RE = re(1 + majority, cor = TRUE)")
    model = mmreg.MMModel(f, df)
    assert model.space.names[-2] == "cor.hm1.majority"
    _check_gradient(model)


def test_small_block_traces_equal_log_determinant_differences(monkeypatch):
    # the exact tr(H⁻¹ ∂Q/∂ψ) from the pair's block of H⁻¹ vs central differences of log|H|
    import mmreg.inference.gradient as gr

    model = mmreg.MMModel(HM, simulate_hm(n_units=30, seed=5))
    u = model.posterior.start_values() + np.array([0.2, -0.3, 0.8, 0.1])
    md = model.latent.mode(model.space.hyper(u), tol=1e-13)
    every = np.ones(model.space.dim, bool)
    exact = _logdet_gradient(model.latent, model.space, u, md, every)
    monkeypatch.setattr(gr, "_small_block", lambda *a: False)
    differenced = _logdet_gradient(model.latent, model.space, u, md, every)
    np.testing.assert_allclose(exact, differenced, rtol=1e-6, atol=1e-7)


def test_selected_traces_with_a_correlated_pair(monkeypatch):
    # dense country blocks (≥ 500 effects): the seltrace route incl. the cross part
    df = coalitions(n_groups=1500, family="weibull", n_countries=8)
    f = MM.replace("y ~", "Surv(dur, event) ~")
    model = mmreg.MMModel(f, df, family="weibull")
    u = model.posterior.start_values() + 0.2
    md = model.latent.mode(model.space.hyper(u), tol=1e-13)
    assert md.factor.has_pattern_inverse
    every = np.ones(model.space.dim, bool)
    exact = _logdet_gradient(model.latent, model.space, u, md, every)
    monkeypatch.setattr(SchurFactor, "has_pattern_inverse", property(lambda self: False))
    differenced = _logdet_gradient(model.latent, model.space, u, md, every)
    np.testing.assert_allclose(exact, differenced, rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- fits
def test_recovery_with_known_truth():
    # 150 units x 20 groups, ρ = 0.5: the Laplace estimates within 3 of their standard errors
    df = simulate_hm(n_units=150, per_unit=20, rho=0.5, seed=11)
    res = mmreg.MMModel(HM, df).fit()
    truth = pd.Series(
        {"sigma.hm1": 0.5, "sigma.hm1.majority": 0.4, "cor.hm1.majority": 0.5, "sigma": 0.85}
    )
    z = (res.params[truth.index] - truth) / res.bse[truth.index]
    assert np.all(np.abs(z) < 3), z
    assert res.bse["cor.hm1.majority"] < 0.2  # informative: the test could fail


def test_row_order_does_not_change_the_fit():
    df = coalitions()
    f = MM.replace("type = 'RE'", "RE = re(1 + majority, cor = TRUE)")
    a = mmreg.MMModel(f, df).fit()
    shuffled = df.sample(frac=1.0, random_state=3)
    before = shuffled.copy()
    b = mmreg.MMModel(f, shuffled).fit()
    pd.testing.assert_frame_equal(shuffled, before)  # the user's data untouched
    assert {"cor.mm1.finance", "cor.hm1.majority"} <= set(a.params.index)
    np.testing.assert_allclose(a.params, b.params[a.params.index], rtol=1e-7, atol=1e-9)
    for k, tab in a.random_effects.items():
        other = b.random_effects[k].loc[tab.index]
        np.testing.assert_allclose(tab["mean"], other["mean"], rtol=1e-6, atol=1e-8)


def test_var_decomp_covariance_term():
    # components at the estimate: σa², σb² mean(x²), 2ρσaσb mean(x), σ²
    df = simulate_hm(seed=7)
    res = mmreg.MMModel(HM, df).fit()
    v = res.var_decomp()["variance"]
    p = res.params
    x = df["majority"].to_numpy()
    cov = 2 * p["cor.hm1.majority"] * p["sigma.hm1"] * p["sigma.hm1.majority"] * x.mean()
    assert v["cov.hm1.majority"] == pytest.approx(cov, rel=1e-8)
    assert v["hm1.majority"] == pytest.approx(p["sigma.hm1.majority"] ** 2 * np.mean(x**2))


def test_mcmc_log_density_is_the_exact_posterior():
    # what emcee samples: log p(y | ψ) + log prior(ψ) + log|dψ/du| on u = (log s, 2 atanh ρ)
    from mmreg.inference.mcmc import LogPosterior

    df = simulate_hm(n_units=12, seed=8)
    model = mmreg.MMModel(HM, df, priors=[mmreg.prior("lkj(3)", class_="cor")])
    post = model.posterior
    u = np.array([np.log(0.6), np.log(0.3), 2 * np.arctanh(-0.4), np.log(0.8)])
    lat = model.latent
    got = LogPosterior(post, lat.initial_z(), u, np.zeros((lat.dim, u.size)), 0, 1)(u)[0]
    hyp = model.hyper_from_params(
        {"sigma.hm1": 0.6, "sigma.hm1.majority": 0.3, "cor.hm1.majority": -0.4, "sigma": 0.8}
    )
    loglik = model.latent.mode(hyp, tol=1e-13).log_marginal
    hc = [mmreg.priors.HalfCauchy(25.0).logpdf(v) for v in (0.6, 0.3, 0.8)]
    lkj3 = 2 * np.log1p(-0.16) - np.log(2**5 * 0.0333333333333333)  # B(3,3) = 1/30
    jac = np.log(0.6) + np.log(0.3) + np.log(0.8) + np.log(1 - 0.16)  # dρ/du = (1 - ρ²)/2 · 2
    want = loglik + sum(hc) + lkj3 + jac - np.log(2)
    assert got == pytest.approx(want, rel=1e-10)


def test_importance_estimate_is_exact_for_the_gaussian():
    # the pseudo-marginal estimator's prior term: for a Gaussian the Laplace proposal is the
    # exact conditional, so every importance weight equals p(y | ψ) (any K)
    df = simulate_hm(n_units=30, seed=4)
    model = mmreg.MMModel(HM, df)
    hyp = model.hyper_from_params(
        {"sigma.hm1": 0.5, "sigma.hm1.majority": 0.3, "cor.hm1.majority": 0.7, "sigma": 0.9}
    )
    md = model.latent.mode(hyp, tol=1e-13)
    est, _, logw = ImportanceSampler(model.latent).estimate(hyp, md, np.random.default_rng(1), 8)
    assert est == pytest.approx(md.log_marginal, rel=1e-9)
    np.testing.assert_allclose(logw, np.log(1 / 8), rtol=1e-6)


def test_mcmc_runs_pickles_and_predicts(tmp_path):
    df = simulate_hm(n_units=20, seed=9)
    model = mmreg.MMModel(HM, df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = model.fit(method="mcmc", draws=60, tune=30, chains=2, seed=1)
    draws = post.raw.u.reshape(-1, model.space.dim)
    rho = model.space.natural_free(draws.T)[2] if draws.ndim == 1 else np.tanh(draws[:, 2] / 2)
    assert np.all(np.abs(rho) < 1)
    assert post.params["cor.hm1.majority"] == pytest.approx(rho.mean(), abs=1e-12)
    path = tmp_path / "r.pkl"
    post.save(path)
    back = mmreg.load(path)
    pd.testing.assert_series_equal(back.params, post.params)
    np.testing.assert_allclose(back.predict(df.head(5)), post.predict(df.head(5)), rtol=1e-12)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("re", "needles"),
    [
        ("re(1, cor = TRUE)", ["hm1", "there is no slope", "re(1 + x, cor = TRUE)"]),
        ("re(1 + majority + mwc, cor = TRUE)", ["only one correlated slope", "majority, mwc"]),
        ("re(0 + majority, cor = TRUE)", ["needs the random intercept"]),
    ],
)
def test_bad_correlated_terms_are_named_errors(re, needles):
    df = simulate_hm().assign(mwc=1.0)
    with pytest.raises(MMSpecError) as info:
        mmreg.MMModel(HM.replace("re(1 + majority, cor = TRUE)", re), df)
    for n in needles:
        assert n in str(info.value), f"{n!r} missing from {info.value}"


def test_mm_cor_without_slope_is_an_error():
    df = coalitions()
    with pytest.raises(MMSpecError, match="mm1.*there is no slope"):
        mmreg.MMModel(MM.replace("re(1 + finance, cor = TRUE)", "re(1, cor = TRUE)"), df)


@pytest.mark.parametrize(
    ("prior", "needle"),
    [
        ('mmreg.prior("lkj(0)", class_="cor")', "'eta' must be a finite positive number"),
        ('mmreg.prior("lkj(-2)", class_="cor")', "'eta' must be a finite positive number"),
        ('{"cor.*": mmreg.priors.Uniform(-2, 2)}', "puts mass outside it"),
        ('{"cor.*": mmreg.priors.Fixed(1.0)}', "strictly in (-1, 1)"),
        ('mmreg.prior("lkj(2)", class_="sd")', "lkj(eta) is a prior for correlations"),
    ],
)
def test_bad_correlation_priors(prior, needle):
    df = simulate_hm()
    with pytest.raises(MMSpecError) as info:
        p = eval(prior)
        mmreg.MMModel(HM, df, priors=p if isinstance(p, dict) else [p])
    assert needle in str(info.value)
