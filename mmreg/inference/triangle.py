"""H_rr's data in two layouts: every slot of its CSC pattern, or the lower triangle only.

CHOLMOD reads only the lower triangle of a symmetric matrix, so a factorisation by CHOLMOD
needs only those entries: coalgov's random walk has 8,860 of its 15,614 there.  Where H_rr
is formed from cached products at every evaluation (a Gaussian model with a fixed design,
:meth:`~mmreg.inference.latent.LatentModel.factor`), forming only the lower triangle
halves the arithmetic and the memory it passes through (coalgov gaus_ar: the data of H_rr
in 26 instead of 50 µs).  :class:`TrianglePlan` maps between the layouts and adds the
prior precision's entries in either, with the numbers of
:meth:`~mmreg.inference.pattern.SparsePattern.fill` bit for bit.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["TrianglePlan"]


class TrianglePlan:
    """The lower triangle of a symmetric CSC pattern and its prior-precision entries.

    Parameters
    ----------
    indices, indptr : ndarray
        The pattern (CSC, both triangles, sorted rows within each column).
    cols : ndarray
        Column of every slot.
    slot_q, qval, qblock : ndarray
        Slot, value and block of every prior-precision entry.
    """

    def __init__(self, indices, indptr, cols, slot_q, qval, qblock):
        q = len(indptr) - 1
        rows = indices.astype(np.int64)
        lower = rows >= cols
        #: slots on or below the diagonal, in storage order
        self.slots = np.flatnonzero(lower)
        kept = np.concatenate([[0], np.cumsum(lower)])
        #: the lower triangle's CSC template (data filled per factorisation)
        self.template = sp.csc_matrix(
            (np.zeros(len(self.slots)), indices[lower], kept[indptr].astype(np.int32)),
            shape=(q, q),
        )
        # every slot's entry in the lower triangle: its own, or its mirror's
        keys = cols * q + rows  # ascending (CSC order)
        mirror = np.searchsorted(keys, rows * q + cols)
        self._from_lower = np.cumsum(lower)[np.where(lower, np.arange(len(rows)), mirror)] - 1
        nparts = int(qblock.max()) + 1 if len(qblock) else 0
        #: one prior entry per slot: the prior part is a sparse product added to the data
        #: (0 + t is t, so each slot gets the number ``bincount`` gives); else ``bincount``
        self.one_per_slot = np.unique(slot_q).size == slot_q.size
        self._nnz = len(rows)
        self._q = (slot_q, qval, qblock)
        self._prior = self._lower_prior = None
        if self.one_per_slot:
            shape = (self._nnz, nparts)
            self._prior = sp.csr_matrix((qval, (slot_q, qblock)), shape=shape)
            pos = np.full(self._nnz, -1)
            pos[self.slots] = np.arange(len(self.slots))
            low = pos[slot_q] >= 0
            self._lower_prior = sp.csr_matrix(
                (qval[low], (pos[slot_q][low], qblock[low])), shape=(len(self.slots), nparts)
            )

    def lower(self, data: np.ndarray) -> np.ndarray:
        """The lower triangle's entries of full-layout ``data``."""
        return data[self.slots]

    def full(self, data: np.ndarray) -> np.ndarray:
        """Full-layout data of the symmetric matrix whose lower triangle is ``data``."""
        return data[self._from_lower]

    def add_prior(self, data: np.ndarray, prec: np.ndarray, lower: bool = False) -> np.ndarray:
        """``data`` (changed in place; the lower triangle's entries with ``lower``) plus the
        prior precision's entries for the block multipliers ``prec``.  Rows of a 2-D
        ``data`` (B × entries) take the rows of ``prec`` (B × parts), each the numbers of
        its own call."""
        if data.ndim == 2:
            if self.one_per_slot:  # at most one term per row of the product: same numbers
                data += ((self._lower_prior if lower else self._prior) @ prec.T).T
            else:
                for row, p in zip(data, prec, strict=True):
                    self.add_prior(row, p, lower)
            return data
        if self.one_per_slot:
            data += (self._lower_prior if lower else self._prior) @ prec
            return data
        slot_q, qval, qblock = self._q
        part = np.bincount(slot_q, qval * prec[qblock], minlength=self._nnz)
        data += self.lower(part) if lower else part
        return data
