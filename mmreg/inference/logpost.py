"""The density the sampler evaluates: log p(ψ | y) on the unconstrained scale.

:class:`LogPosterior` is what emcee calls for every walker (see :mod:`mmreg.inference.mcmc`
for the route as a whole).  For the Gaussian family log p(y | ψ) is exact (Laplace is
exact) and the latent draw of a kept state comes from its exact Gaussian conditional; for
the other families p(y | ψ) is estimated without bias by importance sampling with K
particles from the Laplace Gaussian (pseudo-marginal), and the latent draw is one of the
particles, resampled by importance weight.  Every evaluation is seeded from the evaluated
point and the run's seed (:func:`_seed_for`), so it is reproducible bit for bit in any
process.  Newton is warm-started from the Laplace mode extrapolated linearly in ψ, over a
bounded step (:data:`MAX_EXTRAPOLATION`).
"""

from __future__ import annotations

import hashlib

import numpy as np

from mmreg.inference.gaussian_sums import GaussianSums
from mmreg.inference.importance import ImportanceSampler
from mmreg.inference.pointwise import draw_loglik
from mmreg.inference.posterior import Posterior

__all__ = ["LogPosterior", "MAX_EXTRAPOLATION", "as_posterior"]


def _seed_for(u: np.ndarray, seed: int) -> int:
    h = hashlib.blake2b(
        np.ascontiguousarray(u, dtype=np.float64).tobytes(),
        digest_size=8,
        key=seed.to_bytes(8, "little", signed=False),
    )
    return int.from_bytes(h.digest(), "little")


