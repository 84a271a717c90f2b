"""The latent vector in Laplace-whitened coordinates, and a Hamiltonian step on them.

For hyperparameters ψ let ẑ(ψ) + δ(ψ) and H(ψ) be the centre and precision of the
importance proposal of :mod:`mmreg.inference.importance` (the conditional mode, moved by the
skewness correction, and the factor of the negative Hessian), and S(ψ) the map of the
factor's :meth:`~mmreg.inference.factors.LatentFactor.sample` (S Sᵀ = H⁻¹).  Writing the
latent vector as

    z = ẑ(ψ) + δ(ψ) + S(ψ) w,

the joint posterior of (ψ, w) is, up to a constant,

    log π(ψ, w) = log p(ψ) + log p(y, z | ψ) − ½ log |H(ψ)|
                = log p(ψ) + Φ_ψ(w) − ½ |w|²,

where Φ_ψ(w) = log p(y, z | ψ) − log N(z; ẑ + δ, H⁻¹) is the log importance weight of
one particle with normals w: its average over w ~ N(0, I) is p(y | ψ), so π(ψ, w) has
the exact posterior of ψ as its marginal, and z is an exact draw of the latent vector.
Where the Laplace Gaussian fits, Φ_ψ is nearly constant in w and w | ψ is nearly N(0, I)
(exactly so for the Gaussian family), and ψ | w is nearly the marginal posterior of ψ.

:mod:`mmreg.inference.latent_gibbs` samples (ψ, w) by Gibbs steps: w | ψ by
:func:`hmc_step` (Hamiltonian Monte Carlo whose Gaussian part N(0, I) is integrated
exactly, a rotation, and Φ_ψ enters by kicks: Beskos, Pinski, Sanz-Serna and Stuart 2011,
*Stoch. Proc. Appl.* 121: 2201–2230), and ψ | w by emcee's Metropolis–Hastings moves.
Unlike the pseudo-marginal sampler, whose importance weights' variance grows with the data
(``benchmarks/README.md``, "The importance weights are at the floor of any Gaussian
proposal"), neither step needs the weights of fresh normals to agree.
"""

from __future__ import annotations

import numpy as np

from mmreg.inference.eta import linear_predictor
from mmreg.inference.logpost import LogPosterior

__all__ = ["HMC_ANGLE", "HMC_STEPS", "Whitened", "hmc_step"]

#: Leapfrog steps of one Hamiltonian update of w, each turning the Gaussian part by
#: :data:`HMC_ANGLE` (jittered ±20%): three steps of π/6 turn it by π/2, so that where Φ_ψ
#: is flat an update is an independent draw of w.  Simulated Weibull data of
#: ``benchmarks.scale --latent gibbs`` (2026-12-06): acceptance 0.94 at 10,000 groups and
#: 0.79 at 100,000; coalgov-sized models and the tests' small ones 0.8–0.95.
HMC_STEPS = 3
HMC_ANGLE = np.pi / 6


