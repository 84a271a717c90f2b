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
