"""emcee moves tailored to mmreg's low-dimensional hyperparameter posterior."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from emcee.moves import MHMove
from scipy import stats
from scipy.linalg import solve_triangular

if TYPE_CHECKING:
    from mmreg.inference.edges import EdgeComponent


__all__ = [
    "WIDEN",
    "DensityCache",
    "KDEIndependenceMove",
    "LaplaceIndependenceMove",
    "WidenedKDE",
    "widened_kde",
]

#: Kernel density proposals use Scott's bandwidth times this factor.  Scott's rule assumes
#: independent draws; tuning draws are autocorrelated (and the posterior's tails are where
#: an independence proposal must not be thin), so the rule undersmooths them.  Measured on
#: coalgov (4 chains × 1000 draws, seeds 1–4, lowest bulk ESS, factor 1 → 1.3): gaus_hm
#: 999–1454 → 1745–1946, gaus_ar 1683–2202 → 1964–2410, binom_hm 768–1763 → 1268–1715,
#: weib_hm (seeds 1–8) mean 983 → 1012; 0.7 and 0.5 lowered gaus_hm to 781–960 and
#: 512–742 (benchmarks/README.md, "Kernel bandwidth of the kept-phase proposal").
WIDEN = 1.3


class WidenedKDE(stats.gaussian_kde):
    """:class:`scipy.stats.gaussian_kde` with Scott's bandwidth times ``widen`` (default
    :data:`WIDEN`).  The factor is a method, not the lambda ``set_bandwidth`` stores, so the
    estimate pickles (moves travel to the worker processes of ``cores=``)."""

    def __init__(self, dataset: np.ndarray, widen: float | None = None):
        self.widen = WIDEN if widen is None else float(widen)
        super().__init__(dataset)

    def covariance_factor(self) -> float:
        return float(self.scotts_factor()) * self.widen

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density at the columns of ``x`` (dim × m), as SciPy's but by one matrix
        product of the whitened points: the kept phase evaluates it at every step, and
        SciPy's kernel loop took ~7% of a coalgov gaus_hm fit (16 points against ~1,700
        draws: 0.9 against 0.16 ms per call; tests/inference/test_moves.py compares the
        two)."""
        pts = np.atleast_2d(np.asarray(x, float))
        if pts.shape[0] != self.d:  # SciPy's reshaping and errors
            return super().logpdf(x)
        cached = self.__dict__.get("_whitened")
        # set_bandwidth computes a new cho_cov: whiten again
        if cached is None or cached[0] is not self.cho_cov:
            center = self.dataset.mean(axis=1, keepdims=True)
            white = solve_triangular(self.cho_cov, self.dataset - center, lower=True)
            log_det = np.sum(np.log(np.diag(self.cho_cov)))
            log_w = np.log(self.weights) - 0.5 * self.d * np.log(2.0 * np.pi) - log_det
            cached = (self.cho_cov, center, white, 0.5 * np.sum(white**2, axis=0), log_w)
            self.__dict__["_whitened"] = cached
        _, center, white, half_sq, log_w = cached
        y = solve_triangular(self.cho_cov, pts - center, lower=True)
        # −½|y − x_i|² = y·x_i − ½|x_i|² − ½|y|²
        e = y.T @ white - half_sq + log_w
        mx = np.max(e, axis=1)
        np.exp(e - mx[:, None], out=e)
        return mx + np.log(np.sum(e, axis=1)) - 0.5 * np.sum(y**2, axis=0)


def widened_kde(points: np.ndarray, widen: float | None = None) -> WidenedKDE:
    """:class:`WidenedKDE` of ``points`` (dim × n)."""
    return WidenedKDE(points, widen)


