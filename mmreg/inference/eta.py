"""The linear predictor ``eta = offset + D b + R r``: computed here and nowhere else."""

from __future__ import annotations

import numpy as np

__all__ = ["linear_predictor"]


def linear_predictor(
    D, R, offset: np.ndarray | None, z: np.ndarray, P: int, re: np.ndarray | None = None
) -> np.ndarray:
    """The linear predictor ``eta = offset + D b + R r`` (the one place it is computed).

    Parameters
    ----------
    D : ndarray
        Coefficient design (n × P) at the current weights.
    R : sparse matrix
        Random-effect design (n × q).
    offset : ndarray or None
        Offset (n,); ``None`` for a deviation (no offset).
    z : ndarray
        ``b`` (length P) or the latent vector ``(b, r)``; 2-D: one vector per column.
    P : int
        Number of coefficients.
    re : ndarray, optional
        ``r`` when ``z`` holds only ``b``.

    Returns
    -------
    ndarray
        Shape ``(n,)``, or ``(n, m)`` for a 2-D ``z``.
    """
    eta = D @ z[:P]
    if offset is not None:
        eta = (offset if eta.ndim == 1 else offset[:, None]) + eta
    r = z[P:] if re is None else np.asarray(re)
    if r.shape[0] and R.shape[1]:
        eta = eta + R @ r
    return eta
