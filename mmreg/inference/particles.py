"""How many importance particles a pseudo-marginal run uses.

A pseudo-marginal chain (non-Gaussian families, :mod:`mmreg.inference.importance`) mixes
well only while the SD of its log-likelihood estimate is about 1 or less (Doucet, Pitt,
Deligiannidis and Kohn 2015, *Biometrika* 102: 295–313; with mmreg's ensemble and
independence proposals walkers stick above ~1).  That SD grows with the data: a Gaussian
proposal cannot match the third-order part of log p(y, z | ψ) around the mode, whose
variance per particle is a sum over the rows, and the estimate's variance is then about
``(exp(s²) − 1) / K`` for a per-particle log-weight variance s² — more than ``1/K`` falls
once s² is large.  Measured at the Laplace mode of a simulated Weibull model
(``benchmarks/README.md``, "Particles chosen from the estimator's SD"): SD 0.26 with 8
particles at 10,000 groups, 2.32 with 8 and 1.67 with 32 at 100,000 groups.

:func:`choose_particles` therefore measures the SD at the Laplace mode (20 evaluations, the
run's own seeding, so the figure reported with the results is this one) and, when the
particles are not given, raises them while the SD is above :data:`SD_TARGET`: each round
multiplies K by ``(SD / (0.9 · SD_TARGET))²`` (at least 2, since the SD falls more slowly
than 1/√K for heavy-tailed weights) and measures again, up to :data:`PARTICLES_MAX`
(fewer for many observations, :data:`ETA_MAX`).  While the target is not met, the
raises stop early once one does not pay: the cost of an effective draw grows about as
K · exp(SD²) (the inefficiency of a pseudo-marginal chain grows roughly as exp(σ²) for an
estimator SD σ; Pitt, Silva, Giordani and Kohn 2012, *J. Econometrics* 171: 134–151), and
the run takes the K with the lowest K · exp(SD²) measured.  At 100,000 simulated Weibull
groups that is 55 particles (SD 1.53; 8 gave 2.34, 160 gave 1.33): above the target, which
the convergence warning then reports.  On every coalgov reference model and the SBC
designs the family's default already meets the target, so their runs are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ETA_MAX",
    "PARTICLES_MAX",
    "SD_TARGET",
    "ParticleChoice",
    "choose_particles",
    "estimator_sd",
]

#: Largest SD of the log-likelihood estimate at the Laplace mode that an automatic choice
#: accepts.
SD_TARGET = 1.0

#: Most particles an automatic choice takes (an evaluation holds dim_z × K particles and
#: n × K linear predictors) ...
PARTICLES_MAX = 256

#: ... and at most this many linear predictors n × K per evaluation (400 MB of float64 in
#: each of the few n × K arrays a family's log-likelihood makes): 500 particles for
#: 100,000 observations (groups).
ETA_MAX = 50_000_000

#: Evaluations at the Laplace mode per SD measurement (relative SE of the SD ≈ 16%).
REPS = 20

#: A raise aims at this fraction of SD_TARGET, so that the measurement's noise rarely needs
#: a second raise.
_AIM = 0.9


@dataclass(frozen=True)
class ParticleChoice:
    """The particles of a run and the SD of the log-likelihood estimate they give.

    Attributes
    ----------
    particles : int
        Particles per evaluation (0: exact likelihood, no estimate).
    sd : float
        SD of the log-likelihood estimate at the Laplace mode with them (0 when exact).
    auto : bool
        Whether they were chosen automatically (``particles=None``).
    tried : tuple of (int, float)
        Every (particles, SD) measured, in order.
    """

    particles: int
    sd: float
    auto: bool
    tried: tuple[tuple[int, float], ...]

    @property
    def capped(self) -> bool:
        """An automatic choice that raised the particles but stopped above the target (at
        its cap, or where more particles no longer paid)."""
        return self.auto and len(self.tried) > 1 and self.sd > SD_TARGET


def estimator_sd(logpost, u: np.ndarray, reps: int = REPS) -> float:
    """SD of ``logpost``'s log-likelihood estimate at ``u`` over ``reps`` evaluations.

    The evaluations are at ``u + 1e-12·i`` (one particle seed each, from the run's seed):
    the same value is measured again for the same run.
    """
    vals = [logpost.evaluate(u + 1e-12 * i)[0] for i in range(reps)]
    return float(np.std(vals, ddof=1))


def choose_particles(logpost, u: np.ndarray, requested: int | None, sd: float | None = None):
    """The log posterior with the run's particles, and the :class:`ParticleChoice`.

    Parameters
    ----------
    logpost : LogPosterior
        Built with the family's default particles (or the requested ones).
    u : ndarray
        The Laplace mode of the unconstrained hyperparameters.
    requested : int or None
        The user's ``particles=``; ``None`` chooses them from the measured SD.
    sd : float, optional
        :func:`estimator_sd` of ``logpost`` at ``u``, when already measured.

    Returns
    -------
    logpost : LogPosterior
    choice : ParticleChoice
    """
    K = logpost.K
    if K == 0:
        return logpost, ParticleChoice(0, 0.0, requested is None, ())
    if sd is None:
        sd = estimator_sd(logpost, u)
    tried = [(K, sd)]
    if requested is None:
        cap = max(K, min(PARTICLES_MAX, ETA_MAX // max(logpost.latent.n, 1)))
        best = (_cost(K, sd), logpost, K, sd)
        while not sd <= SD_TARGET and K < cap:
            grow = max(2.0, (sd / (_AIM * SD_TARGET)) ** 2) if np.isfinite(sd) else 2.0
            K = int(min(cap, np.ceil(K * grow)))
            lp = logpost.with_particles(K)
            sd = estimator_sd(lp, u)
            tried.append((K, sd))
            if sd <= SD_TARGET or _cost(K, sd) < best[0]:
                best = (_cost(K, sd), lp, K, sd)  # the target met, or cheaper draws
            else:
                break  # above the target, and more particles cost more than they save
        _, logpost, K, sd = best
    return logpost, ParticleChoice(K, sd, requested is None, tuple(tried))


def _cost(K: int, sd: float) -> float:
    """Relative cost of an effective draw with K particles at estimator SD ``sd``."""
    return float(K * np.exp(sd**2)) if np.isfinite(sd) else np.inf
