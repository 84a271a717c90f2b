"""What moving one hyperparameter does at a conditional mode (for the Laplace gradient).

For a free coordinate: the explicit partial derivative of the log joint at fixed ẑ, the
mode's derivative dẑ/dψ = H⁻¹ ∂G/∂ψ (implicit function theorem: one solve with the factor
at the mode) and dη̂/dψ.  Shared by :func:`~mmreg.inference.gradient.laplace_gradient`
and :func:`~mmreg.inference.gradient.mode_sensitivity`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["Direction", "Directions"]


@dataclass
class Direction:
    """What moving one free hyperparameter does at a conditional mode.

    Attributes
    ----------
    explicit : float
        Partial derivative of log p(y | ẑ) + log p(ẑ | ψ) at fixed ẑ (natural scale).
    zdot : ndarray
        dẑ/dψ (natural scale).
    eta_dot : ndarray
        dη̂/dψ.
    scale : float
        Natural size of the parameter (for difference steps).
    k_w : (int, int) or None
        (block, index) of a weight parameter.
    k_sd : int or None
        Index of a random-effect SD.
    k_phi : int or None
        Index of a family parameter.
    k_cor : int or None
        Index of a correlation (``re(1 + x, cor = TRUE)``).
    k_coef : int or None
        Index of a coefficient sampled with the hyperparameters (position in
        ``LatentModel.sampled``).
    dDR : tuple or None
        For weight parameters: (∂D/∂θ, ∂R.data/∂θ).
    """

    explicit: float
    zdot: np.ndarray
    eta_dot: np.ndarray
    scale: float = 1.0
    k_w: tuple[int, int] | None = None
    k_sd: int | None = None
    k_phi: int | None = None
    k_coef: int | None = None
    dDR: tuple | None = None
    k_cor: int | None = None


class Directions:
    """:class:`Direction` of each free coordinate at a conditional mode.

    For free coordinate ``j``: the explicit partial derivative of log p(y | ẑ) + log p(ẑ | ψ)
    at fixed ẑ, the mode's derivative dẑ/dψ = H⁻¹ ∂G/∂ψ (implicit function theorem: one
    solve with the factor at the mode) and dη̂/dψ — shared by the gradient and by
    :func:`mode_sensitivity`.
    """

    def __init__(self, latent, space, u: np.ndarray, mode):
        self.latent, self.space, self.mode = latent, space, mode
        hyp = space.hyper(u)
        self.sd = np.asarray(hyp.sd, float)
        self.phi = tuple(hyp.phi)
        self.cor = np.asarray(hyp.cor, float)
        self.theta = [np.asarray(t, float) for t in hyp.theta]
        self.D, self.R, self.off = latent.assemble(hyp.theta)
        self.r = mode.z - latent.prior_mean(hyp)
        self.g0, self.c0 = latent.family.derivs(mode.eta, self.phi)
        self.n_w = space.n_weights
        self.blocks = [(bi, k) for bi, b in enumerate(space.block_names) for k in range(len(b))]
        #: natural data scale of each free coordinate (:func:`~mmreg.inference.laplace.
        #: data_scales`; ones until set): the unit of the difference steps
        self.unit = np.asarray(space.scale, float)

    def A(self, Dm, Rm, v):  # A v
        P = self.latent.P
        return Dm @ v[:P] + (Rm @ v[P:] if self.latent.q else 0.0)

    def At(self, Dm, Rm, w):  # Aᵀ w
        return np.concatenate([Dm.T @ w, Rm.T @ w]) if self.latent.q else Dm.T @ w

    def curv_apply(self, v):  # C v, C = diag(d) − U diag(c) Uᵀ the likelihood curvature at η̂
        c0 = self.c0
        out = c0.d * v
        if c0.U is not None:
            out = out - c0.U @ (c0.c * (c0.U.T @ v))
        return out

    def __call__(self, j: int) -> Direction:
        """The :class:`Direction` of free coordinate ``j``."""
        space = self.space
        k = space.free_index[j]  # position among all hyperparameters
        kind = space.kind_of(k)
        if kind == "weight":
            return self._weight(j, self.blocks[k])
        if kind == "sd":
            return self._sd(k - self.n_w)
        if kind == "cor":
            return self._prior(k_cor=int(k - space.cor_slice.start))
        if kind == "phi":
            return self._phi(j, k - space.phi_slice.start)
        return self._coef(j, k - space.coef_slice.start)

    def _weight(self, j: int, k_w: tuple[int, int]) -> Direction:
        """A weight parameter: A and the offset depend on it."""
        latent, D, R = self.latent, self.D, self.R
        scale = max(self.unit[j], abs(self.theta[k_w[0]][k_w[1]]))
        if latent.design.mm[k_w[0]].feature is not None:
            return self._weight_exact(k_w, scale)
        h = 1e-6 * scale
        parts = []
        for sgn in (1.0, -1.0):
            th = [x.copy() for x in self.theta]
            th[k_w[0]][k_w[1]] += sgn * h
            Dm, Rm, om = latent.assemble_fresh(tuple(th))
            parts.append(
                (
                    om + self.A(Dm, Rm, self.mode.z),
                    self.At(Dm, Rm, self.g0),
                    Dm,
                    Rm.data if latent.q else None,
                )
            )
        deta = (parts[0][0] - parts[1][0]) / (2 * h)  # ∂η/∂θ at fixed ẑ
        dDR = (
            (parts[0][2] - parts[1][2]) / (2 * h),
            (parts[0][3] - parts[1][3]) / (2 * h)  # type: ignore[operator]  # arrays if q
            if latent.q
            else None,
        )
        dG = (parts[0][1] - parts[1][1]) / (2 * h) - self.At(D, R, self.curv_apply(deta))
        zdot = self.mode.factor.solve(dG)
        return Direction(
            explicit=float(self.g0 @ deta),
            zdot=zdot,
            eta_dot=deta + self.A(D, R, zdot),
            scale=scale,
            k_w=k_w,
            dDR=dDR,
        )

    def _weight_exact(self, k_w: tuple[int, int], scale: float) -> Direction:
        """A parameter of a block with an aggregated feature: exact ∂A/∂θ and ∂offset/∂θ
        (:meth:`~mmreg.inference.latent.LatentModel.design_derivative`)."""
        latent, D, R = self.latent, self.D, self.R
        dD, dRd, doff = latent.design_derivative(tuple(self.theta), *k_w)
        dR = sp.csr_matrix((dRd, R.indices, R.indptr), shape=R.shape) if latent.q else R
        deta = doff + self.A(dD, dR, self.mode.z)  # ∂η/∂θ at fixed ẑ
        dG = self.At(dD, dR, self.g0) - self.At(D, R, self.curv_apply(deta))
        zdot = self.mode.factor.solve(dG)
        return Direction(
            explicit=float(self.g0 @ deta),
            zdot=zdot,
            eta_dot=deta + self.A(D, R, zdot),
            scale=scale,
            k_w=k_w,
            dDR=(dD, dRd),
        )

    def _sd(self, b: int) -> Direction:
        """A random-effect SD: Q_b = K / s²."""
        latent = self.latent
        if latent.cor.involves(b):
            return self._prior(k_sd=b)
        sl, K = latent.re_slices[b], latent.re_K[b]
        s = self.sd[b]
        rb = self.r[sl]
        Kr = rb if K is None else K @ rb
        explicit = float(rb @ Kr) / s**3 - (sl.stop - sl.start) / s
        dG = np.zeros(latent.dim)  # ∂G/∂s = −(∂Q/∂s) r = (2 / s³) K r_b
        dG[sl] = 2.0 * Kr / s**3
        zdot = self.mode.factor.solve(dG)
        return Direction(
            explicit=explicit, zdot=zdot, eta_dot=self.A(self.D, self.R, zdot), scale=s, k_sd=b
        )

    def _prior(self, k_sd: int | None = None, k_cor: int | None = None) -> Direction:
        """An SD or the correlation of a ``cor = TRUE`` pair: ∂Q/∂ψ from the exact
        derivatives of the prior multipliers (:mod:`mmreg.inference.correlated`)."""
        latent, pairs = self.latent, self.latent.cor
        dm = pairs.dmultipliers(self.sd, self.cor, k_sd, k_cor)
        dQr = pairs.apply_parts(dm, self.r, latent.re_K)  # (∂Q/∂ψ) r
        explicit = -0.5 * float(self.r @ dQr) + 0.5 * pairs.dlogdet(self.sd, self.cor, k_sd, k_cor)
        zdot = self.mode.factor.solve(-dQr)  # ∂G/∂ψ = −(∂Q/∂ψ) r
        if k_sd is not None:
            scale = float(self.sd[k_sd])
        else:  # a correlation: steps that stay inside (−1, 1)
            scale = min(1.0, 1.0 - abs(float(self.cor[k_cor])))
        return Direction(
            explicit=explicit,
            zdot=zdot,
            eta_dot=self.A(self.D, self.R, zdot),
            scale=scale,
            k_sd=k_sd,
            k_cor=k_cor,
        )

    def _phi(self, j: int, i: int) -> Direction:
        """A family parameter."""
        phi, fam, eta = self.phi, self.latent.family, self.mode.eta
        # relative to the parameter's data scale, and never a step that could reach 0
        # (family parameters are positive: a Gaussian sigma of 1e-8 takes 1e-14 steps)
        scale = max(self.unit[j], abs(phi[i]))
        if phi[i] > 0:
            scale = min(scale, 1e3 * phi[i])
        h = 1e-6 * scale
        up = tuple(p + h * (m == i) for m, p in enumerate(phi))
        dn = tuple(p - h * (m == i) for m, p in enumerate(phi))
        dg = (fam.derivs(eta, up)[0] - fam.derivs(eta, dn)[0]) / (2 * h)
        explicit = float(np.atleast_1d(fam.dphi(eta, phi))[i])
        zdot = self.mode.factor.solve(self.At(self.D, self.R, dg))
        return Direction(
            explicit=explicit, zdot=zdot, eta_dot=self.A(self.D, self.R, zdot), scale=scale, k_phi=i
        )

    def _coef(self, j: int, i: int) -> Direction:
        """A coefficient sampled with ψ, pinned in z at its value β by the prior
        N(β, 1/prec): ∂G/∂β = prec e_c, so dẑ/dβ = H⁻¹ prec e_c (≈ e_c for the coefficient
        itself, the regression of the others on it elsewhere).  The explicit derivative
        prec (ẑ_c − β) is the score D_cᵀ g at the mode, computed as such (the difference is
        below rounding)."""
        latent = self.latent
        c = int(latent.sampled[i])
        dG = np.zeros(latent.dim)
        dG[c] = latent.coef_prec[c]
        zdot = self.mode.factor.solve(dG)
        scale = max(self.unit[j], abs(float(self.mode.z[c])))
        return Direction(
            explicit=float(self.D[:, c] @ self.g0),
            zdot=zdot,
            eta_dot=self.A(self.D, self.R, zdot),
            scale=scale,
            k_coef=i,
        )
