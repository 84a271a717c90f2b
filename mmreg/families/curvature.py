"""The structured negative Hessian of a family's log-likelihood in ``eta``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mmreg.errors import MMSpecError

__all__ = ["Curvature"]


@dataclass(frozen=True)
class Curvature:
    """Negative Hessian of a log-likelihood in ``eta``: ``diag(d) - U diag(c) U'``.

    Attributes
    ----------
    d : numpy.ndarray
        Diagonal part, shape ``(n,)``.
    U : numpy.ndarray or scipy.sparse matrix or None
        Low-rank factor, shape ``(n, k)`` (``None`` when the curvature is diagonal).
    c : numpy.ndarray or None
        Weights of the columns of ``U``, shape ``(k,)``.  They may be negative (the exact
        conditional logit with several chosen alternatives uses signed eigenvalues).
    """

    d: np.ndarray
    U: np.ndarray | sp.spmatrix | None = None
    c: np.ndarray | None = None

    def __post_init__(self) -> None:
        if (self.U is None) != (self.c is None):
            raise MMSpecError("Curvature needs both U and c, or neither.")

    @property
    def n(self) -> int:
        """Dimension of ``eta``."""
        return int(self.d.shape[0])

    def dense(self) -> np.ndarray:
        """Return the full ``(n, n)`` matrix ``diag(d) - U diag(c) U'`` (small n only).

        Returns
        -------
        numpy.ndarray
        """
        out = np.diag(np.asarray(self.d, dtype=float))
        if self.U is not None:
            U = self.U
            U = U.toarray() if sp.issparse(U) else np.asarray(U)  # type: ignore[union-attr]
            out -= (U * self.c) @ U.T
        return out

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """Multiply the negative Hessian by a vector or a dense ``(n, m)`` matrix.

        Parameters
        ----------
        v : numpy.ndarray
            Shape ``(n,)`` or ``(n, m)``.

        Returns
        -------
        numpy.ndarray
            Same shape as ``v``.
        """
        v = np.asarray(v, dtype=float)
        dv = self.d * v if v.ndim == 1 else self.d[:, None] * v
        if self.U is None:
            return dv
        assert self.c is not None  # U and c are set together (__post_init__)
        utv = self.U.T @ v
        scaled = self.c * utv if utv.ndim == 1 else self.c[:, None] * utv
        return dv - self.U @ scaled

    def congruence(self, A: np.ndarray | sp.spmatrix) -> np.ndarray | sp.spmatrix:
        """Return ``A' (diag(d) - U diag(c) U') A`` for a design matrix ``A`` of shape ``(n, p)``.

        Parameters
        ----------
        A : numpy.ndarray or scipy.sparse matrix

        Returns
        -------
        numpy.ndarray or scipy.sparse.csc_matrix
            Dense when ``A`` is dense, sparse (CSC) when ``A`` is sparse.
        """
        if sp.issparse(A):
            A = sp.csc_matrix(A)
            out = A.T @ sp.diags(self.d) @ A
            if self.U is not None:
                AU = sp.csc_matrix(A.T @ sp.csc_matrix(self.U))
                out = out - AU @ sp.diags(self.c) @ AU.T
            return sp.csc_matrix(out)
        A = np.asarray(A, dtype=float)
        out = A.T @ (self.d[:, None] * A)
        if self.U is not None:
            AU = np.asarray(self.U.T @ A).T if sp.issparse(self.U) else A.T @ self.U
            out -= (AU * self.c) @ AU.T
        return out
