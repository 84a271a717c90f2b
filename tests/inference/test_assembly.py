"""Design assembly on a fixed sparse pattern (mmreg.inference.assembly).

Reference: SciPy's own constructor and transpose on the same arrays.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import mmreg
from mmreg.inference.assembly import with_data


def test_with_data_equals_scipys_constructor():
    rng = np.random.default_rng(3)
    M = sp.random(40, 25, density=0.2, format="csr", random_state=4)
    before = M.data.copy()
    vals = rng.standard_normal(M.nnz)
    ref = sp.csr_matrix((vals, M.indices, M.indptr), shape=M.shape)
    out = with_data(M, vals)
    assert type(out) is type(ref) and out.shape == ref.shape and out.nnz == ref.nnz
    assert abs(out - ref).max() == 0
    x = rng.standard_normal(25)
    np.testing.assert_array_equal(out @ x, ref @ x)
    # the template keeps its own values
    assert not np.shares_memory(out.data, M.data)
    np.testing.assert_array_equal(M.data, before)
    # a CSC template (the transpose of the RE design)
    T = M.T
    outT = with_data(T, vals)
    y = rng.standard_normal(40)
    np.testing.assert_array_equal(outT @ y, ref.T @ y)


def test_estimated_weight_transpose_is_the_design_transpose():
    """R(θ)ᵀ from the cached pattern equals SciPy's transpose of R(θ) at two θ."""
    df = mmreg.datasets.simulate_coalitions(
        n_groups=80, n_members=30, n_countries=5, family="gaussian", weights="estimated", seed=1
    )
    model = mmreg.MMModel(df.attrs["formula"], df)
    lat = model.latent
    for shift in (0.0, 0.7):
        theta = tuple(np.full(len(b.wnames), shift) for b in lat.design.mm)
        _, R, _ = lat.assemble(theta)
        np.testing.assert_array_equal(lat.transpose(R).toarray(), R.toarray().T)
