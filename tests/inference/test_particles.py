"""The particle count of a pseudo-marginal run chosen from the measured estimator SD
(mmreg.inference.particles)."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import mmreg
from mmreg.inference import particles as pmod
from mmreg.inference.laplace import fit_laplace
from mmreg.inference.logpost import LogPosterior
from mmreg.inference.particles import choose_particles, estimator_sd

# 20 values with mean 0 and SD exactly 1 (ddof 1): a fake estimator's values at u + 1e-12·i
_Z = np.random.default_rng(0).standard_normal(pmod.REPS)
_Z = (_Z - _Z.mean()) / _Z.std(ddof=1)


class _FakeLogPost:
    """An estimator whose log-estimate SD at the mode is exactly ``sd_of(K)``."""

    def __init__(self, K, sd_of, n=100):
        self.K, self.sd_of = K, sd_of
        self.latent = SimpleNamespace(n=n)  # the observations (rows of eta)

    def with_particles(self, K):
        return _FakeLogPost(K, self.sd_of, self.latent.n)

    def evaluate(self, u):
        i = int(round(u[0] * 1e12))
        return -100.0 + self.sd_of(self.K) * _Z[i], i, None


def test_rule_light_tails_one_raise():
    # SD = 4/√K: 8 particles give 1.414 > 1; the raise multiplies K by (1.414 / 0.9)² = 2.47
    lp, choice = choose_particles(_FakeLogPost(8, lambda K: 4 / np.sqrt(K)), np.zeros(2), None)
    assert [k for k, _ in choice.tried] == [8, 20]  # ceil(8 · 2.469)
    assert np.allclose([s for _, s in choice.tried], [4 / np.sqrt(8), 4 / np.sqrt(20)])
    assert lp.K == choice.particles == 20 and choice.sd <= pmod.SD_TARGET
    assert choice.auto and not choice.capped


def test_rule_heavy_tails_stops_at_cap():
    # SD = 6 / K^¼ falls more slowly than 1/√K: the raises stop at the cap, above target
    lp, choice = choose_particles(_FakeLogPost(8, lambda K: 6 / K**0.25), np.zeros(2), None)
    ks = [k for k, _ in choice.tried]
    assert ks[0] == 8 and ks[1] == int(np.ceil(8 * (6 / 8**0.25 / 0.9) ** 2)) == 126
    assert ks[-1] == pmod.PARTICLES_MAX and lp.K == pmod.PARTICLES_MAX
    assert choice.sd == pytest.approx(6 / 256**0.25) and choice.capped


def test_rule_stops_when_more_particles_do_not_pay():
    """The SDs measured at 100,000 simulated Weibull groups (benchmarks/README.md): 8 → 55
    → 160 particles give 2.34, 1.53, 1.33. The cost of an effective draw, K·exp(SD²), is
    572 at 55 and 937 at 160: the choice stops at 55, above the target (capped)."""
    sds = {8: 2.3387, 55: 1.5308, 160: 1.3335}
    lp, choice = choose_particles(_FakeLogPost(8, sds.__getitem__), np.zeros(2), None)
    assert [k for k, _ in choice.tried] == [8, 55, 160]
    assert lp.K == choice.particles == 55 and choice.sd == pytest.approx(1.5308)
    assert choice.capped


def test_rule_caps_particles_by_rows():
    """Many rows cap the particles by the n × K linear predictors an evaluation holds
    (ETA_MAX): 10⁶ rows allow 50."""
    fake = _FakeLogPost(8, lambda K: 6 / K**0.25, n=1_000_000)
    lp, choice = choose_particles(fake, np.zeros(2), None)
    assert pmod.ETA_MAX // 1_000_000 == 50 == choice.particles and choice.capped


def test_given_particles_are_kept_and_precise_default_unchanged():
    lp, choice = choose_particles(_FakeLogPost(8, lambda K: 4 / np.sqrt(K)), np.zeros(2), 8)
    assert choice.particles == 8 and not choice.auto and len(choice.tried) == 1
    assert choice.sd == pytest.approx(4 / np.sqrt(8))
    lp, choice = choose_particles(_FakeLogPost(8, lambda K: 0.3), np.zeros(2), None)
    assert choice.particles == 8 and len(choice.tried) == 1


@pytest.fixture
def binomial_model():
    df = mmreg.datasets.simulate_coalitions(
        n_groups=1000, n_members=200, n_countries=10, family="binomial", seed=2
    )
    return mmreg.MMModel(df.attrs["formula"], df, family="binomial")


def test_real_estimator_meets_target(binomial_model, monkeypatch):
    """On a real model (1,000 groups, binomial) with one default particle and a target of
    0.1, the choice raises K until the estimator's SD, measured again independently with
    other seeds, is near the target: SD ≈ 0.31 with 1 particle (the measured value)."""
    post = binomial_model.posterior
    lap = fit_laplace(post, None, mcmc_start=True)
    monkeypatch.setattr(pmod, "SD_TARGET", 0.1)
    lp1 = LogPosterior.from_laplace(post, lap, 1, seed=3)
    lp, choice = choose_particles(lp1, lap.u, None)
    assert choice.tried[0][1] > 0.2 and choice.particles > 4 and choice.sd <= 0.1
    # another run seed: the same K gives an SD within the 20-value measurement's noise
    # (relative SE 16%: 0.1 · (1 + 3 · 0.16) ≈ 0.15)
    sd_other = estimator_sd(LogPosterior.from_laplace(post, lap, choice.particles, 11), lap.u)
    assert sd_other < 0.15


def test_fit_records_choice(binomial_model, monkeypatch):
    """A default fit records the particles it chose and reports them in the summary; an
    explicit particles= is used as given."""
    monkeypatch.setattr(type(binomial_model.posterior.family), "default_particles", 1)
    monkeypatch.setattr(pmod, "SD_TARGET", 0.1)
    kw = dict(method="mcmc", draws=32, tune=4, chains=1, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = binomial_model.fit(**kw)
        given = binomial_model.fit(particles=2, **kw)
    assert auto.raw.particles == auto.raw.particle_choice.particles > 4
    assert auto.raw.log_estimate_sd <= 0.1
    assert f"{auto.raw.particles} (log-lik. SD" in auto.summary().as_text()
    assert given.raw.particles == 2 and given.raw.log_estimate_sd > 0.1
