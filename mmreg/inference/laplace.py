"""MAP + Laplace fit: optimise the Laplace marginal posterior of the hyperparameters.

The latent vector (coefficients and random effects) is integrated out — exactly for the
Gaussian family, by the Laplace approximation otherwise — and the free hyperparameters are
optimised on their natural scale (the mode of p(ψ | y), like lme4/glmmTMB's estimates with
bml's near-flat priors) by L-BFGS-B with the exact gradient of the Laplace marginal
(:mod:`mmreg.inference.gradient`).  Standard errors come from the curvature: the observed
information of ψ (central differences of that gradient) propagated to the coefficients with
the sensitivity dẑ/dψ = H⁻¹ ∂G/∂ψ, so that coefficient SEs include the uncertainty of the SDs
and weights.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Protocol

import numpy as np
from scipy import optimize

from mmreg.errors import MMDataError, MMSpecError, MMWarning
from mmreg.families import BoundFamily
from mmreg.inference.gradient import laplace_gradient, mode_sensitivity
from mmreg.inference.hyper import HyperSpace
from mmreg.inference.latent import LatentModel, Mode
from mmreg.inference.posterior import Posterior
from mmreg.inference.scales import (
    WIDEN,
    data_scales,
    internal_edge,
    outcome_scale,
    prior_scale_conflicts,
    widen,
)

__all__ = ["LaplaceFit", "fit_laplace", "start_values"]

_BIG = 1e100


@dataclass
class LaplaceFit:
    """Raw output of :func:`fit_laplace` (wrapped by :class:`~mmreg.results.MMResults`)."""

    u: np.ndarray  # unconstrained free hyperparameters at the optimum
    cov_u: np.ndarray  # their covariance (inverse observed information)
    mode: Mode  # conditional mode of z at the optimum
    cov_coef: np.ndarray  # covariance of the coefficients: (H⁻¹ + J cov_u Jᵀ)[:P, :P]
    cross: np.ndarray  # Cov(z, u) = J cov_u
    sensitivity: np.ndarray  # J = dẑ/du at the optimum (warm starts for MCMC)
    log_posterior: float  # maximised log marginal posterior of ψ
    optimizer: optimize.OptimizeResult
    hessian_ok: bool
    box: tuple | None = None  # (lower, upper) search limits on the u scale, after widening

    @cached_property
    def var_z(self) -> np.ndarray:
        """Diagonal of H⁻¹ + J cov_u Jᵀ (all latent effects), computed when first used:
        for a large sparse factor it costs many solves (see ``SchurFactor.cheap_diag``)."""
        _, var_h = self.mode.factor.inverse_parts(self.cov_coef.shape[0])
        return var_h + np.einsum("ij,ij->i", self.cross, self.sensitivity)

    def __getstate__(self) -> dict:
        # the factor of H (SuperLU, CHOLMOD) cannot be pickled: keep what it is used for
        # (var_z) and drop it, so a pickled result holds arrays only
        self.var_z  # noqa: B018  (computes and caches it)
        state = dict(self.__dict__)
        state["mode"] = replace(self.mode, factor=None)  # type: ignore[arg-type]  # unpicklable
        return state


def start_values(space: HyperSpace, bound: BoundFamily) -> np.ndarray:
    """Reasonable unconstrained starting values for the optimiser (on the data's scale).

    Parameters
    ----------
    space : HyperSpace
    bound : BoundFamily
        The family bound to the outcome: the scale of the outcome
        (:func:`~mmreg.inference.scales.outcome_scale`) and the family's
        :meth:`~mmreg.families.BoundFamily.start_phi`.

    Returns
    -------
    numpy.ndarray
        One value per free hyperparameter: the midpoint of a bounded prior; else the family's
        start for ``phi``, the lower bound plus half the outcome's scale for an SD, 0 for a
        weight parameter.
    """
    c_y = outcome_scale(bound)
    sd_names = set(space.names[space.sd_slice])
    phi_start = dict(zip(space.names[space.phi_slice], bound.start_phi(), strict=True))
    x = []
    for n in space.free:
        lo, hi = space.priors[n].bounds()
        if np.isfinite(lo) and np.isfinite(hi):
            x.append(0.5 * (lo + hi))
        elif n in phi_start:
            x.append(phi_start[n])
        elif np.isfinite(lo):
            x.append(lo + 0.5 * (c_y if n in sd_names else 1.0))
        else:
            x.append(space.starts.get(n, 0.0))
    return space.unconstrain(np.array(x))


class _Objective:
    """Negative log marginal posterior of ψ with warm-started inner Newton solves."""

    #: relative step of the numerical derivative of the log prior of ψ
    PRIOR_STEP = 1e-6

    def __init__(self, latent: LatentModel, space: HyperSpace):
        self.latent, self.space = latent, space
        self.z: np.ndarray | None = None
        self._pred: tuple | None = None  # (u, ẑ(u), dẑ/du) of the last gradient, predicts next mode
        self.failures: set[str] = set()  # why evaluations were rejected (for a warning)
        self._last: tuple | None = None  # (u, f, g, mode) of the last successful value_and_grad
        #: unit of each unconstrained coordinate: the data scale for real (weight)
        #: parameters, 1 on the log/logit scales
        self.uscale = np.where(space.transform == 0, space.scale, 1.0)

    def mode(self, u: np.ndarray) -> Mode:
        z0 = self.z
        if self._pred is not None and self._pred[1] is self.z:
            # first-order predictor ẑ(u) ≈ ẑ(u₀) + dẑ/du (u − u₀): about one Newton step
            # fewer per mode; only for short steps, where the linearisation holds
            u_last, z_last, J = self._pred
            step = np.asarray(u, float) - u_last
            if np.max(np.abs(step), initial=0.0) <= 0.5:
                z0 = z_last + J @ step
        md = self.latent.mode(self.space.hyper(u), z0=z0, tol=1e-13)
        if np.all(np.isfinite(md.z)):
            self.z = md.z
        return md

    def _value(self, md: Mode, u: np.ndarray) -> float:
        """The objective at ``u`` from its conditional mode (``_BIG`` where not finite)."""
        val = md.log_marginal + self.space.log_prior(u, jacobian=False)
        return -val if np.isfinite(val) else _BIG

    def _cached(self, u: np.ndarray):
        """The last :meth:`value_and_grad` result if it was at ``u`` (else None)."""
        last = self._last
        return last if last is not None and np.array_equal(last[0], u) else None

    def __call__(self, u: np.ndarray) -> float:
        try:
            with np.errstate(all="ignore"):
                return self._value(self.mode(u), u)
        except FloatingPointError as exc:
            self.failures.add(str(exc))
            return _BIG
        except (np.linalg.LinAlgError, ValueError):
            return _BIG

    def value_and_grad(self, u: np.ndarray) -> tuple[float, np.ndarray]:
        """Objective and its exact gradient (:func:`~mmreg.inference.gradient.laplace_gradient`).

        Only the log prior of ψ (cheap: no latent solve) is differentiated numerically.
        A repeated call at the same ``u`` (e.g. the stationarity check at the optimum)
        returns the stored result.
        """
        u = np.asarray(u, float)
        last = self._cached(u)
        if last is not None:
            return last[1], last[2].copy()
        g = np.zeros(len(u))
        try:
            with np.errstate(all="ignore"):
                md = self.mode(u)
                f = self._value(md, u)
                if f >= _BIG:
                    return _BIG, g
                J = np.zeros((self.latent.dim, len(u)))
                g_lat = -laplace_gradient(self.latent, self.space, u, md, sensitivity=J)
                if self.z is md.z and np.all(np.isfinite(J)):
                    self._pred = (u.copy(), md.z, J)
        except FloatingPointError as exc:
            self.failures.add(str(exc))
            return _BIG, g
        except (np.linalg.LinAlgError, ValueError):
            return _BIG, g
        for j in range(len(u)):
            h = self.PRIOR_STEP * max(self.uscale[j], abs(u[j]))
            e = np.zeros(len(u))
            e[j] = h
            lp = [-self.space.log_prior(u + s * e, jacobian=False) for s in (1.0, -1.0)]
            g[j] = g_lat[j] + (lp[0] - lp[1]) / (2 * h)
        if not np.all(np.isfinite(g)):  # e.g. a prior with a bound at u: no usable slope
            g = np.where(np.isfinite(g), g, 0.0)
        self._last = (u.copy(), float(f), g.copy(), md)
        return float(f), g

    def at(self, u: np.ndarray) -> tuple[Mode, float]:
        """The conditional mode and the objective at ``u`` (reused from the last
        :meth:`value_and_grad` when that was at ``u``)."""
        last = self._cached(u)
        if last is not None:
            return last[3], last[1]
        md = self.mode(u)
        return md, self._value(md, u)


def fit_laplace(
    posterior: Posterior, u0: np.ndarray | None = None, maxiter: int = 500, mcmc_start: bool = False
) -> LaplaceFit:
    """Optimise the hyperparameters and compute the Laplace covariance.

    Parameters
    ----------
    posterior : Posterior
        The posterior to approximate (:attr:`MMModel.posterior <mmreg.MMModel.posterior>`).
    u0 : ndarray, optional
        Unconstrained starting values of the free hyperparameters (default:
        :meth:`Posterior.start_values <mmreg.inference.posterior.Posterior.start_values>`).
    maxiter : int
        Iteration limit of the optimiser.
    mcmc_start : bool
        True when the fit only starts an MCMC run: no advice to run MCMC is then given.
    """
    latent, space = posterior.latent, posterior.space
    u0 = posterior.start_values() if u0 is None else np.asarray(u0, float)
    if space.dim:
        space.scale = data_scales(latent, space, np.asarray(u0, float))
    conflicts = prior_scale_conflicts(latent, space)
    if conflicts:
        warnings.warn(
            f"the priors of {', '.join(conflicts)} lie far below the scale of the outcome "
            "(SD {:.4g}): they will pull these estimates towards 0. Rescale the outcome "
            "(e.g. to thousands) or give priors on its scale.".format(
                float(np.std(latent.design.outcome["y"]))
            ),
            MMWarning,
            stacklevel=3,
        )
    obj = _Objective(latent, space)
    lo, hi = space.search_box()
    if space.dim:
        us = obj.uscale
        u0 = _warm_start(obj, np.asarray(u0, float), space, maxiter, lo, hi)
        nit = 0
        for attempt in range(WIDEN + 1):
            res = _minimize(obj, u0, lo, hi, us, maxiter)
            nit += res.nit
            edge = internal_edge(res.x, lo, hi, space.transform) | res.outward
            if not edge.any() or attempt == WIDEN:
                break
            lo, hi = widen(lo, hi, edge, space.transform)
            u0 = res.x
        res.nit = nit
        for msg in sorted(obj.failures):
            warnings.warn(
                f"{msg} for some parameter values tried by the optimiser (e.g. exp() "
                "overflowing); those values were rejected. Consider rescaling the "
                "covariate or reparametrising the weight function.",
                MMWarning,
                stacklevel=3,
            )
        if edge.any():
            nat = space.natural_free(res.x)
            names = ", ".join(f"{space.free[j]} = {nat[j]:.4g}" for j in np.flatnonzero(edge))
            warnings.warn(
                f"the estimate of {names} is at the edge of the optimiser's search region, "
                f"or still moving outwards, after widening it {WIDEN} times: the data do not "
                "bound it, so it is not an estimate. Rescale the outcome or covariates, give "
                "this parameter an informative prior or fix it (priors={...: Fixed(value)}).",
                MMWarning,
                stacklevel=3,
            )
            res.success = False
            res.message = f"estimate at the edge of the search region ({names})"
        for name in space.at_prior_bound(res.x, lo, hi):
            x = space.natural_free(res.x)[space.free.index(name)]
            warnings.warn(
                f"the posterior mode of {name} lies on the bound of its prior "
                f"{space.priors[name]} ({name} = {x:.6g}): its Laplace standard error and "
                "interval describe the logit scale of a boundary estimate and are not "
                "reliable; use fit(method='mcmc') for its posterior or widen the prior.",
                MMWarning,
                stacklevel=3,
            )
        if res.success and not _stationary(obj, res.x, lo, us):
            res.success = False
            res.message = "the gradient at the solution is not small (optimiser stalled)"
        if not res.success:
            warnings.warn(
                f"the Laplace optimiser did not converge: {res.message}", MMWarning, stacklevel=3
            )
        u = res.x
    else:
        u = np.zeros(0)
        res = optimize.OptimizeResult(x=u, success=True, fun=obj(u), nit=0)
    try:
        with np.errstate(all="ignore"):
            mode, f_opt = obj.at(u)
    except (MMDataError, MMSpecError):
        raise  # already named
    except (np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
        mode, f_opt = None, str(exc)  # type: ignore[assignment]  # f_opt: the reason
    if mode is None or not f_opt < _BIG:
        at = ", ".join(
            f"{n} = {v:.4g}" for n, v in zip(space.free, space.natural_free(u), strict=True)
        )
        why = f" ({f_opt})" if isinstance(f_opt, str) else ""
        raise MMDataError(
            f"the {latent.family.family.name} model cannot be evaluated at the hyperparameters "
            f"the optimiser ended at ({at or 'none'}){why}: the likelihood or its curvature "
            "is not finite there. Check the scale of the outcome and covariates (rescale "
            "extreme values) and the weight function, or give starting values (start=...)."
        )
    P = latent.P
    cov_u, ok = _hyper_covariance(obj, u, warn=not mcmc_start)
    cov_bb = mode.factor.coef_block(P)
    if space.dim:
        J = mode_sensitivity(latent, space, u, mode)
        cross = J @ cov_u
        cov_coef = cov_bb + cross[:P] @ J[:P].T
    else:
        J = np.zeros((latent.dim, 0))
        cross, cov_coef = J, cov_bb
    return LaplaceFit(
        u=u,
        cov_u=cov_u,
        mode=mode,
        cov_coef=cov_coef,
        cross=cross,
        sensitivity=J,
        log_posterior=-float(f_opt),
        optimizer=res,
        hessian_ok=ok,
        box=(lo, hi),
    )


def _warm_start(
    obj: _Objective, u0: np.ndarray, space: HyperSpace, maxiter: int, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Optimise the other hyperparameters with the weight parameters held at their start.

    Weight functions such as ``exp(b1 * x)`` make the objective strongly non-quadratic in
    the weight parameters; from a start where the SDs are far from their optimum the first
    quasi-Newton steps can carry the weight parameters into another basin (measured: a
    local optimum at b1 = -1.67, 0.29 below the b1 = 0 value).  Fitting the SDs first, at
    the starting weights (b = 0: equal weights), and then releasing everything avoids that.
    """
    w_idx = [space.free.index(n) for b in space.block_names for n in b if n in space.free]
    rest = [j for j in range(space.dim) if j not in w_idx]
    if not w_idx or not rest:
        return u0

    class _Sub:
        def _u(self, v):
            u = u0.copy()
            u[rest] = v
            return u

        def __call__(self, v):
            return obj(self._u(v))

        def value_and_grad(self, v):
            f, g = obj.value_and_grad(self._u(v))
            return f, g[rest]

    res = _minimize(_Sub(), u0[rest], lo[rest], hi[rest], obj.uscale[rest], maxiter)
    out = u0.copy()
    if np.isfinite(res.fun) and res.fun < _BIG:
        out[rest] = res.x
    return out


class _ValueAndGrad(Protocol):
    """What the minimiser needs of an objective (``_Objective`` or a restriction of it)."""

    def value_and_grad(self, u: np.ndarray) -> tuple[float, np.ndarray]: ...


def _stationary(obj: _ValueAndGrad, u: np.ndarray, lo: np.ndarray, us: np.ndarray) -> bool:
    """Is ``u`` a stationary point (or at the lower limit ``lo``)?  Guards against stalled
    line searches; the gradient is measured in the coordinates' units ``us``."""
    f0, g = obj.value_and_grad(u)
    if f0 >= _BIG:
        return False
    at_lower = (u <= lo + 1e-6) & (g > 0)
    return bool(np.all((np.abs(g * us) < 1e-2 * max(1.0, abs(f0)) ** 0.5) | at_lower))


def _minimize(
    obj: _ValueAndGrad,
    u0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    us: np.ndarray,
    maxiter: int,
    radius: float = 2.5,
    rounds: int = 16,
) -> optimize.OptimizeResult:
    """L-BFGS-B inside a moving trust box, in the coordinates' data units ``u / us``.

    A quasi-Newton step can jump to hyperparameters where the likelihood underflows or the
    weights overflow (e.g. a Weibull shape of e^8, ``exp(b1 * x)`` with large x), where the
    objective is rejected and the line search stalls.  Each round stays within ``radius``
    of its start; the box is re-centred while the optimum is on its edge, and shrunk when a
    round stalls away from a stationary point.  ``lo``, ``hi`` are the outer limits
    (:meth:`HyperSpace.search_box`).  Working in units ``us`` (the data scale of a weight
    parameter) makes the steps and the gradient tolerance independent of the covariate's
    units: ``b1`` of ``exp(b1 * x)`` with x in 1e-4 units is found as precisely as with x
    in units.
    """
    us = np.asarray(us, float)

    def fun(v):
        f, g = obj.value_and_grad(v * us)
        return f, g * us

    vlo, vhi = lo / us, hi / us
    center = np.clip(u0 / us, vlo, vhi)
    nit = 0
    res: Any = None  # set by the first round
    outward = np.zeros(len(center), dtype=bool)
    for _ in range(rounds):
        blo, bhi = np.maximum(vlo, center - radius), np.minimum(vhi, center + radius)
        bounds = list(zip(blo, bhi, strict=True))
        res = optimize.minimize(
            fun,
            center,
            method="L-BFGS-B",
            bounds=bounds,
            jac=True,
            options={"maxiter": maxiter, "ftol": 1e-13, "gtol": 1e-6},
        )
        nit += res.nit
        at_box = (np.isclose(res.x, blo) & (blo > vlo)) | (np.isclose(res.x, bhi) & (bhi < vhi))
        moved = np.abs(res.x - center)
        center = res.x
        outward = at_box | (moved >= radius)
        if outward.any():
            continue  # the optimum lies beyond the box: re-centre
        if _stationary(obj, res.x * us, lo, us):
            break
        radius /= 4.0  # stalled (rejected trial points): smaller steps
    res.nit = nit
    res.outward = outward  # still re-centring after the last round: moving outwards
    res.x = res.x * us
    res.jac = res.jac / us
    return res


def _hyper_covariance(obj: _Objective, u: np.ndarray, warn: bool = True) -> tuple[np.ndarray, bool]:
    """Inverse observed information of ``u`` (central differences of the exact gradient).

    The curvature is taken in the coordinates' data units (``obj.uscale``: a weight
    parameter of a covariate on a 1e4 scale has a curvature 1e8 times larger than on the
    unit scale), so the eigenvalue test for a flat direction is relative to the data's
    scale, not to the units the user happened to choose.
    """
    if not len(u):
        return np.zeros((0, 0)), True
    us = obj.uscale
    cols = []  # central differences of the exact gradient: 2d evaluations
    for j in range(len(u)):
        e = np.zeros(len(u))
        e[j] = 1e-4 * us[j]
        cols.append((obj.value_and_grad(u + e)[1] - obj.value_and_grad(u - e)[1]) * (us / 2e-4))
    H = np.column_stack(cols)  # curvature in the scaled coordinates u / us
    H = 0.5 * (H + H.T)
    if not np.all(np.isfinite(H)):
        H = np.where(np.isfinite(H), H, 0.0)
    w, V = np.linalg.eigh(H)
    # the differences carry noise of ~1e-8–1e-7 relative to the largest curvature (the mode
    # solves' tolerance; an SD at its lower bound gave a smallest eigenvalue of +1.8e-7 or
    # −3.6e-7 of the largest, by the factorisation used): below 1e-6 a direction is flat
    # (its Laplace SD ≥ 1000 × the best-determined one's, in data units)
    tol = 1e-6 * max(1.0, float(np.max(np.abs(w))))
    small = w <= tol
    ok = not bool(small.any())
    if not ok and warn:
        bad = [obj.space.free[i] for i in np.flatnonzero(np.abs(V[:, small]).max(axis=1) > 0.3)]
        warnings.warn(
            "the marginal posterior of the hyperparameters is flat or not at a maximum in "
            f"the direction of {bad or list(obj.space.free)}; their standard errors are not "
            "reliable (an SD may be at its lower bound, or a weight parameter unidentified). "
            "Consider fit(method='mcmc').",
            MMWarning,
            stacklevel=4,
        )
    if not ok:
        w = np.maximum(w, 1e-8 * max(1.0, np.max(np.abs(w))))
    return us[:, None] * ((V / w) @ V.T) * us[None, :], ok
