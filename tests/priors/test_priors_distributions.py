"""Prior densities, derivatives and samplers against scipy.stats and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from mmreg.errors import MMSpecError
from mmreg.priors import (
    Beta,
    Exponential,
    Fixed,
    Gamma,
    HalfCauchy,
    HalfNormal,
    HalfT,
    InvGamma,
    LogNormal,
    Normal,
    PrecisionGamma,
    PrecisionScaledGamma,
    StudentT,
    Uniform,
)


class _HalfT:
    """Half-t(scale, df) built from scipy's t: density 2 t(x/scale)/scale on x >= 0."""

    def __init__(self, scale, df):
        self.t = stats.t(df, scale=scale)

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(x >= 0, math.log(2) + self.t.logpdf(x), -np.inf)

    def cdf(self, x):
        return np.clip(2 * self.t.cdf(x) - 1, 0, 1)


class _PrecisionGammaRef:
    """SD x whose precision 1/x^2 ~ Gamma(a, rate r): x^2 ~ InvGamma(a, scale=r)."""

    def __init__(self, a, r):
        self.ig = stats.invgamma(a, scale=r)

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, self.ig.logpdf(x * x) + np.log(2 * x), -np.inf)

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(x > 0, self.ig.cdf(np.maximum(x, 0) ** 2), 0.0)


# (prior, independent reference with logpdf/cdf, evaluation points)
CASES = [
    (Normal(1.5, 2.0), stats.norm(1.5, 2.0), np.linspace(-6, 8, 29)),
    (StudentT(-1.0, 0.5, 3.0), stats.t(3.0, loc=-1.0, scale=0.5), np.linspace(-5, 4, 31)),
    (HalfNormal(2.0), stats.halfnorm(scale=2.0), np.linspace(-2, 7, 37)),
    (HalfCauchy(25.0), stats.halfcauchy(scale=25.0), np.r_[-1.0, 0.0, np.geomspace(0.01, 1e4, 25)]),
    (HalfT(3.0, 4.0), _HalfT(3.0, 4.0), np.linspace(-2, 20, 45)),
    (PrecisionScaledGamma(2.0, 3.0), _HalfT(2.0, 3.0), np.linspace(-2, 20, 45)),
    (Exponential(0.5), stats.expon(scale=2.0), np.linspace(-1, 15, 33)),
    (
        Exponential(0.001),
        stats.expon(scale=1000.0),
        np.r_[-1.0, 0.0, 1.0, 10.0, 500.0, 2e3, 5e3, 2e4],
    ),
    (Uniform(-1.0, 3.0), stats.uniform(-1.0, 4.0), np.linspace(-2, 4, 25)),
    (Gamma(2.5, 0.5), stats.gamma(2.5, scale=2.0), np.linspace(-1, 20, 43)),
    (Gamma(0.7, 3.0), stats.gamma(0.7, scale=1 / 3.0), np.linspace(-1, 3, 41)),
    (InvGamma(3.0, 2.0), stats.invgamma(3.0, scale=2.0), np.linspace(-1, 6, 29)),
    (LogNormal(0.3, 0.8), stats.lognorm(0.8, scale=math.exp(0.3)), np.linspace(-1, 9, 41)),
    (Beta(2.0, 3.0), stats.beta(2.0, 3.0), np.linspace(-0.5, 1.5, 41)),
    (PrecisionGamma(2.0, 0.5), _PrecisionGammaRef(2.0, 0.5), np.linspace(-1, 5, 49)),
    (PrecisionGamma(0.5, 0.01), _PrecisionGammaRef(0.5, 0.01), np.geomspace(1e-2, 1e3, 20)),
]
IDS = [str(c[0]) for c in CASES]


