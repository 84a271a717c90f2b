"""Profile intervals for hyperparameters that may sit on a boundary (random-effect SDs).

The Wald interval of an SD on the log scale breaks down when the SD is estimated near zero:
the log-scale curvature vanishes, the interval runs to ``exp(±huge)`` and is useless (the
coverage study in ``validation/README.md`` found 12–45% of such intervals undefined at
coalgov size, and the defined ones covering only 0.83–0.92).  The profile interval

    { ψ_j : 2 [ min_{ψ_-j} f(ψ_j, ψ_-j) − f(ψ̂) ] ≤ χ²₁(1 − α) },

with ``f`` the negative log marginal posterior minimised by the Laplace fit, is invariant
to the parametrisation and includes the boundary (lower end 0) when the data cannot
exclude it.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from mmreg.inference.laplace import _BIG, LaplaceFit, _Objective

__all__ = ["profile_interval"]


def _box(space, fit: LaplaceFit) -> tuple[np.ndarray, np.ndarray]:
    """The fit's search limits (as widened by the optimiser) on the unconstrained scale."""
    return fit.box if fit.box is not None else space.search_box()


class _Profile:
    """``t -> 2 (min over the other coordinates of f(u) with u_j = t) - 2 f̂``."""

    def __init__(self, obj: _Objective, fit: LaplaceFit, j: int):
        self.obj, self.j = obj, j
        self.u_hat = fit.u
        self.others = np.array([i for i in range(len(fit.u)) if i != j], dtype=int)
        lo, hi = _box(obj.space, fit)
        self.lo, self.hi = lo[self.others], hi[self.others]
        cov = fit.cov_u
        slope = cov[self.others, j] / cov[j, j] if cov[j, j] > 0 else np.zeros(len(self.others))
        self.slope = np.where(np.isfinite(slope), slope, 0.0)
        self.f_hat = obj(fit.u)
        self.last: list[tuple[float, np.ndarray]] | None = None

    def _u(self, t: float, v: np.ndarray) -> np.ndarray:
        u = self.u_hat.copy()
        u[self.j] = t
        u[self.others] = v
        return u

    def __call__(self, t: float) -> float:
        if not len(self.others):
            return 2.0 * (self.obj(self._u(t, np.zeros(0))) - self.f_hat)
        start = np.clip(
            self.u_hat[self.others] + self.slope * (t - self.u_hat[self.j]), self.lo, self.hi
        )
        f_start = self.obj(self._u(t, start))
        if self.last is not None:  # continuation: the optimum at the nearest profiled t
            near = min(self.last, key=lambda tv: abs(tv[0] - t))[1]
            f_near = self.obj(self._u(t, near))
            if f_near < f_start:
                start, f_start = near, f_near
        others = self.others

        def fun(v):  # objective and exact gradient in the other coordinates
            f, g = self.obj.value_and_grad(self._u(t, v))
            return f, g[others]

        # 2Δ is needed to ~1e-3: a relative tolerance of 1e-10 on f (|f| ~ 1e2–1e5) suffices
        bounds = list(zip(self.lo, self.hi, strict=True))
        res = optimize.minimize(
            fun,
            start,
            method="L-BFGS-B",
            bounds=bounds,
            jac=True,
            options={"maxiter": 200, "ftol": 1e-10, "gtol": 1e-5},
        )
        best, v = (res.fun, res.x) if res.fun <= f_start else (f_start, start)
        if best < _BIG:
            self.last = [*(self.last or []), (t, v)]
        return 2.0 * (best - self.f_hat) if best < _BIG else np.inf


def profile_interval(
    latent, space, fit: LaplaceFit, j: int, alpha: float = 0.05, xtol: float = 2e-3
) -> tuple[float, float]:
    """Profile interval of the ``j``-th free hyperparameter, on its natural scale.

    Parameters
    ----------
    latent, space
        The model's :class:`~mmreg.inference.latent.LatentModel` and
        :class:`~mmreg.inference.hyper.HyperSpace`.
    fit : LaplaceFit
        The Laplace fit (its optimum and covariance give the start of the search).
    j : int
        Position of the parameter in ``space.free``; it must have a finite lower bound (an
        SD: log scale, or logit scale under bml's uniform prior).
    alpha : float
        ``1 - alpha`` is the nominal coverage; the cut-off is ``chi2(1).ppf(1 - alpha)``.
    xtol : float
        Accuracy of the ends on the unconstrained scale (``2e-3``: 0.2% relative for an
        SD).

    Returns
    -------
    (float, float)
        Lower and upper end on the natural scale. The lower end is the parameter's lower
        bound (0 for an SD) when the profile stays below the cut-off down to the boundary
        (unconstrained value −15 plus the log of the data's scale); the upper end is its
        upper bound (``inf``, or the upper limit of a uniform prior) when it stays below the
        cut-off up to the upper search limit (an SD the data do not bound).
    """
    crit = float(stats.chi2.ppf(1.0 - alpha, 1))
    obj = _Objective(latent, space)
    obj.z = fit.mode.z.copy()
    prof = _Profile(obj, fit, j)
    lo_all, hi_all = _box(space, fit)
    t_lo, t_hi = float(lo_all[j]), float(hi_all[j])
    t_hat = float(fit.u[j])
    se = float(np.sqrt(fit.cov_u[j, j])) if fit.cov_u[j, j] > 0 else 1.0

    memo: dict[float, float] = {}

    def g(t: float) -> float:
        # memoised: the inner optimisation is warm-started, so a re-evaluation could
        # differ in the last digits and break brentq's bracket
        if t not in memo:
            memo[t] = prof(t) - crit
        return memo[t]

    z = float(stats.norm.ppf(1.0 - alpha / 2.0))

    def end(direction: int, limit: float) -> float:
        # first trial at the log-scale Wald end (often close), then widen geometrically
        inner, t, h = t_hat, t_hat, float(np.clip(z * se, 0.05, 2.0))
        while True:
            t = float(np.clip(t + direction * h, t_lo, t_hi))
            val = g(t)
            if val > 0:
                break
            if t == limit:
                return limit
            inner, h = t, 1.5 * h  # widen geometrically towards the boundary
            obj.z = fit.mode.z.copy()
        obj.z = fit.mode.z.copy()
        if g(inner) > 0:  # the optimum itself is off (e.g. a better point found): no end
            return inner
        # a rejected region (inf) is bisected towards the last finite point
        return float(optimize.toms748(lambda s: min(g(s), 1.0), *sorted((inner, t)), xtol=xtol))

    lo_t = end(-1, t_lo)
    hi_t = end(+1, t_hi)

    def natural(t: float) -> float:
        u = fit.u.copy()
        u[j] = t
        return float(space.natural_free(u)[j])

    lo = float(space.lower[j]) if lo_t <= t_lo else natural(lo_t)
    hi = float(space.upper[j]) if hi_t >= t_hi else natural(hi_t)
    return lo, hi
