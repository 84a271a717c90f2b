"""The design layer (``mmreg.design``) against hand-computed arrays, and row-order invariance.

The tiny data set has 3 governments (gid 10, 20, 30), 4 parties (pid 1-4) and 2 countries
(cid 1 = "A", cid 2 = "B"); its rows are deliberately out of order, also *within* groups
(the bml 0.9.0 defect: member effects misaligned when rows within a group are not sorted by
member id).  Canonical order is groups by id, rows within a group by member id:

    canonical row   0    1    2    3    4    5    6
    gid            10   10   10   20   20   30   30
    pid             1    2    4    1    3    2    4
    user row        3    2    4    6    5    1    0
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mmreg

COALGOV = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "coalgov.csv"

GAUSS_MM = "y ~ 1 + maj + mm(id = id(pid, gid), vars = vars(x), fn = fn({fn}), RE = TRUE)"
CANON_ROWS = [3, 2, 4, 6, 5, 1, 0]
CANON_GROUP = [0, 0, 0, 1, 1, 2, 2]
CANON_MEMBER = [0, 1, 3, 0, 2, 1, 3]  # codes of pid 1, 2, 3, 4


def tiny() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "gid": [30, 30, 10, 10, 10, 20, 20],
            "pid": [4, 2, 2, 1, 4, 3, 1],
            "cid": [1, 1, 1, 1, 1, 2, 2],
            "cname": ["A", "A", "A", "A", "A", "B", "B"],
            "gdp": [2.0, 2.0, 2.0, 2.0, 2.0, -1.0, -1.0],  # country level
            "y": [1.5, 1.5, 0.2, 0.2, 0.2, -0.7, -0.7],
            "maj": [1, 1, 0, 0, 0, 1, 1],
            "x": [0.5, -1.0, 2.0, 1.0, 0.0, 3.0, -2.0],
            "s": [0.6, 0.4, 0.5, 0.3, 0.2, 0.9, 0.1],
        }
    )


# (gid, pid) -> value, read off tiny() by hand
X = {
    (30, 4): 0.5,
    (30, 2): -1.0,
    (10, 2): 2.0,
    (10, 1): 1.0,
    (10, 4): 0.0,
    (20, 3): 3.0,
    (20, 1): -2.0,
}
S = {
    (30, 4): 0.6,
    (30, 2): 0.4,
    (10, 2): 0.5,
    (10, 1): 0.3,
    (10, 4): 0.2,
    (20, 3): 0.9,
    (20, 1): 0.1,
}
GIDS, PIDS = [10, 20, 30], [1, 2, 3, 4]


def weight_matrix(raw: dict, normalize: bool) -> np.ndarray:
    """Groups x members weight matrix from raw weights per (gid, pid)."""
    W = np.zeros((3, 4))
    for (g, p), w in raw.items():
        W[GIDS.index(g), PIDS.index(p)] = w
    return W / W.sum(axis=1, keepdims=True) if normalize else W


def aggregate(W: np.ndarray, values: dict) -> np.ndarray:
    V = weight_matrix(values, normalize=False)
    return (W * V).sum(axis=1)


def assemble(model, *theta):
    D, R, off = model.latent.assemble(tuple(np.atleast_1d(np.asarray(t, float)) for t in theta))
    return D, R.toarray(), off


# --------------------------------------------------------------------------- codes and order
def test_groups_members_and_block_sizes():
    d = mmreg.MMModel(GAUSS_MM.format(fn="w ~ 1/n, c = TRUE"), tiny()).design
    np.testing.assert_array_equal(d.group_ids, GIDS)
    b = d.mm[0]
    np.testing.assert_array_equal(b.rows, CANON_ROWS)
    np.testing.assert_array_equal(b.group, CANON_GROUP)
    np.testing.assert_array_equal(b.member, CANON_MEMBER)
    np.testing.assert_array_equal(b.member_ids, PIDS)
    np.testing.assert_array_equal(b.n, [3, 3, 3, 2, 2, 2, 2])
    np.testing.assert_array_equal(d.outcome["y"], [0.2, -0.7, 1.5])
    np.testing.assert_array_equal(d.X, [[1, 0], [1, 1], [1, 1]])
    assert d.coef_names == ("Intercept", "maj", "mm1.x")
    assert d.bml_names == {
        "Intercept": "b[1]",
        "maj": "b[2]",
        "mm1.x": "b.mm.1",
        "sigma.mm1": "sigma.mm.1",
    }
    assert b.re_labels == (1, 2, 3, 4)


def test_equal_weights_design():
    model = mmreg.MMModel(GAUSS_MM.format(fn="w ~ 1/n, c = TRUE"), tiny())
    D, R, off = assemble(model, np.zeros(0))
    W = np.array([[1 / 3, 1 / 3, 0, 1 / 3], [1 / 2, 0, 1 / 2, 0], [0, 1 / 2, 0, 1 / 2]])
    np.testing.assert_allclose(R, W, rtol=1e-15)
    # W X: (1 + 2 + 0) / 3, (3 - 2) / 2, (0.5 - 1) / 2
    np.testing.assert_allclose(D, [[1, 0, 1.0], [1, 1, 0.5], [1, 1, -0.25]], rtol=1e-15)
    np.testing.assert_array_equal(off, 0.0)


@pytest.mark.parametrize("normalize", [True, False])
def test_estimated_weights_align_with_members(normalize):
    """Rows within groups are unsorted: each weight must land on its own member's column."""
    c = "TRUE" if normalize else "FALSE"
    model = mmreg.MMModel(GAUSS_MM.format(fn=f"w ~ exp(b0 * s), c = {c}"), tiny())
    for b0 in (0.0, 2.0, -1.5):
        D, R, off = assemble(model, b0)
        W = weight_matrix({k: np.exp(b0 * v) for k, v in S.items()}, normalize)
        np.testing.assert_allclose(R, W, rtol=1e-13)
        np.testing.assert_allclose(D[:, 2], aggregate(W, X), rtol=1e-13)
        np.testing.assert_array_equal(off, 0.0)