@pytest.mark.parametrize(("prior", "ref", "x"), CASES, ids=IDS)
def test_logpdf_matches_reference(prior, ref, x):
    np.testing.assert_allclose(prior.logpdf(x), ref.logpdf(x), rtol=1e-10, atol=1e-12)
    # scalar in -> Python float out, equal to the array evaluation
    value = prior.logpdf(float(x[len(x) // 2]))
    assert isinstance(value, float)
    assert value == pytest.approx(float(ref.logpdf(x[len(x) // 2])), rel=1e-10)


@pytest.mark.parametrize(("prior", "ref", "x"), CASES, ids=IDS)
def test_logpdf_float_is_the_reference_and_minus_inf_outside(prior, ref, x):
    """The sampler's one-float path (no error-state context of its own) against SciPy,
    inside the support, beyond its ends and at NaN; at its lower end, as the array path."""
    with np.errstate(all="ignore"):
        for v in x[:: max(1, len(x) // 7)].tolist():
            got = prior.logpdf_float(v)
            assert isinstance(got, float)
            assert got == pytest.approx(float(ref.logpdf(v)), rel=1e-10, abs=1e-12)
        lo, hi = prior.bounds()
        for v in (lo - 1.0, hi + 1.0):
            if math.isfinite(v):
                assert prior.logpdf_float(v) == -math.inf == float(ref.logpdf(v))
        assert math.isnan(prior.logpdf_float(math.nan))
    lo = prior.bounds()[0]
    if math.isfinite(lo) and not isinstance(prior, Fixed):
        assert prior.logpdf(lo) == pytest.approx(float(prior.logpdf(np.array([lo]))[0]))


@pytest.mark.parametrize(("prior", "ref", "x"), CASES, ids=IDS)
def test_density_integrates_to_one(prior, ref, x):
    lo, hi = prior.bounds()
    # split at a few points so quad sees the bulk of heavy-tailed or peaked densities
    if math.isinf(hi):
        pieces = [(lo, 1.0), (1.0, 100.0), (100.0, math.inf)] if lo == 0 else [(lo, hi)]
    else:
        pieces = [(lo, hi)]
    total = sum(
        integrate.quad(lambda t: math.exp(prior.logpdf(t)), a, b, limit=200)[0] for a, b in pieces
    )
    assert total == pytest.approx(1.0, abs=2e-6)


@pytest.mark.parametrize(("prior", "ref", "x"), CASES, ids=IDS)
def test_dlogpdf_matches_finite_differences(prior, ref, x):
    lo, hi = prior.bounds()
    inside = x[(x > lo + 1e-3) & (x < hi - 1e-3) & (x > 1e-3 if lo == 0 else True)]
    assert inside.size >= 5
    h = 1e-6 * np.maximum(1.0, np.abs(inside))
    fd = (prior.logpdf(inside + h) - prior.logpdf(inside - h)) / (2 * h)
    np.testing.assert_allclose(prior.dlogpdf(inside), fd, rtol=1e-5, atol=1e-6)
    outside = x[(x < lo) | (x > hi)]
    assert np.all(prior.dlogpdf(outside) == 0.0)


@pytest.mark.parametrize(("prior", "ref", "x"), CASES, ids=IDS)
def test_sample_follows_distribution(prior, ref, x):
    n = 40_000
    draws = prior.sample(np.random.default_rng(7), size=n)
    assert draws.shape == (n,)
    lo, hi = prior.bounds()
    assert np.all((draws >= lo) & (draws <= hi))
    # empirical CDF at the draws' own quantiles vs the reference CDF: the ECDF has MC SE
    # sqrt(p(1-p)/n) <= 0.0025; 5 SE keeps the (seeded) test far from flaky
    for p in (0.1, 0.5, 0.9):
        q = np.quantile(draws, p)
        assert float(ref.cdf(q)) == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / n))
    single = prior.sample(np.random.default_rng(1))
    assert np.ndim(single) == 0 and lo <= float(single) <= hi
    assert prior.sample(np.random.default_rng(3), size=(2, 3)).shape == (2, 3)


def test_precision_gamma_is_gamma_on_precision_by_monte_carlo():
    """1/sqrt(Gamma(a, rate r) draws) has the density PrecisionGamma(a, r)."""
    a, r, n = 2.0, 0.5, 200_000
    sd = 1.0 / np.sqrt(np.random.default_rng(11).gamma(a, 1.0 / r, size=n))
    prior = PrecisionGamma(a, r)
    edges = np.linspace(0.2, 2.0, 10)
    counts, _ = np.histogram(sd, bins=edges)
    expected = np.array(
        [
            n * integrate.quad(lambda t: math.exp(prior.logpdf(t)), lo, hi)[0]
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ]
    )
    # Poisson-like count error: 5 SD per bin
    assert np.all(np.abs(counts - expected) <= 5 * np.sqrt(expected))


def test_vague_precision_gamma_density_and_sampler():
    """JAGS's classic tau ~ dgamma(0.001, 0.001): precision draws underflow to 0, so the
    sampler works on log tau; its CDF is checked where the SD is representable."""
    prior, ref = PrecisionGamma(0.001, 0.001), _PrecisionGammaRef(0.001, 0.001)
    x = np.geomspace(1e-3, 1e100, 30)
    np.testing.assert_allclose(prior.logpdf(x), ref.logpdf(x), rtol=1e-10)
    n = 40_000
    draws = prior.sample(np.random.default_rng(3), size=n)
    assert not np.any(np.isnan(draws)) and np.all(draws > 0)
    for q in (1.0, 1e3, 1e30, 1e150):
        p = float(ref.cdf(q))
        assert np.mean(draws <= q) == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / n))


@pytest.mark.parametrize(("scale", "df"), [(25.0, 1.0), (2.0, 3.0)])
def test_dscaled_gamma_is_half_t_by_monte_carlo(scale, df):
    """JAGS dscaled.gamma(s, df) as the scale mixture of gammas (Huang & Wand 2013):
    b ~ Gamma(1/2, rate 1/s^2), tau | b ~ Gamma(df/2, rate df*b); then 1/sqrt(tau) is
    half-t(s, df) -- so bml's default dscaled.gamma(25, 1) is half-Cauchy(25)."""
    n = 200_000
    rng = np.random.default_rng(2024)
    b = rng.gamma(0.5, scale**2, size=n)
    tau = rng.gamma(df / 2, 1.0 / (df * b))
    sd = 1.0 / np.sqrt(tau)
    ref = stats.halfcauchy(scale=scale) if df == 1 else _HalfT(scale, df)
    for q in scale * np.array([0.1, 0.5, 1.0, 3.0, 20.0]):
        p = float(ref.cdf(q))
        assert np.mean(sd <= q) == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / n))
    # and the prior's own sampler agrees with the mixture
    own = PrecisionScaledGamma(scale, df).sample(np.random.default_rng(5), size=n)
    for p in (0.25, 0.5, 0.75):
        assert float(ref.cdf(np.quantile(own, p))) == pytest.approx(p, abs=0.006)


@pytest.mark.parametrize(("scale", "df"), [(25.0, 1.0), (2.0, 3.0), (0.5, 10.0)])
def test_dscaled_gamma_density_on_precision_is_beta_prime(scale, df):
    """Change of variables: the density of tau = 1/sd^2 is proportional to
    tau^(df/2-1) (1 + df s^2 tau)^(-(df+1)/2), i.e. BetaPrime(df/2, 1/2, scale 1/(df s^2))."""
    sd = np.geomspace(0.01, 500, 40)
    tau = sd**-2
    ref = stats.betaprime(df / 2, 0.5, scale=1 / (df * scale**2)).logpdf(tau) + np.log(2 * sd**-3)
    np.testing.assert_allclose(PrecisionScaledGamma(scale, df).logpdf(sd), ref, rtol=1e-9)


def test_default_sd_prior_dscaled_gamma_equals_half_cauchy():
    x = np.geomspace(1e-3, 1e5, 30)
    np.testing.assert_allclose(
        PrecisionScaledGamma(25, 1).logpdf(x), HalfCauchy(25).logpdf(x), rtol=1e-12
    )


def test_fixed_is_a_point_mass():
    p = Fixed(1.0)
    assert p.logpdf(1.0) == 0.0
    assert p.logpdf(1.5) == -math.inf
    np.testing.assert_array_equal(p.logpdf(np.array([0.0, 1.0])), [-math.inf, 0.0])
    assert p.dlogpdf(1.0) == 0.0
    assert p.sample(np.random.default_rng(0)) == 1.0
    np.testing.assert_array_equal(p.sample(np.random.default_rng(0), size=3), [1.0, 1.0, 1.0])
    assert p.bounds() == (1.0, 1.0)


def test_support_bounds_and_str():
    assert (Normal().support, Normal().bounds()) == ("real", (-math.inf, math.inf))
    assert (HalfCauchy(25).support, HalfCauchy(25).bounds()) == ("positive", (0.0, math.inf))
    assert (Uniform(0, 10).support, Uniform(0, 10).bounds()) == ("interval", (0.0, 10.0))
    assert (Beta(1, 1).support, Beta(1, 1).bounds()) == ("interval", (0.0, 1.0))
    assert str(Normal(0, 100)) == "Normal(0, 100)"
    assert str(HalfCauchy(25)) == "HalfCauchy(25)"
    assert str(PrecisionGamma(2, 0.5)) == "PrecisionGamma(2, 0.5)"
    assert str(Exponential(0.001)) == "Exponential(0.001)"
    assert Normal(0, 1) == Normal(0.0, 1.0) and hash(Normal(0, 1)) == hash(Normal(0.0, 1.0))
    assert PrecisionScaledGamma(25, 1) != HalfT(25, 1)  # same density, different spelling


def test_nan_input_gives_nan():
    assert math.isnan(Normal().logpdf(math.nan))
    assert math.isnan(HalfNormal(1).dlogpdf(math.nan))


@pytest.mark.parametrize(
    ("make", "param"),
    [
        (lambda: Normal(0, -1), "sd"),
        (lambda: Normal(0, math.inf), "sd"),
        (lambda: HalfCauchy(0), "scale"),
        (lambda: HalfT(1, -2), "df"),
        (lambda: Exponential("1"), "rate"),
        (lambda: Gamma(True, 1), "shape"),
        (lambda: InvGamma(1, math.nan), "scale"),
        (lambda: PrecisionGamma(-1, 1), "shape"),
        (lambda: LogNormal(math.inf, 1), "mu"),
        (lambda: Fixed(math.nan), "value"),
    ],
)
def test_invalid_parameters_raise(make, param):
    with pytest.raises(MMSpecError, match=f"'{param}'"):
        make()


def test_uniform_needs_lower_below_upper():
    with pytest.raises(MMSpecError, match=r"lower \(3\) must be smaller than upper \(1\)"):
        Uniform(3, 1)
