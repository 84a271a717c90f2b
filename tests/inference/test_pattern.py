"""The value-filling plan of H_rr (mmreg.inference.pattern.SparsePattern.fill).

Reference: H_rr = Rᵀ diag(d) R + Q_r built densely with numpy from the model's design and
prior precision (agreement to rounding), and the sum over both triangles' products that
``fill`` computed before it mirrored the upper triangle (agreement bit for bit).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import mmreg


def _both_triangles(pat, Rdata, d, prec):
    vals = Rdata[pat.p1] * Rdata[pat.p2] * d[pat.rows]
    data = np.bincount(pat.slot_pairs, vals, minlength=pat.nnz)
    data += np.bincount(pat.slot_q, pat.qval * prec[pat.qblock], minlength=pat.nnz)
    return data


def _walk_pattern(cholmod_only: bool = False):
    """H_rr's pattern of simulated coalitions (400 groups) with members as random walks;
    ``cholmod_only``: skip where CHOLMOD is not installed."""
    if cholmod_only:
        from mmreg.inference import cholmod

        if not cholmod.available():
            pytest.skip("scikit-sparse (CHOLMOD) not installed")
    df = mmreg.datasets.simulate_coalitions(n_groups=400, n_members=120, n_countries=8, seed=4)
    f = df.attrs["formula"].replace("RE = TRUE)", "RE = TRUE, ar = TRUE)")
    return mmreg.MMModel(f, df).latent.pattern


@pytest.mark.parametrize("formula", [None, "walk and slope"])
def test_fill_equals_dense_algebra_and_the_two_triangle_sum(formula):
    df = mmreg.datasets.simulate_coalitions(n_groups=400, n_members=120, n_countries=8, seed=4)
    f = df.attrs["formula"]
    if formula:  # a random walk of the members and a correlated country slope
        f = f.replace("RE = TRUE)", "RE = TRUE, ar = TRUE)")
        f = f.replace('type = "RE")', "RE = re(1 + majority, cor = TRUE))")
        assert "ar = TRUE" in f and "cor = TRUE" in f
    model = mmreg.MMModel(f, df)
    lat, pat = model.latent, model.latent.pattern
    _, R0, _ = lat.assemble(model.space.hyper(np.zeros(model.space.dim)).theta)
    rng = np.random.default_rng(0)
    Rdata = rng.normal(size=R0.nnz)
    d = rng.uniform(0.1, 3.0, lat.n)
    prec = rng.uniform(0.5, 2.0, int(pat.qblock.max()) + 1)
    data = pat.fill(Rdata, d, prec)
    np.testing.assert_array_equal(data, _both_triangles(pat, Rdata, d, prec))
    # dense: Rᵀ diag(d) R in the pattern's (permuted) order, plus the prior part
    R = sp.csr_matrix((Rdata, R0.indices, R0.indptr), shape=R0.shape).toarray()
    RtdR = (R.T * d) @ R
    H = sp.csc_matrix((data, pat.indices, pat.indptr), shape=(pat.q, pat.q)).toarray()
    prior = sp.csc_matrix(
        (
            np.bincount(pat.slot_q, pat.qval * prec[pat.qblock], minlength=pat.nnz),
            pat.indices,
            pat.indptr,
        ),
        shape=(pat.q, pat.q),
    ).toarray()
    np.testing.assert_allclose(H - prior, RtdR[np.ix_(pat.perm, pat.perm)], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(H, H.T)


@pytest.mark.parametrize("formula", [None, "walk and slope"])
@pytest.mark.parametrize("in_place", [True, False])
def test_prior_entries_are_added_as_fill_adds_them_bit_for_bit(formula, in_place, monkeypatch):
    """H_rr's data from cached products (the Gaussian path): ``add_prior`` adds the prior
    entries in place where each slot takes one, else by ``bincount`` as ``fill`` does; both
    give the numbers of ``base + bincount`` exactly."""
    df = mmreg.datasets.simulate_coalitions(n_groups=400, n_members=120, n_countries=8, seed=4)
    f = df.attrs["formula"]
    if formula:
        f = f.replace("RE = TRUE)", "RE = TRUE, ar = TRUE)")
        f = f.replace('type = "RE")', "RE = re(1 + majority, cor = TRUE))")
    pat = mmreg.MMModel(f, df).latent.pattern
    tri = pat.triangle
    assert tri.one_per_slot  # the random walk's and the slope's entries: one per slot
    monkeypatch.setattr(tri, "one_per_slot", in_place)
    rng = np.random.default_rng(1)
    base = rng.normal(size=pat.nnz)
    prec = rng.uniform(0.5, 2.0, int(pat.qblock.max()) + 1)
    want = base + np.bincount(pat.slot_q, pat.qval * prec[pat.qblock], minlength=pat.nnz)
    np.testing.assert_array_equal(tri.add_prior(base.copy(), prec), want)
    # the lower triangle alone: the same numbers on its slots
    got = tri.add_prior(tri.lower(base), prec, lower=True)
    np.testing.assert_array_equal(got, tri.lower(want))


@pytest.mark.parametrize("in_place", [True, False])
def test_prior_entries_of_many_points_are_each_points_own(in_place, monkeypatch):
    """``add_prior`` on rows (a batch of points, GaussianSums.modes): row b gets the
    numbers of the single call with prec[b], in both layouts and both branches."""
    pat = _walk_pattern()
    tri = pat.triangle
    monkeypatch.setattr(tri, "one_per_slot", in_place)
    rng = np.random.default_rng(6)
    base = rng.normal(size=(5, len(tri.slots)))
    prec = rng.uniform(0.5, 2.0, (5, int(pat.qblock.max()) + 1))
    got = tri.add_prior(base.copy(), prec, lower=True)
    for b in range(5):
        np.testing.assert_array_equal(got[b], tri.add_prior(base[b].copy(), prec[b], lower=True))


def test_scratch_slots_hold_one_factor_each():
    """Factors in different scratch slots (a batch factored before it is used,
    SparsePattern.ahead) coexist, each its own matrix's; a slot's next factorisation
    replaces only that slot's."""
    pat = _walk_pattern(cholmod_only=True)
    cols = np.repeat(np.arange(pat.q), np.diff(pat.indptr))
    rng = np.random.default_rng(4)
    full = sp.csc_matrix((rng.normal(size=pat.nnz), pat.indices, pat.indptr), shape=(pat.q,) * 2)
    S = (full + full.T).toarray()

    def data(shift: float) -> np.ndarray:
        return (S + shift * np.eye(pat.q))[pat.indices, cols]

    facs = [pat.factor_rr(data(40.0 + 10 * k), scratch=True, slot=k) for k in range(3)]
    b = rng.normal(size=pat.q)
    for k, fac in enumerate(facs):
        H = S + (40.0 + 10 * k) * np.eye(pat.q)
        assert fac.logdet == pytest.approx(np.linalg.slogdet(H)[1], rel=1e-12)
        np.testing.assert_allclose(fac.solve(b), np.linalg.solve(H, b), rtol=1e-9)
    pat.factor_rr(data(100.0), scratch=True, slot=1)
    want0 = np.linalg.solve(S + 40.0 * np.eye(pat.q), b)
    np.testing.assert_allclose(facs[0].solve(b), want0, rtol=1e-9)  # slot 0: untouched
    want1 = np.linalg.solve(S + 100.0 * np.eye(pat.q), b)
    np.testing.assert_allclose(facs[1].solve(b), want1, rtol=1e-9)  # slot 1: refactored
    most = pat.AHEAD_MAX // pat.q  # points whose factors are held at once
    assert pat.ahead(most) and not pat.ahead(most + 1)