class Whitened:
    """The conditional of w given ψ (see the module docstring).

    Built by :meth:`at`; holds the proposal's centre and factor at ψ, so that w can be
    updated many times at one ψ without a new factorisation.

    Attributes
    ----------
    u : ndarray
        ψ on the unconstrained scale.
    log_prior : float
        log p(ψ) with the Jacobian of the unconstrained scale.
    hyper : Hyper
    """

    def __init__(self, logpost: LogPosterior, u: np.ndarray, log_prior: float, hyper, mode):
        lat = logpost.latent
        self.u = u
        self.log_prior = log_prior
        self.hyper = hyper
        self.latent = lat
        self.D, self.R, self.off = lat.assemble(hyper.theta)
        self.factor = mode.factor
        sampler = logpost.sampler
        shift = 0.0 if sampler is None else sampler.shift(hyper, mode, self.D, self.R)
        self.center = mode.z + shift
        self._prior_mean = lat.prior_mean(hyper)
        #: ½ log |Q| − ½ log |H|: the part of Φ_ψ that does not depend on w
        self.const = 0.5 * lat.logdet_Q(hyper.sd, hyper.cor) - 0.5 * self.factor.logdet

    @classmethod
    def at(cls, logpost: LogPosterior, u: np.ndarray) -> Whitened | None:
        """The conditional at ``u``, or None where the prior rules ``u`` out or the mode
        search fails.

        The mode search is :meth:`LogPosterior.mode_at
        <mmreg.inference.logpost.LogPosterior.mode_at>` (``logpost`` has particles, so
        chord steps at the importance sampler's tolerance), a function of ``u`` only: the
        centre and factor, and hence π(ψ, w), are the same whenever ``u`` is evaluated.
        """
        space = logpost.space
        u = np.asarray(u, float)
        x = space.natural_free(u)
        lp = space.log_prior(u, jacobian=True, natural=x)
        if not np.isfinite(lp):
            return None
        with np.errstate(all="ignore"):
            try:
                hyp = space.hyper(u, natural=x)
                out = cls(logpost, u, float(lp), hyp, logpost.mode_at(u, hyp))
            except (np.linalg.LinAlgError, ValueError, FloatingPointError):
                return None
        if not (np.all(np.isfinite(out.center)) and np.isfinite(out.const)):
            return None
        return out

    def z(self, w: np.ndarray) -> np.ndarray:
        """The latent vector ẑ + δ + S w."""
        return self.center + self.factor.sample(w[:, None])[:, 0]

    def log_weight(self, w: np.ndarray, grad: bool = False):
        """Φ_ψ(w), and its gradient in w with ``grad`` (else None).

        The gradient is Sᵀ ∇_z log p(y, z | ψ) + w, with ∇_z log p(y, z | ψ) =
        Aᵀ ∂ℓ/∂η − Q (z − m) (:meth:`~mmreg.inference.factors.LatentFactor.sample_t`).
        """
        lat, hyp = self.latent, self.hyper
        z = self.z(w)
        eta = linear_predictor(self.D, self.R, self.off, z, lat.P)
        r = z - self._prior_mean
        qr = lat.prior_apply(hyp.sd, r, hyp.cor)
        ll = lat.family.loglik(eta, hyp.phi)
        val = float(ll - 0.5 * r @ qr + self.const + 0.5 * w @ w)
        if not grad:
            return val, None
        ge, _ = lat.family.derivs(eta, hyp.phi)
        gz = np.concatenate([self.D.T @ ge, lat.transpose(self.R) @ ge]) - qr
        return val, self.factor.sample_t(gz[:, None])[:, 0] + w

    def log_joint(self, w: np.ndarray, log_weight: float | None = None) -> float:
        """log π(ψ, w) up to a constant (``log_weight``: Φ_ψ(w) if already known)."""
        phi = self.log_weight(w)[0] if log_weight is None else log_weight
        val = self.log_prior + phi - 0.5 * float(w @ w)
        return val if np.isfinite(val) else -np.inf


def hmc_step(
    cond: Whitened,
    w: np.ndarray,
    random,
    steps: int = HMC_STEPS,
    angle: float = HMC_ANGLE,
    start: tuple[float, np.ndarray] | None = None,
) -> tuple[np.ndarray, float, bool, np.ndarray]:
    """One Hamiltonian update of w given ψ, leaving N(w; 0, I) exp(Φ_ψ(w)) invariant.

    Kick (½ ε ∇Φ), rotate (w, p) by ε (the exact flow of the N(0, I) part), kick, ``steps``
    times, then accept by the change in total energy.  The integrator is volume-preserving
    and reversible, so the update is exact for any step.

    Parameters
    ----------
    cond : Whitened
    w : ndarray
        Current normals.
    random : numpy.random.RandomState or Generator
        Source of the momentum, the jitter and the acceptance draw.
    steps : int
    angle : float
    start : (float, ndarray), optional
        Φ_ψ and its gradient at ``w`` when known (the last step's end at the same ψ):
        a step then costs ``steps`` gradients instead of ``steps + 1``.

    Returns
    -------
    w : ndarray
        The new (or the current) normals.
    log_weight : float
        Φ_ψ there.
    accepted : bool
    grad : ndarray
        The gradient of Φ_ψ there (``start`` of the next step at this ψ).
    """
    eps = angle * random.uniform(0.8, 1.2)
    c, s = np.cos(eps), np.sin(eps)
    p = random.standard_normal(len(w))
    f0, g0 = cond.log_weight(w, grad=True) if start is None else start
    h0 = -f0 + 0.5 * (w @ w + p @ p)
    x, f1, g = w, f0, g0
    with np.errstate(all="ignore"):
        for _ in range(steps):
            p = p + 0.5 * eps * g
            x, p = c * x + s * p, c * p - s * x
            f1, g = cond.log_weight(x, grad=True)
            if not np.isfinite(f1):
                break
            p = p + 0.5 * eps * g
        h1 = -f1 + 0.5 * (x @ x + p @ p)
    if np.isfinite(h1) and np.log(random.uniform()) < h0 - h1:
        return x, f1, True, g
    return w, f0, False, g0
