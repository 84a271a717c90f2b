"""Estimated aggregation shapes ``est()`` and aggregations with estimated weights (#16 part 2).

Exact derivatives dF/dshape and dF/dθ vs central differences, the Laplace gradient w.r.t.
the new hyperparameters vs central differences of the objective, default priors (SPEC §8),
recovery of known shapes in simulation, pickling and prediction.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import mmreg
from mmreg.formula.aggregate import compile_aggregation
from mmreg.priors import Gamma, Normal, Uniform
from tests.gradient_helper import assert_gradient_matches_differences
from validation.aggregate_coverage import simulate_aggregate

RNG = np.random.default_rng(3)
GROUP = np.repeat(np.arange(6), [2, 3, 1, 4, 2, 5])
X = RNG.uniform(0.5, 2.0, len(GROUP))
W = RNG.uniform(0.2, 1.0, len(GROUP))

#: (type, vars, est shapes with values, fixed shapes)
SHAPES = [
    ("threshold", ("x",), {"c": 1.1}, {}),
    ("threshold", ("x",), {"c": 1.1, "kappa": 4.0}, {}),
    ("smax", ("x",), {"kappa": -1.3}, {}),
    ("gmean", ("x",), {"p": 0.7}, {}),
]


def _compile(kind, variables, est, fixed):
    from mmreg.formula.spec import Est

    shapes = {**fixed, **{k: Est() for k in est}}
    return compile_aggregation(
        kind, block="mm1", variables=variables, shapes=shapes, columns=["x"], estimate=True
    )


@pytest.mark.parametrize(("kind", "variables", "est", "fixed"), SHAPES)
def test_shape_derivatives_match_differences(kind, variables, est, fixed):
    agg = _compile(kind, variables, est, fixed)
    assert set(agg.params) == set(est)
    par = np.array([est[p] for p in agg.params])
    F, dw, dp = agg.evaluate_all(W, {"x": X}, GROUP, 6, par)
    # the fixed-value spelling gives the same feature
    F_fixed, _ = compile_aggregation(
        kind, block="mm1", variables=variables, shapes={**fixed, **est}
    ).evaluate(W, {"x": X}, GROUP, 6)
    np.testing.assert_allclose(F, F_fixed, rtol=1e-13)
    h = 1e-6
    for j in range(len(par)):
        e = np.zeros(len(par))
        e[j] = h
        num = (
            agg.evaluate_all(W, {"x": X}, GROUP, 6, par + e, False)[0]
            - agg.evaluate_all(W, {"x": X}, GROUP, 6, par - e, False)[0]
        ) / (2 * h)
        np.testing.assert_allclose(dp[j], num, rtol=1e-7, atol=1e-9)


def test_dsl_free_symbol_derivative():
    agg = compile_aggregation(
        "expr",
        block="mm1",
        expr="E(ilogit(a * (x - b)))^2 + a * E(w)",
        columns=["x"],
        estimate=True,
    )
    assert agg.params == ("a", "b")
    par = np.array([0.8, 1.2])
    _, _, dp = agg.evaluate_all(W, {"x": X}, GROUP, 6, par)
    h = 1e-6
    for j in range(2):
        e = np.eye(2)[j] * h
        num = (
            agg.evaluate_all(W, {"x": X}, GROUP, 6, par + e, False)[0]
            - agg.evaluate_all(W, {"x": X}, GROUP, 6, par - e, False)[0]
        ) / (2 * h)
        np.testing.assert_allclose(dp[j], num, rtol=1e-7, atol=1e-9)


# ----------------------------------------------------------------- in a model
@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return mmreg.datasets.simulate_coalitions(n_groups=250, n_members=100, n_countries=10, seed=4)


MM = (
    "y ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), w = w(~ {w}), "
    "fn = {fn}, RE = TRUE) + hm(id = id(cid), type = 'RE')"
)
MODELS = {
    "var, estimated weights": MM.format(w="exp(g * pseat)", fn='fn("var")'),
    "smax, kappa = est()": MM.format(w="1/n", fn='fn("smax", kappa = est())'),
    "threshold, c = est()": MM.format(w="1/n", fn='fn("threshold", c = est())'),
    "threshold, both est, estimated weights": MM.format(
        w="exp(g * pseat)", fn='fn("threshold", c = est(), kappa = est(lower = 0.5, upper = 20))'
    ),
    "dsl": MM.format(w="1/n", fn="fn(~ E(ilogit(a * finance)))"),
}


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
@pytest.mark.parametrize("name", list(MODELS))
def test_laplace_gradient_matches_differences(sim, name, family):
    if family == "binomial" and name.startswith("threshold, both"):
        pytest.skip("one binomial case per shape is enough")
    data = sim if family == "gaussian" else sim.assign(y=(sim["y"] > sim["y"].median()) * 1)
    model = mmreg.MMModel(MODELS[name], data, family=family)
    assert_gradient_matches_differences(model, shifts=(0.2, -0.4))


@pytest.mark.parametrize("name", list(MODELS))
def test_feature_derivative_is_exact(sim, name):
    """dF/dθ (weights chained with dF/dw, and dF/dshape) = differences of the design."""
    model = mmreg.MMModel(MODELS[name], sim)
    lat = model.latent
    theta = [t + 0.1 for t in model.space.hyper(model.posterior.start_values()).theta]
    col = lat.P - 1 - sum(h.Z.shape[1] + h.fe.shape[1] for h in model.design.hm)
    b = model.design.mm[0]
    w, dw = b.weights(theta[0], derivative=True)
    dF = b.feature(w, dw, theta[0], derivative=True)[1]
    assert dF.shape == (len(theta[0]), lat.n)
    for j in range(len(theta[0])):
        h = 1e-6 * max(1.0, abs(theta[0][j]))
        up, dn = [t.copy() for t in theta], [t.copy() for t in theta]
        up[0][j] += h
        dn[0][j] -= h
        num = (
            lat.assemble_fresh(tuple(up))[0][:, col] - lat.assemble_fresh(tuple(dn))[0][:, col]
        ) / (2 * h)
        np.testing.assert_allclose(dF[j], num, rtol=1e-6, atol=1e-7)
        # the whole design: D, the RE weights and the offset
        dD, dR, doff = lat.design_derivative(tuple(theta), 0, j)
        (Du, Ru, ou), (Dd, Rd, od) = (lat.assemble_fresh(tuple(up)), lat.assemble_fresh(tuple(dn)))
        np.testing.assert_allclose(dD, (Du - Dd) / (2 * h), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(dR, (Ru.data - Rd.data) / (2 * h), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(doff, (ou - od) / (2 * h), atol=1e-7)


def test_names_and_default_priors(sim):
    pri = mmreg.MMModel(MODELS["threshold, c = est()"], sim).priors
    x = sim["finance"]
    assert pri["mm1.fn.c"] == Uniform(float(x.min()), float(x.max()))
    both = mmreg.MMModel(MODELS["threshold, both est, estimated weights"], sim)
    assert both.space.names[:3] == ("mm1.w.g", "mm1.fn.kappa", "mm1.fn.c")
    assert both.priors["mm1.fn.kappa"] == Uniform(0.5, 20.0)
    assert both.priors["mm1.w.g"] == Normal(0.0, 100.0)
    thr_k = mmreg.MMModel(MM.format(w="1/n", fn='fn("threshold", c = 0, kappa = est())'), sim)
    assert thr_k.priors["mm1.fn.kappa"] == Gamma(2.0, 0.2)
    assert mmreg.MMModel(MODELS["smax, kappa = est()"], sim).priors["mm1.fn.kappa"] == Normal(
        0.0, 5.0
    )
    sim2 = sim.assign(pos=sim["pseat"] + 0.1)
    gm = mmreg.MMModel(
        MM.format(w="1/n", fn='fn("gmean", p = est())').replace("vars(finance)", "vars(pos)"), sim2
    )
    assert gm.priors["mm1.fn.p"] == Normal(1.0, float(np.sqrt(10.0)))
    assert mmreg.MMModel(MODELS["dsl"], sim).priors["mm1.fn.a"] == Normal(0.0, 10.0)
    # user priors address the new parameters by name
    m = mmreg.MMModel(MODELS["smax, kappa = est()"], sim, priors={"mm1.fn.kappa": Normal(1.0, 2.0)})
    assert m.priors["mm1.fn.kappa"] == Normal(1.0, 2.0)


def test_fit_pickle_predict(sim):
    model = mmreg.MMModel(MODELS["threshold, both est, estimated weights"], sim)
    res = model.fit()
    assert {"mm1.fn.c", "mm1.fn.kappa", "mm1.w.g"} <= set(res.params.index)
    back = pickle.loads(pickle.dumps(res))
    pd.testing.assert_series_equal(back.params, res.params)
    np.testing.assert_allclose(res.predict(sim).to_numpy(), res.predict().to_numpy(), rtol=1e-10)


# ----------------------------------------------------------------- recovery
@pytest.mark.parametrize(
    ("kind", "truth", "fn"),
    [
        ("threshold", 0.4, 'fn("threshold", c = est())'),
        ("smax", 2.0, 'fn("smax", kappa = est())'),
    ],
)
def test_estimated_shapes_recover_truth(kind, truth, fn):
    name = f"mm1.fn.{'c' if kind == 'threshold' else 'kappa'}"
    z = []
    for seed in range(3):
        df = simulate_aggregate(kind, truth, seed=seed)
        res = mmreg.MMModel(f"y ~ 1 + mm(id = id(pid, gid), vars = vars(x), fn = {fn})", df).fit()
        z.append((res.params[name] - truth) / res.bse[name])
    assert np.all(np.abs(z) < 3.5), z
    assert abs(np.mean(z)) < 2.5, z


def test_one_bound(sim):
    ok = MM.format(w="1/n", fn='fn("threshold", c = 0, kappa = est(lower = 0))')
    assert mmreg.MMModel(ok, sim).priors["mm1.fn.kappa"] == Gamma(2.0, 0.2)
    bad = MM.format(w="1/n", fn='fn("smax", kappa = est(lower = 0))')
    with pytest.raises(mmreg.errors.MMSpecError, match="one bound"):
        mmreg.MMModel(bad, sim)
    from mmreg.priors import HalfNormal

    assert mmreg.MMModel(bad, sim, priors={"mm1.fn.kappa": HalfNormal(3.0)}).priors[
        "mm1.fn.kappa"
    ] == HalfNormal(3.0)
