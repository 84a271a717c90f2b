"""Prior structure of random-walk random effects (``ar = TRUE``, ``re(1, ar = <column>)``).

A block of walk states ``u`` with unit SD has ``u_first ~ N(0, 1)`` and
``u_t − u_prev(t) ~ N(0, step_t)``: the precision is ``K = Dᵀ diag(1/step) D`` with ``D`` the
difference operator (one row per state: ``e_t`` for a first state, ``e_t − e_prev`` after),
and ``Q_b = K / σ²``.  ``D`` is unit triangular in time order, so ``log det K = −Σ log
step_t``: 0 for bml's unit steps, and a constant (in σ) that belongs to the exact log
marginal for time-scaled steps (:mod:`mmreg.design_walk`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["rw_logdet", "rw_precision"]


def rw_precision(prev: np.ndarray, step: np.ndarray | None = None) -> sp.csr_matrix:
    """Precision K (σ = 1) of a random walk.

    Parameters
    ----------
    prev : numpy.ndarray
        Previous state of every state (-1 for a unit's first state).
    step : numpy.ndarray, optional
        Variance of every state's step (1 for first states); ``None``: unit steps.

    Returns
    -------
    scipy.sparse.csr_matrix
    """
    m = len(prev)
    has = prev >= 0
    rows = np.concatenate([np.arange(m), np.flatnonzero(has)])
    cols = np.concatenate([np.arange(m), prev[has]])
    vals = np.concatenate([np.ones(m), -np.ones(int(has.sum()))])
    diff = sp.csr_matrix((vals, (rows, cols)), shape=(m, m))
    if step is None:
        return (diff.T @ diff).tocsr()
    return (diff.T @ sp.diags(1.0 / np.asarray(step, float)) @ diff).tocsr()


def rw_logdet(prev: np.ndarray | None, step: np.ndarray | None) -> float:
    """log det K of a block's unit-SD structure: 0 for iid effects (``prev`` None) and unit
    steps, −Σ log step for time-scaled steps (first states have step 1)."""
    return 0.0 if prev is None or step is None else -float(np.sum(np.log(step)))
