"""Cox family: closed-form marginal vs numerical integration, bml's grids, simulation."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from scipy import integrate, optimize, stats
from statsmodels.duration.hazard_regression import PHReg

from mmreg.errors import MMDataError, MMSpecError
from mmreg.families import get_family

# the module (the attribute mmreg.families.cox is the family constructor cox())
cox_mod = importlib.import_module("mmreg.families.cox")

TIME = np.array([1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 7.5, 4.0])
EVENT = np.array([1, 1, 0, 1, 1, 1, 0, 0], dtype=float)
ETA = np.array([0.2, -0.5, 0.1, 0.7, -0.3, 0.0, 0.4, -0.1])


def _marginal_by_quadrature(E, dN, eta, a, b):
    """sum_k log int prod_i Pois(dN_ik; E_ik e^eta_i lam) Gamma(lam; a, rate b) dlam."""
    total = 0.0
    for k in range(E.shape[1]):
        mu = E[:, k] * np.exp(eta)

        def logf(lam, mu=mu, k=k):
            lp = stats.poisson.logpmf(dN[:, k], mu * lam).sum()
            return lp + stats.gamma.logpdf(lam, a, scale=1 / b)

        mode = optimize.minimize_scalar(
            lambda u: -logf(np.exp(u)), bounds=(-20, 10), method="bounded"
        ).x
        ref = logf(np.exp(mode))
        val, _ = integrate.quad(
            lambda lam, ref=ref: np.exp(logf(lam) - ref),
            0,
            np.inf,
            points=None,
            epsabs=0,
            epsrel=1e-11,
            limit=200,
        )
        total += ref + np.log(val)
    return total


@pytest.mark.parametrize("grid", ["all", "events"])
def test_unique_time_marginal_equals_numerical_integration(grid):
    a, b = 2.0, 1.5
    t_k = np.unique(TIME if grid == "all" else TIME[EVENT == 1])
    E = (TIME[:, None] >= t_k[None, :]).astype(float)  # at risk at t_k
    dN = ((TIME[:, None] == t_k[None, :]) & (EVENT[:, None] == 1)).astype(float)
    bf = get_family("cox", a=a, b=b, grid=grid).bind({"time": TIME, "event": EVENT})
    assert bf.loglik(ETA) == pytest.approx(_marginal_by_quadrature(E, dN, ETA, a, b), rel=1e-8)


def test_piecewise_marginal_equals_numerical_integration():
    a, b, k = 1.5, 0.7, 3
    bf = get_family("cox", intervals=k, a=a, b=b).bind({"time": TIME, "event": EVENT})
    br = bf.breaks
    start, width = br[:-1], np.diff(br)
    E = np.clip(TIME[:, None] - start[None, :], 0, width[None, :])  # time at risk
    inside = (TIME[:, None] > start[None, :]) & (TIME[:, None] <= br[1:][None, :])
    dN = (inside & (EVENT[:, None] == 1)).astype(float)
    assert bf.loglik(ETA) == pytest.approx(_marginal_by_quadrature(E, dN, ETA, a, b), rel=1e-8)


def test_breaks_follow_bml_type7_quantiles():
    # event times 1, 2, 4, 8, 16; R: quantile(c(1,2,4,8,16), c(0, 1/3, 2/3, 1)) = 1, 8/3, 20/3, 16
    time = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 20.0])
    event = np.array([1, 1, 1, 1, 1, 0])
    bf = get_family("cox", intervals=3).bind({"time": time, "event": event})
    np.testing.assert_allclose(bf.breaks, [0.0, 8 / 3, 20 / 3, 21.0])
    post = bf.baseline_posterior(np.zeros(6))
    np.testing.assert_array_equal(post["events"], [2, 1, 2])
    # time at risk in (0, 8/3], (8/3, 20/3], (20/3, 21]
    exp_exposure = [1 + 2 + 4 * (8 / 3), 4 - 8 / 3 + 3 * 4, 8 - 20 / 3 + 16 - 20 / 3 + 20 - 20 / 3]
    np.testing.assert_allclose(post["exposure"], exp_exposure)
    np.testing.assert_allclose(post["shape"], 0.001 + np.array([2, 1, 2]))
    np.testing.assert_allclose(post["rate"], 0.1 + np.array(exp_exposure))


def test_baseline_posterior_unique_times_by_hand():
    time = np.array([1.0, 2.0, 2.0, 3.0])
    event = np.array([1, 1, 0, 1])
    eta = np.log(np.array([1.0, 2.0, 3.0, 4.0]))
    post = get_family("cox").bind({"time": time, "event": event}).baseline_posterior(eta)
    np.testing.assert_array_equal(post["time"], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(post["events"], [1, 1, 1])
    np.testing.assert_allclose(post["exposure"], [10.0, 9.0, 4.0])  # sums of exp(eta) at risk
    np.testing.assert_allclose(post["mean"], (0.001 + 1) / (0.1 + np.array([10.0, 9.0, 4.0])))


def test_simulate_matches_median_and_recovers_coefficients():
    rng = np.random.default_rng(99)
    n = 3000
    X = rng.normal(size=(n, 2))
    beta = np.array([0.5, -0.8])
    data_time = rng.exponential(10.0, n)
    bf = get_family("cox").bind({"time": data_time, "event": np.ones(n)})
    sim = bf.simulate(X @ beta, (), rng)
    assert sim["event"].all()
    frac = np.mean(sim["time"] <= np.median(data_time))
    assert abs(frac - 0.5) < 4 * np.sqrt(0.25 / n)
    fit = PHReg(sim["time"], X, status=sim["event"]).fit()
    assert np.all(np.abs(fit.params - beta) < 4 * fit.bse)


def test_simulate_censors_like_the_data():
    rng = np.random.default_rng(1)
    n = 500
    time = rng.exponential(5.0, n)
    event = (rng.random(n) < 0.6).astype(float)
    sim = (
        get_family("cox", intervals=4)
        .bind({"time": time, "event": event})
        .simulate(rng.normal(size=n), (), rng)
    )
    assert sim["event"][event == 1].all()
    cens = sim["event"] == 0
    assert cens.any()
    np.testing.assert_array_equal(sim["time"][cens], time[cens])


def test_mean_residual_variance_and_no_phi():
    bf = get_family("cox").bind({"time": TIME, "event": EVENT})
    np.testing.assert_allclose(bf.mean(ETA), np.exp(ETA))
    assert bf.residual_variance(()) is None


def test_no_events_is_a_data_error():
    with pytest.raises(MMDataError, match="'event_wkb'.*no events"):
        get_family("cox", intervals=5).bind(
            {"time": [1.0, 2.0], "event": [0, 0]}, labels={"event": "event_wkb"}
        )


def test_large_risk_set_matrix_is_refused_with_advice(monkeypatch):
    monkeypatch.setattr(cox_mod, "MAX_RISKSET_NNZ", 10)
    bf = get_family("cox").bind({"time": TIME, "event": EVENT})
    assert np.isfinite(bf.loglik(ETA))  # the likelihood itself needs no risk-set matrix
    with pytest.raises(MMSpecError, match="cox_intervals"):
        bf.derivs(ETA)


def _marginal_logspace(E, dN, eta, a, b):
    """The closed form with every S_k formed by scipy's logsumexp (an independent path)."""
    from scipy.special import gammaln, logsumexp

    d = dN.sum(axis=0)
    total = float(dN.sum(axis=1) @ eta) + float(np.sum(dN * np.log(np.where(dN > 0, E, 1.0))))
    for k in range(E.shape[1]):
        logS = logsumexp(eta, b=E[:, k])
        L = np.logaddexp(np.log(b), logS)
        total += gammaln(a + d[k]) - gammaln(a) + a * np.log(b) - (a + d[k]) * L
    return total


