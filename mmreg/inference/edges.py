"""A proposal component for hyperparameters whose posterior reaches a bound of their prior.

A random-effect SD σ is sampled as u = log σ.  Where the data allow σ near zero, the prior's
density at zero is positive (half-Cauchy by default) and the likelihood flattens out, so the
posterior of u has an **exponential** left tail, p(u) ∝ eᵘ.  The kept phase's independence
proposals (a kernel density or copula of the tuning draws, plus a t₁₀ component) are thinner
than that a few SDs out: a walker that gets there sees π/q hundreds of times larger than in
the bulk and stays for dozens of steps (coalgov weib_hm, seed 1: 45 of 63 steps at
log σ_hm ≈ −3 to −6, R-hat 1.017).  A heavier t does not help: for a posterior SD of 0.5
on the log scale, t₃ at 6 SDs is still ten times thinner than the exponential tail
(benchmarks/README.md, "A heavier t component in the kept proposal").

:class:`EdgeComponent` draws such a coordinate on its **natural** scale, the distance
d = eᵘ to the bound from a half-normal, so that its density in u, 2φ(eᵘ/s)eᵘ/s, has the
posterior's exponential tail and π/q stays bounded as u → −∞; the other coordinates come
from the t component's marginal.  It applies to coordinates whose unconstrained value is a
log-distance to a bound (a log above a lower or below an upper bound) and whose tuning draws
come near it (:func:`edge_coordinates`).  Mixed into the proposal with weight
:data:`EDGE_WEIGHT`, it keeps the proposal fixed, its density exact in the
Metropolis–Hastings ratio, and the move exact.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from mmreg.inference.moves import LaplaceIndependenceMove

__all__ = ["EDGE_FRACTION", "EDGE_NEAR", "EDGE_WEIGHT", "EdgeComponent", "edge_coordinates"]

#: Weight of the edge component in the adapted proposals (later tuning stages, kept phase).
#: Measured on coalgov (benchmarks/README.md, "An edge component for log-SDs near zero"):
#: weib_hm seeds 1–20, lowest ESS minimum 449 → 622 and runs with R-hat > 1.01 1 → 0
#: (0.02: 2 runs, walkers still staying 30+ steps in the left tail); the median lowest ESS
#: −2% on gaus_hm (24 seeds) and −4% on binom_hm (16 seeds).
EDGE_WEIGHT = 0.05
#: A coordinate gets an edge component when at least :data:`EDGE_FRACTION` of its tuning
#: draws lie more than :data:`EDGE_NEAR` (on the log scale: a factor of 4 in the distance to
#: the bound) below their median.  Posteriors far from their bound (a residual SD, a Weibull
#: shape) have none there, and a component for them would only waste proposals.
EDGE_FRACTION = 0.01
EDGE_NEAR = float(np.log(4.0))

_LOG_2PHI0 = float(np.log(2.0) - 0.5 * np.log(2.0 * np.pi))  # log of 2φ(0)


def edge_coordinates(points: np.ndarray, at_edge: np.ndarray) -> np.ndarray:
    """Positions of the coordinates that get an edge component.

    Parameters
    ----------
    points : ndarray
        (n, dim) tuning draws on the unconstrained scale.
    at_edge : ndarray of bool
        Per coordinate, whether u → −∞ is a bound of its prior (u the log-distance to it;
        :attr:`~mmreg.inference.hyper.HyperSpace.edge_mask`).
    """
    points = np.asarray(points, float)
    low = points < np.median(points, axis=0) - EDGE_NEAR
    near = np.mean(low, axis=0) >= EDGE_FRACTION
    return np.flatnonzero(np.asarray(at_edge, bool) & near)


class EdgeComponent:
    """Mixture over ``coords`` of: coordinate j on its natural scale, the rest from a t.

    Component j draws eᵘʲ ~ half-normal(s_j), with s_j the root mean square of eᵘʲ over the
    tuning draws, and the other coordinates from the marginal of t_df(mean, scale² · cov);
    the components have equal weights.

    Parameters
    ----------
    points : ndarray
        (n, dim) tuning draws.
    mean, cov : ndarray
        Centre and covariance of the t.
    coords : ndarray of int
        The coordinates (:func:`edge_coordinates`).
    df, scale : float
        Degrees of freedom and scale inflation of the t.
    weight : float, optional
        Weight of this component in the proposal (default :data:`EDGE_WEIGHT`).
    """

    def __init__(
        self,
        points: np.ndarray,
        mean: np.ndarray,
        cov: np.ndarray,
        coords: np.ndarray,
        df: float,
        scale: float,
        weight: float | None = None,
    ):
        self.coords = np.asarray(coords, int)
        if len(self.coords) == 0:
            raise ValueError("an edge component needs at least one coordinate")
        #: the t the other coordinates come from (drawn whole, coordinate j replaced)
        self.t = LaplaceIndependenceMove(mean, cov, df=df, scale=scale)
        self.weight = EDGE_WEIGHT if weight is None else float(weight)
        with np.errstate(over="ignore"):
            d2 = np.exp(2.0 * np.asarray(points, float)[:, self.coords])
        #: log s_j of each coordinate's half-normal
        self.log_s = 0.5 * np.log(np.mean(d2, axis=0))
        if not np.all(np.isfinite(self.log_s)):
            raise ValueError("tuning draws too far from the bound for an edge component")
        t = self.t.dist
        self._rest = []
        for j in self.coords:
            rest = np.array([k for k in range(len(t.loc)) if k != j], dtype=int)
            marg = None
            if len(rest):
                sub = t.shape[np.ix_(rest, rest)]
                marg = stats.multivariate_t(loc=t.loc[rest], shape=sub, df=t.df)
            self._rest.append((rest, marg))

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of the component at the rows of ``x``."""
        x = np.atleast_2d(x)
        terms = []
        for j, ls, (rest, marg) in zip(self.coords, self.log_s, self._rest, strict=True):
            v = x[:, j] - ls
            with np.errstate(over="ignore"):
                lp = _LOG_2PHI0 - 0.5 * np.exp(2.0 * v) + v  # of u_j = log s_j + log|N(0, 1)|
            if marg is not None:
                lp = lp + np.atleast_1d(marg.logpdf(x[:, rest]))
            terms.append(lp)
        return special.logsumexp(np.array(terms), axis=0) - np.log(len(self.coords))

    def draw(self, n: int, random) -> np.ndarray:
        """``n`` draws, with emcee's RandomState."""
        out = self.t.draw(n, random)
        which = random.randint(len(self.coords), size=n)
        with np.errstate(divide="ignore"):
            log_abs = np.log(np.abs(random.standard_normal(n)))
        for k, (j, ls) in enumerate(zip(self.coords, self.log_s, strict=True)):
            sel = which == k
            out[sel, j] = ls + log_abs[sel]
        return out

    def mix(self, log_q: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Log density of ``(1 − weight) · q + weight · this`` at ``x``, given log q(x)."""
        w = self.weight
        return np.logaddexp(np.log1p(-w) + log_q, np.log(w) + self.logpdf(x))

    def mix_draws(self, new: np.ndarray, random) -> np.ndarray:
        """Replace each row of ``new`` (draws of q) by a draw of this with prob. ``weight``."""
        n = len(new)
        use = random.uniform(size=n) < self.weight
        alt = self.draw(n, random)
        new[use] = alt[use]
        return new
