"""Optional supernodal Cholesky (CHOLMOD through scikit-sparse) for large sparse H_rr.

When the random-effect precision is one large sparse component — random walks over tens of
thousands of states, members shared across many groups — :class:`~mmreg.inference.pattern.
SparsePattern` factors it with CHOLMOD if ``scikit-sparse`` is installed (the ``cholmod``
extra), and with SciPy's SuperLU otherwise.  The fill-reducing order (METIS where CHOLMOD
has it) and the symbolic factorisation are computed once per pattern; each factorisation
then only does the numeric part, with BLAS on supernodes.

Measured (``benchmarks/README.md``, AR random walks, 30,000 groups, 99,095 states, one
thread, OpenBLAS): one factorisation 8.6 s with SuperLU (nnz(L) 16.6 M), 1.35 s with CHOLMOD
and METIS (12.2 M).  CHOLMOD must be linked against an optimised BLAS: with the reference
BLAS it was slower than SuperLU.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from functools import cache

import numpy as np
import scipy.sparse as sp

from mmreg.inference.rrfactors import diag_by_solves

__all__ = ["available", "symbolic", "CholmodRR", "threads"]

#: BLAS threads of CHOLMOD's factorisations and solves.  ``None``: every core in the main
#: process, one in worker processes (chains or walkers then already run in parallel).  The
#: supernodes of a large factor gain from threads: AR random walks, 30,000 groups, one
#: factorisation 1.1–1.3 s with one thread, 0.64 s with two (2 cores).  ``model.fit`` runs
#: everything else with one BLAS thread (small dense algebra).
threads: int | None = None


@cache
def _sks():
    """scikit-sparse's cholmod module, imported on first use (None if not installed)."""
    try:
        import sksparse.cholmod as mod
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return mod


@cache
def _controller():
    """threadpoolctl's view of the loaded BLAS libraries, taken after CHOLMOD's is loaded."""
    from threadpoolctl import ThreadpoolController

    _sks()
    return ThreadpoolController()


def blas_threads() -> int:
    """BLAS threads CHOLMOD uses in this process (see :data:`threads`)."""
    if threads is not None:
        return int(threads)
    return 1 if multiprocessing.parent_process() is not None else (os.cpu_count() or 1)


def _blas_threads():
    """Context in which CHOLMOD's BLAS runs with :func:`blas_threads` threads."""
    return _controller().limit(limits=blas_threads(), user_api="blas")


def available() -> bool:
    """Whether scikit-sparse (CHOLMOD) can be imported."""
    return _sks() is not None


def symbolic(H: sp.csc_matrix, supernodal: bool = True):
    """Fill-reducing order and symbolic factorisation of the pattern of ``H`` (once).

    ``supernodal``: a supernodal factor in a METIS order (large H, BLAS on the
    supernodes); else a simplicial one in an AMD order (a few thousand states, where the
    supernodal factor's overhead costs more than its BLAS saves).
    """
    mod = _sks()
    if not supernodal:
        return mod.analyze(H, mode="simplicial", ordering_method="amd")
    try:
        return mod.analyze(H, mode="supernodal", ordering_method="metis")
    except mod.CholmodError:  # a CHOLMOD built without METIS
        return mod.analyze(H, mode="supernodal", ordering_method="amd")


class CholmodRR:
    """H_rr = Pᵀ L Lᵀ P by CHOLMOD, reusing the symbolic factorisation ``sym``.

    Same interface as the SuperLU factor (:class:`~mmreg.inference.factors.RRFactor`):
    ``logdet``, ``solve``, ``sample``, ``diag_inv``.
    """

    has_pattern_inverse = False

    def __init__(self, sym, H: sp.csc_matrix, blas: bool = True, into=None):
        """``into``: a numeric factor of ``sym``'s pattern to refactor in place (whose
        earlier values are then gone) instead of a new one."""
        mod = _sks()
        #: whether the factor runs on BLAS (supernodal), so that its calls limit its threads
        self._threads = _blas_threads if blas else contextlib.nullcontext
        try:
            with self._threads():
                if into is None:
                    self.F = sym.cholesky(H)  # a new numeric factor; ``sym`` is left as it was
                else:
                    into.cholesky_inplace(H)
                    self.F = into
        except (mod.CholmodNotPositiveDefiniteError, mod.CholmodError) as exc:
            raise np.linalg.LinAlgError(str(exc)) from None
        self.logdet = float(self.F.logdet())
        if not np.isfinite(self.logdet):
            raise np.linalg.LinAlgError("random-effect precision not positive definite")
        self.q = H.shape[0]

    def solve(self, B: np.ndarray) -> np.ndarray:
        with self._threads():
            return self.F.solve_A(np.asarray(B, dtype=float))

    def sample(self, eps: np.ndarray) -> np.ndarray:
        """Pᵀ L⁻ᵀ ε: covariance Pᵀ L⁻ᵀ L⁻¹ P = H_rr⁻¹."""
        with self._threads():
            y = self.F.solve_Lt(np.asarray(eps, dtype=float), use_LDLt_decomposition=False)
        return self.F.apply_Pt(y)

    def sample_t(self, g: np.ndarray) -> np.ndarray:
        """L⁻¹ P g, the transpose of :meth:`sample`."""
        with self._threads():
            return self.F.solve_L(
                self.F.apply_P(np.asarray(g, dtype=float)), use_LDLt_decomposition=False
            )

    def diag_inv(self) -> np.ndarray:
        return diag_by_solves(self.solve, self.q)
