"""Elementary symmetric polynomials of ``exp(eta)`` in log space (exact conditional logit).

For a choice set with ``m`` chosen alternatives the exact conditional likelihood (as in
statsmodels ``ConditionalLogit``) normalises by ``e_m(exp(eta))``, the sum of
``exp(sum of eta)`` over all subsets of size ``m``.  The functions here work on batches of
equal-size sets, shape ``(B, L)``, looping only over the ``L`` positions.
"""

from __future__ import annotations

import numpy as np

__all__ = ["log_esp", "inclusion", "pair_inclusion", "sample_conditional_bernoulli"]

_CHUNK = 2_000_000  # elements per batch in the removal computations


def log_esp(eta: np.ndarray, kmax: int) -> np.ndarray:
    """``log e_k(exp(eta[b]))`` for ``k = 0..kmax``; ``-inf`` entries of ``eta`` are absent.

    Parameters
    ----------
    eta : numpy.ndarray
        Shape ``(B, L)``.
    kmax : int

    Returns
    -------
    numpy.ndarray
        Shape ``(B, kmax + 1)``.
    """
    out = np.full((eta.shape[0], kmax + 1), -np.inf)
    out[:, 0] = 0.0
    if kmax == 0:
        return out
    with np.errstate(invalid="ignore"):
        for t in range(eta.shape[1]):
            out[:, 1:] = np.logaddexp(out[:, 1:], out[:, :-1] + eta[:, t, None])
    return out


def _removed(eta: np.ndarray, drop: list[np.ndarray], k: np.ndarray) -> np.ndarray:
    """``log e_{k_g}`` of set ``g`` with the positions ``drop[.][r]`` removed, shape (G, R)."""
    G, L = eta.shape
    R = drop[0].shape[0]
    out = np.empty((G, R))
    kmax = int(k.max())
    step = max(1, _CHUNK // max(1, R * L))
    rr = np.arange(R)
    for g0 in range(0, G, step):
        sl = slice(g0, min(G, g0 + step))
        block = np.repeat(eta[sl, None, :], R, axis=1)
        for pos in drop:
            block[:, rr, pos] = -np.inf
        le = log_esp(block.reshape(-1, L), kmax).reshape(-1, R, kmax + 1)
        out[sl] = np.take_along_axis(
            le, np.broadcast_to(k[sl, None, None], (le.shape[0], R, 1)), axis=2
        )[:, :, 0]
    return out


def inclusion(eta: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log normaliser and inclusion probabilities of the conditional Bernoulli design.

    Parameters
    ----------
    eta : numpy.ndarray
        Shape ``(G, L)``: ``G`` sets of size ``L``.
    m : numpy.ndarray
        Number chosen in each set, shape ``(G,)``, ``1 <= m <= L``.

    Returns
    -------
    log_z : numpy.ndarray
        ``log e_m(exp(eta))``, shape ``(G,)``.
    pi : numpy.ndarray
        ``P(i chosen | m chosen)``, shape ``(G, L)``.
    """
    m = np.asarray(m, dtype=np.int64)
    log_z = np.take_along_axis(log_esp(eta, int(m.max())), m[:, None], axis=1)[:, 0]
    L = eta.shape[1]
    le = _removed(eta, [np.arange(L)], m - 1)
    return log_z, np.exp(eta + le - log_z[:, None])


def pair_inclusion(eta: np.ndarray, m: np.ndarray, log_z: np.ndarray) -> np.ndarray:
    """Joint inclusion probabilities ``P(i and j chosen)`` for ``i != j`` (zero diagonal).

    Returns
    -------
    numpy.ndarray
        Shape ``(G, L, L)``, symmetric.
    """
    m = np.asarray(m, dtype=np.int64)
    G, L = eta.shape
    out = np.zeros((G, L, L))
    if L < 2:
        return out
    iu, ju = np.triu_indices(L, 1)
    k = m - 2
    ok = k >= 0
    le = np.full((G, iu.size), -np.inf)
    if ok.any():
        le[ok] = _removed(eta[ok], [iu, ju], k[ok])
    p = np.exp(eta[:, iu] + eta[:, ju] + le - log_z[:, None])
    out[:, iu, ju] = p
    out[:, ju, iu] = p
    return out


def sample_conditional_bernoulli(
    eta: np.ndarray, m: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Draw exactly ``m_g`` of the ``L`` items of each set with ``P(S) ~ exp(sum eta_S)``.

    Sequential sampling: item ``t`` is taken with probability
    ``exp(eta_t) e_{k-1}(rest after t) / e_k(items t..L)``, ``k`` the number still needed.

    Returns
    -------
    numpy.ndarray
        Boolean, shape ``(G, L)``.
    """
    m = np.asarray(m, dtype=np.int64)
    G, L = eta.shape
    kmax = int(m.max())
    # suffix[:, t, k] = log e_k(eta[:, t:])
    suffix = np.full((G, L + 1, kmax + 1), -np.inf)
    suffix[:, L, 0] = 0.0
    with np.errstate(invalid="ignore"):
        for t in range(L - 1, -1, -1):
            suffix[:, t, 0] = 0.0
            suffix[:, t, 1:] = np.logaddexp(
                suffix[:, t + 1, 1:], suffix[:, t + 1, :-1] + eta[:, t, None]
            )
    need = m.copy()
    out = np.zeros((G, L), dtype=bool)
    rows = np.arange(G)
    u = rng.random((G, L))
    with np.errstate(invalid="ignore"):
        for t in range(L):
            k = need
            take_lp = eta[:, t] + suffix[rows, t + 1, np.maximum(k - 1, 0)] - suffix[rows, t, k]
            take = (k > 0) & (u[:, t] < np.exp(take_lp))
            out[:, t] = take
            need = need - take
    return out
