"""Factorisations of H = Aᵀ C A + Q (mmreg.inference.linalg, pattern, rrfactors, cholmod)
against dense numpy algebra.

Reference: the dense matrix H built from the design and the prior precision, inverted and
factored with numpy (LAPACK); agreement to rounding error.
"""

from __future__ import annotations

import numpy as np
import pytest

import mmreg
import mmreg.inference.linalg as la
import mmreg.inference.rrfactors as rrf
from mmreg.families.base import Curvature
from mmreg.inference import cholmod


def _setup(n_groups: int, ar: bool, n_countries: int = 8):
    df = mmreg.datasets.simulate_coalitions(
        n_groups=n_groups,
        n_members=n_groups // 3,
        n_countries=n_countries,
        family="weibull",
        seed=3,
    )
    f = df.attrs["formula"]
    if ar:
        f = f.replace("RE = TRUE)", "RE = TRUE, ar = TRUE)")
    model = mmreg.MMModel(f, df, family="weibull")
    lat = model.latent
    D, R, _ = lat.assemble(model.space.hyper(np.zeros(model.space.dim)).theta)
    d = np.random.default_rng(0).uniform(0.2, 2.0, lat.n)  # a non-constant curvature
    sd = np.linspace(0.5, 1.5, len(lat.re_sizes))
    fac = lat.factor(D, R, Curvature(d=d), sd)
    A = np.hstack([D, R.toarray()])
    H = A.T @ (d[:, None] * A) + lat.prior_precision(sd)
    return fac, H


_needs_cholmod = pytest.mark.skipif(
    not cholmod.available(), reason="scikit-sparse (CHOLMOD) not installed"
)


_FORCE = {  # class attributes of SparsePattern that make it choose a factorisation
    "dense": {"DENSE_FLOP_RATIO": np.inf},
    "band": {"DENSE_FLOP_RATIO": 0.0, "BAND_RATIO": np.inf},
    "superlu": {"DENSE_FLOP_RATIO": 0.0, "BAND_RATIO": 0.0},
    "cholmod": {"use_cholmod": True, "CHOLMOD_MIN_Q": 0},
    # with the extra installed: CHOLMOD's simplicial factor, whatever the cost rules say
    "simplicial": {"use_cholmod": True},
}


@pytest.mark.parametrize(
    ("n_groups", "ar", "kind", "cls"),
    [
        (3000, False, "dense", rrf.BlockRR),  # 959 parties nested in countries: dense blocks
        (3000, False, "band", rrf.ReorderedRR),  # the same as a band (blocks for H_rr⁻¹)
        (300, True, "dense", rrf.BlockRR),  # random walks over 992 states: a block per country
        (300, True, "superlu", rrf.ReorderedRR),  # the same by SuperLU (the default)
        (900, False, "superlu", rrf.SuperLURR),  # 291 random effects: sparse LDLᵀ (SuperLU)
        (900, False, "band", rrf.ReorderedRR),  # the same as a band (the default)
        pytest.param(900, False, "cholmod", cholmod.CholmodRR, marks=_needs_cholmod),
        # random walks by CHOLMOD's simplicial factor, the blocks only for H_rr⁻¹
        pytest.param(300, True, "simplicial", rrf.ReorderedRR, marks=_needs_cholmod),
        pytest.param(3000, False, "simplicial", rrf.ReorderedRR, marks=_needs_cholmod),
        pytest.param(900, False, "simplicial", cholmod.CholmodRR, marks=_needs_cholmod),
    ],
)
@pytest.mark.parametrize("batched", [True, False])
def test_schur_factor_matches_dense_algebra(n_groups, ar, kind, cls, batched, monkeypatch):
    monkeypatch.setattr(rrf, "_BATCHED_TRSM", batched and rrf._BATCHED_TRSM)
    monkeypatch.setattr(la.SparsePattern, "use_cholmod", False)
    for attr, value in _FORCE[kind].items():
        monkeypatch.setattr(la.SparsePattern, attr, value)
    fac, H = _setup(n_groups, ar)
    assert isinstance(fac, la.SchurFactor) and isinstance(fac.rr, cls)
    simplicial = kind == "simplicial"
    assert fac.pattern.kind == ("cholmod" if simplicial else kind)
    assert fac.pattern.supernodal == (kind == "cholmod")
    Hinv = np.linalg.inv(H)
    sign, logdet = np.linalg.slogdet(H)
    assert sign > 0 and fac.logdet == pytest.approx(logdet, rel=1e-10)
    g = np.random.default_rng(1).normal(size=(len(H), 3))
    np.testing.assert_allclose(fac.solve(g), Hinv @ g, rtol=1e-8, atol=1e-10)
    # sample maps standard normals to covariance H⁻¹: with eps = I, X Xᵀ = H⁻¹ exactly
    X = fac.sample(np.eye(len(H)))
    np.testing.assert_allclose(X @ X.T, Hinv, rtol=1e-7, atol=1e-10)
    # sample_t is the transpose of that map (the latent sampler's gradients use it)
    np.testing.assert_allclose(fac.sample_t(np.eye(len(H))), X.T, rtol=1e-8, atol=1e-12)
    Sinv, diag = fac.inverse_parts(fac.P)
    np.testing.assert_allclose(diag, np.diag(Hinv), rtol=1e-8)
    np.testing.assert_allclose(Sinv, Hinv[: fac.P, : fac.P], rtol=1e-8)
    np.testing.assert_allclose(fac.coef_block(fac.P), Hinv[: fac.P, : fac.P], rtol=1e-8)
    # random effects in any order: the last block (countries: one per component of H_rr
    # without random walks) and effects sharing components with them
    q_last = 8
    idx = np.r_[np.arange(len(H) - q_last, len(H)), fac.P + np.array([0, 5, 2])]
    for chunk in (32, 2):  # one batch of solves, or several
        np.testing.assert_allclose(
            fac.inverse_block(idx, chunk=chunk), Hinv[np.ix_(idx, idx)], rtol=1e-8, atol=1e-12
        )
    comps = fac.pattern.comp[idx - fac.P]
    assert fac.block_solves(idx) == max(np.bincount(comps))


