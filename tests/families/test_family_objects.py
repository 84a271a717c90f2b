"""Family objects (``mmreg.families.gaussian()``, ...) vs family names: identical fits."""

from __future__ import annotations

import pandas as pd
import pytest

import mmreg
import mmreg.formula.api as mmf
from mmreg import families
from mmreg.errors import MMSpecError

pytestmark = pytest.mark.filterwarnings("ignore::mmreg.MMWarning")  # small data sets

CASES = [
    ("gaussian", "gaussian", families.gaussian),
    ("binomial", "binomial", families.binomial),
    ("binomial", "bernoulli", families.bernoulli),
    ("binomial", "Binomial", families.bernoulli),
    ("weibull", "Weibull", families.weibull),
    ("cox", "cox", families.cox),
    ("clogit", "clogit", families.clogit),
]


def _data(family: str) -> pd.DataFrame:
    return mmreg.datasets.simulate_coalitions(
        n_groups=120, n_members=50, n_countries=8, family=family, seed=5
    )


@pytest.mark.parametrize(("sim", "name", "ctor"), CASES)
def test_object_and_name_give_identical_fits(sim, name, ctor):
    df = _data(sim)
    formula = df.attrs["formula"]
    by_name = mmreg.MMModel(formula, df, family=name).fit()
    by_object = mmreg.MMModel(formula, df, family=ctor()).fit()
    assert by_object.model.family == by_name.model.family
    pd.testing.assert_series_equal(by_object.params, by_name.params, rtol=0, atol=0)
    pd.testing.assert_series_equal(by_object.bse, by_name.bse, rtol=0, atol=0)


def test_cox_intervals_object_equals_cox_intervals_argument():
    df = _data("cox")
    formula = df.attrs["formula"]
    a = mmreg.MMModel(formula, df, family="cox", cox_intervals=5).fit()
    b = mmf.mmm(formula, df, family=families.cox(intervals=5)).fit()
    pd.testing.assert_series_equal(a.params, b.params, rtol=0, atol=0)
    assert b.model.family == "cox"


def test_objects_in_bml_and_mmm():
    df = _data("binomial")
    formula = df.attrs["formula"]
    model = mmreg.bml(formula, df, family=families.bernoulli(), run=False)
    assert model.family == "binomial"
    assert mmf.mmm(formula, df, family=families.bernoulli()).param_names == model.param_names
    assert mmreg.MMModel(formula, df, family="Bernoulli").param_names == model.param_names


def test_constructors_are_configured_families():
    assert families.bernoulli() == families.binomial() == families.get_family("bernoulli")
    assert families.cox(intervals=3) == families.get_family("cox", intervals=3)
    assert families.clogit(ties="breslow") == families.get_family("clogit", ties="breslow")
    assert families.gaussian() != families.weibull()
    with pytest.raises(MMSpecError, match="cox_intervals"):
        families.cox(intervals=0)
    with pytest.raises(MMSpecError, match="ties"):
        families.clogit(ties="efron")


def test_object_with_cox_intervals_argument_is_an_error():
    df = _data("cox")
    with pytest.raises(MMSpecError, match="Family object"):
        mmreg.MMModel(df.attrs["formula"], df, family=families.cox(), cox_intervals=4)


def test_objects_pickle():
    import pickle

    for ctor in (
        families.gaussian,
        families.bernoulli,
        families.weibull,
        families.cox,
        families.clogit,
    ):
        fam = ctor()
        assert pickle.loads(pickle.dumps(fam)) == fam
