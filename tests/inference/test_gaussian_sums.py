"""log p(y | ψ) of a Gaussian model from sufficient statistics
(mmreg.inference.gaussian_sums) against the marginal normal density of y, computed densely
with scipy: y ~ N(offset + A m, σ² I + A Q⁻¹ Aᵀ)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import multivariate_normal

import mmreg
from mmreg.inference.gaussian_sums import GaussianSums
from mmreg.inference.laplace import fit_laplace


def _model(shift: float = 0.0, weights: str = "equal"):
    df = mmreg.datasets.simulate_coalitions(
        n_groups=120, n_members=40, n_countries=8, weights=weights, seed=4
    )
    df = df.assign(y=df["y"] + shift)  # a copy: the user's frame is never modified
    return mmreg.MMModel(df.attrs["formula"], df)


def _dense_marginal(model, hyper) -> float:
    lat = model.posterior.latent
    D, R, off = lat.assemble(hyper.theta)
    A = np.hstack([D, sp.csr_matrix(R).toarray()])
    Q = lat.prior_precision(hyper.sd, hyper.cor)
    s2 = lat.family.residual_variance(hyper.phi)
    cov = s2 * np.eye(lat.n) + A @ np.linalg.solve(Q, A.T)
    mean = off + A @ lat.prior_mean(hyper)
    return float(multivariate_normal(mean, cov).logpdf(lat.family.normal_outcome()))


def test_marginal_matches_dense_normal():
    """Equal to the dense marginal to 1e-8 at the Laplace mode and 5 other ψ, with the mode
    equal to the Newton path's (LatentModel.mode)."""
    model = _model()
    post = model.posterior
    lap = fit_laplace(post, None, mcmc_start=True)
    sums = GaussianSums.of(post.latent, lap.mode.z)
    assert sums is not None
    rng = np.random.default_rng(1)
    for k in range(6):
        u = lap.u + (0 if k == 0 else 0.7 * rng.standard_normal(lap.u.size))
        hyper = post.space.hyper(u)
        got = sums.mode(hyper)
        assert got.log_marginal == pytest.approx(_dense_marginal(model, hyper), abs=1e-8)
        assert np.allclose(got.z, post.latent.mode(hyper).z, rtol=0, atol=1e-8)


_MM = "mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1/n), RE = TRUE{})"
_HM = 'hm(id = id(cid), type = "RE")'


@pytest.mark.parametrize(
    "rhs",
    [
        "1 + majority",  # no random effects: a dense factor
        f"1 + majority + {_HM}",  # few random effects: dense
        f"1 + majority + {_MM.format(', ar = TRUE')} + {_HM}",  # bml's random walk
        f"1 + majority + {_MM.format('')} + hm(id = id(cid), RE = re(1 + majority, cor = TRUE))",
    ],
)
def test_marginal_matches_newton_across_structures(rhs):
    """The same exact value as the Newton path (which forms the residuals row by row) on
    every factor layout: none, dense, SuperLU with a random walk, correlated slopes."""
    df = mmreg.datasets.simulate_coalitions(n_groups=120, n_members=40, n_countries=8, seed=5)
    post = mmreg.MMModel(f"y ~ {rhs}", df).posterior
    lap = fit_laplace(post, None, mcmc_start=True)
    sums = GaussianSums.of(post.latent, lap.mode.z)
    assert sums is not None
    rng = np.random.default_rng(3)
    for _ in range(3):
        hyper = post.space.hyper(lap.u + 0.5 * rng.standard_normal(lap.u.size))
        newton = post.latent.mode(hyper)
        got = sums.mode(hyper)
        assert got.log_marginal == pytest.approx(newton.log_marginal, abs=1e-8)
        assert np.allclose(got.z, newton.z, rtol=0, atol=1e-8)


@pytest.mark.filterwarnings("ignore::mmreg.MMWarning")  # the default priors vs y ~ 10⁶
def test_far_outcome_stays_exact():
    """An outcome shifted by 10⁶ (y*ᵀy* ≈ 10¹⁴; the dense covariance is then too badly
    conditioned for scipy): the statistics are taken about the Laplace fit, so the value
    equals the Newton path's, which forms the residuals row by row, to 1e-8."""
    model = _model(1e6)
    post = model.posterior
    lap = fit_laplace(post, None, mcmc_start=True)
    sums = GaussianSums.of(post.latent, lap.mode.z)
    rng = np.random.default_rng(2)
    for _ in range(4):
        hyper = post.space.hyper(lap.u + 0.7 * rng.standard_normal(lap.u.size))
        newton = post.latent.mode(hyper)
        assert sums.mode(hyper).log_marginal == pytest.approx(newton.log_marginal, abs=1e-8)


