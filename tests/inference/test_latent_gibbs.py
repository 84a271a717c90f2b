"""``fit(method="mcmc", latent="gibbs")`` (:mod:`mmreg.inference.latent_gibbs`).

Reference: the exact posterior of a binomial random-intercept model by quadrature,
written out here with scipy (independent of mmreg's code): a grid over log σ (HalfCauchy(25)
prior, bml's default), the intercept (Normal(0, 100)) and each group's effect, with the
groups' likelihoods from their success counts.  Tolerances: 4 Monte Carlo SEs of the
run's means (mmreg's ``mcse_mean``); 12% on the SDs (ESS ≥ 400 gives ~4% SE on an SD).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import logsumexp

import mmreg
from mmreg.errors import MMSpecError


def _data(groups: int = 10, per: int = 8, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cid = np.repeat(np.arange(groups), per)
    u = 0.8 * rng.standard_normal(groups)
    y = (rng.random(cid.size) < 1 / (1 + np.exp(-0.3 - u[cid]))).astype(int)
    return pd.DataFrame({"y": y, "cid": cid})


def _model(df: pd.DataFrame):
    return mmreg.MMModel('y ~ 1 + hm(id = id(cid), type = "RE")', df, family="binomial")


def _exact_posterior(df: pd.DataFrame) -> dict:
    """Posterior means and SDs of the intercept b and σ by quadrature."""
    s = df.groupby("cid")["y"].agg(["sum", "count"]).to_numpy(float)
    v = np.linspace(-6.0, 3.0, 181)  # log σ
    b = np.linspace(-5.0, 5.0, 201)
    t = np.linspace(-8.0, 8.0, 321)  # u = σ t
    sig = np.exp(v)
    eta = b[None, :, None] + sig[:, None, None] * t[None, None, :]  # (v, b, t)
    log1pe = np.logaddexp(0.0, eta)
    logphi = stats.norm.logpdf(t) + np.log(t[1] - t[0])
    loglik = np.zeros((v.size, b.size))
    for k, n in s:
        loglik += logsumexp(k * eta - n * log1pe + logphi, axis=2)
    logp = (
        loglik
        + stats.halfcauchy(scale=25.0).logpdf(sig)[:, None]
        + v[:, None]  # the density of log σ
        + stats.norm(0.0, 100.0).logpdf(b)[None, :]
    )
    p = np.exp(logp - logsumexp(logp))
    pb, ps = p.sum(axis=0), p.sum(axis=1)
    out = {}
    for name, x, w in (("Intercept", b, pb), ("sigma.hm1", sig, ps)):
        m = float(x @ w)
        out[name] = (m, float(np.sqrt((x - m) ** 2 @ w)))
    return out


def test_posterior_equals_the_exact_posterior_by_quadrature():
    df = _data()
    exact = _exact_posterior(df)
    res = _model(df).fit(method="mcmc", latent="gibbs", draws=1000, chains=4, seed=3)
    diag = res.mcmc_diag()
    assert diag["rhat"].max() < 1.01 and diag["ess_bulk"].min() > 400
    for name, (m, sd) in exact.items():
        assert abs(res.params[name] - m) < 4 * diag.loc[name, "mcse_mean"], (name, m)
        assert res.bse[name] == pytest.approx(sd, rel=0.12), name
    hmc = res.raw.latent_acceptance
    assert hmc.shape == (4, res.raw.u.shape[2]) and 0.5 < hmc.mean() <= 1.0
    assert "Latent (Gibbs):" in res.summary().as_text()


def test_same_seed_same_draws_in_one_process_or_two():
    model = _model(_data(groups=6, per=5, seed=1))
    opts = dict(method="mcmc", latent="gibbs", draws=48, tune=10, chains=2, seed=9)
    with pytest.warns(mmreg.MMWarning):  # a short run: the convergence warning
        a = model.fit(**opts)
    with pytest.warns(mmreg.MMWarning):
        b = model.fit(cores=2, **opts)
    np.testing.assert_array_equal(a.raw.u, b.raw.u)
    np.testing.assert_array_equal(a.raw.z, b.raw.z)
    np.testing.assert_array_equal(a.raw.loglik_total, b.raw.loglik_total)
    assert a.raw.latent == "gibbs" and a.raw.particles == 0


def test_thinning_keeps_every_thin_th_step_and_its_latent_draw():
    model = _model(_data(groups=6, per=5, seed=1))
    opts = dict(method="mcmc", latent="gibbs", draws=48, tune=10, chains=1, seed=4)
    with pytest.warns(mmreg.MMWarning):
        full = model.fit(**opts)
    with pytest.warns(mmreg.MMWarning):
        thin = model.fit(thin=2, **opts)
    nw = full.raw.u.shape[2]
    assert thin.raw.u.shape[1] == -(-48 * 2 // nw) // 2  # kept steps, after thinning
    # every stored z belongs to the ψ stored beside it: its likelihood is the stored total
    post = model.posterior
    for s in range(thin.raw.u.shape[1]):
        hyp = post.unpack(thin.raw.u[0, s, 3])
        eta = post.eta(hyp.theta, thin.raw.z[0, s, 3])
        ll = post.bound_family.loglik_terms(eta, hyp.phi).sum()
        assert ll == pytest.approx(thin.raw.loglik_total[0, s, 3], rel=1e-12)
    # the thinned run keeps every other step of the same chain (same seed and tuning)
    np.testing.assert_array_equal(thin.raw.u[0, :2], full.raw.u[0, :4:2])


def test_auto_samples_the_latent_vector_where_the_importance_estimate_is_noisy(monkeypatch):
    import mmreg.inference.mcmc as mcmc

    model = _model(_data(groups=6, per=5, seed=1))
    opts = dict(method="mcmc", draws=48, tune=10, chains=1, seed=2)
    with pytest.warns(mmreg.MMWarning):
        marginal = model.fit(latent="marginal", **opts)
    # this small model's estimate is precise (SD far below the switch): auto integrates,
    # the same draws as latent="marginal"
    with pytest.warns(mmreg.MMWarning):
        auto = model.fit(**opts)
    assert auto.raw.latent == "marginal"
    assert 0 < auto.raw.log_estimate_sd < mcmc.LATENT_SWITCH_SD
    np.testing.assert_array_equal(auto.raw.u, marginal.raw.u)
    np.testing.assert_array_equal(auto.raw.z, marginal.raw.z)
    # a switch below the measured SD samples the latent vector, and says why
    monkeypatch.setattr(mcmc, "LATENT_SWITCH_SD", 0.5 * auto.raw.log_estimate_sd)
    with pytest.warns(mmreg.MMWarning):
        switched = model.fit(**opts)
    assert switched.raw.latent == "gibbs" and switched.raw.particles == 0
    assert switched.raw.particle_choice.sd == pytest.approx(auto.raw.log_estimate_sd)
    assert "importance SD" in switched.summary().as_text()
    with pytest.warns(mmreg.MMWarning):
        gibbs = model.fit(latent="gibbs", **opts)
    np.testing.assert_array_equal(switched.raw.u, gibbs.raw.u)
    # options the sampler does not take keep the importance sampler
    with pytest.warns(mmreg.MMWarning):
        given = model.fit(particles=8, **opts)
    assert given.raw.latent == "marginal"


@pytest.mark.parametrize(
    ("opts", "named"),
    [
        ({"latent": "sample"}, "latent must be"),
        ({"latent": "gibbs", "particles": 8}, "does not take particles"),
        ({"latent": "gibbs", "backend": "run.h5"}, "does not take backend"),
    ],
)
def test_options_it_does_not_take_are_refused(opts, named):
    model = _model(_data(groups=6, per=5, seed=1))
    with pytest.raises(MMSpecError, match=named):
        model.fit(method="mcmc", **opts)
