"""bml/JAGS prior strings -> (bml name, Prior), with JAGS's precision conventions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmreg.errors import MMSpecError
from mmreg.priors import (
    KIND_COEF,
    KIND_SD,
    KIND_SHAPE,
    KIND_WEIGHT,
    Beta,
    Exponential,
    Fixed,
    Gamma,
    HalfCauchy,
    HalfNormal,
    HalfT,
    LogNormal,
    Normal,
    PrecisionGamma,
    PrecisionScaledGamma,
    StudentT,
    Uniform,
    default_prior,
    parse_jags_prior,
)


@pytest.mark.parametrize(
    ("text", "name", "prior"),
    [
        # the examples of SPEC §3 and bml's documentation
        ("b.w.1 ~ dnorm(0, 1)", "b.w.1", Normal(0, 1)),
        ("tau.mm.1 ~ dgamma(2, 0.5)", "sigma.mm.1", PrecisionGamma(2, 0.5)),
        ("b.w.1[2] <- 1", "b.w.1[2]", Fixed(1.0)),
        ("sigma.mm.1 ~ dunif(0, 10)", "sigma.mm.1", Uniform(0, 10)),
        ("b.w.1 ~ dunif(0, 1)", "b.w.1", Uniform(0, 1)),
        ("b.mm.1 ~ dnorm(0, 0.01)", "b.mm.1", Normal(0, 10)),
        # JAGS precision convention: sd = 1/sqrt(tau)
        ("b[2] ~ dnorm(1.5, 0.25)", "b[2]", Normal(1.5, 2)),
        ("b ~ dnorm(0, 1/100^2)", "b", Normal(0, 100)),
        ("b ~ dnorm(0, 1.0E-4)", "b", Normal(0, 100)),
        ("b ~ dnorm(0, pow(10, -4))", "b", Normal(0, 100)),
        ("b.w.1 ~ dnorm(-(1 + 1), 4)", "b.w.1", Normal(-2, 0.5)),
        ("b.w.1[1] ~ dt(0, 0.25, 3)", "b.w.1[1]", StudentT(0, 2, 3)),
        ("sigma.hm.1 ~ dlnorm(0, 4)", "sigma.hm.1", LogNormal(0, 0.5)),
        ("shape ~ dexp(0.001)", "shape", Exponential(0.001)),
        ("shape ~ dgamma(1, 0.5)", "shape", Gamma(1, 0.5)),
        ("b.w.2[1] ~ dbeta(2, 2)", "b.w.2[1]", Beta(2, 2)),
        # priors on precisions become densities for the SD
        ("tau ~ dscaled.gamma(25, 1)", "sigma", PrecisionScaledGamma(25, 1)),
        ("tau.hm.2 ~ dscaled.gamma(5, 3)", "sigma.hm.2", PrecisionScaledGamma(5, 3)),
        ("tau.mm.1 ~ dexp(2)", "sigma.mm.1", PrecisionGamma(1, 2)),
        ("tau <- 4", "sigma", Fixed(0.5)),
        # truncation T(0,) gives half distributions
        ("sigma.mm.1 ~ dnorm(0, 1) T(0,)", "sigma.mm.1", HalfNormal(1)),
        ("sigma ~ dnorm(0, 0.04)T(0, )", "sigma", HalfNormal(5)),
        ("sigma.hm.1 ~ dt(0, 1/25^2, 1) T(0,)", "sigma.hm.1", HalfCauchy(25)),
        ("sigma.hm.1 ~ dt(0, 1, 4) I(0,)", "sigma.hm.1", HalfT(1, 4)),
        # layout: spaces, index spacing, comments
        ("  b.w.1 [ 2 ]<-  -0.5  # fixed", "b.w.1[2]", Fixed(-0.5)),
        ("b.w.1~dnorm(0,1);", "b.w.1", Normal(0, 1)),
    ],
)
def test_parse(text, name, prior):
    got_name, got_prior = parse_jags_prior(text)
    assert got_name == name
    assert type(got_prior) is type(prior)
    assert got_prior == prior or all(
        math.isclose(getattr(got_prior, k), getattr(prior, k), rel_tol=1e-12)
        for k in got_prior.__dataclass_fields__
    )


def test_bml_default_lines_give_the_default_priors():
    """bml 0.9.0 writes 'b[x] ~ dnorm(0, 0.0001)', 'tau.mm.1 ~ dscaled.gamma(25, 1)' and
    'shape ~ dexp(0.001)'; parsed, they are mmreg's defaults (same density)."""
    assert parse_jags_prior("b ~ dnorm(0, 0.0001)")[1] == default_prior(KIND_COEF)
    assert parse_jags_prior("b.w.1 ~ dnorm(0, 0.0001)")[1] == default_prior(KIND_WEIGHT)
    assert parse_jags_prior("shape ~ dexp(0.001)")[1] == default_prior(KIND_SHAPE)
    x = np.geomspace(1e-2, 1e4, 25)
    np.testing.assert_allclose(
        parse_jags_prior("tau.mm.1 ~ dscaled.gamma(25, 1)")[1].logpdf(x),
        default_prior(KIND_SD).logpdf(x),
        rtol=1e-12,
    )