def test_data_weights_are_member_specific():
    # w = s sums to 1 in every group: W X = 0.3*1 + 0.5*2 + 0.2*0, 0.9*3 - 0.1*2, 0.6*0.5 - 0.4
    model = mmreg.MMModel(GAUSS_MM.format(fn="w ~ s, c = FALSE"), tiny())
    D, R, _ = assemble(model, np.zeros(0))
    np.testing.assert_allclose(D[:, 2], [1.3, 2.5, -0.1], rtol=1e-14)
    np.testing.assert_allclose(
        R, [[0.3, 0.5, 0, 0.2], [0.1, 0, 0.9, 0], [0, 0.4, 0, 0.6]], rtol=1e-14
    )


# --------------------------------------------------------------------------- fix() offsets
def test_fix_offsets_main_mm_and_hm():
    f = (
        "y ~ 1 + fix(maj, 2) + mm(id = id(pid, gid), vars = vars(fix(x, 0.5) + s), "
        "fn = fn(w ~ 1/n)) + hm(id = id(cid), vars = vars(fix(gdp, 3)), type = 'RE')"
    )
    model = mmreg.MMModel(f, tiny())
    assert model.param_names == ["Intercept", "mm1.s", "sigma.hm1", "sigma"]
    D, _, off = assemble(model, np.zeros(0))
    # 2 maj + 0.5 mean(x) + 3 gdp:  g10: 0 + 0.5 + 6, g20: 2 + 0.25 - 3, g30: 2 - 0.125 + 6
    np.testing.assert_allclose(off, [6.5, -0.75, 7.875], rtol=1e-15)
    np.testing.assert_allclose(D[:, 1], [1 / 3, 0.5, 0.5], rtol=1e-15)  # mean s


def test_fix_offset_scales_with_estimated_weights():
    f = (
        "y ~ 1 + mm(id = id(pid, gid), vars = vars(fix(x, -2) + s), "
        "fn = fn(w ~ exp(b0 * s), c = TRUE))"
    )
    model = mmreg.MMModel(f, tiny())
    _, _, off = assemble(model, 1.3)
    W = weight_matrix({k: np.exp(1.3 * v) for k, v in S.items()}, True)
    np.testing.assert_allclose(off, -2 * aggregate(W, X), rtol=1e-13)


# --------------------------------------------------------------------------- hm() blocks
def test_hm_fixed_effects_with_names():
    f = GAUSS_MM.format(fn="w ~ 1/n") + " + hm(id = id(cid), name = cname, type = 'FE')"
    model = mmreg.MMModel(f, tiny())
    assert model.param_names == ["Intercept", "maj", "mm1.x", "hm1[B]", "sigma.mm1", "sigma"]
    assert model.bml_names["hm1[B]"] == "b.hm.1"
    D, _, _ = assemble(model, np.zeros(0))
    np.testing.assert_array_equal(D[:, 3], [0, 1, 0])  # gid 20 is in country B
    h = model.design.hm[0]
    assert h.unit_labels == ("A", "B") and h.re_state is None


