"""The posterior object, the declared family members and factor protocols (issue #14)."""

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mmreg
from mmreg.families import FAMILY_NAMES, get_family
from mmreg.inference.factors import LatentFactor, RRFactor
from mmreg.inference.linalg import DenseFactor
from mmreg.inference.posterior import Posterior
from mmreg.inference.rrfactors import BlockRR, SuperLURR

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model():
    df = mmreg.datasets.simulate_coalitions(
        n_groups=120, n_members=50, n_countries=8, family="weibull", seed=3
    )
    return mmreg.MMModel(df.attrs["formula"], df, family="weibull")


def test_model_delegates_to_its_posterior(model):
    post = model.posterior
    assert isinstance(post, Posterior)
    assert model.latent is post.latent and model.space is post.space
    assert post.bound_family is model.bound_family and post.family.name == "weibull"
    assert post.particles() == 8 and post.particles(3) == 3


def test_eta_matches_the_model_linear_predictor(model):
    u = model.posterior.start_values()
    hyp = model.posterior.unpack(u)
    beta = np.linspace(-0.5, 0.5, model.latent.P)
    re = np.linspace(-1, 1, model.latent.q)
    D, R, off = model.latent.assemble(hyp.theta)
    assert np.array_equal(model.posterior.eta(hyp.theta, beta, re=re), off + D @ beta + R @ re)
    z = np.concatenate([beta, re])
    assert np.array_equal(model.posterior.eta(hyp.theta, z), off + D @ beta + R @ re)


def test_log_marginal_is_the_laplace_objective(model):
    u = model.posterior.start_values()
    mode = model.latent.mode(model.space.hyper(u))
    want = mode.log_marginal + model.space.log_prior(u, jacobian=False)
    assert model.posterior.log_marginal(u) == pytest.approx(want, rel=1e-12)


def test_posterior_pickles_through_its_model(model):
    post = pickle.loads(pickle.dumps(model.posterior))
    assert post.space.names == model.space.names


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_families_declare_their_conventions(name):
    fam = get_family(name)
    phi = np.ones(len(fam.hyper_names)) * 2.0
    der = fam.derived_params(phi)
    assert der.shape == (len(fam.derived_names),)
    assert fam.derived_jacobian(phi).shape == (len(fam.derived_names), len(fam.hyper_names))
    assert fam.default_particles >= 0 and isinstance(fam.exact_gaussian, bool)


def test_weibull_sigma_is_one_over_shape():
    fam = get_family("weibull")
    assert fam.derived_params(np.array([4.0])).tolist() == [0.25]
    assert fam.derived_jacobian(np.array([4.0])).tolist() == [[-1.0 / 16]]
    lo, hi = fam.derived_interval(np.array([2.0]), np.array([4.0]))
    assert (lo.tolist(), hi.tolist()) == ([0.25], [0.5])


def test_factors_implement_the_declared_protocols():
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert isinstance(DenseFactor(H), LatentFactor)
    for cls in (SuperLURR, BlockRR):
        assert all(hasattr(cls, m) for m in ("solve", "sample", "diag_inv"))
        assert isinstance(cls.has_pattern_inverse, bool)
    import scipy.sparse as sp

    assert isinstance(SuperLURR(sp.csc_matrix(H)), RRFactor)


def test_check_seams_runs():
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_seams.py")], capture_output=True, text=True
    )
    assert "family-name comparisons outside families/: 0" in out.stdout


def test_natural_values_of_many_draws_are_those_of_each_draw(model):
    """natural_all of a (..., dim) array: row by row, bit for bit, what it gives one draw."""
    space = model.space
    U = np.random.default_rng(0).normal(scale=3.0, size=(2, 5, space.dim))
    many = space.natural_all(U)
    one = np.array([space.natural_all(u) for u in U.reshape(-1, space.dim)])
    np.testing.assert_array_equal(many.reshape(one.shape), one)
    assert many.shape == (2, 5, len(space.names))