@pytest.mark.parametrize("intervals", [None, 2])
@pytest.mark.parametrize(
    "eta",
    [[1e6, 500.0, 500.0], [1e16, 1e14, 1e14], [-900.0, 0.0, 800.0], [800.0, -800.0, 0.0]],
)
def test_extreme_linear_predictors_keep_every_risk_set_exact(intervals, eta):
    # Regression: one global max(eta) used to scale every risk set, so pieces whose
    # at-risk eta lay > 745 below it underflowed to S_k = 0 and the log-likelihood became
    # hugely positive (+890.8 instead of -128.4 for the first case).
    time, event = np.array([1.0, 2.0, 3.0]), np.ones(3)
    eta = np.asarray(eta)
    bf = get_family("cox", intervals=intervals, a=1e-4, b=1e-4).bind({"time": time, "event": event})
    if intervals is None:
        E = (time[:, None] >= time[None, :]).astype(float)
        dN = np.eye(3)
    else:
        br = bf.breaks
        E = np.clip(time[:, None] - br[:-1][None, :], 0, np.diff(br)[None, :])
        inside = (time[:, None] > br[:-1][None, :]) & (time[:, None] <= br[1:][None, :])
        dN = inside.astype(float)
    ref = _marginal_logspace(E, dN, eta, 1e-4, 1e-4)
    ll = bf.loglik(eta)
    assert ll == pytest.approx(ref, rel=1e-12, abs=1e-9)
    assert ll <= 0.0 or intervals is not None  # a probability of a rank order
    if np.abs(eta).max() < 1e4:  # the per-subject split is exact up to ~1e-16 * max|eta|
        assert bf.loglik_terms(eta).sum() == pytest.approx(ref, rel=1e-9, abs=1e-9)
    g, curv = bf.derivs(eta)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(curv.d))
    assert np.all(np.isfinite(curv.U.toarray()))
    H = curv.dense()
    assert np.all(np.isfinite(H))
    if np.abs(eta).max() < 1e4:  # beyond, eta itself carries rounding of order 1e-16 * eta
        assert np.linalg.eigvalsh(H).min() > -1e-9 * max(1.0, np.abs(H).max())