def test_hm_fixed_effects_without_intercept_or_names():
    f = (
        "y ~ 0 + maj + mm(id = id(pid, gid), vars = vars(x), fn = fn(w ~ 1/n)) "
        "+ hm(id = id(cid), type = 'FE')"
    )
    model = mmreg.MMModel(f, tiny())
    assert model.param_names == ["maj", "mm1.x", "hm1[1]", "hm1[2]", "sigma"]
    assert [model.bml_names[n] for n in ("hm1[1]", "hm1[2]")] == ["b.hm.1[1]", "b.hm.1[2]"]
    D, _, _ = assemble(model, np.zeros(0))
    np.testing.assert_array_equal(D[:, 2:], [[1, 0], [0, 1], [1, 0]])


def test_hm_random_effects_and_vars():
    f = GAUSS_MM.format(fn="w ~ 1/n") + " + hm(id = id(cid), vars = vars(gdp), type = 'RE')"
    model = mmreg.MMModel(f, tiny())
    assert model.param_names == [
        "Intercept",
        "maj",
        "mm1.x",
        "hm1.gdp",
        "sigma.mm1",
        "sigma.hm1",
        "sigma",
    ]
    D, R, _ = assemble(model, np.zeros(0))
    np.testing.assert_array_equal(D[:, 3], [2.0, -1.0, 2.0])
    np.testing.assert_array_equal(R[:, 4:], [[1, 0], [0, 1], [1, 0]])  # after 4 members


def _rw_cov(sd, chains, size):
    """Random-walk prior covariance: sd^2 * min(position) along each chain, 0 across."""
    cov = np.zeros((size, size))
    for chain in chains:
        for a, i in enumerate(chain, 1):
            for b, j in enumerate(chain, 1):
                cov[i, j] = sd**2 * min(a, b)
    return cov


def test_member_random_walk_states():
    f = "y ~ 1 + mm(id = id(pid, gid), vars = NULL, fn = fn(w ~ 1/n), RE = TRUE, ar = TRUE)"
    model = mmreg.MMModel(f, tiny())
    b = model.design.mm[0]
    np.testing.assert_array_equal(b.re_state, np.arange(7))  # one state per participation
    np.testing.assert_array_equal(b.re_prev, [-1, -1, -1, 0, -1, 1, 2])
    assert b.re_labels == ((1, 10), (2, 10), (4, 10), (1, 20), (3, 20), (2, 30), (4, 30))
    _, R, _ = assemble(model, np.zeros(0))
    np.testing.assert_allclose(
        R, [[1 / 3] * 3 + [0] * 4, [0, 0, 0, 0.5, 0.5, 0, 0], [0] * 5 + [0.5, 0.5]], rtol=1e-15
    )
    lat = model.latent
    Q = lat.prior_precision(np.array([0.7]))[lat.P :, lat.P :]
    chains = [[0, 3], [1, 5], [4], [2, 6]]  # pid 1: g10 -> g20, pid 2: g10 -> g30, ...
    np.testing.assert_allclose(np.linalg.inv(Q), _rw_cov(0.7, chains, 7), atol=1e-12)


def test_unit_random_walk_states():
    f = (
        GAUSS_MM.format(fn="w ~ 1/n").replace("RE = TRUE", "RE = FALSE")
        + " + hm(id = id(cid), name = cname, type = 'RE', ar = TRUE)"
    )
    model = mmreg.MMModel(f, tiny())
    h = model.design.hm[0]
    np.testing.assert_array_equal(h.re_state, [0, 1, 2])  # one state per group
    np.testing.assert_array_equal(h.re_prev, [-1, -1, 0])  # A: g10 -> g30
    assert h.re_labels == (("A", 10), ("B", 20), ("A", 30))
    lat = model.latent
    Q = lat.prior_precision(np.array([1.6]))[lat.P :, lat.P :]
    np.testing.assert_allclose(np.linalg.inv(Q), _rw_cov(1.6, [[0, 2], [1]], 3), atol=1e-12)


