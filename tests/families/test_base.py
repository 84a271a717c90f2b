"""Curvature algebra and family lookup."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mmreg.errors import MMSpecError
from mmreg.families import (
    BinomialFamily,
    ConditionalLogitFamily,
    CoxFamily,
    Curvature,
    GaussianFamily,
    NegBinomialFamily,
    PoissonFamily,
    WeibullFamily,
    get_family,
)


@pytest.fixture
def curv():
    rng = np.random.default_rng(0)
    d = rng.uniform(1, 2, 6)
    U = sp.random(6, 3, density=0.5, random_state=1, format="csc")
    c = np.array([0.3, -0.2, 0.5])
    return Curvature(d=d, U=U, c=c)


def test_dense_equals_explicit_formula(curv):
    U = curv.U.toarray()
    expected = np.diag(curv.d) - U @ np.diag(curv.c) @ U.T
    np.testing.assert_allclose(curv.dense(), expected)
    dense_u = Curvature(d=curv.d, U=U, c=curv.c)
    np.testing.assert_allclose(dense_u.dense(), expected)


def test_matvec_and_congruence_match_dense(curv):
    rng = np.random.default_rng(1)
    M = curv.dense()
    v = rng.normal(size=6)
    V = rng.normal(size=(6, 2))
    np.testing.assert_allclose(curv.matvec(v), M @ v)
    np.testing.assert_allclose(curv.matvec(V), M @ V)
    A = rng.normal(size=(6, 4))
    np.testing.assert_allclose(curv.congruence(A), A.T @ M @ A)
    As = sp.random(6, 4, density=0.6, random_state=2, format="csr")
    out = curv.congruence(As)
    assert sp.issparse(out)
    np.testing.assert_allclose(out.toarray(), As.toarray().T @ M @ As.toarray())


def test_diagonal_curvature():
    c = Curvature(d=np.array([1.0, 2.0]))
    np.testing.assert_array_equal(c.dense(), np.diag([1.0, 2.0]))
    np.testing.assert_array_equal(c.congruence(np.ones((2, 1))), [[3.0]])
    with pytest.raises(MMSpecError):
        Curvature(d=np.ones(2), U=np.ones((2, 1)))


@pytest.mark.parametrize(
    "name, cls",
    [
        ("gaussian", GaussianFamily),
        ("Gaussian", GaussianFamily),
        ("Binomial", BinomialFamily),
        ("WEIBULL", WeibullFamily),
        ("Cox", CoxFamily),
        ("clogit", ConditionalLogitFamily),
        ("CondLogit", ConditionalLogitFamily),
        ("conditional_logit", ConditionalLogitFamily),
        ("bernoulli", BinomialFamily),
        ("Poisson", PoissonFamily),
        ("negbinomial", NegBinomialFamily),
        ("NegBin", NegBinomialFamily),
    ],
)
def test_get_family_names(name, cls):
    fam = get_family(name)
    assert type(fam) is cls
    assert get_family(fam) is fam


def test_family_attributes():
    expect = {
        "gaussian": (("sigma",), True, "plain"),
        "binomial": ((), True, "plain"),
        "weibull": (("shape",), True, "surv"),
        "cox": ((), False, "surv"),
        "clogit": ((), False, "plain"),
        "poisson": ((), True, "plain"),
        "negbinomial": (("shape",), True, "plain"),
    }
    for name, (hyper, icpt, kind) in expect.items():
        fam = get_family(name)
        assert fam.name == name
        assert (fam.hyper_names, fam.has_intercept, fam.outcome_kind) == (hyper, icpt, kind)


def test_cox_options():
    fam = get_family("cox", intervals=10)
    assert fam.intervals == 10 and fam.a == 0.001 and fam.b == 0.1
    assert get_family("cox", cox_intervals=4) == CoxFamily(intervals=4)
    assert get_family("weibull", intervals=None) == WeibullFamily()
    for bad in (0, -2, 2.5, "10", True):
        with pytest.raises(MMSpecError, match="cox_intervals"):
            get_family("cox", intervals=bad)
    with pytest.raises(MMSpecError, match="only applies to family='cox'"):
        get_family("weibull", cox_intervals=10)


def test_unknown_family_and_option_errors_list_valid_names():
    with pytest.raises(MMSpecError, match="gaussian.*binomial.*weibull.*cox.*clogit.*poisson"):
        get_family("zeroinflated")
    with pytest.raises(MMSpecError, match="does not take"):
        get_family("gaussian", ties="exact")
    with pytest.raises(MMSpecError, match="ties"):
        get_family("clogit", ties="efron")


def test_phi_validation():
    bf = get_family("gaussian").bind({"y": np.zeros(3)})
    with pytest.raises(MMSpecError, match="sigma"):
        bf.loglik(np.zeros(3), (-1.0,))
    with pytest.raises(MMSpecError, match="1 value"):
        bf.loglik(np.zeros(3), ())
    with pytest.raises(MMSpecError, match="shape"):
        bf.loglik(np.zeros(4), (1.0,))


def test_family_functions_and_count_validation():
    import mmreg.families as fams
    from mmreg.errors import MMDataError

    assert fams.poisson() == get_family("poisson")
    assert fams.negbinomial() == get_family("negbinomial")
    assert fams.bernoulli() == get_family("binomial")
    for name in ("poisson", "negbinomial"):
        for bad in ([1.0, -1.0, 2.0], [0.0, 1.5, 2.0]):
            with pytest.raises(MMDataError, match="'n_events' \\(outcome\\).*counts"):
                get_family(name).bind({"y": np.array(bad)}, labels={"y": "n_events"})
