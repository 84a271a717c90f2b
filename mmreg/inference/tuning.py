"""How the sampler tunes its proposals: start-up moves, stages, fitted proposals.

:func:`~mmreg.inference.mcmc.fit_mcmc` tunes each chain in stages (:func:`stage_ends`): the
first starts around the Laplace fit with :func:`default_moves`; every later stage, and the
kept phase, proposes from :func:`adapted_moves` fitted to the adapted draws before it
(:func:`fit_points`).  The moves themselves are in :mod:`mmreg.inference.moves`.
"""

from __future__ import annotations

import emcee
import numpy as np

from mmreg.inference.copula import CopulaIndependenceMove
from mmreg.inference.edges import EdgeComponent, edge_coordinates
from mmreg.inference.moves import KDEIndependenceMove, LaplaceIndependenceMove

__all__ = ["adapted_moves", "capped", "default_moves", "fit_points", "stage_ends"]


def capped(cov: np.ndarray, max_sd: float) -> np.ndarray:
    """``cov`` with its eigenvalues clipped to [1e-10, max_sd²].

    A flat direction of the Laplace fit (e.g. an SD estimated at zero, whose SE on the log
    scale can be in the thousands) must not send walkers or proposals to absurd values.
    """
    w, V = np.linalg.eigh(0.5 * (cov + cov.T))
    return (V * np.clip(w, 1e-10, max_sd**2)) @ V.T


def default_moves(mean: np.ndarray, cov: np.ndarray) -> list:
    """Tuning phase: independence proposals around the Laplace fit mixed with DE moves."""
    return [
        (LaplaceIndependenceMove(mean, capped(cov, 3.0)), 0.5),
        (emcee.moves.DEMove(), 0.4),
        (emcee.moves.DESnookerMove(), 0.1),
    ]


#: Most hyperparameters for which the kept phase proposes from a kernel density estimate
#: (beyond, a kernel estimate from a few hundred correlated tuning draws is too blurred).
KDE_MAX_DIM = 3


def adapted_moves(points: np.ndarray, at_edge: np.ndarray | None = None) -> list:
    """Kept phase: mostly independence proposals fitted to the tuning draws.

    ``points`` (n × dim) are tuning draws (:func:`fit_points`).  Once a proposal is
    fitted to the posterior itself, accepted proposals are nearly independent draws.  Up to
    :data:`KDE_MAX_DIM` dimensions the proposal is a kernel density estimate of the draws
    with a 10% t₁₀ component for the tails
    (:class:`~mmreg.inference.moves.KDEIndependenceMove`): it follows skewed posteriors
    such as those of SDs with mass near zero.  In more dimensions (where a kernel estimate
    of a few hundred draws is too blurred) it is a Gaussian copula with kernel-density
    marginals and the same 10% t₁₀ component
    (:class:`~mmreg.inference.copula.CopulaIndependenceMove`; with :data:`COPULA` off, or
    should it fail on degenerate draws, the t₁₀ alone: mean and covariance of the draws,
    scale 1.1).  Either makes 90% of the moves; DE moves the other 10% (local exploration
    should the proposal miss part of the posterior).  ``at_edge`` marks the coordinates
    that are log-distances to a prior bound (log-SDs): those whose tuning draws come near
    the bound get the exponential-tailed :class:`~mmreg.inference.edges.EdgeComponent`
    (weight :data:`~mmreg.inference.edges.EDGE_WEIGHT`) in the kernel or copula proposal.

    Measured on coalgov (4 chains × 1000 draws, tune 100; lowest bulk ESS, t → kernel):
    binom_hm (2 dimensions) 561 → 1390, weib_hm (3) 455 → 772, but gaus_w (6) 1744 → 496
    and weib_w (4) 1195 → 786.  t → copula (tune 60, seeds 1 and 2, 2026-12-05): gaus_w (5)
    acceptance 0.58/0.60 → 0.73/0.72, lowest ESS 1311/1384 → 1973/1877; the #15 slope
    model (4) acceptance 0.46/0.49 → 0.69/0.67, lowest ESS 583/654 → 1023/648.
    """
    dim = points.shape[1]
    mean = points.mean(axis=0)
    cov = capped(np.cov(points, rowvar=False).reshape(dim, dim), 3.0)
    ind = None
    df, scale, tail = TAIL_DF, TAIL_SCALE, TAIL_WEIGHT
    edge = _edge(points, mean, cov, at_edge)
    try:
        if dim <= KDE_MAX_DIM:
            ind = KDEIndependenceMove(points, mean, cov, tail, df, scale, edge)
        elif COPULA:
            ind = CopulaIndependenceMove(points, mean, cov, tail, df, scale, edge)
    except (np.linalg.LinAlgError, ValueError):  # degenerate draws (a stuck ensemble)
        pass
    if ind is None:
        ind = LaplaceIndependenceMove(mean, cov, df=df, scale=scale)
    return [(ind, 0.9), (emcee.moves.DEMove(), 0.1)]


def _edge(points, mean, cov, at_edge) -> EdgeComponent | None:
    """The edge component of the kept proposal, or None (off, or no coordinate near its
    bound)."""
    if at_edge is None or not EDGES:
        return None
    coords = edge_coordinates(points, at_edge)
    if len(coords) == 0:
        return None
    try:
        return EdgeComponent(points, mean, cov, coords, TAIL_DF, TAIL_SCALE)
    except (np.linalg.LinAlgError, ValueError):  # degenerate draws: the proposal without it
        return None


#: Whether the kept proposal has an edge component (:mod:`mmreg.inference.edges`).
EDGES = True

#: Degrees of freedom and scale inflation (× the tuning draws' covariance) of the kept
#: proposal's t component (:func:`adapted_moves`).
TAIL_DF, TAIL_SCALE = 10.0, 1.1
#: Weight of that t component in the mixture.
TAIL_WEIGHT = 0.1

#: Beyond :data:`KDE_MAX_DIM`, propose from a Gaussian copula with kernel-density marginals
#: (:class:`~mmreg.inference.copula.CopulaIndependenceMove`) instead of a t alone.
COPULA = True

#: Tuning runs in up to this many stages of at least :data:`MIN_STAGE` steps: the first
#: from the Laplace fit, each later one with the proposal refitted to the draws before it.
TUNE_STAGES = 3
MIN_STAGE = 10


def stage_ends(tune: int, adapt: bool) -> list[int]:
    """Cumulative ends of the tuning stages.

    One stage (none for ``tune=0``) when not adapting or too short to adapt; otherwise
    2..:data:`TUNE_STAGES` stages, so ``len(ends) > 1`` means the proposals are adapted.
    """
    if not adapt or tune < 2 * MIN_STAGE:
        return [tune] if tune else []
    n = min(TUNE_STAGES, tune // MIN_STAGE)
    lens = [tune // n] * n
    lens[0] += tune - sum(lens)
    return [int(e) for e in np.cumsum(lens)]


def fit_points(chain: np.ndarray, ends: list[int], upto: int) -> np.ndarray:
    """Tuning draws a proposal is fitted to, using steps before ``upto``.

    The second half of the first stage (its start is the Laplace fit) while that is all
    there is; afterwards every draw of the adapted stages (near-independent draws once a
    proposal fits the posterior, so the later proposals are fitted to more and better
    points).
    """
    pts = chain[ends[0] // 2 : ends[0]] if upto <= ends[0] else chain[ends[0] : upto]
    return pts.reshape(-1, chain.shape[-1])