class LogPosterior:
    """log p(ψ | y) (estimated, for pseudo-marginal) on the unconstrained scale.

    Picklable, so it can be evaluated in a process pool.  Returns ``(log_prob, seed)``;
    the seed is kept by emcee as a blob to regenerate the particles of kept states.  With
    ``keep_z`` it returns ``(log_prob, seed, z, loglik)``: the latent draw and its
    log-likelihood summed over the groups (NaN where the point has no draw).
    """

    def __init__(
        self,
        posterior,
        z0: np.ndarray,
        u0: np.ndarray,
        J: np.ndarray,
        particles: int,
        seed: int,
        keep_z: bool = False,
        sampler: ImportanceSampler | None = None,
    ):
        self.posterior = posterior = as_posterior(posterior)
        # keep_z: also return the latent draw of every evaluated point (an emcee blob), so
        # kept states need no second evaluation; only for small latent vectors (memory)
        self.keep_z = keep_z
        self.latent, self.space = posterior.latent, posterior.space
        # warm start of Newton: the mode extrapolated linearly from the Laplace fit
        self.z0, self.u0, self.J = z0, u0, J
        self.K = particles
        self.seed = seed
        # the importance sampler is exact for any proposal: a loose Newton tolerance only
        # moves the proposal's centre by a negligible amount (a Newton decrement of 1e-2
        # leaves it ~0.1 SD from the mode; coalgov weib_hm: 3.4 -> 2.0 Newton steps per
        # evaluation, same estimator SD and ESS)
        self.tol = 1e-9 if particles == 0 else 1e-2
        # the importance sampler's mean-shift variances are fixed at the Laplace mode u0
        if sampler is None and particles > 0:
            sampler = ImportanceSampler.at(self.latent, self.space.hyper(u0), z0)
        self.sampler = sampler
        # Gaussian family: log p(y | ψ) from sufficient statistics
        self.sums = GaussianSums.of(self.latent, z0) if particles == 0 else None

    @classmethod
    def from_laplace(
        cls, posterior, laplace, particles: int, seed: int, keep_z: bool = False
    ) -> LogPosterior:
        """The log posterior warm-started from a Laplace fit."""
        return cls(
            posterior, laplace.mode.z, laplace.u, laplace.sensitivity, particles, seed, keep_z
        )

    def __reduce__(self):
        return (
            type(self),
            (
                self.posterior,
                self.z0,
                self.u0,
                self.J,
                self.K,
                self.seed,
                self.keep_z,
                self.sampler,
            ),
        )

    def without_z(self) -> LogPosterior:
        """The same log posterior without the latent draw (tuning: its states are never
        kept, and for the Gaussian family the draw is a third of an evaluation)."""
        if not self.keep_z:
            return self
        return type(self)(
            self.posterior, self.z0, self.u0, self.J, self.K, self.seed, False, self.sampler
        )

    def with_particles(self, K: int) -> LogPosterior:
        """The same log posterior with ``K`` importance particles (same seed and sampler)."""
        return type(self)(
            self.posterior, self.z0, self.u0, self.J, K, self.seed, self.keep_z, self.sampler
        )

    def evaluate(self, u: np.ndarray, want_z: bool = False):
        val, s, z, _ = self._evaluate(u, want_z)
        return val, s, z

    def _evaluate(self, u: np.ndarray, want_z: bool):
        """:meth:`evaluate`, also returning the hyperparameters (None where the prior
        rules ``u`` out)."""
        s = _seed_for(u, self.seed)
        # the generator only where it draws (a Gaussian evaluation without z draws nothing)
        rng = np.random.default_rng(s) if want_z or self.K > 0 else None
        space = self.space
        x = space.natural_free(u)
        lp = space.log_prior(u, jacobian=True, natural=x)
        if not np.isfinite(lp):
            return -np.inf, s, None, None
        with np.errstate(all="ignore"):
            try:
                hyp = space.hyper(u, natural=x)
                # the Gaussian mode's factor is used (for the draw) only before returning
                if self.sums is not None:
                    mode = self.sums.mode(hyp, scratch=True)
                else:
                    mode = self.mode_at(u, hyp)
                if self.K == 0:
                    ll = mode.log_marginal
                    z = self.latent.draw_conditional(mode, rng, 1)[:, 0] if want_z else None
                else:
                    assert self.sampler is not None and rng is not None  # K > 0
                    ll, parts, logw = self.sampler.estimate(hyp, mode, rng, self.K)
                    z = None
                    if want_z:
                        z = parts[:, rng.choice(self.K, p=np.exp(logw))]
            except (np.linalg.LinAlgError, ValueError, FloatingPointError):
                return -np.inf, s, None, hyp
        val = lp + ll
        return (float(val) if np.isfinite(val) else -np.inf), s, z, hyp

    @property
    def batchable(self) -> bool:
        """Whether :meth:`batch` evaluates its points together (a Gaussian model whose
        :class:`~mmreg.inference.gaussian_sums.GaussianSums` are batchable)."""
        return self.sums is not None and self.sums.batchable

    def batch(self, us: np.ndarray) -> list[tuple]:
        """:meth:`__call__` at every row of ``us``, bit for bit (emcee's ``vectorize``).

        Where :attr:`batchable`, the points' H are formed together and only each point's
        factorisation, solve and draw run one by one (:meth:`GaussianSums.modes
        <mmreg.inference.gaussian_sums.GaussianSums.modes>`): a step's walkers share the
        array work of an evaluation.  Otherwise one call per row.
        """
        us = np.asarray(us, float)
        if not self.batchable:
            return [self(u) for u in us]
        assert self.sums is not None
        space = self.space
        seeds = [_seed_for(u, self.seed) for u in us]
        xs = space.natural_free(us)
        lps = [space.log_prior(u, jacobian=True, natural=x) for u, x in zip(us, xs, strict=True)]
        live = [i for i, lp in enumerate(lps) if np.isfinite(lp)]
        with np.errstate(all="ignore"):
            hyps = [space.hyper(us[i], natural=xs[i]) for i in live]
            rngs = [np.random.default_rng(seeds[i]) for i in live] if self.keep_z else None
            modes = self.sums.modes(hyps, rngs)
        found = {i: (m, z, h) for i, (m, z), h in zip(live, modes, hyps, strict=True)}
        out: list[tuple] = []
        for i, (u, s, lp) in enumerate(zip(us, seeds, lps, strict=True)):
            mode, z, hyp = found.get(i, (None, None, None))
            val = -np.inf if mode is None else lp + mode.log_marginal
            val = float(val) if np.isfinite(val) else -np.inf
            out.append(self._result(u, val, s, z, hyp))
        return out

    def mode_at(self, u: np.ndarray, hyper):
        """The conditional mode search at ``u`` (``hyper`` its hyperparameters): Newton
        warm-started from the Laplace mode extrapolated linearly in ``u``; for importance
        sampling at this log posterior's loose tolerance, by chord steps and without the
        Laplace value.  A function of ``u`` only, as an importance proposal must be."""
        start = self.z0 + self.J @ _bounded_step(u - self.u0)
        pm = self.K > 0  # pseudo-marginal: the Laplace value is not needed
        return self.latent.mode(hyper, z0=start, tol=self.tol, chord=pm, laplace=not pm)

    def __call__(self, u: np.ndarray):
        u = np.asarray(u, float)
        val, s, z, hyp = self._evaluate(u, want_z=self.keep_z)
        return self._result(u, val, s, z, hyp)

    def _result(self, u: np.ndarray, val: float, s: int, z, hyp) -> tuple:
        """What emcee receives for one point: ``(log_prob, seed)``, with ``keep_z`` also
        the latent draw and its log-likelihood."""
        if not self.keep_z:
            return val, s
        if z is None:
            return val, s, np.full(self.latent.dim, np.nan), np.nan
        # the draw's log-likelihood, by the arithmetic the results use for its pointwise
        # terms (the design just assembled for u is the cached one): computed here, a kept
        # state needs no second assembly afterwards (coalgov gaus_w: ~8% of a fit's CPU)
        return val, s, z, float(draw_loglik(self.posterior, u, z, hyp).sum())


#: Largest move (on the unconstrained scale) along which the Laplace mode is extrapolated
#: linearly to warm-start Newton; beyond it the linearisation is meaningless and a far
#: extrapolation (e.g. log σ = 19) starts Newton at absurd linear predictors.
MAX_EXTRAPOLATION = 2.0


def as_posterior(target) -> Posterior:
    """The :class:`~mmreg.inference.posterior.Posterior` of ``target`` (a Posterior or a
    model that owns one)."""
    return target if isinstance(target, Posterior) else target.posterior


def _bounded_step(delta: np.ndarray) -> np.ndarray:
    big = float(np.max(np.abs(delta), initial=0.0))
    return delta if big <= MAX_EXTRAPOLATION else delta * (MAX_EXTRAPOLATION / big)
