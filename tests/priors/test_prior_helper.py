"""``mmreg.prior()`` (brms style) and ``mmreg.get_prior()``: classes, distributions, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mmreg
from mmreg.errors import MMSpecError
from mmreg.priors import (
    Exponential,
    Fixed,
    Gamma,
    HalfCauchy,
    HalfNormal,
    HalfT,
    LogNormal,
    Normal,
    StudentT,
    Uniform,
    resolve_priors,
)
from mmreg.priors.brms import prior_string
from mmreg.priors.classes import classify
from mmreg.priors.lkj import LKJ

pytestmark = pytest.mark.filterwarnings("ignore::mmreg.MMWarning")

NAMES = [
    "Intercept",
    "majority",
    "np.log(x)",
    "mm1.finance",
    "mm1.w.b0",
    "mm1.w.b1",
    "hm1.gdp",
    "hm2[NOR]",
    "sigma.mm1",
    "sigma.hm1",
    "sigma",
]
KINDS = {n: "coef" for n in NAMES[:4] + ["hm1.gdp", "hm2[NOR]"]}
KINDS.update(
    {
        "mm1.w.b0": "weight",
        "mm1.w.b1": "weight",
        "sigma.mm1": "sd",
        "sigma.hm1": "sd",
        "sigma": "sd",
    }
)


def _set(*specs) -> list[str]:
    """Names whose prior differs from the default after applying ``specs``."""
    base = resolve_priors(None, NAMES, KINDS, {})
    got = resolve_priors(list(specs), NAMES, KINDS, {})
    return [n for n in NAMES if got[n] != base[n]]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (dict(class_="b", coef="majority"), ["majority"]),
        (dict(class_="b"), ["majority", "np.log(x)", "mm1.finance", "hm1.gdp", "hm2[NOR]"]),
        (dict(), ["majority", "np.log(x)", "mm1.finance", "hm1.gdp", "hm2[NOR]"]),  # brms default
        (dict(class_="b", group="mm1"), ["mm1.finance"]),
        (dict(class_="b", coef="finance", group="mm1"), ["mm1.finance"]),
        (dict(class_="b", coef="mm1.finance"), ["mm1.finance"]),
        (dict(class_="b", coef="hm2[NOR]"), ["hm2[NOR]"]),
        (dict(class_="b", coef="np.log(x)"), ["np.log(x)"]),
        (dict(class_="Intercept"), ["Intercept"]),
        (dict(class_="w"), ["mm1.w.b0", "mm1.w.b1"]),
        (dict(class_="w", group="mm1", coef="b1"), ["mm1.w.b1"]),
        (dict(class_="w", coef="mm1.w.b0"), ["mm1.w.b0"]),
    ],
)
def test_coefficient_and_weight_classes(spec, expected):
    assert _set(mmreg.prior("normal(0, 2)", **spec)) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (dict(class_="sd"), ["sigma.mm1", "sigma.hm1"]),
        (dict(class_="sd", group="hm1"), ["sigma.hm1"]),
        (dict(class_="sd", group="mm1", coef="Intercept"), ["sigma.mm1"]),
        (dict(class_="sigma"), ["sigma"]),
    ],
)
def test_sd_classes(spec, expected):
    assert _set(mmreg.prior("exponential(1)", **spec)) == expected
    got = resolve_priors([mmreg.prior("exponential(1)", **spec)], NAMES, KINDS, {})
    assert all(got[n] == Exponential(1.0) for n in expected)


def test_later_priors_override_earlier_and_mix_with_jags_strings():
    got = resolve_priors(
        [
            mmreg.prior("normal(0, 5)", class_="b"),
            mmreg.prior("normal(1, 2)", class_="b", coef="majority"),
            "b[1] ~ dnorm(0, 0.25)",
        ],
        NAMES,
        KINDS,
        {"Intercept": "b[1]", "majority": "b[2]"},
    )
    assert got["majority"] == Normal(1, 2)
    assert got["mm1.finance"] == Normal(0, 5)
    assert got["Intercept"] == Normal(0, 2)
    one = resolve_priors(mmreg.prior("cauchy(0, 5)", class_="sigma"), NAMES, KINDS, {})
    assert one["sigma"] == HalfCauchy(5)


@pytest.mark.parametrize(
    ("name", "row"),
    [
        ("sigma.hm1.majority", ("sd", "majority", "hm1")),  # random-slope SD
        ("cor.hm1.majority", ("cor", "majority", "hm1")),
        ("sigma.mm1.cohesion", ("sd", "cohesion", "mm1")),
        ("mm1.fn.kappa", ("fn", "kappa", "mm1")),
        ("mm2.w.gamma", ("w", "gamma", "mm2")),
        ("shape", ("shape", "", "")),
    ],
)
def test_names_of_other_model_parts_classify_without_changes(name, row):
    r = classify(name, is_coef=False)
    assert (r.class_, r.coef, r.group, r.parameter) == (*row, name)


def test_coefficient_names_that_look_like_blocks():
    assert (classify("mm1.fn", True).class_, classify("mm1.fn", True).coef) == ("b", "fn")
    assert classify("mm1.var(cohesion)", True).coef == "var(cohesion)"
    assert classify("majority:mm1", True).group == ""


# -- distributions ------------------------------------------------------------------------
X_REAL = np.array([-3.0, -0.4, 0.0, 1.3, 7.5])
X_POS = np.array([0.01, 0.4, 1.0, 2.5, 30.0])


@pytest.mark.parametrize(
    ("dist", "class_", "ref", "x"),
    [
        ("normal(0.5, 2)", "b", stats.norm(0.5, 2), X_REAL),
        ("normal(0, 10^2)", "w", stats.norm(0, 100), X_REAL),
        ("student_t(3, 1, 2.5)", "w", stats.t(3, 1, 2.5), X_REAL),
        ("cauchy(0, 2.5)", "w", stats.cauchy(0, 2.5), X_REAL),
        ("uniform(-1, 1)", "w", stats.uniform(-1, 2), np.array([-0.9, 0.0, 0.5])),
        ("exponential(2)", "sd", stats.expon(scale=0.5), X_POS),
        ("gamma(2, 0.1)", "shape", stats.gamma(2, scale=10), X_POS),
        ("normal(0, 3)", "sd", stats.halfnorm(scale=3), X_POS),
        ("cauchy(0, 25)", "sigma", stats.halfcauchy(scale=25), X_POS),
        ("student_t(4, 0, 2)", "sd", stats.t(4, 0, 2), X_POS),  # half: twice the density
        ("lognormal(0.2, 0.7)", "sd", stats.lognorm(0.7, scale=np.exp(0.2)), X_POS),
        ("lkj(2)", "cor", stats.beta(2, 2, loc=-1, scale=2), np.array([-0.8, 0.0, 0.3, 0.95])),
        ("lkj(1)", "cor", stats.uniform(-1, 2), np.array([-0.8, 0.0, 0.3])),
    ],
)
def test_distribution_strings_match_the_distribution_objects(dist, class_, ref, x):
    p = mmreg.prior(dist, class_=class_).to_prior(class_)
    want = ref.logpdf(x) + (np.log(2) if dist.startswith("student_t(4") else 0.0)
    np.testing.assert_allclose(p.logpdf(x), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("dist", "class_", "obj"),
    [
        ("normal(0, 1)", "b", Normal(0, 1)),
        ("student_t(3, 0, 2.5)", "w", StudentT(0, 2.5, 3)),
        ("student_t(3, 0, 2.5)", "sd", HalfT(2.5, 3)),
        ("student_t(1, 0, 2.5)", "sd", HalfCauchy(2.5)),
        ("cauchy(0, 2.5)", "sd", HalfCauchy(2.5)),
        ("normal(0, 1)", "sigma", HalfNormal(1)),
        ("exponential(1)", "shape", Exponential(1)),
        ("gamma(2, 0.1)", "sd", Gamma(2, 0.1)),
        ("uniform(-1, 1)", "fn", Uniform(-1, 1)),
        ("lognormal(0, 1)", "sd", LogNormal(0, 1)),
        ("lkj(1)", "cor", LKJ(1)),
        ("constant(0.5)", "b", Fixed(0.5)),
        ("normal(pow(10, 2) - 100, sqrt(4))", "w", Normal(0, 2)),
    ],
)
def test_distribution_strings_build_the_existing_objects(dist, class_, obj):
    p = mmreg.prior(dist, class_=class_).to_prior(class_)
    assert p == obj and type(p) is type(obj)
    assert mmreg.prior(prior_string(p), class_=class_).to_prior(class_) == p  # round trip


def test_lkj_density_integrates_to_one():
    from scipy import integrate

    for eta in (0.5, 1.0, 2.0, 5.0):
        total, _ = integrate.quad(lambda r, e=eta: np.exp(LKJ(e).logpdf(r)), -1, 1)
        assert total == pytest.approx(1.0, abs=1e-7)


# -- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("normal(1, 2)", "sd"), "location must be 0"),
        (("lkj(1)", "sd"), "correlations"),
        (("normal(0, 1)", "beta"), "unknown class_ 'beta'"),
        (("dnorm(0, 1)", "b"), "unknown distribution 'dnorm'.*JAGS"),
        (("normal(0)", "b"), "takes 2 argument"),
        (("normal(0, -1)", "w"), "positive"),
        (("normal(0, x)", "w"), "arithmetic of numbers"),
        (("__import__('os').system('true')", "b"), "cannot parse|unknown distribution"),
        (("normal(mu=0, sigma=1)", "b"), "cannot parse"),
    ],
)
def test_bad_priors_are_named_errors(args, match):
    with pytest.raises(MMSpecError, match=match):
        mmreg.prior(args[0], class_=args[1])


def test_unmatched_prior_is_an_error_naming_it_and_the_settable_ones():
    with pytest.raises(MMSpecError) as err:
        _set(mmreg.prior("normal(0, 1)", class_="b", coef="majorty"))
    msg = str(err.value)
    assert "prior('normal(0, 1)', class_='b', coef='majorty') matches no parameter" in msg
    assert "class_='b', coef='majority' (majority)" in msg
    assert "class_='sd', coef='Intercept', group='hm1' (sigma.hm1)" in msg
    for spec in (
        mmreg.prior("lkj(1)", class_="cor"),
        mmreg.prior("gamma(2, 1)", "shape"),
        mmreg.prior("normal(0, 1)", "sd", group="hm9"),
    ):
        with pytest.raises(MMSpecError, match="matches no parameter"):
            _set(spec)


def test_support_is_checked_against_the_parameter():
    with pytest.raises(MMSpecError, match="must be positive"):
        _set(mmreg.prior("uniform(-1, 1)", class_="sd"))


# -- on real models -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def data():
    return mmreg.datasets.simulate_coalitions(
        n_groups=120, n_members=50, n_countries=8, weights="estimated", seed=4
    )


def test_brms_list_gives_the_same_fit_as_dict_and_jags_forms(data):
    f = data.attrs["formula"]
    brms = [
        mmreg.prior("normal(0, 1)", class_="w"),
        mmreg.prior("normal(0, 2)", class_="b", coef="majority"),
        mmreg.prior("exponential(2)", class_="sd", group="hm1"),
        mmreg.prior("cauchy(0, 5)", class_="sigma"),
    ]
    as_dict = {
        "mm1.w.*": Normal(0, 1),
        "majority": Normal(0, 2),
        "sigma.hm1": Exponential(2),
        "sigma": HalfCauchy(5),
    }
    jags = [
        "b.w.1 ~ dnorm(0, 1)",
        "b[2] ~ dnorm(0, 0.25)",
        "sigma.hm.1 ~ dexp(2)",
        "sigma ~ dt(0, 1/25, 1) T(0,)",
    ]
    fits = [mmreg.MMModel(f, data, priors=p).fit() for p in (brms, as_dict, jags)]
    for other in fits[1:]:
        pd.testing.assert_series_equal(fits[0].params, other.params, rtol=0, atol=0)
        pd.testing.assert_series_equal(fits[0].bse, other.bse, rtol=0, atol=0)
    default = mmreg.MMModel(f, data).fit()
    assert not np.allclose(default.params, fits[0].params)


def test_model_with_brms_priors_pickles(data):
    model = mmreg.MMModel(
        data.attrs["formula"], data, priors=[mmreg.prior("normal(0, 1)", class_="w")]
    )
    again = pickle.loads(pickle.dumps(model))
    assert again.priors == model.priors


def test_get_prior_lists_every_settable_prior_with_its_default(data):
    f = data.attrs["formula"]
    table = mmreg.get_prior(f, data, family="gaussian")
    assert list(table.columns) == ["class", "coef", "group", "parameter", "default"]
    model = mmreg.MMModel(f, data)
    assert table["parameter"].tolist() == list(model.priors)
    assert table["class"].tolist() == ["Intercept", "b", "b", "w", "w", "sd", "sd", "sigma"]
    for row in table.itertuples(index=False):
        spec = mmreg.prior(
            row.default, class_=row[0], coef=row.coef or None, group=row.group or None
        )
        assert spec.to_prior(row[0]) == model.priors[row.parameter]
    # setting every prior as listed reproduces the defaults exactly
    specs = [
        mmreg.prior(r.default, class_=r[0], coef=r.coef or None, group=r.group or None)
        for r in table.itertuples(index=False)
    ]
    assert mmreg.MMModel(f, data, priors=specs).priors == model.priors


def test_get_prior_takes_family_objects(data):
    f = (
        "Surv(dur, event) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
        "fn = fn(w ~ 1/n), RE = TRUE)"
    )
    by_obj = mmreg.get_prior(f, data, family=mmreg.families.weibull())
    by_name = mmreg.get_prior(f, data, family="Weibull")
    pd.testing.assert_frame_equal(by_obj, by_name)
    assert by_obj["parameter"].tolist()[-1] == "shape"
    assert by_obj["default"].tolist()[-1] == "exponential(0.001)"
    cox = mmreg.get_prior(f, data, family=mmreg.families.cox(intervals=4))
    assert "Intercept" not in cox["parameter"].tolist()


def test_prior_spec_built_directly_pickles_and_compares():
    from mmreg.priors.brms import PriorSpec

    spec = PriorSpec("gamma(2, 1)", "sd", group="hm1")
    assert spec == mmreg.prior("gamma(2, 1)", class_="sd", group="hm1")
    assert spec.to_prior("sd") == Gamma(2, 1)
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert repr(spec) == "prior('gamma(2, 1)', class_='sd', group='hm1')"