def test_cholmod_is_given_the_lower_triangle_of_h_rr():
    """CHOLMOD reads only the lower triangle: the template it gets holds exactly the
    entries on and below the diagonal, and its factor is that of the full matrix (dense
    log-determinant and solve)."""
    pat = _walk_pattern(cholmod_only=True)
    assert pat.kind == "cholmod"
    rng = np.random.default_rng(2)
    # a symmetric positive definite matrix on the pattern
    full = sp.csc_matrix((rng.normal(size=pat.nnz), pat.indices, pat.indptr), shape=(pat.q,) * 2)
    H = (full + full.T).toarray() + 50.0 * np.eye(pat.q)
    cols = np.repeat(np.arange(pat.q), np.diff(pat.indptr))
    data = H[pat.indices, cols]
    tri = pat.triangle
    low = tri.template.copy()
    low.data = tri.lower(data)
    np.testing.assert_array_equal(low.toarray(), np.tril(H))
    np.testing.assert_array_equal(tri.full(tri.lower(data)), data)  # the mirror map
    b = rng.normal(size=pat.q)
    for rr in (pat.factor_rr(data), pat.factor_rr(tri.lower(data), lower=True)):
        assert rr.logdet == pytest.approx(np.linalg.slogdet(H)[1], rel=1e-12)
        np.testing.assert_allclose(rr.solve(b), np.linalg.solve(H, b), rtol=1e-9, atol=1e-12)