@pytest.mark.parametrize(
    ("n_groups", "ar", "countries", "kind"),
    [
        (3000, False, 8, "dense"),
        (300, True, 8, "superlu"),
        (900, False, 8, "superlu"),
        (900, False, 29, "band"),
    ],
)
def test_factor_choice_follows_the_cost_rules(n_groups, ar, countries, kind, monkeypatch):
    """Dense blocks factor H_rr only where their cost is within DENSE_FLOP_RATIO of the
    sparse factor's flops: parties nested in countries (components that fill in) keep dense
    blocks; random walks (long components, one per country) go to SuperLU, which builds
    the blocks only for H_rr⁻¹ on the pattern (the same numbers as the dense factor's); a
    few hundred effects with a narrow band in RCM order (parties of 29 countries; not of 8,
    whose band is wider) go to LAPACK's banded Cholesky."""
    monkeypatch.setattr(la.SparsePattern, "use_cholmod", False)
    fac, _ = _setup(n_groups, ar, countries)
    assert fac.pattern.kind == kind
    if kind == "superlu" and fac.pattern.blocks:
        blocks = fac.rr.blocks()
        assert isinstance(blocks, rrf.BlockRR)
        assert blocks.logdet == pytest.approx(fac.rr.logdet, rel=1e-11)
        np.testing.assert_allclose(
            fac.rr.pattern_inverse(fac.pattern), blocks.pattern_inverse(fac.pattern)
        )
    if kind == "band":
        assert fac.pattern.band_plan.bandwidth < 40 and not fac.rr.has_pattern_inverse


@_needs_cholmod
@pytest.mark.parametrize(
    ("n_groups", "ar", "countries", "without"),
    [(300, True, 8, "superlu"), (3000, False, 8, "dense"), (900, False, 29, "band")],
)
def test_cholmod_replaces_the_other_factors_where_installed(
    n_groups, ar, countries, without, monkeypatch
):
    """With scikit-sparse installed, every H_rr below CHOLMOD_MIN_Q states is factored by
    CHOLMOD's simplicial LDLᵀ, whatever the cost rules would give it without (``without``:
    SuperLU, dense blocks, a band); where H_rr is block-diagonal the dense blocks still
    give H_rr⁻¹ on the pattern, and the log-determinants agree."""
    fac, H = _setup(n_groups, ar, countries)
    pat = fac.pattern
    assert pat.kind == "cholmod" and not pat.supernodal and pat.uses_cholmod
    inner = fac.rr.inner if pat.blocks else fac.rr
    assert isinstance(inner, cholmod.CholmodRR) and fac.rr.has_pattern_inverse == pat.blocks
    if pat.blocks:
        blocks = fac.rr.blocks()
        assert blocks.logdet == pytest.approx(fac.rr.logdet, rel=1e-11)
    assert fac.logdet == pytest.approx(np.linalg.slogdet(H)[1], rel=1e-10)
    monkeypatch.setattr(la.SparsePattern, "use_cholmod", False)
    assert _setup(n_groups, ar, countries)[0].pattern.kind == without


