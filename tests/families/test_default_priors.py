"""Families declare the default priors of their parameters (``Family.default_priors``)."""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pytest

import mmreg
from mmreg.families import get_family
from mmreg.families.count import NegBinomialFamily
from mmreg.priors import Exponential, Gamma, HalfCauchy
from validation.count_reference import FORMULA, simulate_counts


@pytest.mark.parametrize(
    ("family", "name", "prior", "shown"),
    [
        ("gaussian", "sigma", HalfCauchy(25.0), "cauchy(0, 25)"),
        ("weibull", "shape", Exponential(0.001), "exponential(0.001)"),
        ("negbinomial", "shape", Gamma(0.01, 0.01), "gamma(0.01, 0.01)"),
    ],
)
def test_the_family_defaults_are_bml_and_spec_priors(family, name, prior, shown):
    """bml's defaults (dscaled.gamma(25, 1) on the precision, dexp(0.001)) and SPEC §8's NB
    shape Gamma(0.01, 0.01): the same priors as when they came from parameter kinds."""
    assert dict(get_family(family).default_priors) == {name: prior}
    if family == "negbinomial":
        df = simulate_counts(family, seed=1, n_groups=80, n_members=40, n_countries=8)
        formula = FORMULA
    else:
        df = mmreg.datasets.simulate_coalitions(
            n_groups=80, n_members=40, n_countries=8, family=family, seed=1
        )
        formula = df.attrs["formula"]
    model = mmreg.MMModel(formula, df, family=family)
    assert model.priors[name] == prior and model.space.priors[name] == prior
    table = mmreg.get_prior(formula, df, family=family)
    assert table.set_index("parameter").loc[name, "default"] == shown


def test_a_new_family_brings_its_own_default_without_changes_elsewhere():
    """A subclass declaring another default is used by the model, get_prior and the
    posterior (its log density enters the hyperparameters' log prior)."""

    class StiffNB(NegBinomialFamily):
        default_priors = MappingProxyType({"shape": Gamma(2.0, 0.5)})

    df = simulate_counts("negbinomial", seed=2, n_groups=80, n_members=40, n_countries=8)
    model = mmreg.MMModel(FORMULA, df, family=StiffNB())
    assert model.priors["shape"] == Gamma(2.0, 0.5)
    space = model.space
    u = model.posterior.start_values()
    j = space.free.index("shape")
    x = space.natural_free(u)
    want = sum(float(space.priors[n].logpdf(v)) for n, v in zip(space.free, x, strict=True))
    assert space.log_prior(u, jacobian=False) == pytest.approx(want, rel=1e-12)
    assert float(Gamma(2.0, 0.5).logpdf(x[j])) != float(Gamma(0.01, 0.01).logpdf(x[j]))
    # a user's prior still wins over the family's default
    user = mmreg.MMModel(FORMULA, df, family=StiffNB(), priors={"shape": Exponential(1.0)})
    assert user.priors["shape"] == Exponential(1.0)
    assert np.isfinite(user.space.log_prior(u, jacobian=True))