def test_scratch_factorisations_refactor_one_factor_per_thread():
    """``scratch=True`` refactors the thread's one CHOLMOD factor in place: each result is
    the factor of its own matrix (dense reference) while it is the latest, also after a
    matrix that is not positive definite; another thread has its own factor."""
    import threading

    pat = _walk_pattern(cholmod_only=True)
    rng = np.random.default_rng(3)
    full = sp.csc_matrix((rng.normal(size=pat.nnz), pat.indices, pat.indptr), shape=(pat.q,) * 2)
    S = (full + full.T).toarray()
    cols = np.repeat(np.arange(pat.q), np.diff(pat.indptr))

    def data(shift: float) -> np.ndarray:
        return (S + shift * np.eye(pat.q))[pat.indices, cols]

    def logdet(shift: float) -> float:
        return np.linalg.slogdet(S + shift * np.eye(pat.q))[1]

    first = pat.factor_rr(data(50.0), scratch=True)
    assert first.logdet == pytest.approx(logdet(50.0), rel=1e-12)
    with pytest.raises(np.linalg.LinAlgError):
        pat.factor_rr(data(-50.0), scratch=True)  # indefinite
    second = pat.factor_rr(data(80.0), scratch=True)
    assert second.logdet == pytest.approx(logdet(80.0), rel=1e-12)
    b = rng.normal(size=pat.q)
    want = np.linalg.solve(S + 80.0 * np.eye(pat.q), b)
    np.testing.assert_allclose(second.solve(b), want, rtol=1e-9)
    np.testing.assert_allclose(first.solve(b), want, rtol=1e-9)  # the same factor, refactored
    fresh = pat.factor_rr(data(50.0))  # without scratch: a factor of its own
    assert second.solve(b) == pytest.approx(want, rel=1e-9)
    assert fresh.logdet == pytest.approx(logdet(50.0), rel=1e-12)
    other: list = []
    t = threading.Thread(target=lambda: other.append(pat.factor_rr(data(120.0), scratch=True)))
    t.start()
    t.join()
    assert other[0].logdet == pytest.approx(logdet(120.0), rel=1e-12)
    np.testing.assert_allclose(second.solve(b), want, rtol=1e-9)  # this thread's: untouched


def test_a_pattern_pickles_with_its_scratch_factor_left_behind():
    """Worker processes get the pattern by pickle: its per-thread scratch factor (not
    picklable) stays behind and the copy makes its own."""
    import pickle

    pat = _walk_pattern(cholmod_only=True)
    cols = np.repeat(np.arange(pat.q), np.diff(pat.indptr))
    H = 10.0 * np.eye(pat.q)
    first = pat.factor_rr(H[pat.indices, cols], scratch=True)
    copy = pickle.loads(pickle.dumps(pat))
    again = copy.factor_rr(2.0 * H[pat.indices, cols], scratch=True)
    assert again.logdet == pytest.approx(pat.q * np.log(20.0), rel=1e-12)
    assert first.logdet == pytest.approx(pat.q * np.log(10.0), rel=1e-12)
    assert first.solve(np.ones(pat.q)) == pytest.approx(np.full(pat.q, 0.1))  # untouched
