"""emcee moves tailored to mmreg's low-dimensional hyperparameter posterior."""

from __future__ import annotations

import numpy as np
from emcee.moves import MHMove
from scipy import stats

__all__ = ["LaplaceIndependenceMove"]


class LaplaceIndependenceMove(MHMove):
    """Independence Metropolis–Hastings from a multivariate t around the Laplace fit.

    Every walker proposes a fresh point from t_df(mean, scale² · cov) and accepts it with
    the Metropolis–Hastings ratio including the proposal densities, so the move leaves the
    posterior invariant whatever the proposal.  When the Laplace approximation is good
    (most of mmreg's hyperparameter posteriors, on the unconstrained scale) this gives
    nearly independent draws; heavy t tails keep it safe when it is not, and it is mixed
    with emcee's differential-evolution moves by default.

    Parameters
    ----------
    mean : ndarray
        Centre (the Laplace mode on the unconstrained scale).
    cov : ndarray
        Covariance of the Laplace approximation.
    df : float
        Degrees of freedom of the t proposal.
    scale : float
        Inflation of the proposal scale.
    """

    def __init__(self, mean: np.ndarray, cov: np.ndarray, df: float = 5.0,
                 scale: float = 1.2):
        self.dist = stats.multivariate_t(loc=np.asarray(mean, float),
                                         shape=scale**2 * np.asarray(cov, float), df=df)
        super().__init__(self._propose, ndim=len(mean))

    def _propose(self, coords: np.ndarray, random) -> tuple[np.ndarray, np.ndarray]:
        n, d = coords.shape
        # draw with emcee's RandomState so runs stay reproducible
        g = random.chisquare(self.dist.df, size=n) / self.dist.df
        z = random.standard_normal((n, d)) @ np.linalg.cholesky(self.dist.shape).T
        new = self.dist.loc + z / np.sqrt(g)[:, None]
        factors = self.dist.logpdf(coords) - self.dist.logpdf(new)
        return new, np.atleast_1d(factors)
