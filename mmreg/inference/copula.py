"""Independence proposals from a Gaussian copula with kernel-density marginals.

In more than three hyperparameters a kernel density estimate of a few hundred tuning draws
is too blurred to propose from, and a multivariate t cannot follow the skewed marginals of
log-SDs whose posterior has mass near zero (issue #15: one random slope halved the lowest
ESS).  :class:`CopulaIndependenceMove` keeps the t's ability to scale with the dimension
(one correlation matrix) but gives every coordinate its own skewed marginal:

* marginal j: a one-dimensional kernel density estimate of the draws' coordinate j,
  tabulated on a grid; between grid points the CDF is linear, so the marginal is a
  proper piecewise-constant density with an exact inverse CDF (draws and densities are
  computed from the same table, nothing is approximated);
* dependence: a Gaussian copula whose correlation is that of the draws' normal scores
  Φ⁻¹(F_j(x_j)).

The proposal is the mixture ``(1 − tail) · copula + tail · t_df(mean, scale² · cov)``: the
copula has bounded support (its grids), the t keeps the tails of the proposal heavier than
the posterior's (and an :class:`~mmreg.inference.edges.EdgeComponent`, where given, those
of log-SDs near zero).  Fixed once built, with its exact density in the Metropolis–Hastings
ratio, the move leaves the posterior invariant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from emcee.moves import MHMove
from scipy import special

from mmreg.inference.moves import DensityCache, LaplaceIndependenceMove, widened_kde

if TYPE_CHECKING:
    from mmreg.inference.edges import EdgeComponent

__all__ = ["CopulaIndependenceMove", "GridMarginal"]


class GridMarginal:
    """A one-dimensional density with a piecewise-linear CDF on a grid.

    Built from a kernel density estimate of ``x`` (Scott's bandwidth × ``WIDEN``, h) on ``size``
    points spanning ``[min(x) − 5h, max(x) + 5h]``; every cell gets positive mass.

    Parameters
    ----------
    x : ndarray
        One-dimensional draws.
    size : int
        Grid points.
    """

    def __init__(self, x: np.ndarray, size: int = 400):
        x = np.asarray(x, float)
        kde = widened_kde(x)
        h = float(np.sqrt(kde.covariance[0, 0]))
        self.grid = np.linspace(x.min() - 5.0 * h, x.max() + 5.0 * h, size)
        pdf = kde(self.grid)
        mass = 0.5 * (pdf[1:] + pdf[:-1]) * np.diff(self.grid)
        mass = np.maximum(mass, 1e-12 * mass.sum())
        self.cdf = np.concatenate([[0.0], np.cumsum(mass)])
        self.cdf /= self.cdf[-1]
        #: density on each cell (constant between grid points)
        self.dens = np.diff(self.cdf) / np.diff(self.grid)

    def cdf_at(self, v: np.ndarray) -> np.ndarray:
        """The CDF at ``v`` (0 below the grid, 1 above)."""
        return np.interp(v, self.grid, self.cdf)

    def quantile(self, p: np.ndarray) -> np.ndarray:
        """The inverse CDF at probabilities ``p`` in (0, 1)."""
        return np.interp(p, self.cdf, self.grid)

    def logpdf(self, v: np.ndarray) -> np.ndarray:
        """Log density at ``v`` (−inf outside the grid)."""
        v = np.asarray(v, float)
        k = np.searchsorted(self.grid, v, side="right") - 1
        inside = (k >= 0) & (k < len(self.dens))
        out = np.full(v.shape, -np.inf)
        out[inside] = np.log(self.dens[k[inside]])
        return out


#: probabilities are kept this far from 0 and 1 before the normal quantile
_EDGE = 1e-12


class CopulaIndependenceMove(MHMove):
    """Independence Metropolis–Hastings from a Gaussian copula with kernel-density
    marginals, mixed with a t for the tails (see the module docstring).

    Parameters
    ----------
    points : ndarray
        (n, dim) draws the proposal is fitted to.
    mean, cov : ndarray
        Centre and covariance of the t component.
    tail : float
        Weight of the t component.
    df, scale : float
        Degrees of freedom and scale inflation of the t component.
    edge : EdgeComponent, optional
        Mixed in with its weight for coordinates whose posterior reaches a prior bound
        (:mod:`mmreg.inference.edges`).
    """

    def __init__(
        self,
        points: np.ndarray,
        mean: np.ndarray,
        cov: np.ndarray,
        tail: float = 0.1,
        df: float = 10.0,
        scale: float = 1.1,
        edge: EdgeComponent | None = None,
    ):
        pts = np.asarray(points, float)
        self.margins = [GridMarginal(pts[:, j]) for j in range(pts.shape[1])]
        g = self._scores(pts)
        corr = np.corrcoef(g, rowvar=False).reshape(pts.shape[1], pts.shape[1])
        if not np.all(np.isfinite(corr)):
            raise ValueError("degenerate tuning draws: no copula correlation")
        self.corr = corr
        self._chol = np.linalg.cholesky(corr)  # LinAlgError for a singular correlation
        self._logdet = 2.0 * float(np.sum(np.log(np.diag(self._chol))))
        self.t = LaplaceIndependenceMove(mean, cov, df=df, scale=scale)
        self.tail = float(tail)
        self.edge = edge
        self._density = DensityCache()
        super().__init__(self._propose, ndim=pts.shape[1])

    def _scores(self, x: np.ndarray) -> np.ndarray:
        """Normal scores Φ⁻¹(F_j(x_j)) of the rows of ``x``."""
        p = np.column_stack([m.cdf_at(x[:, j]) for j, m in enumerate(self.margins)])
        return special.ndtri(np.clip(p, _EDGE, 1.0 - _EDGE))

    def copula_logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of the copula component at the rows of ``x``."""
        x = np.atleast_2d(x)
        marg = np.column_stack([m.logpdf(x[:, j]) for j, m in enumerate(self.margins)])
        out = np.sum(marg, axis=1)
        ok = np.isfinite(out)
        if np.any(ok):
            g = self._scores(x[ok])
            w = np.linalg.solve(self._chol, g.T)  # L⁻¹ g
            # log φ_R(g) − Σ log φ(g_j)
            out[ok] += -0.5 * np.sum(w**2, axis=0) - 0.5 * self._logdet + 0.5 * np.sum(g**2, axis=1)
        return out

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of the proposal mixture at the rows of ``x``."""
        x = np.atleast_2d(x)
        with np.errstate(divide="ignore"):
            a = np.log1p(-self.tail) + self.copula_logpdf(x)
        out = np.logaddexp(a, np.log(self.tail) + self.t.logpdf(x))
        return out if self.edge is None else self.edge.mix(out, x)

    def draw_copula(self, n: int, random) -> np.ndarray:
        """``n`` draws of the copula component, with emcee's RandomState."""
        g = random.standard_normal((n, len(self.margins))) @ self._chol.T
        p = special.ndtr(g)
        return np.column_stack([m.quantile(p[:, j]) for j, m in enumerate(self.margins)])

    def _propose(self, coords: np.ndarray, random) -> tuple[np.ndarray, np.ndarray]:
        n = len(coords)
        use_t = random.uniform(size=n) < self.tail
        new = self.draw_copula(n, random)
        tnew = self.t.draw(n, random)
        new[use_t] = tnew[use_t]
        if self.edge is not None:
            new = self.edge.mix_draws(new, random)
        return new, self._density.log_ratio(self.logpdf, coords, new)
