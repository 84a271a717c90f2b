"""resolve_priors on the coalgov estimated-weights Gaussian model (reference gaus_w)."""

from __future__ import annotations

import pytest

from mmreg.errors import MMSpecError
from mmreg.priors import (
    Exponential,
    Fixed,
    HalfCauchy,
    HalfNormal,
    InvGamma,
    Normal,
    PrecisionGamma,
    PrecisionScaledGamma,
    StudentT,
    Uniform,
    default_prior,
    resolve_priors,
)

NAMES = [
    "Intercept",
    "majority",
    "mm1.finance",
    "mm1.w.b0",
    "mm1.w.b1",
    "sigma.mm1",
    "sigma.hm1",
    "sigma",
]
BML = ["b[1]", "b[2]", "b.mm.1", "b.w.1[1]", "b.w.1[2]", "sigma.mm.1", "sigma.hm.1", "sigma"]
KINDS = dict(zip(NAMES, ["coef"] * 3 + ["weight"] * 2 + ["sd"] * 3, strict=True))
BML_NAMES = dict(zip(NAMES, BML, strict=True))

N100, HC25 = Normal(0, 100), HalfCauchy(25)
DEFAULTS = {
    "Intercept": N100,
    "majority": N100,
    "mm1.finance": N100,
    "mm1.w.b0": N100,
    "mm1.w.b1": N100,
    "sigma.mm1": HC25,
    "sigma.hm1": HC25,
    "sigma": HC25,
}


def resolve(priors):
    return resolve_priors(priors, NAMES, KINDS, BML_NAMES)


def expected(**changes):
    out = dict(DEFAULTS)
    out.update({k.replace("__", "."): v for k, v in changes.items()})
    return out


@pytest.mark.parametrize("empty", [None, {}, [], ()])
def test_defaults_are_bmls(empty):
    got = resolve(empty)
    assert got == DEFAULTS
    assert list(got) == NAMES


def test_default_prior_per_kind():
    assert default_prior("coef") == Normal(0, 100)
    assert default_prior("weight") == Normal(0, 100)
    assert default_prior("sd") == HalfCauchy(25)
    assert default_prior("shape") == Exponential(0.001)


def test_dict_with_globs():
    got = resolve({"mm1.w.*": Normal(0, 1), "sigma.*": HalfNormal(1)})
    # 'sigma.*' does not match the residual 'sigma' (no dot): it keeps the default
    assert got == expected(
        mm1__w__b0=Normal(0, 1),
        mm1__w__b1=Normal(0, 1),
        sigma__mm1=HalfNormal(1),
        sigma__hm1=HalfNormal(1),
    )


@pytest.mark.parametrize("exact_first", [True, False])
def test_exact_name_beats_patterns_in_any_order(exact_first):
    items = [("sigma.mm1", Uniform(0, 10)), ("sigma*", HalfNormal(2))]
    got = resolve(dict(items if exact_first else items[::-1]))
    assert got == expected(sigma__mm1=Uniform(0, 10), sigma__hm1=HalfNormal(2), sigma=HalfNormal(2))


def test_last_matching_pattern_wins():
    got = resolve({"mm1.*": Normal(0, 10), "mm1.w.*": Normal(0, 1)})
    assert got == expected(
        mm1__finance=Normal(0, 10), mm1__w__b0=Normal(0, 1), mm1__w__b1=Normal(0, 1)
    )
    got = resolve({"mm1.w.*": Normal(0, 1), "mm1.*": Normal(0, 10)})
    assert got == expected(
        mm1__finance=Normal(0, 10), mm1__w__b0=Normal(0, 10), mm1__w__b1=Normal(0, 10)
    )


def test_dict_accepts_every_kind_of_allowed_prior():
    got = resolve(
        {
            "majority": Fixed(0.5),
            "mm1.w.b0": StudentT(0, 2.5, 3),
            "mm1.w.b1": Uniform(0, 1),
            "sigma.mm1": Uniform(0, 10),
            "sigma.hm1": InvGamma(2, 1),
            "sigma": Fixed(1.0),
        }
    )
    assert got["majority"] == Fixed(0.5) and got["mm1.w.b0"] == StudentT(0, 2.5, 3)
    assert got["sigma.hm1"] == InvGamma(2, 1) and got["sigma"] == Fixed(1.0)


def test_jags_strings_spec_example():
    got = resolve(["b.w.1 ~ dnorm(0, 1)", "tau.mm.1 ~ dgamma(2, 0.5)", "b.w.1[2] <- 1"])
    assert got == expected(
        mm1__w__b0=Normal(0, 1), mm1__w__b1=Fixed(1.0), sigma__mm1=PrecisionGamma(2, 0.5)
    )


def test_reference_run_prior():
    """reference/jags/gaus_w.csv used priors = c("b.w.1 ~ dnorm(0,1)")."""
    assert resolve("b.w.1 ~ dnorm(0,1)") == expected(
        mm1__w__b0=Normal(0, 1), mm1__w__b1=Normal(0, 1)
    )


def test_jags_strings_apply_in_order_like_bml():
    # bml substitutes statements one after another, so the family statement overrides
    assert resolve(["b.w.1[2] <- 1", "b.w.1 ~ dnorm(0, 1)"]) == expected(
        mm1__w__b0=Normal(0, 1), mm1__w__b1=Normal(0, 1)
    )
    assert resolve(("b.w.1 ~ dnorm(0, 1)", "b.w.1[2] <- 1"))["mm1.w.b1"] == Fixed(1.0)