@pytest.mark.filterwarnings("ignore::mmreg.MMWarning")  # the default priors vs y ~ 10⁴
@pytest.mark.parametrize("shift", [0.0, 1e4])
def test_estimated_weights_form_the_statistics_per_evaluation(shift):
    """With weight parameters A depends on ψ: the statistics are formed at every
    evaluation, and the value equals the dense marginal normal density (1e-8) and the
    Newton path's (which also checks the shifted outcome, too ill-conditioned densely)."""
    model = _model(shift, weights="estimated")
    post = model.posterior
    assert any(len(b.wnames) for b in post.latent.design.mm)
    lap = fit_laplace(post, None, mcmc_start=True)
    sums = GaussianSums.of(post.latent, lap.mode.z)
    assert sums is not None and not sums.fixed
    rng = np.random.default_rng(6)
    for k in range(5):
        hyper = post.space.hyper(lap.u + (0 if k == 0 else 0.5 * rng.standard_normal(lap.u.size)))
        got = sums.mode(hyper)
        newton = post.latent.mode(hyper)
        assert got.log_marginal == pytest.approx(newton.log_marginal, abs=1e-8)
        assert np.allclose(got.z, newton.z, rtol=0, atol=1e-8 * max(1.0, shift))
        if shift == 0.0:
            assert got.log_marginal == pytest.approx(_dense_marginal(model, hyper), abs=1e-8)


@pytest.mark.filterwarnings("ignore::mmreg.MMWarning")
@pytest.mark.parametrize("weights", ["equal", "estimated"])
def test_far_hyperparameters_stay_exact(weights):
    """Equal to the Newton path far from the estimates, where the statistics' subtraction
    loses its digits: an SD near zero (its precision × the rounding error of ẑ relative to
    z_ref: 1e-3 nats at log σ = −15, 8 at −20 before the fallback), and, with estimated
    weights, where A(θ) z_ref lies far from y (there the subtraction went negative, a
    spurious likelihood of 1e282 that sent the sampler to weight parameters of ~700).
    H that cannot be factored counts as −inf, as in the sampler."""
    model = _model(weights=weights)
    post = model.posterior
    lap = fit_laplace(post, None, mcmc_start=True)
    sums = GaussianSums.of(post.latent, lap.mode.z)
    names = list(post.space.free)

    def value(search, hyper):
        try:
            return search(hyper).log_marginal
        except np.linalg.LinAlgError:
            return -np.inf

    points = []
    for key in ("sigma.hm1", "sigma.mm1"):
        for lu in (-10.0, -15.0, -20.0, -30.0):
            u = lap.u.copy()
            u[names.index(key)] = lu
            points.append(u)
    if weights == "estimated":  # where that sampler went, scaled
        far = {"mm1.w.b0": 670.7, "mm1.w.b1": -532.3, "sigma.mm1": 69.6, "sigma.hm1": -344.4}
        far["sigma"] = 4.7
        points += [s * np.array([far[n] for n in names]) for s in (0.05, 0.1, 0.2, 0.5, 1.0)]
    finite = 0
    for u in points:
        hyper = post.space.hyper(u)
        newton = value(post.latent.mode, hyper)
        finite += bool(np.isfinite(newton))
        assert value(sums.mode, hyper) == pytest.approx(newton, rel=1e-9, abs=1e-6)
    assert finite >= 8


def test_not_used_with_held_coefficients():
    """A coefficient held by a pinning prior (here sampled with ψ under a uniform prior)
    would make the subtraction inexact: no sufficient statistics (test_coef_priors checks
    the sampled case's posterior through the Newton path)."""
    df = mmreg.datasets.simulate_coalitions(n_groups=120, n_members=40, n_countries=8, seed=4)
    held = mmreg.MMModel(
        df.attrs["formula"], df, priors={"majority": mmreg.priors.Uniform(-5, 5)}
    ).posterior.latent
    assert held.held.sum() == 1 and GaussianSums.of(held, np.zeros(held.dim)) is None
