"""Named blocks with estimated weights or shapes in main-formula interactions (#16).

``majority:coal`` (cross-level) and ``coal:opp`` (block × block) with ``w(~ exp(g * x))``
or ``est()`` shapes: the interaction column is x_main · F(θ) (or F_a(θ) · F_b(θ)).
References: the fixed-weight model with the same weights (θ held at a value by a
``Fixed`` prior: the same model, to 1e-8); central differences of the assembled design and
of the Laplace objective; a simulation with known truth (validation/aggregate_coverage.py).
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import mmreg
from mmreg.errors import MMSpecError
from mmreg.priors import Fixed
from tests.gradient_helper import assert_gradient_matches_differences
from validation.aggregate_coverage import INTERACTION, INTERACTION_TRUTH, simulate_interaction

COAL = 'mm(id = id(pid, gid), vars = vars(finance), w = w(~ {w}), {fn}RE = {re}, name = "coal")'
OPP = 'mm(id = id(pid, gid), vars = vars(rile), w = w(~ {w}), {fn}RE = FALSE, name = "opp")'
HM = " + hm(id = id(cid), type = 'RE')"


def _coal(w="exp(g * pseat)", fn="", re="TRUE") -> str:
    return COAL.format(w=w, fn=fn and f"fn = {fn}, ", re=re)


def _opp(w="1/n", fn="") -> str:
    return OPP.format(w=w, fn=fn and f"fn = {fn}, ")


SMAX = 'fn("smax", kappa = est())'
THRESHOLD = 'fn("threshold", c = est())'
MODELS = {
    "cross-level, estimated weights": f"y ~ 1 + majority + majority:coal + {_coal()}{HM}",
    "cross-level, est() shape": (
        f"y ~ 1 + majority + majority:coal + {_coal(w='1/n', fn=SMAX)}{HM}"
    ),
    "cross-level, both": (
        f"y ~ 1 + majority + majority:coal + {_coal(fn=THRESHOLD, re='FALSE')}{HM}"
    ),
    "block x block, weights x shape": (
        f"y ~ 1 + majority + coal:opp + {_coal()} + {_opp(w='1/n', fn=THRESHOLD)}{HM}"
    ),
    "block x fixed block, three-way": (
        f"y ~ 1 + majority + coal:opp + majority:coal:opp + {_coal(re='FALSE')} + {_opp()}"
    ),
}


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return mmreg.datasets.simulate_coalitions(n_groups=250, n_members=100, n_countries=10, seed=4)


@pytest.mark.parametrize("name", list(MODELS))
def test_design_derivative_matches_differences(sim, name):
    """∂D/∂θ of every parameter of every block (product rule) = differences of D."""
    model = mmreg.MMModel(MODELS[name], sim)
    lat, d = model.latent, model.design
    assert d.interactions and np.isnan(d.X[:, [it.column for it in d.interactions]]).all()
    theta = [t + 0.1 for t in model.space.hyper(model.posterior.start_values()).theta]
    for k, t in enumerate(theta):
        for j in range(len(t)):
            h = 1e-6 * max(1.0, abs(t[j]))
            up, dn = [x.copy() for x in theta], [x.copy() for x in theta]
            up[k][j] += h
            dn[k][j] -= h
            (Du, Ru, ou), (Dd, Rd, od) = (
                lat.assemble_fresh(tuple(up)),
                lat.assemble_fresh(tuple(dn)),
            )
            dD, dR, doff = lat.design_derivative(tuple(theta), k, j)
            cols = [it.column for it in d.interactions if k in it.blocks]
            assert cols and np.abs(dD[:, cols]).max() > 1e-3  # the products move
            np.testing.assert_allclose(dD, (Du - Dd) / (2 * h), rtol=1e-6, atol=1e-7)
            if dR is not None:
                np.testing.assert_allclose(dR, (Ru.data - Rd.data) / (2 * h), atol=1e-7)
            np.testing.assert_allclose(doff, (ou - od) / (2 * h), atol=1e-7)


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
@pytest.mark.parametrize("name", list(MODELS))
def test_laplace_gradient_matches_differences(sim, name, family):
    data = sim if family == "gaussian" else sim.assign(y=(sim["y"] > sim["y"].median()) * 1)
    assert_gradient_matches_differences(mmreg.MMModel(MODELS[name], data, family=family))


#: (estimated spelling, its parameters held fixed, the fixed-weight spelling); no member
#: REs: a member SD at its lower bound is flat and its optimum only as good as the optimiser
CROSS = f"y ~ 1 + majority + majority:coal + {_coal(re='FALSE')}{HM}"
AXB = f"y ~ 1 + majority + coal:opp + {_coal(re='FALSE')} + {_opp(w='1/n', fn=THRESHOLD)}{HM}"
CROSS_SMAX = f"y ~ 1 + majority + majority:coal + {_coal(w='1/n', fn=SMAX, re='FALSE')}{HM}"
HELD = [
    (CROSS, {"mm1.w.g": 1.3}, CROSS.replace("exp(g * pseat)", "exp(1.3 * pseat)")),
    (CROSS_SMAX, {"mm1.fn.kappa": -0.7}, CROSS_SMAX.replace("kappa = est()", "kappa = -0.7")),
    (
        AXB,
        {"mm1.w.g": -0.8, "mm2.fn.c": 0.2},
        AXB.replace("exp(g * pseat)", "exp(-0.8 * pseat)").replace("c = est()", "c = 0.2"),
    ),
]


@pytest.mark.parametrize(("formula", "held", "fixed"), HELD, ids=["weights", "shape", "a x b"])
def test_held_parameters_equal_the_fixed_weight_model(sim, formula, held, fixed):
    est = mmreg.MMModel(formula, sim, priors={k: Fixed(v) for k, v in held.items()}).fit()
    ref = mmreg.MMModel(fixed, sim).fit()
    common = [n for n in ref.params.index if n in est.params.index]
    assert set(est.params.index) - set(common) == set(held)
    np.testing.assert_allclose(est.params[common], ref.params[common], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(est.bse[common], ref.bse[common], rtol=1e-8)
    np.testing.assert_allclose(est.llf, ref.llf, rtol=1e-10)


def test_row_order_does_not_matter(sim):
    f = AXB
    a = mmreg.MMModel(f, sim).fit()
    shuffled = sim.sample(frac=1.0, random_state=7)
    b = mmreg.MMModel(f, shuffled).fit()
    pd.testing.assert_series_equal(a.params, b.params, rtol=1e-7)
    pd.testing.assert_series_equal(a.bse, b.bse, rtol=1e-5)


def test_recovers_the_simulated_truth():
    """One replication of validation/aggregate_coverage.py's interaction study (n = 400
    groups): every estimate within 4 posterior SDs of the truth (a 95% interval covers it in
    0.95 of replications there; a miss beyond 4 SDs has probability < 1e-4)."""
    res = mmreg.MMModel(INTERACTION, simulate_interaction(seed=11)).fit()
    z = {k: (res.params[k] - v) / res.bse[k] for k, v in INTERACTION_TRUTH.items()}
    assert all(abs(v) < 4 for v in z.values()), z
    assert res.bse["mm1.w.gamma"] < 0.2 and res.bse["m:coal"] < 0.05  # informative


def test_names_in_summary_get_prior_and_describe(sim):
    f = CROSS
    model = mmreg.MMModel(f, sim)
    res = model.fit()
    assert res.params.index[:3].tolist() == ["Intercept", "majority", "majority:coal"]
    assert model.bml_names["majority:coal"] == "b[3]"
    text = str(res.summary())
    assert "majority:coal" in text and "b[3]" in text
    table = mmreg.get_prior(f, sim)
    row = table[table["parameter"] == "majority:coal"]
    assert row[["class", "coef", "default"]].values.tolist() == [
        ["b", "majority:coal", "normal(0, 100)"]
    ]
    assert "main level: Intercept, majority, majority:coal" in model.describe()


@pytest.mark.filterwarnings("ignore::mmreg.MMWarning")  # a short run
def test_predict_pickle_and_mcmc(sim):
    model = mmreg.MMModel(CROSS_SMAX, sim)
    res = model.fit()
    np.testing.assert_allclose(res.predict(sim).to_numpy(), res.predict().to_numpy(), rtol=1e-10)
    back = pickle.loads(pickle.dumps(res))
    pd.testing.assert_series_equal(back.params, res.params)
    post = model.fit(method="mcmc", draws=300, chains=2, seed=1)
    diag = post.mcmc_diag().loc["majority:coal"]
    # the posterior mean agrees with the Laplace estimate to within 4 Monte Carlo SEs plus
    # a fifth of a posterior SD (the Laplace mode of the hyperparameters is not their mean)
    gap = abs(diag["mean"] - res.params["majority:coal"])
    assert gap < 4 * diag["mcse_mean"] + 0.2 * res.bse["majority:coal"], (gap, diag)
    assert diag["sd"] == pytest.approx(res.bse["majority:coal"], rel=0.3)


@pytest.mark.parametrize(
    ("main", "match"),
    [
        ("majority:I(coal^2)", "only as itself.*not through"),
        ("majority:log(coal + 10)", "only as itself.*not through"),
        ("majority + fix(coal, 0.5)", "interactions of the main formula only, not in fix"),
    ],
)
def test_transformations_of_an_estimated_block_are_refused(sim, main, match):
    with pytest.raises(MMSpecError, match=match):
        mmreg.MMModel(f"y ~ 1 + {main} + {_coal()}", sim)


def test_a_fixed_block_in_fix_gets_its_feature(sim):
    """fix(coal, v) of a block with fixed weights is the offset v·F (it was 0 before)."""
    block = _coal(w="pseat", re="FALSE")
    model = mmreg.MMModel(f"y ~ 1 + majority + majority:coal + fix(coal, 0.5) + {block}", sim)
    w = sim["pseat"] / sim.groupby("gid")["pseat"].transform("sum")
    F = (w * sim["finance"]).groupby(sim["gid"]).sum().to_numpy()
    np.testing.assert_allclose(model.design.offset, 0.5 * F, rtol=1e-12)
