# Reference numbers: computed inside the test by statsmodels (GLM Poisson with an offset,
# discrete NegativeBinomial NB2 by maximum likelihood) and scipy, on the group-level data the
# test builds with pandas (one row per government, the mean of the members' finance as a
# column).  Data: validation.count_reference.simulate_counts (coalgov-shaped, 1000 groups).
"""The Laplace fit of the count families against their frequentist twins (#15).

* Poisson, no RE: no hyperparameters, so the fit is the penalised MLE; with N(0, 1e4²)
  coefficient priors it is the MLE to optimiser precision, and the SEs are the inverse
  observed (= expected: canonical link) information, as GLM's.
* NB2, no RE: with ``shape`` fixed at statsmodels' 1/alpha the coefficients are the MLE and
  the SEs the conditional ones (the Schur complement of statsmodels' covariance).  With the
  shape free (vague Gamma(1e-8, 1e-8) prior) it maximises the *restricted* (coefficients
  integrated out) likelihood, as for the Weibull shape: checked exactly against a scipy
  computation of that marginal, and against the MLE within a fraction of its SE.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import optimize, stats

import mmreg
from mmreg.priors import Fixed, Gamma, Normal
from validation.count_reference import simulate_counts

COEF = ["Intercept", "majority", "mm1.finance"]
FORMULA = (
    "y ~ 1 + majority + fix(log_exposure, 1) + mm(id = id(pid, gid), "
    "vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE), RE = FALSE)"
)
VAGUE = {c: Normal(0, 1e4) for c in COEF}


def _case(family: str, seed: int = 3):
    df = simulate_counts(
        family,
        seed=seed,
        n_groups=1000,
        n_members=300,
        truth={"sigma.mm1": 1e-9, "sigma.hm1": 1e-9},
    )
    d = df.assign(_wf=df["finance"] / df["n"])
    g = d.groupby("gid").agg(
        y=("y", "first"),
        majority=("majority", "first"),
        finance=("_wf", "sum"),
        log_exposure=("log_exposure", "first"),
    )
    X = sm.add_constant(g[["majority", "finance"]])
    return df, g, X


@pytest.mark.parametrize("seed", [3, 4])
def test_poisson_no_re_equals_glm(seed):
    df, g, X = _case("poisson", seed)
    glm = sm.GLM(g["y"], X, family=sm.families.Poisson(), offset=g["log_exposure"])
    ref = glm.fit(tol=1e-12)
    res = mmreg.MMModel(FORMULA, df, family="poisson", priors=VAGUE).fit()
    np.testing.assert_allclose(res.params[COEF], ref.params, rtol=1e-4)
    np.testing.assert_allclose(res.bse[COEF], ref.bse, rtol=1e-4)
    # bml's default N(0, 100²): within 1e-3 SE
    default = mmreg.MMModel(FORMULA, df, family="poisson").fit()
    assert (np.abs(default.params[COEF].to_numpy() - ref.params) / ref.bse < 1e-3).all()


def _nb_ml(g, X):
    nb = sm.NegativeBinomial(g["y"], X, loglike_method="nb2", offset=g["log_exposure"])
    return nb, nb.fit(disp=0, method="newton", tol=1e-12, maxiter=200)


def test_negbinomial_fixed_shape_equals_statsmodels_ml():
    df, g, X = _case("negbinomial")
    _, ref = _nb_ml(g, X)
    shape = 1.0 / ref.params["alpha"]
    res = mmreg.MMModel(
        FORMULA, df, family="negbinomial", priors=VAGUE | {"shape": Fixed(shape)}
    ).fit()
    V = ref.cov_params().to_numpy()
    Vbb, Vba, Vaa = V[:3, :3], V[:3, 3:], V[3:, 3:]
    se_cond = np.sqrt(np.diag(Vbb - Vba @ np.linalg.solve(Vaa, Vba.T)))
    np.testing.assert_allclose(res.params[COEF], ref.params.iloc[:3], rtol=1e-4)
    np.testing.assert_allclose(res.bse[COEF], se_cond, rtol=1e-4)


def _nb_restricted_reference(X, y, offset, a=1e-8, b=1e-8, prec=1e-8):
    """Shape maximising the Laplace-integrated (restricted) NB2 likelihood, from scipy.

    log p(y | k) = max_β [Σ log nbinom(y; k, k/(k+μ)) + log N(β; 0, prec⁻¹ I)]
                   + (P/2) log 2π − ½ log |H(k)| + log Gamma(k; a, b),
    H = Xᵀ diag((y + k) k μ / (k + μ)²) X + prec I.  Mode in k on the natural scale, SE from
    the curvature in log k (as the fit computes it).
    """
    p = X.shape[1]
    beta = np.zeros(p)
    beta[0] = np.log(y.mean()) - offset.mean()

    def log_marginal(u):
        k = np.exp(u)

        def nll(bb):
            mu = np.exp(X @ bb + offset)
            return -(stats.nbinom.logpmf(y, k, k / (k + mu)).sum() - 0.5 * prec * bb @ bb)

        def grad(bb):
            mu = np.exp(X @ bb + offset)
            return -(X.T @ (k * (y - mu) / (k + mu)) - prec * bb)

        def hess(bb):
            mu = np.exp(X @ bb + offset)
            return X.T @ (X * ((y + k) * k * mu / (k + mu) ** 2)[:, None]) + prec * np.eye(p)

        opt = optimize.minimize(
            nll, beta, jac=grad, hess=hess, method="trust-exact", options={"gtol": 1e-10}
        )
        beta[:] = opt.x
        log_prior_b = 0.5 * p * np.log(prec) - 0.5 * p * np.log(2 * np.pi)
        laplace = 0.5 * p * np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(hess(opt.x))[1]
        return -opt.fun + log_prior_b + laplace + stats.gamma.logpdf(k, a, scale=1 / b)

    opt = optimize.minimize_scalar(lambda u: -log_marginal(u), bracket=(-1.0, 2.0), tol=1e-10)
    u, h = opt.x, 1e-3
    curv = -(log_marginal(u + h) - 2 * log_marginal(u) + log_marginal(u - h)) / h**2
    return np.exp(u), np.exp(u) / np.sqrt(curv)


def test_negbinomial_no_re_restricted_shape_and_ml():
    df, g, X = _case("negbinomial")
    _, ref = _nb_ml(g, X)
    priors = {c: Normal(0, 1e4) for c in COEF} | {"shape": Gamma(1e-8, 1e-8)}
    res = mmreg.MMModel(FORMULA, df, family="negbinomial", priors=priors).fit()
    # exactly: the restricted likelihood computed with scipy
    shape, se_shape = _nb_restricted_reference(
        X.to_numpy(), g["y"].to_numpy(), g["log_exposure"].to_numpy()
    )
    assert res.params["shape"] == pytest.approx(shape, rel=1e-5)
    assert res.bse["shape"] == pytest.approx(se_shape, rel=1e-3)
    # against the MLE: the restricted shape differs by O(p/n) relative, a fraction of an SE;
    # the coefficients and their SEs by far less
    ml_shape = 1.0 / ref.params["alpha"]
    se_ml_shape = ref.bse["alpha"] / ref.params["alpha"] ** 2
    assert abs(res.params["shape"] - ml_shape) < 0.3 * se_ml_shape
    dz = np.abs(res.params[COEF].to_numpy() - ref.params.iloc[:3]) / ref.bse.iloc[:3]
    assert (dz < 0.02).all(), dz
    np.testing.assert_allclose(res.bse[COEF], ref.bse.iloc[:3], rtol=5e-3)
    assert res.params["shape"] == pytest.approx(2.0, rel=0.25)  # the truth
