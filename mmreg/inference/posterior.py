"""The posterior of one model: what both fitting routes (Laplace and MCMC) take.

A :class:`Posterior` owns the latent Gaussian model (:class:`~mmreg.inference.latent.
LatentModel`: the design bound to the family, with the coefficients' priors), the layout of
the hyperparameter vector and its priors (:class:`~mmreg.inference.hyper.HyperSpace`) and
the bound family.  It exposes the one linear predictor :meth:`eta`, the log marginal
posterior of the hyperparameters :meth:`log_marginal` and :meth:`unpack` of an
unconstrained vector.  :func:`~mmreg.inference.laplace.fit_laplace` and
:func:`~mmreg.inference.mcmc.fit_mcmc` both take it.
"""

from __future__ import annotations

import numpy as np

from mmreg.families import BoundFamily, Family
from mmreg.inference.eta import linear_predictor
from mmreg.inference.hyper import HyperSpace
from mmreg.inference.latent import Hyper, LatentModel

__all__ = ["Posterior"]


class Posterior:
    """Latent model + hyperparameter layout + priors + bound family.

    Parameters
    ----------
    latent : LatentModel
    space : HyperSpace
    source : object, optional
        The model that built this posterior (an :class:`~mmreg.MMModel`): pickled in its
        place (worker processes rebuild it from its constructor arguments) and hashed to
        identify MCMC checkpoints.
    """

    def __init__(self, latent: LatentModel, space: HyperSpace, source=None):
        self.latent = latent
        self.space = space
        self.source = source

    def __reduce__(self):
        # the design holds compiled weight functions (closures): rebuild through the model
        if self.source is None:
            raise TypeError("a Posterior without its model cannot be pickled")
        return (_posterior_of, (self.source,))

    # ------------------------------------------------------------------ parts
    @property
    def bound_family(self) -> BoundFamily:
        """The family bound to the outcome."""
        return self.latent.family

    @property
    def family(self) -> Family:
        """The (data-free) family: its declared capabilities and conventions."""
        return self.latent.family.family

    @property
    def priors(self) -> dict:
        """Prior of every hyperparameter (fixed ones included), by name."""
        return self.space.priors

    @property
    def outcome(self) -> dict:
        """The outcome arrays of the design."""
        return self.latent.design.outcome

    @property
    def exact(self) -> bool:
        """The latent effects integrate out exactly (Gaussian, or nothing left to integrate:
        every coefficient sampled with ψ and no random effects): no importance particles."""
        lat = self.latent
        return self.family.exact_gaussian or (lat.q == 0 and lat.sampled.size == lat.P)

    def particles(self, requested: int | None = None) -> int:
        """Importance particles per MCMC likelihood evaluation (0 for the exact estimator).

        Parameters
        ----------
        requested : int, optional
            The user's choice; ``None`` takes the family's default.
        """
        if self.exact:
            return 0
        return self.family.default_particles if requested is None else int(requested)

    # ------------------------------------------------------------------ evaluation
    def unpack(self, u: np.ndarray) -> Hyper:
        """Natural-scale hyperparameters for an unconstrained vector ``u``."""
        return self.space.hyper(u)

    def start_values(self) -> np.ndarray:
        """Unconstrained starting values of the optimiser (see
        :func:`~mmreg.inference.laplace.start_values`)."""
        from mmreg.inference.laplace import start_values

        return start_values(self.space, self.bound_family)

    def eta(
        self, theta: tuple[np.ndarray, ...], z: np.ndarray, re: np.ndarray | None = None
    ) -> np.ndarray:
        """The linear predictor ``offset + D b + R r`` at the weight parameters ``theta``.

        Parameters
        ----------
        theta : tuple of ndarray
            Weight parameters per mm block.
        z : ndarray
            Coefficients ``b`` (length P) or the whole latent vector ``(b, r)``; a 2-D
            array holds one vector per column.
        re : ndarray, optional
            The random effects ``r`` when ``z`` holds only the coefficients.
        """
        D, R, off = self.latent.assemble(theta)
        return linear_predictor(D, R, off, z, self.latent.P, re=re)

    def log_marginal(self, u: np.ndarray) -> float:
        """Log marginal posterior of the hyperparameters at ``u`` (Laplace-approximated
        integral over the latent effects; exact for the Gaussian family), without the
        log-Jacobian of the transform."""
        mode = self.latent.mode(self.unpack(u))
        return float(mode.log_marginal + self.space.log_prior(u, jacobian=False))


def _posterior_of(model) -> Posterior:
    return model.posterior