def test_precision_gamma_parsed_density_is_gamma_on_tau():
    """'tau.hm.1 ~ dgamma(3, 2)': P(sd <= q) = P(tau >= 1/q^2) under Gamma(3, rate 2)."""
    from scipy import integrate, stats

    _, prior = parse_jags_prior("tau.hm.1 ~ dgamma(3, 2)")
    for q in (0.3, 0.8, 2.0):
        mass = integrate.quad(lambda s: math.exp(prior.logpdf(s)), 0, q)[0]
        assert mass == pytest.approx(stats.gamma(3, scale=0.5).sf(q**-2), rel=1e-7)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("b.w.1 dnorm(0, 1)", "cannot parse"),
        ("b.w.1 ~ ", "cannot parse"),
        ("b[x] ~ dnorm(0, 1)", "cannot parse"),
        ("b.w.1 ~ dnorm(0, 1", "cannot parse the distribution"),
        ("b.w.1 ~ dhalfcauchy(25)", "unknown distribution 'dhalfcauchy'"),
        ("b.w.1 ~ dweib(1, 1)", "unknown distribution 'dweib'"),
        ("b.w.1 ~ dnorm(0)", "dnorm takes 2 argument(s), got 1"),
        ("b.w.1 ~ dnorm(mu, 1)", "cannot evaluate 'mu'"),
        ("b.w.1 ~ dnorm(0, 1/0)", "does not evaluate to a finite number"),
        ("b.w.1 ~ dnorm(0, -1)", "precision"),
        ("b.w.1 ~ dunif(1, 0)", "lower (1) must be smaller than upper (0)"),
        ("b.w.1 ~ dgamma(0, 1)", "'shape'"),
        ("b.w.1 <- x", "cannot evaluate 'x'"),
        ("sigma.mm.1 ~ dnorm(0, 1)", "HalfNormal(1)"),
        ("sigma ~ dunif(-1, 10)", "Uniform(0, 10)"),
        ("shape ~ dt(0, 1, 3)", "HalfT(1, 3)"),
        ("sigma <- 0", "must be positive"),
        ("tau.mm.1 ~ dnorm(0, 1)", "a prior on a precision tau must be"),
        ("tau <- -1", "a precision must be positive"),
        ("sigma ~ dscaled.gamma(25, 1)", "write it for tau"),
        ("sigma ~ dnorm(1, 1) T(0,)", "unsupported truncation"),
        ("sigma ~ dnorm(0, 1) T(0, 5)", "unsupported truncation"),
        ("sigma ~ dgamma(1, 1) T(0,)", "unsupported truncation"),
        ("b.w.1 ~ dnorm(0,1); b.w.2 ~ dnorm(0,1)", "several statements"),
        ("", "is empty"),
    ],
)
def test_parse_errors_name_the_string(text, needle):
    with pytest.raises(MMSpecError) as info:
        parse_jags_prior(text)
    message = str(info.value)
    assert needle in message
    assert repr(text) in message


def test_non_string_is_an_error():
    with pytest.raises(MMSpecError, match="must be a string"):
        parse_jags_prior(Normal(0, 1))