def test_jags_main_coefficients_and_sds():
    got = resolve(
        "b[2] ~ dnorm(0, 0.25)\nb ~ dnorm(0, 1)  # all main coefficients\n"
        "tau.hm.1 ~ dscaled.gamma(5, 1); tau <- 4; sigma.mm.1 ~ dunif(0, 10)"
    )
    assert got == expected(
        Intercept=Normal(0, 1),
        majority=Normal(0, 1),
        sigma__hm1=PrecisionScaledGamma(5, 1),
        sigma=Fixed(0.5),
        sigma__mm1=Uniform(0, 10),
    )


def test_single_unindexed_coefficient_accepts_index_one():
    names, kinds = ["Intercept", "shape"], {"Intercept": "coef", "shape": "shape"}
    bml = {"Intercept": "b", "shape": "shape"}
    for text in ("b ~ dnorm(1, 1)", "b[1] ~ dnorm(1, 1)"):
        got = resolve_priors([text, "shape ~ dgamma(1, 0.01)"], names, kinds, bml)
        assert got["Intercept"] == Normal(1, 1)
    with pytest.raises(MMSpecError, match=r"'b\[2\] ~ dnorm\(1, 1\)'"):
        resolve_priors(["b[2] ~ dnorm(1, 1)"], names, kinds, bml)


def test_names_without_bml_name_keep_defaults_and_accept_dict_priors():
    names = ["Intercept", "hm1[NOR]", "hm1[SWE]"]
    kinds = dict.fromkeys(names, "coef")
    bml = {"Intercept": "b"}
    got = resolve_priors({"hm1[[]*": Normal(0, 5)}, names, kinds, bml)
    assert got == {"Intercept": N100, "hm1[NOR]": Normal(0, 5), "hm1[SWE]": Normal(0, 5)}
    got = resolve_priors({"hm1[NOR]": Normal(0, 2)}, names, kinds, bml)  # literal name
    assert got["hm1[NOR]"] == Normal(0, 2) and got["hm1[SWE]"] == N100


# --------------------------------------------------------------------------------------
# errors: MMSpecError whose message quotes the offending pattern / string
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("priors", "offender", "needle"),
    [
        ({"mm2.w.*": Normal(0, 1)}, "'mm2.w.*'", "matches no parameter"),
        ({"b.w.1": Normal(0, 1)}, "'b.w.1'", "use the mmreg name(s) mm1.w.b0, mm1.w.b1"),
        ({"sigma.hm1[*]": HalfNormal(1)}, "'sigma.hm1[*]'", "'[[]'"),
        ({"sigma": 1.0}, "'sigma'", "is not a prior"),
        ({"sigma": "dunif(0, 10)"}, "'sigma'", "priors=['sigma ~ dunif(0, 10)']"),
        ({3: Normal(0, 1)}, "3", "is not a string"),
        ({"sigma.hm1": Normal(0, 1)}, "'sigma.hm1'", "use HalfNormal(1)"),
        ({"sigma*": Normal(0, 2)}, "'sigma*'", "use HalfNormal(2)"),
        ({"sigma.mm1": Uniform(-1, 10)}, "'sigma.mm1'", "use Uniform(0, 10)"),
        ({"sigma": Fixed(0.0)}, "'sigma'", "must be positive"),
        # non-normal priors on coefficients are sampled (#15); one on a coefficient that
        # does not exist is the unmatched-prior error
        ({"majoriti": StudentT(0, 1, 3)}, "'majoriti'", "matches no parameter"),
        (["b.w.2 ~ dnorm(0, 1)"], "'b.w.2 ~ dnorm(0, 1)'", "b.w.1[1] (mm1.w.b0)"),
        (["b.w.1[3] <- 1"], "'b.w.1[3] <- 1'", "b.w.1 has 2 parameter(s)"),
        (["tau.mm ~ dscaled.gamma(25, 1)"], "'tau.mm ~ dscaled.gamma(25, 1)'", "block number"),
        (["shape ~ dexp(0.001)"], "'shape ~ dexp(0.001)'", "matches no parameter"),
        (["lambda0 ~ dgamma(0.001, 0.1)"], "'lambda0 ~ dgamma(0.001, 0.1)'", "matches no"),
        (["b.w.1 dnorm(0, 1)"], "'b.w.1 dnorm(0, 1)'", "cannot parse"),
        (["sigma ~ dhalfcauchy(25)"], "'sigma ~ dhalfcauchy(25)'", "unknown distribution"),
        (["b[9] ~ dt(0, 1, 3)"], "'b[9] ~ dt(0, 1, 3)'", "index [9] does not exist"),
        (["sigma.hm.1 ~ dnorm(0, 1)"], "'sigma.hm.1 ~ dnorm(0, 1)'", "HalfNormal(1)"),
        ("tau ~ dunif(0, 100)", "'tau ~ dunif(0, 100)'", "a prior on a precision tau must"),
        ([Normal(0, 1)], "Normal(mu=0.0, sd=1.0)", "is not a string"),
        (["b.w.1 ~ dnorm(0, 1)", "  "], "'  '", "is empty"),
        (42, "42", "priors must be None"),
        ({"Intercept", "majority"}, "set", "priors must be None"),
    ],
)
def test_errors_name_the_offender(priors, offender, needle):
    with pytest.raises(MMSpecError) as info:
        resolve(priors)
    message = str(info.value)
    assert offender in message
    assert needle in message


def test_error_for_normal_on_shape_suggests_half_normal():
    names, kinds, bml = ["shape"], {"shape": "shape"}, {"shape": "shape"}
    with pytest.raises(MMSpecError, match=r"pattern 'sha\*'.*HalfNormal\(3\)"):
        resolve_priors({"sha*": Normal(0, 3)}, names, kinds, bml)


def test_unknown_kind_is_an_error():
    with pytest.raises(MMSpecError, match="'slope'"):
        default_prior("slope")