def test_derivatives_match_finite_differences_on_the_rescaled_curvature():
    bf = get_family("cox", a=0.5, b=0.2).bind({"time": TIME, "event": EVENT})
    g, curv = bf.derivs(ETA)
    h = 1e-5
    num_g = np.array(
        [(bf.loglik(ETA + h * e) - bf.loglik(ETA - h * e)) / (2 * h) for e in np.eye(len(ETA))]
    )
    np.testing.assert_allclose(g, num_g, rtol=1e-6, atol=1e-8)
    num_H = np.array(
        [
            (bf.derivs(ETA + h * e)[0] - bf.derivs(ETA - h * e)[0]) / (2 * h)
            for e in np.eye(len(ETA))
        ]
    )
    np.testing.assert_allclose(-curv.dense(), num_H, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("scale", [1.0, 800.0])
def test_row_logsumexp_matches_scipy_with_and_without_the_shift(scale):
    """log Σⱼ A_ij exp(x_j) per row against scipy.special.logsumexp with weights ``b``: at
    ordinary predictors (unshifted sums) and at ±800 (sums out of range: shifted), for one
    predictor vector and for a matrix of particles; an empty row is -inf."""
    import scipy.sparse as sp
    from scipy.special import logsumexp

    from mmreg.families.cox import _RowLogSumExp

    rng = np.random.default_rng(7)
    A = sp.random(30, 50, density=0.2, random_state=8, format="csr")
    A.data = rng.uniform(0.1, 3.0, A.nnz)
    A = sp.csr_matrix(A.toarray() * (np.arange(30) != 4)[:, None])  # row 4 empty
    f = _RowLogSumExp(A)
    dense = A.toarray()
    for x in (scale * rng.normal(size=50), scale * rng.normal(size=(50, 3))):
        got = f(x)
        X = x if x.ndim == 2 else x[:, None]
        for i in range(30):
            cols = dense[i] > 0
            for k in range(X.shape[1]):
                g = got[i, k] if x.ndim == 2 else got[i]
                if not cols.any():
                    assert g == -np.inf
                else:
                    ref = logsumexp(X[cols, k], b=dense[i, cols])
                    assert g == pytest.approx(ref, rel=1e-13, abs=1e-13)


@pytest.mark.parametrize("kw", [{}, {"intervals": 3}])
def test_core_cache_returns_the_values_of_a_fresh_family(kw):
    """The last predictor's risk-set sums are reused (Newton asks for the log-likelihood,
    then the derivatives at the same η): the values equal a fresh family's bit for bit, a
    caller that changes its array in place afterwards gets the new values, and an equal
    array from elsewhere is served from the cache."""
    data = {"time": TIME, "event": EVENT}
    bf = get_family("cox", **kw).bind(data)
    eta = ETA.copy()
    first = bf.loglik(eta)
    g1, c1 = bf.derivs(eta)
    fresh = get_family("cox", **kw).bind(data)
    assert first == fresh.loglik(ETA)
    g2, c2 = fresh.derivs(ETA)
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_array_equal(c1.d, c2.d)
    eta += 0.3  # in place: not the cached predictor any more
    assert bf.loglik(eta) == get_family("cox", **kw).bind(data).loglik(ETA + 0.3)
    assert bf.loglik(ETA + 0.3) == bf.loglik(eta)
    assert bf.loglik(ETA) == first