class DensityCache:
    """The log proposal density of the points of an independence move's last step.

    An independence Metropolis–Hastings step needs log q at every walker's current point
    and at its proposal.  Each current point was the previous step's current point
    (rejected) or its proposal (accepted), so its log q is already known: this keeps the
    last step's values by the bytes of each point and evaluates only the others (a kernel
    density over a few thousand tuning draws costs ~0.5 ms per batch of walkers).  Values
    are per row, so the ratios are those of evaluating every point afresh.
    """

    def __init__(self) -> None:
        self._known: dict[bytes, float] = {}

    def log_ratio(self, logpdf, coords: np.ndarray, new: np.ndarray) -> np.ndarray:
        """log q(coords) − log q(new), rowwise, with ``logpdf`` the proposal's density."""
        known = self._known
        keys = [row.tobytes() for row in coords]
        have = np.array([k in known for k in keys], dtype=bool)
        cur = np.empty(len(coords))
        cur[have] = [known[k] for k, h in zip(keys, have, strict=True) if h]
        if not have.all():
            cur[~have] = logpdf(coords[~have])
        q_new = np.asarray(logpdf(new), dtype=float)
        self._known = dict(zip(keys, cur.tolist(), strict=True))
        self._known.update(zip((row.tobytes() for row in new), q_new.tolist(), strict=True))
        return cur - q_new


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

    def __init__(self, mean: np.ndarray, cov: np.ndarray, df: float = 5.0, scale: float = 1.2):
        self.dist = stats.multivariate_t(
            loc=np.asarray(mean, float), shape=scale**2 * np.asarray(cov, float), df=df
        )
        self._chol = np.linalg.cholesky(self.dist.shape)
        self._density = DensityCache()
        super().__init__(self._propose, ndim=len(mean))

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of the proposal at the rows of ``x``."""
        return np.atleast_1d(self.dist.logpdf(np.atleast_2d(x)))

    def draw(self, n: int, random) -> np.ndarray:
        """``n`` proposals, drawn with emcee's RandomState so runs stay reproducible."""
        g = random.chisquare(self.dist.df, size=n) / self.dist.df
        z = random.standard_normal((n, len(self._chol))) @ self._chol.T
        return self.dist.loc + z / np.sqrt(g)[:, None]

    def _propose(self, coords: np.ndarray, random) -> tuple[np.ndarray, np.ndarray]:
        new = self.draw(len(coords), random)
        return new, self._density.log_ratio(self.logpdf, coords, new)


class KDEIndependenceMove(MHMove):
    """Independence Metropolis–Hastings from a kernel density estimate of earlier draws.

    The proposal is the mixture ``(1 − tail) · KDE(points) + tail · t_df(mean, scale² · cov)``
    (:class:`scipy.stats.gaussian_kde`, Scott's bandwidth × :data:`WIDEN`), mixed with
    ``edge`` where given.  Fitted to the
    tuning draws it follows skewed posteriors — e.g. the log of a random-effect SD whose
    posterior has mass near zero, with a long left tail — that a single t misses; the t
    component keeps the tails of the proposal heavier than those of the posterior.  The
    proposal is fixed once built and the Metropolis–Hastings ratio includes its density, so
    the move leaves the posterior invariant.

    Parameters
    ----------
    points : ndarray
        (n, dim) draws the kernel density is fitted to.
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
        self.kde = widened_kde(np.asarray(points, float).T)
        self.t = LaplaceIndependenceMove(mean, cov, df=df, scale=scale)  # the tail component
        self.tail = float(tail)
        self.edge = edge
        self._density = DensityCache()
        super().__init__(self._propose, ndim=len(mean))

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of the proposal at the rows of ``x``."""
        x = np.atleast_2d(x)
        a = np.log1p(-self.tail) + self.kde.logpdf(x.T)
        out = np.logaddexp(a, np.log(self.tail) + self.t.logpdf(x))
        return out if self.edge is None else self.edge.mix(out, x)

    def _propose(self, coords: np.ndarray, random) -> tuple[np.ndarray, np.ndarray]:
        n = len(coords)
        # every draw comes from emcee's RandomState, so runs stay reproducible
        use_t = random.uniform(size=n) < self.tail
        new = self.kde.resample(n, seed=random).T
        tnew = self.t.draw(n, random)
        new[use_t] = tnew[use_t]
        if self.edge is not None:
            new = self.edge.mix_draws(new, random)
        return new, self._density.log_ratio(self.logpdf, coords, new)