# --------------------------------------------------------------------------- stacked format
def stacked() -> pd.DataFrame:
    # g10: government 1, 2; opposition 3.   g20: government 3; opposition 4, 1, 2.
    return pd.DataFrame(
        {
            "gid": [20, 10, 20, 10, 20, 10, 20],
            "pid_g": [np.nan, 2, 3, np.nan, np.nan, 1, np.nan],
            "pid_o": [4, np.nan, np.nan, 3, 1, np.nan, 2],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            "y": [0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5],
        }
    )


def test_stacked_government_opposition_format():
    f = (
        "y ~ 1 + mm(id = id(pid_g, gid), vars = vars(x), fn = fn(w ~ 1/n), RE = TRUE) "
        "+ mm(id = id(pid_o, gid), vars = vars(x), fn = fn(w ~ 1/n), RE = TRUE)"
    )
    model = mmreg.MMModel(f, stacked())
    assert model.nobs == 2
    assert model.param_names == ["Intercept", "mm1.x", "mm2.x", "sigma.mm1", "sigma.mm2", "sigma"]
    gov, opp = model.design.mm
    np.testing.assert_array_equal(gov.rows, [5, 1, 2])
    np.testing.assert_array_equal(gov.n, [2, 2, 1])
    np.testing.assert_array_equal(gov.member_ids, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(opp.rows, [3, 4, 6, 0])
    np.testing.assert_array_equal(opp.n, [1, 3, 3, 3])
    np.testing.assert_array_equal(opp.member_ids, [1.0, 2.0, 3.0, 4.0])
    D, R, _ = assemble(model, np.zeros(0), np.zeros(0))
    # government mean x: (6 + 2) / 2, 3; opposition: 4, (5 + 7 + 1) / 3
    np.testing.assert_allclose(D, [[1, 4.0, 4.0], [1, 3.0, 13 / 3]], rtol=1e-15)
    third = 1 / 3
    np.testing.assert_allclose(
        R, [[0.5, 0.5, 0, 0, 0, 1, 0], [0, 0, 1, third, third, 0, third]], rtol=1e-15
    )


# --------------------------------------------------------------------------- row order
def _design_arrays(model, theta):
    D, R, off = assemble(model, *theta)
    d = model.design
    return {
        "D": D,
        "R": R,
        "off": off,
        "group_ids": d.group_ids,
        **{k: np.asarray(v) for k, v in d.outcome.items()},
        **{f"{b.label}.member": b.member_ids[b.member] for b in d.mm},
    }


@pytest.mark.parametrize("seed", range(6))
def test_tiny_design_is_independent_of_row_order(seed):
    f = (
        GAUSS_MM.format(fn="w ~ exp(b0 * s), c = TRUE")
        + " + hm(id = id(cid), vars = vars(fix(gdp, 2)), type = 'RE', ar = TRUE)"
    )
    data = tiny().set_index(pd.Index(list("abcdefg")))
    ref = mmreg.MMModel(f, data)
    perm = np.random.default_rng(seed).permutation(len(data))
    shuffled = data.iloc[perm]
    model = mmreg.MMModel(f, shuffled)
    for key, val in _design_arrays(ref, [0.8]).items():
        np.testing.assert_array_equal(_design_arrays(model, [0.8])[key], val, err_msg=key)
    # the same user rows (by index label) fill the canonical positions
    np.testing.assert_array_equal(
        shuffled.index[model.design.mm[0].rows], data.index[ref.design.mm[0].rows]
    )


def test_model_without_mm_is_independent_of_row_order():
    # one row per group, hm() random walk over groups ordered by the DataFrame index
    data = tiny().drop_duplicates("gid").set_index("gid", drop=False)
    f = "y ~ 1 + maj + hm(id = id(cid), type = 'RE', ar = TRUE)"
    ref = mmreg.MMModel(f, data)
    model = mmreg.MMModel(f, data.iloc[[2, 0, 1]])
    np.testing.assert_array_equal(model.design.group_ids, [10, 20, 30])
    for key, val in _design_arrays(ref, []).items():
        np.testing.assert_array_equal(_design_arrays(model, [])[key], val, err_msg=key)
    np.testing.assert_array_equal(model.design.hm[0].re_prev, [-1, -1, 0])


def _orders(data: pd.DataFrame, group: str, member: str) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(11)
    return {
        "shuffled": data.iloc[rng.permutation(len(data))],
        # groups in order but members descending within each group
        "members descending": data.sort_values([group, member], ascending=[True, False]),
    }


def _assert_same_fit(formula, data, family, group="gid", member="pid", **kw):
    original = copy.deepcopy(data)
    ref_model = mmreg.MMModel(formula, data, family=family, **kw)
    ref = ref_model.fit()
    pd.testing.assert_frame_equal(data, original)  # the user's DataFrame is never modified
    theta = [np.full(len(b.wnames), 0.3) for b in ref_model.design.mm]
    for label, other in _orders(data, group, member).items():
        before = copy.deepcopy(other)
        model = mmreg.MMModel(formula, other, family=family, **kw)
        res = model.fit()
        pd.testing.assert_frame_equal(other, before)
        pd.testing.assert_series_equal(res.params, ref.params, rtol=1e-8, atol=1e-8, obj=label)
        for key, val in _design_arrays(ref_model, theta).items():
            np.testing.assert_array_equal(
                _design_arrays(model, theta)[key], val, err_msg=f"{label}: {key}"
            )


@pytest.mark.skipif(not COALGOV.exists(), reason=f"shared data not found at {COALGOV}")
def test_coalgov_fit_is_independent_of_row_order():
    data = pd.read_csv(COALGOV)
    data["logdur"] = np.log(data["dur_wkb"])
    f = (
        "logdur ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
        "fn = fn(w ~ 1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat))), c = TRUE), RE = TRUE) "
        '+ hm(id = id(cid), type = "RE")'
    )
    _assert_same_fit(f, data, "gaussian", priors=["b.w.1 ~ dnorm(0, 1)"])


def test_simulated_weibull_fit_is_independent_of_row_order():
    data = mmreg.datasets.simulate_coalitions(
        n_groups=100, n_members=50, n_countries=8, family="weibull", weights="estimated", seed=4
    )
    f = (
        "Surv(dur, event) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
        "fn = fn(w ~ 1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat))), c = TRUE), RE = TRUE) "
        '+ hm(id = id(cid), type = "RE")'
    )
    _assert_same_fit(f, data, "weibull", priors={"mm1.w.*": mmreg.priors.Normal(0, 1)})


def test_simulated_random_walk_fit_is_independent_of_row_order():
    data = mmreg.datasets.simulate_coalitions(n_groups=60, n_members=30, n_countries=5, seed=9)
    f = (
        "y ~ 1 + majority + mm(id = id(pid, gid), vars = NULL, fn = fn(w ~ 1/n), RE = TRUE, "
        "ar = TRUE)"
    )
    _assert_same_fit(f, data, "gaussian")


def test_every_random_effect_block_provides_the_declared_interface():
    # mm intercepts, a time-ordered walk in hm, an mm slope and a correlated hm slope: every
    # block of re_blocks has the attributes the latent model and the results read
    from dataclasses import dataclass

    from mmreg.design_reblock import RandomEffectBlock
    from mmreg.design_slopes import SlopeBlockDesign

    df = mmreg.datasets.simulate_coalitions(n_groups=60, n_members=20, n_countries=4, seed=2)
    df = df.assign(year=df["gid"].astype(float))
    formulas = [
        "y ~ 1 + majority + mm(id = id(pid, gid), fn = fn(w ~ 1/n, c = TRUE), RE = re(1 + "
        "finance)) + hm(id = id(cid), RE = re(1 + majority, cor = TRUE))",
        "y ~ 1 + majority + mm(id = id(pid, gid), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE) + "
        "hm(id = id(cid), RE = re(1, ar = year))",
    ]
    kinds = set()
    for f in formulas:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mmreg.MMWarning)
            blocks = mmreg.MMModel(f, df).design.re_blocks
        for b in blocks:
            assert isinstance(b, RandomEffectBlock), type(b)
            kinds.add(type(b).__name__)
        walk = [b.label for b in blocks if b.re_prev is not None]
        assert walk == (["hm1"] if "ar = year" in f else [])
    assert kinds == {"MMBlockDesign", "HMBlockDesign", "SlopeBlockDesign"}
    assert all(b.re_step is None for b in blocks if isinstance(b, SlopeBlockDesign))

    @dataclass(frozen=True)
    class NoWalk:  # a new kind of block that forgot re_prev / re_step
        label: str = "x"
        re_state: None = None
        re_labels: tuple = ()
        id_column: str = "x"

    assert not isinstance(NoWalk(), RandomEffectBlock)