def test_band_plan_of_a_shuffled_path():
    """RCM recovers the band of a path (tridiagonal in some order) given in random order,
    and the banded factor's logdet and solves equal numpy's."""
    import scipy.sparse as sp

    from mmreg.inference.banded import BandPlan

    n = 40
    rng = np.random.default_rng(2)
    A = np.diag(np.full(n, 3.0)) - np.eye(n, k=1) - np.eye(n, k=-1)
    shuffle = rng.permutation(n)
    A = A[np.ix_(shuffle, shuffle)]
    C = sp.csc_matrix(A)
    plan = BandPlan(C.indices, C.indptr, n)
    assert plan.bandwidth == 1 and plan.flops == n * 4
    f = plan.factor(C.data)
    Ab = A[np.ix_(plan.order, plan.order)]
    assert f.logdet == pytest.approx(np.linalg.slogdet(Ab)[1], rel=1e-12)
    b = rng.normal(size=(n, 2))
    np.testing.assert_allclose(f.solve(b), np.linalg.solve(Ab, b), rtol=1e-10)
    X = f.sample(np.eye(n))
    np.testing.assert_allclose(X @ X.T, np.linalg.inv(Ab), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(f.sample_t(np.eye(n)), X.T, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(f.diag_inv(), np.diag(np.linalg.inv(Ab)), rtol=1e-10)


def test_flop_counts_of_known_patterns():
    """Σ (column counts of L)²: a path (tridiagonal, no fill in a minimum-degree order) and a
    dense block (columns of 10, 9, …, 1 entries); dense blocks padded to the bucket grid."""
    import scipy.sparse as sp

    from mmreg.inference import pattern as pt

    n = 50
    path = sp.diags([np.ones(n - 1), np.ones(n), np.ones(n - 1)], [-1, 0, 1], format="csc")
    perm, flops = pt._sparse_order(path)
    assert sorted(perm) == list(range(n)) and flops == 4 * (n - 1) + 1
    assert pt._sparse_order(sp.csc_matrix(np.ones((10, 10))))[1] == sum(k * k for k in range(11))
    # sizes 1 and 10 → capacities 1 and 12 (1.25¹¹ = 11.6 rounded up)
    assert pt._dense_flops(np.array([1, 10])) == pytest.approx((1 + 12**3) / 3)


@_needs_cholmod
def test_cholmod_pattern_survives_pickling(monkeypatch):
    """Process pools pickle the model: the CHOLMOD symbolic factor is rebuilt after it."""
    import pickle

    monkeypatch.setattr(la.SparsePattern, "use_cholmod", True)
    monkeypatch.setattr(la.SparsePattern, "CHOLMOD_MIN_Q", 0)
    fac, H = _setup(900, False)
    assert isinstance(fac.rr, cholmod.CholmodRR)
    pat = fac.pattern
    assert pat._symbolic is not None
    copy = pickle.loads(pickle.dumps(pat))
    assert copy._symbolic is None
    # H_rr's values at the pattern's slots (its permuted CSC layout), from the dense H
    Hrr = H[fac.P :, fac.P :][np.ix_(pat.perm, pat.perm)]
    data = Hrr[pat.indices, np.repeat(np.arange(pat.q), np.diff(pat.indptr))]
    again = copy.factor_rr(data)
    assert again.logdet == pytest.approx(pat.factor_rr(data).logdet, rel=1e-12)
    assert again.logdet == pytest.approx(np.linalg.slogdet(Hrr)[1], rel=1e-10)


@pytest.mark.parametrize("use_cholmod", [pytest.param(True, marks=_needs_cholmod), False])
@pytest.mark.parametrize("ar", [False, True])
def test_factor_rr_in_threads_factors_each_threads_own_matrix(use_cholmod, ar, monkeypatch):
    """Evaluations in a thread pool (``pool=``) factor H_rr concurrently from one pattern:
    each call must factor its own values.  Setting the pattern's own matrix's values before
    factoring it let a thread factor another's (4 of 480 log-determinants wrong with a
    1 µs switch interval)."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(la.SparsePattern, "use_cholmod", use_cholmod)
    df = mmreg.datasets.simulate_coalitions(n_groups=300, n_members=100, n_countries=8, seed=3)
    f = df.attrs["formula"]
    model = mmreg.MMModel(f.replace("RE = TRUE)", "RE = TRUE, ar = TRUE)") if ar else f, df)
    lat, pat = model.latent, model.latent.pattern
    assert pat.kind in (("cholmod",) if use_cholmod else ("superlu", "band", "dense"))
    _, R, _ = lat.assemble(model.space.hyper(np.zeros(model.space.dim)).theta)
    prec = np.ones(int(pat.qblock.max()) + 1)
    datas = [pat.fill(R.data, np.full(lat.n, s), prec) for s in np.linspace(0.5, 3.0, 16)]
    serial = [pat.factor_rr(d).logdet for d in datas]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(8) as ex:
            for _ in range(20):
                assert list(ex.map(lambda d: pat.factor_rr(d).logdet, datas)) == serial
    finally:
        sys.setswitchinterval(old)


_SPAWN_SCRIPT = """
import numpy as np, mmreg
import mmreg.inference.linalg as la
la.SparsePattern.CHOLMOD_MIN_Q = 0
df = mmreg.datasets.simulate_coalitions(n_groups=628, n_members=314, n_countries=29, seed=3)
model = mmreg.MMModel(df.attrs["formula"], df)
assert model.latent.pattern.uses_cholmod
kw = dict(draws=64, tune=20, chains=2, seed=5)
a = model.fit(method="mcmc", cores=2, **kw).raw.u
b = model.fit(method="mcmc", cores=1, **kw).raw.u
print("same", bool(np.array_equal(a, b)))
"""


@_needs_cholmod
@pytest.mark.slow
def test_chains_in_processes_with_cholmod_finish_and_equal_the_serial_run():
    """A forked child hung in CHOLMOD once the parent had used it (this model, with fork:
    no result in 60 s); such runs spawn their worker processes instead."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _SPAWN_SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "same True"


_FORK_SCRIPT = """
import numpy as np, mmreg
df = mmreg.datasets.simulate_coalitions(n_groups=628, n_members=314, n_countries=29, seed=3)
f = df.attrs["formula"].replace("RE = TRUE)", "RE = TRUE, ar = TRUE)")
model = mmreg.MMModel(f, df)
pat = model.latent.pattern
assert pat.uses_cholmod and not pat.supernodal
kw = dict(draws=64, tune=20, chains=2, seed=5, progress=False)
a = model.fit(method="mcmc", cores=2, **kw).raw.u
b = model.fit(method="mcmc", cores=1, **kw).raw.u
print("same", bool(np.array_equal(a, b)))
"""


@_needs_cholmod
def test_chains_fork_with_the_simplicial_cholmod_factor(tmp_path):
    """CHOLMOD's simplicial factor calls no BLAS: its models fork their worker processes
    after the parent has factored with it (Laplace), and finish with the serial run's
    draws.  The script has no ``if __name__ == "__main__"`` guard, which only forked
    workers allow (spawned ones would import it again and stop)."""
    import subprocess
    import sys

    script = tmp_path / "plain_script.py"
    script.write_text(_FORK_SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "same True"


@_needs_cholmod
def test_cholmod_uses_every_core_in_the_main_process_and_one_in_workers(monkeypatch):
    # large supernodes gain from BLAS threads (model.fit limits the rest to one); worker
    # processes run chains or walkers in parallel already, so one thread there
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    assert cholmod.blas_threads() == os.cpu_count()
    with cholmod._blas_threads():
        used = {i["num_threads"] for i in cholmod._controller().info() if i["user_api"] == "blas"}
    assert used == {os.cpu_count()}
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as ex:
        assert ex.submit(cholmod.blas_threads).result() == 1
    monkeypatch.setattr(cholmod, "threads", 3)
    assert cholmod.blas_threads() == 3
